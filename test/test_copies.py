"""
Large bodies are copied once each way: from the reads to C{frame.body},
and from the caller's body to the socket (L{stomp_twisted._decoder},
L{stomp_twisted._encoder}, L{stomp_twisted._writer}); and what avoids the
second copy changes nothing else.

Copies are counted with C{tracemalloc}, as C{bench/copies.py} does: each
call's peak over its start, added up, over the body's size.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

from twisted.internet.abstract import FileDescriptor
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from stomp_twisted import protocol as protocol_module
from stomp_twisted._encoder import BODY_APART_FROM, serialize_frame_pieces
from stomp_twisted._writer import ConnectionWriter
from stomp_twisted.errors import RemoteProtocolError, SendBufferFull, UnrepresentableHeader
from stomp_twisted.frame import (
    HEARTBEAT,
    NEED_DATA,
    Frame,
    FrameDecoder,
    serialize_frame,
)

MIB = 1024 * 1024


def allocated(*steps: Callable[[], object]) -> int:
    """
    Bytes allocated by C{steps}: each one's peak over its start, added up.
    """
    gc.collect()
    tracemalloc.start()
    total = 0
    try:
        for step in steps:
            before, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            step()
            total += tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return total


def message(body: bytes) -> bytes:
    return serialize_frame(Frame("MESSAGE", {"destination": "/queue/a"}, body), "1.2")


def reads_of(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def decode(decoder: FrameDecoder, chunks: list[bytes]) -> list[Any]:
    events: list[Any] = []
    for chunk in chunks:
        decoder.receive_data(chunk)
        while (event := decoder.next_event()) is not NEED_DATA:
            events.append(event)
    return events


class _NoReactor:
    def addWriter(self, writer: object) -> None: ...
    def removeWriter(self, writer: object) -> None: ...


class SocketlessTransport(FileDescriptor):
    """
    Twisted's buffering over a socket that takes what it is offered, up to
    C{accept} bytes a call, without copying it.
    """

    def __init__(self) -> None:
        super().__init__(reactor=_NoReactor())  # type: ignore[arg-type]
        self.connected = 1
        self.accept = FileDescriptor.SEND_LIMIT
        self.sent = 0

    def writeSomeData(self, data: bytes) -> int:
        taken = min(len(data), self.accept)
        self.sent += taken
        return taken

    def drain(self) -> None:
        while len(self.dataBuffer) > self.offset or self._tempDataBuffer:
            self.doWrite()


def connected_writer(transport: Any) -> ConnectionWriter:
    protocol = Protocol()
    protocol.makeConnection(transport)
    return ConnectionWriter(protocol)


class ReceiveCopiesTests(SynchronousTestCase):
    """
    A large body is copied once from the reads to C{frame.body}.
    """

    def assert_copies(self, read: int, most: float) -> None:
        body = b"x" * MIB
        chunks = reads_of(message(body) + b"\n", read)
        decoder = FrameDecoder("1.2")
        events: list[Any] = []

        def read_one(chunk: bytes) -> None:
            decoder.receive_data(chunk)
            while (event := decoder.next_event()) is not NEED_DATA:
                events.append(event)

        total = allocated(*(lambda chunk=chunk: read_one(chunk) for chunk in chunks))
        self.assertEqual([event.body for event in events[:1]], [body])
        self.assertLess(total, most * MIB, (read, total / MIB))

    def test_socket_reads(self) -> None:
        """
        In 64 KiB reads (Twisted's TCP read size), a 1 MiB body allocates
        about its size once (it was twice: the reads merged, then the body
        sliced from them).
        """
        self.assert_copies(64 * 1024, 1.2)

    def test_one_read(self) -> None:
        """
        In one read, the body is sliced from it: one copy.
        """
        self.assert_copies(MIB + 1024, 1.2)

    def test_short_reads(self) -> None:
        """
        Reads shorter than 8 KiB are gathered into 64 KiB blocks first (to
        keep the memory of tiny reads bounded): copied into a block, the
        block to bytes, then the body joined, three copies.
        """
        self.assert_copies(4000, 3.2)


class BodyAcrossReadsTests(SynchronousTestCase):
    """
    A body of known length joined from the pending reads (its one copy)
    decodes as any other: what follows it, its NUL checked.
    """

    def test_what_follows(self) -> None:
        """
        Frames and heart-beats after the body, in its last read and in
        reads pending after it, are decoded in order, whatever the reads.
        """
        first = message(b"a" * 100_000)
        second = message(b"b" * 10)
        third = b"MESSAGE\n\nno length\0"
        data = first + b"\n" + second + third + b"\r\n"
        for read in (1, 5000, 8192, 64 * 1024, 100_050, len(first) - 1, len(first), len(data)):
            decoder = FrameDecoder("1.2")
            events = decode(decoder, reads_of(data, read))
            bodies = [event if event is HEARTBEAT else event.body for event in events]
            self.assertEqual(
                bodies, [b"a" * 100_000, HEARTBEAT, b"b" * 10, b"no length", HEARTBEAT], read
            )
            self.assertEqual(decoder.buffered, 0)
            self.assertFalse(decoder.in_body)

    def test_reads_pending_after_the_nul(self) -> None:
        """
        Several reads that arrive before the decoder is asked again, the
        body's NUL in the first of them, leave the rest for the next frames.
        """
        decoder = FrameDecoder("1.2")
        first = message(b"a" * 70_000)
        second = message(b"b" * 70_000)
        data = first + second
        decoder.receive_data(data[:100])
        self.assertIs(decoder.next_event(), NEED_DATA)
        for chunk in reads_of(data[100:], 20_000):
            decoder.receive_data(chunk)
        bodies = []
        while (event := decoder.next_event()) is not NEED_DATA:
            bodies.append(event.body)
        self.assertEqual(bodies, [b"a" * 70_000, b"b" * 70_000])

    def test_empty_and_exact_bodies(self) -> None:
        """
        A body that ends where a read ends, its NUL in the next read, and an
        empty body whose head and NUL arrive apart.
        """
        body = b"x" * 65_536
        data = message(body)
        head = len(data) - len(body) - 1
        decoder = FrameDecoder("1.2")
        chunks = [data[:head], data[head:-1], data[-1:], b"MESSAGE\ncontent-length:0\n\n", b"\0"]
        events = decode(decoder, chunks)
        self.assertEqual([event.body for event in events], [body, b""])

    def test_no_nul_after_the_body(self) -> None:
        """
        A byte other than NUL after the body is refused, at the same error
        whichever read holds it; the decoder stays spent.
        """
        data = message(b"x" * 100_000)[:-1] + b"y" + b"MORE"
        for read in (3000, 64 * 1024):
            decoder = FrameDecoder("1.2")
            with self.assertRaises(RemoteProtocolError) as caught:
                decode(decoder, reads_of(data, read))
            self.assertIn(
                "not followed by NUL after its content-length of 100000", str(caught.exception)
            )
            self.assertRaises(RemoteProtocolError, decoder.next_event)


class SerializePiecesTests(SynchronousTestCase):
    """
    L{serialize_frame_pieces} writes what L{serialize_frame} writes.
    """

    def test_small_body_whole(self) -> None:
        """
        Under L{BODY_APART_FROM}, one bytes object, L{serialize_frame}'s.
        """
        for body in (b"", b"x", b"x" * (BODY_APART_FROM - 1)):
            frame = Frame("SEND", {"destination": "/queue/a"}, body)
            self.assertEqual(serialize_frame_pieces(frame, "1.2"), serialize_frame(frame, "1.2"))

    def test_large_body_apart(self) -> None:
        """
        From L{BODY_APART_FROM}, the head, the very body object, and the
        NUL: joined, L{serialize_frame}'s bytes, escaped in every version.
        """
        body = b"y" * BODY_APART_FROM
        for version in ("1.0", "1.1", "1.2"):
            for headers in ({"destination": "/queue/a"}, {"a": "b\\c", "content-length": "9"}):
                frame = Frame("SEND", headers, body)
                pieces = serialize_frame_pieces(frame, version)
                assert isinstance(pieces, tuple)
                self.assertIs(pieces[1], body)
                self.assertEqual(b"".join(pieces), serialize_frame(frame, version))

    def test_refused_alike(self) -> None:
        """
        A header that cannot be written is refused as by L{serialize_frame}.
        """
        frame = Frame("SEND", {"a": "b\0"}, b"y" * BODY_APART_FROM)
        self.assertRaises(UnrepresentableHeader, serialize_frame_pieces, frame, "1.2")


class SendCopiesTests(SynchronousTestCase):
    """
    A large body is copied once from the caller to the socket: the
    transport's join.
    """

    def send_one(self, busy: bool) -> float:
        transport = SocketlessTransport()
        writer = connected_writer(transport)
        if busy:
            # Earlier bytes still waiting, which Twisted's doWrite joins
            # with what follows.
            transport.write(b"\0" * 64 * 1024)
            transport.accept = 1000
            transport.doWrite()
            transport.accept = FileDescriptor.SEND_LIMIT
        frame = Frame("SEND", {"destination": "/queue/a"}, b"x" * MIB)
        waiting = len(transport.dataBuffer) - transport.offset
        sent = transport.sent
        total = allocated(
            lambda: writer.write(serialize_frame_pieces(frame, "1.2")), transport.drain
        )
        self.assertEqual(transport.sent - sent, waiting + len(serialize_frame(frame, "1.2")))
        return total / MIB

    def test_idle_transport(self) -> None:
        """
        Nothing waiting: one copy (the join; it was one too).
        """
        self.assertLess(self.send_one(busy=False), 1.2)

    def test_busy_transport(self) -> None:
        """
        Bytes waiting: one copy, and the waiting bytes' (joined, the body
        was copied twice).
        """
        self.assertLess(self.send_one(busy=True), 1.2)

    def test_send_frame(self) -> None:
        """
        L{StompProtocol.send_frame} writes a large body in pieces.
        """
        transport = SocketlessTransport()
        protocol = protocol_module.StompProtocol(
            _Ignore(), Frame("CONNECT", {"accept-version": "1.2"})
        )
        protocol.makeConnection(transport)
        protocol.dataReceived(serialize_frame(Frame("CONNECTED", {"version": "1.2"}), "1.0"))
        transport.drain()
        frame = Frame("SEND", {"destination": "/queue/a"}, b"x" * MIB)
        total = allocated(lambda: protocol.send_frame(frame), transport.drain)
        self.assertLess(total, 1.2 * MIB)


class _Ignore:
    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args: None


class WritePiecesTests(SynchronousTestCase):
    """
    L{ConnectionWriter.write} given a frame's pieces: what it writes and
    counts is what it would for the joined bytes.
    """

    def setUp(self) -> None:
        self.body = b"z" * BODY_APART_FROM
        frame = Frame("SEND", {"destination": "/queue/a"}, self.body)
        self.pieces = serialize_frame_pieces(frame, "1.2")
        self.joined = serialize_frame(frame, "1.2")

    def test_other_transports_get_bytes(self) -> None:
        """
        A transport not built on L{FileDescriptor} (TLS, WebSocket, tests)
        gets the frame joined, in one write.
        """
        transport = StringTransport()
        writes: list[bytes] = []
        transport.write = writes.append  # type: ignore[method-assign]
        writer = connected_writer(transport)
        writer.write(self.pieces)
        self.assertEqual(writes, [self.joined])
        self.assertEqual(writer.bytes_written, len(self.joined))

    def test_file_descriptor_gets_pieces(self) -> None:
        """
        A L{FileDescriptor} gets the pieces, the body uncopied, alone or
        in a batch.
        """
        transport = SocketlessTransport()
        writer = connected_writer(transport)
        writer.write(self.pieces)
        self.assertIs(transport._tempDataBuffer[1], self.body)
        writer.begin_batch()
        writer.write(b"ACK\n\n\0")
        writer.write(self.pieces)  # past WRITE_BATCH: handed over at once
        writer.write(b"ACK\n\n\0")
        writer.end_batch()
        self.assertEqual(
            b"".join(transport._tempDataBuffer),
            self.joined + b"ACK\n\n\0" + self.joined + b"ACK\n\n\0",
        )
        self.assertEqual(writer.bytes_written, 2 * len(self.joined) + 12)

    def test_send_buffer_bound(self) -> None:
        """
        While the transport's buffer is full, the pieces count against
        C{max_send_buffer} as the joined bytes would.
        """
        writer = connected_writer(SocketlessTransport())
        writer._max_send_buffer = 2 * len(self.joined)
        writer.pauseProducing()
        writer.check_room(self.pieces)
        writer.check_room(self.joined)
        self.assertRaises(SendBufferFull, writer.check_room, b"x")
        self.assertRaises(SendBufferFull, writer.check_room, self.pieces)
