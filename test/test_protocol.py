"""
Tests for L{stomp_twisted.protocol.StompProtocol}: the handshake, frame
dispatch whatever the chunking, line mode, protocol errors, receipts and
flow control, all over an in-memory L{StringTransport}.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager

from twisted.internet.defer import CancelledError
from twisted.internet.error import ConnectionAborted, ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import provider

from stomp_twisted import protocol as protocol_module
from stomp_twisted._reading import ACTIVEMQ_BUSY_FRAME_SIZE, BUSY_READ_FRAMES
from stomp_twisted.errors import (
    BrokerError,
    ConnectionLost,
    FrameTooLarge,
    RemoteProtocolError,
    StompError,
    UndefinedEscape,
    UnrepresentableHeader,
)
from stomp_twisted.frame import Frame, FrameLimits, parse_frames, serialize_frame
from stomp_twisted.protocol import StompProtocol

CONNECTED_12 = b"CONNECTED\nversion:1.2\n\n\0"
CONNECTED_11 = b"CONNECTED\nversion:1.1\n\n\0"
CONNECTED_10 = b"CONNECTED\nversion:1.0\n\n\0"
CONNECTED_NO_VERSION = b"CONNECTED\nsession:abc\n\n\0"


def message(n: int, body: bytes = b"hello") -> bytes:
    """
    A well-formed MESSAGE frame with a C{content-length} header.
    """
    return b"MESSAGE\ndestination:/queue/a\nmessage-id:%d\ncontent-length:%d\n\n%s\0" % (
        n,
        len(body),
        body,
    )


class RecordingHandler:
    """
    A L{ConnectionHandler<stomp_twisted.protocol.ConnectionHandler>} that
    records every call it gets, in order.

    @ivar events: C{(name, argument)} tuples in the order of the calls.
    @ivar pause_on: if set, a predicate on a received frame; when it is
        true the handler pauses the protocol, as a slow consumer would.
    """

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self.lost: list[tuple[Failure, StompError | None]] = []
        self.written_at_connection_made: bytes | None = None
        self.pause_on = None

    def connection_made(self, protocol: StompProtocol) -> None:
        assert protocol.transport is not None
        self.written_at_connection_made = protocol.transport.value()  # type: ignore[attr-defined]
        self.events.append(("made", None))

    def stomp_connected(self, protocol: StompProtocol, frame: Frame) -> None:
        self.events.append(("connected", frame))

    def frame_received(self, protocol: StompProtocol, frame: Frame) -> None:
        self.events.append(("frame", frame))
        if self.pause_on is not None and self.pause_on(frame):
            protocol.pauseProducing()

    def heartbeat_received(self, protocol: StompProtocol) -> None:
        self.events.append(("heartbeat", None))

    def connection_lost(
        self, protocol: StompProtocol, reason: Failure, error: StompError | None
    ) -> None:
        self.events.append(("lost", error))
        self.lost.append((reason, error))

    @property
    def frames(self) -> list[Frame]:
        """
        The frames given to C{frame_received}, in order.
        """
        return [event for kind, event in self.events if kind == "frame"]  # type: ignore[misc]

    @property
    def heartbeats(self) -> int:
        return sum(1 for kind, _ in self.events if kind == "heartbeat")


def make_protocol(
    accept: str | None = "1.0,1.1,1.2",
    host: str = "broker.example",
    limits: FrameLimits | None = None,
) -> tuple[RecordingHandler, StompProtocol, StringTransport]:
    """
    A protocol connected to a L{StringTransport}, with CONNECT written.
    """
    handler = RecordingHandler()
    headers = {"host": host} if accept is None else {"accept-version": accept, "host": host}
    protocol = StompProtocol(handler, Frame("CONNECT", headers), limits)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return handler, protocol, transport


def connected(
    data: bytes = CONNECTED_12, limits: FrameLimits | None = None
) -> tuple[RecordingHandler, StompProtocol, StringTransport]:
    """
    A protocol past the handshake, its transport emptied of CONNECT.
    """
    handler, protocol, transport = make_protocol(limits=limits)
    protocol.dataReceived(data)
    assert protocol.version is not None, "handshake failed"
    transport.clear()
    return handler, protocol, transport


@contextmanager
def captured_log() -> Iterator[list[str]]:
    """
    The text of every log event emitted within the block.
    """
    lines: list[str] = []

    @provider(ILogObserver)
    def observe(event: LogEvent) -> None:
        lines.append(formatEvent(event) or "")

    globalLogPublisher.addObserver(observe)
    try:
        yield lines
    finally:
        globalLogPublisher.removeObserver(observe)


def lose(protocol: StompProtocol) -> None:
    """
    What the reactor does once the transport is closed.
    """
    protocol.connectionLost(Failure(ConnectionDone()))


class HandshakeTests(SynchronousTestCase):
    """
    CONNECT on connection, and version negotiation from CONNECTED.
    """

    def test_connect_written_on_connection(self) -> None:
        """
        On connection the CONNECT frame is written, unescaped, with the
        accept-version and the host exactly as given, before the handler
        hears of the connection.
        """
        handler, protocol, transport = make_protocol(host="vhost:with/colon")
        expected = b"CONNECT\naccept-version:1.0,1.1,1.2\nhost:vhost:with/colon\n\n\0"
        self.assertEqual(transport.value(), expected)
        self.assertEqual(handler.written_at_connection_made, expected)
        self.assertEqual(handler.events, [("made", None)])
        self.assertIsNone(protocol.version)
        self.assertFalse(protocol.is_stomp_connected)
        self.assertEqual(protocol.line_mode, 1)

    def test_connected_12_unescapes_headers(self) -> None:
        """
        CONNECTED with version 1.2 negotiates 1.2: the handler gets
        C{stomp_connected}, and later headers are unescaped as 1.2 says,
        C{\\r} included.
        """
        handler, protocol, transport = make_protocol()
        protocol.dataReceived(CONNECTED_12 + b"MESSAGE\na\\cb:x\\\\y\\r\\n\n\n\0")
        self.assertEqual(protocol.version, "1.2")
        self.assertTrue(protocol.is_stomp_connected)
        self.assertEqual(protocol.connected_frame, Frame("CONNECTED", {"version": "1.2"}))
        self.assertEqual(
            handler.events,
            [
                ("made", None),
                ("connected", Frame("CONNECTED", {"version": "1.2"})),
                ("frame", Frame("MESSAGE", {"a:b": "x\\y\r\n"})),
            ],
        )
        self.assertFalse(transport.disconnecting)

    def test_connected_11_unescapes_headers(self) -> None:
        """
        CONNECTED with version 1.1 negotiates 1.1: C{\\c}, C{\\n} and
        C{\\\\} are unescaped.
        """
        handler, protocol, transport = make_protocol()
        protocol.dataReceived(CONNECTED_11 + b"MESSAGE\na\\cb:x\\\\y\\n\n\n\0")
        self.assertEqual(protocol.version, "1.1")
        self.assertEqual(handler.frames, [Frame("MESSAGE", {"a:b": "x\\y\n"})])
        self.assertFalse(transport.disconnecting)

    def test_connected_11_rejects_r_escape(self) -> None:
        """
        C{\\r} is not an escape STOMP 1.1 defines: under 1.1 it is a fatal
        protocol error (L{UndefinedEscape}), which proves the decoder was
        switched to 1.1 and not to 1.2.
        """
        handler, protocol, transport = make_protocol()
        protocol.dataReceived(CONNECTED_11 + b"MESSAGE\na:\\r\n\n\0")
        self.assertEqual(handler.frames, [])
        self.assertTrue(transport.disconnecting)
        lose(protocol)
        [(_, error)] = handler.lost
        self.assertIsInstance(error, UndefinedEscape)

    def test_connected_10_keeps_backslashes(self) -> None:
        """
        CONNECTED with version 1.0 negotiates 1.0, which has no escaping:
        C{a\\cb} stays as it is.
        """
        handler, protocol, transport = make_protocol()
        protocol.dataReceived(CONNECTED_10 + b"MESSAGE\na\\cb:x\\\\y:z\n\n\0")
        self.assertEqual(protocol.version, "1.0")
        self.assertEqual(handler.frames, [Frame("MESSAGE", {"a\\cb": "x\\\\y:z"})])
        self.assertFalse(transport.disconnecting)

    def test_connected_without_version_is_10(self) -> None:
        """
        A CONNECTED without a version header means STOMP 1.0 (when it was
        offered): no escaping applies.
        """
        handler, protocol, transport = make_protocol()
        protocol.dataReceived(CONNECTED_NO_VERSION + b"MESSAGE\na\\cb:v\n\n\0")
        self.assertEqual(protocol.version, "1.0")
        self.assertEqual(handler.frames, [Frame("MESSAGE", {"a\\cb": "v"})])
        self.assertFalse(transport.disconnecting)

    def test_connect_without_accept_version_is_10(self) -> None:
        """
        A CONNECT without accept-version offers only 1.0, so a CONNECTED
        without a version header is accepted.
        """
        _handler, protocol, transport = make_protocol(accept=None)
        self.assertEqual(transport.value(), b"CONNECT\nhost:broker.example\n\n\0")
        protocol.dataReceived(CONNECTED_NO_VERSION)
        self.assertEqual(protocol.version, "1.0")
        self.assertFalse(transport.disconnecting)

    def test_accept_version_with_spaces(self) -> None:
        """
        Spaces around the versions in accept-version are ignored.
        """
        _handler, protocol, transport = make_protocol(accept="1.1, 1.2")
        protocol.dataReceived(CONNECTED_12)
        self.assertEqual(protocol.version, "1.2")
        self.assertFalse(transport.disconnecting)

    def test_version_not_offered(self) -> None:
        """
        A CONNECTED choosing a version that was not offered (including an
        absent version header, meaning 1.0, when 1.0 was not offered, and a
        version this library does not know) closes the connection: no
        C{stomp_connected}, nothing after it dispatched, and
        C{connection_lost} gets a L{RemoteProtocolError}.
        """
        for chosen in [CONNECTED_10, CONNECTED_NO_VERSION, b"CONNECTED\nversion:1.3\n\n\0"]:
            with self.subTest(chosen=chosen):
                handler, protocol, transport = make_protocol(accept="1.1,1.2")
                protocol.dataReceived(chosen + message(1))
                self.assertIsNone(protocol.version)
                self.assertFalse(protocol.is_stomp_connected)
                self.assertTrue(transport.disconnecting)
                self.assertEqual(handler.events, [("made", None)])
                lose(protocol)
                [(reason, error)] = handler.lost
                self.assertIsInstance(error, RemoteProtocolError)
                self.assertTrue(reason.check(ConnectionDone))

    def test_frame_before_connected(self) -> None:
        """
        A frame other than CONNECTED or ERROR before CONNECTED is a protocol
        error: it is not given to the handler and the connection is closed.
        """
        for data in [message(1), b"RECEIPT\nreceipt-id:r-1\n\n\0"]:
            with self.subTest(data=data):
                handler, protocol, transport = make_protocol()
                protocol.dataReceived(data + CONNECTED_12)
                self.assertEqual(handler.events, [("made", None)])
                self.assertIsNone(protocol.version)
                self.assertTrue(transport.disconnecting)
                lose(protocol)
                [(_, error)] = handler.lost
                self.assertIsInstance(error, RemoteProtocolError)

    def test_error_before_connected(self) -> None:
        """
        An ERROR before CONNECTED (a refused login) is given to the handler,
        then the client closes the transport itself; C{connection_lost}
        gets a L{BrokerError} carrying the ERROR's message.
        """
        handler, protocol, transport = make_protocol()
        error_frame = b"ERROR\nmessage:bad login\ncontent-length:4\n\noops\0"
        protocol.dataReceived(error_frame + CONNECTED_12)
        self.assertEqual(
            handler.frames,
            [Frame("ERROR", {"message": "bad login", "content-length": "4"}, b"oops")],
        )
        self.assertIsNone(protocol.version)
        self.assertTrue(transport.disconnecting)
        lose(protocol)
        [(_, error)] = handler.lost
        self.assertIsInstance(error, BrokerError)
        assert isinstance(error, BrokerError)
        self.assertEqual(error.message, "bad login")
        self.assertEqual(error.body, "oops")

    def test_error_after_connected_closes(self) -> None:
        """
        An ERROR after CONNECTED is given to the handler, then the client
        closes the connection and dispatches nothing more.
        """
        handler, protocol, transport = connected()
        protocol.dataReceived(b"ERROR\nmessage:boom\n\n\0" + message(1))
        self.assertEqual(handler.frames, [Frame("ERROR", {"message": "boom"})])
        self.assertTrue(transport.disconnecting)
        self.assertFalse(protocol.is_stomp_connected)
        protocol.dataReceived(message(2))
        self.assertEqual(len(handler.frames), 1)

    def test_second_connected_is_fatal(self) -> None:
        """
        Only the first CONNECTED negotiates: a later one (here claiming
        another version) closes the connection with a
        L{RemoteProtocolError}, and is not given to the handler.
        """
        handler, protocol, transport = connected(CONNECTED_12)
        protocol.dataReceived(CONNECTED_10 + message(1))
        self.assertEqual(protocol.version, "1.2")
        self.assertEqual(handler.frames, [])
        self.assertTrue(transport.disconnecting)
        self.assertFalse(protocol.is_stomp_connected)
        lose(protocol)
        [(_, error)] = handler.lost
        self.assertIsInstance(error, RemoteProtocolError)
        self.assertIn("second CONNECTED", str(error))
        self.assertIn("'1.0'", str(error))

    def test_send_frame_escapes_for_negotiated_version(self) -> None:
        """
        L{StompProtocol.send_frame} serializes for the negotiated version: a
        colon in a value is escaped under 1.2 and written as is under 1.0.
        """
        for data, expected in [
            (CONNECTED_12, b"SEND\ndestination:/queue/a\\cb\n\n\0"),
            (CONNECTED_10, b"SEND\ndestination:/queue/a:b\n\n\0"),
        ]:
            with self.subTest(data=data):
                _, protocol, transport = connected(data)
                protocol.send_frame(Frame("SEND", {"destination": "/queue/a:b"}))
                self.assertEqual(transport.value(), expected)


# A stream exercising the framing rules: content-length bodies holding NUL
# bytes, NUL-terminated bodies, CRLF line ends, an empty body, heart-beat
# EOLs (LF and CRLF) between frames, and escaped headers.
STREAM_PARTS = [
    b"CONNECTED\nversion:1.2\nheart-beat:0,1000\n\n\0",
    b"\n",
    b"MESSAGE\ndestination:/queue/a\ncontent-length:7\n\nab\0c\0\nd\0",
    b"\r\n\n",
    b"MESSAGE\ndestination:/queue/b\n\nno length\0",
    b"MESSAGE\r\ndestination:/queue/c\r\nx:1\r\n\r\ncrlf\0",
    b"\r\n",
    b"MESSAGE\ndestination:/queue/d\ncontent-length:0\n\n\0",
    b"RECEIPT\nreceipt-id:r-99\n\n\0",
    b"\n\n",
    b"MESSAGE\nk\\c:v\\n\ndestination:/queue/e\ncontent-length:3\n\n\0\0\0\0",
    b"MESSAGE\ndestination:/queue/f\n\n\0",
]
STREAM = b"".join(STREAM_PARTS)
STREAM_EVENTS: list[tuple[str, object]] = [
    ("made", None),
    ("connected", Frame("CONNECTED", {"version": "1.2", "heart-beat": "0,1000"})),
    ("heartbeat", None),
    ("frame", Frame("MESSAGE", {"destination": "/queue/a", "content-length": "7"}, b"ab\0c\0\nd")),
    ("heartbeat", None),
    ("heartbeat", None),
    ("frame", Frame("MESSAGE", {"destination": "/queue/b"}, b"no length")),
    ("frame", Frame("MESSAGE", {"destination": "/queue/c", "x": "1"}, b"crlf")),
    ("heartbeat", None),
    ("frame", Frame("MESSAGE", {"destination": "/queue/d", "content-length": "0"})),
    ("frame", Frame("RECEIPT", {"receipt-id": "r-99"})),
    ("heartbeat", None),
    ("heartbeat", None),
    (
        "frame",
        Frame(
            "MESSAGE",
            {"k:": "v\n", "destination": "/queue/e", "content-length": "3"},
            b"\0\0\0",
        ),
    ),
    ("frame", Frame("MESSAGE", {"destination": "/queue/f"})),
]


class ChunkingTests(SynchronousTestCase):
    """
    The frames and heart-beats the handler sees do not depend on how the
    bytes are split across C{dataReceived} calls.
    """

    def feed(self, chunks: list[bytes]) -> tuple[RecordingHandler, StompProtocol]:
        handler, protocol, transport = make_protocol()
        for chunk in chunks:
            protocol.dataReceived(chunk)
        self.assertFalse(transport.disconnecting)
        return handler, protocol

    def test_whole(self) -> None:
        """
        The stream fed in one call gives exactly the expected events.
        """
        handler, protocol = self.feed([STREAM])
        self.assertEqual(handler.events, STREAM_EVENTS)
        self.assertEqual(handler.heartbeats, 6)
        self.assertEqual(protocol.line_mode, 1)

    def test_one_byte_at_a_time(self) -> None:
        """
        The stream fed one byte per call gives the same events.
        """
        handler, protocol = self.feed([STREAM[i : i + 1] for i in range(len(STREAM))])
        self.assertEqual(handler.events, STREAM_EVENTS)
        self.assertEqual(protocol.line_mode, 1)

    def test_every_chunk_size(self) -> None:
        """
        The stream fed in chunks of every size from 1 to its whole length
        gives the same events each time.
        """
        for size in range(1, len(STREAM) + 1):
            chunks = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
            handler, protocol = self.feed(chunks)
            self.assertEqual(handler.events, STREAM_EVENTS, f"chunk size {size}")
            self.assertEqual(protocol.line_mode, 1, f"chunk size {size}")

    def test_every_split_point(self) -> None:
        """
        The stream split in two at every position, and in three at random
        positions (with empty chunks among them), gives the same events.
        """
        for i in range(len(STREAM) + 1):
            handler, _ = self.feed([STREAM[:i], STREAM[i:]])
            self.assertEqual(handler.events, STREAM_EVENTS, f"split at {i}")
        rng = random.Random(1234)
        for _ in range(300):
            a, b = sorted(rng.randrange(len(STREAM) + 1) for _ in range(2))
            handler, _ = self.feed([STREAM[:a], b"", STREAM[a:b], STREAM[b:]])
            self.assertEqual(handler.events, STREAM_EVENTS, f"split at {a}, {b}")

    def test_many_frames_in_one_call(self) -> None:
        """
        100,000 MESSAGE frames in a single C{dataReceived} call are all
        delivered, in order, in linear time.
        """
        count = 100_000
        data = CONNECTED_12 + b"".join(
            [
                message(n, b"body %d" % n) if n % 2 else b"MESSAGE\nmessage-id:%d\n\nx\0" % n
                for n in range(count)
            ]
        )
        handler, protocol, transport = make_protocol()
        start = time.perf_counter()
        protocol.dataReceived(data)
        elapsed = time.perf_counter() - start
        frames = handler.frames
        self.assertEqual(len(frames), count)
        self.assertEqual(frames[0], Frame("MESSAGE", {"message-id": "0"}, b"x"))
        self.assertEqual(frames[-1].headers["message-id"], str(count - 1))
        self.assertEqual(frames[-1].body, b"body %d" % (count - 1))
        self.assertEqual(
            [int(f.headers["message-id"]) for f in frames[::9973]], list(range(0, count, 9973))
        )
        self.assertFalse(transport.disconnecting)
        self.assertLess(elapsed, 5.0)

    def test_large_body_in_small_chunks(self) -> None:
        """
        A 4 MB body arriving in 1 KiB chunks (with and without
        content-length) is delivered whole, in reasonable time.
        """
        body = bytes(range(1, 256)) * (4 * 1024 * 1024 // 255)
        for head in [
            b"MESSAGE\ncontent-length:%d\n\n" % len(body),
            b"MESSAGE\n\n",
        ]:
            handler, protocol, _transport = connected()
            data = head + body + b"\0"
            start = time.perf_counter()
            for i in range(0, len(data), 1024):
                protocol.dataReceived(data[i : i + 1024])
            elapsed = time.perf_counter() - start
            self.assertEqual(len(handler.frames), 1)
            self.assertEqual(handler.frames[0].body, body)
            self.assertLess(elapsed, 5.0)


class LineModeTests(SynchronousTestCase):
    """
    C{line_mode} is 1 while reading command and header lines and 0 while
    inside a body.
    """

    def test_content_length_body(self) -> None:
        """
        A body with content-length: line mode 1 during the header lines, 0
        while its bytes (and then its NUL) are awaited, 1 once it is
        complete.
        """
        handler, protocol, _ = connected()
        self.assertEqual(protocol.line_mode, 1)
        protocol.dataReceived(b"MESSAGE\ndestination:/q")
        self.assertEqual(protocol.line_mode, 1)
        protocol.dataReceived(b"\ncontent-length:10\n")
        self.assertEqual(protocol.line_mode, 1)
        protocol.dataReceived(b"\n12345")
        self.assertEqual(protocol.line_mode, 0)
        protocol.dataReceived(b"67890")
        self.assertEqual(protocol.line_mode, 0)
        self.assertEqual(handler.frames, [])
        protocol.dataReceived(b"\0")
        self.assertEqual(protocol.line_mode, 1)
        self.assertEqual(len(handler.frames), 1)
        self.assertEqual(handler.frames[0].body, b"1234567890")

    def test_nul_terminated_body(self) -> None:
        """
        A body without content-length: line mode 0 until its NUL arrives,
        and 1 again when the next frame's lines start in the same chunk.
        """
        handler, protocol, _ = connected()
        protocol.dataReceived(b"MESSAGE\n\nabc")
        self.assertEqual(protocol.line_mode, 0)
        protocol.dataReceived(b"def\0MESSAGE\nx:")
        self.assertEqual(protocol.line_mode, 1)
        self.assertEqual(handler.frames, [Frame("MESSAGE", {}, b"abcdef")])
        protocol.dataReceived(b"1\n\nbody")
        self.assertEqual(protocol.line_mode, 0)
        protocol.dataReceived(b"\0\n")
        self.assertEqual(protocol.line_mode, 1)
        self.assertEqual(handler.frames[-1], Frame("MESSAGE", {"x": "1"}, b"body"))
        self.assertEqual(handler.heartbeats, 1)


class ProtocolErrorTests(SynchronousTestCase):
    """
    A malformed or oversize frame closes the connection; the frames before
    it are delivered, none after it.
    """

    def check_fatal(
        self,
        bad: bytes,
        error_type: type[RemoteProtocolError],
        limits: FrameLimits | None = None,
        chunk: int | None = None,
    ) -> RemoteProtocolError:
        handler, protocol, transport = connected(limits=limits)
        data = message(1) + b"\n" + message(2) + bad + message(3)
        if chunk is None:
            protocol.dataReceived(data)
        else:
            for i in range(0, len(data), chunk):
                protocol.dataReceived(data[i : i + chunk])
        self.assertEqual(
            [f.headers.get("message-id") for f in handler.frames], ["1", "2"], repr(bad)
        )
        self.assertEqual(handler.heartbeats, 1)
        self.assertTrue(transport.disconnecting, repr(bad))
        self.assertFalse(protocol.is_stomp_connected)
        self.assertEqual(handler.lost, [])
        # Nothing more is dispatched, whatever arrives.
        protocol.dataReceived(message(4) + b"\n")
        self.assertEqual(len(handler.frames), 2)
        self.assertEqual(handler.heartbeats, 1)
        lose(protocol)
        [(reason, error)] = handler.lost
        self.assertTrue(reason.check(ConnectionDone))
        self.assertIsInstance(error, error_type, repr(bad))
        assert isinstance(error, RemoteProtocolError)
        return error

    def test_malformed_frames(self) -> None:
        """
        An unknown command, a header line without a colon, an invalid
        content-length, a content-length body not followed by NUL, a client
        command and an undefined escape each close the connection with a
        L{RemoteProtocolError}, after the good frames before them, whether
        the stream arrives whole or a byte at a time.
        """
        for bad in [
            b"BOGUS\n\n\0",
            b"MESSAGE\nno colon here\n\n\0",
            b"MESSAGE\ncontent-length:x1\n\nab\0",
            b"MESSAGE\ncontent-length:-1\n\nab\0",
            b"MESSAGE\ncontent-length:2\n\nabc\0",
            b"SEND\ndestination:/q\n\n\0",
            b"MESSAGE\nbad:\\t\n\n\0",
        ]:
            for chunk in [None, 1]:
                with self.subTest(bad=bad, chunk=chunk):
                    self.check_fatal(bad, RemoteProtocolError, chunk=chunk)

    def test_oversize_body(self) -> None:
        """
        A body over C{max_body}, declared by content-length or found by
        looking for the NUL, closes the connection with L{FrameTooLarge}.
        """
        limits = FrameLimits(max_body=16)
        for bad in [
            b"MESSAGE\ncontent-length:17\n\n" + b"x" * 17 + b"\0",
            b"MESSAGE\n\n" + b"x" * 17 + b"\0",
            b"MESSAGE\n\n" + b"x" * 1000,
        ]:
            for chunk in [None, 1, 5]:
                with self.subTest(bad=bad, chunk=chunk):
                    error = self.check_fatal(bad, FrameTooLarge, limits, chunk)
                    assert isinstance(error, FrameTooLarge)
                    self.assertEqual((error.limit, error.value), ("max_body", 16))

    def test_oversize_headers(self) -> None:
        """
        Too many header lines, or a header block over
        C{max_header_block}, close the connection with L{FrameTooLarge}
        naming that limit.
        """
        limits = FrameLimits(max_header_block=200, max_headers=5)
        for bad, limit in [
            (b"MESSAGE\n" + b"".join(b"h%d:v\n" % i for i in range(6)) + b"\n\0", "max_headers"),
            (b"MESSAGE\nh:" + b"v" * 300 + b"\n\n\0", "max_header_block"),
            (b"MESSAGE\nh:" + b"v" * 300, "max_header_block"),
        ]:
            for chunk in [None, 1]:
                with self.subTest(bad=bad, chunk=chunk):
                    error = self.check_fatal(bad, FrameTooLarge, limits, chunk)
                    assert isinstance(error, FrameTooLarge)
                    self.assertEqual(error.limit, limit)

    def test_within_limits(self) -> None:
        """
        Frames exactly at the limits are accepted.
        """
        limits = FrameLimits(max_body=16, max_headers=2)
        handler, protocol, transport = connected(limits=limits)
        protocol.dataReceived(
            b"MESSAGE\ncontent-length:16\n\n"
            + b"x" * 16
            + b"\0MESSAGE\na:1\nb:2\n\n"
            + b"y" * 16
            + b"\0"
        )
        self.assertEqual([f.body for f in handler.frames], [b"x" * 16, b"y" * 16])
        self.assertFalse(transport.disconnecting)


class ReceiptTests(SynchronousTestCase):
    """
    Receipts: one L{Deferred} per request, fired by its RECEIPT, failed by
    an ERROR naming it or by the loss of the connection.
    """

    def send_three(
        self,
    ) -> tuple[RecordingHandler, StompProtocol, StringTransport, list[object], list[str]]:
        handler, protocol, transport = connected()
        deferreds: list[object] = [
            protocol.send_frame(Frame("SEND", {"destination": f"/q/{i}"}, b"x"), receipt=True)
            for i in range(3)
        ]
        sent = parse_frames(transport.value())
        ids = [frame.headers["receipt"] for frame in sent]  # type: ignore[union-attr]
        return handler, protocol, transport, deferreds, ids

    def test_receipt_headers_unique(self) -> None:
        """
        Each request sent with a receipt carries a receipt header with a
        distinct id, and the caller's frame is not modified.
        """
        _handler, protocol, transport = connected()
        frame = Frame("SEND", {"destination": "/q"}, b"body")
        for _ in range(5):
            protocol.send_frame(frame, receipt=True)
        self.assertEqual(frame.headers, {"destination": "/q"})
        sent = parse_frames(transport.value())
        self.assertEqual(len(sent), 5)
        ids = [f.headers["receipt"] for f in sent]  # type: ignore[union-attr]
        self.assertEqual(len(set(ids)), 5)
        for f in sent:
            assert isinstance(f, Frame)
            self.assertEqual(f.command, "SEND")
            self.assertEqual(f.body, b"body")
            self.assertEqual(f.headers["destination"], "/q")
        self.assertEqual(protocol.pending_receipts, 5)

    def test_receipts_out_of_order(self) -> None:
        """
        A RECEIPT fires the Deferred of the request it names, and only it,
        whatever order the receipts come back in.
        """
        handler, protocol, _, deferreds, ids = self.send_three()
        for d in deferreds:
            self.assertNoResult(d)  # type: ignore[arg-type]
        order = [2, 0, 1]
        for done, index in enumerate(order, 1):
            receipt = Frame("RECEIPT", {"receipt-id": ids[index]})
            protocol.dataReceived(b"RECEIPT\nreceipt-id:%s\n\n\0" % ids[index].encode())
            self.assertEqual(self.successResultOf(deferreds[index]), receipt)  # type: ignore[arg-type]
            for later in order[done:]:
                self.assertNoResult(deferreds[later])  # type: ignore[arg-type]
            self.assertEqual(protocol.pending_receipts, 3 - done)
        # The handler sees the RECEIPT frames too.
        self.assertEqual([f.command for f in handler.frames], ["RECEIPT"] * 3)

    def test_error_fails_named_receipt(self) -> None:
        """
        An ERROR carrying a receipt-id fails that request's Deferred with a
        L{BrokerError} whose message is the ERROR's message header; the
        others fail with L{ConnectionLost} when the connection goes.
        """
        handler, protocol, transport, deferreds, ids = self.send_three()
        protocol.dataReceived(
            b"ERROR\nreceipt-id:%s\nmessage:no such queue\n\ndetails\nmore\0" % ids[1].encode()
        )
        failure = self.failureResultOf(deferreds[1], BrokerError)  # type: ignore[arg-type]
        self.assertEqual(failure.value.message, "no such queue")
        self.assertEqual(failure.value.body, "details\nmore")
        self.assertEqual(failure.value.frame.headers["receipt-id"], ids[1])
        self.assertNoResult(deferreds[0])  # type: ignore[arg-type]
        self.assertNoResult(deferreds[2])  # type: ignore[arg-type]
        self.assertTrue(transport.disconnecting)
        lose(protocol)
        self.failureResultOf(deferreds[0], ConnectionLost)  # type: ignore[arg-type]
        self.failureResultOf(deferreds[2], ConnectionLost)  # type: ignore[arg-type]
        [(_, error)] = handler.lost
        self.assertIsInstance(error, BrokerError)

    def test_connection_lost_fails_pending(self) -> None:
        """
        Losing the connection fails every pending receipt with
        L{ConnectionLost} before the handler hears of it, and empties the
        pending receipts.
        """
        handler, protocol, _, deferreds, ids = self.send_three()
        protocol.dataReceived(b"RECEIPT\nreceipt-id:%s\n\n\0" % ids[0].encode())
        self.successResultOf(deferreds[0])  # type: ignore[arg-type]
        failed_before_handler: list[bool] = []
        original = handler.connection_lost

        def connection_lost(protocol: StompProtocol, reason: Failure, error: object) -> None:
            failed_before_handler.append(protocol.pending_receipts == 0)
            original(protocol, reason, error)  # type: ignore[arg-type]

        handler.connection_lost = connection_lost  # type: ignore[method-assign]
        lose(protocol)
        self.failureResultOf(deferreds[1], ConnectionLost)  # type: ignore[arg-type]
        self.failureResultOf(deferreds[2], ConnectionLost)  # type: ignore[arg-type]
        self.assertEqual(protocol.pending_receipts, 0)
        self.assertEqual(failed_before_handler, [True])
        [(reason, error)] = handler.lost
        self.assertTrue(reason.check(ConnectionDone))
        self.assertIsNone(error)

    def test_cancel_forgets_receipt(self) -> None:
        """
        Cancelling a receipt's Deferred fails it with L{CancelledError} and
        drops it from the pending receipts; a RECEIPT for it later is
        harmless and leaves the other requests alone.
        """
        handler, protocol, transport, deferreds, ids = self.send_three()
        deferreds[1].cancel()  # type: ignore[attr-defined]
        self.failureResultOf(deferreds[1], CancelledError)  # type: ignore[arg-type]
        self.assertEqual(protocol.pending_receipts, 2)
        protocol.dataReceived(b"RECEIPT\nreceipt-id:%s\n\n\0" % ids[1].encode())
        self.assertEqual(protocol.pending_receipts, 2)
        self.assertNoResult(deferreds[0])  # type: ignore[arg-type]
        self.assertNoResult(deferreds[2])  # type: ignore[arg-type]
        self.assertFalse(transport.disconnecting)
        self.assertEqual(handler.frames, [Frame("RECEIPT", {"receipt-id": ids[1]})])
        # Unknown receipt ids are harmless too.
        protocol.dataReceived(b"RECEIPT\nreceipt-id:nope\n\n\0RECEIPT\n\n\0")
        self.assertEqual(protocol.pending_receipts, 2)
        self.assertFalse(transport.disconnecting)
        lose(protocol)
        self.failureResultOf(deferreds[0], ConnectionLost)  # type: ignore[arg-type]
        self.failureResultOf(deferreds[2], ConnectionLost)  # type: ignore[arg-type]

    def test_receipt_during_write(self) -> None:
        """
        A RECEIPT delivered while the request is still being written (as
        an in-memory transport may do) fires the request's Deferred: the
        receipt is registered before the write.
        """
        _, protocol, _ = connected()

        class EchoReceipt(StringTransport):
            def write(self, data: bytes) -> None:
                super().write(data)
                [frame] = parse_frames(data)
                assert isinstance(frame, Frame)
                receipt = frame.headers["receipt"].encode()
                protocol.dataReceived(b"RECEIPT\nreceipt-id:%s\n\n\0" % receipt)

        protocol.transport = EchoReceipt()
        d = protocol.send_frame(Frame("SEND", {"destination": "/q"}), receipt=True)
        self.assertEqual(self.successResultOf(d).command, "RECEIPT")  # type: ignore[union-attr]
        self.assertEqual(protocol.pending_receipts, 0)

    def test_without_receipt(self) -> None:
        """
        C{send_frame} without a receipt writes the frame with no receipt
        header and returns a Deferred that has already fired with C{None}.
        """
        _, protocol, transport = connected()
        d = protocol.send_frame(Frame("SEND", {"destination": "/q"}, b"hi"))
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(transport.value(), b"SEND\ndestination:/q\ncontent-length:2\n\nhi\0")
        self.assertEqual(protocol.pending_receipts, 0)

    def test_unrepresentable_header(self) -> None:
        """
        A frame that cannot be written in the negotiated version raises
        L{UnrepresentableHeader} at the call; nothing is written and no
        receipt is left pending.
        """
        for data, headers in [
            (CONNECTED_10, {"destination": "/q\nX-Injected:1"}),
            (CONNECTED_11, {"destination": "/q\r"}),
            (CONNECTED_12, {"destination": "/q\0"}),
            (CONNECTED_12, {"": "empty name"}),
        ]:
            for receipt in [False, True]:
                with self.subTest(headers=headers, receipt=receipt):
                    _, protocol, transport = connected(data)
                    with self.assertRaises(UnrepresentableHeader):
                        protocol.send_frame(Frame("SEND", headers), receipt=receipt)
                    self.assertEqual(transport.value(), b"")
                    self.assertEqual(protocol.pending_receipts, 0)


class FlowControlTests(SynchronousTestCase):
    """
    L{StompProtocol.pauseProducing} stops dispatch; resumeProducing
    dispatches what arrived meanwhile.
    """

    def test_pause_and_resume(self) -> None:
        """
        While paused, received frames are buffered, not dispatched, and the
        transport is paused too; resuming dispatches them in order.
        """
        handler, protocol, transport = make_protocol()
        protocol.pauseProducing()
        self.assertEqual(transport.producerState, "paused")
        protocol.dataReceived(CONNECTED_12 + message(1))
        protocol.dataReceived(b"\n" + message(2))
        self.assertEqual(handler.events, [("made", None)])
        self.assertIsNone(protocol.version)
        protocol.resumeProducing()
        self.assertEqual(transport.producerState, "producing")
        self.assertEqual(protocol.version, "1.2")
        self.assertEqual(
            [kind for kind, _ in handler.events],
            ["made", "connected", "frame", "heartbeat", "frame"],
        )
        self.assertEqual([f.headers["message-id"] for f in handler.frames], ["1", "2"])

    def test_pause_from_handler(self) -> None:
        """
        A handler that pauses the protocol while handling a frame stops the
        dispatch of the frames after it, even those already received in
        the same chunk; each resume dispatches until the next pause.
        """
        handler, protocol, transport = connected()
        handler.pause_on = lambda frame: frame.headers.get("message-id") in ("2", "4")
        protocol.dataReceived(b"".join(message(n) for n in range(1, 6)))
        self.assertEqual([f.headers["message-id"] for f in handler.frames], ["1", "2"])
        self.assertEqual(transport.producerState, "paused")
        protocol.resumeProducing()
        self.assertEqual([f.headers["message-id"] for f in handler.frames], ["1", "2", "3", "4"])
        protocol.resumeProducing()
        self.assertEqual(
            [f.headers["message-id"] for f in handler.frames], ["1", "2", "3", "4", "5"]
        )
        self.assertEqual(protocol.line_mode, 1)

    def test_malformed_while_paused(self) -> None:
        """
        A malformed frame received while paused is only acted upon on
        resume: the good frames before it are delivered, then the
        connection is closed.
        """
        handler, protocol, transport = connected()
        protocol.pauseProducing()
        protocol.dataReceived(message(1) + b"BOGUS\n\n\0" + message(2))
        self.assertEqual(handler.frames, [])
        self.assertFalse(transport.disconnecting)
        protocol.resumeProducing()
        self.assertEqual([f.headers["message-id"] for f in handler.frames], ["1"])
        self.assertTrue(transport.disconnecting)


class ClosingTests(SynchronousTestCase):
    """
    L{StompProtocol.close} flushes for at most C{close_timeout} seconds,
    then aborts: a broker that reads nothing cannot keep a closed
    connection open.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.handler = RecordingHandler()
        self.protocol = StompProtocol(
            self.handler, Frame("CONNECT", {"accept-version": "1.2"}), clock=self.clock
        )
        self.transport = StringTransport()
        self.protocol.makeConnection(self.transport)
        self.protocol.dataReceived(CONNECTED_12)

    def test_aborts_after_close_timeout(self) -> None:
        """
        A close that has not ended within C{close_timeout} aborts the
        connection; its loss is then reported as any other.
        """
        self.protocol.close()
        self.assertTrue(self.transport.disconnecting)
        self.clock.advance(StompProtocol.close_timeout - 0.01)
        self.assertFalse(self.transport.disconnected)
        self.clock.advance(0.01)
        self.assertTrue(self.transport.disconnected)
        self.protocol.connectionLost(Failure(ConnectionAborted()))
        [(reason, error)] = self.handler.lost
        self.assertTrue(reason.check(ConnectionAborted))
        self.assertIsNone(error)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_loss_cancels_abort(self) -> None:
        """
        A close that ends in time leaves no timer behind, and nothing is
        aborted.
        """
        self.protocol.close()
        lose(self.protocol)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertFalse(self.transport.disconnected)

    def test_close_after_loss(self) -> None:
        """
        Closing a connection already lost starts no timer.
        """
        lose(self.protocol)
        self.protocol.close()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_flush_timeout(self) -> None:
        """
        C{flush_timeout} replaces C{close_timeout}; C{0} aborts at once.
        """
        self.protocol.close(flush_timeout=0.5)
        self.clock.advance(0.5)
        self.assertTrue(self.transport.disconnected)
        _, protocol, transport = connected()
        protocol.close(flush_timeout=0)
        self.assertTrue(transport.disconnected)

    def test_shorter_bound_wins(self) -> None:
        """
        Closing again may shorten the bound, never lengthen it.
        """
        self.protocol.close(flush_timeout=10)
        self.protocol.close(flush_timeout=1)
        self.protocol.close(flush_timeout=20)
        self.protocol.close()
        [call] = self.clock.getDelayedCalls()
        self.assertEqual(call.getTime(), 1)
        self.clock.advance(1)
        self.assertTrue(self.transport.disconnected)

    def test_unregisters_send_buffer_watch(self) -> None:
        """
        Closing unregisters the producer that watches the send buffer: a
        transport closes only once its producer is gone, and one paused on
        a full buffer would be resumed, not closed, once it drains.
        """
        self.assertIsNotNone(self.transport.producer)
        self.protocol.close()
        self.assertIsNone(self.transport.producer)
        self.protocol.close()

    def test_without_clock(self) -> None:
        """
        Without a clock there is no timer; C{flush_timeout=0} still aborts.
        """
        _, protocol, transport = connected()
        protocol.close()
        self.assertTrue(transport.disconnecting)
        self.assertFalse(transport.disconnected)
        protocol.close(flush_timeout=0)
        self.assertTrue(transport.disconnected)


