"""
Tests for L{stomp_twisted.frame}: the STOMP frame codec.

The codec does no I/O, so every test here is synchronous: bytes go in,
frames (or L{HEARTBEAT}s, or errors) come out, and frames go back to bytes.
"""

from __future__ import annotations

import collections
import itertools
import re
import sys
import tracemalloc
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import FrameType, MappingProxyType
from typing import Any, SupportsIndex, TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from stomp_twisted import _decoder as decoder_module
from stomp_twisted import _encoder, _escape, _frame_types
from stomp_twisted import frame as frame_module
from stomp_twisted.errors import (
    BadArgument,
    FrameTooLarge,
    LocalProtocolError,
    RemoteProtocolError,
    UndefinedEscape,
    UnrepresentableHeader,
)
from stomp_twisted.frame import (
    CLIENT_COMMANDS,
    HEARTBEAT,
    NEED_DATA,
    SERVER_COMMANDS,
    VERSIONS,
    Frame,
    FrameDecoder,
    FrameLimits,
    Heartbeat,
    NeedData,
    parse_frames,
    serialize_frame,
)

Event = Frame | Heartbeat
T = TypeVar("T")

HANDSHAKE_COMMANDS = frozenset({"CONNECT", "STOMP", "CONNECTED"})
ALL_COMMANDS = CLIENT_COMMANDS | SERVER_COMMANDS
ESCAPED_COMMANDS = sorted(ALL_COMMANDS - HANDSHAKE_COMMANDS)

#: Whether the decoder imported is the one compiled by mypyc (setup.py;
#: scripts/run_trial.py --compiled), an extension module.
DECODER_COMPILED = not (decoder_module.__file__ or "").endswith(".py")


# --- helpers -------------------------------------------------------------------


def drain(decoder: FrameDecoder) -> list[Event]:
    """
    Call C{next_event} until it returns L{NEED_DATA}; return the events.
    """
    events: list[Event] = []
    while True:
        event = decoder.next_event()
        if event is NEED_DATA:
            return events
        assert isinstance(event, (Frame, Heartbeat)), event
        events.append(event)


def feed(
    chunks: Iterable[bytes],
    version: str = "1.2",
    limits: FrameLimits | None = None,
    commands: Iterable[str] | None = None,
) -> list[Event]:
    """
    Feed C{chunks} to a new decoder one at a time, draining the events
    after each, and return all the events.
    """
    decoder = FrameDecoder(version, limits, commands)
    events: list[Event] = []
    for chunk in chunks:
        decoder.receive_data(chunk)
        events.extend(drain(decoder))
    return events


def feed_all_then_drain(chunks: Iterable[bytes], version: str = "1.2") -> list[Event]:
    """
    Feed every chunk before asking for any event.
    """
    decoder = FrameDecoder(version)
    for chunk in chunks:
        decoder.receive_data(chunk)
    return drain(decoder)


def outcome(
    chunks: Iterable[bytes], version: str, limits: FrameLimits | None = None
) -> tuple[list[Event], type[RemoteProtocolError] | None]:
    """
    Feed C{chunks} like L{feed}, but stop at a L{RemoteProtocolError} and
    return the events before it and its type.  Any other exception
    propagates.
    """
    decoder = FrameDecoder(version, limits)
    events: list[Event] = []
    try:
        for chunk in chunks:
            decoder.receive_data(chunk)
            while (event := decoder.next_event()) is not NEED_DATA:
                assert isinstance(event, (Frame, Heartbeat)), event
                events.append(event)
    except RemoteProtocolError as error:
        return events, type(error)
    return events, None


def bytewise(data: bytes) -> list[bytes]:
    """
    C{data} as one-byte chunks.
    """
    return [data[i : i + 1] for i in range(len(data))]


def chunked(data: bytes, size: int) -> list[bytes]:
    """
    C{data} in chunks of C{size} bytes (the last one may be shorter).
    """
    return [data[i : i + size] for i in range(0, len(data), size)]


def split_by(data: bytes, sizes: Sequence[int]) -> list[bytes]:
    """
    C{data} cut into chunks whose sizes cycle through C{sizes}.
    """
    chunks = []
    offset = 0
    index = 0
    while offset < len(data):
        size = sizes[index % len(sizes)]
        chunks.append(data[offset : offset + size])
        offset += size
        index += 1
    return chunks


def as_received(frame: Frame) -> Frame:
    """
    C{frame} as a decoder gives it back after L{serialize_frame}: with a
    C{content-length} header giving the body's true length if it has a
    body, and none otherwise.
    """
    headers = dict(frame.headers)
    headers.pop("content-length", None)
    if frame.body:
        headers["content-length"] = str(len(frame.body))
    return Frame(frame.command, headers, frame.body)


# --- Frame ---------------------------------------------------------------------


class FrameConstructionTests(SynchronousTestCase):
    """
    L{Frame} checks its arguments so that a bad frame fails where it is made.
    """

    def test_fields(self) -> None:
        """
        A frame keeps its command, headers and body.
        """
        frame = Frame("SEND", {"destination": "/queue/a"}, b"hi")
        self.assertEqual(frame.command, "SEND")
        self.assertEqual(frame.headers, {"destination": "/queue/a"})
        self.assertEqual(frame.body, b"hi")

    def test_defaults(self) -> None:
        """
        Headers and body default to empty.
        """
        frame = Frame("DISCONNECT")
        self.assertEqual(frame.headers, {})
        self.assertEqual(frame.body, b"")

    def test_headers_copied(self) -> None:
        """
        The frame holds its own copy of the headers: changing the mapping it
        was given afterwards does not change the frame.
        """
        headers = {"destination": "/queue/a"}
        frame = Frame("SEND", headers)
        headers["destination"] = "/queue/b"
        headers["extra"] = "x"
        self.assertEqual(frame.headers, {"destination": "/queue/a"})

    def test_header_mappings(self) -> None:
        """
        Whatever mapping the headers come in (a dict, a subclass of it,
        another mapping), the frame holds a plain dict of them, its own.
        """

        class Headers(dict[str, str]):
            pass

        given = {"destination": "/queue/a", "x": "y"}
        for headers in (
            dict(given),
            Headers(given),
            collections.OrderedDict(given),
            MappingProxyType(dict(given)),
        ):
            frame = Frame("SEND", headers)
            self.assertIs(type(frame.headers), dict)
            self.assertEqual(list(frame.headers.items()), list(given.items()))
            self.assertIsNot(frame.headers, headers)

    def test_str_subclass_headers(self) -> None:
        """
        Names and values may be instances of a subclass of C{str}; anything
        else is refused, name or value.
        """

        class Text(str):
            pass

        frame = Frame("SEND", {Text("a"): "b", "c": Text("d")})
        self.assertEqual(frame.headers, {"a": "b", "c": "d"})
        self.assertRaises(LocalProtocolError, Frame, "SEND", {"a": b"b"})
        self.assertRaises(LocalProtocolError, Frame, "SEND", {b"a": "b"})
        self.assertRaises(LocalProtocolError, Frame, "SEND", {"a": "b", Text("c"): 1})

    def test_empty_command(self) -> None:
        """
        An empty command is refused.
        """
        self.assertRaises(LocalProtocolError, Frame, "")

    def test_non_str_command(self) -> None:
        """
        A command that is not text is refused.
        """
        self.assertRaises(LocalProtocolError, Frame, b"SEND")  # type: ignore[arg-type]
        self.assertRaises(LocalProtocolError, Frame, None)  # type: ignore[arg-type]

    def test_non_str_header_value(self) -> None:
        """
        Header values must be text: an int, bytes or None is refused.
        """
        for value in (1, b"x", None):
            self.assertRaises(
                LocalProtocolError,
                Frame,
                "SEND",
                {"destination": value},  # type: ignore[dict-item]
            )

    def test_non_str_header_name(self) -> None:
        """
        Header names must be text.
        """
        self.assertRaises(
            LocalProtocolError,
            Frame,
            "SEND",
            {b"destination": "/queue/a"},  # type: ignore[dict-item]
        )

    def test_headers_not_a_mapping(self) -> None:
        """
        Headers given as a list of pairs are refused.
        """
        self.assertRaises(
            LocalProtocolError,
            Frame,
            "SEND",
            [("destination", "/queue/a")],  # type: ignore[arg-type]
        )

    def test_str_body(self) -> None:
        """
        A text body is refused: bodies are bytes, and the caller chooses
        the encoding.
        """
        self.assertRaises(LocalProtocolError, Frame, "SEND", {}, "hello")

    def test_bytearray_and_memoryview_bodies(self) -> None:
        """
        A bytearray or memoryview body is copied into immutable bytes.
        """
        source = bytearray(b"abc")
        for body in (source, memoryview(source)):
            frame = Frame("SEND", {}, body)  # type: ignore[arg-type]
            self.assertIs(type(frame.body), bytes)
            self.assertEqual(frame.body, b"abc")
        source[0:1] = b"z"
        self.assertEqual(frame.body, b"abc")

    def test_errors_are_local(self) -> None:
        """
        Frame's errors are the caller's fault, never the peer's.
        """
        error = self.assertRaises(LocalProtocolError, Frame, "")
        self.assertNotIsInstance(error, RemoteProtocolError)

    def test_equality(self) -> None:
        """
        Frames are equal when command, headers and body are.
        """
        frame = Frame("SEND", {"a": "1"}, b"x")
        self.assertEqual(frame, Frame("SEND", {"a": "1"}, b"x"))
        self.assertNotEqual(frame, Frame("MESSAGE", {"a": "1"}, b"x"))
        self.assertNotEqual(frame, Frame("SEND", {"a": "2"}, b"x"))
        self.assertNotEqual(frame, Frame("SEND", {"a": "1"}, b"y"))
        self.assertNotEqual(frame, ("SEND", {"a": "1"}, b"x"))


# --- The specification's examples ---------------------------------------------

# The example frames of the STOMP 1.2 specification
# (https://stomp.github.io/stomp-specification-1.2.html), with ^@ written
# as NUL.  Where the spec puts ^@ on a line of its own, the EOL before it is
# part of the body.
SPEC_EXAMPLES: list[tuple[bytes, Frame]] = [
    (
        b"CONNECT\naccept-version:1.2\nhost:stomp.github.org\n\n\0",
        Frame("CONNECT", {"accept-version": "1.2", "host": "stomp.github.org"}),
    ),
    (
        b"STOMP\naccept-version:1.2\nhost:stomp.github.org\n\n\0",
        Frame("STOMP", {"accept-version": "1.2", "host": "stomp.github.org"}),
    ),
    (
        b"CONNECT\naccept-version:1.0,1.1,2.0\nhost:stomp.github.org\n\n\0",
        Frame("CONNECT", {"accept-version": "1.0,1.1,2.0", "host": "stomp.github.org"}),
    ),
    (b"CONNECTED\nversion:1.2\n\n\0", Frame("CONNECTED", {"version": "1.2"})),
    (
        b"SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\n\0",
        Frame(
            "SEND",
            {"destination": "/queue/a", "content-type": "text/plain"},
            b"hello queue a\n",
        ),
    ),
    (
        b"SEND\ndestination:/queue/a\nreceipt:message-12345\n\nhello queue a\0",
        Frame("SEND", {"destination": "/queue/a", "receipt": "message-12345"}, b"hello queue a"),
    ),
    (
        b"SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\0",
        Frame("SUBSCRIBE", {"id": "0", "destination": "/queue/foo", "ack": "client"}),
    ),
    (b"UNSUBSCRIBE\nid:0\n\n\0", Frame("UNSUBSCRIBE", {"id": "0"})),
    (
        b"ACK\nid:12345\ntransaction:tx1\n\n\0",
        Frame("ACK", {"id": "12345", "transaction": "tx1"}),
    ),
    (
        b"NACK\nid:12345\ntransaction:tx1\n\n\0",
        Frame("NACK", {"id": "12345", "transaction": "tx1"}),
    ),
    (b"BEGIN\ntransaction:tx1\n\n\0", Frame("BEGIN", {"transaction": "tx1"})),
    (b"COMMIT\ntransaction:tx1\n\n\0", Frame("COMMIT", {"transaction": "tx1"})),
    (b"ABORT\ntransaction:tx1\n\n\0", Frame("ABORT", {"transaction": "tx1"})),
    (b"DISCONNECT\nreceipt:77\n\n\0", Frame("DISCONNECT", {"receipt": "77"})),
    (b"RECEIPT\nreceipt-id:77\n\n\0", Frame("RECEIPT", {"receipt-id": "77"})),
    (
        b"MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\n"
        b"content-type:text/plain\n\nhello queue a\0",
        Frame(
            "MESSAGE",
            {
                "subscription": "0",
                "message-id": "007",
                "destination": "/queue/a",
                "content-type": "text/plain",
            },
            b"hello queue a",
        ),
    ),
    (
        b"RECEIPT\nreceipt-id:message-12345\n\n\0",
        Frame("RECEIPT", {"receipt-id": "message-12345"}),
    ),
]

