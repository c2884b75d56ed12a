"""
The documentation's examples run as written, against the local RabbitMQ.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from .brokers import RABBITMQ, require

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ExampleTests(TestCase):
    timeout = 60

    def setUp(self) -> None:
        require(RABBITMQ)

    def run_example(self, *argv: str) -> Any:
        env = dict(os.environ, PYTHONPATH=TOP)
        return getProcessOutputAndValue(sys.executable, argv, env=env, path=TOP, reactor=reactor)

    @inlineCallbacks
    def test_hello(self) -> Any:
        """
        C{docs/examples/hello.py} sends a message, receives it back and
        exits 0.
        """
        out, err, status = yield self.run_example("docs/examples/hello.py")
        self.assertEqual(status, 0, err.decode())
        self.assertIn(b"received 'hello, ", out)
        self.assertIn(b"sent 'hello, ", out)

    @inlineCallbacks
    def test_demo_send(self) -> Any:
        """
        C{scripts/demo_send.py}, the README's second terminal, sends with
        receipts and exits 0.
        """
        out, err, status = yield self.run_example(
            "scripts/demo_send.py",
            "--destination",
            "/queue/stomp-twisted-test.demo",
            "--count",
            "2",
        )
        self.assertEqual(status, 0, err.decode())
        self.assertEqual(out.count(b"broker receipt received"), 2)

    @inlineCallbacks
    def run_ok(self, name: str) -> Any:
        """
        Run C{docs/examples/NAME.py}, check that it exits 0 and return its
        standard output as lines of text.
        """
        out, err, status = yield self.run_example(f"docs/examples/{name}.py")
        self.assertEqual(status, 0, err.decode())
        return out.decode().splitlines()

    def assertInOrder(self, lines: list[str], expected: list[str]) -> None:
        """
        Each of C{expected} is one of C{lines}, in that order (other lines
        may come between them).
        """
        positions = []
        for line in expected:
            self.assertIn(line, lines)
            positions.append(lines.index(line))
        self.assertEqual(positions, sorted(positions), lines)

    @inlineCallbacks
    def test_factory(self) -> Any:
        """
        C{docs/examples/factory.py}: the factory through connectTCP and
        through ClientService, with the states it prints.
        """
        lines = yield self.run_ok("factory")
        self.assertEqual(
            lines,
            [
                "before connectTCP: not started",
                "after connectTCP: connected",
                "connectTCP round trip: hello",
                "after disconnect(): closed",
                "ClientService round trip: hello",
            ],
        )

    @inlineCallbacks
    def test_connecting(self) -> Any:
        """
        C{docs/examples/connecting.py} negotiates STOMP 1.1 and 1.2, is
        refused with a wrong passcode, and gives up after three attempts.
        """
        lines = yield self.run_ok("connecting")
        self.assertEqual(lines[0], "offered 1.0,1.1: the broker chose STOMP 1.1")
        self.assertEqual(lines[1], "offered 1.0,1.1,1.2: the broker chose STOMP 1.2")
        self.assertTrue(lines[2].startswith("refused: broker sent ERROR: "), lines)
        self.assertEqual(
            lines[3:], ["connect_error"] * 3 + ["gave up: gave up after 3 failed attempts"]
        )

    @inlineCallbacks
    def test_sending(self) -> Any:
        """
        C{docs/examples/sending.py} gets 101 receipts, raises each mistake
        at the call, receives all 102 messages, and cannot send after
        disconnecting.
        """
        lines = yield self.run_ok("sending")
        self.assertEqual(
            lines,
            [
                "the broker has it: RECEIPT r-2",
                "100 receipts for 100 messages in flight",
                "without a receipt: None",
                "BadArgument: body must be bytes or str, not int",
                "BadArgument: headers: header 'priority' must be a str or int, not float",
                "UnrepresentableHeader: header value 'a\\x00b' contains '\\x00', "
                "which STOMP cannot carry in a header",
                "received 102 messages, the last b'\\x00raw bytes\\xff'",
                "ClientClosed: cannot send: the client is closed (disconnect() was called)",
            ],
        )

    @inlineCallbacks
    def test_worker(self) -> Any:
        """
        C{docs/examples/worker.py} acknowledges jobs 1 and 3, refuses job 2
        once (logging why), and finishes it when the broker delivers it
        again.
        """
        out, err, status = yield self.run_example("docs/examples/worker.py")
        self.assertEqual(status, 0, err.decode())
        lines = out.decode().splitlines()
        self.assertInOrder(
            lines,
            [
                "working on job 2 (redelivered: false)",
                "working on job 2 (redelivered: true)",
                "done with job 2",
                "attempts: {'job 1': 1, 'job 2': 2, 'job 3': 1}",
            ],
        )
        self.assertIn("done with job 1", lines)
        self.assertIn("done with job 3", lines)
        self.assertIn(b"RuntimeError: job 2 failed", err)

    @inlineCallbacks
    def test_manual_ack(self) -> Any:
        """
        C{docs/examples/manual_ack.py} acknowledges, refuses and
        acknowledges again by hand, and unsubscribes.
        """
        lines = yield self.run_ok("manual_ack")
        self.assertEqual(
            lines,
            [
                "subscribed: [('sub-1', 'manual'), ('sub-2', None)]",
                "acknowledged order 1",
                "refused order 2",
                "order 2 again, redelivered: true",
                "'hello' needs no acknowledgement",
                "after unsubscribe: ['sub-1']",
            ],
        )

    @inlineCallbacks
    def test_transactions(self) -> Any:
        """
        C{docs/examples/transactions.py} aborts, commits, and loses a
        transaction with its connection.
        """
        lines = yield self.run_ok("transactions")
        self.assertEqual(
            lines,
            [
                "tx-1: aborted",
                "tx-2: committed",
                "received payment 1",
                "received payment 2",
                "the broker closed the connection: ConnectionLost",
                "tx-3: began on a connection that is gone",
                "received payment 4",
            ],
        )

    @inlineCallbacks
    def test_events(self) -> Any:
        """
        C{docs/examples/events.py} sees the events in the documented
        order, and a broken observer stops no other.
        """
        out, err, status = yield self.run_example("docs/examples/events.py")
        self.assertEqual(status, 0, err.decode())
        lines = out.decode().splitlines()
        self.assertInOrder(
            lines,
            [
                "client: prepare",
                "client: connect to 127.0.0.1:61613",
                "when_connected fired: STOMP 1.2",
                "CONNECTED, priority -1",
                "CONNECTED, priority 0",
                "frame CONNECTED",
                "subscription callback hello",
                "MESSAGE hello",
                "frame MESSAGE",
                "client: disconnect: closed by disconnect()",
                "refused: connect_error",
                "refused: when_connected failed with NotConnected",
            ],
        )
        self.assertTrue(lines[-1].startswith("refused: disconnect: could not connect"), lines)
        self.assertIn(b"RuntimeError: a broken observer", err)
        # A connection that never came up fires no "prepare": there was no
        # protocol to hand over.
        self.assertNotIn("refused: prepare", lines)

    @inlineCallbacks
    def test_errors(self) -> Any:
        """
        C{docs/examples/errors.py} provokes each error where the errors
        page says it happens.
        """
        lines = yield self.run_ok("errors")
        names = [line.split(":")[0] for line in lines if not line.startswith(" ")]
        self.assertEqual(
            names,
            [
                "NotConnected",
                "BadArgument",
                "UnrepresentableHeader",
                "AckError",
                "ERROR frame",
                "ConnectionLost",
                "ConnectionLost",
                "ClientClosed",
                "BrokerError",
                "ConnectionLost",
                "io_error",
            ],
        )
        self.assertIn("  .message='no SEND here' .body='this broker refuses every message'", lines)
        self.assertEqual(lines[-1], "io_error: unknown STOMP command b'NONSENSE'")

    @inlineCallbacks
    def test_synopsis(self) -> Any:
        """
        C{docs/examples/synopsis.py}, AnyEvent::STOMP's SYNOPSIS in Python,
        receives and acknowledges its own message.
        """
        lines = yield self.run_ok("synopsis")
        sent = [line for line in lines if line.startswith("sent ")]
        self.assertEqual(len(sent), 1, lines)
        text = sent[0][len("sent ") :]
        self.assertIn(f"MESSAGE {text}", lines)
        self.assertEqual(lines[0], "frame CONNECTED")
        self.assertIn("frame MESSAGE", lines)


class FailureExampleTests(TestCase):
    """
    C{docs/examples/failures.py} runs brokers of its own on loopback: no
    real broker needed.
    """

    timeout = 60

    @inlineCallbacks
    def test_failures(self) -> Any:
        """
        The refused CONNECT fails C{when_connected()} at once, a missing
        receipt times out, short sessions back off and give up after
        C{max_attempts}, and a deaf broker cannot hold up C{disconnect()}.
        """
        env = dict(os.environ, PYTHONPATH=TOP)
        out, err, status = yield getProcessOutputAndValue(
            sys.executable, ["docs/examples/failures.py"], env=env, path=TOP, reactor=reactor
        )
        self.assertEqual(status, 0, err.decode())
        lines = out.decode().splitlines()
        self.assertEqual(len(lines), 6, lines)
        self.assertEqual(
            lines[:2],
            [
                "refused: when_connected failed at once: Virtual host '/' not served",
                "no receipts: ReceiptTimeout",
            ],
        )
        gaps = []
        for line, reason in zip(
            lines[2:5],
            ["the broker closed the connection"] * 2 + ["gave up after 3 failed attempts"],
            strict=True,
        ):
            prefix, _, rest = line.partition(" s: ")
            self.assertEqual(rest, reason)
            gaps.append(float(prefix.rsplit(" ", 1)[1]))
        # The waits between sessions grow: 0.2 s, then 0.4 s.
        self.assertGreaterEqual(gaps[1], 0.2)
        self.assertGreaterEqual(gaps[2], 0.4)
        self.assertIn(lines[5], ["deaf broker: disconnect() ended within 2 s"])


class PoisonExampleTests(TestCase):
    """
    C{docs/examples/poison.py}, run against the local RabbitMQ as
    L{ExampleTests} run theirs.
    """

    timeout = 60

    def setUp(self) -> None:
        require(RABBITMQ)

    @inlineCallbacks
    def test_poison(self) -> Any:
        """
        The always-failing order is delivered C{max_deliveries} (3) times,
        then rejected and reported by the C{"poison"} event; the good
        orders are handled once each.
        """
        env = dict(os.environ, PYTHONPATH=TOP)
        out, err, status = yield getProcessOutputAndValue(
            sys.executable, ["docs/examples/poison.py"], env=env, path=TOP, reactor=reactor
        )
        self.assertEqual(status, 0, err.decode())
        self.assertEqual(
            out.decode().splitlines(),
            [
                "poison: order 2 (order 2 is malformed)",
                "handled: ['order 1', 'order 3']",
                "deliveries: {'order 1': 1, 'order 2': 3, 'order 3': 1}",
            ],
        )
        self.assertEqual(err.count(b"ValueError: order 2 is malformed"), 3)
