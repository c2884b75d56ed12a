"""
The outbox (at-least-once sends across reconnections) and incoming flow
control (a bound on messages whose callbacks are still running).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionLost as TCPConnectionLost
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from stomp_twisted.client import StompClient
from stomp_twisted.errors import (
    BadArgument,
    ClientClosed,
    ConnectionLost,
    NotConnected,
    OutboxFull,
    SendBufferFull,
)
from stomp_twisted.failover import ReconnectPolicy
from stomp_twisted.outbox import OutboxPolicy

from .fakes import FakeEndpoint

POLICY = ReconnectPolicy(initial_delay=1.0, jitter=0.0)


class OutboxTests(SynchronousTestCase):
    """
    L{StompClient} with C{outbox=OutboxPolicy(...)}.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.endpoint = FakeEndpoint()

    def client(self, **kwargs: Any) -> StompClient:
        kwargs.setdefault("reconnect", POLICY)
        kwargs.setdefault("outbox", OutboxPolicy())
        client = StompClient(self.endpoint, reactor=self.clock, **kwargs)
        client.start()
        self.endpoint.last.sent()
        return client

    def test_queued_while_connecting(self) -> None:
        """
        A send made before CONNECTED waits instead of failing, is written
        once connected, and fires on its receipt.
        """
        client = self.client()
        sending = client.send(b"early", "/queue/a")
        self.assertNoResult(sending)
        self.assertEqual(self.endpoint.last.sent(), [])
        self.endpoint.last.connected("1.2")
        [frame] = self.endpoint.last.sent()
        self.assertEqual((frame.command, frame.body), ("SEND", b"early"))
        self.assertNoResult(sending)
        self.endpoint.last.receipt(frame.headers["receipt"])
        self.assertEqual(self.successResultOf(sending).command, "RECEIPT")  # type: ignore[union-attr]

    def test_resent_after_lost_connection(self) -> None:
        """
        A send whose connection is lost before its receipt is written
        again, in order, on the next connection; its Deferred fires on the
        second receipt and never sees the loss.
        """
        client = self.client()
        first = self.endpoint.last
        first.connected("1.2")
        one = client.send(b"one", "/queue/a")
        two = client.send(b"two", "/queue/a")
        [sent_one, _sent_two] = first.sent()
        first.receipt(sent_one.headers["receipt"])
        self.successResultOf(one)
        first.lose(TCPConnectionLost())
        self.assertNoResult(two)
        self.assertEqual(client.factory._sender.outbox.unconfirmed, (1, 3))  # type: ignore[union-attr]
        self.clock.advance(1.0)
        second = self.endpoint.last
        second.sent()
        second.connected("1.2")
        [again] = second.sent()
        self.assertEqual(again.body, b"two")
        second.receipt(again.headers["receipt"])
        self.successResultOf(two)
        self.assertEqual(client.factory._sender.outbox.unconfirmed, (0, 0))  # type: ignore[union-attr]

    def test_bounded_in_count(self) -> None:
        """
        Past C{max_messages} unconfirmed messages a send fails at once with
        L{OutboxFull}; a confirmation makes room again.
        """
        client = self.client(outbox=OutboxPolicy(max_messages=2))
        self.endpoint.last.connected("1.2")
        client.send(b"1", "/queue/a")
        client.send(b"2", "/queue/a")
        self.failureResultOf(client.send(b"3", "/queue/a"), OutboxFull)
        first = self.endpoint.last.sent()[0]
        self.endpoint.last.receipt(first.headers["receipt"])
        self.assertNoResult(client.send(b"3", "/queue/a"))

    def test_bounded_in_bytes(self) -> None:
        """
        Past C{max_bytes} of unconfirmed bodies a send fails at once with
        L{OutboxFull}, naming the bound.
        """
        client = self.client(outbox=OutboxPolicy(max_bytes=10))
        client.send(b"x" * 6, "/queue/a")
        failure = self.failureResultOf(client.send(b"x" * 5, "/queue/a"), OutboxFull)
        self.assertIn("10", str(failure.value))

    def test_queued_fail_when_giving_up(self) -> None:
        """
        When the client gives up, queued sends fail with L{NotConnected}.
        """
        self.endpoint.refuse = ConnectionRefusedError()
        client = StompClient(
            self.endpoint,
            reactor=self.clock,
            reconnect=ReconnectPolicy(initial_delay=1.0, jitter=0.0, max_attempts=2),
            outbox=OutboxPolicy(),
        )
        client.start()
        sending = client.send(b"x", "/queue/a")
        self.clock.advance(1.0)
        self.failureResultOf(sending, NotConnected)

    def test_queued_fail_on_disconnect(self) -> None:
        """
        L{StompClient.disconnect} fails queued sends with L{ClientClosed}.
        """
        client = self.client()
        sending = client.send(b"x", "/queue/a")
        client.disconnect()
        self.failureResultOf(sending, ClientClosed)

    def test_bad_policy(self) -> None:
        """
        Non-positive bounds raise L{BadArgument}.
        """
        self.assertRaises(BadArgument, OutboxPolicy, max_messages=0)
        self.assertRaises(BadArgument, OutboxPolicy, max_bytes=0)