class BrokerErrorTests(SynchronousTestCase):
    """
    L{BrokerError}'s text comes from the C{message} header and a bounded
    prefix of the body; the body stays bytes in C{frame.body}.
    """

    def test_text(self) -> None:
        """
        The text names the C{message} header and the body's first
        non-blank line.
        """
        error = BrokerError(Frame("ERROR", {"message": "bad"}, b"\n  first line\nsecond\n"))
        self.assertEqual(str(error), "broker sent ERROR: bad (first line)")
        self.assertEqual(error.message, "bad")
        self.assertEqual(error.body, "\n  first line\nsecond\n")
        self.assertEqual(str(BrokerError(Frame("ERROR"))), "broker sent ERROR: (no message header)")

    def test_large_body_not_decoded_whole(self) -> None:
        """
        A large body of short lines, with invalid UTF-8 at its end, is
        neither decoded, stripped nor split whole: the text comes from
        its first line, and its length is bounded.
        """

        class Untouchable(bytes):
            # Slicing gives plain bytes; anything done to the whole fails.
            def decode(self, *args: object, **kwargs: object) -> str:
                raise AssertionError("the whole body was decoded")

            def strip(self, *args: object) -> bytes:
                raise AssertionError("the whole body was stripped")

            def splitlines(self, *args: object, **kwargs: object) -> list[bytes]:
                raise AssertionError("the whole body was split")

        body = Untouchable(b"java.lang.Oops: it broke\n" + b"at x\n" * 1_000_000 + b"\xff\xfe")
        error = BrokerError(Frame("ERROR", {"message": "m" * 100_000}, body))
        text = str(error)
        self.assertIn("(java.lang.Oops: it broke)", text)
        self.assertLess(len(text), BrokerError.MESSAGE_CHARS + BrokerError.DETAIL_CHARS + 100)
        self.assertIs(error.frame.body, body)
        self.assertEqual(len(error.message), 100_000)

    def test_invalid_utf8(self) -> None:
        """
        Invalid UTF-8 in the prefix gives replacement characters, and a
        character cut at the prefix's end does no harm; neither raises.
        """
        prefix = BrokerError.DETAIL_PREFIX
        error = BrokerError(Frame("ERROR", {}, b"\xff\xfebad\nrest"))
        self.assertEqual(str(error), "broker sent ERROR: (no message header) (\ufffd\ufffdbad)")
        error = BrokerError(Frame("ERROR", {}, b"\n" * (prefix - 1) + "\u20ac".encode()))
        self.assertEqual(str(error), "broker sent ERROR: (no message header) (\ufffd)")
        self.assertEqual(error.body, "\n" * (prefix - 1) + "\u20ac")

    def test_long_first_line(self) -> None:
        """
        A first line longer than C{DETAIL_CHARS} is cut, and says so.
        """
        error = BrokerError(Frame("ERROR", {"message": "m"}, b"y" * 10_000))
        detail = BrokerError.DETAIL_CHARS
        self.assertEqual(str(error), f"broker sent ERROR: m ({'y' * detail}...)")


