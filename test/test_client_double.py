"""
StompClient end to end against the in-memory broker of
L{stomp_twisted.testing}: tests of C{test_client}, C{test_reconnect} and
C{test_flow} that are simpler when a broker does the broker's half (the
handshake, deliveries, acknowledgement bookkeeping, redelivery) than when
each test writes the broker's frames by hand.  Each checks the outcome
where it matters, in the broker: what is still unacknowledged, what was
redelivered, what arrived.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase

from stomp_twisted.client import StompClient
from stomp_twisted.errors import AckError, ReceiptTimeout, TransactionAborted
from stomp_twisted.failover import ReconnectPolicy
from stomp_twisted.outbox import OutboxPolicy
from stomp_twisted.redelivery import DEFAULT_REDELIVERY
from stomp_twisted.testing import MemoryBroker, connect_client

QUEUE = "/queue/work"
FAST = ReconnectPolicy(initial_delay=1.0, jitter=0.0)

Headers = dict[str, str]


class Boom(Exception):
    """
    What the failing callbacks of these tests fail with.
    """


class Worker:
    """
    A subscription callback whose work for each message is a Deferred the
    test fires.
    """

    def __init__(self) -> None:
        self.jobs: list[tuple[bytes, Headers, Deferred[None]]] = []

    def __call__(self, client: StompClient, body: bytes, headers: Headers) -> Deferred[None]:
        done: Deferred[None] = Deferred()
        self.jobs.append((body, headers, done))
        return done

    @property
    def bodies(self) -> list[bytes]:
        return [body for body, _, _ in self.jobs]


class DoubleTestCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.broker = MemoryBroker()

    def client(self, **options: Any) -> StompClient:
        options.setdefault("reconnect", None)
        client = connect_client(self.broker, **options)
        self.assertTrue(client.is_connected)
        return client

    def unacked(self) -> list[bytes]:
        return [message.body for message in self.broker.unacknowledged(QUEUE)]


class AutoAckTests(DoubleTestCase):
    """
    C{ack="auto"}: the client acknowledges once the callbacks' Deferreds
    fire, and refuses the message if one fails.
    """

    def test_ack_waits_for_deferred(self) -> None:
        """
        The broker sees the ACK only once the callback's Deferred and a
        MESSAGE observer's have both fired.
        """
        client = self.client()
        worker = Worker()
        from_observer: Deferred[None] = Deferred()
        client.subscribe(QUEUE, worker, ack="auto")
        client.reg_cb("MESSAGE", lambda *args: from_observer)
        self.broker.publish(QUEUE, b"x")
        self.broker.flush()
        self.assertEqual(self.unacked(), [b"x"])
        worker.jobs[0][2].callback(None)
        self.broker.flush()
        self.assertEqual(self.unacked(), [b"x"])
        from_observer.callback(None)
        self.broker.flush()
        self.assertEqual(self.unacked(), [])

    def test_each_message_acked_on_its_own(self) -> None:
        """
        A later message whose work finishes first is acknowledged first
        (STOMP 1.1 and 1.2: C{ack:client-individual}).
        """
        for version in ("1.1", "1.2"):
            self.broker = MemoryBroker()
            client = self.client(versions=[version])
            worker = Worker()
            client.subscribe(QUEUE, worker, ack="auto")
            self.broker.publish(QUEUE, b"1")
            self.broker.publish(QUEUE, b"2")
            self.broker.flush()
            worker.jobs[1][2].callback(None)
            self.broker.flush()
            self.assertEqual(self.unacked(), [b"1"], version)
            worker.jobs[0][2].callback(None)
            self.broker.flush()
            self.assertEqual(self.unacked(), [], version)

    def test_10_out_of_order_work(self) -> None:
        """
        STOMP 1.0: a message whose work is still running stays
        unacknowledged at the broker while a later message's work
        finishes first (the client subscribes with client-individual under
        1.0 too, since 1.0's client mode is cumulative).
        """
        client = self.client(versions=["1.0"])
        worker = Worker()
        client.subscribe(QUEUE, worker, ack="auto")
        self.broker.publish(QUEUE, b"1")
        self.broker.publish(QUEUE, b"2")
        self.broker.flush()
        worker.jobs[1][2].callback(None)
        self.broker.flush()
        self.assertIn(b"1", self.unacked())
        worker.jobs[0][2].callback(None)
        self.broker.flush()
        self.assertEqual(self.unacked(), [])

    def test_failed_work_is_redelivered(self) -> None:
        """
        Work that fails makes the client NACK the message; a broker that
        requeues delivers it again, marked redelivered, and the second
        attempt's success settles it.
        """
        client = self.client()
        worker = Worker()
        client.subscribe(QUEUE, worker, ack="auto")
        self.broker.publish(QUEUE, b"x")
        self.broker.flush()
        worker.jobs[0][2].errback(Boom())
        self.broker.flush()
        self.assertEqual(worker.bodies, [b"x"])
        # The NACK waits for the redelivery policy's first delay.
        self.broker.advance(DEFAULT_REDELIVERY.initial_delay)
        self.assertEqual(worker.bodies, [b"x", b"x"])
        self.assertEqual(worker.jobs[1][1]["redelivered"], "true")
        worker.jobs[1][2].callback(None)
        self.broker.flush()
        self.assertEqual(self.unacked(), [])
        self.assertEqual(len(self.flushLoggedErrors(Boom)), 1)

    def test_10_failure_stays_unacknowledged(self) -> None:
        """
        STOMP 1.0 has no NACK: failed work leaves the message with the
        broker, which redelivers it on the next connection.
        """
        client = self.client(versions=["1.0"], reconnect=FAST)
        worker = Worker()
        client.subscribe(QUEUE, worker, ack="auto")
        self.broker.publish(QUEUE, b"x")
        self.broker.flush()
        worker.jobs[0][2].errback(Boom())
        self.broker.flush()
        self.assertEqual(self.unacked(), [b"x"])
        self.assertEqual([f.command for f in self.broker.frames_received][-1], "SUBSCRIBE")
        self.broker.drop_connections()
        self.broker.advance(1.0)
        self.assertEqual(worker.bodies, [b"x", b"x"])
        self.flushLoggedErrors(Boom)

    def test_disconnect_waits_for_running_work(self) -> None:
        """
        L{StompClient.disconnect} lets running work finish and its ACK go
        out before DISCONNECT, so the broker does not redeliver work
        already done.
        """
        client = self.client()
        worker = Worker()
        client.subscribe(QUEUE, worker, ack="auto")
        self.broker.publish(QUEUE, b"x")
        self.broker.flush()
        leaving = client.disconnect()
        self.broker.flush()
        self.assertNoResult(leaving)
        worker.jobs[0][2].callback(None)
        self.broker.flush()
        self.successResultOf(leaving)
        commands = [f.command for f in self.broker.frames_received]
        self.assertEqual(commands[-2:], ["ACK", "DISCONNECT"])
        self.assertEqual(self.broker.queue(QUEUE), [])


class ReconnectionTests(DoubleTestCase):
    """
    What a client carries over from a lost connection to the next, and
    what it does not.
    """

    def test_reconnects_resubscribes_and_gets_redeliveries(self) -> None:
        """
        After the broker drops the connection the client reconnects after
        its back-off, subscribes again with the same ids, and the broker
        redelivers what was unacknowledged.
        """
        client = self.client(reconnect=FAST)
        worker = Worker()
        client.subscribe(QUEUE, worker, ack="manual")
        client.subscribe("/topic/news", lambda *args: None)
        self.broker.publish(QUEUE, b"x")
        self.broker.flush()
        events: list[str] = []
        for event in ("io_error", "disconnect", "connect", "CONNECTED"):
            client.reg_cb(event, lambda *args, event=event: events.append(event))
        self.broker.drop_connections()
        self.assertFalse(client.is_connected)
        self.broker.advance(0.9)
        self.assertEqual(len(self.broker.connections), 1)
        self.broker.advance(0.1)
        self.assertTrue(client.is_connected)
        self.assertEqual(events, ["io_error", "disconnect", "connect", "CONNECTED"])
        renewed = self.broker.connections[1].subscriptions
        self.assertEqual(sorted(renewed), ["sub-1", "sub-2"])
        self.assertEqual(renewed["sub-1"].ack, "client-individual")
        self.assertEqual(worker.bodies, [b"x", b"x"])
        self.assertEqual(worker.jobs[1][1]["redelivered"], "true")

    def test_connection_state_is_not_carried_over(self) -> None:
        """
        A message of the lost connection cannot be acknowledged on the new
        one (L{AckError}); its redelivery can.
        """
        client = self.client(reconnect=FAST)
        worker = Worker()
        client.subscribe(QUEUE, worker, ack="manual")
        self.broker.publish(QUEUE, b"x")
        self.broker.flush()
        first = worker.jobs[0][1]
        self.broker.drop_connections()
        self.broker.advance(1.0)
        self.assertRaises(AckError, client.ack, first)
        client.ack(worker.jobs[1][1])
        self.broker.flush()
        self.assertEqual(self.unacked(), [])

    def test_stale_work_does_not_settle_the_redelivery(self) -> None:
        """
        Work that finishes after its connection was lost does not settle
        the redelivery on the next connection; that delivery's own work
        does.
        """
        client = self.client(reconnect=FAST)
        worker = Worker()
        client.subscribe(QUEUE, worker, ack="auto")
        self.broker.publish(QUEUE, b"x")
        self.broker.flush()
        self.broker.drop_connections()
        self.broker.advance(1.0)
        self.assertEqual(worker.bodies, [b"x", b"x"])
        worker.jobs[0][2].callback(None)
        self.broker.flush()
        self.assertEqual(self.unacked(), [b"x"])
        worker.jobs[1][2].callback(None)
        self.broker.flush()
        self.assertEqual(self.unacked(), [])

    def test_outbox_resends_after_reconnection(self) -> None:
        """
        With an outbox, a send whose receipt the lost connection never
        brought is sent again on the next one, and a send made while
        disconnected waits for it.
        """
        client = self.client(reconnect=FAST, outbox=OutboxPolicy())
        self.broker.delay_receipts()
        unconfirmed = client.send(b"first", QUEUE)
        self.broker.flush()
        self.broker.drop_connections()
        self.broker.release_receipts()
        queued = client.send(b"second", QUEUE)
        self.assertNoResult(queued)
        self.broker.advance(1.0)
        self.successResultOf(unconfirmed)
        self.successResultOf(queued)
        self.assertEqual([m.body for m in self.broker.sent(QUEUE)], [b"first", b"first", b"second"])


class ReceiptTests(DoubleTestCase):
    """
    Receipts the broker is slow to give.
    """

    def test_receipt_timeout(self) -> None:
        """
        With C{receipt_timeout}, a receipt that does not come in time
        fails the send with L{ReceiptTimeout}; the message was sent all the
        same.
        """
        client = self.client(receipt_timeout=5.0)
        self.broker.delay_receipts()
        sent = client.send(b"x", QUEUE)
        self.broker.advance(4.9)
        self.assertNoResult(sent)
        self.broker.advance(0.1)
        self.failureResultOf(sent, ReceiptTimeout)
        self.assertEqual([m.body for m in self.broker.sent()], [b"x"])

    def test_abort_ends_the_wait(self) -> None:
        """
        A broker that answers transactional sends only at COMMIT (as
        RabbitMQ does): abort() fails the waiting send with
        L{TransactionAborted}, and commit() lets it fire.
        """
        client = self.client()
        transaction = self.broker.run_until(client.begin())
        sent = client.send(b"x", QUEUE, transaction=transaction)
        self.broker.flush()
        self.assertNoResult(sent)
        self.broker.run_until(client.abort(transaction))
        self.failureResultOf(sent, TransactionAborted)
        self.assertEqual(self.broker.sent(), [])

        transaction = self.broker.run_until(client.begin())
        sent = client.send(b"y", QUEUE, transaction=transaction)
        self.broker.run_until(client.commit(transaction))
        self.assertEqual(self.successResultOf(sent).command, "RECEIPT")  # type: ignore[union-attr]
        self.assertEqual([m.body for m in self.broker.sent()], [b"y"])


class FlowControlTests(DoubleTestCase):
    """
    C{max_in_flight}: reading pauses while too many messages' work is
    running, and the broker's bytes wait.
    """

    def test_pauses_at_the_bound_and_resumes_at_half(self) -> None:
        """
        With 4 jobs running the client stops reading; once 2 are done it
        reads the rest.
        """
        client = self.client(max_in_flight=4)
        worker = Worker()
        client.subscribe(QUEUE, worker, ack="auto")
        for n in range(10):
            self.broker.publish(QUEUE, str(n))
        self.broker.flush()
        self.assertEqual(len(worker.jobs), 4)
        self.assertEqual(len(self.unacked()), 10)  # delivered, not yet read
        worker.jobs[0][2].callback(None)
        self.broker.flush()
        self.assertEqual(len(worker.jobs), 4)
        worker.jobs[1][2].callback(None)
        self.broker.flush()
        self.assertEqual(len(worker.jobs), 6)