class InFlightTests(SynchronousTestCase):
    """
    C{max_in_flight}: reading pauses while too many messages' callbacks
    are still running.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.endpoint = FakeEndpoint()
        self.client = StompClient(
            self.endpoint, reactor=self.clock, reconnect=None, max_in_flight=4
        )
        self.client.start()
        self.conn = self.endpoint.last
        self.conn.connected("1.2")
        self.work: list[Deferred[None]] = []
        self.client.subscribe("/queue/a", self.slow, receipt=False)
        self.conn.sent()

    def slow(self, client: StompClient, body: bytes, headers: dict[str, str]) -> Deferred[None]:
        self.work.append(Deferred())
        return self.work[-1]

    def deliver(self, count: int) -> None:
        for n in range(count):
            self.conn.receive(
                "MESSAGE",
                {"destination": "/queue/a", "subscription": "sub-1", "message-id": f"m{n}"},
                b"x",
            )

    def test_pauses_at_the_bound_and_resumes_at_half(self) -> None:
        """
        At C{max_in_flight} running callbacks the transport is paused and
        buffered messages wait; when half are done reading resumes and the
        waiting messages are delivered.
        """
        self.deliver(3)
        self.assertEqual(self.conn.transport.producerState, "producing")
        self.deliver(3)  # the 4th pauses; the 5th and 6th stay buffered
        self.assertEqual(len(self.work), 4)
        self.assertEqual(self.conn.transport.producerState, "paused")
        self.work[0].callback(None)
        self.assertEqual(self.conn.transport.producerState, "paused")
        self.work[1].callback(None)
        # Two done: reading resumed, the two buffered messages arrived, and
        # with four running again it paused again.
        self.assertEqual(len(self.work), 6)
        self.assertEqual(self.conn.transport.producerState, "paused")
        for work in self.work[2:]:
            work.callback(None)
        self.assertEqual(self.conn.transport.producerState, "producing")

    def test_synchronous_callbacks_do_not_count(self) -> None:
        """
        Callbacks that finish at once never pause reading.
        """
        self.client.unsubscribe("sub-1", receipt=False)
        self.client.subscribe("/queue/a", lambda *args: None, receipt=False)
        self.deliver(20)
        self.assertEqual(self.conn.transport.producerState, "producing")

    def test_disconnect_reads_the_receipt(self) -> None:
        """
        A graceful disconnect while paused resumes reading, so that the
        DISCONNECT receipt is seen.
        """
        self.deliver(4)
        self.assertEqual(self.conn.transport.producerState, "paused")
        self.conn.sent()
        closing = self.client.disconnect()
        self.clock.advance(10)
        self.assertEqual(self.conn.transport.producerState, "producing")
        self.assertNoResult(closing)


class SendBufferTests(SynchronousTestCase):
    """
    Outgoing flow control: the transport's producer pauses.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.endpoint = FakeEndpoint()
        self.client = StompClient(
            self.endpoint, reactor=self.clock, reconnect=None, max_send_buffer=1000
        )
        self.client.start()
        self.conn = self.endpoint.last
        self.conn.connected("1.2")
        self.conn.sent()
        # What a TCP transport does when its buffer passes its high-water
        # mark: pause the producer the protocol registered.
        self.buffer = self.conn.transport.producer

    def test_sends_wait_for_the_buffer_to_drain(self) -> None:
        """
        While the transport's buffer is full, a send without a receipt is
        written but fires only once the buffer has drained.
        """
        self.buffer.pauseProducing()
        sending = self.client.send(b"x", "/queue/a", receipt=False)
        self.assertEqual(len(self.conn.sent()), 1)
        self.assertNoResult(sending)
        self.buffer.resumeProducing()
        self.assertIsNone(self.successResultOf(sending))

    def test_bounded_while_full(self) -> None:
        """
        Past C{max_send_buffer} bytes written while the buffer is full, a
        send raises L{SendBufferFull} and writes nothing; once drained,
        sending works again.
        """
        self.buffer.pauseProducing()
        self.client.send(b"x" * 400, "/queue/a", receipt=False)
        self.client.send(b"x" * 400, "/queue/a", receipt=False)
        self.conn.sent()
        self.assertRaises(SendBufferFull, self.client.send, b"x" * 400, "/queue/a")
        self.assertEqual(self.conn.sent(), [])
        self.buffer.resumeProducing()
        self.client.send(b"x" * 400, "/queue/a")
        self.assertEqual(len(self.conn.sent()), 1)

    def test_own_frames_are_not_refused(self) -> None:
        """
        The client's own frames (automatic ACKs) are written even past the
        bound: the bound pushes back on the caller, not on them.
        """
        self.client.subscribe("/queue/a", lambda *args: None, ack="auto", receipt=False)
        self.conn.sent()
        self.buffer.pauseProducing()
        self.client.send(b"x" * 900, "/queue/a", receipt=False)
        self.conn.sent()
        # At the bound: the caller is refused even a small frame...
        self.assertRaises(SendBufferFull, self.client.send, b"x" * 50, "/queue/a")
        # ...but the client's own ACK goes out.
        self.conn.receive(
            "MESSAGE",
            {"destination": "/queue/a", "subscription": "sub-1", "message-id": "m", "ack": "a"},
            b"x",
        )
        self.assertEqual([frame.command for frame in self.conn.sent()], ["ACK"])

    def test_waiting_sends_fail_with_the_connection(self) -> None:
        """
        A send waiting for the buffer to drain fails with
        L{ConnectionLost} if the connection goes first.
        """
        self.buffer.pauseProducing()
        sending = self.client.send(b"x", "/queue/a", receipt=False)
        self.conn.lose()
        self.failureResultOf(sending, ConnectionLost)