class HostileBytesTests(SynchronousTestCase):
    """
    Whatever a broker sends, C{dataReceived} raises nothing: the
    connection goes on, or closes with a L{StompError}.
    """

    def test_receipt_without_id(self) -> None:
        """
        A RECEIPT without C{receipt-id} answers nothing and is logged; the
        handler still sees it.
        """
        handler, protocol, transport = connected()
        pending = protocol.send_frame(Frame("SEND", {"destination": "/q"}), receipt=True)
        with captured_log() as logged:
            protocol.dataReceived(b"RECEIPT\n\n\0")
        self.assertNoResult(pending)
        self.assertEqual(handler.frames, [Frame("RECEIPT")])
        self.assertFalse(transport.disconnecting)
        self.assertIn("RECEIPT without a receipt-id", " ".join(logged))
        lose(protocol)
        self.failureResultOf(pending, ConnectionLost)

    def test_error_with_odd_receipt_ids(self) -> None:
        """
        An ERROR naming no receipt, an unknown one, an empty one or one
        already answered fails no other request; the connection closes
        with the broker's error.
        """
        for receipt_id in [None, "nope", "", "r-1"]:
            with self.subTest(receipt_id=receipt_id):
                _handler, protocol, transport = connected()
                first = protocol.send_frame(Frame("SEND", {"destination": "/q"}), receipt=True)
                second = protocol.send_frame(Frame("SEND", {"destination": "/q"}), receipt=True)
                protocol.dataReceived(b"RECEIPT\nreceipt-id:r-1\n\n\0")
                self.successResultOf(first)
                headers = {} if receipt_id is None else {"receipt-id": receipt_id}
                protocol.dataReceived(
                    serialize_frame(Frame("ERROR", {"message": "no", **headers}), "1.2")
                )
                self.assertNoResult(second)
                self.assertTrue(transport.disconnecting)
                lose(protocol)
                failure = self.failureResultOf(second, ConnectionLost)
                self.assertIsInstance(failure.value.error, BrokerError)

    def test_content_length_games(self) -> None:
        """
        Content-lengths of thousands of digits, of non-ASCII digits, signed
        or spaced, close the connection with a L{RemoteProtocolError};
        leading zeros are only zeros.
        """
        for declared in [
            b"9" * 5000,
            b"0" * 5000 + b"9" * 5000,
            "\u0661".encode(),
            b"+2",
            b" 2",
            b"2 ",
            b"0x2",
            b"",
        ]:
            with self.subTest(declared=declared[:20]):
                handler, protocol, transport = connected()
                protocol.dataReceived(b"MESSAGE\ncontent-length:%s\n\nab\0" % declared)
                self.assertEqual(handler.frames, [])
                self.assertTrue(transport.disconnecting)
                lose(protocol)
                [(_, error)] = handler.lost
                self.assertIsInstance(error, RemoteProtocolError)
        handler, protocol, transport = connected()
        protocol.dataReceived(b"MESSAGE\ncontent-length:" + b"0" * 5000 + b"2\n\nab\0")
        self.assertEqual([f.body for f in handler.frames], [b"ab"])

    def test_random_corruption(self) -> None:
        """
        A stream of frames, corrupted at random and cut into chunks at
        random, never makes C{dataReceived} raise, whether it arrives
        during the handshake or after it; any connection closed by it
        reports a L{StompError}.
        """
        rng = random.Random(10)
        stream = (
            CONNECTED_12.replace(b"\n\n", b"\nheart-beat:0,0\n\n")
            + message(1)
            + b"\n"
            + b"RECEIPT\nreceipt-id:r-1\n\n\0"
            + b"ERROR\nmessage:m\nreceipt-id:r-2\ncontent-length:3\n\nab\xff\0"
            + message(2, b"body\0with nul")
        )
        alphabet = b"\0\n\r:\\\xff0123456789-,+ "
        for case in range(600):
            data = bytearray(stream)
            for _ in range(rng.randint(1, 6)):
                where = rng.randrange(len(data))
                choice = rng.random()
                if choice < 0.4:
                    data[where] = rng.choice(alphabet)
                elif choice < 0.7:
                    data[where:where] = bytes(
                        rng.choice(alphabet) for _ in range(rng.randint(1, 9))
                    )
                else:
                    del data[where : where + rng.randint(1, 5)]
            with self.subTest(case=case, data=bytes(data)):
                handler, protocol, _transport = make_protocol()
                answered = protocol.send_frame(Frame("SEND", {"destination": "/q"}), receipt=True)
                outcomes: list[object] = []
                answered.addBoth(outcomes.append)
                offset = 0
                while offset < len(data):
                    size = rng.randint(1, 64)
                    protocol.dataReceived(bytes(data[offset : offset + size]))
                    offset += size
                lose(protocol)
                [(_, error)] = handler.lost
                if error is not None:
                    self.assertIsInstance(error, StompError)
                [outcome] = outcomes
                if isinstance(outcome, Failure):
                    self.assertIsInstance(outcome.value, StompError)


