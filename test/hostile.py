"""
Scripted fake brokers over real loopback TCP, for the failure-path tests.

A L{ScriptedBroker} listens on 127.0.0.1 (a free port) and plays a STOMP
broker that misbehaves on purpose: the test gives it a L{Script} whose
methods answer each client frame, and drives each L{BrokerSide} directly
(stop reading, send raw bytes, close, abort).  Unlike L{test.fakes}, the
bytes cross a real socket, so the kernel's buffers, partial reads and
write back-pressure are the real ones.

Every wait here has a deadline: a test that waits on a broker event fails
with a clear message rather than hanging until trial's own timeout.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, DeferredQueue
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

import stomp_twisted
from stomp_twisted import StompClient
from stomp_twisted.frame import Frame, FrameDecoder, Heartbeat, NeedData, serialize_frame

__all__ = ["BrokerSide", "HostileTestCase", "Script", "ScriptedBroker", "deadline", "reactor"]

reactor: Any = _reactor

#: Seconds any wait in these tests may take before it fails.
WAIT = 10.0


def deadline(d: Deferred[Any], seconds: float = WAIT, what: str = "event") -> Deferred[Any]:
    """
    Fail C{d} with an C{AssertionError} naming C{what} if it has not fired
    within C{seconds}.
    """

    def timed_out(failure: Failure) -> Failure:
        from twisted.internet.defer import TimeoutError as DeferredTimeout

        if failure.check(DeferredTimeout):
            return Failure(AssertionError(f"no {what} within {seconds} s"))  # type: ignore[no-untyped-call]
        return failure

    d.addTimeout(seconds, reactor)
    return d.addErrback(timed_out)


class Script:
    """
    How a scripted broker answers; the default is a polite STOMP 1.2
    broker.  Tests subclass it and override what should go wrong.

    @ivar version: the version the broker answers CONNECT with.
    @ivar connected_headers: extra headers for CONNECTED.
    """

    version: str | None = "1.2"
    connected_headers: Mapping[str, str] = {}

    def on_connect(self, side: BrokerSide, frame: Frame) -> None:
        headers = {"server": "hostile/1.0", **self.connected_headers}
        if self.version is not None:
            headers["version"] = self.version
        side.send("CONNECTED", headers)

    def on_frame(self, side: BrokerSide, frame: Frame) -> None:
        receipt = frame.headers.get("receipt")
        if receipt is not None:
            side.send("RECEIPT", {"receipt-id": receipt})
        if frame.command == "DISCONNECT":
            side.close()


class BrokerSide(Protocol):
    """
    One client connection, seen from the scripted broker.

    @ivar frames: every frame the client sent, in order.
    @ivar received_bytes: how many bytes the client sent.
    """

    def __init__(self, broker: ScriptedBroker) -> None:
        self.broker = broker
        self.frames: list[Frame] = []
        self.received_bytes = 0
        self.version = "1.0"
        self._decoder = FrameDecoder("1.0")
        self.lost: Deferred[None] = Deferred()
        self.is_lost = False

    def connectionMade(self) -> None:
        self.broker._connected(self)

    def dataReceived(self, data: bytes) -> None:
        self.received_bytes += len(data)
        self._decoder.receive_data(data)
        while True:
            event = self._decoder.next_event()
            if isinstance(event, NeedData):
                return
            if isinstance(event, Heartbeat):
                continue
            self.frames.append(event)
            self.broker._frame(self, event)
            if event.command in ("CONNECT", "STOMP"):
                self.broker.script.on_connect(self, event)
            else:
                self.broker.script.on_frame(self, event)

    def connectionLost(self, reason: Failure = Failure(Exception())) -> None:  # noqa: B008
        self.is_lost = True
        self.lost.callback(None)

    # --- what the script can do --------------------------------------------

    def send(
        self, command: str, headers: Mapping[str, str] | None = None, body: bytes = b""
    ) -> None:
        """
        Write a frame to the client.
        """
        frame = Frame._received(command, dict(headers or {}), body)
        if command == "CONNECTED":
            self.send_raw(serialize_frame(frame, "1.0"))
            version = frame.headers.get("version", "1.0")
            self.version = version
            self._decoder.version = version
        else:
            self.send_raw(serialize_frame(frame, self.version))

    def send_raw(self, data: bytes) -> None:
        """
        Write bytes as they are.
        """
        if self.transport is not None:
            self.transport.write(data)

    def stop_reading(self) -> None:
        """
        Stop reading from the client, so that its writes fill the socket
        buffers and stay there.
        """
        self.transport.pauseProducing()  # type: ignore[union-attr]

    def close(self) -> None:
        """
        Close cleanly (FIN after what is buffered).
        """
        self.transport.loseConnection()  # type: ignore[union-attr]

    def abort(self) -> None:
        """
        Reset the connection.
        """
        self.transport.abortConnection()  # type: ignore[union-attr]


class ScriptedBroker(Factory):
    """
    A listening scripted broker.

    @ivar sides: every connection accepted so far.
    @ivar port: the TCP port it listens on (127.0.0.1).
    """

    def __init__(self, script: Script | None = None) -> None:
        self.script = script if script is not None else Script()
        self.sides: list[BrokerSide] = []
        self._connections: DeferredQueue[BrokerSide] = DeferredQueue()
        self._frames: DeferredQueue[tuple[BrokerSide, Frame]] = DeferredQueue()
        self._listening: IListeningPort | None = None
        self._frame_watchers: list[Callable[[BrokerSide, Frame], None]] = []

    def buildProtocol(self, addr: object) -> BrokerSide:
        return BrokerSide(self)

    def start(self) -> int:
        """
        Listen on a free loopback port and return it.
        """
        self._listening = reactor.listenTCP(0, self, interface="127.0.0.1")
        return int(self._listening.getHost().port)  # type: ignore[attr-defined]

    def narrow_receive_buffer(self, size: int) -> None:
        """
        Let the connections accepted from now on hold only about C{size}
        bytes the broker has not read (C{SO_RCVBUF}), so that a client's
        writes fill its send buffer soon after the broker stops reading.
        """
        assert self._listening is not None
        listening: Any = self._listening
        listening.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)

    @property
    def port(self) -> int:
        assert self._listening is not None
        return int(self._listening.getHost().port)  # type: ignore[attr-defined]

    def stop(self) -> Deferred[None]:
        """
        Stop listening and reset every connection still open.
        """
        for side in self.sides:
            if not side.is_lost and side.transport is not None:
                side.abort()
        waits = [side.lost for side in self.sides if not side.is_lost]
        listening, self._listening = self._listening, None
        from twisted.internet.defer import DeferredList, maybeDeferred

        stopped = maybeDeferred(listening.stopListening) if listening else Deferred()
        if listening is None:
            stopped.callback(None)
        return DeferredList([stopped, *waits]).addCallback(lambda _: None)

    def next_connection(self, seconds: float = WAIT) -> Deferred[BrokerSide]:
        """
        The next connection accepted (or one already accepted and not yet
        taken).
        """
        return deadline(self._connections.get(), seconds, "connection to the scripted broker")

    def next_frame(self, command: str | None = None, seconds: float = WAIT) -> Deferred[Frame]:
        """
        The next frame the client sends (of C{command}, if given, skipping
        others).
        """
        result: Deferred[Frame] = Deferred()

        def take(item: tuple[BrokerSide, Frame]) -> None:
            _, frame = item
            if command is None or frame.command == command:
                result.callback(frame)
            else:
                self._frames.get().addCallback(take)

        self._frames.get().addCallback(take)
        return deadline(result, seconds, f"{command or 'frame'} from the client")

    def _connected(self, side: BrokerSide) -> None:
        self.sides.append(side)
        self._connections.put(side)

    def _frame(self, side: BrokerSide, frame: Frame) -> None:
        self._frames.put((side, frame))

    def frames(self, command: str) -> list[Frame]:
        """
        Every frame of C{command} received on any connection so far.
        """
        return [f for side in self.sides for f in side.frames if f.command == command]


class HostileTestCase(TestCase):
    """
    A scripted broker and clients of it, all stopped when the test ends.
    """

    def broker(self, script: Script) -> ScriptedBroker:
        broker = ScriptedBroker(script)
        broker.start()
        self.addCleanup(broker.stop)
        return broker

    def client(self, broker: ScriptedBroker, **kwargs: Any) -> StompClient:
        kwargs.setdefault("reconnect", None)
        kwargs.setdefault("disconnect_timeout", 2.0)
        client = stomp_twisted.connect("127.0.0.1", broker.port, reactor=reactor, **kwargs)
        self.addCleanup(client.disconnect)
        return client
