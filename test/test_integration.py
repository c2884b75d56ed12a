"""
The first real path: stomp_twisted against RabbitMQ and ActiveMQ (through
both of its transports) over real sockets.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.trial.unittest import TestCase

import stomp_twisted
from stomp_twisted import StompClient

from .brokers import ACTIVEMQ, ACTIVEMQ_BLOCKING, RABBITMQ, Broker, require, unique_queue

TIMEOUT = 15.0

#: Headers that exercise every escape: colon, newline, backslash, CR (1.2)
#: and non-ASCII text, in names and values.
AWKWARD_HEADERS = {
    "x-colon": "a:b:c",
    "x-newline": "line one\nline two",
    "x-backslash": "C:\\temp\\new",
    "x-carriage": "before\rafter",
    "x-unicode": "na\u00efve \u2603 \u65e5\u672c",
    "x-k\u00e9y": "v\u00e4lue",
}
BINARY_BODY = b"\x00binary\x00body\xff\xfe\x00\n\r\n" + bytes(range(256))
#: A body larger than any single read or write on the way: 4 MiB and a few
#: bytes, every byte value throughout, NULs included.
LARGE_BODY = bytes(range(256)) * (4 * 4096) + b"\x00tail\x00"


class BrokerMixin:
    broker: Broker

    def setUp(self) -> None:
        require(self.broker)

    def client(self, **kwargs: Any) -> StompClient:
        headers = dict(self.broker.connect_headers())
        headers.update(kwargs.pop("connect_headers", {}))
        client = stomp_twisted.connect(
            self.broker.host,
            self.broker.port,
            connect_headers=headers,
            reactor=reactor,
            receipt_timeout=TIMEOUT,
            **kwargs,
        )
        self.addCleanup(client.disconnect)  # type: ignore[attr-defined]
        return client

    def next_message(
        self, client: StompClient, destination: str
    ) -> Deferred[tuple[bytes, dict[str, str]]]:
        received: Deferred[tuple[bytes, dict[str, str]]] = Deferred()

        def on_message(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
            if not received.called:
                received.callback((body, headers))

        subscribed = client.subscribe(destination, on_message)
        return subscribed.addCallback(lambda _: received.addTimeout(TIMEOUT, reactor))

    @inlineCallbacks
    def test_round_trip_is_unchanged(self) -> Any:
        """
        A binary body with NUL bytes and headers with colons, newlines,
        backslashes, a carriage return and non-ASCII text come back from
        the broker exactly as sent.
        """
        client = self.client()
        yield client.when_connected().addTimeout(TIMEOUT, reactor)
        self.assertEqual(client.version, "1.2")  # type: ignore[attr-defined]
        queue = unique_queue("round-trip")
        message = self.next_message(client, queue)
        receipt = yield client.send(BINARY_BODY, queue, AWKWARD_HEADERS)
        self.assertEqual(receipt.command, "RECEIPT")  # type: ignore[attr-defined]
        body, headers = yield message
        self.assertEqual(body, BINARY_BODY)  # type: ignore[attr-defined]
        for name, value in AWKWARD_HEADERS.items():
            self.assertEqual(headers.get(name), value, name)  # type: ignore[attr-defined]
        self.assertEqual(headers["destination"], queue)  # type: ignore[attr-defined]

    @inlineCallbacks
    def test_large_body_round_trip(self) -> Any:
        """
        A body of several megabytes, sent while another waits on the
        same connection, comes back whole and in order: the bodies go
        to the socket and come from it in many pieces each.
        """
        client = self.client()
        yield client.when_connected().addTimeout(TIMEOUT, reactor)
        queue = unique_queue("large-body")
        received: list[bytes] = []
        both: Deferred[None] = Deferred()

        def on_message(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
            received.append(body)
            if len(received) == 2:
                both.callback(None)

        yield client.subscribe(queue, on_message)
        second = LARGE_BODY[::-1]
        client.send(LARGE_BODY, queue, receipt=False)
        yield client.send(second, queue)
        yield both.addTimeout(TIMEOUT, reactor)
        self.assertEqual([len(body) for body in received], [len(LARGE_BODY)] * 2)  # type: ignore[attr-defined]
        # (Not assertEqual: its diff of two 4 MiB bodies would drown the report.)
        self.assertTrue(received == [LARGE_BODY, second])  # type: ignore[attr-defined]

    @inlineCallbacks
    def test_two_clients(self) -> Any:
        """
        A message sent by one connection reaches a subscriber on another,
        under each STOMP version the broker speaks.
        """
        for version in ("1.0", "1.1", "1.2"):
            consumer = self.client(versions=[version])
            producer = self.client(versions=[version])
            yield consumer.when_connected().addTimeout(TIMEOUT, reactor)
            yield producer.when_connected().addTimeout(TIMEOUT, reactor)
            self.assertEqual(consumer.version, version)  # type: ignore[attr-defined]
            queue = unique_queue(f"two-clients-{version}")
            message = self.next_message(consumer, queue)
            text = f"hello over STOMP {version} \u2603"
            yield producer.send(text, queue, {"x-version": version})
            body, headers = yield message
            self.assertEqual(body.decode("utf-8"), text)  # type: ignore[attr-defined]
            self.assertEqual(headers["x-version"], version)  # type: ignore[attr-defined]
            yield consumer.disconnect()
            yield producer.disconnect()


class RabbitMQTests(BrokerMixin, TestCase):
    broker = RABBITMQ


class ActiveMQTests(BrokerMixin, TestCase):
    broker = ACTIVEMQ


class ActiveMQBlockingTransportTests(BrokerMixin, TestCase):
    broker = ACTIVEMQ_BLOCKING
