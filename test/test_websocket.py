"""
STOMP over WebSocket (L{stomp_twisted.websocket}): URL parsing, the
missing-extra error, and the client against an in-process autobahn
WebSocket server on 127.0.0.1 that answers STOMP frames (no broker).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any
from unittest import mock

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny, ConnectionRequest
from twisted.internet import ssl
from twisted.internet.defer import Deferred, DeferredQueue, ensureDeferred
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase, TestCase

import stomp_twisted
from stomp_twisted import BadArgument, BrokerAddress, NotConnected
from stomp_twisted.failover import parse_broker_uri, parse_failover_uri
from stomp_twisted.frame import Frame, FrameDecoder, Heartbeat, NeedData, serialize_frame
from stomp_twisted.websocket import INSTALL_HINT, check_websocket_headers, subprotocols

from .hostile import deadline, reactor
from .pki import self_signed


class ParsingTests(SynchronousTestCase):
    def test_ws_url(self) -> None:
        """
        A ws:// URL is a broker address with a path; str() gives it back.
        """
        address = parse_broker_uri("ws://broker.example:15674/ws")
        self.assertEqual(address, BrokerAddress("broker.example", 15674, False, "/ws"))
        self.assertTrue(address.websocket)
        self.assertEqual(str(address), "ws://broker.example:15674/ws")

    def test_wss_defaults(self) -> None:
        """
        wss:// is TLS on 443 by default, ws:// plain on 80; the path
        defaults to / and keeps its query.
        """
        self.assertEqual(parse_broker_uri("wss://h"), BrokerAddress("h", 443, True, "/"))
        self.assertEqual(
            parse_broker_uri("ws://h/stomp?x=1"), BrokerAddress("h", 80, False, "/stomp?x=1")
        )
        self.assertEqual(str(parse_broker_uri("wss://[::1]:8443/ws")), "wss://[::1]:8443/ws")

    def test_tcp_unchanged(self) -> None:
        """
        tcp:// and ssl:// addresses have no path and print as before.
        """
        address = parse_broker_uri("tcp://h:61613")
        self.assertFalse(address.websocket)
        self.assertEqual(str(address), "tcp://h:61613")

    def test_bad_urls(self) -> None:
        """
        Credentials in a WebSocket URL, unknown schemes and missing hosts
        are refused.
        """
        with self.assertRaises(BadArgument) as caught:
            parse_broker_uri("ws://guest:secret@h:15674/ws")
        self.assertNotIn("secret", str(caught.exception))
        for bad in ("http://h:15674/ws", "ws:///ws", "ws://h:99999/ws"):
            self.assertRaises(BadArgument, parse_broker_uri, bad)

    def test_failover_mixes_schemes(self) -> None:
        """
        A failover URI lists WebSocket and TCP brokers together.
        """
        brokers, policy = parse_failover_uri(
            "failover:(ws://a:15674/ws,tcp://b:61613,wss://c/ws?t=1)?randomize=false"
        )
        self.assertEqual(
            brokers,
            [
                BrokerAddress("a", 15674, False, "/ws"),
                BrokerAddress("b", 61613),
                BrokerAddress("c", 443, True, "/ws?t=1"),
            ],
        )
        assert policy is not None
        self.assertFalse(policy.randomize)

    def test_subprotocols(self) -> None:
        """
        The subprotocols offered follow the versions offered, newest first.
        """
        self.assertEqual(
            subprotocols(["1.0", "1.1", "1.2"]), ["v12.stomp", "v11.stomp", "v10.stomp"]
        )
        self.assertEqual(subprotocols(["1.2", "1.0"]), ["v12.stomp", "v10.stomp"])

    def test_headers_checked(self) -> None:
        """
        Handshake headers must be str pairs, and not ones the handshake
        sets itself.
        """
        self.assertEqual(check_websocket_headers({"Origin": "https://a"}), {"Origin": "https://a"})
        for bad in (
            {"Sec-WebSocket-Protocol": "x"},
            {"host": "x"},
            {"X-A": "b\r\nEvil: 1"},
            {"X A": "b"},
            {"X-A": 1},
            [("Origin", "x")],
        ):
            self.assertRaises(BadArgument, check_websocket_headers, bad)


class ConnectArgumentTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()

    def _names(self, client: stomp_twisted.StompClient) -> list[str]:
        endpoint: Any = client.factory._reconnector._endpoint
        return list(endpoint._names)

    def test_connect_ws_url(self) -> None:
        """
        connect() takes a ws:// URL as the host; the endpoint connects
        over WebSocket to it.
        """
        client = stomp_twisted.connect("ws://127.0.0.1:15674/ws", reactor=self.reactor, start=False)
        self.assertEqual(self._names(client), ["ws://127.0.0.1:15674/ws"])

    def test_list_of_urls(self) -> None:
        """
        A list of brokers may hold URLs next to (host, port) pairs.
        """
        client = stomp_twisted.connect(
            ["ws://a:15674/ws", ("b", 61613), "wss://c/ws"], reactor=self.reactor, start=False
        )
        self.assertEqual(
            self._names(client), ["ws://a:15674/ws", "tcp://b:61613", "wss://c:443/ws"]
        )

    def test_port_refused_with_url(self) -> None:
        """
        A ws:// URL gives its own port.
        """
        self.assertRaises(
            BadArgument, stomp_twisted.connect, "ws://a:15674/ws", 61613, reactor=self.reactor
        )

    def test_headers_need_websocket(self) -> None:
        """
        websocket_headers without a WebSocket broker is a mistake.
        """
        with self.assertRaises(BadArgument) as caught:
            stomp_twisted.connect(
                "127.0.0.1", reactor=self.reactor, start=False, websocket_headers={"Origin": "x"}
            )
        self.assertIn("ws://", str(caught.exception))
        self.assertRaises(
            BadArgument,
            stomp_twisted.connect,
            "ws://a/ws",
            reactor=self.reactor,
            start=False,
            websocket_headers={"Upgrade": "x"},
        )

    def test_without_autobahn(self) -> None:
        """
        Without autobahn, a ws:// URL raises BadArgument naming the extra;
        a TCP broker still works.
        """
        with mock.patch.dict(sys.modules, {"autobahn.twisted.websocket": None}):
            for host in ("ws://a:15674/ws", "failover:(tcp://a:61613,wss://b/ws)"):
                with self.assertRaises(BadArgument) as caught:
                    stomp_twisted.connect(host, reactor=self.reactor, start=False)
                self.assertIn(INSTALL_HINT, str(caught.exception))
            stomp_twisted.connect("tcp://a:61613", reactor=self.reactor, start=False)

    def test_package_imports_without_autobahn(self) -> None:
        """
        The package imports, and connects over TCP, with autobahn absent.
        """
        code = (
            "import sys; sys.modules['autobahn'] = None\n"
            "import stomp_twisted, stomp_twisted.websocket\n"
            "from twisted.internet.testing import MemoryReactorClock\n"
            "stomp_twisted.connect('127.0.0.1', reactor=MemoryReactorClock(), start=False)\n"
            "try:\n"
            "    stomp_twisted.connect('ws://h/ws', reactor=MemoryReactorClock())\n"
            "except stomp_twisted.BadArgument as e:\n"
            "    print(e)\n"
        )
        # From the work tree, as trial imports it (not an installed copy).
        top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=top
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(INSTALL_HINT, result.stdout)


class CommandLineTests(SynchronousTestCase):
    def test_listen_host(self) -> None:
        """
        stomp-listen --host takes a ws:// URL (and a failover URI holding
        one), passed to connect() as it is.
        """
        from stomp_twisted.tap import Options

        for url in ("ws://127.0.0.1:15674/ws", "failover:(wss://a/ws,tcp://b:61613)"):
            options = Options()
            options.parseOptions(["--host", url, "--destination", "/queue/a"])
            self.assertEqual(options.connect_arguments()["host"], url)
            self.assertEqual(options.describe_broker(), url)

    def test_sender_host(self) -> None:
        """
        stomp-send --host takes a ws:// URL; without autobahn, it is a
        usage error naming the extra.
        """
        from twisted.python.usage import UsageError

        from stomp_twisted.send import Options

        options = Options()
        options.parseOptions(["--host", "ws://127.0.0.1:15674/ws", "-d", "/queue/a", "hi"])
        self.assertEqual(options.connect_arguments()["host"], "ws://127.0.0.1:15674/ws")
        without = mock.patch.dict(sys.modules, {"autobahn.twisted.websocket": None})
        with without, self.assertRaises(UsageError) as caught:
            Options().parseOptions(["--host", "ws://h/ws", "-d", "/queue/a", "hi"])
        self.assertIn(INSTALL_HINT, str(caught.exception))

    def test_service(self) -> None:
        """
        StompService takes a ws:// URL and websocket_headers as connect()
        does.
        """
        from stomp_twisted.service import StompService

        service = StompService(
            "ws://127.0.0.1:15674/ws",
            reactor=MemoryReactorClock(),
            websocket_headers={"Origin": "https://app.example"},
        )
        endpoint: Any = service.client.factory._reconnector._endpoint
        self.assertEqual(endpoint._names, ["ws://127.0.0.1:15674/ws"])


class _FakeWebSocket:
    # What the transport adapter uses of autobahn's protocol; events
    # records messages and closes in the order they happen.
    def __init__(self) -> None:
        self.transport = StringTransport()
        self.open = True
        self.messages: list[tuple[bytes, bool]] = []
        self.closes: list[int] = []
        self.events: list[object] = []

    def stomp_can_send(self) -> bool:
        return self.open

    def sendMessage(self, payload: bytes, isBinary: bool = False) -> None:
        self.messages.append((payload, isBinary))
        self.events.append(payload)

    def sendClose(self, code: int) -> None:
        self.closes.append(code)
        self.events.append(("close", code))
        self.open = False


class TransportAdapterTests(SynchronousTestCase):
    """
    The transport the STOMP protocol sees over WebSocket.
    """

    def setUp(self) -> None:
        from stomp_twisted.websocket import _StompOverWebSocket

        self.websocket = _FakeWebSocket()
        self.clock = Clock()
        self.adapter = _StompOverWebSocket(self.websocket, self.clock)

    def test_writes_are_binary_messages(self) -> None:
        """
        The writes of one reactor turn, writes and sequences alike, are
        one binary message, sent at the end of the turn; nothing is sent
        once the WebSocket is closing.
        """
        self.adapter.write(b"SEND\n\n\x00")
        self.adapter.writeSequence([b"ACK\n", b"\n\x00", b"\n"])
        self.adapter.write(b"")
        self.assertEqual(self.websocket.messages, [])
        self.clock.advance(0)
        self.assertEqual(self.websocket.messages, [(b"SEND\n\n\x00ACK\n\n\x00\n", True)])
        self.adapter.write(b"SEND\n\n\x00")
        self.clock.advance(0)
        self.assertEqual(self.websocket.messages[1:], [(b"SEND\n\n\x00", True)])
        self.adapter.loseConnection()
        self.adapter.loseConnection()
        self.assertEqual(self.websocket.closes, [1000])
        self.adapter.write(b"late")
        self.clock.advance(0)
        self.assertEqual(len(self.websocket.messages), 2)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_one_message_per_turn(self) -> None:
        """
        Many frames written in one turn go out as one message, at the end
        of the turn, in the order written.
        """
        frames = [serialize_frame(Frame("SEND", {"n": str(n)}, b"x" * 100)) for n in range(100)]
        for frame in frames:
            self.adapter.write(frame)
        self.assertEqual(self.websocket.messages, [])
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.advance(0)
        self.assertEqual(self.websocket.messages, [(b"".join(frames), True)])
        self.clock.advance(0)
        self.assertEqual(len(self.websocket.messages), 1)

    def test_write_then_lose_connection(self) -> None:
        """
        What was written before loseConnection (DISCONNECT) goes out at
        once, before the WebSocket close; later writes are dropped.
        """
        self.adapter.write(b"SEND\n\n\x00")
        self.adapter.write(b"DISCONNECT\nreceipt:r-1\n\n\x00")
        self.adapter.loseConnection()
        self.assertEqual(
            self.websocket.events,
            [b"SEND\n\n\x00DISCONNECT\nreceipt:r-1\n\n\x00", ("close", 1000)],
        )
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertTrue(self.adapter.disconnecting)

    def test_lose_connection_when_not_open(self) -> None:
        """
        Once the WebSocket is no longer open (the server is closing it),
        loseConnection closes the TCP connection beneath, and what waits
        is not sent.
        """
        self.adapter.write(b"SEND\n\n\x00")
        self.websocket.open = False
        self.adapter.loseConnection()
        self.assertEqual(self.websocket.events, [])
        self.assertTrue(self.websocket.transport.disconnecting)

    def test_bounded(self) -> None:
        """
        A message holds at most MESSAGE_BOUND bytes: a write that would
        pass it sends what waits first, at once; frames are never split,
        and a frame larger than the bound is a message of its own.
        """
        from stomp_twisted.websocket import MESSAGE_BOUND

        frame = b"f" * 1000
        count = MESSAGE_BOUND // len(frame)
        for _ in range(count):
            self.adapter.write(frame)
        self.assertEqual(self.websocket.messages, [])
        self.adapter.write(frame)  # one too many: the first message leaves
        self.assertEqual(self.websocket.messages, [(frame * count, True)])
        big = b"B" * (MESSAGE_BOUND + 1)
        self.adapter.write(big)  # what waited, then the large frame alone
        self.assertEqual(self.websocket.messages[1:], [(frame, True), (big, True)])
        exact = b"e" * MESSAGE_BOUND
        self.adapter.writeSequence([exact, frame])
        self.assertEqual(self.websocket.messages[3:], [(exact, True)])
        self.clock.advance(0)
        self.assertEqual(self.websocket.messages[4:], [(frame, True)])
        self.assertTrue(all(len(m) <= MESSAGE_BOUND for m, _ in self.websocket.messages[:2]))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_abort_drops_what_waits(self) -> None:
        """
        abortConnection drops what was not sent, as over TCP, and leaves
        no timer behind; so does the connection's loss.
        """
        self.adapter.write(b"SEND\n\n\x00")
        self.adapter.abortConnection()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(0)
        self.assertEqual(self.websocket.messages, [])
        self.assertTrue(self.websocket.transport.disconnecting)

        self.setUp()
        self.adapter.write(b"SEND\n\n\x00")
        self.adapter.discard()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.websocket.messages, [])

    def test_closed_before_the_turn_ends(self) -> None:
        """
        What waits is dropped if the WebSocket stops being open before the
        end of the turn (the server closed it).
        """
        self.adapter.write(b"SEND\n\n\x00")
        self.websocket.open = False
        self.clock.advance(0)
        self.assertEqual(self.websocket.messages, [])

    def test_flow_control_reaches_the_socket(self) -> None:
        """
        Producers register with, and reading pauses on, the transport
        beneath, so that flow control works as over TCP.
        """
        tcp = self.websocket.transport
        producer = _FakeWebSocket()  # any object will do
        self.adapter.registerProducer(producer, True)  # type: ignore[arg-type]
        self.assertIs(tcp.producer, producer)
        self.assertTrue(tcp.streaming)
        self.adapter.unregisterProducer()
        self.assertIsNone(tcp.producer)
        self.adapter.pauseProducing()
        self.assertEqual(tcp.producerState, "paused")
        self.adapter.resumeProducing()
        self.assertEqual(tcp.producerState, "producing")
        self.assertEqual(self.adapter.getPeer(), tcp.getPeer())
        self.adapter.abortConnection()
        self.assertTrue(tcp.disconnecting)


# --- a STOMP server over WebSocket, in-process -----------------------------


class StompServerProtocol(WebSocketServerProtocol):
    factory: StompServer

    def onConnect(self, request: ConnectionRequest) -> str | None:
        server = self.factory
        server.requests.append(request)
        if server.refuse is not None:
            raise ConnectionDeny(server.refuse, "Forbidden")
        for offered in request.protocols:
            if offered in server.subprotocols:
                return offered
        return None

    def onOpen(self) -> None:
        self.decoder = FrameDecoder()
        self.factory.sessions.append(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.factory.message_kinds.append(isBinary)
        self.decoder.receive_data(payload)
        while True:
            event = self.decoder.next_event()
            if isinstance(event, NeedData):
                return
            if isinstance(event, Heartbeat):
                continue
            assert isinstance(event, Frame)
            self.factory.frames.put(event)
            self.answer(event)

    def answer(self, frame: Frame) -> None:
        if frame.command == "CONNECT":
            offered = frame.headers.get("accept-version", "1.0").split(",")
            self.reply([Frame("CONNECTED", {"version": max(offered), "heart-beat": "0,0"})])
        elif frame.command == "SUBSCRIBE":
            self.subscription = frame.headers["id"]
        elif frame.command == "SEND":
            replies = []
            if "receipt" in frame.headers:
                replies.append(Frame("RECEIPT", {"receipt-id": frame.headers["receipt"]}))
            if getattr(self, "subscription", None) is not None:
                replies.append(
                    Frame(
                        "MESSAGE",
                        {
                            "subscription": self.subscription,
                            "message-id": "m-1",
                            "destination": frame.headers["destination"],
                        },
                        frame.body,
                    )
                )
            if replies:
                self.reply(replies)
        elif frame.command == "DISCONNECT" and "receipt" in frame.headers:
            self.reply([Frame("RECEIPT", {"receipt-id": frame.headers["receipt"]})])

    def reply(self, frames: list[Frame]) -> None:
        data = [serialize_frame(frame) for frame in frames]
        mode = self.factory.mode
        if mode == "batched":
            self.sendMessage(b"".join(data), isBinary=True)
            return
        for chunk in data:
            if mode == "split":
                # Frames spanning messages: three pieces each.
                third = max(1, len(chunk) // 3)
                for start in range(0, len(chunk), third):
                    self.sendMessage(chunk[start : start + third], isBinary=True)
            else:
                self.sendMessage(chunk, isBinary=mode == "binary")


class StompServer(WebSocketServerFactory):
    protocol = StompServerProtocol

    def __init__(self, mode: str = "binary") -> None:
        super().__init__(reactor=reactor)
        # No autobahn timers left behind in the reactor.
        self.setProtocolOptions(openHandshakeTimeout=0, closeHandshakeTimeout=0)
        self.mode = mode
        self.refuse: int | None = None
        self.subprotocols = ["v12.stomp", "v11.stomp", "v10.stomp"]
        self.requests: list[ConnectionRequest] = []
        self.sessions: list[StompServerProtocol] = []
        self.message_kinds: list[bool] = []
        self.frames: DeferredQueue[Frame] = DeferredQueue()


class _Serving(TestCase):
    def serve(self, mode: str = "binary") -> tuple[StompServer, str]:
        server = StompServer(mode)
        port = reactor.listenTCP(0, server, interface="127.0.0.1")
        self.addCleanup(port.stopListening)

        def drop_sessions() -> None:
            for session in server.sessions:
                if session.transport is not None:
                    session.transport.abortConnection()

        self.addCleanup(drop_sessions)
        return server, f"ws://127.0.0.1:{port.getHost().port}/ws"

    def client(self, url: str, **options: Any) -> stomp_twisted.StompClient:
        options.setdefault("heartbeat", (0, 0))
        client = stomp_twisted.connect(url, reactor=reactor, **options)
        self.addCleanup(lambda: client.disconnect())
        return client

    async def next_frame(self, server: StompServer, command: str) -> Frame:
        while True:
            frame: Frame = await deadline(server.frames.get(), what=command)
            if frame.command == command:
                return frame

    async def round_trip(self, mode: str) -> StompServer:
        server, url = self.serve(mode)
        client = self.client(url, destination="/queue/a")
        received: Deferred[bytes] = Deferred()
        client.reg_cb("MESSAGE", lambda _c, body, _h: received.callback(body))
        await deadline(client.when_connected(), what="CONNECTED")
        await self.next_frame(server, "SUBSCRIBE")
        await deadline(client.send(b"hello\x00\xff\xfe world", "/queue/a"), what="RECEIPT")
        self.assertEqual(await deadline(received, what="MESSAGE"), b"hello\x00\xff\xfe world")
        await deadline(client.disconnect(), what="disconnect")
        return server


class LoopbackTests(_Serving):
    def test_round_trip_binary(self) -> Deferred[None]:
        """
        CONNECT, SUBSCRIBE, SEND with a receipt and the MESSAGE back, then
        a clean disconnect; the client's messages are binary.
        """

        async def run() -> None:
            server = await self.round_trip("binary")
            self.assertTrue(server.message_kinds)
            self.assertTrue(all(server.message_kinds))
            self.assertEqual(server.requests[0].path, "/ws")

        return ensureDeferred(run())

    def test_text_messages(self) -> None:
        """
        Frames that come in text messages are read as binary ones are,
        even with a body that is not UTF-8 (RabbitMQ sends such).
        """
        return ensureDeferred(self.round_trip("text"))  # type: ignore[return-value]

    def test_frames_across_messages(self) -> None:
        """
        Frames that span several messages are put back together.
        """
        return ensureDeferred(self.round_trip("split"))  # type: ignore[return-value]

    def test_frames_in_one_message(self) -> None:
        """
        A message that holds several frames (RECEIPT and MESSAGE) gives
        each of them.
        """
        return ensureDeferred(self.round_trip("batched"))  # type: ignore[return-value]

    def test_sends_of_one_turn_in_one_message(self) -> None:
        """
        SENDs written in one reactor turn reach the server as one
        WebSocket message, every frame in order.
        """

        async def run() -> None:
            server, url = self.serve()
            client = self.client(url)
            await deadline(client.when_connected(), what="CONNECTED")
            before = len(server.message_kinds)
            for n in range(50):
                client.send(str(n).encode(), "/queue/a", receipt=False)
            receipt = client.send(b"last", "/queue/a")
            await deadline(receipt, what="RECEIPT")
            bodies = [(await self.next_frame(server, "SEND")).body for _ in range(51)]
            self.assertEqual(bodies, [str(n).encode() for n in range(50)] + [b"last"])
            self.assertEqual(server.message_kinds[before:], [True])

        return ensureDeferred(run())

    def test_flow_control(self) -> None:
        """
        A server that stops reading fills the send buffer (send_buffer_full,
        and send() waits), as over TCP; once it reads again, everything
        arrives in order.
        """

        async def run() -> None:
            server, url = self.serve()
            client = self.client(url)
            await deadline(client.when_connected(), what="CONNECTED")
            protocol = client.factory._core.session.protocol
            assert protocol is not None
            server.sessions[0].transport.pauseProducing()
            body = b"x" * 16384
            sent = 0
            waiting: Deferred[object] | None = None
            while sent < 5000:
                written = client.send(body, "/queue/a", {"n": str(sent)}, receipt=False)
                sent += 1
                if protocol.send_buffer_full:
                    waiting = written
                    break
            self.assertTrue(protocol.send_buffer_full, f"not full after {sent} sends")
            assert waiting is not None
            self.assertFalse(waiting.called)
            server.sessions[0].transport.resumeProducing()
            await deadline(waiting, what="the buffer to drain")
            self.assertFalse(protocol.send_buffer_full)
            await deadline(client.send(b"last", "/queue/a"), what="RECEIPT")
            numbers = []
            while True:
                frame = await self.next_frame(server, "SEND")
                if frame.body == b"last":
                    break
                numbers.append(int(frame.headers["n"]))
            self.assertEqual(numbers, list(range(sent)))

        return ensureDeferred(run())

    def test_subprotocols_and_headers(self) -> None:
        """
        The subprotocols offered follow the versions; Origin and extra
        headers go in the handshake.
        """

        async def run() -> None:
            server, url = self.serve()
            client = self.client(
                url,
                versions=["1.1", "1.0"],
                websocket_headers={"Origin": "https://app.example", "X-Token": "t"},
            )
            await deadline(client.when_connected(), what="CONNECTED")
            request = server.requests[0]
            self.assertEqual(request.protocols, ["v11.stomp", "v10.stomp"])
            self.assertEqual(request.origin, "https://app.example")
            self.assertEqual(request.headers.get("x-token"), "t")
            self.assertEqual(client.version, "1.1")

        return ensureDeferred(run())

    def test_reconnect_after_drop(self) -> None:
        """
        When the server drops the connection, the client reconnects over
        WebSocket and subscribes again.
        """

        async def run() -> None:
            server, url = self.serve()
            policy = stomp_twisted.ReconnectPolicy(initial_delay=0.01, jitter=0)
            client = self.client(url, destination="/queue/a", reconnect=policy)
            await self.next_frame(server, "SUBSCRIBE")
            lost: Deferred[object] = Deferred()
            client.reg_cb("disconnect", lambda *_: lost.callback(None) if not lost.called else None)
            server.sessions[0].transport.abortConnection()
            await deadline(lost, what="the loss")
            await self.next_frame(server, "CONNECT")
            await self.next_frame(server, "SUBSCRIBE")
            await deadline(client.when_connected(), what="CONNECTED again")
            self.assertEqual(len(server.sessions), 2)
            await deadline(client.send(b"again", "/queue/a"), what="RECEIPT")

        return ensureDeferred(run())

    def test_closed_during_handshake(self) -> None:
        """
        A server that closes the connection instead of answering the
        handshake fails the attempt, saying so.
        """

        class Hangup(Protocol):
            def connectionMade(self) -> None:
                assert self.transport is not None
                self.transport.loseConnection()

        async def run() -> None:
            port = reactor.listenTCP(0, Factory.forProtocol(Hangup), interface="127.0.0.1")
            self.addCleanup(port.stopListening)
            url = f"ws://127.0.0.1:{port.getHost().port}/ws"
            client = self.client(url, reconnect=None)
            with self.assertRaises(NotConnected) as caught:
                await deadline(client.when_connected(), what="the failure")
            self.assertIn(f"WebSocket handshake with {url} failed", str(caught.exception))

        return ensureDeferred(run())

    def test_handshake_refused(self) -> None:
        """
        A refused handshake (HTTP 403) fails the attempt with a message
        that says so.
        """

        async def run() -> None:
            server, url = self.serve()
            server.refuse = 403
            errors: list[str] = []
            client = self.client(url, reconnect=None)
            client.reg_cb("connect_error", lambda _c, message: errors.append(message))
            with self.assertRaises(NotConnected) as caught:
                await deadline(client.when_connected(), what="the refusal")
            self.assertIn("HTTP 403", str(caught.exception))
            self.assertIn("refused the WebSocket handshake", str(caught.exception))
            self.assertTrue(any("HTTP 403" in error for error in errors), errors)

        return ensureDeferred(run())


class SecureWebSocketTests(_Serving):
    """
    wss:// verifies the server as ssl=True does, with the same TLSOptions.
    """

    def setUp(self) -> None:
        directory = self.mktemp()
        os.makedirs(directory)
        self.cert, key = self_signed(directory, "localhost", alt_name=True)
        self.wrong_cert, _ = self_signed(directory, "other")
        with open(self.cert, "rb") as cert_file, open(key, "rb") as key_file:
            pem = cert_file.read() + key_file.read()
        self.server_tls = ssl.PrivateCertificate.loadPEM(pem).options()

    def serve_tls(self) -> tuple[StompServer, int]:
        server = StompServer()
        port = reactor.listenSSL(0, server, self.server_tls, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.addCleanup(
            lambda: [s.transport.abortConnection() for s in server.sessions if s.transport]
        )
        return server, port.getHost().port

    def test_verified(self) -> None:
        """
        With the server's CA trusted, STOMP runs over wss://.
        """

        async def run() -> None:
            server, port = self.serve_tls()
            client = self.client(
                f"wss://localhost:{port}/ws", tls=stomp_twisted.TLSOptions(ca_file=self.cert)
            )
            await deadline(client.when_connected(), what="CONNECTED")
            await deadline(client.send(b"secret", "/queue/a"), what="RECEIPT")
            self.assertTrue(server.requests[0].headers["host"].startswith("localhost"))

        return ensureDeferred(run())

    async def refused(self, url: str, tls: stomp_twisted.TLSOptions | None) -> str:
        options: dict[str, Any] = {"reconnect": None}
        if tls is not None:
            options["tls"] = tls
        client = self.client(url, **options)
        with self.assertRaises(NotConnected) as caught:
            await deadline(client.when_connected(), what="the TLS failure")
        return str(caught.exception)

    def test_untrusted(self) -> None:
        """
        An untrusted certificate fails the attempt with the TLS message
        ssl=True gives.
        """

        async def run() -> None:
            _, port = self.serve_tls()
            tls = stomp_twisted.TLSOptions(ca_file=self.wrong_cert)
            message = await self.refused(f"wss://localhost:{port}/ws", tls)
            self.assertIn("certificate verification failed", message)
            self.assertIn(f"no CA in {self.wrong_cert} signed it", message)

        return ensureDeferred(run())

    def test_wrong_name(self) -> None:
        """
        A certificate for another name fails host name verification.
        """

        async def run() -> None:
            _, port = self.serve_tls()
            tls = stomp_twisted.TLSOptions(ca_file=self.cert)
            message = await self.refused(f"wss://127.0.0.1:{port}/ws", tls)
            self.assertIn("host name verification failed", message)

        return ensureDeferred(run())
