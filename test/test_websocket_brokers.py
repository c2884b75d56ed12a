"""
STOMP over WebSocket against a real broker (issue 13): RabbitMQ's
Web-STOMP plugin on C{ws://127.0.0.1:15674/ws}, as C{scripts/brokers}
enables it.  A round trip of a binary body and of header values that
need escaping, many frames in one WebSocket message, manual
acknowledgement with redelivery to a second client, a WebSocket
connection cut under the client (through a small TCP proxy)
followed by reconnection and re-subscription, and C{twistd stomp-listen
--host ws://...} as a real process.

ActiveMQ is not among the brokers: Debian's activemq 5.17 lacks the
server side of its ws:// transport (see L{test.brokers.WS_BROKERS}).

Every wait is bounded; nothing sleeps.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.interfaces import IListeningPort
from twisted.protocols import portforward
from twisted.trial.unittest import TestCase

import stomp_twisted
from stomp_twisted import ReconnectPolicy, StompClient

from .brokers import RABBITMQ_WS, Broker, require, unique_queue
from .hostile import deadline
from .inbox import Inbox, next_event
from .test_listen_e2e import PASSCODE_VARIABLE, Listener

#: The bound on every wait for something that should happen.
TIMEOUT = 10.0
#: Reconnect at once after the cut: the test waits for it.
QUICK = ReconnectPolicy(initial_delay=0.1, max_delay=0.5, jitter=0.0)

#: A body no text WebSocket message could carry: NULs (which also end a
#: STOMP frame without content-length), 0xff, and bytes that are not
#: UTF-8.
BINARY_BODY = b"\x00\xff\x00binary\n\x01\xfe\xc3(\x00"
#: Header values that STOMP 1.2 must escape (':', newline, backslash) or
#: that are not ASCII.
ESCAPED_HEADERS = {
    "x-colon": "a:b:c",
    "x-newline": "line one\nline two",
    "x-backslash": "C:\\dir\\file",
    "x-unicode": "caf\u00e9 \u2603 \u65e5\u672c",
    "x-all": "k:v\n\\ \u00fc",
}

if TYPE_CHECKING:
    _Base = TestCase
else:
    _Base = object


class CuttingProxy(portforward.ProxyFactory):
    """
    A TCP relay to the broker whose connections the test can cut
    abruptly, as a network failure would: no WebSocket close, no
    DISCONNECT.
    """

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.relays: list[portforward.ProxyServer] = []
        self.connections = 0

    def buildProtocol(self, addr: Any) -> Any:
        relay = super().buildProtocol(addr)
        self.relays.append(relay)  # type: ignore[arg-type]
        self.connections += 1
        return relay

    def cut(self) -> None:
        for relay in self.relays:
            # Both sides: the client sees its connection die at once, and
            # the broker its session end.
            relay.transport.abortConnection()  # type: ignore[attr-defined]
            if relay.peer is not None and relay.peer.transport is not None:
                relay.peer.transport.abortConnection()  # type: ignore[attr-defined]
        self.relays.clear()


class WebSocketBrokerMixin(_Base):
    """
    The tests, against the WebSocket endpoint L{broker}.
    """

    broker: Broker

    def setUp(self) -> None:
        require(self.broker)

    def client(self, url: str | None = None, **kwargs: Any) -> StompClient:
        """
        A client of the broker's WebSocket endpoint (or of C{url}),
        disconnected when the test ends.
        """
        kwargs.setdefault("receipt_timeout", TIMEOUT)
        kwargs.setdefault("disconnect_timeout", 2.0)
        client = stomp_twisted.connect(
            url or self.broker.url,
            login=self.broker.login,
            passcode=self.broker.passcode,
            reactor=reactor,
            **kwargs,
        )
        self.addCleanup(client.disconnect)
        return client

    @inlineCallbacks
    def connected_client(self, url: str | None = None, **kwargs: Any) -> Any:
        client = self.client(url, **kwargs)
        yield deadline(client.when_connected(), TIMEOUT, "CONNECTED over WebSocket")
        return client

    @inlineCallbacks
    def test_round_trip(self) -> Any:
        """
        A binary body (NULs, 0xff, invalid UTF-8) and header values with
        ':', newlines, backslashes and non-ASCII characters come back
        exactly as sent, through a STOMP 1.2 session over WebSocket.
        """
        client = yield self.connected_client()
        self.assertEqual(client.version, "1.2")
        queue = unique_queue("ws-round-trip")
        inbox = Inbox()
        yield client.subscribe(queue, inbox, ack="auto")
        yield client.send(BINARY_BODY, queue, ESCAPED_HEADERS)
        yield client.send(b"text after binary", queue)
        headers = yield deadline(inbox.wait_for(BINARY_BODY), TIMEOUT, "the binary message")
        for name, value in ESCAPED_HEADERS.items():
            self.assertEqual(headers.get(name), value, name)
        self.assertEqual(headers["content-length"], str(len(BINARY_BODY)))
        # The connection survived the binary message: the next one arrives.
        yield deadline(inbox.wait_for(b"text after binary"), TIMEOUT, "the text message")
        self.assertEqual(inbox.bodies, [BINARY_BODY, b"text after binary"])

    @inlineCallbacks
    def test_frames_of_one_turn(self) -> Any:
        """
        The SENDs of one reactor turn, which the client writes as one
        WebSocket message (up to MESSAGE_BOUND bytes, so here two of
        them), all reach the queue, in order, the DISCONNECT written just
        before the WebSocket close after them.
        """
        from stomp_twisted.websocket import MESSAGE_BOUND

        queue = unique_queue("ws-one-turn")
        sender = yield self.connected_client()
        body = b"b" * 200
        count = 2 * MESSAGE_BOUND // len(body)
        for n in range(count):
            sender.send(body, queue, {"n": str(n)}, receipt=False)
        yield deadline(sender.disconnect(), TIMEOUT, "DISCONNECT's receipt")
        receiver = yield self.connected_client()
        inbox = Inbox()
        yield receiver.subscribe(queue, inbox, ack="auto")
        yield deadline(inbox.wait_count(count), TIMEOUT, f"{count} messages")
        self.assertEqual([h["n"] for _, h in inbox.messages], [str(n) for n in range(count)])

    @inlineCallbacks
    def test_manual_ack_redelivery(self) -> Any:
        """
        With ack="manual", a message left unacknowledged when its client
        disconnects is redelivered (redelivered:true) to a second
        WebSocket client; the acknowledged one is not.
        """
        queue = unique_queue("ws-manual-ack")
        first = yield self.connected_client()
        inbox = Inbox()
        yield first.subscribe(queue, inbox, ack="manual")
        yield first.send("acknowledged", queue)
        yield first.send("left alone", queue)
        yield deadline(inbox.wait_count(2), TIMEOUT, "two messages")
        receipt = yield first.ack(inbox.messages[0][1])
        self.assertEqual(receipt.command, "RECEIPT")
        yield first.disconnect()

        second = yield self.connected_client()
        again = Inbox()
        yield second.subscribe(queue, again, ack="manual")
        headers = yield deadline(again.wait_for(b"left alone"), TIMEOUT, "the redelivery")
        self.assertEqual(headers.get("redelivered"), "true")
        # Whatever the broker had queued ahead of a sentinel is all it had:
        # "acknowledged" is not among it.
        yield second.send("sentinel", queue)
        yield deadline(again.wait_for(b"sentinel"), TIMEOUT, "the sentinel")
        self.assertEqual(again.bodies, [b"left alone", b"sentinel"])
        yield second.ack(headers)
        yield second.ack(again.messages[1][1])

    @inlineCallbacks
    def test_cut_reconnect_resubscribe(self) -> Any:
        """
        The WebSocket connection cut abruptly under the client (its TCP
        relay aborted): the client notices, reconnects through a new
        WebSocket handshake, subscribes again by itself, and a message sent
        after the cut to the topic it subscribed to arrives.  (A topic
        keeps nothing for absent subscribers: only the re-subscription can
        deliver it.)
        """
        proxy = CuttingProxy(self.broker.host, self.broker.port)
        port: IListeningPort = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
            proxy
        )
        self.addCleanup(port.stopListening)
        self.addCleanup(proxy.cut)
        url = f"ws://127.0.0.1:{port.getHost().port}{self.broker.ws_path}"
        client = yield self.connected_client(url, reconnect=QUICK)
        topic = f"/topic/stomp-twisted-test.ws-cut.{uuid.uuid4().hex[:12]}"
        inbox = Inbox()
        yield client.subscribe(topic, inbox, ack="auto")
        yield client.send("before the cut", topic)
        yield deadline(inbox.wait_for(b"before the cut"), TIMEOUT, "the message before the cut")

        lost: Deferred[Any] = next_event(client, "disconnect")
        proxy.cut()
        yield deadline(lost, TIMEOUT, "the client noticing the cut")
        self.assertFalse(client.is_connected)
        yield deadline(client.when_connected(), TIMEOUT, "the reconnection")
        self.assertEqual(proxy.connections, 2)
        self.assertEqual(client.stats.reconnects, 1)
        self.assertEqual(len(client.subscriptions), 1)

        yield client.send("after the cut", topic)
        yield deadline(inbox.wait_for(b"after the cut"), TIMEOUT, "the message after the cut")
        self.assertEqual(inbox.bodies, [b"before the cut", b"after the cut"])

    async def test_stomp_listen(self) -> None:
        """
        C{twistd stomp-listen --host ws://127.0.0.1:15674/ws}, the installed
        command as a real process, connects over WebSocket, writes the
        message this process sends, and exits after C{--count 1}.
        """
        queue = unique_queue("ws-listen")
        listener = Listener(
            self,
            [
                "--host",
                self.broker.url,
                "--login",
                str(self.broker.login),
                "--passcode-env",
                PASSCODE_VARIABLE,
                "-d",
                queue,
                "--count",
                "1",
            ],
        )
        await listener.logged("connected to")
        self.assertIn(self.broker.url, listener.log())
        sender = await self.connected_client()
        await sender.send(b"over WebSocket", queue)
        self.assertEqual(await listener.exited(TIMEOUT), 0, listener.log())
        self.assertEqual(listener.output(), b"over WebSocket\n")


class RabbitMQWebSocketTests(WebSocketBrokerMixin, TestCase):
    broker = RABBITMQ_WS
