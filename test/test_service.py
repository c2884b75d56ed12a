"""
L{stomp_twisted.service.StompService} and L{StompClient.drain}, in memory: a
L{FakeEndpoint} plays the broker and a L{Clock} the reactor's time.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from twisted.application.service import MultiService
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.trial.unittest import TestCase

from stomp_twisted import BadArgument, ClientClosed, ReconnectPolicy, StompClient, StompService
from stomp_twisted.frame import Frame

from .fakes import FakeConnection, FakeEndpoint

QUEUE = "/queue/work"


class ServiceTestCase(TestCase):
    """
    Makes services on a L{FakeEndpoint} and a L{Clock}.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.endpoint = FakeEndpoint()

    def make_service(self, **kwargs: Any) -> StompService:
        kwargs.setdefault("reactor", self.clock)
        kwargs.setdefault("reconnect", None)
        return StompService(self.endpoint, **kwargs)

    def started(
        self, ack: str | None = "auto", version: str = "1.2", **kwargs: Any
    ) -> tuple[StompService, FakeConnection]:
        """
        A started service subscribed to L{QUEUE}, past CONNECTED, with
        what it wrote so far read.
        """
        connected_headers = kwargs.pop("connected_headers", {})
        service = self.make_service(destination=QUEUE, ack=ack, **kwargs)
        service.startService()
        conn = self.endpoint.last
        self.assertEqual(conn.sent_one().command, "CONNECT")
        conn.connected(version, **connected_headers)
        self.assertEqual(conn.sent_one().command, "SUBSCRIBE")
        return service, conn

    def deliver(self, conn: FakeConnection, number: int) -> None:
        conn.receive(
            "MESSAGE",
            {
                "subscription": "sub-1",
                "destination": QUEUE,
                "message-id": f"m-{number}",
                "ack": f"a-{number}",
            },
            f"job {number}".encode(),
        )

    def leave(self, conn: FakeConnection) -> None:
        """
        The broker's side of DISCONNECT: the RECEIPT, then the close.
        """
        disconnect = conn.sent_one()
        self.assertEqual(disconnect.command, "DISCONNECT")
        conn.receipt(disconnect.headers["receipt"])
        conn.lose()

    def settle_then_leave(self, conn: FakeConnection, command: str) -> Frame:
        """
        The last running callback's C{command} (C{ACK} or C{NACK}), then
        at once DISCONNECT, in that order; the broker answers DISCONNECT.

        @return: the C{command} frame.
        """
        settled, disconnect = conn.sent()
        self.assertEqual((settled.command, disconnect.command), (command, "DISCONNECT"))
        conn.receipt(disconnect.headers["receipt"])
        conn.lose()
        return settled


class ConstructionTests(ServiceTestCase):
    def test_built_not_started(self) -> None:
        """
        The client exists as soon as the service does, so callbacks can be
        registered, but nothing connects before C{startService}.
        """
        service = self.make_service(destination=QUEUE, ack="auto")
        self.assertIsInstance(service.client, StompClient)
        service.client.reg_cb("MESSAGE", lambda *args: None)
        self.assertEqual(self.endpoint.attempts, 0)
        self.assertFalse(service.running)
        service.startService()
        self.assertEqual(self.endpoint.attempts, 1)
        self.assertTrue(service.running)

    def test_arguments_checked_at_construction(self) -> None:
        """
        What C{connect()} refuses, the service refuses where it is built,
        with the same errors; and a bad C{drain_timeout}.
        """
        with self.assertRaises(BadArgument) as caught:
            self.make_service(recconect=None)
        self.assertIn("unknown option(s) 'recconect'", str(caught.exception))
        with self.assertRaises(BadArgument) as caught:
            self.make_service(ack="auto")
        self.assertIn("ack applies to the subscription to destination", str(caught.exception))
        with self.assertRaises(BadArgument):
            self.make_service(receipt_timeout=-1)
        for bad in (-1, float("nan"), "10", True):
            with self.assertRaises(BadArgument) as caught:
                self.make_service(drain_timeout=bad)
            self.assertIn("drain_timeout", str(caught.exception))
        with self.assertRaises(BadArgument):
            StompService("127.0.0.1", 70000, reactor=self.clock)
        self.assertEqual(self.endpoint.attempts, 0)

    def test_import_leaves_reactor_alone(self) -> None:
        """
        Importing the package (and the service) installs no reactor.
        """
        code = (
            "import sys, stomp_twisted, stomp_twisted.service; "
            "sys.exit('twisted.internet.reactor' in sys.modules)"
        )
        self.assertEqual(subprocess.run([sys.executable, "-c", code], timeout=60).returncode, 0)


