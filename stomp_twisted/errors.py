"""
Exceptions raised by stomp_twisted.

As in h11, protocol errors are split by whose fault they are:
L{LocalProtocolError} is the caller's misuse (a header that cannot be
written, a frame of the wrong type), raised at the call before anything
reaches the wire; L{RemoteProtocolError} is the peer's (a malformed or
oversize frame), after which the connection is closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .frame import Frame


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

    @ivar frame: the C{ERROR} L{Frame<stomp_twisted.frame.Frame>} itself;
        C{frame.body} is the body as received, in bytes.
    @ivar message: its C{message} header, or C{""}.
    """

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
        text = f"broker sent ERROR: {shown}"
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
