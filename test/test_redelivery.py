"""
Poison messages, unacknowledged messages and ack ids, on the in-memory
fakes (L{test.fakes}) and a L{Clock}: L{stomp_twisted.redelivery} and
what L{StompClient} does with it (issue 10, items 6, 12 and 14).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.logger import LogEvent, LogLevel, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from stomp_twisted.client import DEFAULT_MAX_UNACKED, StompClient, Subscription
from stomp_twisted.errors import BadArgument
from stomp_twisted.frame import Frame
from stomp_twisted.redelivery import DEFAULT_REDELIVERY, DeliveryCounter, RedeliveryPolicy

from .fakes import FakeConnection, FakeEndpoint

DESTINATION = "/queue/poison"


class Boom(Exception):
    """
    What the failing callbacks here raise.
    """


def fail_always(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
    raise Boom(f"cannot handle {body!r}")


class PolicyTests(SynchronousTestCase):
    """
    L{RedeliveryPolicy}: its delays, its limit and its checks.
    """

    def test_default_delays(self) -> None:
        """
        The default waits 0.25 s, then twice as long each time, and gives
        up at the fifth delivery: a message that always fails is delivered
        five times in under four seconds.
        """
        policy = DEFAULT_REDELIVERY
        delays = [policy.delay(n) for n in range(1, 5)]
        self.assertEqual(delays, [0.25, 0.5, 1.0, 2.0])
        self.assertEqual([policy.exhausted(n) for n in range(1, 6)], [False] * 4 + [True])
        self.assertLess(sum(delays), 4.0)

    def test_delay_capped(self) -> None:
        """
        The delay grows to C{max_delay} and stays there, even after
        absurdly many deliveries (no overflow).
        """
        policy = RedeliveryPolicy(initial_delay=1, multiplier=10, max_delay=60, max_deliveries=None)
        self.assertEqual([policy.delay(n) for n in (1, 2, 3)], [1, 10, 60])
        self.assertEqual(policy.delay(10**6), 60)
        self.assertFalse(policy.exhausted(10**6))

    def test_immediate(self) -> None:
        """
        C{initial_delay=0} refuses at once, every time.
        """
        policy = RedeliveryPolicy(initial_delay=0, max_deliveries=None)
        self.assertEqual(policy.delay(7), 0)

    def test_bad_policies(self) -> None:
        """
        Each malformed setting raises L{BadArgument} at construction.
        """
        bad: list[dict[str, Any]] = [
            {"initial_delay": -1},
            {"initial_delay": "1"},
            {"initial_delay": float("nan")},
            {"initial_delay": True},
            {"max_delay": float("inf")},
            {"initial_delay": 10, "max_delay": 1},
            {"multiplier": 0.5},
            {"multiplier": None},
            {"max_deliveries": 0},
            {"max_deliveries": 2.0},
            {"max_deliveries": True},
            {"on_exhausted": "drop"},
        ]
        for settings in bad:
            self.assertRaises(BadArgument, RedeliveryPolicy, **settings)

    def test_frozen(self) -> None:
        """
        A policy cannot be changed once made.
        """
        with self.assertRaises(AttributeError):
            DEFAULT_REDELIVERY.max_deliveries = 1  # type: ignore[misc]


class DeliveryCounterTests(SynchronousTestCase):
    """
    L{DeliveryCounter} recognises a message across its redeliveries.
    """

    def test_rabbitmq_redeliveries(self) -> None:
        """
        RabbitMQ gives each delivery a new message-id and marks
        redeliveries C{redelivered:true}: the count goes on regardless,
        and C{redelivered:false} starts a new count.
        """
        counter = DeliveryCounter()
        counts = []
        for n in range(1, 4):
            headers = {"message-id": f"T@@{n}", "ack": f"T@@{n}", "redelivered": str(n > 1).lower()}
            counts.append(counter.failed(DESTINATION, headers, b"x"))
        self.assertEqual(counts, [1, 2, 3])
        fresh = {"message-id": "T@@9", "redelivered": "false"}
        self.assertEqual(counter.failed(DESTINATION, fresh, b"x"), 1)

    def test_broker_count(self) -> None:
        """
        A quorum queue's C{x-delivery-count} (deliveries before this one)
        is believed; a malformed one is not.
        """
        counter = DeliveryCounter()
        self.assertEqual(counter.failed(DESTINATION, {"x-delivery-count": "6"}, b"x"), 7)
        self.assertEqual(counter.failed(DESTINATION, {"x-delivery-count": "9" * 50}, b"y"), 1)

    def test_distinct_messages(self) -> None:
        """
        Another body, destination or stable header is another message.
        """
        counter = DeliveryCounter()
        self.assertEqual(counter.failed(DESTINATION, {}, b"x"), 1)
        self.assertEqual(counter.failed(DESTINATION, {}, b"x"), 2)
        self.assertEqual(counter.failed(DESTINATION, {}, b"y"), 1)
        self.assertEqual(counter.failed("/queue/other", {}, b"x"), 1)
        self.assertEqual(counter.failed(DESTINATION, {"timestamp": "1"}, b"x"), 1)

    def test_succeeded_forgets(self) -> None:
        """
        A message handled at last is forgotten.
        """
        counter = DeliveryCounter()
        counter.failed(DESTINATION, {}, b"x")
        counter.succeeded(DESTINATION, {"redelivered": "true"}, b"x")
        self.assertEqual(len(counter), 0)

    def test_bounded(self) -> None:
        """
        At most C{capacity} messages are remembered, the least recently
        failed forgotten first.
        """
        counter = DeliveryCounter(capacity=3)
        for n in range(10):
            counter.failed(DESTINATION, {}, str(n).encode())
        self.assertEqual(len(counter), 3)
        self.assertEqual(counter.failed(DESTINATION, {}, b"9"), 2)
        self.assertEqual(counter.failed(DESTINATION, {}, b"0"), 1)
        self.assertRaises(BadArgument, DeliveryCounter, 0)


class FakesTestCase(SynchronousTestCase):
    """
    Clients on a L{FakeEndpoint} and a L{Clock}, with their log recorded.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.endpoint = FakeEndpoint()
        self.events: list[LogEvent] = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def connect(
        self, version: str = "1.2", server: str = "RabbitMQ/3.10.8", **kwargs: Any
    ) -> tuple[StompClient, FakeConnection]:
        kwargs.setdefault("reconnect", None)
        client = StompClient(self.endpoint, reactor=self.clock, **kwargs)
        client.start()
        conn = self.endpoint.last
        conn.sent()
        conn.connected(version, server=server)
        return client, conn

    def subscribe(
        self, client: StompClient, conn: FakeConnection, callback: Any, **kwargs: Any
    ) -> Subscription:
        subscription = self.successResultOf(
            client.subscribe(DESTINATION, callback, receipt=False, **kwargs)
        )
        conn.sent()
        return subscription

    def deliver(
        self, conn: FakeConnection, n: int, body: bytes = b"poison", **extra: str
    ) -> dict[str, str]:
        version = conn.protocol.version
        headers = {"destination": DESTINATION, "message-id": f"m-{n}", "subscription": "sub-1"}
        if version == "1.2":
            headers["ack"] = f"a-{n}"
        headers.update(extra)
        conn.receive("MESSAGE", headers, body)
        return headers

    def logged(self, level: LogLevel | None = None) -> list[str]:
        return [
            formatEvent(event)
            for event in self.events
            if level is None or event.get("log_level") == level
        ]

    def recorder(self, bodies: list[bytes]) -> Any:
        return lambda client, body, headers: bodies.append(body)

    def observe(self, client: StompClient, event: str) -> list[tuple[Any, ...]]:
        seen: list[tuple[Any, ...]] = []
        client.reg_cb(event, lambda *args: seen.append(args))
        return seen


