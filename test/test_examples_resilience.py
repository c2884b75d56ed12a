"""
The examples of the resilience guides (reconnecting, failover, heart-beats,
TLS, flow control) run as written against the local brokers, and print
what the guides say they print.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import SkipTest, TestCase

from .brokers import ACTIVEMQ, RABBITMQ, Broker, require

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TLS_FILES = [os.path.join(TOP, ".brokers", "tls", name) for name in ("ca.pem", "client.pem")]

#: What the examples print for a port where nothing listens.
REFUSED = (
    r"could not connect to tcp://127\.0\.0\.1:\d+: "
    r"Connection was refused by other side: 111: Connection refused\."
)

#: What they print for a connection cut abruptly.
LOST = re.escape("Connection to the other side was lost in a non-clean fashion.")


def require_tls() -> None:
    """
    Skip unless ActiveMQ's TLS connectors and the test PKI are there (in
    CI, fail instead).
    """
    require(Broker("activemq (stomp+ssl)", 61624))
    require(Broker("activemq (stomp+ssl, client certificate required)", 61625))
    missing = [path for path in TLS_FILES if not os.path.exists(path)]
    if missing:
        reason = f"the test PKI is missing ({', '.join(missing)}); run scripts/brokers start"
        if os.environ.get("CI"):
            raise AssertionError(reason)
        raise SkipTest(reason)


class ResilienceExampleTests(TestCase):
    timeout = 60

    @inlineCallbacks
    def run_ok(self, name: str) -> Any:
        """
        Run C{docs/examples/NAME.py} from the top of the repository, check
        that it exits 0 without writing to standard error, and return its
        standard output as lines of text.
        """
        env = dict(os.environ, PYTHONPATH=TOP)
        out, err, status = yield getProcessOutputAndValue(
            sys.executable, [f"docs/examples/{name}.py"], env=env, path=TOP, reactor=reactor
        )
        self.assertEqual(status, 0, err.decode())
        self.assertEqual(err.decode(), "")
        return out.decode().splitlines()

    def assertMatches(self, lines: list[str], patterns: list[str]) -> None:
        """
        Each of C{lines} matches the regular expression at its position in
        C{patterns}, in full.
        """
        self.assertEqual(len(lines), len(patterns), "\n".join(lines))
        for line, pattern in zip(lines, patterns, strict=True):
            self.assertIsNotNone(re.fullmatch(pattern, line), f"{line!r} !~ {pattern!r}")

    @inlineCallbacks
    def test_reconnect(self) -> Any:
        """
        C{docs/examples/reconnect.py} gives up after three refused attempts
        and says why twice; then reconnects after a cut, subscribed again,
        with the receipt in flight lost, the old message's ACK refused and
        a send while disconnected failed; and with an outbox, has its
        message confirmed on the next connection.
        """
        require(RABBITMQ)
        lines = yield self.run_ok("reconnect")
        gave_up = f"gave up after 3 failed attempts; last: {REFUSED}"
        self.assertMatches(
            lines,
            [f"connect_error: {REFUSED}"] * 3
            + [f"when_connected failed: {gave_up}", f"disconnect: {gave_up}"]
            + [
                re.escape(line)
                for line in [
                    "received 'before the cut' through sub-1",
                    "the receipt of 'in flight' failed: ConnectionLost",
                ]
            ]
            + [f"event: io_error: {LOST}", f"event: disconnect: {LOST}"]
            + [
                re.escape(line)
                for line in [
                    "send while disconnected: NotConnected",
                    "event: prepare",
                    "event: connect",
                    "reconnected, subscribed again: [('sub-1', 'manual')]",
                    "ack of 'before the cut': AckError",
                    "received 'after the cut' through sub-1",
                    "outbox: the receipt of 'kept across the cut' came on the next connection",
                    "received 'kept across the cut'",
                ]
            ],
        )

    @inlineCallbacks
    def test_failover(self) -> Any:
        """
        C{docs/examples/failover.py} skips the dead first broker of a list
        and of a failover URI, and moves from RabbitMQ to ActiveMQ when
        RabbitMQ goes away.
        """
        require(RABBITMQ)
        require(ACTIVEMQ)
        lines = yield self.run_ok("failover")
        self.assertMatches(
            lines,
            [
                f"connect_error: {REFUSED}",
                r"list: connected to RabbitMQ/[\d.]+",
                f"connect_error: {REFUSED}",
                r"URI: connected to ActiveMQ/[\d.]+",
                r"loss: connected to RabbitMQ/[\d.]+",
                f"disconnect: {LOST}",
                r"loss: connected to ActiveMQ/[\d.]+, subscribed again: sub-1",
                r"received 'hello again' from ActiveMQ/[\d.]+",
            ],
        )

    @inlineCallbacks
    def test_heartbeats(self) -> Any:
        """
        C{docs/examples/heartbeats.py} negotiates 1000 ms both ways with
        RabbitMQ, stays connected through idle seconds on heart-beats
        alone, and presumes the broker dead once it falls silent.
        """
        require(RABBITMQ)
        lines = yield self.run_ok("heartbeats")
        self.assertMatches(
            lines,
            [
                "offered heart-beat:1000,1000; the broker answered heart-beat:1000,1000",
                "the client sends every 1000 ms and expects something every 1000 ms",
                r"in 3\.5 idle seconds: (\d+) heart-beats from the broker, (\d+) from the client; "
                "connected: True",
                "the send failed: ConnectionLost, because of HeartbeatTimeout",
                re.escape(
                    "io_error: nothing received from the broker for 3 s "
                    "(heart-beat interval 1000 ms x tolerance 3): presumed dead"
                ),
                "reconnected: True",
            ],
        )
        counts = re.search(r"(\d+) heart-beats from the broker, (\d+) from the client", lines[2])
        assert counts is not None
        # RabbitMQ beats every half interval; the client every interval.
        self.assertGreaterEqual(int(counts.group(1)), 3, lines[2])
        self.assertGreaterEqual(int(counts.group(2)), 2, lines[2])

    @inlineCallbacks
    def test_tls(self) -> Any:
        """
        C{docs/examples/tls.py} sends and receives over verified TLS (a
        private CA, a client certificate, an endpoint string) and reports
        each refusal with the TLSError text that says what to change.
        """
        require_tls()
        lines = yield self.run_ok("tls")
        self.assertEqual(
            [line.split(":")[0] for line in lines],
            [
                "private CA",
                "client certificate",
                "endpoint string",
                "platform roots",
                "wrong name",
                "no client certificate",
            ],
            lines,
        )
        for line in lines[:3]:
            self.assertRegex(line, r": received 'over TLS' from ActiveMQ/[\d.]+$")
        self.assertIn("certificate verification failed", lines[3])
        self.assertIn("pass that CA's PEM file as TLSOptions(ca_file=...)", lines[3])
        self.assertIn(
            "TLS to localhost:61624 failed: host name verification failed: the broker's "
            "certificate is for localhost, 127.0.0.1, not 'broker.example.com'",
            lines[4],
        )
        self.assertIn("the broker asks for a client certificate", lines[5])
        self.assertIn("set TLSOptions(cert_file=..., key_file=...)", lines[5])

    @inlineCallbacks
    def test_flow_control(self) -> Any:
        """
        C{docs/examples/flow_control.py} never has more than
        C{max_in_flight} callbacks running, nor more than the broker's
        prefetch without that bound; raises SendBufferFull only for a
        sender who does not wait; and refuses a message past the outbox's
        bound.
        """
        require(RABBITMQ)
        lines = yield self.run_ok("flow_control")
        self.assertMatches(
            lines,
            [
                r"max_in_flight=10: 300 messages, at most (\d+) in flight",
                r"max_in_flight=1000 \(the default\): at most (\d+) in flight, the prefetch-count",
                r"\d+ sends of 64 KiB without waiting, then SendBufferFull: the connection's send "
                r"buffer is full and \d+ bytes were written since \(max_send_buffer=262144\): "
                "wait for earlier sends to fire before sending more",
                "100 sends of 64 KiB, each waited on: no SendBufferFull",
                "message 4: OutboxFull: the outbox holds 3 unconfirmed messages, its maximum",
                "messages 1 to 3: 3 receipts once connected",
            ],
        )
        bounded = re.search(r"at most (\d+) in flight", lines[0])
        prefetched = re.search(r"at most (\d+) in flight", lines[1])
        assert bounded is not None and prefetched is not None
        self.assertLessEqual(int(bounded.group(1)), 10)
        self.assertGreater(int(bounded.group(1)), 1)
        self.assertLessEqual(int(prefetched.group(1)), 100)
        self.assertGreater(int(prefetched.group(1)), 10)
