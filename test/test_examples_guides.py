"""
The examples of the porting and persistence guides
(C{docs/coming-from-stomppy.rst}, C{docs/persistence.rst}) run as written
against the real brokers, and the broker behaviour those pages describe
holds.
"""

from __future__ import annotations

import os
import sys
import uuid
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import DeferredQueue, ensureDeferred, inlineCallbacks
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

import stomp_twisted
from stomp_twisted.errors import BrokerError

from .brokers import ACTIVEMQ, RABBITMQ, Broker, require

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DURABLE_OUTPUT = [
    "subscribed durably to the topic",
    "the subscriber has left",
    "published news 1, news 2, news 3 to the topic",
    "back again, it receives: news 1, news 2, news 3",
    "durable subscription ended",
    "subscribed again, the first message is: news 5",
]


class GuideExampleTests(TestCase):
    timeout = 60

    def run_example(self, *argv: str) -> Any:
        env = dict(os.environ, PYTHONPATH=TOP)
        return getProcessOutputAndValue(sys.executable, argv, env=env, path=TOP, reactor=reactor)

    @inlineCallbacks
    def test_from_stomppy(self) -> Any:
        """
        C{docs/examples/from_stomppy.py} sends, receives and acknowledges
        two orders, and its send in stomp.py's argument order is confirmed
        and lands in a queue named after the intended body.
        """
        require(RABBITMQ)
        out, err, status = yield self.run_example("docs/examples/from_stomppy.py")
        self.assertEqual(status, 0, err.decode())
        lines = out.decode().splitlines()
        self.assertEqual(
            lines[:6],
            [
                "connected with STOMP 1.2",
                "order 1 sent: the broker confirmed it (RECEIPT)",
                "order 2 sent: the broker confirmed it (RECEIPT)",
                "acknowledged order 1",
                "acknowledged order 2",
                "swapped send: the broker confirmed it too (RECEIPT)",
            ],
        )
        self.assertRegex(
            lines[6],
            r"^it landed in /queue/stomp-twisted-docs\.stray-(\w+), "
            r"with the body '/queue/stomp-twisted-docs\.from-stomppy\.\1'$",
        )
        self.assertEqual(lines[7:], ["disconnected: closed by disconnect()"])

    @inlineCallbacks
    def check_durable(self, broker: Broker) -> Any:
        require(broker)
        out, err, status = yield self.run_example("docs/examples/durable.py", broker.name)
        self.assertEqual(status, 0, err.decode())
        lines = out.decode().splitlines()
        self.assertEqual(lines[0], f"{broker.name}: {DURABLE_OUTPUT[0]}")
        self.assertEqual(lines[1:], DURABLE_OUTPUT[1:])

    def test_durable_rabbitmq(self) -> Any:
        """
        On RabbitMQ, C{docs/examples/durable.py} gets the three messages
        published while it was away, and after the subscription is ended
        nothing is kept for it.
        """
        return self.check_durable(RABBITMQ)

    def test_durable_activemq(self) -> Any:
        """
        The same on ActiveMQ, with its client-id and subscription name.
        """
        return self.check_durable(ACTIVEMQ)


