"""
The contract of a STOMP broker, as this client relies on it: one set of
behaviour tests (delivery, acknowledgement modes, NACK, transactions,
receipts, errors, reconnection and redelivery), written once and run
against the in-memory double of L{stomp_twisted.testing} and against
RabbitMQ and ActiveMQ.

Each run goes through a L{Harness}: the double's runs every wait on
simulated time (L{MemoryBroker.run_until}), the real brokers' on the
reactor, bounded by L{TIMEOUT}.  Where the real brokers legitimately
differ, a test does not skip: it reads the difference from the harness's
L{BrokerBehaviour} and checks that broker's side of it.  The double runs
twice, once with each preset (L{LIKE_RABBITMQ}, L{LIKE_ACTIVEMQ}), so a
preset that drifts from the broker it is named after fails here.

Absence is never proved by sleeping: to show that a message is I{not}
(re)delivered, a test sends a sentinel behind it and waits for that.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, TypeVar

from twisted.internet import reactor
from twisted.internet.defer import Deferred, fail, gatherResults, inlineCallbacks, succeed
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.interfaces import (
    IProtocol,
    IProtocolFactory,
    IReactorTime,
    IStreamClientEndpoint,
)
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from stomp_twisted import BrokerError, ConnectionLost, StompClient
from stomp_twisted.errors import TransactionAborted
from stomp_twisted.failover import ReconnectPolicy
from stomp_twisted.protocol import StompProtocol
from stomp_twisted.testing import LIKE_ACTIVEMQ, LIKE_RABBITMQ, BrokerBehaviour, MemoryBroker

from .brokers import ACTIVEMQ, RABBITMQ, Broker, require, unique_queue
from .inbox import Inbox, next_event

#: The bound on every wait, in real or simulated seconds.
TIMEOUT = 10.0
#: Reconnection without jitter, quick enough for tests.
FAST = ReconnectPolicy(initial_delay=0.1, max_delay=1.0, jitter=0.0)

Headers = dict[str, str]
_T = TypeVar("_T")

if TYPE_CHECKING:
    _Base = TestCase
else:
    _Base = object


def unique_topic(stem: str) -> str:
    return f"/topic/stomp-twisted-test.{stem}.{uuid.uuid4().hex[:12]}"


def sentinel() -> bytes:
    return f"sentinel-{uuid.uuid4().hex}".encode()


# --- harnesses ----------------------------------------------------------------


class Harness:
    """
    A broker to run the contract against.

    @ivar name: for messages.
    @ivar behaviour: how the broker goes where brokers differ.
    @ivar checks_credentials: whether it refuses a wrong passcode.
    @ivar clock: the clients' reactor.
    """

    name: str
    behaviour: BrokerBehaviour
    checks_credentials: bool
    clock: IReactorTime
    credentials: Headers = {"login": "guest", "passcode": "guest"}

    def __init__(self, test: TestCase) -> None:
        self.test = test

    def endpoint(self) -> IStreamClientEndpoint:
        raise NotImplementedError

    def wait(self, deferred: Deferred[_T]) -> Deferred[_T]:
        """
        C{deferred}, bounded by L{TIMEOUT}.
        """
        raise NotImplementedError

    def drop(self, client: StompClient) -> None:
        """
        Break C{client}'s connection, as a network failure would.
        """
        raise NotImplementedError

    def client(self, **options: Any) -> StompClient:
        """
        A started client, disconnected when the test ends.
        """
        headers = dict(self.credentials)
        headers.update(options.pop("connect_headers", {}))
        options.setdefault("reconnect", None)
        options.setdefault("receipt_timeout", TIMEOUT)
        options.setdefault("disconnect_timeout", 2.0)
        client = StompClient(
            self.endpoint(), reactor=self.clock, connect_headers=headers, **options
        )
        client.start()
        self.test.addCleanup(lambda: self.wait(client.disconnect()))
        return client

    @inlineCallbacks
    def connected(self, **options: Any) -> Any:
        client = self.client(**options)
        yield self.wait(client.when_connected())
        return client


class MemoryHarness(Harness):
    """
    The in-memory double, following C{behaviour}; with RabbitMQ's
    behaviour it checks credentials, as RabbitMQ does.
    """

    def __init__(self, test: TestCase, behaviour: BrokerBehaviour) -> None:
        super().__init__(test)
        self.behaviour = behaviour
        self.checks_credentials = behaviour is LIKE_RABBITMQ
        self.name = f"MemoryBroker({behaviour.name})"
        credentials = {"guest": "guest"} if self.checks_credentials else None
        self.broker = MemoryBroker(behaviour=behaviour, credentials=credentials)
        self.clock = self.broker.clock

    def endpoint(self) -> IStreamClientEndpoint:
        return self.broker.endpoint()

    def wait(self, deferred: Deferred[_T]) -> Deferred[_T]:
        try:
            return succeed(self.broker.run_until(deferred, TIMEOUT))
        except BaseException:
            return fail()

    def drop(self, client: StompClient) -> None:
        self.broker.connection_of(client).drop()


@implementer(IStreamClientEndpoint)
class _RecordingEndpoint:
    # Remembers the protocols it connects, so that a test can break the
    # latest connection from underneath the client.
    def __init__(self, endpoint: IStreamClientEndpoint) -> None:
        self._endpoint = endpoint
        self.protocols: list[StompProtocol] = []

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        def record(protocol: Any) -> Any:
            self.protocols.append(protocol)
            return protocol

        return self._endpoint.connect(protocolFactory).addCallback(record)


class RealHarness(Harness):
    """
    A real broker on 127.0.0.1, over the real reactor.
    """

    def __init__(
        self, test: TestCase, broker: Broker, behaviour: BrokerBehaviour, checks_credentials: bool
    ) -> None:
        super().__init__(test)
        require(broker)
        self.broker = broker
        self.name = broker.name
        self.behaviour = behaviour
        self.checks_credentials = checks_credentials
        self.credentials = broker.connect_headers()
        self.clock = reactor
        self._endpoints: dict[StompClient, _RecordingEndpoint] = {}
        self._last: _RecordingEndpoint | None = None

    def endpoint(self) -> IStreamClientEndpoint:
        self._last = _RecordingEndpoint(
            TCP4ClientEndpoint(reactor, self.broker.host, self.broker.port)
        )
        return self._last

    def client(self, **options: Any) -> StompClient:
        client = super().client(**options)
        assert self._last is not None
        self._endpoints[client] = self._last
        return client

    def wait(self, deferred: Deferred[_T]) -> Deferred[_T]:
        return deferred.addTimeout(TIMEOUT, reactor)

    def drop(self, client: StompClient) -> None:
        transport = self._endpoints[client].protocols[-1].transport
        assert transport is not None
        transport.abortConnection()  # type: ignore[attr-defined]


# --- recording what arrives ---------------------------------------------------


# --- the contract ---------------------------------------------------------------


class ContractMixin(_Base):
    """
    The behaviour tests; subclasses say which broker, in L{make_harness}.
    """

    h: Harness

    def make_harness(self) -> Harness:
        raise NotImplementedError

    def setUp(self) -> None:
        self.h = self.make_harness()

    @inlineCallbacks
    def before_sentinel(self, client: StompClient, inbox: Inbox, queue: str, start: int = 0) -> Any:
        """
        Send a sentinel to C{queue}, wait for it in C{inbox}, and return
        the bodies that arrived before it (from C{inbox.messages[start]}).
        """
        marker = sentinel()
        yield self.h.wait(client.send(marker, queue))
        yield self.h.wait(inbox.wait_for(marker))
        return inbox.bodies[start : inbox.bodies.index(marker)]

    @inlineCallbacks
    def raw_subscribe(self, client: StompClient, destination: str, ack: str) -> Any:
        """
        Subscribe with a STOMP C{ack} mode the client's C{subscribe} does
        not write (C{client}), recording the messages in an L{Inbox};
        acknowledge them with L{raw_settle}.
        """
        sub_id = f"raw-{uuid.uuid4().hex[:8]}"
        inbox = Inbox(subscription=sub_id)
        client.reg_cb("MESSAGE", inbox)
        headers = {"destination": destination, "id": sub_id, "ack": ack}
        yield self.h.wait(client.send_frame("SUBSCRIBE", b"", headers))
        return inbox

    def raw_settle(self, client: StompClient, command: str, headers: Headers) -> Deferred[Any]:
        return self.h.wait(client.send_frame(command, b"", {"id": headers["ack"]}))

    # --- delivery ---------------------------------------------------------

    @inlineCallbacks
    def test_queue_round_robin(self) -> Any:
        """
        A queue gives each message to one subscriber, taking turns between
        two clients' subscriptions, and between two subscriptions of one
        client.
        """
        queue = unique_queue("round-robin")
        first = yield self.h.connected()
        second = yield self.h.connected()
        inboxes = [Inbox(), Inbox()]
        yield self.h.wait(first.subscribe(queue, inboxes[0]))
        yield self.h.wait(second.subscribe(queue, inboxes[1]))
        producer = yield self.h.connected()
        bodies = [f"m{i}".encode() for i in range(6)]
        yield self.h.wait(gatherResults([producer.send(body, queue) for body in bodies]))
        yield self.h.wait(inboxes[0].wait_count(3))
        yield self.h.wait(inboxes[1].wait_count(3))
        self.assertEqual(inboxes[0].bodies, bodies[0::2])
        self.assertEqual(inboxes[1].bodies, bodies[1::2])

        queue = unique_queue("round-robin-one-client")
        both = Inbox()
        subscriptions = []
        for _ in range(2):
            subscriptions.append((yield self.h.wait(producer.subscribe(queue, both))))
        yield self.h.wait(gatherResults([producer.send(body, queue) for body in bodies[:4]]))
        yield self.h.wait(both.wait_count(4))
        self.assertEqual(
            [(headers["subscription"], body) for body, headers in both.messages],
            [(subscriptions[i % 2].id, body) for i, body in enumerate(bodies[:4])],
        )

    @inlineCallbacks
    def test_topic_every_subscriber(self) -> Any:
        """
        A topic gives each message to every current subscriber; one who
        subscribes later gets only later messages.
        """
        topic = unique_topic("every")
        first = yield self.h.connected()
        second = yield self.h.connected()
        inboxes = [Inbox(), Inbox()]
        yield self.h.wait(first.subscribe(topic, inboxes[0]))
        yield self.h.wait(second.subscribe(topic, inboxes[1]))
        bodies = [b"t0", b"t1", b"t2"]
        for body in bodies:
            yield self.h.wait(first.send(body, topic))
        for inbox in inboxes:
            self.assertEqual((yield self.h.wait(inbox.wait_count(3))), bodies)
        late = Inbox()
        yield self.h.wait(second.subscribe(topic, late))
        self.assertEqual((yield self.before_sentinel(first, late, topic)), [])

    # --- acknowledgement modes --------------------------------------------

    @inlineCallbacks
    def test_ack_auto(self) -> Any:
        """
        ack:auto (the client's ack=None): a delivered message is
        consumed; the next subscriber finds nothing.  The brokers differ
        on the first delivery's C{redelivered} header (see
        L{BrokerBehaviour.marks_first_delivery}).
        """
        queue = unique_queue("ack-auto")
        client = yield self.h.connected()
        inbox = Inbox()
        yield self.h.wait(client.subscribe(queue, inbox, ack=None))
        yield self.h.wait(client.send("first", queue))
        yield self.h.wait(client.send("second", queue))
        self.assertEqual((yield self.h.wait(inbox.wait_count(2))), [b"first", b"second"])
        expected = "false" if self.h.behaviour.marks_first_delivery else None
        self.assertEqual(inbox.messages[0][1].get("redelivered"), expected)
        yield self.h.wait(client.disconnect())

        successor = yield self.h.connected()
        fresh = Inbox()
        yield self.h.wait(successor.subscribe(queue, fresh, ack="manual"))
        self.assertEqual((yield self.before_sentinel(successor, fresh, queue)), [])

    @inlineCallbacks
    def test_ack_client_individual(self) -> Any:
        """
        ack:client-individual (the client's ack="manual"): an ACK settles
        that message only; the unacknowledged ones on either side of it
        are redelivered to the next subscriber, marked redelivered.
        """
        queue = unique_queue("ack-individual")
        client = yield self.h.connected()
        inbox = Inbox()
        yield self.h.wait(client.subscribe(queue, inbox, ack="manual"))
        for body in (b"1", b"2", b"3"):
            yield self.h.wait(client.send(body, queue))
        yield self.h.wait(inbox.wait_count(3))
        yield self.h.wait(client.ack(inbox.messages[1][1]))
        yield self.h.wait(client.disconnect())

        successor = yield self.h.connected()
        again = Inbox()
        yield self.h.wait(successor.subscribe(queue, again, ack="manual"))
        self.assertEqual((yield self.before_sentinel(successor, again, queue)), [b"1", b"3"])
        self.assertEqual([h.get("redelivered") for _, h in again.messages[:2]], ["true"] * 2)

    @inlineCallbacks
    def test_ack_client_cumulative(self) -> Any:
        """
        ack:client: an ACK settles the message and every earlier one of
        its subscription (on both real brokers); only the later one is
        redelivered.
        """
        queue = unique_queue("ack-client")
        client = yield self.h.connected()
        inbox = yield self.raw_subscribe(client, queue, "client")
        for body in (b"1", b"2", b"3"):
            yield self.h.wait(client.send(body, queue))
        yield self.h.wait(inbox.wait_count(3))
        receipt = yield self.raw_settle(client, "ACK", inbox.messages[1][1])
        self.assertEqual(receipt.command, "RECEIPT")
        yield self.h.wait(client.disconnect())

        successor = yield self.h.connected()
        again = Inbox()
        yield self.h.wait(successor.subscribe(queue, again, ack="manual"))
        self.assertEqual((yield self.before_sentinel(successor, again, queue)), [b"3"])
        self.assertEqual(again.messages[0][1].get("redelivered"), "true")

    @inlineCallbacks
    def test_prefetch(self) -> Any:
        """
        A subscription with a prefetch of 1 (C{prefetch-count} for
        RabbitMQ, C{activemq.prefetchSize} for ActiveMQ) holds one
        unacknowledged message; the others wait in the queue for another
        subscriber.
        """
        queue = unique_queue("prefetch")
        client = yield self.h.connected()
        held = Inbox()
        limit = {"prefetch-count": "1", "activemq.prefetchSize": "1"}
        yield self.h.wait(client.subscribe(queue, held, ack="manual", headers=limit))
        bodies = [b"p0", b"p1", b"p2"]
        yield self.h.wait(gatherResults([client.send(body, queue) for body in bodies]))
        yield self.h.wait(held.wait_for(b"p0"))
        other = yield self.h.connected()
        rest = Inbox()
        yield self.h.wait(other.subscribe(queue, rest))
        self.assertEqual((yield self.h.wait(rest.wait_count(2))), bodies[1:])
        self.assertEqual(held.bodies, [b"p0"])

    # --- NACK -------------------------------------------------------------

    @inlineCallbacks
    def test_nack(self) -> Any:
        """
        NACK under ack:client-individual, where the brokers differ (see
        L{BrokerBehaviour.nack}): RabbitMQ requeues the message and
        redelivers it at once, marked redelivered; ActiveMQ never
        redelivers it but moves it, persistent, to its dead-letter queue,
        with an C{original-destination} header.
        """
        queue = unique_queue("nack")
        tag = uuid.uuid4().hex
        client = yield self.h.connected()
        inbox = Inbox()
        yield self.h.wait(client.subscribe(queue, inbox, ack="manual"))
        yield self.h.wait(client.send("refused", queue, {"persistent": "true", "testid": tag}))
        headers = yield self.h.wait(inbox.wait_for(b"refused"))
        receipt = yield self.h.wait(client.nack(headers))
        self.assertEqual(receipt.command, "RECEIPT")
        if self.h.behaviour.nack == "requeue":
            redelivered = yield self.h.wait(inbox.wait_for(b"refused", occurrence=2))
            self.assertEqual(redelivered.get("redelivered"), "true")
            self.assertEqual(redelivered["testid"], tag)
            yield self.h.wait(client.ack(redelivered))
            return
        self.assertEqual((yield self.before_sentinel(client, inbox, queue)), [b"refused"])
        dead = Inbox()
        selector = {"selector": f"testid = '{tag}'"}
        dlq = self.h.behaviour.dead_letter_queue
        yield self.h.wait(client.subscribe(dlq, dead, ack="manual", headers=selector))
        dead_headers = yield self.h.wait(dead.wait_for(b"refused"))
        self.assertEqual(dead_headers["testid"], tag)
        self.assertEqual(dead_headers["original-destination"], queue)
        yield self.h.wait(client.ack(dead_headers))

    @inlineCallbacks
    def test_nack_client_mode(self) -> Any:
        """
        NACK under ack:client, where the brokers differ twice: RabbitMQ
        refuses the message and every earlier one (cumulative, as ACK is)
        and requeues them at once; ActiveMQ refuses that message only
        (L{BrokerBehaviour.client_nack_cumulative}) and dead-letters it.
        Whatever was not refused is redelivered, in order, after the
        connection closes.
        """
        behaviour = self.h.behaviour
        queue = unique_queue("nack-client")
        client = yield self.h.connected()
        inbox = yield self.raw_subscribe(client, queue, "client")
        for body in (b"1", b"2", b"3"):
            yield self.h.wait(client.send(body, queue, {"persistent": "true"}))
        yield self.h.wait(inbox.wait_count(3))
        yield self.raw_settle(client, "NACK", inbox.messages[1][1])
        refused = [b"1", b"2"] if behaviour.client_nack_cumulative else [b"2"]
        requeued = behaviour.nack == "requeue"
        now = yield self.before_sentinel(client, inbox, queue, start=3)
        self.assertEqual(now, refused if requeued else [])
        marker = inbox.bodies[-1]
        yield self.h.wait(client.disconnect())

        successor = yield self.h.connected()
        rest = Inbox()
        yield self.h.wait(successor.subscribe(queue, rest))
        kept = (
            [b"1", b"2", b"3"] if requeued else [b for b in (b"1", b"2", b"3") if b not in refused]
        )
        self.assertEqual((yield self.before_sentinel(successor, rest, queue)), [*kept, marker])

    # --- transactions -----------------------------------------------------

    @inlineCallbacks
    def test_transaction_commit(self) -> Any:
        """
        Messages sent in a transaction wait for COMMIT (a sentinel sent
        outside it overtakes them), then all arrive.  The brokers differ
        on the SENDs' receipts (L{BrokerBehaviour.transactional_send_receipts}):
        ActiveMQ answers at once, RabbitMQ only at COMMIT.
        """
        queue = unique_queue("tx-commit")
        client = yield self.h.connected()
        inbox = Inbox()
        yield self.h.wait(client.subscribe(queue, inbox))
        transaction = yield self.h.wait(client.begin())
        sends = [client.send(body, queue, transaction=transaction) for body in ("one", "two")]
        self.assertEqual((yield self.before_sentinel(client, inbox, queue)), [])
        at_once = self.h.behaviour.transactional_send_receipts == "at-once"
        self.assertEqual([d.called for d in sends], [at_once] * 2)
        receipt = yield self.h.wait(client.commit(transaction))
        self.assertEqual(receipt.command, "RECEIPT")
        receipts = yield self.h.wait(gatherResults(sends))
        self.assertEqual([r.command for r in receipts], ["RECEIPT"] * 2)
        yield self.h.wait(inbox.wait_count(3))
        self.assertEqual(inbox.bodies[1:], [b"one", b"two"])

    @inlineCallbacks
    def test_transaction_abort(self) -> Any:
        """
        Messages sent in an aborted transaction are never delivered; a
        SEND still waiting for its receipt then fails with
        TransactionAborted (RabbitMQ), or already had it (ActiveMQ).  An
        ACK in an aborted transaction leaves its message unacknowledged:
        the next subscriber gets it, redelivered.
        """
        queue = unique_queue("tx-abort")
        client = yield self.h.connected()
        inbox = Inbox()
        yield self.h.wait(client.subscribe(queue, inbox, ack="manual"))
        yield self.h.wait(client.send("work", queue))
        work = yield self.h.wait(inbox.wait_for(b"work"))
        transaction = yield self.h.wait(client.begin())
        rolled_back = client.send("never", queue, transaction=transaction)
        yield self.h.wait(client.ack(work, transaction))
        yield self.h.wait(client.abort(transaction))
        if self.h.behaviour.transactional_send_receipts == "at-once":
            self.assertEqual((yield self.h.wait(rolled_back)).command, "RECEIPT")
        else:
            yield self.assertFailure(self.h.wait(rolled_back), TransactionAborted)
        self.assertEqual((yield self.before_sentinel(client, inbox, queue, 1)), [])
        yield self.h.wait(client.disconnect())

        successor = yield self.h.connected()
        again = Inbox()
        yield self.h.wait(successor.subscribe(queue, again))
        marker = inbox.bodies[-1]
        self.assertEqual((yield self.before_sentinel(successor, again, queue)), [b"work", marker])
        self.assertEqual(again.messages[0][1].get("redelivered"), "true")

    @inlineCallbacks
    def test_nack_in_transaction(self) -> Any:
        """
        A NACK inside a transaction, where the brokers differ
        (L{BrokerBehaviour.nack_in_transaction}): RabbitMQ takes it and
        acts on COMMIT; ActiveMQ refuses it with ERROR ("Poison ack cannot
        be transacted") naming its receipt, and the connection ends.
        """
        queue = unique_queue("tx-nack")
        client = yield self.h.connected()
        inbox = Inbox()
        yield self.h.wait(client.subscribe(queue, inbox, ack="manual"))
        yield self.h.wait(client.send("work", queue, {"persistent": "true"}))
        work = yield self.h.wait(inbox.wait_for(b"work"))
        transaction = yield self.h.wait(client.begin())
        lost = next_event(client, "disconnect")
        nacked = client.nack(work, transaction)
        if not self.h.behaviour.nack_in_transaction:
            failure = yield self.assertFailure(self.h.wait(nacked), BrokerError, ConnectionLost)
            expected = BrokerError if self.h.behaviour.error_names_receipt else ConnectionLost
            self.assertIsInstance(failure, expected)
            yield self.h.wait(lost)
            self.assertFalse(client.is_connected)
            return
        yield self.h.wait(nacked)
        yield self.h.wait(client.commit(transaction))
        if self.h.behaviour.nack == "requeue":
            again = yield self.h.wait(inbox.wait_for(b"work", occurrence=2))
            self.assertEqual(again.get("redelivered"), "true")
        else:
            self.assertEqual((yield self.before_sentinel(client, inbox, queue)), [b"work"])

    # --- receipts ---------------------------------------------------------

    @inlineCallbacks
    def test_receipts(self) -> Any:
        """
        Every frame asking for a receipt gets its own: 50 pipelined SENDs
        get 50 distinct ones, then arrive in order; DISCONNECT gets one
        before the broker closes.
        """
        queue = unique_queue("receipts")
        client = yield self.h.connected()
        seen = Inbox()
        client.reg_cb("RECEIPT", seen)
        inbox = Inbox()
        yield self.h.wait(client.subscribe(queue, inbox))
        bodies = [f"pipelined {i}".encode() for i in range(50)]
        pending = [client.send(body, queue) for body in bodies]
        self.assertFalse(any(d.called for d in pending))
        receipts = yield self.h.wait(gatherResults(pending))
        self.assertEqual({r.command for r in receipts}, {"RECEIPT"})
        self.assertEqual(len({r.headers["receipt-id"] for r in receipts}), 50)
        self.assertEqual((yield self.h.wait(inbox.wait_count(50))), bodies)
        yield self.h.wait(client.disconnect())
        # SUBSCRIBE, 50 SENDs and DISCONNECT: a receipt each.
        self.assertEqual(len({headers["receipt-id"] for _, headers in seen.messages}), 52)

    # --- errors -----------------------------------------------------------

    @inlineCallbacks
    def check_error(self, client: StompClient, sent: Deferred[Any]) -> Any:
        """
        C{sent} was answered with ERROR: it fails (with L{BrokerError} if
        the broker names its receipt, L{ConnectionLost} quoting the ERROR
        otherwise), and the connection ends.

        @return: the ERROR's C{message} header.
        """
        errors = Inbox()
        client.reg_cb("ERROR", errors)
        lost = next_event(client, "disconnect")
        failure = yield self.assertFailure(self.h.wait(sent), BrokerError, ConnectionLost)
        yield self.h.wait(lost)
        self.assertEqual(len(errors.messages), 1)
        message = errors.messages[0][1]["message"]
        if self.h.behaviour.error_names_receipt:
            self.assertIsInstance(failure, BrokerError)
            self.assertEqual(failure.message, message)
        else:
            self.assertIsInstance(failure, ConnectionLost)
            self.assertIn(message, str(failure))
        self.assertFalse(client.is_connected)
        return message

    @inlineCallbacks
    def test_error_missing_destination(self) -> Any:
        """
        A SEND or a SUBSCRIBE without a destination is answered with ERROR.
        """
        client = yield self.h.connected()
        yield self.check_error(client, client.send_frame("SEND", b"x", {}))
        client = yield self.h.connected()
        yield self.check_error(client, client.send_frame("SUBSCRIBE", b"", {"id": "s"}))

    @inlineCallbacks
    def test_error_unknown_command(self) -> Any:
        """
        A command STOMP does not have is answered with ERROR.
        """
        client = yield self.h.connected()
        yield self.check_error(client, client.send_frame("FROB", b"", {}))

    @inlineCallbacks
    def test_error_unknown_ack(self) -> Any:
        """
        An ACK of a message already acknowledged is answered with ERROR.
        (RabbitMQ answers that ACK's receipt first, then the ERROR; only
        the ERROR and the end of the connection are checked.)
        """
        queue = unique_queue("ack-twice")
        client = yield self.h.connected()
        inbox = Inbox()
        yield self.h.wait(client.subscribe(queue, inbox, ack="manual"))
        yield self.h.wait(client.send("once", queue))
        headers = yield self.h.wait(inbox.wait_for(b"once"))
        yield self.h.wait(client.ack(headers))
        errors = Inbox()
        client.reg_cb("ERROR", errors)
        lost = next_event(client, "disconnect")
        again = client.send_frame("ACK", b"", {"id": headers["ack"]})
        again.addErrback(lambda failure: failure.trap(BrokerError, ConnectionLost))
        yield self.h.wait(lost)
        self.assertEqual(len(errors.messages), 1)

    @inlineCallbacks
    def test_bad_credentials(self) -> Any:
        """
        A wrong passcode is refused with ERROR where credentials are
        checked (RabbitMQ), and the client gives up; ActiveMQ, as
        configured here, checks none and connects.
        """
        client = self.h.client(connect_headers={"login": "guest", "passcode": "wrong"})
        errors = Inbox()
        client.reg_cb("ERROR", errors)
        connected = self.h.wait(client.when_connected())
        if not self.h.checks_credentials:
            yield connected
            self.assertEqual(errors.messages, [])
            return
        failure = yield self.assertFailure(connected, BrokerError)
        self.assertEqual(len(errors.messages), 1)
        self.assertIn(errors.messages[0][1]["message"], str(failure))
        self.assertFalse(client.is_connected)

    # --- negotiation ------------------------------------------------------

    @inlineCallbacks
    def test_version_and_heartbeat_negotiation(self) -> Any:
        """
        The broker picks the highest version offered, and answers a
        heart-beat offer C{cx,cy} with C{cy,cx}.  A header value with a
        colon round-trips, except where the brokers differ
        (L{BrokerBehaviour.escapes_1_0_headers}): in a STOMP 1.0 session,
        which has no escaping, RabbitMQ writes it escaped all the same.
        """
        for versions, expected in ((["1.0"], "1.0"), (["1.0", "1.1"], "1.1"), (None, "1.2")):
            options: dict[str, Any] = {"heartbeat": (1000, 2000)}
            if versions is not None:
                options["versions"] = versions
            client = yield self.h.connected(**options)
            self.assertEqual(client.version, expected)
            assert client.connected_frame is not None
            self.assertEqual(client.connected_frame.headers["heart-beat"], "2000,1000")
            queue = unique_queue(f"version-{expected}")
            inbox = Inbox()
            yield self.h.wait(client.subscribe(queue, inbox))
            yield self.h.wait(client.send("v", queue, {"x-colon": "a:b"}))
            headers = yield self.h.wait(inbox.wait_for(b"v"))
            escaped = expected == "1.0" and self.h.behaviour.escapes_1_0_headers
            self.assertEqual(headers["x-colon"], "a\\cb" if escaped else "a:b")
            yield self.h.wait(client.disconnect())

    # --- reconnection and redelivery ----------------------------------------

    @inlineCallbacks
    def test_reconnect_redelivers_unacknowledged(self) -> Any:
        """
        When a connection breaks, the client reconnects and subscribes
        again by itself, and the broker redelivers what was left
        unacknowledged, marked redelivered; an acknowledged message is
        not redelivered, nor one of an ack:auto subscription.
        """
        queue = unique_queue("reconnect")
        plain = unique_queue("reconnect-auto")
        client = yield self.h.connected(reconnect=FAST)
        inbox = Inbox()
        auto = Inbox()
        yield self.h.wait(client.subscribe(queue, inbox, ack="manual"))
        yield self.h.wait(client.subscribe(plain, auto))
        yield self.h.wait(client.send("done", queue))
        yield self.h.wait(client.send("pending", queue))
        yield self.h.wait(client.send("consumed", plain))
        yield self.h.wait(inbox.wait_count(2))
        yield self.h.wait(auto.wait_count(1))
        yield self.h.wait(client.ack(inbox.messages[0][1]))

        lost = next_event(client, "disconnect")
        self.h.drop(client)
        yield self.h.wait(lost)
        self.assertFalse(client.is_connected)
        yield self.h.wait(client.when_connected())
        headers = yield self.h.wait(inbox.wait_for(b"pending", occurrence=2))
        self.assertEqual(headers.get("redelivered"), "true")
        self.assertEqual((yield self.before_sentinel(client, inbox, queue, 2)), [b"pending"])
        self.assertEqual((yield self.before_sentinel(client, auto, plain, 1)), [])

    @inlineCallbacks
    def test_unsubscribe_with_unacknowledged(self) -> Any:
        """
        UNSUBSCRIBE with a message unacknowledged, where the brokers
        differ (L{BrokerBehaviour.unsubscribe_requeues}): ActiveMQ
        requeues it at once, so a new subscription of the same client
        gets it, redelivered; RabbitMQ keeps it with the connection until
        that closes.
        """
        queue = unique_queue("unsubscribe")
        client = yield self.h.connected()
        inbox = Inbox()
        subscription = yield self.h.wait(client.subscribe(queue, inbox, ack="manual"))
        yield self.h.wait(client.send("held", queue))
        yield self.h.wait(inbox.wait_for(b"held"))
        yield self.h.wait(client.unsubscribe(subscription))
        again = Inbox()
        yield self.h.wait(client.subscribe(queue, again))
        if self.h.behaviour.unsubscribe_requeues:
            headers = yield self.h.wait(again.wait_for(b"held"))
            self.assertEqual(headers.get("redelivered"), "true")
            return
        self.assertEqual((yield self.before_sentinel(client, again, queue)), [])
        yield self.h.wait(client.disconnect())
        successor = yield self.h.connected()
        last = Inbox()
        yield self.h.wait(successor.subscribe(queue, last))
        self.assertEqual((yield self.before_sentinel(successor, last, queue)), [b"held"])


# --- the runs -------------------------------------------------------------------


class MemoryRabbitMQLikeContract(ContractMixin, TestCase):
    """
    The double, following RabbitMQ.
    """

    def make_harness(self) -> Harness:
        return MemoryHarness(self, LIKE_RABBITMQ)


class MemoryActiveMQLikeContract(ContractMixin, TestCase):
    """
    The double, following ActiveMQ.
    """

    def make_harness(self) -> Harness:
        return MemoryHarness(self, LIKE_ACTIVEMQ)


class RabbitMQContract(ContractMixin, TestCase):
    """
    RabbitMQ on 127.0.0.1:61613.
    """

    def make_harness(self) -> Harness:
        return RealHarness(self, RABBITMQ, LIKE_RABBITMQ, checks_credentials=True)


class ActiveMQContract(ContractMixin, TestCase):
    """
    ActiveMQ on 127.0.0.1:61623.
    """

    def make_harness(self) -> Harness:
        return RealHarness(self, ACTIVEMQ, LIKE_ACTIVEMQ, checks_credentials=False)