SPEC_ERROR_BODY = (
    b"The message:\n-----\nMESSAGE\ndestined:/queue/a\nreceipt:message-12345\n\n"
    b"Hello queue a!\n-----\nDid not contain a destination header, which is REQUIRED\n"
    b"for message propagation.\n"
)

SPEC_ERROR = (
    b"ERROR\nreceipt-id:message-12345\ncontent-type:text/plain\ncontent-length:170\n"
    b"message:malformed frame received\n\n" + SPEC_ERROR_BODY + b"\0"
)


class SpecificationExampleTests(SynchronousTestCase):
    """
    The example frames of the STOMP 1.2 specification decode to the frames
    the spec describes.
    """

    def test_examples(self) -> None:
        """
        Each example decodes, alone, to exactly the expected frame.
        """
        for data, frame in SPEC_EXAMPLES:
            self.assertEqual(parse_frames(data, "1.2"), [frame], data)

    def test_examples_byte_by_byte(self) -> None:
        """
        Each example decodes the same when it arrives one byte at a time.
        """
        for data, frame in SPEC_EXAMPLES:
            self.assertEqual(feed(bytewise(data)), [frame], data)

    def test_examples_in_one_stream(self) -> None:
        """
        All the examples back to back decode to all the frames, in order.
        """
        data = b"".join(data for data, _ in SPEC_EXAMPLES)
        self.assertEqual(parse_frames(data, "1.2"), [frame for _, frame in SPEC_EXAMPLES])

    def test_serialize_bodyless_examples(self) -> None:
        """
        Serializing an example frame without a body gives the spec's bytes
        exactly (headers in the order given).
        """
        for data, frame in SPEC_EXAMPLES:
            if not frame.body:
                self.assertEqual(serialize_frame(frame, "1.2"), data)

    def test_error_with_body(self) -> None:
        """
        The spec's ERROR frame, whose body holds a whole frame including a
        blank line, is read by its content-length of 170.
        """
        self.assertEqual(len(SPEC_ERROR_BODY), 170)
        self.assertEqual(
            parse_frames(SPEC_ERROR + b"\n", "1.2"),
            [
                Frame(
                    "ERROR",
                    {
                        "receipt-id": "message-12345",
                        "content-type": "text/plain",
                        "content-length": "170",
                        "message": "malformed frame received",
                    },
                    SPEC_ERROR_BODY,
                ),
                HEARTBEAT,
            ],
        )

    def test_repeated_header_example(self) -> None:
        """
        The spec's repeated-header example: C{foo} is C{World}, the first
        value.
        """
        self.assertEqual(
            parse_frames(b"MESSAGE\nfoo:World\nfoo:Hello\n\n\0", "1.2"),
            [Frame("MESSAGE", {"foo": "World"})],
        )


# --- Both ways ------------------------------------------------------------------

# (frame, version, bytes): serialize_frame(frame, version) is exactly bytes,
# and decoding bytes under version gives as_received(frame).
TWO_WAY_CASES: list[tuple[Frame, str, bytes]] = [
    (Frame("DISCONNECT"), "1.0", b"DISCONNECT\n\n\0"),
    (Frame("DISCONNECT"), "1.1", b"DISCONNECT\n\n\0"),
    (Frame("DISCONNECT"), "1.2", b"DISCONNECT\n\n\0"),
    (
        Frame("SEND", {"destination": "/queue/a"}, b"hello"),
        "1.2",
        b"SEND\ndestination:/queue/a\ncontent-length:5\n\nhello\0",
    ),
    (
        Frame("SEND", {"destination": "/queue/a"}, b"hello"),
        "1.0",
        b"SEND\ndestination:/queue/a\ncontent-length:5\n\nhello\0",
    ),
    (
        Frame("MESSAGE", {"destination": "/q", "message-id": "1", "subscription": "0"}, b"\0\0"),
        "1.2",
        b"MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:0\ncontent-length:2\n\n\0\0\0",
    ),
    (
        Frame("SEND", {"destination": "/q"}, b"line one\r\nline two\n\n"),
        "1.1",
        b"SEND\ndestination:/q\ncontent-length:20\n\nline one\r\nline two\n\n\0",
    ),
    # 1.0: no escaping; a colon in a value (ActiveMQ's message ids) is raw.
    (
        Frame("ACK", {"message-id": "ID:host-1:1:1"}),
        "1.0",
        b"ACK\nmessage-id:ID:host-1:1:1\n\n\0",
    ),
    (Frame("SEND", {"path": "C:\\dir\\n"}), "1.0", b"SEND\npath:C:\\dir\\n\n\n\0"),
    # 1.1 and 1.2 escape the colon.
    (Frame("ACK", {"id": "ID:host-1:1:1"}), "1.1", b"ACK\nid:ID\\chost-1\\c1\\c1\n\n\0"),
    (Frame("ACK", {"id": "ID:host-1:1:1"}), "1.2", b"ACK\nid:ID\\chost-1\\c1\\c1\n\n\0"),
    (
        Frame("SEND", {"a:b": "c\nd\\e"}),
        "1.1",
        b"SEND\na\\cb:c\\nd\\\\e\n\n\0",
    ),
    (Frame("SEND", {"r": "a\rb"}), "1.2", b"SEND\nr:a\\rb\n\n\0"),
    # The backslash is escaped first, so "\\n" (backslash, n) survives.
    (Frame("SEND", {"x": "\\n"}), "1.2", b"SEND\nx:\\\\n\n\n\0"),
    # The handshake is never escaped.
    (
        Frame("CONNECT", {"login": "u", "passcode": "p\\w:d"}),
        "1.2",
        b"CONNECT\nlogin:u\npasscode:p\\w:d\n\n\0",
    ),
    (
        Frame("STOMP", {"passcode": "p\\w"}),
        "1.1",
        b"STOMP\npasscode:p\\w\n\n\0",
    ),
    (
        Frame("CONNECTED", {"version": "1.2", "session": "s\\1:2"}),
        "1.2",
        b"CONNECTED\nversion:1.2\nsession:s\\1:2\n\n\0",
    ),
    # Text is UTF-8.
    (
        Frame("SEND", {"\u00fcber": "\u65e5\u672c \u2603 \u20ac"}),
        "1.1",
        "SEND\n\u00fcber:\u65e5\u672c \u2603 \u20ac\n\n\0".encode(),
    ),
    (
        Frame("SEND", {"\u00fcber": "\U0001f600"}),
        "1.0",
        "SEND\n\u00fcber:\U0001f600\n\n\0".encode(),
    ),
    # Empty values are fine.
    (Frame("SEND", {"empty": ""}), "1.2", b"SEND\nempty:\n\n\0"),
]

FOLLOWING_FRAME = Frame("RECEIPT", {"receipt-id": "9"})
FOLLOWING_BYTES = b"RECEIPT\nreceipt-id:9\n\n\0"


class TwoWayTableTests(SynchronousTestCase):
    """
    A table of frames and their exact bytes, checked in both directions, in
    the manner of h11's test_io.py.
    """

    def test_serialize(self) -> None:
        """
        serialize_frame gives exactly the bytes in the table.
        """
        for frame, version, data in TWO_WAY_CASES:
            self.assertEqual(serialize_frame(frame, version), data, (frame, version))

    def test_parse_whole(self) -> None:
        """
        The bytes, in one piece, decode to the frame (with content-length
        added when there is a body).
        """
        for frame, version, data in TWO_WAY_CASES:
            self.assertEqual(parse_frames(data, version), [as_received(frame)], data)

    def test_parse_byte_by_byte(self) -> None:
        """
        The bytes, one at a time, decode to the same frame, and only once
        the last byte (the NUL) has arrived.
        """
        for frame, version, data in TWO_WAY_CASES:
            decoder = FrameDecoder(version)
            for byte in bytewise(data[:-1]):
                decoder.receive_data(byte)
                self.assertIs(decoder.next_event(), NEED_DATA, data)
            decoder.receive_data(data[-1:])
            self.assertEqual(decoder.next_event(), as_received(frame), data)
            self.assertIs(decoder.next_event(), NEED_DATA, data)

    def test_parse_all_fed_before_draining(self) -> None:
        """
        One-byte chunks all received before the first next_event decode to
        the frame too.
        """
        for frame, version, data in TWO_WAY_CASES:
            self.assertEqual(
                feed_all_then_drain(bytewise(data), version), [as_received(frame)], data
            )

    def test_parse_with_trailing_data(self) -> None:
        """
        Trailing bytes (another frame and heart-beat EOLs) neither leak into
        the frame nor get lost, whether fed whole or byte by byte.
        """
        for frame, version, data in TWO_WAY_CASES:
            stream = data + FOLLOWING_BYTES + b"\n\r\n"
            expected = [as_received(frame), FOLLOWING_FRAME, HEARTBEAT, HEARTBEAT]
            self.assertEqual(parse_frames(stream, version), expected, data)
            self.assertEqual(feed(bytewise(stream), version), expected, data)

    def test_parse_with_partial_trailing_frame(self) -> None:
        """
        A frame followed by the start of another is returned, and the
        decoder then waits for the rest.
        """
        for frame, version, data in TWO_WAY_CASES:
            decoder = FrameDecoder(version)
            decoder.receive_data(data + b"SEND\ndestination:/q\n\nhal")
            self.assertEqual(decoder.next_event(), as_received(frame))
            self.assertIs(decoder.next_event(), NEED_DATA)
            decoder.receive_data(b"f\0")
            self.assertEqual(decoder.next_event(), Frame("SEND", {"destination": "/q"}, b"half"))


# --- Chunking -------------------------------------------------------------------

# A stream mixing everything the decoder must get right at a chunk boundary,
# with the events it holds.
CHUNKING_PIECES: list[tuple[bytes, Event]] = [
    (b"\n", HEARTBEAT),
    (
        b"CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0",
        Frame("CONNECTED", {"version": "1.2", "heart-beat": "0,0"}),
    ),
    (b"\n", HEARTBEAT),
    (b"\r\n", HEARTBEAT),
    (
        b"MESSAGE\ndestination:/queue/a\nmessage-id:1\ncontent-length:5\n\nhello\0",
        Frame(
            "MESSAGE",
            {"destination": "/queue/a", "message-id": "1", "content-length": "5"},
            b"hello",
        ),
    ),
    (
        # NULs in the body, carried by content-length.
        b"MESSAGE\nmessage-id:2\ncontent-length:7\n\n\0a\0\0b\0\n\0",
        Frame("MESSAGE", {"message-id": "2", "content-length": "7"}, b"\0a\0\0b\0\n"),
    ),
    (
        # No content-length: the body ends at the first NUL.
        b"MESSAGE\nmessage-id:3\n\nno length\nhere\0",
        Frame("MESSAGE", {"message-id": "3"}, b"no length\nhere"),
    ),
    (
        # CRLF line endings throughout.
        b"RECEIPT\r\nreceipt-id:7\r\n\r\n\0",
        Frame("RECEIPT", {"receipt-id": "7"}),
    ),
    (b"\r\n", HEARTBEAT),
    (b"\n", HEARTBEAT),
    (
        # Escapes, and a body with blank lines and CRLFs.
        b"ERROR\nmessage:bad\\cframe\\n\\\\\ncontent-length:9\n\n\n\r\n\r\nx\r\n\n\0",
        Frame(
            "ERROR",
            {"message": "bad:frame\n\\", "content-length": "9"},
            b"\n\r\n\r\nx\r\n\n",
        ),
    ),
    (b"MESSAGE\n\n\0", Frame("MESSAGE")),
]