class NotDurableTests(TestCase):
    """
    What C{docs/persistence.rst} says happens without the full set of
    durable headers: a topic subscriber that leaves misses what is
    published meanwhile, even persistent messages.  And ActiveMQ's one
    connection per C{client-id}.
    """

    timeout = 30

    async def missed_while_away(
        self, broker: Broker, headers: dict[str, str], connect_headers: dict[str, str] | None = None
    ) -> str:
        """
        Subscribe to a new topic with C{headers}, leave, publish "while
        away", subscribe again the same way, publish "after", and return
        the first body the subscriber then receives.
        """
        topic = f"/topic/stomp-twisted-test.durable.{uuid.uuid4().hex[:12]}"
        options: dict[str, Any] = dict(
            reactor=reactor, reconnect=None, login=broker.login, passcode=broker.passcode
        )
        subscriber = stomp_twisted.connect(
            broker.host, broker.port, connect_headers=connect_headers, **options
        )
        await subscriber.subscribe(topic, headers=headers)
        await subscriber.disconnect()
        publisher = stomp_twisted.connect(broker.host, broker.port, **options)
        await publisher.send("while away", topic, {"persistent": "true"})
        subscriber = stomp_twisted.connect(
            broker.host, broker.port, connect_headers=connect_headers, **options
        )
        received: DeferredQueue[bytes] = DeferredQueue()
        await subscriber.subscribe(
            topic, lambda client, body, headers: received.put(body), headers=headers
        )
        await publisher.send("after", topic, {"persistent": "true"})
        first = await received.get()
        await subscriber.disconnect()
        await publisher.disconnect()
        return first.decode()

    def test_plain_topic_rabbitmq(self) -> Any:
        """
        A plain topic subscription on RabbitMQ misses messages sent while
        its subscriber was away.
        """
        require(RABBITMQ)
        return ensureDeferred(self.missed_while_away(RABBITMQ, {})).addCallback(
            self.assertEqual, "after"
        )

    def test_durable_true_alone_rabbitmq(self) -> Any:
        """
        On RabbitMQ C{durable:true} without C{auto-delete:false} is not
        enough: the subscription's queue goes with the subscriber.
        """
        require(RABBITMQ)
        return ensureDeferred(self.missed_while_away(RABBITMQ, {"durable": "true"})).addCallback(
            self.assertEqual, "after"
        )

    def test_plain_topic_activemq(self) -> Any:
        """
        A plain topic subscription on ActiveMQ misses them too.
        """
        require(ACTIVEMQ)
        return ensureDeferred(self.missed_while_away(ACTIVEMQ, {})).addCallback(
            self.assertEqual, "after"
        )

    def test_name_without_client_id_activemq(self) -> Any:
        """
        On ActiveMQ a subscription name without a C{client-id} on the
        connection makes no durable subscription.
        """
        require(ACTIVEMQ)
        headers = {"activemq.subscriptionName": f"stomp-twisted-test-{uuid.uuid4().hex[:12]}"}
        return ensureDeferred(self.missed_while_away(ACTIVEMQ, headers)).addCallback(
            self.assertEqual, "after"
        )

    def test_client_id_without_name_activemq(self) -> Any:
        """
        On ActiveMQ a C{client-id} without a subscription name makes no
        durable subscription either.
        """
        require(ACTIVEMQ)
        client_id = f"stomp-twisted-test-{uuid.uuid4().hex[:12]}"
        missed = self.missed_while_away(ACTIVEMQ, {}, {"client-id": client_id})
        return ensureDeferred(missed).addCallback(self.assertEqual, "after")

    async def second_connection_refused(self) -> None:
        client_id = f"stomp-twisted-test-{uuid.uuid4().hex[:12]}"
        first = stomp_twisted.connect(
            ACTIVEMQ.host,
            ACTIVEMQ.port,
            reactor=reactor,
            reconnect=None,
            connect_headers={"client-id": client_id},
        )
        await first.when_connected()
        second = stomp_twisted.connect(
            ACTIVEMQ.host,
            ACTIVEMQ.port,
            reactor=reactor,
            reconnect=None,
            connect_headers={"client-id": client_id},
        )
        try:
            with self.assertRaises(BrokerError) as caught:
                await second.when_connected()
            self.assertIn(f"{client_id} already connected", str(caught.exception))
        finally:
            await second.disconnect()
            await first.disconnect()

    def test_client_id_one_connection_activemq(self) -> Any:
        """
        ActiveMQ refuses a second connection with a C{client-id} already
        connected, naming it.
        """
        require(ACTIVEMQ)
        return ensureDeferred(self.second_connection_refused())