class StopTests(ServiceTestCase):
    def test_drains_auto_then_disconnects(self) -> None:
        """
        Under C{ack="auto"}, stopping waits for the callback still running;
        no new message reaches it meanwhile; its ACK is written before
        DISCONNECT, and the Deferred fires once the connection is closed.
        """
        service, conn = self.started()
        work: list[Deferred[None]] = []
        service.client.reg_cb(
            "MESSAGE", lambda c, body, headers: work.append(Deferred()) or work[-1]
        )
        self.deliver(conn, 1)
        with capturedLogs() as events:
            stopped = service.stopService()
            self.assertFalse(service.running)
            self.assertNoResult(stopped)
            self.assertTrue(conn.protocol.paused)
            self.deliver(conn, 2)
            self.assertEqual(len(work), 1)
            self.clock.advance(5)
            self.assertEqual(conn.sent(), [])
            work[0].callback(None)
            ack = self.settle_then_leave(conn, "ACK")
            self.assertEqual(ack.headers["id"], "a-1")
        self.assertIsNone(self.successResultOf(stopped))
        text = [event.get("log_format", "") for event in events]
        self.assertTrue(any("draining" in line for line in text), text)
        self.assertTrue(any("disconnected" in line for line in text), text)

    def test_drains_manual(self) -> None:
        """
        Under C{ack="manual"}, the callback's Deferred is waited for, and
        the ACK it sends goes out before DISCONNECT.
        """
        service, conn = self.started(ack="manual")
        work: list[Deferred[None]] = []

        def handler(client: StompClient, body: bytes, headers: dict[str, str]) -> Deferred[None]:
            done: Deferred[None] = Deferred()
            done.addCallback(lambda _: client.ack(headers, receipt=False))
            work.append(done)
            return done

        service.client.reg_cb("MESSAGE", handler)
        self.deliver(conn, 1)
        stopped = service.stopService()
        self.clock.advance(3)
        self.assertEqual(conn.sent(), [])
        work[0].callback(None)
        self.settle_then_leave(conn, "ACK")
        self.successResultOf(stopped)

    def test_drain_timeout(self) -> None:
        """
        A callback that never finishes holds the stop for C{drain_timeout}
        at most; its message is left unacknowledged, with a warning.
        """
        service, conn = self.started(drain_timeout=2)
        service.client.reg_cb("MESSAGE", lambda *args: Deferred())
        self.deliver(conn, 1)
        with capturedLogs() as events:
            stopped = service.stopService()
            self.clock.advance(1.9)
            self.assertEqual(conn.sent(), [])
            self.clock.advance(0.2)
            # disconnect() gives the automatic ACKs still awaited half its
            # disconnect_timeout (10 s) before DISCONNECT.
            self.assertEqual(conn.sent(), [])
            self.clock.advance(5)
            self.leave(conn)
        self.successResultOf(stopped)
        warnings = [e for e in events if "drain timeout" in e.get("log_format", "")]
        self.assertEqual(len(warnings), 1)
        self.assertEqual(warnings[0]["count"], 1)

    def test_broker_gone(self) -> None:
        """
        With the connection already lost (and reconnection pending), the
        stop ends at once, and no attempt follows.
        """
        service = self.make_service(destination=QUEUE, reconnect=None)
        service.startService()
        self.endpoint.last.lose()
        stopped = service.stopService()
        self.successResultOf(stopped)

    def test_broker_silent(self) -> None:
        """
        A broker that never answers DISCONNECT: the stop still ends, within
        C{drain_timeout} plus the client's C{disconnect_timeout}.
        """
        service, conn = self.started(drain_timeout=2, disconnect_timeout=3)
        service.client.reg_cb("MESSAGE", lambda *args: Deferred())
        self.deliver(conn, 1)
        stopped = service.stopService()
        self.clock.advance(2)
        self.clock.advance(1.5)
        self.assertEqual(conn.sent_one().command, "DISCONNECT")
        self.assertFalse(conn.closed_by_client)
        self.clock.advance(1.5)
        self.assertTrue(conn.closed_by_client)
        conn.lose()
        self.successResultOf(stopped)

    def test_idempotent(self) -> None:
        """
        Stopping twice sends one DISCONNECT; both Deferreds fire.
        """
        service, conn = self.started()
        first = service.stopService()
        second = service.stopService()
        self.leave(conn)
        self.successResultOf(first)
        self.successResultOf(second)
        self.successResultOf(service.stopService())

    def test_no_restart(self) -> None:
        """
        A stopped service cannot start again: its client has left.
        """
        service, conn = self.started()
        service.stopService()
        self.leave(conn)
        self.assertRaises(ClientClosed, service.startService)

    def test_no_reconnect_while_draining(self) -> None:
        """
        A connection lost while draining is not replaced: the messages in
        hand belonged to it.
        """
        service, conn = self.started(reconnect=ReconnectPolicy(initial_delay=0.1, max_delay=0.1))
        service.client.reg_cb("MESSAGE", lambda *args: Deferred())
        self.deliver(conn, 1)
        service.stopService()
        conn.lose()
        self.clock.advance(60)
        self.assertEqual(self.endpoint.attempts, 1)

    def test_heartbeats_paused(self) -> None:
        """
        While draining, the client reads nothing, so the broker's silence
        does not count as death: the connection survives many heart-beat
        intervals.
        """
        service, conn = self.started(
            heartbeat=(0, 1000), connected_headers={"heart-beat": "0,1000"}, drain_timeout=30
        )
        work: list[Deferred[None]] = []
        service.client.reg_cb("MESSAGE", lambda c, b, h: work.append(Deferred()) or work[-1])
        self.deliver(conn, 1)
        stopped = service.stopService()
        self.clock.advance(20)
        self.assertFalse(conn.closed_by_client)
        work[0].callback(None)
        self.settle_then_leave(conn, "ACK")
        self.successResultOf(stopped)

    def test_multiservice(self) -> None:
        """
        In a L{MultiService}, the parent's start connects and its stop waits
        for the drain and the disconnection.
        """
        parent = MultiService()
        service = self.make_service(destination=QUEUE, ack="auto")
        service.setServiceParent(parent)
        parent.startService()
        conn = self.endpoint.last
        conn.sent()
        conn.connected("1.2")
        conn.sent()
        work: list[Deferred[None]] = []
        service.client.reg_cb("MESSAGE", lambda c, b, h: work.append(Deferred()) or work[-1])
        self.deliver(conn, 1)
        stopped = parent.stopService()
        self.assertNoResult(stopped)
        work[0].callback(None)
        self.settle_then_leave(conn, "ACK")
        self.successResultOf(stopped)


