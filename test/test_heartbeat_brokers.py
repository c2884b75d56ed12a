"""
Heart-beats against RabbitMQ and ActiveMQ over real sockets: both sides
keep a quiet connection alive, a client that stops sending is dropped by
the broker, and a broker that goes silent (behind a small proxy) is
declared dead by the client, which reconnects.
"""

from __future__ import annotations

import time
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

import stomp_twisted
from stomp_twisted import StompClient
from stomp_twisted.errors import HeartbeatTimeout, StompError
from stomp_twisted.failover import ReconnectPolicy
from stomp_twisted.heartbeat import DEFAULT_TOLERANCE
from stomp_twisted.protocol import StompProtocol

from .brokers import ACTIVEMQ, RABBITMQ, Broker, require

#: The interval offered and asked for, in ms: RabbitMQ only does whole
#: seconds.
INTERVAL = 1000
#: The bound on every wait.
TIMEOUT = 15.0


def sleep(seconds: float) -> Deferred[None]:
    done: Deferred[None] = Deferred()
    reactor.callLater(seconds, done.callback, None)  # type: ignore[attr-defined]
    return done


class _ClientSide(Protocol):
    """
    A connection accepted by the proxy; it opens one to the broker.
    """

    def __init__(self, proxy: SilenceableProxy) -> None:
        self.proxy = proxy
        self.peer: _BrokerSide | None = None
        self.buffer: list[bytes] = []

    def connectionMade(self) -> None:
        self.proxy.opened(self)
        assert self.transport is not None
        self.transport.pauseProducing()  # type: ignore[attr-defined]
        endpoint = TCP4ClientEndpoint(reactor, self.proxy.broker.host, self.proxy.broker.port)
        connecting = endpoint.connect(Factory.forProtocol(lambda: _BrokerSide(self)))
        self.proxy.connecting.add(connecting)

        def connected(peer: _BrokerSide) -> None:
            self.proxy.connecting.discard(connecting)
            assert self.transport is not None
            self.peer = peer
            for data in self.buffer:
                peer.transport.write(data)  # type: ignore[union-attr]
            self.buffer = []
            self.transport.resumeProducing()  # type: ignore[attr-defined]

        def failed(failure: Failure) -> None:
            self.proxy.connecting.discard(connecting)
            if self.transport is not None:
                self.transport.loseConnection()

        connecting.addCallbacks(connected, failed)

    def dataReceived(self, data: bytes) -> None:
        if self.peer is None:
            self.buffer.append(data)
        else:
            self.peer.transport.write(data)  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.loseConnection()
        self.proxy.closed(self)