class BusyReadPauseTests(SynchronousTestCase):
    """
    After a busy read (L{BUSY_READ_FRAMES} frames or more in less than
    L{FULL_READ} bytes) reading stops for L{StompProtocol.read_pause}; from
    ActiveMQ Classic only when the read's frames average fewer than
    L{ACTIVEMQ_BUSY_FRAME_SIZE} bytes.
    """

    def _paused_after(self, server: str | None, frames: int, body: int) -> bool:
        # Whether one read of that many MESSAGEs pauses reading, and, if it
        # does, that reading resumes read_pause later.
        clock = Clock()
        handler = RecordingHandler()
        protocol = StompProtocol(
            handler, Frame("CONNECT", {"accept-version": "1.2", "host": "h"}), clock=clock
        )
        transport = StringTransport()
        protocol.makeConnection(transport)
        server_line = b"" if server is None else b"server:%s\n" % server.encode()
        protocol.dataReceived(b"CONNECTED\nversion:1.2\n%s\n\0" % server_line)
        protocol.dataReceived(b"".join(message(n, b"x" * body) for n in range(frames)))
        received = [name for name, _ in handler.events].count("frame")
        self.assertEqual(received, frames)
        paused = transport.producerState == "paused"
        if paused:
            clock.advance(protocol.read_pause)
            self.assertEqual(transport.producerState, "producing")
        return paused

    def test_small_frames(self) -> None:
        """
        A busy read of short frames pauses, from any broker; fewer frames
        do not.
        """
        for server in (None, "RabbitMQ/3.10.8", "ActiveMQ/5.17.2", "ActiveMQ-Artemis/2.31"):
            self.assertTrue(self._paused_after(server, BUSY_READ_FRAMES, 100), server)
            self.assertFalse(self._paused_after(server, BUSY_READ_FRAMES - 1, 100), server)

    def test_long_frames(self) -> None:
        """
        A busy read of 2 KiB frames pauses, except from ActiveMQ Classic;
        a full read never does.
        """
        self.assertTrue(self._paused_after("RabbitMQ/3.10.8", 8, 2048))
        self.assertTrue(self._paused_after("ActiveMQ-Artemis/2.31", 8, 2048))
        self.assertFalse(self._paused_after("ActiveMQ/5.17.2", 8, 2048))
        # Frames just shorter than the size, head included, still pause.
        body = max(
            n
            for n in range(ACTIVEMQ_BUSY_FRAME_SIZE)
            if len(message(0, b"x" * n)) < ACTIVEMQ_BUSY_FRAME_SIZE
        )
        self.assertTrue(self._paused_after("ActiveMQ/5.17.2", 8, body))
        self.assertFalse(self._paused_after("ActiveMQ/5.17.2", 8, body + 1))
        self.assertFalse(self._paused_after(None, 40, 2048))  # over FULL_READ bytes