class DrainTests(ServiceTestCase):
    def test_bad_timeout(self) -> None:
        """
        The drain's timeout is checked as every number of seconds is.
        """
        service = self.make_service()
        for bad in (-0.5, float("inf"), None):
            self.assertRaises(BadArgument, service.client.drain, bad)

    def test_nothing_in_flight(self) -> None:
        """
        With no callback running, the drain ends at once, with 0.
        """
        service, _ = self.started()
        self.assertEqual(self.successResultOf(service.client.drain(5)), 0)

    def test_flow_control_does_not_resume(self) -> None:
        """
        Flow control (max_in_flight) resuming reading as callbacks finish
        does not let a new message in while draining for more than a poll.
        """
        service, conn = self.started(max_in_flight=2)
        work: list[Deferred[None]] = []
        service.client.reg_cb("MESSAGE", lambda c, b, h: work.append(Deferred()) or work[-1])
        self.deliver(conn, 1)
        self.deliver(conn, 2)
        drained = service.client.drain(10)
        work[0].callback(None)
        self.clock.advance(0.05)
        self.assertTrue(conn.protocol.paused)
        work[1].callback(None)
        self.clock.advance(0.05)
        self.assertEqual(self.successResultOf(drained), 0)

    def test_cancel(self) -> None:
        """
        Cancelling the drain ends its wait: no call is left pending.
        """
        service, conn = self.started()
        service.client.reg_cb("MESSAGE", lambda *args: Deferred())
        self.deliver(conn, 1)
        drained = service.client.drain(10)
        drained.cancel()
        self.failureResultOf(drained)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_no_dispatch_while_leaving(self) -> None:
        """
        A message read while leaving (DISCONNECT's RECEIPT must be read
        past it) reaches no callback: its ACK could not follow DISCONNECT.
        """
        service, conn = self.started()
        seen: list[bytes] = []
        service.client.reg_cb("MESSAGE", lambda c, body, h: seen.append(body))
        service.stopService()
        self.deliver(conn, 1)
        self.assertEqual(seen, [])
        self.leave(conn)
        self.assertEqual(seen, [])