class _BrokerSide(Protocol):
    """
    The proxy's connection to the broker, for one client connection.
    """

    def __init__(self, client: _ClientSide) -> None:
        self.client = client

    def connectionMade(self) -> None:
        self.client.proxy.opened(self)

    def dataReceived(self, data: bytes) -> None:
        proxy = self.client.proxy
        if proxy.silent:
            proxy.dropped += len(data)
        elif self.client.transport is not None:
            self.client.transport.write(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.client.transport is not None:
            self.client.transport.loseConnection()
        self.client.proxy.closed(self)


class SilenceableProxy:
    """
    A TCP proxy on 127.0.0.1 in front of C{broker} that can stop
    forwarding what the broker sends (while still forwarding what the
    client sends), as a broker that hangs would.

    @ivar silent: drop the broker's bytes instead of forwarding them.
    @ivar dropped: how many bytes were dropped.
    @ivar accepted: how many client connections it took.
    """

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.silent = False
        self.dropped = 0
        self.accepted = 0
        self.connecting: set[Deferred[Any]] = set()
        self._open: set[Protocol] = set()
        self._all_closed: list[Deferred[None]] = []
        self._port: IListeningPort | None = None

    def start(self) -> int:
        """
        Listen on an ephemeral port; return it.
        """
        factory = Factory.forProtocol(lambda: _ClientSide(self))
        self._port = reactor.listenTCP(0, factory, interface="127.0.0.1")  # type: ignore[attr-defined]
        return self._port.getHost().port  # type: ignore[no-any-return,union-attr]

    def opened(self, protocol: Protocol) -> None:
        if isinstance(protocol, _ClientSide):
            self.accepted += 1
        self._open.add(protocol)

    def closed(self, protocol: Protocol) -> None:
        self._open.discard(protocol)
        if not self._open:
            waiters, self._all_closed = self._all_closed, []
            for waiter in waiters:
                waiter.callback(None)

    @inlineCallbacks
    def stop(self) -> Any:
        """
        Stop listening and close every connection, both sides.
        """
        if self._port is not None:
            yield self._port.stopListening()
        for connecting in list(self.connecting):
            connecting.cancel()
        if self._open:
            closed: Deferred[None] = Deferred()
            self._all_closed.append(closed)
            for protocol in list(self._open):
                if protocol.transport is not None:
                    protocol.transport.abortConnection()  # type: ignore[attr-defined]
            yield closed.addTimeout(TIMEOUT, reactor)


class Watcher:
    """
    Records what happens to a client: heart-beat EOLs received, CONNECTED
    frames, losses (with the protocol's error) and their times, and when
    the broker was last heard (an EOL or a frame).
    """

    def __init__(self, client: StompClient) -> None:
        self.eols = 0
        self.last_heard = 0.0
        self.connected: list[float] = []
        self.lost: list[tuple[float, StompError | None, str]] = []
        self._waiting_connected: list[tuple[int, Deferred[None]]] = []
        self._waiting_lost: list[tuple[int, Deferred[None]]] = []
        original_lost = client.factory._handler.connection_lost

        def heartbeat_received(protocol: StompProtocol) -> None:
            self.eols += 1
            self.last_heard = time.monotonic()

        def connection_lost(
            protocol: StompProtocol, reason: Failure, error: StompError | None
        ) -> None:
            self.lost.append((time.monotonic(), error, reason.getErrorMessage()))
            original_lost(protocol, reason, error)
            self._check()

        client.factory._handler.heartbeat_received = heartbeat_received  # type: ignore[method-assign]
        client.factory._handler.connection_lost = connection_lost  # type: ignore[method-assign]
        client.reg_cb("CONNECTED", self._on_connected)
        client.reg_cb("frame", self._on_frame)

    def _on_frame(self, client: StompClient, *frame: object) -> None:
        self.last_heard = time.monotonic()

    def _on_connected(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        self.connected.append(time.monotonic())
        self._check()

    def _check(self) -> None:
        for waiting, events in (
            (self._waiting_connected, self.connected),
            (self._waiting_lost, self.lost),
        ):
            for entry in list(waiting):
                count, deferred = entry
                if len(events) >= count:
                    waiting.remove(entry)
                    deferred.callback(None)

    def _wait(self, waiting: list[tuple[int, Deferred[None]]], count: int) -> Deferred[None]:
        deferred: Deferred[None] = Deferred()
        waiting.append((count, deferred))
        self._check()
        return deferred.addTimeout(TIMEOUT, reactor)

    def wait_connected(self, count: int) -> Deferred[None]:
        """
        Fires once CONNECTED has arrived C{count} times in all.
        """
        return self._wait(self._waiting_connected, count)

    def wait_lost(self, count: int) -> Deferred[None]:
        """
        Fires once C{count} connections were lost in all.
        """
        return self._wait(self._waiting_lost, count)


class HeartbeatBrokerMixin:
    broker: Broker

    def setUp(self) -> None:
        require(self.broker)

    def client(self, host: str, port: int, **kwargs: Any) -> StompClient:
        kwargs.setdefault("reconnect", None)
        client = stomp_twisted.connect(
            host,
            port,
            connect_headers=self.broker.connect_headers(),
            reactor=reactor,
            receipt_timeout=TIMEOUT,
            heartbeat=(INTERVAL, INTERVAL),
            **kwargs,
        )
        self.addCleanup(client.disconnect)  # type: ignore[attr-defined]
        return client

    @inlineCallbacks
    def test_quiet_connection_stays_up(self) -> Any:
        """
        With heart-beats negotiated both ways, an idle connection outlives
        the broker's timeout several times over, the broker's EOLs arrive,
        and the connection still works at the end.
        """
        client = self.client(self.broker.host, self.broker.port)
        watcher = Watcher(client)
        yield client.when_connected().addTimeout(TIMEOUT, reactor)
        protocol = client.factory._core.session.protocol
        assert protocol is not None
        self.assertEqual(protocol.heartbeat, (INTERVAL, INTERVAL))  # type: ignore[attr-defined]
        yield sleep(5 * INTERVAL / 1000)
        self.assertEqual(watcher.lost, [])  # type: ignore[attr-defined]
        self.assertTrue(client.is_connected)  # type: ignore[attr-defined]
        self.assertIs(client.factory._core.session.protocol, protocol)  # type: ignore[attr-defined]
        # At least one per interval (RabbitMQ sends two).
        self.assertGreaterEqual(watcher.eols, 4)  # type: ignore[attr-defined]
        receipt = yield client.send_frame("BEGIN", headers={"transaction": "t-1"})
        self.assertEqual(receipt.command, "RECEIPT")  # type: ignore[attr-defined]

    @inlineCallbacks
    def test_mute_client_is_dropped(self) -> Any:
        """
        A client that negotiated heart-beats and then sends nothing is
        dropped by the broker within about three intervals; the client,
        still hearing the broker, is not the one that gives up.
        """
        self.patch(StompProtocol, "_send_heartbeat", lambda protocol: None)  # type: ignore[attr-defined]
        client = self.client(self.broker.host, self.broker.port)
        watcher = Watcher(client)
        yield watcher.wait_connected(1)
        yield watcher.wait_lost(1)
        [(lost_at, error, reason)] = watcher.lost
        silence = lost_at - watcher.connected[0]
        self.assertGreater(silence, INTERVAL / 1000, reason)  # type: ignore[attr-defined]
        self.assertLess(silence, 3 * INTERVAL / 1000 + 1.5, reason)  # type: ignore[attr-defined]
        self.assertNotIsInstance(error, HeartbeatTimeout)  # type: ignore[attr-defined]
        self.assertGreaterEqual(watcher.eols, 1)  # type: ignore[attr-defined]
        self.assertFalse(client.is_connected)  # type: ignore[attr-defined]

    @inlineCallbacks
    def test_silent_broker_is_dead_and_client_reconnects(self) -> Any:
        """
        When the broker's bytes stop arriving (the proxy drops them), the
        client declares it dead once it has heard nothing for interval x
        tolerance (the default, 3), reports the loss, and reconnects once
        the broker is heard again.
        """
        proxy = SilenceableProxy(self.broker)
        port = proxy.start()
        self.addCleanup(proxy.stop)  # type: ignore[attr-defined]
        client = self.client(
            "127.0.0.1",
            port,
            reconnect=ReconnectPolicy(initial_delay=0.1),
            connect_timeout=5.0,
        )
        watcher = Watcher(client)
        events: list[tuple[str, str]] = []
        client.reg_cb("io_error", lambda c, message: events.append(("io_error", message)))
        client.reg_cb("disconnect", lambda c, reason: events.append(("disconnect", reason)))
        yield watcher.wait_connected(1)
        yield sleep(1.5 * INTERVAL / 1000)
        self.assertEqual(watcher.lost, [])  # type: ignore[attr-defined]
        proxy.silent = True
        silent_since = time.monotonic()
        yield watcher.wait_lost(1)
        [(lost_at, error, _)] = watcher.lost
        self.assertIsInstance(error, HeartbeatTimeout)  # type: ignore[attr-defined]
        self.assertLess(watcher.last_heard, silent_since)  # type: ignore[attr-defined]
        timeout = DEFAULT_TOLERANCE * INTERVAL / 1000
        self.assertGreater(lost_at - watcher.last_heard, timeout - 0.05)  # type: ignore[attr-defined]
        self.assertLess(lost_at - watcher.last_heard, timeout + 0.5)  # type: ignore[attr-defined]
        self.assertGreater(proxy.dropped, 0)  # type: ignore[attr-defined]
        self.assertEqual([name for name, _ in events], ["io_error", "disconnect"])  # type: ignore[attr-defined]
        self.assertIn("presumed dead", events[0][1])  # type: ignore[attr-defined]
        proxy.silent = False
        yield watcher.wait_connected(2)
        yield client.when_connected().addTimeout(TIMEOUT, reactor)
        self.assertEqual(proxy.accepted, 2)  # type: ignore[attr-defined]
        self.assertEqual(len(watcher.lost), 1)  # type: ignore[attr-defined]
        receipt = yield client.send_frame("BEGIN", headers={"transaction": "t-1"})
        self.assertEqual(receipt.command, "RECEIPT")  # type: ignore[attr-defined]


class RabbitMQHeartbeatTests(HeartbeatBrokerMixin, TestCase):
    broker = RABBITMQ


class ActiveMQHeartbeatTests(HeartbeatBrokerMixin, TestCase):
    broker = ACTIVEMQ
