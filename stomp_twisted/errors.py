"""
Exceptions raised by stomp_twisted.

As in h11, protocol errors are split by whose fault they are:
L{LocalProtocolError} is the caller's misuse (a header that cannot be
written, a frame of the wrong type), raised at the call before anything
reaches the wire; L{RemoteProtocolError} is the peer's (a malformed or
oversize frame), after which the connection is closed.

Every exception the package raises on purpose is a L{StompError}, and all
of them are defined here, so that this module is the whole hierarchy
(C{docs/errors.rst} draws it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .frame import Frame

__all__ = [
    "AckError",
    "BadArgument",
    "BrokerError",
    "ClientClosed",
    "ConnectionLost",
    "FrameTooLarge",
    "HeartbeatTimeout",
    "LineTooLong",
    "LocalProtocolError",
    "MemoryBrokerError",
    "MemoryBrokerStuck",
    "MemoryBrokerTimeout",
    "NoMemoryConnection",
    "NotConnected",
    "OutboxFull",
    "ProtocolError",
    "ReceiptTimeout",
    "RemoteProtocolError",
    "SendBufferFull",
    "StompError",
    "TLSError",
    "TransactionAborted",
    "UndefinedEscape",
    "UnrepresentableHeader",
    "WebSocketHandshakeError",
]


class StompError(Exception):
    """
    Base class of every exception raised by stomp_twisted.
    """


class ProtocolError(StompError):
    """
    A violation of the STOMP protocol, by either side.
    """


class LocalProtocolError(ProtocolError):
    """
    The caller asked for something STOMP cannot express.
    """


class RemoteProtocolError(ProtocolError):
    """
    The peer sent bytes that are not valid STOMP.
    """


class UnrepresentableHeader(LocalProtocolError, ValueError):
    """
    A header name or value cannot be written in the negotiated STOMP
    version without changing its meaning (for example a newline under
    STOMP 1.0, or a NUL in any version).  Refusing it is what makes header
    injection impossible.
    """


class UndefinedEscape(RemoteProtocolError):
    """
    A received header holds a backslash escape that the negotiated version
    does not define; the STOMP spec says this MUST be treated as a fatal
    protocol error.
    """


class FrameTooLarge(RemoteProtocolError):
    """
    A received frame exceeds one of the configured L{FrameLimits}.

    @ivar limit: the name of the limit that was exceeded, as spelled in
        L{stomp_twisted.frame.FrameLimits} (for example C{"max_body"}).
    @ivar value: the configured value of that limit.
    """

    def __init__(self, limit: str, value: int, detail: str = "") -> None:
        self.limit = limit
        self.value = value
        message = f"frame exceeds {limit}={value}"
        if detail:
            message = f"{message}: {detail}"
        super().__init__(message)


class BrokerError(StompError):
    """
    The broker sent an C{ERROR} frame.

    Its text is built from the C{message} header and the first line of a
    bounded prefix of the body (L{DETAIL_PREFIX} bytes), never from the
    whole body: an C{ERROR} may carry megabytes (a whole Java stack trace,
    or a hostile broker's garbage), which would otherwise be decoded,
    stripped and split whole just to write one log line.

    The text is L{PREFIX} followed by L{reason}, the broker's own words.

    @ivar frame: the C{ERROR} L{Frame<stomp_twisted.frame.Frame>} itself;
        C{frame.body} is the body as received, in bytes.
    @ivar message: its C{message} header, or C{""}.
    """

    #: What the exception's text says before the broker's words.
    PREFIX = "broker sent ERROR: "

    #: How many bytes of the body the exception's text may look at.
    DETAIL_PREFIX = 4096
    #: How many characters of the body's first line the text shows.
    DETAIL_CHARS = 200
    #: How many characters of the C{message} header the text shows (the
    #: attribute keeps it whole).
    MESSAGE_CHARS = 1000

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self.message = frame.headers.get("message", "")
        super().__init__(self._text())

    def _text(self) -> str:
        shown = _truncate(self.message, self.MESSAGE_CHARS) or "(no message header)"
        text = f"{self.PREFIX}{shown}"
        prefix = bytes(self.frame.body[: self.DETAIL_PREFIX])
        # A multi-byte character cut at the end of the prefix becomes one
        # replacement character; it can only matter on a line this long.
        detail = prefix.decode("utf-8", "replace").strip()
        if detail:
            # ActiveMQ puts a whole Java stack trace in the body: its first
            # line says what went wrong, the rest is noise in a log line.
            first = detail.splitlines()[0]
            text = f"{text} ({_truncate(first, self.DETAIL_CHARS)})"
        return text

    @property
    def reason(self) -> str:
        """
        The broker's words: the exception's text without L{PREFIX}, for a
        message that says who refused in its own way (C{"tcp://h:61613
        refused CONNECT: <reason>"}).

        It is read from the text each time, so that it always agrees with
        it: the client masks an echoed passcode in the text of the
        L{BrokerError}s it raises, and the mask holds here too.
        """
        return str(self).removeprefix(self.PREFIX)

    @property
    def body(self) -> str:
        """
        The whole body, decoded as UTF-8 with replacement characters.

        It is decoded on each access, not when the exception is made: for
        a large body, prefer the bytes of C{frame.body}.
        """
        return self.frame.body.decode("utf-8", "replace")


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}..."


class ConnectionLost(StompError):
    """
    The connection that a request belonged to was lost before the broker
    answered it.  Receipts, acknowledgements and transactions belong to one
    connection: they are never carried over to the next.

    @ivar error: why the connection ended, when stomp_twisted knows better
        than the transport: the broker's L{BrokerError}, a malformed frame
        (L{RemoteProtocolError}), a L{HeartbeatTimeout}, a TLS failure;
        otherwise C{None}.
    """

    def __init__(self, message: str = "", error: Exception | None = None) -> None:
        super().__init__(message)
        self.error = error


class HeartbeatTimeout(ConnectionLost):
    """
    The broker sent nothing, not even a heart-beat, for longer than the
    negotiated interval times the client's tolerance: it is presumed dead
    and the connection was closed (the client reconnects as after any
    lost connection).
    """


class NotConnected(StompError):
    """
    The client has no STOMP connection to send on right now.
    """


class ClientClosed(LocalProtocolError):
    """
    The client was disconnected on purpose; nothing can be sent after
    C{disconnect()}.
    """


class BadArgument(LocalProtocolError, TypeError):
    """
    The caller passed an argument of the wrong type (for example a body
    that is neither bytes nor str).
    """


class AckError(LocalProtocolError):
    """
    An acknowledgement that cannot be sent: the message came through an
    earlier connection, belongs to a subscription that does not take
    acknowledgements, or is unknown.
    """


class OutboxFull(StompError):
    """
    The outbox already holds as many unconfirmed messages (or bytes) as
    its policy allows; the message was not taken.
    """


class SendBufferFull(StompError):
    """
    The socket is slower than the sender: the transport's buffer is full
    and more than C{max_send_buffer} bytes were written since.  Nothing was
    sent; wait for earlier sends' Deferreds before sending more.
    """


class TransactionAborted(StompError):
    """
    The transaction a request was made in was aborted before the broker
    confirmed the request (RabbitMQ confirms a transaction's SENDs only at
    COMMIT).
    """


class ReceiptTimeout(StompError):
    """
    The broker did not answer a receipt within C{receipt_timeout}; the
    request may or may not have been acted on.
    """


class TLSError(StompError):
    """
    A TLS connection to a broker failed: its certificate was not trusted
    or not for the name connected to, it wanted a client certificate, or
    the handshake failed otherwise.  The message says which, and what
    setting to change.  The client reports its message as the reason the
    connection attempt failed (in L{NotConnected}, the C{connect_error}
    event and the log); the original TLS error is its C{__cause__}.
    """


class WebSocketHandshakeError(StompError):
    """
    The WebSocket opening handshake with a broker failed: the server
    refused it (an HTTP status other than 101, such as 403 from an
    endpoint that checks the C{Origin}, or 404 for a wrong path), or the
    connection ended before it completed.  The client reports its
    message as the reason the connection attempt failed, and retries as
    after any failed attempt.

    @ivar status: the HTTP status the server answered with, if it
        answered.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LineTooLong(StompError):
    """
    C{stomp-send --lines}: a line of standard input is longer than the
    longest line it accepts, so that an input without line endings is
    never read into memory whole.
    """


class MemoryBrokerError(StompError):
    """
    The in-memory broker of L{stomp_twisted.testing} could not do what a
    test asked: its traffic or its timers never settle
    (C{MemoryBroker.flush}, C{advance}: also a C{RuntimeError}), a
    Deferred it runs the clock for never fires (C{run_until}: also a
    C{TimeoutError}), or a client has no connection to it
    (C{connection_of}: also a C{LookupError}).  A test's own mistake,
    reported with what to look at, rather than a hang.
    """


class MemoryBrokerStuck(MemoryBrokerError, RuntimeError):
    """
    C{MemoryBroker.flush} or C{advance} went past its bound.
    """


class MemoryBrokerTimeout(MemoryBrokerError, TimeoutError):
    """
    C{MemoryBroker.run_until}: the Deferred did not fire in time.
    """


class NoMemoryConnection(MemoryBrokerError, LookupError):
    """
    C{MemoryBroker.connection_of}: the client is not connected to it.
    """