class PoisonTests(FakesTestCase):
    """
    Under C{ack="auto"}, a message whose callbacks keep failing comes back
    after growing delays and is then given up on, with a C{"poison"} event.
    """

    def test_delayed_nacks_then_rejected(self) -> None:
        """
        Each NACK waits for the policy's delay (0.25, 0.5, 1, 2 s); the
        fifth failed delivery is refused for good (C{requeue:false}),
        reported by one C{"poison"} event with the body, headers and last
        failure, and one warning.
        """
        client, conn = self.connect()
        poison = self.observe(client, "poison")
        self.subscribe(client, conn, fail_always, ack="auto")
        for n, delay in enumerate([0.25, 0.5, 1.0, 2.0], start=1):
            self.deliver(conn, n, redelivered=str(n > 1).lower())
            self.clock.advance(delay - 0.01)
            self.assertEqual(conn.sent(), [], f"delivery {n}")
            self.clock.advance(0.01)
            self.assertEqual(conn.sent(), [Frame("NACK", {"id": f"a-{n}"})], f"delivery {n}")
        self.assertEqual(poison, [])
        last = self.deliver(conn, 5, redelivered="true")
        self.assertEqual(conn.sent(), [Frame("NACK", {"id": "a-5", "requeue": "false"})])
        self.assertEqual(len(poison), 1)
        [(seen_client, body, headers, failure)] = poison
        self.assertIs(seen_client, client)
        self.assertEqual(body, b"poison")
        self.assertEqual(headers, {**last, "content-length": "6"})
        self.assertIsInstance(failure, Failure)
        self.assertTrue(failure.check(Boom))
        warnings = [line for line in self.logged(LogLevel.warn) if "poison message" in line]
        self.assertEqual(len(warnings), 1)
        self.assertIn("poison message m-5 on /queue/poison: delivered 5 time(s)", warnings[0])
        self.assertIn("rejected", warnings[0])
        self.assertEqual(len(self.flushLoggedErrors(Boom)), 5)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_on_exhausted_ack(self) -> None:
        """
        C{on_exhausted="ack"} acknowledges the exhausted message instead,
        and reports it all the same.
        """
        policy = RedeliveryPolicy(max_deliveries=2, on_exhausted="ack")
        client, conn = self.connect()
        poison = self.observe(client, "poison")
        self.subscribe(client, conn, fail_always, ack="auto", redelivery=policy)
        self.deliver(conn, 1, redelivered="false")
        self.clock.advance(0.25)
        self.assertEqual(conn.sent_one().command, "NACK")
        self.deliver(conn, 2, redelivered="true")
        self.assertEqual(conn.sent(), [Frame("ACK", {"id": "a-2"})])
        self.assertEqual(len(poison), 1)
        self.flushLoggedErrors(Boom)

    def test_client_default_and_subscription_override(self) -> None:
        """
        The client's C{redelivery} applies to its subscriptions unless one
        gives its own; a bad one is refused.
        """
        once = RedeliveryPolicy(max_deliveries=1)
        client, conn = self.connect(redelivery=once)
        poison = self.observe(client, "poison")
        subscription = self.subscribe(client, conn, fail_always, ack="auto")
        self.assertIs(subscription.redelivery, once)
        self.deliver(conn, 1)
        self.assertEqual(conn.sent(), [Frame("NACK", {"id": "a-1", "requeue": "false"})])
        self.assertEqual(len(poison), 1)
        self.assertRaises(BadArgument, client.subscribe, DESTINATION, redelivery="fast")
        self.assertRaises(BadArgument, StompClient, self.endpoint, reactor=self.clock, redelivery=3)
        self.flushLoggedErrors(Boom)

    def test_immediate_policy(self) -> None:
        """
        A policy without delay or limit NACKs at once, every time, as the
        client did before redelivery policies.
        """
        client, conn = self.connect(redelivery=RedeliveryPolicy(0, max_deliveries=None))
        self.subscribe(client, conn, fail_always, ack="auto")
        for n in range(1, 10):
            self.deliver(conn, n, redelivered=str(n > 1).lower())
            self.assertEqual(conn.sent(), [Frame("NACK", {"id": f"a-{n}"})])
        self.flushLoggedErrors(Boom)

    def test_success_after_failures_forgets(self) -> None:
        """
        A message that succeeds at last is acknowledged, and its count
        forgotten: the same content failing later starts again at 1.
        """
        client, conn = self.connect()
        outcomes = [Boom("once"), None]

        def flaky(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
            outcome = outcomes.pop(0) if outcomes else Boom("again")
            if outcome is not None:
                raise outcome

        self.subscribe(client, conn, flaky, ack="auto")
        self.deliver(conn, 1)
        self.clock.advance(0.25)
        self.assertEqual(conn.sent_one().command, "NACK")
        self.deliver(conn, 2, redelivered="true")
        self.assertEqual(conn.sent(), [Frame("ACK", {"id": "a-2"})])
        self.deliver(conn, 3)
        self.clock.advance(0.25)
        self.assertEqual(conn.sent_one().command, "NACK")
        self.flushLoggedErrors(Boom)

    def test_lost_connection_drops_the_wait(self) -> None:
        """
        A NACK still waiting when its connection is lost is dropped (the
        broker redelivers the message): no timer is left, and the message
        no longer counts as in flight.
        """
        client, conn = self.connect(max_in_flight=1)
        self.subscribe(client, conn, fail_always, ack="auto")
        self.deliver(conn, 1)
        # While it waits, the message is in flight: reading is paused.
        self.assertEqual(conn.transport.producerState, "paused")
        conn.lose()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(client.stats.in_flight, 0)
        self.assertEqual(conn.sent(), [])
        self.flushLoggedErrors(Boom)

    def test_in_flight_while_waiting(self) -> None:
        """
        During its delay the message counts against C{max_in_flight}:
        reading resumes once its NACK is written.
        """
        client, conn = self.connect(max_in_flight=1)
        self.subscribe(client, conn, fail_always, ack="auto")
        self.deliver(conn, 1)
        self.assertEqual(conn.transport.producerState, "paused")
        self.clock.advance(0.25)
        self.assertEqual(conn.sent_one().command, "NACK")
        self.assertEqual(conn.transport.producerState, "producing")
        self.flushLoggedErrors(Boom)

    def test_caller_settles_during_the_wait(self) -> None:
        """
        A message the caller acknowledges while its NACK waits is not
        refused afterwards.
        """
        client, conn = self.connect()
        self.subscribe(client, conn, fail_always, ack="auto")
        headers = self.deliver(conn, 1)
        client.ack(headers, receipt=False)
        self.assertEqual(conn.sent(), [Frame("ACK", {"id": "a-1"})])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(client.stats.in_flight, 0)
        self.flushLoggedErrors(Boom)

    def test_disconnect_does_not_wait(self) -> None:
        """
        L{StompClient.disconnect} sends DISCONNECT at once, without
        waiting for delayed NACKs, and the wait ends with the connection.
        """
        client, conn = self.connect()
        self.subscribe(client, conn, fail_always, ack="auto")
        self.deliver(conn, 1)
        closed = client.disconnect()
        self.assertEqual(conn.sent_one().command, "DISCONNECT")
        conn.lose()
        self.successResultOf(closed)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.flushLoggedErrors(Boom)

    def test_async_failure(self) -> None:
        """
        A callback whose Deferred fails counts as a failed delivery too.
        """
        client, conn = self.connect(redelivery=RedeliveryPolicy(max_deliveries=1))
        poison = self.observe(client, "poison")
        waiting: Deferred[None] = Deferred()
        self.subscribe(client, conn, lambda *args: waiting, ack="auto")
        self.deliver(conn, 1)
        self.assertEqual(conn.sent(), [])
        waiting.errback(Boom())
        self.assertEqual(conn.sent(), [Frame("NACK", {"id": "a-1", "requeue": "false"})])
        self.assertEqual(len(poison), 1)
        self.flushLoggedErrors(Boom)

    def test_activemq_redelivers_locally(self) -> None:
        """
        ActiveMQ moves a NACKed message to its dead-letter queue at once:
        there the client delivers the message again itself, marked
        C{redelivered:true}, after each delay, and NACKs it only once
        C{max_deliveries} is reached.
        """
        client, conn = self.connect(server="ActiveMQ/5.17.2")
        poison = self.observe(client, "poison")
        seen: list[dict[str, str]] = []

        def fail(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
            seen.append(headers)
            raise Boom()

        self.subscribe(client, conn, fail, ack="auto")
        self.deliver(conn, 1)
        self.clock.pump([0.25, 0.5, 1.0, 2.0])
        self.assertEqual(len(seen), 5)
        self.assertNotIn("redelivered", seen[0])
        self.assertEqual({h["redelivered"] for h in seen[1:]}, {"true"})
        self.assertEqual(conn.sent(), [Frame("NACK", {"id": "a-1", "requeue": "false"})])
        self.assertEqual(len(poison), 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.flushLoggedErrors(Boom)

    def test_stomp_10_limit(self) -> None:
        """
        STOMP 1.0 has no NACK: a failed message stays unacknowledged (the
        broker redelivers it on the next connection); at C{max_deliveries}
        it is acknowledged and reported.
        """
        client, conn = self.connect("1.0", redelivery=RedeliveryPolicy(max_deliveries=2))
        poison = self.observe(client, "poison")
        self.subscribe(client, conn, fail_always, ack="auto")
        self.deliver(conn, 1)
        self.clock.advance(60)
        self.assertEqual(conn.sent(), [])
        self.deliver(conn, 1)
        self.assertEqual(conn.sent(), [Frame("ACK", {"message-id": "m-1"})])
        self.assertEqual(len(poison), 1)
        self.assertIn("acknowledged", self.logged(LogLevel.warn)[-1])
        self.flushLoggedErrors(Boom)


class UnackedBoundTests(FakesTestCase):
    """
    C{max_unacked}: reading pauses while too many messages await their
    acknowledgement.
    """

    def test_default(self) -> None:
        """
        The documented default is 10,000; a bad bound is refused.
        """
        self.assertEqual(DEFAULT_MAX_UNACKED, 10_000)
        for bad in (0, -1, 1.5, "10", True):
            self.assertRaises(
                BadArgument, StompClient, self.endpoint, reactor=self.clock, max_unacked=bad
            )

    def test_pause_and_resume_at_half(self) -> None:
        """
        At C{max_unacked} unacknowledged messages reading pauses, with one
        warning; acknowledgements resume it once they bring the count down
        to half.
        """
        client, conn = self.connect(max_unacked=4)
        self.subscribe(client, conn, None, ack="manual")
        messages = [self.deliver(conn, n) for n in range(1, 4)]
        self.assertEqual(conn.transport.producerState, "producing")
        messages.append(self.deliver(conn, 4))
        self.assertEqual(conn.transport.producerState, "paused")
        client.ack(messages[0], receipt=False)
        self.assertEqual(conn.transport.producerState, "paused")
        client.nack(messages[1], receipt=False)
        self.assertEqual(conn.transport.producerState, "producing")
        pauses = [line for line in self.logged(LogLevel.warn) if "max_unacked" in line]
        self.assertEqual(len(pauses), 1)
        self.assertIn("4 messages await acknowledgement", pauses[0])

    def test_paused_read_holds_frames(self) -> None:
        """
        While paused, further MESSAGEs wait in the buffer, not in the
        client's memory of unacknowledged messages.
        """
        client, conn = self.connect(max_unacked=2)
        received: list[bytes] = []
        self.subscribe(client, conn, lambda c, body, h: received.append(body), ack="manual")
        for n in range(1, 6):
            self.deliver(conn, n, body=str(n).encode())
        # The fake delivers each frame in its own read; once paused, the
        # protocol leaves the rest undispatched.
        self.assertEqual(received, [b"1", b"2"])
        self.assertEqual(client.stats.unacknowledged, 2)
        self.assertEqual(conn.transport.producerState, "paused")
        client.ack(client.factory._core.session.unacked["a-1"].headers, receipt=False)
        # Down to half: reading resumes, and the buffered frames arrive
        # until the bound is reached again.
        self.assertEqual(received, [b"1", b"2", b"3"])

    def test_lost_connection_clears_the_hold(self) -> None:
        """
        After a lost connection, whose unacknowledged messages the broker
        takes back, the next connection reads freely.
        """
        client, conn = self.connect(max_unacked=2, reconnect=None)
        self.subscribe(client, conn, None, ack="manual")
        self.deliver(conn, 1)
        self.deliver(conn, 2)
        self.assertEqual(conn.transport.producerState, "paused")
        conn.lose()
        self.assertEqual(client.stats.unacknowledged, 0)


class AckIdTests(FakesTestCase):
    """
    A MESSAGE without a usable ack id is acknowledged where the version
    allows another id, and otherwise reported once per subscription,
    never skipped in silence.
    """

    def test_12_without_ack_header(self) -> None:
        """
        A STOMP 1.2 MESSAGE without C{ack} (as coilmq sends) is
        acknowledged by its C{message-id}, automatically or by the caller.
        """
        client, conn = self.connect("1.2")
        self.subscribe(client, conn, None, ack="auto")
        conn.receive("MESSAGE", {"destination": DESTINATION, "message-id": "m-1"}, b"x")
        self.assertEqual(conn.sent(), [Frame("ACK", {"id": "m-1", "message-id": "m-1"})])
        client2, conn2 = self.connect("1.2")
        received: list[dict[str, str]] = []
        self.subscribe(client2, conn2, lambda c, b, h: received.append(h), ack="manual")
        conn2.receive("MESSAGE", {"destination": DESTINATION, "message-id": "m-2"}, b"x")
        client2.ack(received[0], receipt=False)
        self.assertEqual(conn2.sent(), [Frame("ACK", {"id": "m-2", "message-id": "m-2"})])

    def assertReportedOnce(self, client: StompClient, io_errors: list[tuple[Any, ...]]) -> str:
        self.assertEqual(len(io_errors), 1)
        message = str(io_errors[0][1])
        self.assertIn("cannot be acknowledged", message)
        errors = [line for line in self.logged(LogLevel.error) if "cannot be acknowledged" in line]
        self.assertEqual(errors, [message])
        self.assertEqual(self.logged(LogLevel.critical), [])
        self.assertEqual(client.stats.unacknowledged, 0)
        return message

    def test_10_without_message_id(self) -> None:
        """
        A STOMP 1.0 MESSAGE without C{message-id} (stompserver's, unless
        the subscription asked for C{ack:client}) is delivered, not
        acknowledged, and reported once for the subscription (an
        C{io_error} event and one log line) with a hint to ask for
        C{ack:client}.
        """
        client, conn = self.connect("1.0")
        io_errors = self.observe(client, "io_error")
        received: list[bytes] = []
        self.subscribe(client, conn, lambda c, body, h: received.append(body), ack="auto")
        for body in (b"1", b"2"):
            conn.receive("MESSAGE", {"destination": DESTINATION}, body)
        self.assertEqual(received, [b"1", b"2"])
        self.assertEqual(conn.sent(), [])
        message = self.assertReportedOnce(client, io_errors)
        self.assertIn("subscription sub-1 to /queue/poison", message)
        self.assertIn("headers={'ack': 'client'}", message)

    def test_unwritable_ack_ids(self) -> None:
        """
        An ack id the version cannot write back (a NUL under 1.2, a CR
        under 1.1) is reported once, without a traceback, and the messages
        are still delivered.
        """
        cases = [
            ("1.2", b"MESSAGE\ndestination:/queue/poison\nmessage-id:m\nack:a\0b\n\nx\0"),
            (
                "1.1",
                b"MESSAGE\ndestination:/queue/poison\nmessage-id:m\rn\nsubscription:sub-1\n\nx\0",
            ),
        ]
        for version, wire in cases:
            self.events.clear()
            client, conn = self.connect(version)
            io_errors = self.observe(client, "io_error")
            received: list[bytes] = []
            self.subscribe(client, conn, self.recorder(received), ack="auto")
            conn.protocol.dataReceived(wire + wire)
            self.assertEqual(received, [b"x", b"x"], version)
            self.assertEqual(conn.sent(), [], version)
            message = self.assertReportedOnce(client, io_errors)
            self.assertIn(f"STOMP {version} cannot write back", message)

    def test_ack_client_header(self) -> None:
        """
        C{headers={"ack": "client"}} goes with C{ack="auto"} and
        C{"manual"} and is written as it is; an C{ack} header STOMP does
        not define, or one that contradicts C{ack}, is refused.
        """
        client, conn = self.connect("1.0")
        for ack in ("auto", "manual"):
            client.subscribe(DESTINATION, ack=ack, headers={"ack": "client"}, receipt=False)
            self.assertEqual(conn.sent_one().headers["ack"], "client")
        self.assertRaises(BadArgument, client.subscribe, DESTINATION, headers={"ack": "client"})
        self.assertRaises(
            BadArgument, client.subscribe, DESTINATION, ack="auto", headers={"ack": "clientt"}
        )
        self.assertRaises(
            BadArgument, client.subscribe, DESTINATION, ack="auto", headers={"ack": "auto"}
        )
