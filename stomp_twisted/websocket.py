"""
STOMP over WebSocket: the endpoint behind C{ws://} and C{wss://} broker
URLs, on autobahn's Twisted WebSocket client (the C{websocket} extra:
C{pip install 'stomp_twisted[websocket]'}).

The STOMP protocol does not know it runs over WebSocket: the endpoint
connects TCP (or TLS, exactly as C{ssl=True} does), performs the
WebSocket opening handshake, and only then builds the STOMP protocol,
giving it a transport whose writes go out as binary WebSocket messages
(those of one reactor turn gathered into one message, up to
L{MESSAGE_BOUND} bytes) and into which every message received, text or
binary, is fed as bytes.  STOMP frames may so span messages, and a
message may hold several frames, as over TCP.

autobahn is imported only when a WebSocket endpoint is made, so that
the package works without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import (
    IAddress,
    IConsumer,
    IDelayedCall,
    IProducer,
    IProtocol,
    IProtocolFactory,
    IPushProducer,
    IReactorTime,
    IStreamClientEndpoint,
    ITransport,
)
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from .errors import BadArgument, WebSocketHandshakeError
from .frame import VERSIONS

if TYPE_CHECKING:
    from .failover import BrokerAddress

__all__ = [
    "INSTALL_HINT",
    "MESSAGE_BOUND",
    "WebSocketEndpoint",
    "check_websocket_headers",
    "require_autobahn",
    "subprotocols",
]

_log = Logger()

#: How to install what C{ws://} and C{wss://} URLs need.
INSTALL_HINT = "pip install 'stomp_twisted[websocket]'"

# The handshake headers autobahn writes itself, from the URL and the
# subprotocols: giving them again would send them twice.
_RESERVED_HEADERS = frozenset(
    (
        "host",
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
    )
)


def require_autobahn() -> None:
    """
    Check that autobahn's Twisted WebSocket client can be imported.

    @raise BadArgument: if it cannot, naming the extra to install.
    """
    try:
        import autobahn.twisted.websocket  # noqa: F401
    except ImportError as error:
        raise BadArgument(
            f"ws:// and wss:// brokers need autobahn ({error}): {INSTALL_HINT}"
        ) from None


def subprotocols(versions: Iterable[str]) -> list[str]:
    """
    The STOMP WebSocket subprotocols to offer for the STOMP versions
    offered, newest first: C{["v12.stomp", "v11.stomp", "v10.stomp"]}
    for all three.
    """
    offered = set(versions)
    return [f"v{v.replace('.', '')}.stomp" for v in reversed(VERSIONS) if v in offered]


def check_websocket_headers(headers: object) -> dict[str, str]:
    """
    Check the extra headers of the WebSocket opening handshake.

    @return: a copy, as a C{dict}.
    @raise BadArgument: for anything but a mapping of non-empty header
        names to values, both C{str} without line breaks, or for a
        header the handshake sets itself (C{Host}, C{Upgrade},
        C{Sec-WebSocket-*}, ...).
    """
    if not isinstance(headers, Mapping):
        raise BadArgument(
            f"websocket_headers must be a mapping of header names to values, "
            f"not {type(headers).__name__}"
        )
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not name or not name.isascii():
            raise BadArgument(f"websocket_headers: bad header name {name!r}")
        if any(c in name for c in ":\r\n \t"):
            raise BadArgument(f"websocket_headers: bad header name {name!r}")
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            # (The value is not quoted: it may be a token.)
            raise BadArgument(
                f"websocket_headers: the value of {name} must be a str without line breaks"
            )
        if name.lower() in _RESERVED_HEADERS:
            raise BadArgument(f"websocket_headers: {name} is set by the WebSocket handshake itself")
        if name.lower() in (n.lower() for n in checked):
            raise BadArgument(f"websocket_headers: {name} is given twice")
        checked[name] = value
    return checked


#: Seconds the TCP connection may take to flush this side's Close frame,
#: once the broker has sent its own, before it is aborted.
CLOSE_FLUSH_TIMEOUT = 5.0

#: The most bytes of STOMP frames gathered into one WebSocket message:
#: Spring's STOMP endpoints refuse messages over 64 KiB by default (its
#: C{messageSizeLimit}), and the bound also bounds what waits here.
MESSAGE_BOUND = 64 * 1024


@implementer(ITransport, IConsumer, IPushProducer)
class _StompOverWebSocket:
    # The transport the STOMP protocol writes to and reads from.
    #
    # Writes are gathered and go out as one binary WebSocket message at
    # the end of the reactor turn, or as soon as the next write would
    # take the message past MESSAGE_BOUND: a WebSocket message costs a
    # great deal more than the bytes in it (autobahn formats a debug log
    # line for every message it sends, logging on or off), and STOMP lets
    # a message hold several frames.  A frame is never split: a write
    # (and each item of writeSequence, which the connection's writer
    # gives whole frames) goes into one message, a frame over the bound
    # into a message of its own.
    #
    # Producers (the STOMP protocol's send-buffer watch) and pausing
    # reading go to the TCP (or TLS) transport beneath, so that flow
    # control works as over TCP; what waits here, less than
    # MESSAGE_BOUND, reaches that transport within the turn.
    def __init__(self, websocket: Any, clock: IReactorTime) -> None:
        self._websocket = websocket
        self._clock = clock
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._flush_call: IDelayedCall | None = None
        self.disconnecting = False

    @property
    def _stream(self) -> Any:
        return self._websocket.transport

    def write(self, data: bytes) -> None:
        if not data or not self._websocket.stomp_can_send():
            return  # as TCP drops writes after loseConnection
        if self._pending_size + len(data) > MESSAGE_BOUND:
            self.flush()
        self._pending.append(bytes(data))
        self._pending_size += len(data)
        if self._pending_size >= MESSAGE_BOUND:
            self.flush()
        elif self._flush_call is None:
            self._flush_call = self._clock.callLater(0, self._flush_now)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        for item in data:
            self.write(item)

    def _flush_now(self) -> None:
        self._flush_call = None
        self.flush()

    def flush(self) -> None:
        """
        Send what waits as one binary WebSocket message, now.
        """
        if self._flush_call is not None:
            self._flush_call.cancel()
            self._flush_call = None
        pending, self._pending, self._pending_size = self._pending, [], 0
        if pending and self._websocket.stomp_can_send():
            self._websocket.sendMessage(b"".join(pending), isBinary=True)

    def discard(self) -> None:
        """
        Drop what waits: the connection is gone (or aborted).
        """
        if self._flush_call is not None:
            self._flush_call.cancel()
            self._flush_call = None
        self._pending, self._pending_size = [], 0

    def loseConnection(self) -> None:
        # What was written goes first, as over TCP; then the closing
        # handshake: the server answers and closes TCP.  The STOMP
        # protocol aborts the connection if it takes too long (its
        # close_timeout).
        if self.disconnecting:
            return
        self.flush()
        self.disconnecting = True
        if self._websocket.stomp_can_send():
            self._websocket.sendClose(1000)
        elif self._stream is not None:
            self._stream.loseConnection()

    def abortConnection(self) -> None:
        # As TCP's abortConnection, what was not sent yet is dropped.
        self.discard()
        self.disconnecting = True
        if self._stream is not None:
            self._stream.abortConnection()

    def getPeer(self) -> IAddress:
        return self._stream.getPeer()  # type: ignore[no-any-return]

    def getHost(self) -> IAddress:
        return self._stream.getHost()  # type: ignore[no-any-return]

    def registerProducer(self, producer: IProducer, streaming: bool) -> None:
        self._stream.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        if self._stream is not None:
            self._stream.unregisterProducer()

    def pauseProducing(self) -> None:
        if self._stream is not None:
            self._stream.pauseProducing()

    def resumeProducing(self) -> None:
        if self._stream is not None:
            self._stream.resumeProducing()

    def stopProducing(self) -> None:
        self.abortConnection()


@implementer(ITransport)
class _PlainView:
    # A transport as seen without its TLS interface (see makeConnection
    # below); everything else is the transport's own.
    def __init__(self, transport: Any) -> None:
        self._transport = transport

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            # Not zope.interface's __provides__ and the like: the point.
            raise AttributeError(name)
        return getattr(self._transport, name)


class _Attempt:
    # One connection attempt: the Deferred the endpoint returned, which
    # fires with the STOMP protocol once the WebSocket is open.
    def __init__(self, factory: IProtocolFactory, url: str, clock: IReactorTime) -> None:
        self.stomp_factory = factory
        self.url = url
        self.clock = clock
        self.result: Deferred[IProtocol] = Deferred(self._cancel)
        self.connecting: Deferred[Any] | None = None
        self.websocket: Any = None

    def _cancel(self, result: Deferred[IProtocol]) -> None:
        if self.connecting is not None and not self.connecting.called:
            self.connecting.cancel()
        elif self.websocket is not None and self.websocket.transport is not None:
            self.websocket.transport.abortConnection()

    def fail(self, error: Exception | Failure) -> None:
        if not self.result.called:
            failure = error if isinstance(error, Failure) else Failure(error)  # type: ignore[no-untyped-call]
            self.result.errback(failure)


_classes: tuple[type, type] | None = None


def _autobahn_classes() -> tuple[type, type]:
    # autobahn's classes are subclassed on first use, not at import.
    global _classes
    if _classes is not None:
        return _classes
    require_autobahn()
    from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol

    class StompWebSocketProtocol(WebSocketClientProtocol):
        factory: Any
        _stomp: Any = None
        _adapter: _StompOverWebSocket | None = None
        _drop_timer: IDelayedCall | None = None

        def stomp_can_send(self) -> bool:
            return bool(self.state == self.STATE_OPEN)

        def makeConnection(self, transport: Any) -> None:
            # autobahn reads the TLS channel binding (for WAMP's
            # authentication) off a TLS transport, and fails on the
            # wrapper that explains TLS failures (stomp_twisted.endpoints)
            # standing in front of it; STOMP has no use for it.
            super().makeConnection(_PlainView(transport))  # type: ignore[no-untyped-call]

        def onOpen(self) -> None:
            attempt: _Attempt = self.factory.attempt
            stream: Any = self.transport  # TCP, or the TLS layer's
            if attempt.result.called:  # cancelled meanwhile
                stream.abortConnection()
                return
            stomp = attempt.stomp_factory.buildProtocol(stream.getPeer())
            if stomp is None:
                stream.abortConnection()
                attempt.fail(WebSocketHandshakeError(f"no protocol for {attempt.url}"))
                return
            self._stomp = stomp
            limits = getattr(stomp, "limits", None)
            if limits is not None:
                # A message is gathered whole before STOMP's decoder sees
                # it: bounded as the decoder bounds a frame (autobahn's
                # default is no bound), a message too long ends the
                # connection (close code 1009).
                bound = limits.max_header_block + limits.max_body + MESSAGE_BOUND
                self.maxMessagePayloadSize = self.maxFramePayloadSize = bound
            self._adapter = _StompOverWebSocket(self, attempt.clock)
            stomp.makeConnection(self._adapter)
            attempt.result.callback(stomp)

        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            # Text messages carry the same bytes (not checked for UTF-8,
            # see WebSocketEndpoint.connect); STOMP's own decoder takes them either way.
            if self._stomp is not None:
                self._stomp.dataReceived(bytes(payload))

        def onCloseFrame(self, code: int, reasonRaw: bytes) -> bool | None:
            answered = super().onCloseFrame(code, reasonRaw)
            # Both Close frames are sent (the broker's, and this side's
            # first or in reply).  autobahn, a client, would now wait for
            # the broker to drop TCP, on timers turned off here (they run
            # on the global reactor); RFC 6455 lets this side drop it, which
            # ends the STOMP session at once rather than maybe never.
            stream: Any = self.transport
            if stream is not None and self._drop_timer is None:
                stream.loseConnection()
                clock = self.factory.attempt.clock
                self._drop_timer = clock.callLater(CLOSE_FLUSH_TIMEOUT, stream.abortConnection)
            return answered

        def connectionLost(self, reason: Failure = connectionDone) -> None:
            timer, self._drop_timer = self._drop_timer, None
            if timer is not None and timer.active():
                timer.cancel()
            super().connectionLost(reason)
            if self._adapter is not None:
                self._adapter.discard()
            stomp, self._stomp = self._stomp, None
            if stomp is not None:
                stomp.connectionLost(self._stomp_reason(reason))
            else:
                self.factory.attempt.fail(self._handshake_failure(reason))

        def _stomp_reason(self, reason: Failure) -> Failure:
            # A TCP close after an unclean WebSocket ending (no closing
            # handshake) is a lost connection, not a clean one; so is a
            # close whose code says other than a normal closure.
            # (autobahn aborts the connection for a message too long, and
            # says why in wasNotCleanReason: that, not the abort, is the
            # reason.)
            if isinstance(reason.value, (ConnectionDone, ConnectionLost)) and not self.wasClean:
                why = self.wasNotCleanReason or "the WebSocket was not closed cleanly"
                return Failure(ConnectionLost(why))  # type: ignore[no-untyped-call]
            code = getattr(self, "remoteCloseCode", None)
            if code is not None and code != self.CLOSE_STATUS_CODE_NORMAL:
                said = getattr(self, "remoteCloseReason", None)
                why = f"the broker closed the WebSocket with code {code}"
                why += f": {said[:200]!r}" if said else ""
                return Failure(ConnectionLost(why))  # type: ignore[no-untyped-call]
            return reason

        def _handshake_failure(self, reason: Failure) -> Failure | Exception:
            url = self.factory.attempt.url
            status_line = getattr(self, "http_status_line", None)
            status: int | None = None
            if status_line:
                fields = str(status_line).split(None, 2)
                if len(fields) >= 2 and fields[1].isdigit():
                    status = int(fields[1])
            if status is not None and status != 101:
                text = " ".join(str(status_line).split()[1:])
                message = f"{url} refused the WebSocket handshake: HTTP {text}"
                if status in (401, 403):
                    message += (
                        " (an endpoint that checks the Origin or other handshake headers"
                        " wants websocket_headers)"
                    )
                elif status == 404:
                    message += " (is the path right?)"
                return WebSocketHandshakeError(message, status)
            if not isinstance(reason.value, (ConnectionDone, ConnectionLost)):
                # A TLSError (explained as for ssl=True), an abort, ...
                return reason
            why = self.wasNotCleanReason or reason.getErrorMessage()
            return WebSocketHandshakeError(f"WebSocket handshake with {url} failed: {why}", status)

    class StompWebSocketFactory(WebSocketClientFactory):
        protocol = StompWebSocketProtocol
        attempt: _Attempt

    _classes = (StompWebSocketFactory, StompWebSocketProtocol)
    return _classes


@implementer(IStreamClientEndpoint)
class WebSocketEndpoint:
    """
    An endpoint that connects to a STOMP broker's WebSocket endpoint
    through another endpoint (TCP, or TLS set up as for C{ssl=True}),
    and fires with the STOMP protocol once the WebSocket is open.  A
    refused handshake fails the attempt with a
    L{WebSocketHandshakeError}.
    """

    def __init__(
        self,
        reactor: Any,
        endpoint: IStreamClientEndpoint,
        address: BrokerAddress,
        *,
        versions: Sequence[str] = VERSIONS,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """
        @param endpoint: the TCP or TLS endpoint to the broker.
        @param address: the broker's WebSocket address (its C{path} set).
        @param versions: the STOMP versions the client offers, which
            decide the subprotocols offered.
        @param headers: extra headers of the opening handshake, such as
            C{Origin} (see L{check_websocket_headers}).
        @raise BadArgument: if autobahn is missing, or for bad headers.
        """
        require_autobahn()
        if address.path is None:
            raise BadArgument(f"{address} is not a WebSocket address")
        self._reactor = reactor
        self._endpoint = endpoint
        self.address = address
        self.url = str(address)
        self.subprotocols = subprotocols(versions)
        self.headers = check_websocket_headers(headers or {})
        self._latest: _Attempt | None = None

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        factory_class, _ = _autobahn_classes()
        attempt = self._latest = _Attempt(protocolFactory, self.url, self._reactor)
        headers = dict(self.headers)
        origin = None
        for name in list(headers):
            if name.lower() == "origin":
                origin = headers.pop(name)
        factory: Any = factory_class(
            url=self.url,
            origin=origin,
            protocols=self.subprotocols,
            headers=headers,
            reactor=self._reactor,
        )
        # No timers of autobahn's (they would run on the global reactor):
        # connect_timeout bounds the opening handshake, and the STOMP
        # protocol's close_timeout the closing one.  Heart-beats are
        # STOMP's, as over TCP.
        #
        # Text messages are not checked for UTF-8: RabbitMQ sends every
        # frame in a text message, binary bodies included, and STOMP's
        # content-length (not the WebSocket message type) says what a
        # body holds.
        factory.setProtocolOptions(
            utf8validateIncoming=False,
            openHandshakeTimeout=0,
            closeHandshakeTimeout=0,
            serverConnectionDropTimeout=0,
            autoPingInterval=0,
        )
        factory.attempt = attempt

        def connected(websocket: Any) -> None:
            attempt.connecting = None
            attempt.websocket = websocket

        attempt.connecting = self._endpoint.connect(factory)
        attempt.connecting.addCallbacks(connected, attempt.fail)
        return attempt.result

    def progress(self) -> str | None:
        """
        How far the latest attempt got: the endpoint beneath says, until
        it has connected.
        """
        latest = self._latest
        if latest is not None and latest.websocket is not None:
            handshakes = (
                "TLS and WebSocket handshakes" if self.address.ssl else "WebSocket handshake"
            )
            where = f"{self.address.host}:{self.address.port}"
            return f"connected to {where}, but the {handshakes} did not finish"
        progress = getattr(self._endpoint, "progress", None)
        return progress() if callable(progress) else None

    def __repr__(self) -> str:
        return f"<WebSocketEndpoint {self.url}>"
