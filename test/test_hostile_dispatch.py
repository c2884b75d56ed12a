"""
Message dispatch and settlement under faults (issue 10, items 6, 12 and
14), over real loopback TCP: scripted brokers (L{test.hostile}) that
requeue every NACK at once, never get acknowledgements, or send MESSAGEs
without ack ids; and one always-failing message on RabbitMQ and on
ActiveMQ for six seconds with the default redelivery policy.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

import stomp_twisted
from stomp_twisted import StompClient
from stomp_twisted.frame import Frame
from stomp_twisted.redelivery import RedeliveryPolicy

from .brokers import ACTIVEMQ, RABBITMQ, Broker, require, unique_queue
from .hostile import BrokerSide, HostileTestCase, Script, deadline, reactor

Headers = dict[str, str]


class Boom(Exception):
    """
    What the always-failing handlers raise.
    """


def next_event(client: StompClient, event: str, seconds: float = 10.0) -> Deferred[Any]:
    """
    The arguments of the next C{event} on C{client}, within C{seconds}.
    """
    fired: Deferred[Any] = Deferred()
    client.reg_cb(event, lambda *args: None if fired.called else fired.callback(args))
    return deadline(fired, seconds, f"{event} event")


class Counter:
    """
    A subscription callback that records what arrives, fires waiters at
    given counts, and fails every message if told to.
    """

    def __init__(self, fail: bool = False) -> None:
        self.headers: list[Headers] = []
        self.bodies: list[bytes] = []
        self.times: list[float] = []
        self._fail = fail
        self._waiters: list[tuple[int, Deferred[None]]] = []

    def __call__(self, client: StompClient, body: bytes, headers: Headers) -> None:
        self.headers.append(headers)
        self.bodies.append(body)
        self.times.append(time.monotonic())
        for waiter in list(self._waiters):
            if len(self.headers) >= waiter[0]:
                self._waiters.remove(waiter)
                waiter[1].callback(None)
        if self._fail:
            raise Boom(f"always fails: {body!r}")

    def wait_count(self, count: int, seconds: float = 10.0) -> Deferred[None]:
        waiting: Deferred[None] = Deferred()
        if len(self.headers) >= count:
            waiting.callback(None)
        else:
            self._waiters.append((count, waiting))
        return deadline(waiting, seconds, f"{count} messages")


# --- item 6: poison messages -------------------------------------------------


class Requeuing(Script):
    """
    RabbitMQ's way with NACK: requeue and redeliver at once, under a new
    message-id, marked redelivered; C{requeue:false} drops the message.
    """

    def __init__(self) -> None:
        self.deliveries = 0
        self.rejected: list[Frame] = []

    def deliver(self, side: BrokerSide, subscription: str) -> None:
        self.deliveries += 1
        n = self.deliveries
        side.send(
            "MESSAGE",
            {
                "destination": "/queue/poison",
                "subscription": subscription,
                "message-id": f"T_{subscription}@@{n}",
                "ack": f"T_{subscription}@@{n}",
                "redelivered": "true" if n > 1 else "false",
            },
            b"poison",
        )

    def on_frame(self, side: BrokerSide, frame: Frame) -> None:
        super().on_frame(side, frame)
        if frame.command == "SUBSCRIBE":
            self.subscription = frame.headers["id"]
            self.deliver(side, self.subscription)
        elif frame.command == "NACK":
            if frame.headers.get("requeue") == "false":
                self.rejected.append(frame)
            else:
                self.deliver(side, self.subscription)


class PoisonLoopbackTests(HostileTestCase):
    """
    A broker that requeues every NACK at once no longer makes a failing
    message loop hot.
    """

    @inlineCallbacks
    def test_bounded_deliveries(self) -> Any:
        """
        With a (fast) policy of four deliveries, a message that always
        fails is delivered four times, with growing gaps, then rejected
        with C{requeue:false}, and C{"poison"} fires once.
        """
        script = Requeuing()
        broker = self.broker(script)
        policy = RedeliveryPolicy(initial_delay=0.05, multiplier=2, max_deliveries=4)
        client = self.client(broker, redelivery=policy)
        counter = Counter(fail=True)
        poisoned = next_event(client, "poison")
        client.subscribe("/queue/poison", counter, ack="auto", receipt=False)
        _, body, headers, failure = yield poisoned
        self.assertEqual(body, b"poison")
        self.assertEqual(headers["message-id"], "T_sub-1@@4")
        self.assertTrue(failure.check(Boom))
        rejected = yield broker.next_frame("NACK")
        while rejected.headers.get("requeue") != "false":
            rejected = yield broker.next_frame("NACK")
        self.assertEqual(rejected.headers, {"id": "T_sub-1@@4", "requeue": "false"})
        self.assertEqual(script.deliveries, 4)
        gaps = [b - a for a, b in zip(counter.times, counter.times[1:], strict=False)]
        self.assertEqual(len(gaps), 3)
        # Each wait at least the policy's delay, and growing.
        for gap, delay in zip(gaps, (0.05, 0.1, 0.2), strict=True):
            self.assertGreaterEqual(gap, delay * 0.9)
        self.assertEqual(len(self.flushLoggedErrors(Boom)), 4)


# --- item 12: unacknowledged messages ----------------------------------------


class Flooding(Script):
    """
    Sends C{count} MESSAGEs as soon as the client subscribes.
    """

    def __init__(self, count: int) -> None:
        self.count = count

    def on_frame(self, side: BrokerSide, frame: Frame) -> None:
        super().on_frame(side, frame)
        if frame.command == "SUBSCRIBE":
            for n in range(1, self.count + 1):
                side.send(
                    "MESSAGE",
                    {
                        "destination": frame.headers["destination"],
                        "subscription": frame.headers["id"],
                        "message-id": f"m-{n}",
                        "ack": f"a-{n}",
                    },
                    f"{n}".encode(),
                )


class UnackedLoopbackTests(HostileTestCase):
    @inlineCallbacks
    def test_reading_pauses_at_max_unacked(self) -> Any:
        """
        A manual subscription whose messages are never acknowledged stops
        reading at C{max_unacked} (the broker's MESSAGEs wait in the
        socket), and reads again once acknowledgements bring the count
        down to half.
        """
        broker = self.broker(Flooding(200))
        client = self.client(broker, max_unacked=20)
        counter = Counter()
        client.subscribe("/queue/flood", counter, ack="manual", receipt=False)
        yield counter.wait_count(20)
        # Reading paused as the 20th arrived: the MESSAGEs read with it
        # stay undispatched, and the rest wait in the socket.
        protocol = client.factory._core.session.protocol
        assert protocol is not None
        self.assertTrue(protocol.paused)
        self.assertEqual(len(counter.headers), 20)
        for headers in counter.headers[:10]:
            client.ack(headers, receipt=False)
        yield counter.wait_count(30)
        self.assertEqual(client.stats.unacknowledged, 20)
        self.assertTrue(protocol.paused)
        self.assertEqual(len(counter.headers), 30)


# --- item 14: ack ids ---------------------------------------------------------


class CoilmqLike(Script):
    """
    STOMP 1.2 MESSAGEs with a message-id and no C{ack} header, as coilmq
    sends them.
    """

    def on_frame(self, side: BrokerSide, frame: Frame) -> None:
        super().on_frame(side, frame)
        if frame.command == "SUBSCRIBE":
            side.send(
                "MESSAGE",
                {"destination": frame.headers["destination"], "message-id": "coil-1"},
                b"hello",
            )


class StompserverLike(Script):
    """
    STOMP 1.0 (no version header) that gives a MESSAGE a message-id only
    when the subscription asked for C{ack:client}, as stompserver does.
    """

    version = None

    def on_frame(self, side: BrokerSide, frame: Frame) -> None:
        super().on_frame(side, frame)
        if frame.command == "SUBSCRIBE":
            headers = {"destination": frame.headers["destination"]}
            if frame.headers.get("ack") == "client":
                headers["message-id"] = "ss-1"
            side.send("MESSAGE", headers, b"one")
            side.send("MESSAGE", headers, b"two")


class AckIdLoopbackTests(HostileTestCase):
    @inlineCallbacks
    def test_12_message_without_ack(self) -> Any:
        """
        A 1.2 MESSAGE without C{ack} is acknowledged by its message-id.
        """
        broker = self.broker(CoilmqLike())
        client = self.client(broker)
        client.subscribe("/queue/coil", Counter(), ack="auto", receipt=False)
        ack = yield broker.next_frame("ACK")
        self.assertEqual(ack.headers, {"id": "coil-1", "message-id": "coil-1"})

    @inlineCallbacks
    def test_10_without_message_id_reported(self) -> Any:
        """
        Without C{ack:client}, the 1.0 server's MESSAGEs carry no id: both
        are delivered, and an C{io_error} says once why they cannot be
        acknowledged.
        """
        broker = self.broker(StompserverLike())
        client = self.client(broker, versions=["1.0"])
        io_errors: list[tuple[Any, ...]] = []
        client.reg_cb("io_error", lambda *args: io_errors.append(args))
        counter = Counter()
        client.subscribe("/queue/ss", counter, ack="auto", receipt=False)
        yield counter.wait_count(2)
        self.assertEqual(len(io_errors), 1)
        self.assertIn("headers={'ack': 'client'}", io_errors[0][1])
        self.assertEqual(broker.frames("ACK"), [])

    @inlineCallbacks
    def test_10_ack_client(self) -> Any:
        """
        With C{headers={"ack": "client"}} the server gives ids, and the
        client acknowledges each message.
        """
        broker = self.broker(StompserverLike())
        client = self.client(broker, versions=["1.0"])
        counter = Counter()
        client.subscribe("/queue/ss", counter, ack="auto", headers={"ack": "client"}, receipt=False)
        first = yield broker.next_frame("ACK")
        second = yield broker.next_frame("ACK")
        self.assertEqual([first.headers, second.headers], [{"message-id": "ss-1"}] * 2)
        self.assertEqual(broker.frames("SUBSCRIBE")[0].headers["ack"], "client")


# --- item 6 on real brokers ----------------------------------------------------

#: How long the always-failing message is watched on each broker.
WATCH = 6.0


if TYPE_CHECKING:
    _Base = TestCase
else:
    _Base = object


class PoisonBrokerMixin(_Base):
    broker_under_test: Broker

    def setUp(self) -> None:
        require(self.broker_under_test)

    def real_client(self) -> StompClient:
        broker = self.broker_under_test
        client = stomp_twisted.connect(
            broker.host,
            broker.port,
            connect_headers=broker.connect_headers(),
            reactor=reactor,
            receipt_timeout=10.0,
            disconnect_timeout=2.0,
        )
        self.addCleanup(client.disconnect)
        return client

    @inlineCallbacks
    def test_poison_message_default_policy(self) -> Any:
        """
        One always-failing persistent message, watched for six seconds
        under the default policy: a handful of deliveries, the
        C{"poison"} event once C{max_deliveries} is reached, and the
        message rejected for good.
        """
        queue = unique_queue("hostile-dispatch-poison")
        tag = uuid.uuid4().hex
        client = self.real_client()
        yield deadline(client.when_connected(), 10, "CONNECTED")
        poison: list[tuple[Any, ...]] = []
        client.reg_cb("poison", lambda *args: poison.append(args))
        counter = Counter(fail=True)
        subscription = yield client.subscribe(queue, counter, ack="auto")
        started = time.monotonic()
        yield client.send(b"poison " + tag.encode(), queue, {"persistent": "true", "testid": tag})
        yield deferLater(reactor, WATCH, lambda: None)
        deliveries = len(counter.headers)
        elapsed = time.monotonic() - started
        print(f"\n{self.broker_under_test.name}: {deliveries} deliveries in {elapsed:.1f} s")
        self.assertLessEqual(deliveries, 5)
        self.assertEqual(len(poison), 1)
        self.assertEqual(poison[0][2]["testid"], tag)
        self.assertTrue(poison[0][3].check(Boom))
        yield client.unsubscribe(subscription)
        yield self.assertRejected(client, queue, tag)
        self.flushLoggedErrors(Boom)

    def assertRejected(self, client: StompClient, queue: str, tag: str) -> Deferred[None]:
        raise NotImplementedError


class RabbitMQPoisonTests(PoisonBrokerMixin, TestCase):
    broker_under_test = RABBITMQ

    @inlineCallbacks
    def assertRejected(self, client: StompClient, queue: str, tag: str) -> Any:
        # Gone from the queue: only the sentinel sent after it arrives.
        counter = Counter()
        yield client.subscribe(queue, counter, ack="auto")
        sentinel = f"sentinel-{tag}".encode()
        yield client.send(sentinel, queue)
        yield counter.wait_count(1)
        self.assertEqual(counter.bodies, [sentinel])


class ActiveMQPoisonTests(PoisonBrokerMixin, TestCase):
    broker_under_test = ACTIVEMQ

    @inlineCallbacks
    def assertRejected(self, client: StompClient, queue: str, tag: str) -> Any:
        # In ActiveMQ.DLQ (found by its own test id, as other tests share
        # the dead-letter queue).
        dead = Counter()
        yield client.subscribe(
            "/queue/ActiveMQ.DLQ", dead, ack="auto", headers={"selector": f"testid = '{tag}'"}
        )
        yield dead.wait_count(1)
        self.assertEqual(dead.headers[0]["testid"], tag)
        self.assertEqual(dead.headers[0].get("original-destination"), queue)
