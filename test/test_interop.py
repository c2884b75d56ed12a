"""
Interoperability with an independent client: stomp.py (PyPI C{stomp-py})
and stomp_twisted exchange messages through real brokers, binary and
non-ASCII included, both ways.
"""

from __future__ import annotations

import threading
from typing import Any

import stomp  # type: ignore[import-untyped]
from twisted.internet import reactor, threads
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.trial.unittest import TestCase

import stomp_twisted
from stomp_twisted import StompClient

from .brokers import ACTIVEMQ, RABBITMQ, Broker, require, unique_queue

TIMEOUT = 15.0
BODY = b"\x00interop\x00\xff\xfe " + "h\u00e9llo \u2603 \u65e5\u672c".encode()
HEADERS = {"x-text": "na\u00efve:\\colon\\", "x-line": "one\ntwo"}


def stomp_py_connection(broker: Broker) -> Any:
    connection = stomp.Connection12([(broker.host, broker.port)], auto_decode=False, vhost="/")
    connection.connect(broker.login, broker.passcode, wait=True)
    return connection


def stomp_py_send(broker: Broker, destination: str) -> None:
    connection = stomp_py_connection(broker)
    try:
        connection.send(destination, BODY, headers=dict(HEADERS))
    finally:
        connection.disconnect()


def stomp_py_receive(broker: Broker, destination: str, ready: threading.Event) -> tuple[Any, Any]:
    received: list[tuple[Any, Any]] = []
    arrived = threading.Event()

    class Listener(stomp.ConnectionListener):  # type: ignore[misc]
        def on_message(self, frame: Any) -> None:
            received.append((frame.body, frame.headers))
            arrived.set()

    connection = stomp_py_connection(broker)
    try:
        connection.set_listener("interop", Listener())
        connection.subscribe(destination, id="interop-1", ack="auto", headers={"receipt": "sub"})
        ready.set()
        if not arrived.wait(TIMEOUT):
            raise AssertionError("stomp.py received nothing")
    finally:
        connection.disconnect()
    return received[0]


class InteropMixin:
    broker: Broker

    def setUp(self) -> None:
        require(self.broker)

    def client(self) -> StompClient:
        client = stomp_twisted.connect(
            self.broker.host,
            self.broker.port,
            connect_headers=self.broker.connect_headers(),
            reactor=reactor,
            receipt_timeout=TIMEOUT,
        )
        self.addCleanup(client.disconnect)  # type: ignore[attr-defined]
        return client

    @inlineCallbacks
    def test_stomp_py_to_stomp_twisted(self) -> Any:
        """
        A message stomp.py sends reaches a stomp_twisted subscriber intact.
        """
        client = self.client()
        yield client.when_connected().addTimeout(TIMEOUT, reactor)
        queue = unique_queue("from-stomp-py")
        received: Deferred[tuple[bytes, dict[str, str]]] = Deferred()
        yield client.subscribe(queue, lambda c, body, headers: received.callback((body, headers)))
        yield threads.deferToThread(stomp_py_send, self.broker, queue)
        body, headers = yield received.addTimeout(TIMEOUT, reactor)
        self.assertEqual(body, BODY)  # type: ignore[attr-defined]
        for name, value in HEADERS.items():
            self.assertEqual(headers[name], value)  # type: ignore[attr-defined]

    @inlineCallbacks
    def test_stomp_twisted_to_stomp_py(self) -> Any:
        """
        A message stomp_twisted sends reaches a stomp.py subscriber intact.
        """
        client = self.client()
        yield client.when_connected().addTimeout(TIMEOUT, reactor)
        queue = unique_queue("to-stomp-py")
        ready = threading.Event()
        receiving = threads.deferToThread(stomp_py_receive, self.broker, queue, ready)
        yield threads.deferToThread(ready.wait, TIMEOUT)
        yield client.send(BODY, queue, HEADERS)
        body, headers = yield receiving
        self.assertEqual(body, BODY)  # type: ignore[attr-defined]
        for name, value in HEADERS.items():
            self.assertEqual(headers[name], value)  # type: ignore[attr-defined]


class RabbitMQInteropTests(InteropMixin, TestCase):
    broker = RABBITMQ


class ActiveMQInteropTests(InteropMixin, TestCase):
    broker = ACTIVEMQ
