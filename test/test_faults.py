"""
Fault injection against the real brokers: connections closed under the
client while thousands of messages flow, a broker restarted, a broker of a
failover list stopped.  Nothing may be lost, the client must reconnect and
resubscribe by itself, and every Deferred it handed out must fire or fail.
"""

from __future__ import annotations

import os
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredList, inlineCallbacks
from twisted.internet.task import deferLater
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

import stomp_twisted
from stomp_twisted import StompClient
from stomp_twisted.failover import ReconnectPolicy
from stomp_twisted.outbox import OutboxPolicy

from .brokers import ACTIVEMQ, RABBITMQ, Broker, require, unique_queue

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ReconnectPolicy(initial_delay=0.2, max_delay=2.0, jitter=0.2)
MESSAGES = 10_000


def run(*argv: str) -> Deferred[tuple[bytes, bytes, int]]:
    """
    Run a command, with C{/usr/sbin} on the path for C{rabbitmqctl}.
    """
    env = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    return getProcessOutputAndValue(argv[0], argv[1:], env=env, path=TOP, reactor=reactor)


def until(condition: Any, timeout: float, what: str) -> Deferred[None]:
    """
    Poll C{condition} every 50 ms until it holds, or fail after
    C{timeout} seconds saying C{what} did not happen.
    """

    @inlineCallbacks
    def poll() -> Any:
        waited = 0.0
        while not condition():
            if waited >= timeout:
                raise AssertionError(f"within {timeout} s: {what}")
            yield deferLater(reactor, 0.05, lambda: None)
            waited += 0.05

    return poll()


