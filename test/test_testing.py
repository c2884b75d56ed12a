"""
Tests for L{stomp_twisted.testing}: the in-memory broker double on its
own (its wire, handshake, heart-beats, queues and topics, errors, fault
injection and inspection), mostly through a raw STOMP client that writes
exactly the frames a test wants; and the documentation's consumer
example, run with the double and against RabbitMQ.

What real brokers do is checked in C{test_contract}; these tests cover
what the contract cannot (the double's own API) and the corners it does
not reach.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.error import ConnectionAborted, ConnectionDone
from twisted.internet.error import ConnectionLost as TCPConnectionLost
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.internet.task import Clock, LoopingCall
from twisted.internet.utils import getProcessOutputAndValue
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from stomp_twisted.client import StompClient
from stomp_twisted.errors import BadArgument, ConnectionLost, ReceiptTimeout
from stomp_twisted.failover import ReconnectPolicy
from stomp_twisted.frame import (
    HEARTBEAT,
    NEED_DATA,
    SERVER_COMMANDS,
    Frame,
    FrameDecoder,
    serialize_frame,
)
from stomp_twisted.redelivery import RedeliveryPolicy
from stomp_twisted.testing import (
    LIKE_ACTIVEMQ,
    LIKE_RABBITMQ,
    BrokerBehaviour,
    MemoryBroker,
    MemoryTransport,
    connect_client,
)

from .brokers import RABBITMQ, require

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(TOP, "docs", "examples")
FAST = ReconnectPolicy(initial_delay=0.5, jitter=0.0)


class RawClient(Protocol):
    """
    A STOMP client that writes exactly what it is told and records every
    frame and heart-beat it receives.
    """

    def __init__(self) -> None:
        self.decoder = FrameDecoder("1.0", commands=SERVER_COMMANDS)
        self.frames: list[Frame] = []
        self.heartbeats = 0
        self.lost: Failure | None = None
        self.version = "1.0"
        #: The broker's answer to CONNECT, once L{BrokerTestCase.raw} read it.
        self.answer: Frame | None = None

    def dataReceived(self, data: bytes) -> None:
        self.decoder.receive_data(data)
        while True:
            event = self.decoder.next_event()
            if event is NEED_DATA:
                return
            if event is HEARTBEAT:
                self.heartbeats += 1
                continue
            assert isinstance(event, Frame)
            if event.command == "CONNECTED":
                self.version = event.headers.get("version", "1.0")
                self.decoder.version = self.version
            self.frames.append(event)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.lost = reason

    def send(self, command: str, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        assert self.transport is not None
        self.transport.write(serialize_frame(Frame(command, headers or {}, body), self.version))

    def take(self) -> list[Frame]:
        frames, self.frames = self.frames, []
        return frames


class BrokerTestCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.broker = MemoryBroker()

    def raw(
        self, broker: MemoryBroker | None = None, connect: dict[str, str] | None = None
    ) -> RawClient:
        """
        A raw client connected to the broker, its CONNECT (with
        C{connect} headers, or offering 1.2) answered; the answer is in
        its C{answer}.
        """
        broker = broker or self.broker
        protocol = self.successResultOf(broker.endpoint().connect(Factory.forProtocol(RawClient)))
        assert isinstance(protocol, RawClient)
        protocol.send("CONNECT", connect if connect is not None else {"accept-version": "1.2"})
        broker.flush()
        [protocol.answer] = protocol.take()
        return protocol

    def exchange(self, client: RawClient, command: str, **headers: str) -> list[Frame]:
        """
        Send a frame, flush, and return what came back.
        """
        client.send(command, headers)
        self.broker.flush()
        return client.take()

    def assertError(self, frames: list[Frame], message: str, client: RawClient) -> Frame:
        """
        C{frames} is one ERROR with this C{message} header, and the broker
        closed the connection after it.
        """
        self.assertEqual([f.command for f in frames], ["ERROR"], frames)
        self.assertEqual(frames[0].headers["message"], message)
        self.assertIsNotNone(client.lost)
        return frames[0]

    def assertRefused(self, client: RawClient, message: str) -> Frame:
        """
        The broker answered C{client}'s CONNECT with ERROR and closed.
        """
        assert client.answer is not None
        return self.assertError([client.answer], message, client)


class WireTests(BrokerTestCase):
    """
    The in-memory connections.
    """

    def test_nothing_moves_until_flush(self) -> None:
        """
        Bytes wait until L{MemoryBroker.flush}, which delivers them and
        what they cause in turn, and says how many rounds it took.
        """
        client = self.raw()
        client.send("SEND", {"destination": "/queue/a", "receipt": "r"}, b"x")
        self.assertEqual(self.broker.sent(), [])
        self.assertEqual(self.broker.flush(), 2)  # the SEND, then the RECEIPT
        self.assertEqual([m.body for m in self.broker.sent()], [b"x"])
        self.assertEqual(client.take()[-1], Frame("RECEIPT", {"receipt-id": "r"}))
        self.assertEqual(self.broker.flush(), 0)

    def test_paused_reader_receives_nothing(self) -> None:
        """
        A side that paused reading gets nothing until it resumes.
        """
        client = self.raw()
        self.exchange(client, "SUBSCRIBE", destination="/queue/a", id="s")
        assert isinstance(client.transport, MemoryTransport)
        client.transport.pauseProducing()
        self.broker.publish("/queue/a", b"held")
        self.broker.flush()
        self.assertEqual(client.frames, [])
        client.transport.resumeProducing()
        self.broker.flush()
        self.assertEqual([f.body for f in client.take()], [b"held"])

    def test_lose_connection_after_delivery(self) -> None:
        """
        The broker's receipt of DISCONNECT is delivered before the
        connection closes; both sides see a clean close.
        """
        client = self.raw()
        connection = self.broker.connections[0]
        frames = self.exchange(client, "DISCONNECT", receipt="bye")
        self.assertEqual(frames, [Frame("RECEIPT", {"receipt-id": "bye"})])
        assert client.lost is not None and connection.lost_reason is not None
        client.lost.trap(ConnectionDone)
        connection.lost_reason.trap(ConnectionDone)
        self.assertEqual(self.broker.open_connections, [])

    def test_abort(self) -> None:
        """
        An aborted connection ends at the next flush, with what was
        waiting discarded: L{ConnectionAborted} for the side that aborted,
        L{TCPConnectionLost} for the other.
        """
        client = self.raw()
        assert client.transport is not None
        client.send("SEND", {"destination": "/queue/a"}, b"lost")
        client.transport.abortConnection()  # type: ignore[attr-defined]
        self.assertIsNone(client.lost)
        self.broker.flush()
        assert client.lost is not None
        client.lost.trap(ConnectionAborted)
        lost_reason = self.broker.connections[0].lost_reason
        assert lost_reason is not None
        lost_reason.trap(TCPConnectionLost)
        self.assertEqual(self.broker.sent(), [])

    def test_addresses(self) -> None:
        """
        Each side's transport names the broker's and the client's
        loopback addresses.
        """
        client = self.raw()
        assert client.transport is not None
        self.assertEqual(client.transport.getPeer().port, 61613)  # type: ignore[attr-defined]
        self.assertEqual(client.transport.getHost().host, "127.0.0.1")  # type: ignore[attr-defined]


class HandshakeTests(BrokerTestCase):
    """
    CONNECT and CONNECTED.
    """

    def test_versions(self) -> None:
        """
        The highest common version wins; without C{accept-version} it is
        1.0.
        """
        cases = [
            ({}, "1.0"),
            ({"accept-version": "1.0,1.1"}, "1.1"),
            ({"accept-version": "1.1,1.2"}, "1.2"),
        ]
        for headers, expected in cases:
            connected = self.raw(connect=headers).answer
            assert connected is not None
            self.assertEqual(connected.command, "CONNECTED")
            self.assertEqual(connected.headers["version"], expected)
            self.assertTrue(connected.headers["session"].startswith("session:"))

    def test_version_mismatch(self) -> None:
        """
        A client offering no version the broker speaks gets ERROR listing
        the broker's versions, and is disconnected.
        """
        broker = MemoryBroker(versions=["1.0", "1.1"])
        client = self.raw(broker, {"accept-version": "1.2"})
        error = self.assertRefused(client, "Version mismatch")
        self.assertIn(b"1.0,1.1", error.body)

    def test_stomp_command(self) -> None:
        """
        C{STOMP} connects as C{CONNECT} does.
        """
        protocol = self.successResultOf(
            self.broker.endpoint().connect(Factory.forProtocol(RawClient))
        )
        assert isinstance(protocol, RawClient)
        protocol.send("STOMP", {"accept-version": "1.2", "host": "/"})
        self.broker.flush()
        self.assertEqual(protocol.take()[0].command, "CONNECTED")

    def test_credentials(self) -> None:
        """
        With credentials configured, a wrong passcode or no login is
        refused with ERROR; the right ones connect, and the connection
        remembers the login.
        """
        broker = MemoryBroker(credentials={"guest": "guest"})
        for headers in ({"login": "guest", "passcode": "nope"}, {}):
            client = self.raw(broker, {"accept-version": "1.2", **headers})
            self.assertRefused(client, "Bad CONNECT")
        client = self.raw(broker, {"accept-version": "1.2", "login": "guest", "passcode": "guest"})
        assert client.answer is not None
        self.assertEqual(client.answer.command, "CONNECTED")
        self.assertEqual(broker.connections[-1].login, "guest")

    def test_frames_before_and_after_connect(self) -> None:
        """
        A frame before CONNECT, and a second CONNECT, are refused.
        """
        protocol = self.successResultOf(
            self.broker.endpoint().connect(Factory.forProtocol(RawClient))
        )
        assert isinstance(protocol, RawClient)
        protocol.send("SEND", {"destination": "/queue/a"})
        self.broker.flush()
        self.assertError(protocol.take(), "Illegal command", protocol)
        client = self.raw()
        self.assertError(self.exchange(client, "CONNECT"), "Already connected", client)

    def test_heartbeat_answer(self) -> None:
        """
        By default the broker answers C{cx,cy} with C{cy,cx}; a fixed
        answer may be configured; a malformed offer is refused.
        """
        offer = {"accept-version": "1.2", "heart-beat": "1000,2500"}
        client = self.raw(connect=offer)
        assert client.answer is not None
        self.assertEqual(client.answer.headers["heart-beat"], "2500,1000")
        self.assertEqual(self.broker.connections[0].heartbeat, (2500, 1000))
        client = self.raw(MemoryBroker(heartbeat=(0, 0)), offer)
        assert client.answer is not None
        self.assertEqual(client.answer.headers["heart-beat"], "0,0")
        client = self.raw(connect={"accept-version": "1.2", "heart-beat": "soon"})
        self.assertRefused(client, "Bad CONNECT")


class HeartbeatTests(BrokerTestCase):
    """
    The broker's heart-beats, on its clock.
    """

    def test_broker_sends_heartbeats(self) -> None:
        """
        The broker writes an EOL each send interval while it writes
        nothing else.
        """
        client = self.raw(connect={"accept-version": "1.2", "heart-beat": "0,1000"})
        self.broker.advance(0.9)
        self.assertEqual(client.heartbeats, 0)
        for _ in range(3):
            self.broker.advance(0.1)
            self.broker.advance(0.9)
        self.assertEqual(client.heartbeats, 3)

    def test_silent_client_dropped(self) -> None:
        """
        A client that promised heart-beats and sends nothing is dropped
        after the behaviour's grace: 2 intervals like ActiveMQ, 3 like
        RabbitMQ.
        """
        for behaviour in (LIKE_ACTIVEMQ, LIKE_RABBITMQ):
            broker = MemoryBroker(behaviour=behaviour)
            client = self.raw(broker, {"accept-version": "1.2", "heart-beat": "1000,0"})
            broker.advance(behaviour.heartbeat_grace - 0.1)
            self.assertIsNone(client.lost)
            client.send("SEND", {"destination": "/queue/a"})  # anything keeps it alive
            broker.advance(behaviour.heartbeat_grace - 0.1)
            self.assertIsNone(client.lost)
            broker.advance(0.2)
            assert client.lost is not None
            client.lost.trap(TCPConnectionLost)

    def test_stop_heartbeats(self) -> None:
        """
        After L{MemoryBroker.stop_heartbeats} a client expecting them
        presumes the broker dead, closes with L{HeartbeatTimeout} and
        reconnects; L{MemoryBroker.resume_heartbeats} keeps the next
        connection alive.
        """
        client = connect_client(self.broker, heartbeat=(0, 1000), reconnect=FAST)
        problems: list[str] = []
        client.reg_cb("io_error", lambda client, message: problems.append(message))
        self.broker.advance(10)
        self.assertEqual(problems, [])
        self.broker.stop_heartbeats()
        self.broker.advance(3.0)  # the client's tolerance: 3 intervals
        self.assertEqual(len(problems), 1)
        self.assertIn("presumed dead", problems[0])
        self.assertFalse(client.is_connected)
        self.broker.resume_heartbeats()
        self.broker.advance(0.5)
        self.assertTrue(client.is_connected)
        self.broker.advance(10)
        self.assertEqual(len(problems), 1)
        self.assertEqual(len(self.broker.connections), 2)


class DeliveryTests(BrokerTestCase):
    """
    Queues, topics, acknowledgements and inspection.
    """

    def test_queue_waits_for_a_subscriber(self) -> None:
        """
        A published message waits in its queue until someone subscribes;
        L{MemoryBroker.queue} shows it meanwhile.
        """
        message = self.broker.publish("/queue/a", "text", {"x-kind": "note"})
        self.broker.flush()
        self.assertEqual(self.broker.queue("/queue/a"), [message])
        self.assertEqual(message.body, b"text")
        client = self.raw()
        frames = self.exchange(client, "SUBSCRIBE", destination="/queue/a", id="s")
        self.assertEqual(frames[0].command, "MESSAGE")
        self.assertEqual(frames[0].headers["x-kind"], "note")
        self.assertEqual(frames[0].headers["message-id"], message.id)
        self.assertEqual(self.broker.queue("/queue/a"), [])

    def test_topic_keeps_nothing(self) -> None:
        """
        A message to a topic nobody subscribes to is gone.
        """
        self.broker.publish("/topic/news", b"unheard")
        self.assertEqual(self.broker.queue("/topic/news"), [])
        client = self.raw()
        self.assertEqual(self.exchange(client, "SUBSCRIBE", destination="/topic/news", id="s"), [])

    def test_sent_and_frames(self) -> None:
        """
        L{MemoryBroker.sent} lists the messages clients sent that took
        effect, without the SEND-only headers, and not those L{publish}
        put in or an aborted transaction held; C{frames_received} and
        C{frames_sent} record every frame.
        """
        client = self.raw()
        client.send("SEND", {"destination": "/queue/a", "receipt": "1", "x": "y"}, b"one")
        client.send("BEGIN", {"transaction": "t"})
        client.send("SEND", {"destination": "/queue/a", "transaction": "t"}, b"rolled back")
        client.send("ABORT", {"transaction": "t"})
        self.broker.publish("/queue/a", b"published")
        self.broker.flush()
        [sent] = self.broker.sent("/queue/a")
        self.assertEqual((sent.body, sent.headers), (b"one", {"x": "y"}))
        self.assertEqual(self.broker.sent("/queue/b"), [])
        self.assertEqual(
            [f.command for f in self.broker.frames_received],
            ["CONNECT", "SEND", "BEGIN", "SEND", "ABORT"],
        )
        self.assertEqual([f.command for f in self.broker.frames_sent], ["CONNECTED", "RECEIPT"])
        self.assertEqual(self.broker.connections[0].frames_received, self.broker.frames_received)

    def test_unacknowledged_and_drop(self) -> None:
        """
        L{MemoryBroker.unacknowledged} lists what awaits an ACK; after
        L{MemoryBroker.drop_connections} it is back in its queue, marked
        redelivered, and the client saw the connection lost.
        """
        client = connect_client(self.broker, reconnect=None)
        got: list[bytes] = []
        client.subscribe("/queue/a", lambda c, body, h: got.append(body), ack="manual")
        message = self.broker.publish("/queue/a", b"work")
        self.broker.flush()
        self.assertEqual(got, [b"work"])
        self.assertEqual(self.broker.unacknowledged("/queue/a"), [message])
        self.assertEqual(self.broker.unacknowledged("/queue/b"), [])
        lost: list[str] = []
        client.reg_cb("disconnect", lambda client, reason: lost.append(reason))
        self.broker.drop_connections()
        self.assertEqual(len(lost), 1)
        self.assertEqual(self.broker.unacknowledged(), [])
        self.assertEqual(self.broker.queue("/queue/a"), [message])
        self.assertTrue(message.redelivered)

    def test_dead_letters(self) -> None:
        """
        Like ActiveMQ: a NACKed persistent message goes to the dead-letter
        queue with its original destination; a non-persistent one is
        discarded.
        """
        broker = MemoryBroker(behaviour=LIKE_ACTIVEMQ)
        client = connect_client(broker)
        received: list[dict[str, str]] = []
        client.subscribe("/queue/a", lambda c, body, h: received.append(h), ack="manual")
        broker.publish("/queue/a", b"kept", {"persistent": "true"})
        broker.publish("/queue/a", b"dropped")
        broker.flush()
        for headers in received:
            client.nack(headers)
        broker.flush()
        [dead] = broker.dead_letters()
        self.assertEqual(dead.body, b"kept")
        self.assertEqual(dead.destination, "/queue/ActiveMQ.DLQ")
        self.assertEqual(dead.headers["original-destination"], "/queue/a")
        self.assertEqual(broker.queue("/queue/a"), [])

    def test_prefetch_skips_full_subscriptions(self) -> None:
        """
        Round robin passes over a subscription holding its prefetch of
        unacknowledged messages.
        """
        client = self.raw()
        client.send("SUBSCRIBE", {"destination": "/queue/a", "id": "one", "ack": "client"})
        client.send(
            "SUBSCRIBE",
            {"destination": "/queue/a", "id": "two", "ack": "client", "prefetch-count": "1"},
        )
        self.broker.flush()
        for n in range(4):
            self.broker.publish("/queue/a", str(n))
        self.broker.flush()
        frames = client.take()
        self.assertEqual(
            [(f.headers["subscription"], f.body) for f in frames],
            [("one", b"0"), ("two", b"1"), ("one", b"2"), ("one", b"3")],
        )

    def test_stomp_10(self) -> None:
        """
        Under STOMP 1.0: a subscription without an id gets MESSAGE frames
        without a C{subscription} header, is acknowledged by
        C{message-id} and ended by destination; NACK does not exist.
        """
        client = self.raw(connect={})
        self.broker.publish("/queue/a", b"x")
        [message] = self.exchange(client, "SUBSCRIBE", destination="/queue/a", ack="client")
        self.assertNotIn("subscription", message.headers)
        self.assertNotIn("ack", message.headers)
        message_id = message.headers["message-id"]
        self.assertEqual(self.exchange(client, "ACK", **{"message-id": message_id}), [])
        self.assertEqual(self.broker.unacknowledged(), [])
        self.assertEqual(self.exchange(client, "UNSUBSCRIBE", destination="/queue/a"), [])
        self.broker.publish("/queue/a", b"y")
        self.exchange(client, "SUBSCRIBE", destination="/queue/a", ack="client")
        frames = self.exchange(client, "NACK", **{"message-id": "whatever"})
        self.assertError(frames, "Bad command", client)

    def test_stomp_11_ack(self) -> None:
        """
        Under STOMP 1.1 an ACK names C{message-id} and C{subscription};
        the wrong subscription is refused.
        """
        client = self.raw(connect={"accept-version": "1.1"})
        self.broker.publish("/queue/a", b"x")
        self.broker.publish("/queue/a", b"y")
        frames = self.exchange(
            client, "SUBSCRIBE", destination="/queue/a", id="s", ack="client-individual"
        )
        first, second = (f.headers["message-id"] for f in frames)
        self.assertEqual(
            self.exchange(client, "ACK", subscription="s", **{"message-id": first}), []
        )
        frames = self.exchange(client, "ACK", subscription="t", **{"message-id": second})
        self.assertError(frames, "Unknown message", client)

    def test_topic_deliveries_lost_with_connection(self) -> None:
        """
        Unacknowledged topic messages are not requeued anywhere when their
        subscriber's connection ends.
        """
        client = self.raw()
        self.exchange(client, "SUBSCRIBE", destination="/topic/t", id="s", ack="client")
        self.broker.publish("/topic/t", b"x")
        self.broker.flush()
        self.assertEqual(len(self.broker.unacknowledged("/topic/t")), 1)
        self.broker.drop_connections()
        self.assertEqual(self.broker.unacknowledged(), [])
        self.assertEqual(self.broker.queue("/topic/t"), [])


class ErrorTests(BrokerTestCase):
    """
    Protocol mistakes the broker refuses with ERROR and a closed
    connection.
    """

    def refused(self, message: str, command: str, **headers: str) -> Frame:
        client = self.raw()
        return self.assertError(self.exchange(client, command, **headers), message, client)

    def test_mistakes(self) -> None:
        """
        Each mistake gets an ERROR whose C{message} says what is wrong.
        """
        self.refused("Missing destination", "SEND")
        self.refused("Missing destination", "SUBSCRIBE", id="s")
        self.refused("Missing id", "SUBSCRIBE", destination="/queue/a")
        self.refused("Invalid ack mode", "SUBSCRIBE", destination="/queue/a", id="s", ack="x")
        self.refused("No subscription found", "UNSUBSCRIBE", id="s")
        self.refused("Bad transaction", "SEND", destination="/queue/a", transaction="t")
        self.refused("Bad transaction", "COMMIT", transaction="t")
        self.refused("Missing transaction", "BEGIN")
        self.refused("Unknown message", "ACK", id="ack:1")

    def test_duplicate_ids(self) -> None:
        """
        A subscription id or transaction in use cannot be started again.
        """
        client = self.raw()
        self.exchange(client, "SUBSCRIBE", destination="/queue/a", id="s")
        frames = self.exchange(client, "SUBSCRIBE", destination="/queue/b", id="s")
        self.assertError(frames, "Duplicated subscription identifier", client)
        client = self.raw()
        self.exchange(client, "BEGIN", transaction="t")
        self.assertError(self.exchange(client, "BEGIN", transaction="t"), "Bad transaction", client)

    def test_unknown_command_names_receipt(self) -> None:
        """
        An unknown command is refused; the ERROR names its receipt where
        the behaviour says so.
        """
        self.broker = MemoryBroker(behaviour=LIKE_ACTIVEMQ)
        error = self.refused("Bad command", "FROB", receipt="r-9")
        self.assertEqual(error.headers["receipt-id"], "r-9")
        self.broker = MemoryBroker(behaviour=dataclasses.replace(LIKE_ACTIVEMQ, name="x"))
        error = self.refused("Missing destination", "SEND", receipt="r-1")
        self.assertEqual(error.headers["receipt-id"], "r-1")
        self.broker = MemoryBroker(behaviour=LIKE_RABBITMQ)
        error = self.refused("Bad command", "FROB", receipt="r-9")
        self.assertNotIn("receipt-id", error.headers)

    def test_malformed_frame(self) -> None:
        """
        Bytes that are not STOMP are refused with ERROR.
        """
        client = self.raw()
        assert client.transport is not None
        client.transport.write(b"SEND\nno colon here\n\n\0")
        self.broker.flush()
        self.assertError(client.take(), "Bad frame", client)


class FaultTests(BrokerTestCase):
    """
    Fault injection, as a user's tests drive it through a real client.
    """

    def test_refuse_next_connection(self) -> None:
        """
        A refused attempt fails as an unreachable broker would; the client
        retries and connects.
        """
        self.broker.refuse_next_connection()
        failures: list[str] = []
        client = StompClient(self.broker.endpoint(), reactor=self.broker.clock, reconnect=FAST)
        client.reg_cb("connect_error", lambda client, message: failures.append(message))
        client.start()
        self.broker.flush()
        self.assertEqual(len(failures), 1)
        self.assertIn("refuse_next_connection", failures[0])
        self.broker.advance(0.5)
        self.assertTrue(client.is_connected)

    def test_send_error(self) -> None:
        """
        L{MemoryBroker.send_error} sends ERROR on every connection and
        closes it; a pending receipt fails with the broker's message and
        the client reconnects.
        """
        client = connect_client(self.broker, reconnect=FAST)
        self.broker.delay_receipts()
        pending = client.send(b"x", "/queue/a")
        self.broker.send_error("shutting down", "maintenance")
        self.broker.flush()
        failure = self.failureResultOf(pending, ConnectionLost)
        self.assertIn("shutting down", str(failure.value))
        self.assertFalse(client.is_connected)
        self.broker.advance(0.5)
        self.assertTrue(client.is_connected)

    def test_delay_receipts(self) -> None:
        """
        Held receipts leave the client waiting (here past its
        C{receipt_timeout}); released, they arrive in order.
        """
        client = connect_client(self.broker, receipt_timeout=5.0)
        self.broker.delay_receipts()
        first = client.send(b"1", "/queue/a")
        second = client.send(b"2", "/queue/a")
        self.broker.advance(1.0)
        self.assertNoResult(first)
        self.assertEqual(len(self.broker.sent()), 2)
        self.broker.release_receipts()
        self.broker.flush()
        self.assertEqual(self.successResultOf(first).headers["receipt-id"], "r-1")
        self.assertEqual(self.successResultOf(second).headers["receipt-id"], "r-2")
        self.broker.delay_receipts()
        late = client.send(b"3", "/queue/a")
        self.broker.advance(5.0)
        self.failureResultOf(late, ReceiptTimeout)

    def test_delayed_disconnect_receipt(self) -> None:
        """
        A DISCONNECT whose receipt is held: the client closes by itself
        after its C{disconnect_timeout}.
        """
        client = connect_client(self.broker, disconnect_timeout=2.0)
        self.broker.delay_receipts()
        leaving = client.disconnect()
        self.broker.advance(1.0)
        self.assertNoResult(leaving)
        self.broker.advance(1.0)
        self.successResultOf(leaving)
        self.assertEqual(self.broker.open_connections, [])

    def test_connection_of(self) -> None:
        """
        L{MemoryBroker.connection_of} finds a client's connection, and
        raises L{LookupError} for one that is not connected.
        """
        client = connect_client(self.broker)
        other = connect_client(self.broker)
        self.assertIs(self.broker.connection_of(other), self.broker.connections[1])
        self.broker.connection_of(client).drop()
        self.assertRaises(LookupError, self.broker.connection_of, client)
        self.assertTrue(other.is_connected)


class RunUntilTests(SynchronousTestCase):
    """
    L{MemoryBroker.run_until} and the guard of L{MemoryBroker.flush}.
    """

    def test_result_and_failure(self) -> None:
        """
        It returns the result, or raises the failure, stepping the clock
        as far as needed.
        """
        broker = MemoryBroker()
        later: Deferred[str] = Deferred()
        broker.clock.callLater(30, later.callback, "done")
        self.assertEqual(broker.run_until(later), "done")
        self.assertEqual(broker.clock.seconds(), 30)
        failing: Deferred[None] = Deferred()
        broker.clock.callLater(1, failing.errback, ValueError("no"))
        self.assertRaises(ValueError, broker.run_until, failing)
        self.assertEqual(broker.run_until(succeed(3)), 3)

    def test_timeouts(self) -> None:
        """
        A Deferred that nothing scheduled can fire, or that has not fired
        within the timeout, raises L{TimeoutError}.
        """
        broker = MemoryBroker(Clock())
        self.assertRaises(TimeoutError, broker.run_until, Deferred())
        ticking = LoopingCall(lambda: None)
        ticking.clock = broker.clock
        ticking.start(1.0)
        self.addCleanup(ticking.stop)
        error = self.assertRaises(TimeoutError, broker.run_until, Deferred(), timeout=5.0)
        self.assertIn("5 simulated seconds", str(error))

    def test_endless_redelivery(self) -> None:
        """
        A consumer that fails every message, on a broker that requeues,
        with a redelivery policy that refuses at once and never gives up,
        makes L{MemoryBroker.flush} raise instead of hanging.
        """
        broker = MemoryBroker()
        client = connect_client(broker, redelivery=RedeliveryPolicy(0, max_deliveries=None))

        def fail(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
            raise RuntimeError("always")

        client.subscribe("/queue/a", fail, ack="auto")
        broker.publish("/queue/a", b"poison")
        self.assertRaises(RuntimeError, broker.flush, 50)
        self.flushLoggedErrors(RuntimeError)

    def test_behaviour_validation(self) -> None:
        """
        A behaviour with a value outside its options is refused.
        """
        self.assertRaises(BadArgument, BrokerBehaviour, nack="drop")  # type: ignore[arg-type]
        self.assertRaises(
            BadArgument,
            BrokerBehaviour,
            transactional_send_receipts="later",  # type: ignore[arg-type]
        )
        self.assertRaises(BadArgument, BrokerBehaviour, heartbeat_grace=0.5)
        self.assertRaises(BadArgument, MemoryBroker, versions=["2.0"])


class DocumentationExampleTests(TestCase):
    """
    The consumer of C{docs/testing.rst}: its tests, with the double, pass
    when run as the page says; and the same consumer runs against
    RabbitMQ.
    """

    timeout = 60

    def run_python(self, *argv: str) -> Deferred[tuple[bytes, bytes, int]]:
        env = dict(os.environ, PYTHONPATH=TOP)
        return getProcessOutputAndValue(
            sys.executable, argv, env=env, path=EXAMPLES, reactor=reactor
        )

    @inlineCallbacks
    def test_consumer_tests_with_the_double(self) -> Any:
        """
        C{python -m twisted.trial test_consumer}, from C{docs/examples},
        passes both of its tests.
        """
        temp = os.path.abspath(self.mktemp())
        out, err, status = yield self.run_python(
            "-m", "twisted.trial", f"--temp-directory={temp}", "test_consumer"
        )
        self.assertEqual(status, 0, (out + err).decode())
        self.assertIn(b"PASSED (successes=2)", out)

    @inlineCallbacks
    def test_consumer_against_rabbitmq(self) -> Any:
        """
        C{python consumer.py} stores three orders from the local RabbitMQ
        and leaves none unacknowledged.
        """
        require(RABBITMQ)
        out, err, status = yield self.run_python("consumer.py")
        self.assertEqual(status, 0, err.decode())
        self.assertEqual(
            out.decode().splitlines(),
            [
                "stored order 1",
                "stored order 2",
                "stored order 3",
                "left in the queue: 'end' (the end marker only)",
            ],
        )
