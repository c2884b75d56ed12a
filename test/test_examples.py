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