class QuickAckTests(SynchronousTestCase):
    """
    A read of fewer than L{BUSY_READ_FRAMES} frames (light load) is
    acknowledged at once (L{quick_ack}); a busy read, or one that ends no
    frame, is not.
    """

    def test_light_reads(self) -> None:
        acked: list[object] = []
        self.patch(protocol_module, "quick_ack", acked.append)
        _, protocol, transport = connected()
        acked.clear()
        protocol.dataReceived(message(1))
        self.assertEqual(acked, [transport])
        protocol.dataReceived(message(2)[:10])
        self.assertEqual(acked, [transport])
        protocol.dataReceived(message(2)[10:] + message(3))
        self.assertEqual(acked, [transport, transport])
        protocol.dataReceived(b"".join(message(n) for n in range(BUSY_READ_FRAMES)))
        self.assertEqual(len(acked), 2)

    def test_not_from_no_delay_brokers(self) -> None:
        """
        Reads from a broker that turns Nagle's algorithm off (RabbitMQ,
        L{NO_DELAY_SERVERS}) are not acknowledged at once: none of its
        frames waits for the ACK.  From any other, or one that does not
        say, they are.
        """
        for server, quick in (
            ("RabbitMQ/3.10.8", False),
            ("ActiveMQ/5.17.2", True),
            ("ActiveMQ-Artemis/2.31", True),
            (None, True),
        ):
            acked: list[object] = []
            self.patch(protocol_module, "quick_ack", acked.append)
            server_line = b"" if server is None else b"server:%s\n" % server.encode()
            _, protocol, transport = connected(b"CONNECTED\nversion:1.2\n%s\n\0" % server_line)
            acked.clear()
            protocol.dataReceived(message(1))
            protocol.dataReceived(message(2))
            self.assertEqual(acked, [transport, transport] if quick else [], server)