CHUNKING_STREAM = b"".join(piece for piece, _ in CHUNKING_PIECES)
CHUNKING_EVENTS = [event for _, event in CHUNKING_PIECES]


class ChunkingTests(SynchronousTestCase):
    """
    However received bytes are split into chunks, the decoder returns the
    same events as when it gets them in one piece.
    """

    def test_whole(self) -> None:
        """
        The stream in one piece decodes to the expected events; this is
        what the other tests compare against.
        """
        self.assertEqual(parse_frames(CHUNKING_STREAM, "1.2"), CHUNKING_EVENTS)

    def test_every_single_cut(self) -> None:
        """
        Cutting the stream in two at any offset changes nothing.
        """
        data = CHUNKING_STREAM
        for cut in range(len(data) + 1):
            self.assertEqual(feed([data[:cut], data[cut:]]), CHUNKING_EVENTS, cut)

    def test_every_chunk_size(self) -> None:
        """
        Chunks of every size from 1 to the whole length change nothing,
        whether events are drained after each chunk or only at the end.
        """
        data = CHUNKING_STREAM
        for size in range(1, len(data) + 1):
            chunks = chunked(data, size)
            self.assertEqual(feed(chunks), CHUNKING_EVENTS, size)
            self.assertEqual(feed_all_then_drain(chunks), CHUNKING_EVENTS, size)

    def test_every_double_cut_around_a_body(self) -> None:
        """
        Cutting twice within the content-length frame with NULs in its body
        (so one chunk may hold just part of the body, or just its NUL)
        changes nothing.
        """
        data = CHUNKING_STREAM
        start = data.index(b"MESSAGE\nmessage-id:2")
        end = data.index(b"MESSAGE\nmessage-id:3")
        for first in range(start, end + 1):
            for second in range(first, end + 1):
                chunks = [data[:first], data[first:second], data[second:]]
                self.assertEqual(feed(chunks), CHUNKING_EVENTS, (first, second))

    def test_empty_chunks(self) -> None:
        """
        Receiving empty bytes is harmless.
        """
        chunks = []
        for chunk in chunked(CHUNKING_STREAM, 7):
            chunks += [b"", chunk, b""]
        self.assertEqual(feed(chunks), CHUNKING_EVENTS)

    def test_bytearray_and_memoryview_chunks(self) -> None:
        """
        Chunks may be bytearrays or memoryviews, and the decoder does not
        keep a reference to the caller's (reused) buffer.
        """
        decoder = FrameDecoder("1.2")
        events: list[Event] = []
        buffer = bytearray(5)
        for chunk in chunked(CHUNKING_STREAM, 5):
            buffer[: len(chunk)] = chunk
            decoder.receive_data(memoryview(buffer)[: len(chunk)])
            events.extend(drain(decoder))
        self.assertEqual(events, CHUNKING_EVENTS)
        self.assertEqual(feed([bytearray(CHUNKING_STREAM)]), CHUNKING_EVENTS)  # type: ignore[list-item]

    def test_hundred_thousand_frames_in_one_call(self) -> None:
        """
        100,000 frames (half with content-length, half without) and
        heart-beats, received in one call, all decode, in order.
        """
        count = 100_000
        parts = []
        for i in range(count):
            if i % 2:
                body = b"odd\0%d" % i
                parts.append(
                    b"MESSAGE\nmessage-id:%d\ncontent-length:%d\n\n%s\0" % (i, len(body), body)
                )
            else:
                parts.append(b"MESSAGE\nmessage-id:%d\n\neven %d\0" % (i, i))
            if i % 1000 == 999:
                parts.append(b"\n")
        decoder = FrameDecoder("1.2")
        decoder.receive_data(b"".join(parts))
        events = drain(decoder)
        frames = [event for event in events if isinstance(event, Frame)]
        self.assertEqual(len(frames), count)
        self.assertEqual(events.count(HEARTBEAT), count // 1000)
        self.assertEqual(frames[0], Frame("MESSAGE", {"message-id": "0"}, b"even 0"))
        self.assertEqual(
            frames[54321],
            Frame("MESSAGE", {"message-id": "54321", "content-length": "9"}, b"odd\x0054321"),
        )
        self.assertEqual(
            frames[-1],
            Frame("MESSAGE", {"message-id": "99999", "content-length": "9"}, b"odd\x0099999"),
        )
        self.assertEqual([int(frame.headers["message-id"]) for frame in frames], list(range(count)))
        self.assertEqual(decoder.buffered, 0)


class CompiledFlagTests(SynchronousTestCase):
    """
    C{stomp_twisted.frame.COMPILED} says which decoder runs.
    """

    def test_agrees_with_the_module_file(self) -> None:
        """
        It is true exactly when the decoder module is an extension module,
        not C{_decoder.py} (the suite runs on both: scripts/run_trial.py
        --compiled).
        """
        self.assertIs(frame_module.COMPILED, DECODER_COMPILED)


class DecoderArgumentTests(SynchronousTestCase):
    """
    The decoder checks its arguments at the call, with the same exceptions
    whether it runs from the sources or compiled: a wrong type is a
    C{TypeError}.
    """

    def test_data_not_bytes(self) -> None:
        """
        C{receive_data} refuses anything but bytes, a bytearray or a
        memoryview, empty or not, with L{BadArgument}, and keeps what it
        had: an int was taken for that many NULs, and C{None} dropped.
        """
        decoder = FrameDecoder("1.2")
        decoder.receive_data(b"MESSAGE\n")
        for wrong in (5, 0, None, "MESSAGE\n", "", [b"x"]):
            with self.assertRaises(BadArgument, msg=repr(wrong)) as caught:
                decoder.receive_data(wrong)  # type: ignore[arg-type]
            self.assertIsInstance(caught.exception, TypeError)
            self.assertIn(type(wrong).__name__, str(caught.exception))
        self.assertEqual(decoder.buffered, len(b"MESSAGE\n"))
        decoder.receive_data(b"destination:/q\n\nhi\0")
        self.assertEqual(drain(decoder), [Frame("MESSAGE", {"destination": "/q"}, b"hi")])

    def test_version_not_str(self) -> None:
        """
        A version that is not a C{str} is a C{TypeError}, at construction
        and when set; an unknown one is a L{LocalProtocolError}.
        """
        for wrong in (b"1.2", 1.2, None):
            self.assertRaises(TypeError, FrameDecoder, wrong)
            decoder = FrameDecoder("1.2")
            with self.assertRaises(TypeError):
                decoder.version = wrong  # type: ignore[assignment]
            self.assertEqual(decoder.version, "1.2")
        self.assertRaises(LocalProtocolError, FrameDecoder, "1.3")

    def test_limits_not_frame_limits(self) -> None:
        """
        Limits that are not L{FrameLimits} are refused at construction,
        not found wanting at the first frame.
        """
        with self.assertRaises(BadArgument) as caught:
            FrameDecoder("1.2", {"max_body": 10})  # type: ignore[arg-type]
        self.assertIn("dict", str(caught.exception))


# --- Escaping -------------------------------------------------------------------


class Stomp10EscapingTests(SynchronousTestCase):
    """
    STOMP 1.0 has no escaping: what can be written raw is, what cannot is
    refused.
    """

    def test_backslash_raw(self) -> None:
        """
        A backslash is written as itself.
        """
        self.assertEqual(
            serialize_frame(Frame("SEND", {"a\\b": "c\\d"}), "1.0"), b"SEND\na\\b:c\\d\n\n\0"
        )

    def test_backslash_literal_on_receive(self) -> None:
        """
        A received backslash is literal: C{\\c}, C{\\n} and C{\\t} and a
        lone trailing backslash are not escapes in 1.0.
        """
        self.assertEqual(
            parse_frames(b"MESSAGE\na\\cb:c\\nd\\te\\\n\n\0", "1.0"),
            [Frame("MESSAGE", {"a\\cb": "c\\nd\\te\\"})],
        )

    def test_unrepresentable_value(self) -> None:
        """
        A newline, carriage return or NUL in a value cannot be written.
        """
        for char in "\n\r\0":
            self.assertRaises(
                UnrepresentableHeader,
                serialize_frame,
                Frame("SEND", {"destination": f"/queue/a{char}b"}),
                "1.0",
            )

    def test_colon_in_value_allowed(self) -> None:
        """
        A colon in a value is written raw and read back (the first colon on
        a line ends the name), so ActiveMQ's message ids can be acked.
        """
        frame = Frame("ACK", {"message-id": "ID:host-1234:1:1:1:1"})
        data = serialize_frame(frame, "1.0")
        self.assertEqual(data, b"ACK\nmessage-id:ID:host-1234:1:1:1:1\n\n\0")
        self.assertEqual(parse_frames(data, "1.0"), [frame])

    def test_unrepresentable_name(self) -> None:
        """
        A colon, newline, carriage return or NUL in a name cannot be
        written.
        """
        for char in ":\n\r\0":
            self.assertRaises(
                UnrepresentableHeader,
                serialize_frame,
                Frame("SEND", {f"na{char}me": "v"}),
                "1.0",
            )


class Stomp11EscapingTests(SynchronousTestCase):
    """
    STOMP 1.1 escapes newline, colon and backslash; it cannot carry a
    carriage return.
    """

    def test_escapes(self) -> None:
        """
        Newline, colon and backslash are written as C{\\n}, C{\\c} and
        C{\\\\}, in names and values alike.
        """
        self.assertEqual(
            serialize_frame(Frame("SEND", {"a:b\n\\": "x:y\nz\\"}), "1.1"),
            b"SEND\na\\cb\\n\\\\:x\\cy\\nz\\\\\n\n\0",
        )

    def test_unescapes(self) -> None:
        """
        C{\\n}, C{\\c} and C{\\\\} are read back as newline, colon and
        backslash, in names and values alike.
        """
        self.assertEqual(
            parse_frames(b"MESSAGE\na\\cb\\n\\\\:x\\cy\\nz\\\\\n\n\0", "1.1"),
            [Frame("MESSAGE", {"a:b\n\\": "x:y\nz\\"})],
        )

    def test_carriage_return_refused(self) -> None:
        """
        A carriage return cannot be written, in a value or a name.
        """
        for headers in ({"a": "b\rc"}, {"a\r": "b"}):
            self.assertRaises(UnrepresentableHeader, serialize_frame, Frame("SEND", headers), "1.1")

    def test_nul_refused(self) -> None:
        """
        A NUL cannot be written.
        """
        self.assertRaises(
            UnrepresentableHeader, serialize_frame, Frame("SEND", {"a": "b\0"}), "1.1"
        )

    def test_undefined_escapes(self) -> None:
        """
        C{\\r} (a 1.2 addition), C{\\t} and a trailing lone backslash are
        undefined in 1.1, in a value or a name, and fatal.
        """
        for line in (b"a:b\\rc", b"a:b\\tc", b"a:bc\\", b"a\\t:b", b"a\\:b"):
            self.assertRaises(UndefinedEscape, parse_frames, b"MESSAGE\n" + line + b"\n\n\0", "1.1")


class Stomp12EscapingTests(SynchronousTestCase):
    """
    STOMP 1.2 escapes as 1.1 does and adds C{\\r} for carriage return.
    """

    def test_escapes(self) -> None:
        """
        Carriage return, newline, colon and backslash are all escaped.
        """
        self.assertEqual(
            serialize_frame(Frame("SEND", {"k\r:": "\r\n:\\"}), "1.2"),
            b"SEND\nk\\r\\c:\\r\\n\\c\\\\\n\n\0",
        )

    def test_unescapes(self) -> None:
        """
        C{\\r} is read back as carriage return, with the 1.1 escapes.
        """
        self.assertEqual(
            parse_frames(b"MESSAGE\nk\\r\\c:\\r\\n\\c\\\\\n\n\0", "1.2"),
            [Frame("MESSAGE", {"k\r:": "\r\n:\\"})],
        )

    def test_escaped_carriage_return_at_end_of_value(self) -> None:
        """
        A value ending with a carriage return survives: it is escaped, so it
        is not mistaken for the CR of a CRLF.
        """
        frame = Frame("SEND", {"a": "b\r"})
        self.assertEqual(parse_frames(serialize_frame(frame, "1.2"), "1.2"), [frame])

    def test_nul_refused(self) -> None:
        """
        A NUL cannot be written, in a value or a name.
        """
        for headers in ({"a": "\0"}, {"\0": "a"}):
            self.assertRaises(UnrepresentableHeader, serialize_frame, Frame("SEND", headers), "1.2")

    def test_undefined_escapes(self) -> None:
        """
        C{\\t}, C{\\0}, an escaped space and a trailing lone backslash are
        undefined, and fatal.
        """
        for line in (b"a:b\\tc", b"a:\\0", b"a:\\ ", b"a:bc\\", b"a\\:b"):
            self.assertRaises(UndefinedEscape, parse_frames, b"MESSAGE\n" + line + b"\n\n\0", "1.2")

    def test_undefined_escape_is_remote_error(self) -> None:
        """
        UndefinedEscape is the peer's fault.
        """
        error = self.assertRaises(UndefinedEscape, parse_frames, b"MESSAGE\na:\\t\n\n\0")
        self.assertIsInstance(error, RemoteProtocolError)


class UnescapeChainTests(SynchronousTestCase):
    """
    Each version's unescaping goes by a chain of C{str.replace} when it
    can, and by a regular expression (C{_unescape_strictly}) otherwise: the
    two agree on every text, result or error.
    """

    def check(self, unescape: Callable[[str], str], decoded: dict[str, str], version: str) -> None:
        pieces = ["\\", "\\\\", "\\n", "\\c", "\\r", "\\t", "\0", "n", "c", "r", ":", "x", "\u00e9"]
        for size in range(4):
            for combination in itertools.product(pieces, repeat=size):
                text = "".join(combination)
                try:
                    expected: str | Exception = _escape._unescape_strictly(text, decoded, version)
                except UndefinedEscape as error:
                    expected = error
                try:
                    result: str | Exception = unescape(text)
                except UndefinedEscape as error:
                    result = error
                if isinstance(expected, Exception):
                    self.assertIsInstance(result, UndefinedEscape, repr(text))
                    self.assertEqual(str(result), str(expected), repr(text))
                else:
                    self.assertEqual(result, expected, repr(text))

    def test_stomp_11(self) -> None:
        """
        STOMP 1.1: C{\\r} is undefined.
        """
        self.check(_escape.unescape_11, _escape._DECODED_11, "1.1")

    def test_stomp_12(self) -> None:
        """
        STOMP 1.2.
        """
        self.check(_escape.unescape_12, _escape._DECODED_12, "1.2")


class EncoderFastPathTests(SynchronousTestCase):
    """
    The serializer's fast path (a head with nothing to escape or refuse)
    writes what the general path (C{_encode_escaped_head}) writes, and
    leaves it every frame it cannot write itself: same bytes, or the same
    error.
    """

    TEXTS = ("", "a", "\u00e9", ":", "a:b", "\n", "\r", "\\", "\0", "\ud800", "content-length")
    COMMANDS = ("SEND", "MESSAGE", "CONNECT", "CONNECTED", "FOO", "SE:ND", "SE\\ND")

    def general(self, frame: Frame, version: str) -> bytes | Exception:
        try:
            head = _encoder._encode_escaped_head(
                frame.command, frame.headers, len(frame.body), version
            )
        except UnrepresentableHeader as error:
            return error
        return head + frame.body + b"\0"

    def written(self, frame: Frame, version: str) -> tuple[bytes | Exception, bytes | Exception]:
        try:
            whole: bytes | Exception = serialize_frame(frame, version)
        except UnrepresentableHeader as error:
            whole = error
        try:
            # The head alone, as serialize_frame_pieces writes a large body's.
            head: bytes | Exception = (
                _encoder._encode_head(frame.command, frame.headers, len(frame.body), version)
                + frame.body
                + b"\0"
            )
        except UnrepresentableHeader as error:
            head = error
        return whole, head

    def check(self, frame: Frame) -> None:
        for version in VERSIONS:
            where = f"{frame!r} in STOMP {version}"
            expected = self.general(frame, version)
            for result in self.written(frame, version):
                if isinstance(expected, Exception):
                    self.assertIsInstance(result, UnrepresentableHeader, where)
                    self.assertEqual(str(result), str(expected), where)
                else:
                    self.assertEqual(result, expected, where)

    def test_one_header(self) -> None:
        """
        Every command, name and value of the list, with and without a body.
        """
        for command, name, value, body in itertools.product(
            self.COMMANDS, self.TEXTS, self.TEXTS, (b"", b"x\0y")
        ):
            self.check(Frame(command, {name: value}, body))

    def test_two_headers(self) -> None:
        """
        A special character in either of two headers is found.
        """
        for first, second in itertools.product(self.TEXTS, repeat=2):
            self.check(Frame("SEND", {"a": first, second or "b": "c"}, b"x"))
            self.check(Frame("SEND", {first or "a": "b", "c": second}))

    def test_every_command(self) -> None:
        """
        Every STOMP command (the fast path keeps a format per command),
        with and without a body, plain or with a character to escape.
        """
        for command in sorted(CLIENT_COMMANDS | SERVER_COMMANDS):
            for headers in ({"a": "b", "c": "d"}, {"a": "b:c"}, {"a\\": "b"}):
                self.check(Frame(command, headers))
                self.check(Frame(command, headers, b"x\0y"))

    def test_no_headers(self) -> None:
        """
        A frame without headers.
        """
        for command in self.COMMANDS:
            self.check(Frame(command))
            self.check(Frame(command, body=b"x"))


class HandshakeEscapingTests(SynchronousTestCase):
    """
    CONNECT, STOMP and CONNECTED are never escaped, in any version, so a
    peer can read them before the version is agreed.
    """

    def test_connect_passcode_raw(self) -> None:
        """
        A backslash and a colon in a CONNECT or STOMP value are written raw.
        """
        for command in ("CONNECT", "STOMP"):
            for version in VERSIONS:
                self.assertEqual(
                    serialize_frame(Frame(command, {"passcode": "p\\a:ss"}), version),
                    command.encode() + b"\npasscode:p\\a:ss\n\n\0",
                )

    def test_unrepresentable(self) -> None:
        """
        What cannot be written raw is refused: newline, carriage return and
        NUL anywhere, and a colon in a name.
        """
        bad = [{"passcode": f"p{char}w"} for char in "\n\r\0"]
        bad += [{f"pass{char}code": "pw"} for char in ":\n\r\0"]
        for command in HANDSHAKE_COMMANDS:
            for version in VERSIONS:
                for headers in bad:
                    self.assertRaises(
                        UnrepresentableHeader,
                        serialize_frame,
                        Frame(command, headers),
                        version,
                    )

    def test_received_connected_not_unescaped(self) -> None:
        """
        A received CONNECTED (or CONNECT, or STOMP) keeps its backslashes
        under 1.1 and 1.2, even ones that would be undefined escapes.
        """
        for command in (b"CONNECTED", b"CONNECT", b"STOMP"):
            for version in ("1.1", "1.2"):
                data = command + b"\nserver:a\\cb\\nc\\\\d\\te\\\n\n\0"
                self.assertEqual(
                    parse_frames(data, version),
                    [Frame(command.decode(), {"server": "a\\cb\\nc\\\\d\\te\\"})],
                )

    def test_version_change_after_connected(self) -> None:
        """
        Setting the decoder's version once the handshake is done turns
        unescaping on for the frames after it.
        """
        decoder = FrameDecoder("1.0")
        decoder.receive_data(b"CONNECTED\nversion:1.2\nsession:a\\c\n\n\0")
        self.assertEqual(
            decoder.next_event(), Frame("CONNECTED", {"version": "1.2", "session": "a\\c"})
        )
        decoder.version = "1.2"
        self.assertEqual(decoder.version, "1.2")
        decoder.receive_data(b"MESSAGE\nid:a\\cb\n\n\0")
        self.assertEqual(decoder.next_event(), Frame("MESSAGE", {"id": "a:b"}))

    def test_unknown_version(self) -> None:
        """
        Setting an unknown version is refused and changes nothing.
        """
        decoder = FrameDecoder("1.1")
        self.assertRaises(LocalProtocolError, setattr, decoder, "version", "2.0")
        self.assertEqual(decoder.version, "1.1")


# --- Headers ---------------------------------------------------------------------


class RepeatedHeaderTests(SynchronousTestCase):
    """
    When a header is repeated in a received frame, the first value wins.
    """

    def test_first_wins(self) -> None:
        """
        In every version, the first of several values is kept.
        """
        for version in VERSIONS:
            self.assertEqual(
                parse_frames(b"MESSAGE\nfoo:1\nbar:x\nfoo:2\nfoo:3\n\n\0", version),
                [Frame("MESSAGE", {"foo": "1", "bar": "x"})],
            )

    def test_first_wins_after_unescaping(self) -> None:
        """
        Names are compared once unescaped: C{a\\cb} and C{a\\cb} are the
        same header C{a:b}.
        """
        self.assertEqual(
            parse_frames(b"MESSAGE\na\\cb:1\na\\cb:2\n\n\0", "1.2"),
            [Frame("MESSAGE", {"a:b": "1"})],
        )

    def test_first_content_length_wins(self) -> None:
        """
        A repeated content-length: the first one gives the body's length.
        """
        self.assertEqual(
            parse_frames(b"MESSAGE\ncontent-length:3\ncontent-length:5\n\na\0c\0", "1.2"),
            [Frame("MESSAGE", {"content-length": "3"}, b"a\0c")],
        )


class HeaderEncodingTests(SynchronousTestCase):
    """
    Headers are UTF-8 text; bodies are bytes, never decoded.
    """

    def test_non_ascii_round_trip(self) -> None:
        """
        Non-ASCII names and values are written as UTF-8 and read back, in
        every version.
        """
        frame = Frame("SEND", {"\u00e9t\u00e9": "\u65e5\u672c\u8a9e \U0001f600", "k": "\u00fc"})
        for version in VERSIONS:
            data = serialize_frame(frame, version)
            self.assertIn("\u65e5\u672c\u8a9e".encode(), data)
            self.assertEqual(parse_frames(data, version), [frame])

    def test_invalid_utf8_value(self) -> None:
        """
        A header value that is not UTF-8 is the peer's error.
        """
        for version in VERSIONS:
            self.assertRaises(
                RemoteProtocolError, parse_frames, b"MESSAGE\na:\xff\xfe\n\n\0", version
            )

    def test_invalid_utf8_name(self) -> None:
        """
        A header name that is not UTF-8 is the peer's error; so is a
        truncated multi-byte sequence, and an encoded surrogate.
        """
        for line in (b"\xc3:x", b"\xe6\x97:x", b"\xed\xa0\x80:x"):
            self.assertRaises(RemoteProtocolError, parse_frames, b"MESSAGE\n" + line + b"\n\n\0")

    def test_multibyte_character_split_across_chunks(self) -> None:
        """
        A multi-byte character split between chunks decodes correctly.
        """
        data = "MESSAGE\nk:\u65e5\n\n\0".encode()
        cut = data.index(b"\xe6") + 1
        self.assertEqual(feed([data[:cut], data[cut:]]), [Frame("MESSAGE", {"k": "\u65e5"})])

    def test_body_stays_bytes(self) -> None:
        """
        A body that is not UTF-8 is returned as the same bytes.
        """
        data = b"MESSAGE\ncontent-type:text/plain;charset=utf-8\n\n\xff\xfe\x80\0"
        (frame,) = parse_frames(data)
        assert isinstance(frame, Frame)
        self.assertIs(type(frame.body), bytes)
        self.assertEqual(frame.body, b"\xff\xfe\x80")

    def test_header_line_without_colon(self) -> None:
        """
        A header line with no colon is the peer's error.
        """
        self.assertRaises(RemoteProtocolError, parse_frames, b"MESSAGE\nnocolon\n\n\0")

    def test_unencodable_text_refused(self) -> None:
        """
        A header that UTF-8 cannot encode (a lone surrogate) is refused as
        the caller's error, not some other exception.
        """
        for headers in ({"a": "\ud800"}, {"\udfff": "a"}):
            self.assertRaises(LocalProtocolError, serialize_frame, Frame("SEND", headers), "1.2")


class HeaderInjectionTests(SynchronousTestCase):
    """
    A header value cannot smuggle in another header, or end the frame: it
    is either escaped, so it round-trips as the same single header, or
    refused.
    """

    EVIL_VALUES = (
        "x\ndestination:/queue/evil",
        "x\n\ndestination:/queue/evil",
        "x\r\ndestination:/queue/evil",
        "x\\ndestination:/queue/evil",
    )

    def test_escaped_value_round_trips(self) -> None:
        """
        Under 1.1 and 1.2 a value with newlines comes back as the same one
        header; no C{destination} line appears on the wire.  (1.1 cannot
        carry the CR, so refuses that one.)
        """
        for version in ("1.1", "1.2"):
            for value in self.EVIL_VALUES:
                frame = Frame("SEND", {"destination": "/queue/ok", "x": value}, b"body")
                if version == "1.1" and "\r" in value:
                    self.assertRaises(UnrepresentableHeader, serialize_frame, frame, version)
                    continue
                data = serialize_frame(frame, version)
                self.assertNotIn(b"\ndestination:/queue/evil", data)
                self.assertEqual(data.count(b"\ndestination:"), 1)
                self.assertEqual(parse_frames(data, version), [as_received(frame)])

    def test_escaped_name_round_trips(self) -> None:
        """
        Under 1.1 and 1.2 a name with a newline and colon is escaped too.
        """
        frame = Frame("SEND", {"destination": "/queue/ok", "a\ndestination:/queue/evil": "v"})
        for version in ("1.1", "1.2"):
            data = serialize_frame(frame, version)
            self.assertNotIn(b"\ndestination:/queue/evil", data)
            self.assertEqual(parse_frames(data, version), [frame])

    def test_refused_without_escaping(self) -> None:
        """
        Under 1.0, and on the handshake frames in any version, a newline in
        a value is refused.
        """
        for value in self.EVIL_VALUES[:3]:
            self.assertRaises(
                UnrepresentableHeader,
                serialize_frame,
                Frame("SEND", {"destination": value}),
                "1.0",
            )
            for version in VERSIONS:
                self.assertRaises(
                    UnrepresentableHeader,
                    serialize_frame,
                    Frame("CONNECT", {"login": value}),
                    version,
                )

    def test_nul_refused_everywhere(self) -> None:
        """
        A NUL, which would end the frame, is refused in every version and
        every command.
        """
        for version in VERSIONS:
            for command in ("SEND", "CONNECT", "MESSAGE"):
                self.assertRaises(
                    UnrepresentableHeader,
                    serialize_frame,
                    Frame(command, {"x": "a\0MESSAGE\n\n"}),
                    version,
                )

    def test_empty_name_refused(self) -> None:
        """
        An empty header name is refused, in every version and command.
        """
        for version in VERSIONS:
            for command in ("SEND", "CONNECT"):
                self.assertRaises(
                    UnrepresentableHeader, serialize_frame, Frame(command, {"": "v"}), version
                )

    def test_bad_command_refused(self) -> None:
        """
        A command containing a newline, carriage return, NUL or colon is
        refused.
        """
        for command in ("SEND\ndestination:/queue/evil", "SEND\r", "SEND\0", "SEND:"):
            for version in VERSIONS:
                self.assertRaises(UnrepresentableHeader, serialize_frame, Frame(command), version)

    def test_body_with_frame_inside(self) -> None:
        """
        A body holding a NUL and a whole frame stays one body, because of
        the content-length written for it.
        """
        frame = Frame("SEND", {"destination": "/queue/ok"}, b"a\0MESSAGE\nx:y\n\n\0\n")
        data = serialize_frame(frame, "1.2")
        self.assertEqual(parse_frames(data, "1.2"), [as_received(frame)])

    def test_serializing_does_not_change_frame(self) -> None:
        """
        Serializing leaves the frame as it was (no content-length added to
        it, nothing escaped in place).
        """
        frame = Frame("SEND", {"content-length": "99", "a": "b:c"}, b"xyz")
        serialize_frame(frame, "1.2")
        self.assertEqual(frame.headers, {"content-length": "99", "a": "b:c"})


# --- content-length ---------------------------------------------------------------


class ContentLengthTests(SynchronousTestCase):
    """
    The content-length header: written for every body, honoured when read.
    """

    def test_body_with_nuls(self) -> None:
        """
        A received content-length gives the body's length, NULs and all.
        """
        self.assertEqual(
            parse_frames(b"MESSAGE\ncontent-length:5\n\na\0b\0c\0\n"),
            [Frame("MESSAGE", {"content-length": "5"}, b"a\0b\0c"), HEARTBEAT],
        )

    def test_zero(self) -> None:
        """
        content-length:0 is an empty body.
        """
        self.assertEqual(
            parse_frames(b"MESSAGE\ncontent-length:0\n\n\0"),
            [Frame("MESSAGE", {"content-length": "0"})],
        )

    def test_leading_zeros(self) -> None:
        """
        Leading zeros do not change the length.
        """
        self.assertEqual(
            parse_frames(b"MESSAGE\ncontent-length:003\n\nabc\0"),
            [Frame("MESSAGE", {"content-length": "003"}, b"abc")],
        )

    def test_written_for_body(self) -> None:
        """
        Every frame with a body gets a content-length, in every version.
        """
        for version in VERSIONS:
            for command in ("SEND", "CONNECT", "MESSAGE", "ERROR"):
                data = serialize_frame(Frame(command, {}, b"\0x"), version)
                self.assertEqual(data, command.encode() + b"\ncontent-length:2\n\n\0x\0")

    def test_not_written_for_empty_body(self) -> None:
        """
        A frame without a body gets no content-length, even if the caller
        gave one.
        """
        for headers in ({}, {"content-length": "5"}):
            self.assertEqual(serialize_frame(Frame("SEND", headers), "1.2"), b"SEND\n\n\0")

    def test_caller_content_length_replaced(self) -> None:
        """
        A content-length given by the caller is replaced by the true one,
        which is written once.
        """
        data = serialize_frame(
            Frame("SEND", {"content-length": "99", "destination": "/q"}, b"abc"), "1.2"
        )
        self.assertEqual(data, b"SEND\ndestination:/q\ncontent-length:3\n\nabc\0")

    def test_length_counts_bytes(self) -> None:
        """
        The written length is in bytes, not characters.
        """
        body = "\u65e5\u672c".encode()
        data = serialize_frame(Frame("SEND", {}, body), "1.2")
        self.assertIn(b"content-length:6\n", data)

    def test_no_nul_after_body(self) -> None:
        """
        A body not followed by NUL after content-length bytes is the peer's
        error, whole or byte by byte.
        """
        data = b"SEND\ncontent-length:3\n\nabcd\0"
        self.assertRaises(RemoteProtocolError, parse_frames, data)
        self.assertRaises(RemoteProtocolError, feed, bytewise(data))

    def test_waits_for_whole_body(self) -> None:
        """
        With content-length, NULs in a partly received body do not end it.
        """
        decoder = FrameDecoder("1.2")
        decoder.receive_data(b"MESSAGE\ncontent-length:4\n\n\0\0")
        self.assertIs(decoder.next_event(), NEED_DATA)
        self.assertTrue(decoder.in_body)
        decoder.receive_data(b"\0\0")
        self.assertIs(decoder.next_event(), NEED_DATA)
        decoder.receive_data(b"\0")
        self.assertEqual(
            decoder.next_event(), Frame("MESSAGE", {"content-length": "4"}, b"\0\0\0\0")
        )
        self.assertFalse(decoder.in_body)

    def test_invalid(self) -> None:
        """
        A content-length that is not a string of ASCII digits is the peer's
        error: negative, empty, spaced, hexadecimal, decimal, or digits from
        other scripts (fullwidth one, superscript two, Arabic-Indic five).
        """
        for value in (
            "-1",
            "",
            " 3",
            "3 ",
            "+3",
            "0x3",
            "3.0",
            "abc",
            "\uff11",
            "\u00b2",
            "\u0665",
        ):
            data = f"SEND\ncontent-length:{value}\n\nabc\0".encode()
            for version in VERSIONS:
                self.assertRaises(RemoteProtocolError, parse_frames, data, version)

    def test_too_many_digits(self) -> None:
        """
        A content-length with more digits than Python will convert to an
        int (4300 by default) is over max_body, not a ValueError; leading
        zeros do not count.
        """
        data = b"SEND\ncontent-length:" + b"1" * 5000 + b"\n\nabc\0"
        error = self.assertRaises(FrameTooLarge, parse_frames, data)
        self.assertEqual(error.limit, "max_body")
        zeros = "0" * 5000 + "3"
        self.assertEqual(
            parse_frames(f"SEND\ncontent-length:{zeros}\n\nabc\0".encode()),
            [Frame("SEND", {"content-length": zeros}, b"abc")],
        )


# --- Line endings and heart-beats ---------------------------------------------------


class LineEndingTests(SynchronousTestCase):
    """
    Lines may end with LF or CRLF, and EOLs between frames are heart-beats.
    """

    def test_crlf(self) -> None:
        """
        CRLF line endings are accepted, and the CR is not part of any name
        or value.
        """
        self.assertEqual(
            parse_frames(b"SEND\r\ndestination:/q\r\nx:y\r\n\r\nbody\0"),
            [Frame("SEND", {"destination": "/q", "x": "y"}, b"body")],
        )

    def test_mixed(self) -> None:
        """
        LF and CRLF may be mixed within a frame.
        """
        for version in VERSIONS:
            self.assertEqual(
                parse_frames(b"SEND\r\ndestination:/q\nx:y\r\n\nbody\0", version),
                [Frame("SEND", {"destination": "/q", "x": "y"}, b"body")],
            )

    def test_crlf_split_between_chunks(self) -> None:
        """
        A CR at the end of one chunk and its LF at the start of the next
        make one EOL.
        """
        self.assertEqual(
            feed([b"SEND\r", b"\na:b\r", b"\n\r", b"\n\0\r", b"\n"]),
            [Frame("SEND", {"a": "b"}), HEARTBEAT],
        )

    def test_heartbeats(self) -> None:
        """
        Each EOL between frames, LF or CRLF, is one HEARTBEAT.
        """
        self.assertEqual(
            parse_frames(b"\n\r\n\nMESSAGE\n\n\0\r\n\n\r\n"),
            [HEARTBEAT] * 3 + [Frame("MESSAGE")] + [HEARTBEAT] * 3,
        )

    def test_heartbeats_alone(self) -> None:
        """
        Heart-beats are returned as they arrive, one per EOL.
        """
        decoder = FrameDecoder("1.1")
        self.assertIs(decoder.next_event(), NEED_DATA)
        decoder.receive_data(b"\n")
        self.assertIs(decoder.next_event(), HEARTBEAT)
        self.assertIs(decoder.next_event(), NEED_DATA)
        decoder.receive_data(b"\r")
        self.assertIs(decoder.next_event(), NEED_DATA)
        decoder.receive_data(b"\n\n")
        self.assertIs(decoder.next_event(), HEARTBEAT)
        self.assertIs(decoder.next_event(), HEARTBEAT)
        self.assertIs(decoder.next_event(), NEED_DATA)

    def test_body_eols_are_not_heartbeats(self) -> None:
        """
        EOLs inside a body belong to the body.
        """
        self.assertEqual(
            parse_frames(b"MESSAGE\n\n\n\r\n\0\n"),
            [Frame("MESSAGE", {}, b"\n\r\n"), HEARTBEAT],
        )

    def test_repr(self) -> None:
        """
        The sentinels have readable reprs.
        """
        self.assertEqual(repr(HEARTBEAT), "HEARTBEAT")
        self.assertEqual(repr(NEED_DATA), "NEED_DATA")


# --- Commands ------------------------------------------------------------------------


class CommandTests(SynchronousTestCase):
    """
    Only STOMP commands, or the ones the decoder was told to accept, are
    accepted.
    """

    def test_every_command_accepted(self) -> None:
        """
        By default, every client and server command is accepted.
        """
        for command in sorted(ALL_COMMANDS):
            self.assertEqual(parse_frames(command.encode() + b"\n\n\0"), [Frame(command)], command)

    def test_unknown(self) -> None:
        """
        Anything else is the peer's error: unknown words, lower case,
        trailing space, non-ASCII.
        """
        for line in (b"FOO", b"send", b"SEND ", b" SEND", b"S\xc3\x89ND", b"\xff"):
            self.assertRaises(RemoteProtocolError, parse_frames, line + b"\n\n\0")

    def test_restricted(self) -> None:
        """
        With C{commands=}, only those commands are accepted.
        """
        server = sorted(SERVER_COMMANDS)
        self.assertEqual(feed([b"MESSAGE\n\n\0"], commands=server), [Frame("MESSAGE")])
        self.assertRaises(RemoteProtocolError, feed, [b"SEND\n\n\0"], commands=server)
        self.assertRaises(RemoteProtocolError, feed, [b"MESSAGE\n\n\0"], commands=["SEND"])

    def test_unknown_version(self) -> None:
        """
        An unknown version is the caller's error, for the decoder and for
        serialize_frame, whatever the command.
        """
        self.assertRaises(LocalProtocolError, FrameDecoder, "2.0")
        for command in ("SEND", "CONNECT"):
            self.assertRaises(LocalProtocolError, serialize_frame, Frame(command), "2.0")
            # A head the fast path could write in a known version.
            plain = Frame(command, {"a": "b"}, b"x")
            self.assertRaises(LocalProtocolError, serialize_frame, plain, "2.0")


# --- Limits ----------------------------------------------------------------------------


class LimitTests(SynchronousTestCase):
    """
    FrameLimits bounds what a peer can make the decoder hold; a frame over
    a limit raises FrameTooLarge naming it, and a frame exactly at it is
    accepted.
    """

    def assertTooLarge(self, limit: str, value: int, data: bytes, limits: FrameLimits) -> None:
        """
        C{data} raises FrameTooLarge for C{limit} (set to C{value}), both
        whole and byte by byte.
        """
        for chunks in ([data], bytewise(data)):
            error = self.assertRaises(FrameTooLarge, feed, chunks, "1.2", limits)
            self.assertEqual((error.limit, error.value), (limit, value))
            self.assertIsInstance(error, RemoteProtocolError)

    def assertAccepted(self, data: bytes, limits: FrameLimits, frame: Frame) -> None:
        """
        C{data} decodes to C{frame}, both whole and byte by byte.
        """
        self.assertEqual(feed([data], "1.2", limits), [frame])
        self.assertEqual(feed(bytewise(data), "1.2", limits), [frame])

    def test_header_block(self) -> None:
        """
        max_header_block counts the command and header lines, EOLs included:
        a frame whose head is exactly that long is accepted, one byte longer
        is not.
        """
        for eol in (b"\n", b"\r\n"):
            head = b"SEND" + eol + b"x:" + b"y" * 50 + eol + eol
            data = head + b"\0"
            frame = Frame("SEND", {"x": "y" * 50})
            self.assertAccepted(data, FrameLimits(max_header_block=len(head)), frame)
            self.assertTooLarge(
                "max_header_block", len(head) - 1, data, FrameLimits(max_header_block=len(head) - 1)
            )

    def test_header_block_many_short_lines(self) -> None:
        """
        max_header_block is the total over all lines, not per line.
        """
        data = b"SEND\n" + b"".join(b"h%d:v\n" % i for i in range(20)) + b"\n\0"
        self.assertTooLarge(
            "max_header_block", 40, data, FrameLimits(max_header_block=40, max_headers=100)
        )

    def test_command_line(self) -> None:
        """
        A command line longer than max_header_block is refused.
        """
        self.assertTooLarge(
            "max_header_block", 5, b"MESSAGE\n\n\0", FrameLimits(max_header_block=5)
        )

    def test_header_line_that_never_ends(self) -> None:
        """
        A header line with no newline raises as soon as the buffered bytes
        of the frame's head exceed max_header_block, not later.
        """
        limit = 64
        decoder = FrameDecoder("1.2", FrameLimits(max_header_block=limit))
        prefix = b"SEND\nx:"
        decoder.receive_data(prefix)
        self.assertIs(decoder.next_event(), NEED_DATA)
        for _ in range(limit - len(prefix)):
            decoder.receive_data(b"y")
            self.assertIs(decoder.next_event(), NEED_DATA)
        self.assertEqual(decoder.buffered, limit - len(b"SEND\n"))
        decoder.receive_data(b"y")
        error = self.assertRaises(FrameTooLarge, decoder.next_event)
        self.assertEqual(error.limit, "max_header_block")

    def test_command_line_that_never_ends(self) -> None:
        """
        So does a command line with no newline.
        """
        limit = 64
        decoder = FrameDecoder("1.2", FrameLimits(max_header_block=limit))
        decoder.receive_data(b"\n\n")
        self.assertEqual(drain(decoder), [HEARTBEAT, HEARTBEAT])
        for _ in range(limit):
            decoder.receive_data(b"S")
            self.assertIs(decoder.next_event(), NEED_DATA)
        decoder.receive_data(b"S")
        error = self.assertRaises(FrameTooLarge, decoder.next_event)
        self.assertEqual(error.limit, "max_header_block")

    def test_line_that_never_ends_in_one_chunk(self) -> None:
        """
        A large chunk with no newline raises at once, and so does one after
        a complete frame (whose bytes do not count against the next head).
        """
        limits = FrameLimits(max_header_block=64)
        error = self.assertRaises(FrameTooLarge, feed, [b"SEND\nx:" + b"y" * 1000], "1.2", limits)
        self.assertEqual(error.limit, "max_header_block")
        decoder = FrameDecoder("1.2", limits)
        decoder.receive_data(b"SEND\nx:" + b"y" * 50 + b"\n\n\0" + b"SEND\nx:" + b"y" * 50)
        self.assertEqual(decoder.next_event(), Frame("SEND", {"x": "y" * 50}))
        self.assertIs(decoder.next_event(), NEED_DATA)
        decoder.receive_data(b"y" * 7)
        self.assertIs(decoder.next_event(), NEED_DATA)
        decoder.receive_data(b"y")
        self.assertRaises(FrameTooLarge, decoder.next_event)

    def test_max_headers(self) -> None:
        """
        max_headers counts header lines (repeats included): exactly that
        many are accepted, one more is not.
        """
        data = b"SEND\n" + b"".join(b"h%d:v\n" % i for i in range(10)) + b"\n\0"
        frame = Frame("SEND", {f"h{i}": "v" for i in range(10)})
        self.assertAccepted(data, FrameLimits(max_headers=10), frame)
        self.assertTooLarge("max_headers", 9, data, FrameLimits(max_headers=9))
        repeated = b"SEND\n" + b"h:v\n" * 10 + b"\n\0"
        self.assertTooLarge("max_headers", 9, repeated, FrameLimits(max_headers=9))

    def test_max_body_with_content_length(self) -> None:
        """
        A body exactly max_body long is accepted; a content-length above it
        raises as soon as the headers end, before any of the body arrives.
        """
        limits = FrameLimits(max_body=100)
        body = b"\0" * 100
        self.assertAccepted(
            b"SEND\ncontent-length:100\n\n" + body + b"\0",
            limits,
            Frame("SEND", {"content-length": "100"}, body),
        )
        decoder = FrameDecoder("1.2", limits)
        decoder.receive_data(b"SEND\ncontent-length:101\n\n")
        error = self.assertRaises(FrameTooLarge, decoder.next_event)
        self.assertEqual((error.limit, error.value), ("max_body", 100))
        decoder = FrameDecoder("1.2", limits)
        decoder.receive_data(b"SEND\ncontent-length:99999999999999999999999\n\n")
        self.assertRaises(FrameTooLarge, decoder.next_event)

    def test_max_body_without_content_length(self) -> None:
        """
        Without content-length, a body exactly max_body long is accepted,
        and one byte more is refused, NUL or no NUL.
        """
        limits = FrameLimits(max_body=100)
        self.assertAccepted(b"SEND\n\n" + b"x" * 100 + b"\0", limits, Frame("SEND", {}, b"x" * 100))
        self.assertTooLarge("max_body", 100, b"SEND\n\n" + b"x" * 101 + b"\0", limits)
        self.assertTooLarge("max_body", 100, b"SEND\n\n" + b"x" * 101, limits)

    def test_body_that_never_ends(self) -> None:
        """
        A body with no NUL raises as soon as it exceeds max_body.
        """
        limit = 32
        decoder = FrameDecoder("1.2", FrameLimits(max_body=limit))
        decoder.receive_data(b"SEND\n\n")
        self.assertIs(decoder.next_event(), NEED_DATA)
        for _ in range(limit):
            decoder.receive_data(b"x")
            self.assertIs(decoder.next_event(), NEED_DATA)
        decoder.receive_data(b"x")
        error = self.assertRaises(FrameTooLarge, decoder.next_event)
        self.assertEqual(error.limit, "max_body")

    def test_limits_apply_per_frame(self) -> None:
        """
        Limits are per frame: many frames each within them are accepted.
        """
        limits = FrameLimits(max_header_block=20, max_headers=1, max_body=4)
        data = b"SEND\na:b\n\nabcd\0\n" * 50
        self.assertEqual(len(feed([data], "1.2", limits)), 100)
        self.assertEqual(len(feed(chunked(data, 3), "1.2", limits)), 100)

    def test_defaults(self) -> None:
        """
        The default limits are generous enough for ordinary frames.
        """
        limits = FrameLimits()
        self.assertGreaterEqual(limits.max_header_block, 64 * 1024)
        self.assertGreaterEqual(limits.max_headers, 100)
        self.assertGreaterEqual(limits.max_body, 1024 * 1024)
        self.assertEqual(FrameDecoder().limits, limits)


# --- Errors ----------------------------------------------------------------------------


class ErrorStateTests(SynchronousTestCase):
    """
    A RemoteProtocolError is terminal, and nothing accepted before it is
    lost.
    """

    GOOD_1 = b"MESSAGE\nmessage-id:1\n\none\0"
    GOOD_2 = b"MESSAGE\nmessage-id:2\ncontent-length:3\n\nt\0o\0"
    GOOD_EVENTS = [
        Frame("MESSAGE", {"message-id": "1"}, b"one"),
        HEARTBEAT,
        Frame("MESSAGE", {"message-id": "2", "content-length": "3"}, b"t\0o"),
    ]
    BAD_FRAMES = (
        b"BOGUS\n\n\0",
        b"MESSAGE\nno colon\n\n\0",
        b"MESSAGE\na:\\t\n\n\0",
        b"MESSAGE\ncontent-length:x\n\n\0",
        b"MESSAGE\ncontent-length:1\n\nab\0",
        b"MESSAGE\na:\xff\n\n\0",
        b"MESSAGE\n\n" + b"x" * 2000,
    )

    def test_events_before_error_kept(self) -> None:
        """
        The frames and heart-beats before a bad frame are all returned
        before the error is raised, whole or byte by byte.
        """
        limits = FrameLimits(max_body=1000)
        for bad in self.BAD_FRAMES:
            data = self.GOOD_1 + b"\n" + self.GOOD_2 + bad + self.GOOD_1
            for chunks in ([data], bytewise(data), chunked(data, 7)):
                events, error = outcome(chunks, "1.2", limits)
                self.assertEqual(events, self.GOOD_EVENTS, bad)
                self.assertIsNotNone(error, bad)

    def test_terminal(self) -> None:
        """
        After an error, next_event raises the same error every time, even
        after more good data.
        """
        limits = FrameLimits(max_body=1000)
        for bad in self.BAD_FRAMES:
            decoder = FrameDecoder("1.2", limits)
            decoder.receive_data(bad)
            error = self.assertRaises(RemoteProtocolError, decoder.next_event)
            self.assertIs(self.assertRaises(RemoteProtocolError, decoder.next_event), error)
            decoder.receive_data(self.GOOD_1)
            self.assertIs(self.assertRaises(RemoteProtocolError, decoder.next_event), error)

    def test_error_hierarchy(self) -> None:
        """
        The specific errors are RemoteProtocolErrors; UnrepresentableHeader
        is a LocalProtocolError (and ValueError).
        """
        self.assertTrue(issubclass(FrameTooLarge, RemoteProtocolError))
        self.assertTrue(issubclass(UndefinedEscape, RemoteProtocolError))
        self.assertTrue(issubclass(UnrepresentableHeader, LocalProtocolError))
        self.assertTrue(issubclass(UnrepresentableHeader, ValueError))
        self.assertFalse(issubclass(LocalProtocolError, RemoteProtocolError))


# --- Cost: time linear in the input, memory bounded by the frame ---------------------


class ScanCounter:
    """
    How many bytes a decoder's searches examined and its slices copied.
    """

    def __init__(self) -> None:
        self.scanned = 0


class CountingBytes(bytes):
    """
    A decoder buffer whose C{find} counts the bytes it examines (up to the
    end of what it finds, or to the end of the range when it finds
    nothing), and whose slices count the bytes they copy.
    """

    counter: ScanCounter

    def __getitem__(self, key: SupportsIndex | slice) -> Any:  # type: ignore[override]
        item = super().__getitem__(key)
        if isinstance(key, slice):
            self.counter.scanned += len(item)
        return item

    def find(self, sub: bytes, start: int | None = None, end: int | None = None) -> int:  # type: ignore[override]
        found = super().find(sub, start, end)
        first = 0 if start is None else start
        last = len(self) if end is None else end
        self.counter.scanned += (found + len(sub) if found >= 0 else last) - first
        return found


class CountingPattern:
    """
    Stands for the decoder's head-end pattern, counting the bytes each
    search examines.
    """

    def __init__(self, pattern: re.Pattern[bytes]) -> None:
        self._pattern = pattern
        self.counter = ScanCounter()

    def search(self, string: bytes, pos: int = 0) -> re.Match[bytes] | None:
        match = self._pattern.search(string, pos)
        self.counter.scanned += (match.end() if match is not None else len(string)) - pos
        return match


class ScanCountingDecoder(FrameDecoder):
    """
    A decoder that counts the bytes it searches (with C{find} on its buffer
    and with its head-end pattern, which the test patches) and slices out
    of its buffer (to decode them, or as bodies): where its time goes on
    long input, as a figure that does not depend on the machine.
    """

    def __init__(self, counter: ScanCounter, version: str = "1.2") -> None:
        super().__init__(version)
        self.counter = counter

    def _count_searches(self) -> None:
        if type(self._buffer) is bytes:
            counting = CountingBytes(self._buffer)
            counting.counter = self.counter
            self._buffer = counting

    def next_event(self) -> Frame | Heartbeat | NeedData:
        self._count_searches()
        return super().next_event()

    def _merge_pending(self) -> None:
        super()._merge_pending()
        self._count_searches()


def message_frames(count: int, eol: bytes, content_length: bool = True) -> bytes:
    """
    C{count} MESSAGE frames shaped as RabbitMQ's, C{eol} ending every line
    and following every frame.
    """
    frames = []
    for seq in range(count):
        lines = [
            b"MESSAGE",
            b"subscription:sub-1",
            b"destination:/queue/cost",
            b"message-id:T_sub-1@@session-u-Kaw5rP7wHuT3_QM1J9Cw@@%d" % seq,
            b"redelivered:false",
        ]
        if content_length:
            lines.append(b"content-length:100")
        frames.append(eol.join([*lines, b"", b""]) + b"b" * 100 + b"\0" + eol)
    return b"".join(frames)


def body_frame(size: int, content_length: bool) -> bytes:
    """
    One MESSAGE with a C{size}-byte body, with or without content-length.
    """
    if content_length:
        return b"MESSAGE\ncontent-length:%d\n\n" % size + b"\0" * size + b"\0"
    return b"MESSAGE\n\n" + b"x" * size + b"\0"


def reads_of(data: bytes, *sizes: int) -> Iterator[bytes]:
    """
    C{data} in reads whose sizes cycle through C{sizes}, made one at a
    time (a list of 2-byte reads would outweigh the data, and the reads
    are then all allocated where memory is traced).
    """
    start = 0
    for size in itertools.cycle(sizes):
        if start >= len(data):
            return
        yield data[start : start + size]
        start += size


def traced_peak(run: Callable[[], T]) -> tuple[int, T]:
    """
    The peak of memory traced while C{run} runs, and what it returned
    (alive until the peak is read).
    """
    tracemalloc.start()
    try:
        result = run()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


class LinearTimeTests(SynchronousTestCase):
    """
    Decoding costs time linear in the input, whatever the line ends and the
    read sizes: no search looks past the line, head or body it is for.
    Measured as the bytes the decoder's searches examine and its slices
    copy, a figure that does not depend on the machine, and, for CRLF against LF, as the number
    of the codec's Python functions called.
    """

    if DECODER_COMPILED:
        # (The compiled decoder runs the same source, which these tests
        # check whenever the suite runs on the sources.)
        skip = "instruments the decoder's Python code: a compiled decoder has none"

    def setUp(self) -> None:
        self.head_end = CountingPattern(decoder_module._HEAD_END)
        self.patch(decoder_module, "_HEAD_END", self.head_end)

    def scanned(self, chunks: Iterable[bytes]) -> int:
        """
        The bytes searched and sliced to decode C{chunks}, drained after
        each.
        """
        counter = self.head_end.counter = ScanCounter()
        decoder = ScanCountingDecoder(counter)
        for chunk in chunks:
            decoder.receive_data(chunk)
            drain(decoder)
        return counter.scanned

    def assertLinear(self, build: Callable[[int], bytes], count: int, read: int | None) -> None:
        """
        Decoding C{build(count)} searches and slices at most four times
        its length,
        and C{build(2 * count)} about twice as much as C{build(count)}, in
        one read or in reads of C{read} bytes.
        """
        single, double = build(count), build(2 * count)

        def reads(data: bytes) -> Iterable[bytes]:
            return [data] if read is None else reads_of(data, read)

        cost, cost_doubled = self.scanned(reads(single)), self.scanned(reads(double))
        self.assertLessEqual(cost, 4 * len(single), (count, read))
        self.assertLessEqual(cost_doubled, 2.2 * cost + 1024, (count, read))

    def test_heartbeat_floods(self) -> None:
        """
        A flood of CRLF heart-beats (or LF ones) costs linear time, in one
        read or 64 KiB ones.  (The whole-head fast path searched each time
        to the end of the buffer for a blank line: 1.7 s of CPU for 64 KiB.)
        """
        for eol in (b"\r\n", b"\n"):
            for read in (None, 64 * 1024, 2):
                self.assertLinear(lambda count, eol=eol: eol * count, 50_000, read)  # type: ignore[misc]

    def test_frame_streams(self) -> None:
        """
        So does a stream of small frames, CRLF or LF, with content-length
        or without, frames between CRLF heart-beats, and frames whose LF
        lines end with a CRLF blank line.
        """
        builds: list[Callable[[int], bytes]] = [
            lambda count: message_frames(count, b"\r\n"),
            lambda count: message_frames(count, b"\n"),
            lambda count: message_frames(count, b"\r\n", content_length=False),
            lambda count: message_frames(count, b"\n", content_length=False),
            lambda count: (message_frames(1, b"\n") + b"\r\n" * 10) * count,
            # LF lines but CRLF blank lines, an LF blank line at the end.
            lambda count: b"MESSAGE\nx:y\r\n\r\nbody\0" * count + message_frames(1, b"\n"),
        ]
        for build in builds:
            for read in (None, 64 * 1024, 1000, 2):
                self.assertLinear(build, 500, read)

    def codec_calls(self, chunks: Iterable[bytes]) -> int:
        """
        The number of calls of the codec's Python functions to decode
        C{chunks}, drained after each.
        """
        calls = 0
        codec = {
            module.__file__
            for module in (frame_module, decoder_module, _encoder, _escape, _frame_types)
        }

        def profile(frame: FrameType, event: str, arg: object) -> None:
            nonlocal calls
            if event == "call" and frame.f_code.co_filename in codec:
                calls += 1

        decoder = FrameDecoder("1.2")
        previous = sys.getprofile()
        sys.setprofile(profile)
        try:
            for chunk in chunks:
                decoder.receive_data(chunk)
                while decoder.next_event() is not NEED_DATA:
                    pass
        finally:
            sys.setprofile(previous)
        return calls

    def test_crlf_frames_take_the_fast_path(self) -> None:
        """
        CRLF frames take as many of the codec's calls as LF frames (the
        whole-head fast path decodes both), and CRLF heart-beats as many as
        LF ones.
        """
        for content_length in (True, False):
            lf = message_frames(300, b"\n", content_length)
            crlf = message_frames(300, b"\r\n", content_length)
            self.assertEqual(self.codec_calls([crlf]), self.codec_calls([lf]))
            self.assertLessEqual(
                self.codec_calls(chunked(crlf, 4096)), 1.1 * self.codec_calls(chunked(lf, 4096))
            )
        self.assertEqual(self.codec_calls([b"\r\n" * 1000]), self.codec_calls([b"\n" * 1000]))


class BoundedMemoryTests(SynchronousTestCase):
    """
    Whatever the read size, the decoder holds at most about twice the frame
    it is decoding, plus a constant, and never more than its limits allow.
    (Kept as one bytes object a read, an 8 MiB body in 2-byte reads cost
    225 MiB.)
    """

    BODY = 256 * 1024
    # The constant: about two of the blocks that short reads are gathered
    # into (64 KiB each), one filling while the last is closed.
    SLACK = 128 * 1024

    def decode_one(self, data: bytes, read: int) -> list[Event]:
        decoder = FrameDecoder("1.2", FrameLimits(max_body=self.BODY))
        events: list[Event] = []
        for chunk in reads_of(data, read):
            decoder.receive_data(chunk)
            events.extend(drain(decoder))
        return events

    def test_body_in_tiny_reads(self) -> None:
        """
        A 256 KiB body in 2-byte reads, with content-length or without, peaks
        under twice its size plus a constant, the frame included; and so at
        read sizes around the decoder's thresholds.
        """
        for content_length in (True, False):
            data = body_frame(self.BODY, content_length)
            for read in (2, 8191, 8192, 64 * 1024):
                peak, events = traced_peak(lambda: self.decode_one(data, read))  # noqa: B023
                self.assertEqual(len(events), 1)
                self.assertLess(peak, 2 * self.BODY + self.SLACK, (content_length, read))

    def test_mixed_read_sizes(self) -> None:
        """
        Short reads between long ones do not add a bytes object each.
        """
        data = body_frame(self.BODY, True)

        def decode() -> list[Event]:
            events: list[Event] = []
            decoder = FrameDecoder("1.2", FrameLimits(max_body=self.BODY))
            for chunk in reads_of(data, 1, 8192, 3, 2, 5000):
                decoder.receive_data(chunk)
                events.extend(drain(decoder))
            return events

        peak, events = traced_peak(decode)
        self.assertEqual(len(events), 1)
        self.assertLess(peak, 2 * self.BODY + self.SLACK)

    def test_large_frame_released(self) -> None:
        """
        Once a large frame is returned, the decoder does not keep its bytes
        until more data comes, whether the frame came in one read or many.
        """
        size = 4 * self.BODY
        for content_length in (True, False):
            for read in (2 * size, 64 * 1024):
                tracemalloc.start()
                try:
                    data = body_frame(size, content_length) + b"MESS"
                    decoder = FrameDecoder("1.2", FrameLimits(max_body=size))
                    events: list[Event] = []
                    for chunk in chunked(data, read):
                        decoder.receive_data(chunk)
                        events.extend(drain(decoder))
                    self.assertEqual(len(events), 1)
                    del data, chunk, events
                    held = tracemalloc.get_traced_memory()[0]
                finally:
                    tracemalloc.stop()
                self.assertEqual(decoder.buffered, 4)
                self.assertLess(held, self.SLACK, (content_length, read))

    def feed_until_too_large(
        self, decoder: FrameDecoder, chunk: bytes, most: int
    ) -> tuple[int, FrameTooLarge]:
        """
        Feed C{chunk} again and again, draining after each, until the
        decoder raises L{FrameTooLarge}; check that it never buffers more
        than C{most} bytes before; return how many bytes were fed, and the
        error.
        """
        fed = 0
        while True:
            decoder.receive_data(chunk)
            fed += len(chunk)
            try:
                self.assertEqual(drain(decoder), [])
            except FrameTooLarge as error:
                return fed, error
            self.assertLessEqual(decoder.buffered, most)

    def assertTooLargeAt(
        self, limits: FrameLimits, prefix: bytes, chunk: bytes, limit: str, value: int
    ) -> None:
        """
        After C{prefix}, C{chunk} again and again makes the decoder raise
        FrameTooLarge for C{limit} as soon as C{value} is passed, having
        buffered no more than C{value} bytes before and held no more than
        C{value} plus a constant.
        """
        decoder = FrameDecoder("1.2", limits)
        decoder.receive_data(prefix)
        self.assertEqual(drain(decoder), [])
        peak, (fed, error) = traced_peak(lambda: self.feed_until_too_large(decoder, chunk, value))
        self.assertEqual((error.limit, error.value), (limit, value))
        consumed = len(prefix) if limit == "max_header_block" else 0
        self.assertGreater(consumed + fed, value)
        self.assertLessEqual(consumed + fed, value + len(chunk))
        self.assertLess(peak, value + self.SLACK)

    def test_line_that_never_ends_in_tiny_reads(self) -> None:
        """
        A header line, or a command line (a flood of CRs), that never ends
        raises FrameTooLarge at max_header_block in 2-byte reads too.
        """
        limits = FrameLimits(max_header_block=self.BODY)
        self.assertTooLargeAt(limits, b"MESSAGE\nx:", b"yy", "max_header_block", self.BODY)
        self.assertTooLargeAt(limits, b"", b"\r\r", "max_header_block", self.BODY)
        self.assertTooLargeAt(limits, b"\r", b"\r\r", "max_header_block", self.BODY)

    def test_body_that_never_ends_in_tiny_reads(self) -> None:
        """
        So does a body without content-length or NUL, at max_body.
        """
        limits = FrameLimits(max_body=self.BODY)
        self.assertTooLargeAt(limits, b"MESSAGE\n\n", b"xx", "max_body", self.BODY)

    def test_crlf_heartbeat_flood_in_tiny_reads(self) -> None:
        """
        A flood of CRLF heart-beats in 2-byte reads, aligned with them or
        not, is a heart-beat an EOL, and the decoder holds at most the one
        CR of an EOL still incomplete.
        """
        for prefix, chunk in ((b"", b"\r\n"), (b"\r", b"\n\r")):
            decoder = FrameDecoder("1.2", FrameLimits(max_header_block=8))
            decoder.receive_data(prefix)
            self.assertEqual(drain(decoder), [])
            for _ in range(50_000):
                decoder.receive_data(chunk)
                self.assertEqual(drain(decoder), [HEARTBEAT])
                self.assertLessEqual(decoder.buffered, 1)


class ReadSizeTests(SynchronousTestCase):
    """
    Reads shorter and longer than the decoder's thresholds (short reads are
    gathered into blocks, long ones kept as they came), mixed in any order,
    decode to the same events as the stream in one read.
    """

    def stream(self) -> bytes:
        big = bytes(i % 251 for i in range(100_000))
        return b"".join(
            [
                message_frames(3, b"\r\n"),
                b"\r\n\n",
                body_frame(70_000, content_length=True),
                message_frames(2, b"\n", content_length=False),
                b"SEND\r\ncontent-length:100000\r\n\r\n" + big + b"\0\r\n",
                b"MESSAGE\n\n" + big.replace(b"\0", b"z") + b"\0",
                message_frames(2, b"\r\n", content_length=False),
            ]
        )

    def test_mixed_read_sizes(self) -> None:
        """
        Reads cycling through sizes below, at and above the thresholds.
        """
        data = self.stream()
        expected = parse_frames(data)
        self.assertEqual(len(expected), 20)
        cycles: list[list[int]] = [
            [1, 8191],
            [3, 9000, 2],
            [8192],
            [65535, 1, 2],
            [100_000, 7],
            [8191, 8192, 65536, 70_000],
            [400_000, 1],
        ]
        for sizes in cycles:
            self.assertEqual(feed(split_by(data, sizes)), expected, sizes)
            self.assertEqual(feed_all_then_drain(split_by(data, sizes)), expected, sizes)

    def test_tiny_reads(self) -> None:
        """
        Reads of 1 and 2 bytes.
        """
        data = self.stream()
        expected = parse_frames(data)
        for size in (1, 2):
            self.assertEqual(feed(reads_of(data, size)), expected, size)

    def test_buffered(self) -> None:
        """
        L{FrameDecoder.buffered} counts the bytes received and not yet
        returned, whether gathered or not.
        """
        decoder = FrameDecoder("1.2")
        received = 0
        head = b"MESSAGE\ncontent-length:100000\n\n"
        for chunk in split_by(head + b"x" * 100_000, [3, 9000, 1]):
            decoder.receive_data(chunk)
            received += len(chunk)
            self.assertEqual(drain(decoder), [])
            self.assertEqual(
                decoder.buffered, received if received < len(head) else received - len(head)
            )
        decoder.receive_data(b"\0\r")
        self.assertEqual(len(drain(decoder)), 1)
        self.assertEqual(decoder.buffered, 1)


# --- Properties ------------------------------------------------------------------------


def _text(exclude: str, min_size: int = 0) -> st.SearchStrategy[str]:
    """
    Text without the characters in C{exclude} (nor lone surrogates), with
    STOMP's special characters drawn often.
    """
    specials = [char for char in ":\\\n\rcnrt \u00e9\u2603" if char not in exclude]
    return st.text(
        st.one_of(
            st.sampled_from(specials),
            st.characters(exclude_characters=exclude, exclude_categories=("Cs",)),
        ),
        min_size=min_size,
        max_size=12,
    )


def frames(version: str, commands: Sequence[str] = ESCAPED_COMMANDS) -> st.SearchStrategy[Frame]:
    """
    Frames that C{version} can carry, with C{commands}.
    """
    if version == "1.0" or set(commands) <= HANDSHAKE_COMMANDS:
        names, values = _text("\0\n\r:", 1), _text("\0\n\r")
    elif version == "1.1":
        names, values = _text("\0\r", 1), _text("\0\r")
    else:
        names, values = _text("\0", 1), _text("\0")
    return st.builds(
        Frame,
        st.sampled_from(commands),
        st.dictionaries(names.filter(lambda name: name != "content-length"), values, max_size=5),
        st.binary(max_size=40),
    )


chunk_sizes = st.lists(st.integers(1, 16), min_size=1, max_size=8)

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


class RoundTripPropertyTests(SynchronousTestCase):
    """
    Any frame a version can carry serializes and decodes back to itself
    (with the content-length the serializer adds), however it is chunked.
    """

    def check(self, frame: Frame, version: str, sizes: list[int]) -> None:
        data = serialize_frame(frame, version) + b"\r\n" + serialize_frame(frame, version)
        expected = [as_received(frame), HEARTBEAT, as_received(frame)]
        self.assertEqual(parse_frames(data, version), expected)
        self.assertEqual(feed(split_by(data, sizes), version), expected)

    @PROPERTY_SETTINGS
    @given(frame=frames("1.2"), sizes=chunk_sizes)
    def test_stomp_12(self, frame: Frame, sizes: list[int]) -> None:
        """
        STOMP 1.2: any text but NUL in names and values.
        """
        self.check(frame, "1.2", sizes)

    @PROPERTY_SETTINGS
    @given(frame=frames("1.1"), sizes=chunk_sizes)
    def test_stomp_11(self, frame: Frame, sizes: list[int]) -> None:
        """
        STOMP 1.1: any text but NUL and CR in names and values.
        """
        self.check(frame, "1.1", sizes)

    @PROPERTY_SETTINGS
    @given(frame=frames("1.0", sorted(ALL_COMMANDS)), sizes=chunk_sizes)
    def test_stomp_10(self, frame: Frame, sizes: list[int]) -> None:
        """
        STOMP 1.0: values without NUL, CR and LF; names without those and
        colon.
        """
        self.check(frame, "1.0", sizes)

    @PROPERTY_SETTINGS
    @given(
        frame=frames("1.2", sorted(HANDSHAKE_COMMANDS)),
        version=st.sampled_from(VERSIONS),
        sizes=chunk_sizes,
    )
    def test_handshake(self, frame: Frame, version: str, sizes: list[int]) -> None:
        """
        The unescaped handshake frames round-trip in every version.
        """
        self.check(frame, version, sizes)


FUZZ_PIECES = [
    b"SEND\n",
    b"SEND\r\n",
    b"a:b\r\n",
    b"\r\r\n",
    b"MESSAGE\n",
    b"CONNECTED\n",
    b"FOO\n",
    b"a:b\n",
    b"a\\c:\\n\\\\\n",
    b"\\",
    b"\\r",
    b"\\t",
    b":",
    b"\n",
    b"\r\n",
    b"\r",
    b"\0",
    b"x",
    b"content-length:3\n",
    b"content-length:0\n",
    b"content-length:-1\n",
    b"content-length:\xef\xbc\x91\n",
    b"\xff",
    b"\xe6\x97\xa5",
]

fuzz_bytes = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from(FUZZ_PIECES), max_size=40).map(b"".join),
)