class Consumer:
    """
    A consumer with C{ack="auto"} that records every message id it sees
    and every CONNECTED.
    """

    def __init__(self, broker: Broker, queue: str, **options: Any) -> None:
        self.ids: set[int] = set()
        self.deliveries = 0
        self.connected = 0
        self.client = stomp_twisted.connect(
            broker.host,
            broker.port,
            destination=queue,
            ack="auto",
            connect_headers=broker.connect_headers(),
            subscribe_headers={"prefetch-count": "500", "activemq.prefetchSize": "500"},
            reactor=reactor,
            reconnect=FAST,
            **options,
        )
        self.client.reg_cb("MESSAGE", self.on_message)
        self.client.reg_cb("CONNECTED", self.on_connected)

    def on_message(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        self.deliveries += 1
        self.ids.add(int(body.split(b":", 1)[0]))

    def on_connected(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        self.connected += 1


class FaultMixin:
    broker: Broker

    def setUp(self) -> None:
        require(self.broker)

    @inlineCallbacks
    def flow_with_faults(self, inject: Any, at: tuple[int, ...]) -> Any:
        """
        Send C{MESSAGES} persistent messages through an outbox (so that the
        producer rides the faults too) to a consumer with C{ack="auto"},
        calling C{inject()} when the consumer has seen each count in
        C{at}; then check that every message arrived at least once and
        that both clients reconnected by themselves.
        """
        queue = unique_queue("faults")
        consumer = Consumer(self.broker, queue)
        self.addCleanup(consumer.client.disconnect)  # type: ignore[attr-defined]
        producer = stomp_twisted.connect(
            self.broker.host,
            self.broker.port,
            connect_headers=self.broker.connect_headers(),
            reactor=reactor,
            reconnect=FAST,
            outbox=OutboxPolicy(max_messages=MESSAGES),
        )
        self.addCleanup(producer.disconnect)  # type: ignore[attr-defined]
        yield consumer.client.when_connected().addTimeout(15, reactor)
        yield producer.when_connected().addTimeout(15, reactor)
        sends = [
            producer.send(f"{n}:".encode() + b"x" * 100, queue, {"persistent": "true"})
            for n in range(MESSAGES)
        ]
        settled = DeferredList(sends, consumeErrors=True)
        for count in at:
            yield until(lambda c=count: len(consumer.ids) >= c, 60, f"{count} messages received")
            connections = consumer.connected
            yield inject()
            # The fault must have cut the consumer, and it must come back by
            # itself (perhaps after every message has already arrived).
            yield until(
                lambda c=connections: consumer.connected > c, 60, "the consumer reconnecting"
            )
        yield until(lambda: len(consumer.ids) == MESSAGES, 120, f"all {MESSAGES} received")
        outcomes = yield settled.addTimeout(60, reactor)
        failed = [result for ok, result in outcomes if not ok]
        self.assertEqual(failed, [])  # type: ignore[attr-defined]
        self.assertEqual(consumer.ids, set(range(MESSAGES)))  # type: ignore[attr-defined]
        self.assertGreaterEqual(consumer.deliveries, MESSAGES)  # type: ignore[attr-defined]
        self.assertGreater(consumer.connected, len(at))  # type: ignore[attr-defined]
        self.assertEqual(  # type: ignore[attr-defined]
            [s.destination for s in consumer.client.subscriptions], [queue]
        )
        return consumer


class RabbitMQFaultTests(FaultMixin, TestCase):
    broker = RABBITMQ
    timeout = 300

    def test_connections_closed_under_the_client(self) -> None:
        """
        C{rabbitmqctl close_all_connections} twice while 10,000 messages
        flow with C{ack="auto"}: every message is processed at least once,
        the clients reconnect and resubscribe, and every send's Deferred
        fires.
        """

        def close_all() -> Deferred[Any]:
            return run("rabbitmqctl", "close_all_connections", "stomp_twisted fault test")

        return self.flow_with_faults(close_all, at=(2_000, 6_000))


class ActiveMQFaultTests(FaultMixin, TestCase):
    broker = ACTIVEMQ
    timeout = 300

    def test_broker_restarted(self) -> None:
        """
        ActiveMQ stopped and started again while 10,000 persistent
        messages flow with C{ack="auto"}: every message is processed at
        least once and the clients reconnect and resubscribe by
        themselves.
        """

        @inlineCallbacks
        def restart() -> Any:
            _out, err, status = yield run("bash", "scripts/brokers", "stop", "activemq")
            assert status == 0, err
            _out, err, status = yield run("bash", "scripts/brokers", "start", "activemq")
            assert status == 0, err

        return self.flow_with_faults(restart, at=(3_000,))


class FailoverTests(TestCase):
    """
    ActiveMQ and RabbitMQ as two brokers of one list.
    """

    timeout = 120

    def setUp(self) -> None:
        require(ACTIVEMQ)
        require(RABBITMQ)
        self.addCleanup(run, "bash", "scripts/brokers", "start", "activemq")

    @inlineCallbacks
    def test_stopping_the_broker_in_use_moves_the_client(self) -> Any:
        """
        Stopping ActiveMQ, the broker in use, moves the client to
        RabbitMQ, the next of its list, where it works.
        """
        servers: list[str] = []
        client = stomp_twisted.connect(
            [(ACTIVEMQ.host, ACTIVEMQ.port), (RABBITMQ.host, RABBITMQ.port)],
            connect_headers=RABBITMQ.connect_headers(),
            reactor=reactor,
            reconnect=FAST,
        )
        self.addCleanup(client.disconnect)
        client.reg_cb("CONNECTED", lambda c, body, headers: servers.append(headers["server"]))
        yield client.when_connected().addTimeout(15, reactor)
        assert client.connected_frame is not None
        self.assertIn("ActiveMQ", client.connected_frame.headers["server"])
        yield until(lambda: len(servers) == 1, 5, "the CONNECTED event")
        _out, err, status = yield run("bash", "scripts/brokers", "stop", "activemq")
        self.assertEqual(status, 0, err)
        yield until(lambda: len(servers) == 2, 30, "a reconnection")
        self.assertIn("RabbitMQ", servers[1])
        yield client.when_connected().addTimeout(15, reactor)
        queue = unique_queue("failover")
        received: Deferred[bytes] = Deferred()
        yield client.subscribe(queue, lambda c, body, headers: received.callback(body))
        yield client.send(b"after failover", queue)
        body = yield received.addTimeout(15, reactor)
        self.assertEqual(body, b"after failover")
