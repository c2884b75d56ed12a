"""
StompClient's promises against real brokers: the AnyEvent::STOMP
synopsis, the three acknowledgement policies, NACK, transactions,
receipts, several subscriptions, the ERROR path and a STOMP 1.0 session,
each on RabbitMQ and on ActiveMQ.

Absence is never proved by sleeping: a test that must show a message is
I{not} (re)delivered sends a sentinel behind it in the same queue and
waits, bounded, for the sentinel; whatever arrived before it is all that
the broker had queued ahead of it.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults, inlineCallbacks
from twisted.trial.unittest import TestCase

import stomp_twisted
from stomp_twisted import (
    AckError,
    BrokerError,
    ClientClosed,
    ConnectionLost,
    Frame,
    StompClient,
)
from stomp_twisted.errors import TransactionAborted
from stomp_twisted.redelivery import RedeliveryPolicy

from . import inbox as inboxes_module
from .brokers import ACTIVEMQ, RABBITMQ, Broker, require, unique_queue

#: The bound on every wait for something that should happen.
TIMEOUT = 10.0

Headers = dict[str, str]

if TYPE_CHECKING:
    _Base = TestCase
else:
    _Base = object


class Inbox(inboxes_module.Inbox):
    """
    An L{test.inbox.Inbox} whose waits are bounded by C{TIMEOUT}.
    """

    def _wait(self, test: Callable[[], object]) -> Deferred[Any]:
        return super()._wait(test).addTimeout(TIMEOUT, reactor)


def next_event(client: StompClient, event: str) -> Deferred[tuple[Any, ...]]:
    """
    The arguments of the next C{event} observed on C{client}, bounded.
    """
    return inboxes_module.next_event(client, event).addTimeout(TIMEOUT, reactor)


def sentinel() -> bytes:
    return f"sentinel-{uuid.uuid4().hex}".encode()


class ClientBrokerMixin(_Base):
    broker: Broker
    #: RabbitMQ requeues a NACKed message and redelivers it at once;
    #: ActiveMQ moves it to ActiveMQ.DLQ.
    nack_dead_letters: bool
    #: RabbitMQ checks login and passcode; ActiveMQ (as scripts/brokers
    #: configures it) checks nothing.
    checks_credentials: bool
    #: ActiveMQ's ERROR names the receipt of the frame that caused it;
    #: RabbitMQ's does not.
    error_names_receipt: bool

    def setUp(self) -> None:
        require(self.broker)

    def client(self, **kwargs: Any) -> StompClient:
        """
        A client of the broker, disconnected when the test ends.
        """
        headers = dict(self.broker.connect_headers())
        headers.update(kwargs.pop("connect_headers", {}))
        kwargs.setdefault("receipt_timeout", TIMEOUT)
        kwargs.setdefault("disconnect_timeout", 2.0)
        client = stomp_twisted.connect(
            self.broker.host,
            self.broker.port,
            connect_headers=headers,
            reactor=reactor,
            **kwargs,
        )
        self.addCleanup(client.disconnect)
        return client

    @inlineCallbacks
    def connected_client(self, **kwargs: Any) -> Any:
        client = self.client(**kwargs)
        yield client.when_connected().addTimeout(TIMEOUT, reactor)
        return client

    @inlineCallbacks
    def before_sentinel(self, client: StompClient, inbox: Inbox, queue: str, start: int = 0) -> Any:
        """
        Send a sentinel to C{queue}, wait for it in C{inbox}, and return
        the bodies that arrived before it (from C{inbox.messages[start]}).
        """
        marker = sentinel()
        yield client.send(marker, queue)
        yield inbox.wait_for(marker)
        return inbox.bodies[start : inbox.bodies.index(marker)]

    @inlineCallbacks
    def round_trip(self, client: StompClient) -> Any:
        """
        A receipt for a frame written after everything before it: brokers
        handle a connection's frames in order, so once it arrives they have
        also handled the receipt-less frames (automatic ACKs) written
        earlier.  BEGIN and ABORT leave no trace in any queue.
        """
        transaction = yield client.begin()
        yield client.abort(transaction)

    # --- 1 ----------------------------------------------------------------

    @inlineCallbacks
    def test_synopsis(self) -> Any:
        """
        AnyEvent::STOMP's synopsis, translated: connect() with a
        destination and ack="manual" subscribes by itself, a MESSAGE
        observer registered with reg_cb() acknowledges with the message's
        headers, and that ACK's Deferred fires with the broker's RECEIPT.
        """
        queue = unique_queue("synopsis")
        client = stomp_twisted.connect(
            self.broker.host,
            self.broker.port,
            destination=queue,
            ack="manual",
            connect_headers=self.broker.connect_headers(),
            reconnect=None,
            reactor=reactor,
        )
        self.addCleanup(client.disconnect)
        received: list[tuple[bytes, Headers]] = []
        acked: Deferred[Frame] = Deferred()

        def on_message(client: StompClient, body: bytes, headers: Headers) -> None:
            received.append((body, headers))
            client.ack(headers).chainDeferred(acked)

        client.reg_cb("MESSAGE", on_message)
        yield client.when_connected().addTimeout(TIMEOUT, reactor)
        self.assertEqual([s.destination for s in client.subscriptions], [queue])
        client.send("hello, synopsis", queue)
        receipt = yield acked.addTimeout(TIMEOUT, reactor)
        self.assertEqual(receipt.command, "RECEIPT")
        self.assertEqual([body for body, _ in received], [b"hello, synopsis"])
        self.assertEqual(received[0][1]["destination"], queue)
        # Acknowledged: a second ACK of it is refused locally.
        self.assertRaises(AckError, client.ack, received[0][1])

    @inlineCallbacks
    def test_synopsis_disconnect_before_connected(self) -> Any:
        """
        A client made by connect() with a destination and disconnected
        before CONNECTED fails when_connected() with ClientClosed, and the
        SUBSCRIBE that connect() queued leaves no unhandled error behind
        (trial would report it as this test's error).
        """
        client = stomp_twisted.connect(
            self.broker.host,
            self.broker.port,
            destination=unique_queue("never-subscribed"),
            ack="manual",
            connect_headers=self.broker.connect_headers(),
            reactor=reactor,
        )
        connected = client.when_connected()
        yield client.disconnect().addTimeout(TIMEOUT, reactor)
        yield self.assertFailure(connected, ClientClosed)
        self.assertEqual(client.subscriptions, [])
        gc.collect()

    # --- 2 ----------------------------------------------------------------

    @inlineCallbacks
    def test_no_ack(self) -> Any:
        """
        With ack=None messages arrive, the broker needs no ACK (a new
        client finds nothing left in the queue), and client.ack() or
        client.nack() of such a message raise AckError.
        """
        queue = unique_queue("no-ack")
        client = self.client(destination=queue, ack=None)
        inbox = Inbox()
        client.reg_cb("MESSAGE", inbox)
        yield client.when_connected().addTimeout(TIMEOUT, reactor)
        yield client.send("first", queue)
        yield client.send("second", queue)
        self.assertEqual((yield inbox.wait_count(2)), [b"first", b"second"])
        headers = inbox.messages[0][1]
        self.assertRaises(AckError, client.ack, headers)
        self.assertRaises(AckError, client.nack, headers)
        yield client.disconnect()

        successor = yield self.connected_client()
        fresh = Inbox()
        yield successor.subscribe(queue, fresh)
        self.assertEqual((yield self.before_sentinel(successor, fresh, queue)), [])

    # --- 3 ----------------------------------------------------------------

    @inlineCallbacks
    def test_auto_ack_waits_for_callback(self) -> Any:
        """
        With ack="auto" a message is acknowledged only once the Deferred
        its callback returned has fired: after an abrupt disconnection,
        the message whose callback never completed is redelivered to a new
        client, and the one whose callback completed later is not.
        """
        queue = unique_queue("auto-ack")
        first = yield self.connected_client(reconnect=None)
        completed: Deferred[None] = Deferred()
        never: Deferred[None] = Deferred()

        def reply(body: bytes, headers: Headers) -> Deferred[None]:
            if body != b"completes":
                return never
            later: Deferred[None] = Deferred()

            def complete() -> None:
                later.callback(None)  # the automatic ACK is written now
                completed.callback(None)

            call = reactor.callLater(0.2, complete)
            self.addCleanup(lambda: call.cancel() if call.active() else None)
            return later

        inbox = Inbox(reply)
        yield first.subscribe(queue, inbox, ack="auto")
        yield first.send("completes", queue)
        yield first.send("never completes", queue)
        yield inbox.wait_for(b"never completes")
        yield completed.addTimeout(TIMEOUT, reactor)
        yield self.round_trip(first)

        lost = next_event(first, "disconnect")
        session = first.factory._core.session
        assert session is not None and session.protocol.transport is not None
        session.protocol.transport.abortConnection()
        yield lost
        # Too late now: no ACK may be attempted on the lost connection.
        never.callback(None)
        self.assertFalse(first.is_connected)

        second = yield self.connected_client()
        again = Inbox()
        yield second.subscribe(queue, again, ack="auto")
        headers = yield again.wait_for(b"never completes")
        self.assertEqual(headers.get("redelivered"), "true")
        self.assertEqual((yield self.before_sentinel(second, again, queue)), [b"never completes"])

    # --- 4 ----------------------------------------------------------------

    @inlineCallbacks
    def test_manual_ack(self) -> Any:
        """
        With ack="manual" a message left unacknowledged is redelivered to
        the next client after a disconnection, and an acknowledged one is
        not.
        """
        queue = unique_queue("manual-ack")
        first = yield self.connected_client()
        inbox = Inbox()
        yield first.subscribe(queue, inbox, ack="manual")
        yield first.send("acknowledged", queue)
        yield first.send("left alone", queue)
        yield inbox.wait_count(2)
        receipt = yield first.ack(inbox.messages[0][1])
        self.assertEqual(receipt.command, "RECEIPT")
        self.assertRaises(AckError, first.ack, inbox.messages[0][1])
        yield first.disconnect()

        second = yield self.connected_client()
        again = Inbox()
        yield second.subscribe(queue, again, ack="manual")
        headers = yield again.wait_for(b"left alone")
        self.assertEqual(headers.get("redelivered"), "true")
        self.assertEqual((yield self.before_sentinel(second, again, queue)), [b"left alone"])
        yield second.ack(headers)

    # --- 5 ----------------------------------------------------------------

    @inlineCallbacks
    def test_nack(self) -> Any:
        """
        NACK (STOMP 1.2) where the brokers differ: RabbitMQ requeues the
        message and redelivers it at once (redelivered:true); ActiveMQ
        never redelivers it to the subscription but moves it, persistent,
        to ActiveMQ.DLQ.
        """
        queue = unique_queue("nack")
        tag = uuid.uuid4().hex
        client = yield self.connected_client()
        self.assertEqual(client.version, "1.2")
        inbox = Inbox()
        yield client.subscribe(queue, inbox, ack="manual")
        yield client.send("refused", queue, {"persistent": "true", "testid": tag})
        headers = yield inbox.wait_for(b"refused")
        self.assertEqual(headers["testid"], tag)
        receipt = yield client.nack(headers)
        self.assertEqual(receipt.command, "RECEIPT")
        self.assertRaises(AckError, client.nack, headers)
        if not self.nack_dead_letters:
            redelivered = yield inbox.wait_for(b"refused", occurrence=2)
            self.assertEqual(redelivered.get("redelivered"), "true")
            self.assertEqual(redelivered["testid"], tag)
            yield client.ack(redelivered)
            self.assertEqual((yield self.before_sentinel(client, inbox, queue)), [b"refused"] * 2)
            return
        self.assertEqual((yield self.before_sentinel(client, inbox, queue)), [b"refused"])
        dead = Inbox()
        yield client.subscribe(
            "/queue/ActiveMQ.DLQ", dead, ack="manual", headers={"selector": f"testid = '{tag}'"}
        )
        dead_headers = yield dead.wait_for(b"refused")
        self.assertEqual(dead_headers["testid"], tag)
        yield client.ack(dead_headers)

    # --- 6 ----------------------------------------------------------------

    @inlineCallbacks
    def test_transactions(self) -> Any:
        """
        Messages sent in a transaction wait for COMMIT (a sentinel sent
        outside it overtakes them) and are then all delivered; those of an
        aborted transaction never are.  The brokers differ on receipts:
        ActiveMQ answers a transactional SEND's receipt at once, RabbitMQ
        holds it until COMMIT and after ABORT never sends it, so abort()
        fails that still waiting send with TransactionAborted.
        """
        queue = unique_queue("transactions")
        client = yield self.connected_client()
        inbox = Inbox()
        yield client.subscribe(queue, inbox)
        committed = yield client.begin()
        sends = [client.send(body, queue, transaction=committed) for body in ("tx one", "tx two")]
        self.assertEqual((yield self.before_sentinel(client, inbox, queue)), [])
        self.assertEqual(
            [d.called for d in sends], [self.broker is ACTIVEMQ] * 2, "receipts before COMMIT"
        )
        receipt = yield client.commit(committed)
        self.assertEqual(receipt.command, "RECEIPT")
        self.assertEqual(committed.state, "committed")
        receipts = yield gatherResults(sends).addTimeout(TIMEOUT, reactor)
        self.assertEqual([r.command for r in receipts], ["RECEIPT"] * 2)
        yield inbox.wait_for(b"tx two")
        aborted = yield client.begin()
        rolled_back = client.send("tx three", queue, transaction=aborted)
        # The sentinel's receipt comes after the broker handled that SEND.
        self.assertEqual(
            (yield self.before_sentinel(client, inbox, queue, 1)), [b"tx one", b"tx two"]
        )
        self.assertEqual(rolled_back.called, self.broker is ACTIVEMQ)
        yield client.abort(aborted)
        self.assertEqual(aborted.state, "aborted")
        if self.broker is ACTIVEMQ:
            self.assertEqual((yield rolled_back).command, "RECEIPT")
        else:
            yield self.assertFailure(rolled_back, TransactionAborted)
        self.assertEqual((yield self.before_sentinel(client, inbox, queue, 4)), [])

    @inlineCallbacks
    def test_ack_in_aborted_transaction(self) -> Any:
        """
        An ACK inside a transaction that is then aborted leaves the
        message unacknowledged, on both brokers: a new client gets it
        redelivered, and the client that aborted may acknowledge it again
        (here outside a transaction), after which nobody gets it.
        """
        queue = unique_queue("tx-ack")
        first = yield self.connected_client()
        inbox = Inbox()
        yield first.subscribe(queue, inbox, ack="manual")
        yield first.send("work", queue)
        headers = yield inbox.wait_for(b"work")
        transaction = yield first.begin()
        yield first.ack(headers, transaction)
        yield first.abort(transaction)
        yield first.disconnect()

        second = yield self.connected_client()
        again = Inbox()
        yield second.subscribe(queue, again, ack="manual")
        redelivered = yield again.wait_for(b"work")
        self.assertEqual(redelivered.get("redelivered"), "true")
        self.assertEqual((yield self.before_sentinel(second, again, queue)), [b"work"])
        yield second.ack(again.messages[1][1])  # the sentinel
        transaction = yield second.begin()
        yield second.ack(redelivered, transaction)
        self.assertRaises(AckError, second.ack, redelivered)
        yield second.abort(transaction)
        receipt = yield second.ack(redelivered)
        self.assertEqual(receipt.command, "RECEIPT")
        yield second.disconnect()

        third = yield self.connected_client()
        last = Inbox()
        yield third.subscribe(queue, last, ack="manual")
        self.assertEqual((yield self.before_sentinel(third, last, queue)), [])

    # --- 7 ----------------------------------------------------------------

    @inlineCallbacks
    def test_receipts(self) -> Any:
        """
        A send's Deferred fires with the broker's RECEIPT; 200 sends
        pipelined at once all get theirs (each a distinct receipt-id), and
        then all 200 messages arrive, in order.
        """
        queue = unique_queue("receipts")
        client = yield self.connected_client()
        inbox = Inbox()
        yield client.subscribe(queue, inbox)
        receipt = yield client.send("single", queue)
        self.assertEqual(receipt.command, "RECEIPT")
        self.assertTrue(receipt.headers["receipt-id"])
        bodies = [f"pipelined {i}".encode() for i in range(200)]
        pending = [client.send(body, queue) for body in bodies]
        self.assertFalse(any(d.called for d in pending))
        receipts = yield gatherResults(pending).addTimeout(TIMEOUT, reactor)
        self.assertEqual({r.command for r in receipts}, {"RECEIPT"})
        self.assertEqual(len({r.headers["receipt-id"] for r in receipts}), 200)
        self.assertEqual((yield inbox.wait_count(201)), [b"single", *bodies])

    # --- 8 ----------------------------------------------------------------

    @inlineCallbacks
    def test_several_subscriptions(self) -> Any:
        """
        Several subscriptions of one client each get only their own
        messages through their own callback; after UNSUBSCRIBE one gets
        nothing more, and the message it would have got is still in its
        queue for the next subscriber.
        """
        queues = [unique_queue(f"multi-{n}") for n in "abc"]
        client = yield self.connected_client()
        inboxes = [Inbox() for _ in queues]
        subscriptions = []
        for queue, inbox in zip(queues, inboxes, strict=True):
            subscriptions.append((yield client.subscribe(queue, inbox)))
        everything = Inbox()
        client.reg_cb("MESSAGE", everything)
        for round in (1, 2):
            for n, queue in enumerate(queues):
                yield client.send(f"{n}/{round}", queue)
        for n, (queue, inbox, subscription) in enumerate(
            zip(queues, inboxes, subscriptions, strict=True)
        ):
            self.assertEqual((yield inbox.wait_count(2)), [f"{n}/1".encode(), f"{n}/2".encode()])
            for _, headers in inbox.messages:
                self.assertEqual(headers["destination"], queue)
                self.assertEqual(headers["subscription"], subscription.id)

        yield client.unsubscribe(subscriptions[0])
        self.assertNotIn(subscriptions[0], client.subscriptions)
        yield client.send("after unsubscribe", queues[0])
        self.assertEqual((yield self.before_sentinel(client, inboxes[1], queues[1], 2)), [])
        self.assertEqual(inboxes[0].bodies, [b"0/1", b"0/2"])
        late = [h for _, h in everything.messages if h["destination"] == queues[0]]
        self.assertEqual(len(late), 2)
        # It was not delivered to the old subscription: it is still queued.
        resubscribed = Inbox()
        yield client.subscribe(queues[0], resubscribed)
        self.assertEqual(
            (yield self.before_sentinel(client, resubscribed, queues[0])), [b"after unsubscribe"]
        )

    # --- 9 ----------------------------------------------------------------

    @inlineCallbacks
    def test_bad_credentials(self) -> Any:
        """
        RabbitMQ refuses a wrong passcode with ERROR and then keeps the
        socket open for about 10 s; the client closes it itself, so that
        when_connected() fails with the BrokerError at once, well
        before that, and the ERROR observer sees the broker's message
        header.  ActiveMQ checks no credentials and simply connects.
        """
        client = stomp_twisted.connect(
            self.broker.host,
            self.broker.port,
            connect_headers={"login": "guest", "passcode": "wrong"},
            reconnect=None,
            reactor=reactor,
        )
        self.addCleanup(client.disconnect)
        errors = Inbox()
        client.reg_cb("ERROR", errors)
        failed_attempts: list[str] = []
        attempt_failed: Deferred[None] = Deferred()

        def connect_error(client: StompClient, message: str) -> None:
            failed_attempts.append(message)
            if not attempt_failed.called:
                attempt_failed.callback(None)

        client.reg_cb("connect_error", connect_error)
        started = reactor.seconds()
        connected = client.when_connected().addTimeout(TIMEOUT, reactor)
        if not self.checks_credentials:
            yield connected
            self.assertEqual(errors.messages, [])
            return
        failure = yield self.assertFailure(connected, BrokerError)
        self.assertLess(reactor.seconds() - started, 5.0)
        self.assertEqual(len(errors.messages), 1)
        message = errors.messages[0][1]["message"]
        self.assertTrue(message)
        self.assertIn(message, str(failure))
        # The body's first line ("Access refused for user 'guest'") too.
        detail = errors.messages[0][0].decode("utf-8").strip().splitlines()[0]
        self.assertIn(detail, str(failure))
        # The client closes the connection itself, and that attempt is over.
        yield attempt_failed.addTimeout(TIMEOUT, reactor)
        self.assertEqual(len(failed_attempts), 1)
        self.assertFalse(client.is_connected)

    @inlineCallbacks
    def test_error_after_connecting(self) -> Any:
        """
        An ERROR on an established session (a SEND without a destination):
        the ERROR observer sees it with its message header, the SEND's
        pending receipt fails, the client closes the connection and the
        disconnect event fires once, quoting the broker.  The brokers
        differ: ActiveMQ's ERROR names the receipt, which then fails with
        BrokerError carrying the message; RabbitMQ's does not, so the
        receipt fails with ConnectionLost quoting the ERROR.
        """
        client = yield self.connected_client(reconnect=None)
        errors = Inbox()
        client.reg_cb("ERROR", errors)
        disconnects: list[str] = []
        client.reg_cb("disconnect", lambda client, reason: disconnects.append(reason))
        lost = next_event(client, "disconnect")
        sent = client.send_frame("SEND", b"x", {})
        failure = yield self.assertFailure(
            sent.addTimeout(TIMEOUT, reactor), BrokerError, ConnectionLost
        )
        yield lost
        self.assertEqual(len(errors.messages), 1)
        error_headers = errors.messages[0][1]
        message = error_headers["message"]
        self.assertTrue(message)
        if self.error_names_receipt:
            self.assertIn("receipt-id", error_headers)
            self.assertIsInstance(failure, BrokerError)
            self.assertEqual(failure.message, message)
            self.assertEqual(failure.frame.headers, error_headers)
        else:
            self.assertNotIn("receipt-id", error_headers)
            self.assertIsInstance(failure, ConnectionLost)
            self.assertIn(message, str(failure))
        self.assertEqual(len(disconnects), 1)
        self.assertIn(message, disconnects[0])
        self.assertFalse(client.is_connected)
        self.assertRaises(AckError, client.ack, "no-such-message")

    # --- 10 ---------------------------------------------------------------

    @inlineCallbacks
    def test_stomp_1_0_session(self) -> Any:
        """
        A STOMP 1.0-only session subscribes, sends and acknowledges
        (ack:client): the acknowledged message is gone for the next 1.0
        client, the other is redelivered; 1.0 has no NACK.
        """
        queue = unique_queue("stomp-1-0")
        first = yield self.connected_client(versions=["1.0"])
        self.assertEqual(first.version, "1.0")
        inbox = Inbox()
        yield first.subscribe(queue, inbox, ack="manual")
        yield first.send("acknowledged", queue)
        yield first.send("left alone", queue)
        yield inbox.wait_count(2)
        self.assertRaises(AckError, first.nack, inbox.messages[0][1])
        receipt = yield first.ack(inbox.messages[0][1])
        self.assertEqual(receipt.command, "RECEIPT")
        yield first.disconnect()

        second = yield self.connected_client(versions=["1.0"])
        again = Inbox()
        yield second.subscribe(queue, again, ack="manual")
        headers = yield again.wait_for(b"left alone")
        self.assertEqual((yield self.before_sentinel(second, again, queue)), [b"left alone"])
        yield second.ack(headers)

    @inlineCallbacks
    def test_stats(self) -> Any:
        """
        C{client.stats} counts what happened with a real broker: sends and
        their receipts, messages received and acknowledged automatically,
        one refused (NACK, or left unacknowledged for redelivery) and
        bytes both ways.
        """
        queue = unique_queue("stats")
        client = yield self.connected_client(
            redelivery=RedeliveryPolicy(initial_delay=0.05, max_deliveries=2)
        )
        inbox = Inbox()

        def work(client: StompClient, body: bytes, headers: Headers) -> object:
            inbox(client, body, headers)
            if body == b"bad":
                raise ValueError("refused on purpose")
            return None

        self.flushLoggedErrors(ValueError)
        yield client.subscribe(queue, work, ack="auto")
        for body in (b"one", b"two", b"bad"):
            yield client.send(body, queue, {"persistent": "true"})
        yield inbox.wait_for(b"bad", occurrence=2)
        yield self.round_trip(client)
        stats = client.stats
        self.flushLoggedErrors(ValueError)
        self.assertEqual(stats.sent, 3)
        self.assertGreaterEqual(stats.receipts, 3 + 1)  # the sends, SUBSCRIBE, BEGIN...
        self.assertEqual(stats.receipts_pending, 0)
        self.assertEqual(stats.messages_received, 4)
        self.assertGreaterEqual(stats.acknowledged, 2)
        self.assertEqual(stats.connections, 1)
        self.assertEqual(stats.reconnects, 0)
        self.assertTrue(stats.connected)
        self.assertGreater(stats.bytes_in, 0)
        self.assertGreater(stats.bytes_out, 0)
        if not self.nack_dead_letters:
            # RabbitMQ marks the second delivery of the refused message.
            self.assertEqual(stats.redelivered, 1)
            self.assertGreaterEqual(stats.nacked, 1)


class RabbitMQClientTests(ClientBrokerMixin, TestCase):
    broker = RABBITMQ
    nack_dead_letters = False
    checks_credentials = True
    error_names_receipt = False


class ActiveMQClientTests(ClientBrokerMixin, TestCase):
    broker = ACTIVEMQ
    nack_dead_letters = True
    checks_credentials = False
    error_names_receipt = True
