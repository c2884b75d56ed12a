"""
The client's side of each connection: what a L{StompProtocol} reports,
turned into sessions, state moves and events.  Not API.

L{_ConnectionHandler} is the
L{ConnectionHandler<stomp_twisted.protocol.ConnectionHandler>} of every
protocol the client's factory builds.  It makes a L{Session} when a
transport connects, releases what waited (L{Pending.flush}) at CONNECTED,
routes MESSAGE frames to the L{Dispatcher} and the others to the
observers, and on a loss drops the session, says why (log, C{io_error},
C{disconnect}) and tells the reconnect loop.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure

from ._core import Core, log
from ._dispatch import Dispatcher
from ._flow import ReadHolds
from ._leaving import Leaving
from ._lifecycle import State
from ._pending import Pending
from ._session import Session
from .errors import BrokerError, HeartbeatTimeout, NotConnected, RemoteProtocolError, StompError
from .frame import Frame
from .protocol import StompProtocol
from .reconnect import Reconnector

__all__ = ["_ConnectionHandler"]


def _peer(protocol: StompProtocol) -> tuple[str | None, int | None]:
    # The address the transport connected to, for the "connect" event.
    transport = protocol.transport
    peer = transport.getPeer() if transport is not None else None
    return getattr(peer, "host", None), getattr(peer, "port", None)


class _ConnectionHandler:
    """
    Reports of the client's connections, from their protocols.
    """

    def __init__(
        self,
        core: Core,
        pending: Pending,
        dispatcher: Dispatcher,
        holds: ReadHolds,
        leaving: Leaving,
    ) -> None:
        self._core = core
        self._pending = pending
        self._dispatcher = dispatcher
        self._holds = holds
        self._leaving = leaving
        self.reconnector: Reconnector | None = None

    def _session_of(self, protocol: StompProtocol) -> Session | None:
        session = self._core.session
        return session if session is not None and session.protocol is protocol else None

    def connection_made(self, protocol: StompProtocol) -> None:
        core = self._core
        if core.lifecycle.left:
            # disconnect() was called while the endpoint was connecting.
            protocol.close()
            return
        core.lifecycle.connection_made()
        session = Session(protocol)
        core.session = session
        timeout = core.settings.connect_timeout
        session.start_handshake_timer(
            core.clock.callLater(
                timeout, protocol.close, NotConnected(f"no CONNECTED within {timeout} s")
            )
        )
        host, port = _peer(protocol)
        core.observers.fire("connect", core.client, protocol, host, port, self._retry(session))

    def _retry(self, session: Session) -> Callable[[], None]:
        # AnyEvent::STOMP's "connect" event passes a $retry that drops this
        # connection and tries the next broker: here, a callable that
        # does the same (counted as a failed attempt before CONNECTED).
        def retry() -> None:
            core = self._core
            if core.session is session and not core.lifecycle.left:
                log.info("a connect callback asked to retry: leaving {b}", b=core.broker)
                session.protocol.close(NotConnected("a connect callback asked for the next broker"))

        return retry

    def stomp_connected(self, protocol: StompProtocol, frame: Frame) -> None:
        core = self._core
        session = self._session_of(protocol)
        if session is None:
            # (A connection the client has already let go of.)
            protocol.close()
            return
        session.stop_handshake_timer()
        if core.lifecycle.left:
            # disconnect() is closing this connection already.
            return
        core.lifecycle.connected()
        if self.reconnector is not None:
            self.reconnector.connected()
        core.counters.connections += 1
        heartbeat = protocol.heartbeat
        log.info(
            "connected to {broker} ({server}, STOMP {version}, heart-beats {send}/{receive} ms)",
            broker=core.broker,
            server=frame.headers.get("server", "no server header"),
            version=protocol.version,
            send=heartbeat.send if heartbeat is not None else 0,
            receive=heartbeat.receive if heartbeat is not None else 0,
        )
        self._pending.flush(session)
        core.fire_frame(frame)

    def frame_received(self, protocol: StompProtocol, frame: Frame) -> None:
        core = self._core
        if frame.command == "MESSAGE":
            session = core.session
            if session is not None and session.protocol is protocol:
                self._dispatcher.message_received(session, frame)
            return
        if frame.command == "RECEIPT":
            core.counters.receipts += 1
        core.fire_frame(frame)
        if frame.command == "ERROR" and protocol.version is None:
            refusal = BrokerError(frame)
            # Some brokers quote the CONNECT frame, passcode included.
            refusal.args = (core.redact(str(refusal)),)
            # Whoever waits for the connection learns it now, with the
            # broker's reason, whatever the reconnect policy does next
            # (some brokers keep the socket open for seconds after
            # refusing); later callers wait for the next attempt.  (The
            # reconnect loop logs the refusal, once, as a failed attempt.)
            self._pending.fail_first_connection(refusal)

    def heartbeat_received(self, protocol: StompProtocol) -> None:
        # RabbitMQ ends every frame with an EOL: fire only when observed.
        observers = self._core.observers
        if "heartbeat" in observers.observed:
            observers.fire("heartbeat", self._core.client)

    def connection_lost(
        self, protocol: StompProtocol, reason: Failure, error: StompError | None
    ) -> None:
        core = self._core
        session = self._session_of(protocol)
        if session is not None:
            core.session = None
            session.drop(lambda: self._holds.message_done(None, protocol))
        counters = core.counters
        counters.bytes_in += protocol.bytes_received
        counters.bytes_out += protocol.bytes_written
        lifecycle = core.lifecycle
        left = lifecycle.left
        established = protocol.version is not None
        if error is not None:
            why = core.redact(str(error))
        elif left:
            why = "closed by disconnect()"
        elif isinstance(reason.value, ConnectionDone):
            why = "the broker closed the connection"
        else:
            why = reason.getErrorMessage()
        # Whenever the client closes a connection itself it says why
        # (error), except in disconnect(): anything else was the broker's
        # or the network's doing.
        unexpected = not left and error is None
        peer_failed = isinstance(error, (RemoteProtocolError, HeartbeatTimeout))
        if established:
            if left:
                log.info("disconnected from {broker}: {why}", broker=core.broker, why=why)
            elif error is None or isinstance(error, BrokerError):
                # (The protocol has logged the other errors when it closed.)
                log.warn("connection to {broker} lost: {why}", broker=core.broker, why=why)
        observers = core.observers
        if peer_failed or (established and unexpected):
            observers.fire("io_error", core.client, why)
        if left:
            if established:
                observers.fire("disconnect", core.client, why)
            self._leaving.connection_closed()
            return
        if session is None:
            # (A connection the client had let go of already.)
            return
        if established:
            if lifecycle.state is State.CONNECTED:
                lifecycle.move(State.WAITING)
            # One "disconnect" for the loss: if it makes the client give up
            # (a session too short to count as working, past
            # max_attempts), it says so, with the loss's reason inside.
            if self.reconnector is not None:
                self.reconnector.lost(why)
            gave_up = lifecycle.gave_up_error
            observers.fire("disconnect", core.client, why if gave_up is None else str(gave_up))
            return
        if lifecycle.state is State.CONNECTING:
            lifecycle.move(State.WAITING)
        if self.reconnector is None:
            return
        if isinstance(error, BrokerError):
            self.reconnector.handshake_failed(f"broker refused CONNECT: {why}", refused=True)
        else:
            self.reconnector.handshake_failed(
                f"connection lost before CONNECTED: {why}", refused=False
            )

    # --- what the reconnect loop reports ------------------------------------------

    def before_attempt(self, broker: str) -> None:
        core = self._core
        core.broker = broker
        if core.lifecycle.state is not State.DRAINING:
            core.lifecycle.move(State.CONNECTING)
        log.info("connecting to {broker}", broker=broker)

    def attempt_failed(self, message: str) -> None:
        core = self._core
        if core.lifecycle.state is State.CONNECTING:
            core.lifecycle.move(State.WAITING)
        core.observers.fire("connect_error", core.client, message)

    def gave_up(self, reason: str, after_loss: bool) -> None:
        core = self._core
        if core.lifecycle.state in (State.DRAINING, State.LEAVING, State.CLOSED):
            return
        error = core.lifecycle.give_up(reason)
        self._pending.fail(error)
        if not after_loss:
            # (After a loss, connection_lost's "disconnect" says so.)
            core.observers.fire("disconnect", core.client, reason)
