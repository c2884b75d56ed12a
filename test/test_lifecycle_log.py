"""
The client's lifecycle in the log (C{twisted.logger}), and its counters
(L{StompClient.stats}), over the in-memory endpoint of L{test.fakes}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.error import ConnectionLost as TCPConnectionLost
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import provider

from stomp_twisted.client import StompClient
from stomp_twisted.failover import ReconnectPolicy

from .fakes import FakeEndpoint

PASSCODE = "s3cret-passcode"


class LogCapture:
    """
    Every event logged under C{stomp_twisted} while it is installed.
    """

    def __init__(self, test: SynchronousTestCase) -> None:
        self.events: list[dict[str, Any]] = []

        @provider(ILogObserver)
        def observe(event: dict[str, Any]) -> None:
            if str(event.get("log_namespace", "")).startswith("stomp_twisted"):
                self.events.append(event)

        globalLogPublisher.addObserver(observe)
        test.addCleanup(globalLogPublisher.removeObserver, observe)

    def lines(self) -> list[tuple[str, str]]:
        """
        C{(level, text)} for each event.
        """
        return [(event["log_level"].name, formatEvent(event)) for event in self.events]

    def take(self) -> list[tuple[str, str]]:
        lines = self.lines()
        self.events.clear()
        return lines


class LifecycleLogTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.endpoint = FakeEndpoint()
        self.log = LogCapture(self)

    def client(self, **kwargs: Any) -> StompClient:
        kwargs.setdefault("reconnect", ReconnectPolicy(initial_delay=1.0, jitter=0.0))
        client = StompClient(
            self.endpoint, reactor=self.clock, login="guest", passcode=PASSCODE, **kwargs
        )
        client.start()
        return client

    def assertNoPasscode(self) -> None:
        for event in self.log.events:
            self.assertNotIn(PASSCODE, formatEvent(event))
            self.assertNotIn(PASSCODE, repr(event))

    def test_connect_lose_reconnect_resubscribe(self) -> None:
        """
        Connecting, connected (with the server header, version and
        heart-beats), a lost connection, the wait before reconnecting and
        the renewed subscriptions each get one line.
        """
        client = self.client()
        conn = self.endpoint.last
        conn.connected("1.2", server="RabbitMQ/3.10.8", **{"heart-beat": "0,0"})
        client.subscribe("/queue/a", receipt=False)
        client.subscribe("/queue/b", receipt=False)
        lines = self.log.take()
        self.assertEqual([level for level, _ in lines], ["info", "info"])
        self.assertTrue(lines[0][1].startswith("connecting to "), lines)
        self.assertIn("(RabbitMQ/3.10.8, STOMP 1.2, heart-beats 0/0 ms)", lines[1][1])
        self.clock.advance(60)
        conn.lose(TCPConnectionLost("cable cut"))
        lines = self.log.take()
        self.assertEqual(len(lines), 2, lines)
        self.assertEqual(lines[0][0], "warn")
        self.assertTrue(lines[0][1].startswith(f"connection to {client.broker} lost: "), lines)
        self.assertIn("cable cut", lines[0][1])
        self.assertEqual(lines[1][0], "info")
        self.assertIn("reconnecting to ", lines[1][1])
        self.assertIn(" in 1.00 s", lines[1][1])
        self.clock.advance(1.0)
        self.endpoint.last.connected("1.2")
        lines = self.log.take()
        self.assertEqual([level for level, _ in lines], ["info", "info", "info"])
        self.assertIn("re-subscribed 2 subscription(s)", lines[2][1])
        self.assertNoPasscode()

    def test_refusal_logged_once_and_giving_up_warns(self) -> None:
        """
        A refused CONNECT is one warning (not one from each layer), and
        giving up is a warning that says why.
        """
        self.client(reconnect=None)
        self.endpoint.last.receive("ERROR", {"message": "Access refused"}, b"bad passcode")
        self.endpoint.last.lose()
        lines = self.log.take()
        refusals = [(level, text) for level, text in lines if "Access refused" in text]
        self.assertEqual(len(refusals), 1, lines)
        self.assertEqual(refusals[0][0], "warn")
        self.assertIn("broker refused CONNECT", refusals[0][1])
        self.assertEqual(lines[-1], ("warn", "giving up: reconnection is off (reconnect=None)"))
        self.assertNoPasscode()

    def test_disconnect_is_info(self) -> None:
        """
        Leaving on purpose is logged at info level, not as a loss.
        """
        client = self.client()
        conn = self.endpoint.last
        conn.connected("1.2")
        self.log.take()
        client.disconnect()
        conn.sent()
        conn.receipt("r-1")
        conn.lose()
        lines = self.log.take()
        self.assertEqual(len(lines), 1, lines)
        self.assertEqual(lines[0][0], "info")
        self.assertIn("disconnected from ", lines[0][1])
        self.assertIn("closed by disconnect()", lines[0][1])


class StatsTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.endpoint = FakeEndpoint()

    def test_counts(self) -> None:
        """
        The counters follow messages, acknowledgements, sends, receipts,
        reconnections and bytes, across connections.
        """
        client = StompClient(
            self.endpoint, reactor=self.clock, reconnect=ReconnectPolicy(jitter=0.0)
        )
        client.start()
        conn = self.endpoint.last
        conn.connected("1.2")
        self.assertEqual(client.stats.connections, 1)
        self.assertEqual(client.stats.reconnects, 0)
        client.subscribe("/queue/a", ack="manual", receipt=False)
        sent = client.send(b"hello", "/queue/a")
        self.assertEqual(client.stats.sent, 1)
        self.assertEqual(client.stats.receipts_pending, 1)
        conn.receipt("r-1")
        self.successResultOf(sent)
        for number, redelivered in ((1, "false"), (2, "true")):
            conn.receive(
                "MESSAGE",
                {
                    "subscription": "sub-1",
                    "destination": "/queue/a",
                    "message-id": f"m-{number}",
                    "ack": f"a-{number}",
                    "redelivered": redelivered,
                },
                b"x",
            )
        stats = client.stats
        self.assertEqual((stats.messages_received, stats.redelivered), (2, 1))
        self.assertEqual(stats.unacknowledged, 2)
        self.assertEqual(stats.receipts, 1)
        self.assertEqual(stats.receipts_pending, 0)
        client.ack("a-1", receipt=False)
        client.nack("a-2", receipt=False)
        stats = client.stats
        self.assertEqual((stats.acknowledged, stats.nacked, stats.unacknowledged), (1, 1, 0))
        self.assertTrue(stats.connected)
        bytes_in, bytes_out = stats.bytes_in, stats.bytes_out
        self.assertEqual(bytes_in, conn.protocol.bytes_received)
        self.assertGreater(bytes_out, 0)
        self.clock.advance(60)
        conn.lose(TCPConnectionLost())
        self.assertFalse(client.stats.connected)
        self.assertEqual(client.stats.bytes_in, bytes_in)
        self.clock.advance(1.0)
        self.endpoint.last.connected("1.2")
        stats = client.stats
        self.assertEqual((stats.connections, stats.reconnects), (2, 1))
        self.assertGreater(stats.bytes_in, bytes_in)
        self.assertGreater(stats.bytes_out, bytes_out)