class ArbitraryBytesPropertyTests(SynchronousTestCase):
    """
    Whatever a peer sends, the decoder returns events or raises a
    RemoteProtocolError, and chunking does not change which.
    """

    @PROPERTY_SETTINGS
    @given(
        data=fuzz_bytes,
        version=st.sampled_from(VERSIONS),
        sizes=chunk_sizes,
        header_block=st.integers(1, 80),
        max_headers=st.integers(0, 5),
        max_body=st.integers(0, 40),
    )
    def test_only_remote_errors(
        self,
        data: bytes,
        version: str,
        sizes: list[int],
        header_block: int,
        max_headers: int,
        max_body: int,
    ) -> None:
        """
        Decoding arbitrary bytes never raises anything but
        RemoteProtocolError, and the events and error are the same whole
        and chunked.
        """
        limits = FrameLimits(header_block, max_headers, max_body)
        whole = outcome([data], version, limits)
        self.assertEqual(outcome(split_by(data, sizes), version, limits), whole)
        self.assertEqual(outcome(bytewise(data), version, limits), whole)

    @PROPERTY_SETTINGS
    @given(data=fuzz_bytes, version=st.sampled_from(VERSIONS))
    def test_default_limits(self, data: bytes, version: str) -> None:
        """
        With the default limits too, only RemoteProtocolError is raised.
        """
        outcome([data], version)
