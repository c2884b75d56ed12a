"""
Tests of OrderConsumer (consumer.py) with the in-memory broker: no
sockets, no real time.  Run them from this directory:

    python -m twisted.trial test_consumer
"""

import json

from consumer import OrderConsumer
from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase

from stomp_twisted.testing import MemoryBroker, connect_client


class OrderConsumerTests(SynchronousTestCase):
    def setUp(self):
        self.broker = MemoryBroker()
        self.work = []  # (order, Deferred) for each store() call
        OrderConsumer(connect_client(self.broker), "/queue/orders", self.store).start()

    def store(self, order):
        stored = Deferred()
        self.work.append((order, stored))
        return stored

    def test_acknowledges_once_stored(self):
        self.broker.publish("/queue/orders", json.dumps({"id": 7}))
        self.broker.flush()
        [(order, stored)] = self.work
        self.assertEqual(order, {"id": 7})
        self.assertEqual(len(self.broker.unacknowledged("/queue/orders")), 1)
        stored.callback(None)
        self.broker.flush()
        self.assertEqual(self.broker.unacknowledged("/queue/orders"), [])

    def test_failed_store_is_retried(self):
        self.broker.publish("/queue/orders", json.dumps({"id": 8}))
        self.broker.flush()
        self.work[0][1].errback(OSError("disk full"))
        # The client sends NACK after its redelivery policy's delay.
        self.broker.advance(1)
        self.assertEqual([order for order, _ in self.work], [{"id": 8}] * 2)
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
