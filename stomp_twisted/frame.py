"""
The STOMP frame codec: bytes in, frames out, and back.  No I/O, no Twisted.

A L{Frame} is a command, headers and a body.  L{serialize_frame} turns one
into bytes for a given STOMP version; L{FrameDecoder} turns received bytes
into frames (and heart-beat EOLs), whatever the chunking, in the manner of
h11: C{receive_data(bytes)}, then C{next_event()} until it returns
L{NEED_DATA}.

The decoder is a small state machine with a line mode (the command and
header lines) and a raw mode (the body, C{content-length} bytes or up to the
first NUL), which is what L{stomp_twisted.protocol.StompProtocol} reports as
its L{LineReceiver<twisted.protocols.basic.LineReceiver>} mode.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from .errors import (
    FrameTooLarge,
    LocalProtocolError,
    RemoteProtocolError,
    UndefinedEscape,
    UnrepresentableHeader,
)

__all__ = [
    "CLIENT_COMMANDS",
    "HEARTBEAT",
    "NEED_DATA",
    "SERVER_COMMANDS",
    "VERSIONS",
    "Frame",
    "FrameDecoder",
    "FrameLimits",
    "Heartbeat",
    "NeedData",
    "parse_frames",
    "serialize_frame",
]

#: The STOMP versions this codec speaks, oldest first.
VERSIONS: Final = ("1.0", "1.1", "1.2")

#: Commands a client sends.
CLIENT_COMMANDS: Final = frozenset(
    {
        "CONNECT",
        "STOMP",
        "SEND",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "ACK",
        "NACK",
        "BEGIN",
        "COMMIT",
        "ABORT",
        "DISCONNECT",
    }
)

#: Commands a server sends.
SERVER_COMMANDS: Final = frozenset({"CONNECTED", "MESSAGE", "RECEIPT", "ERROR"})

# The spec exempts the connection handshake from header escaping, so that
# a 1.0-only peer can read it before any version is agreed.
_UNESCAPED_COMMANDS: Final = frozenset({"CONNECT", "STOMP", "CONNECTED"})


class Frame:
    """
    One STOMP frame.

    @ivar command: the command, for example C{"SEND"}.
    @ivar headers: the headers, names and values as text.  When a frame is
        received with a repeated header, the first occurrence is kept, as
        STOMP 1.2 says.
    @ivar body: the body, as bytes (it may contain NUL bytes).
    """

    __slots__ = ("body", "command", "headers")

    command: str
    headers: dict[str, str]
    body: bytes

    def __init__(
        self,
        command: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        """
        @raise LocalProtocolError: if C{command} is not a non-empty string,
            a header name or value is not a string, or C{body} is not bytes.
        """
        if not isinstance(command, str) or not command:
            raise LocalProtocolError(f"frame command must be a non-empty str, not {command!r}")
        copied: dict[str, str] = {}
        if headers is not None:
            # (A dict is checked first: isinstance against an ABC is slow.)
            if type(headers) is not dict and not isinstance(headers, Mapping):
                raise LocalProtocolError(
                    f"frame headers must be a mapping of str to str, not {type(headers).__name__}"
                )
            copied = dict(headers)
            for name, value in copied.items():
                if not isinstance(name, str) or not isinstance(value, str):
                    raise LocalProtocolError(
                        f"header {name!r}: names and values must be str, "
                        f"not {type(name).__name__} and {type(value).__name__}"
                    )
        if type(body) is not bytes:
            if isinstance(body, (bytearray, memoryview)):
                body = bytes(body)
            elif not isinstance(body, bytes):
                raise LocalProtocolError(f"frame body must be bytes, not {type(body).__name__}")
        self.command = command
        self.headers = copied
        self.body = body

    @classmethod
    def _received(cls, command: str, headers: dict[str, str], body: bytes) -> Frame:
        # The decoder (and the client's send, which checks its arguments
        # itself) builds frames from values it has already checked, and
        # hands over the headers dict: skipping __init__'s checks and copy
        # keeps them fast.
        frame = cls.__new__(cls)
        frame.command = command
        frame.headers = headers
        frame.body = body
        return frame

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return (self.command, self.headers, self.body) == (
            other.command,
            other.headers,
            other.body,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        body = self.body if len(self.body) <= 64 else self.body[:64] + b"..."
        return f"Frame({self.command!r}, {self.headers!r}, {body!r})"


class Heartbeat:
    """
    The type of L{HEARTBEAT}: an EOL received between frames.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "HEARTBEAT"


class NeedData:
    """
    The type of L{NEED_DATA}: the decoder has no complete event buffered.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


_new_frame: Final = object.__new__

#: Returned by L{FrameDecoder.next_event} for each EOL between frames.
HEARTBEAT: Final = Heartbeat()

#: Returned by L{FrameDecoder.next_event} when more bytes are needed.
NEED_DATA: Final = NeedData()


@dataclass(frozen=True)
class FrameLimits:
    """
    Bounds on what a L{FrameDecoder} accepts, so that a peer cannot make it
    hold unbounded memory.  A frame over a limit raises L{FrameTooLarge}
    naming the limit.

    @ivar max_header_block: bytes in the command and header lines of one
        frame, EOLs included.
    @ivar max_headers: header lines in one frame.
    @ivar max_body: bytes in one frame's body.
    """

    max_header_block: int = 1024 * 1024
    max_headers: int = 1000
    max_body: int = 64 * 1024 * 1024


def check_version(version: str) -> str:
    """
    @return: C{version} if this codec speaks it.
    @raise LocalProtocolError: otherwise.
    """
    if version not in VERSIONS:
        raise LocalProtocolError(f"unknown STOMP version {version!r}; expected one of {VERSIONS}")
    return version


# --- writing ------------------------------------------------------------------


def _raw_text(text: str, what: str, forbidden: str) -> str:
    for char in forbidden:
        if char in text:
            raise UnrepresentableHeader(f"{what} {text!r} contains {char!r}, which {_WHY[char]}")
    return text


_WHY: Final = {
    "\0": "STOMP cannot carry in a header",
    "\n": "would end the header line here (header injection)",
    "\r": "this STOMP version cannot escape",
    ":": "would end the header name here",
}


def _escape_10(text: str, what: str) -> str:
    # STOMP 1.0 has no escaping.  A colon in a value is harmless (the first
    # colon ends the name) and real brokers rely on it: ActiveMQ's message
    # ids look like "ID:host-1234:1:1:1:1" and a 1.0 ACK must repeat them.
    return _raw_text(text, what, "\0\n\r:" if what == "header name" else "\0\n\r")


def _escape_11(text: str, what: str) -> str:
    _raw_text(text, what, "\0\r")
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace(":", "\\c")


def _escape_12(text: str, what: str) -> str:
    _raw_text(text, what, "\0")
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n").replace(":", "\\c")


def _escape_handshake(text: str, what: str) -> str:
    return _raw_text(text, what, "\0\n\r:" if what == "header name" else "\0\n\r")


_ESCAPERS: Final[dict[str, Callable[[str, str], str]]] = {
    "1.0": _escape_10,
    "1.1": _escape_11,
    "1.2": _escape_12,
}


def serialize_frame(frame: Frame, version: str = "1.2") -> bytes:
    """
    Encode C{frame} as bytes for the given STOMP version.

    Header names and values are escaped as C{version} requires (never on
    C{CONNECT}, C{STOMP} and C{CONNECTED}, which the spec exempts), and a
    C{content-length} header is written for every frame with a body,
    replacing any the caller gave.

    @raise UnrepresentableHeader: if a header cannot be written in
        C{version} without changing its meaning: a NUL anywhere, a newline
        or carriage return where it cannot be escaped, a colon in a name
        where it cannot be escaped.
    @raise LocalProtocolError: if C{version} is unknown.
    """
    command = frame.command
    headers = frame.headers
    body = frame.body
    # The fast path: nothing to escape and nothing to refuse, in any
    # version, and no content-length to replace.  The head is built
    # first, then checked: no backslash, CR or NUL in it, and no colon
    # or EOL but those that separate names from values and end lines.
    if "content-length" not in headers and "" not in headers and version in _ESCAPERS:
        lines = [command, *map(":".join, headers.items())]
        if body:
            lines.append(f"content-length:{len(body)}")
        separators = len(lines) - 1
        lines.append("\n")
        text = "\n".join(lines)
        if (
            text.count(":") == separators
            and text.count("\n") == len(lines)
            and "\\" not in text
            and "\r" not in text
            and "\0" not in text
        ):
            try:
                return b"".join((text.encode("utf-8"), body, b"\0"))
            except UnicodeEncodeError:  # a lone surrogate: reported below
                pass
    escape: Callable[[str, str], str]
    if frame.command in _UNESCAPED_COMMANDS:
        check_version(version)
        escape = _escape_handshake
    else:
        try:
            escape = _ESCAPERS[version]
        except KeyError:
            check_version(version)
            raise
    _raw_text(frame.command, "command", "\0\n\r:")
    lines = [command]
    for name, value in headers.items():
        if name == "content-length":
            continue
        if not name:
            raise UnrepresentableHeader("a header name cannot be empty")
        lines.append(f"{escape(name, 'header name')}:{escape(value, 'header value')}")
    if body:
        lines.append(f"content-length:{len(body)}")
    lines.append("\n")
    try:
        head = "\n".join(lines).encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate
        raise UnrepresentableHeader(f"{frame.command} frame: {error}") from None
    return b"".join((head, body, b"\0"))


# --- reading ------------------------------------------------------------------

_ESCAPE_SEQUENCE: Final = re.compile(r"\\(.?)", re.DOTALL)
_UNESCAPES: Final = {
    "1.1": {"n": "\n", "c": ":", "\\": "\\"},
    "1.2": {"n": "\n", "c": ":", "\\": "\\", "r": "\r"},
}


def _unescaper(version: str) -> Callable[[str], str] | None:
    table = _UNESCAPES.get(version)
    if table is None:
        return None

    def replace(match: re.Match[str]) -> str:
        try:
            return table[match.group(1)]
        except KeyError:
            raise UndefinedEscape(
                f"undefined escape sequence {match.group(0)!r} in a STOMP {version} header"
            ) from None

    # The sequences other than the escaped backslash, by str.replace (a
    # regular expression calling back per sequence is slow, and ActiveMQ's
    # message ids hold four each).
    replacements = [(f"\\{char}", value) for char, value in table.items() if char != "\\"]

    def unescape(text: str) -> str:
        if "\\" not in text:
            return text
        if "\0" not in text:
            # Escaped backslashes out of the way first (as NULs, absent
            # from the text), then the other sequences, then the
            # backslashes back.  A backslash left over begins an undefined
            # sequence: the regular expression reports it.
            plain = text.replace("\\\\", "\0")
            for sequence, value in replacements:
                plain = plain.replace(sequence, value)
            if "\\" not in plain:
                return plain.replace("\0", "\\")
        return _ESCAPE_SEQUENCE.sub(replace, text)

    return unescape


# Decoder states.
_COMMAND: Final = 0
_HEADERS: Final = 1
_BODY: Final = 2

# What the decoder waits for when it returns NEED_DATA: a line, a NUL, or
# (any value >= 0) that many more bytes.
_WANT_LINE: Final = -1
_WANT_NUL: Final = -2

# The end of a frame's head: its first blank line, LF or CRLF.  Matched from
# the start of the command line, it cannot reach past this frame's head, so
# a search for it costs no more than the head itself.
_HEAD_END: Final = re.compile(rb"\n\r?\n")

# Reads shorter than this are copied into one growing block, not kept each
# as its own bytes object: a bytes object costs some 40 bytes besides its
# data (with its place in the list), twenty times the data of a 2-byte read.
# Longer reads are kept as they came (that overhead is then under 0.5%), so
# a large body in large reads is copied once, when the frame is complete.
_COALESCE_BELOW: Final = 8 * 1024

# A block of coalesced reads is closed (copied to a bytes object of its
# exact size) once it holds this much, so that a bytearray's spare capacity
# never adds more than a fraction of one block.
_BLOCK_SIZE: Final = 64 * 1024

# Once a frame completes this far into the buffer, and what follows it is
# shorter than what precedes it, the rest is copied to a buffer of its own,
# so that a large frame's bytes are not kept until the next merge.  (Copying
# only a rest shorter than what is released keeps the total linear.)
_RELEASE_AFTER: Final = 256 * 1024


class FrameDecoder:
    """
    An incremental STOMP frame parser.

    Feed it bytes with L{receive_data} as they arrive, in chunks of any
    size, and call L{next_event} until it returns L{NEED_DATA}.  Each call
    returns a L{Frame}, L{HEARTBEAT} for an EOL between frames, or
    L{NEED_DATA}.

    After a L{RemoteProtocolError} the decoder is spent: every later call to
    L{next_event} raises the same error.

    Received bytes wait, uncopied (short reads excepted: they are gathered
    into blocks), until what the decoder waits for (a line, a NUL, or the
    rest of a C{content-length} body) has arrived; then they are joined
    once.  So a frame in chunks of any size costs time linear in its size,
    and memory within twice its size plus a constant.  Every search is
    bounded by the line, head or body it looks for, so decoding costs time
    linear in the input, with LF or CRLF line ends alike.

    @ivar version: the STOMP version whose header escaping applies; the
        protocol sets it once the version is negotiated.
    @ivar limits: the L{FrameLimits} in force.
    """

    def __init__(
        self,
        version: str = "1.0",
        limits: FrameLimits | None = None,
        commands: Iterable[str] | None = None,
    ) -> None:
        """
        @param version: the STOMP version to decode, until changed.
        @param limits: the bounds to enforce; L{FrameLimits}C{()} if
            omitted.
        @param commands: the commands to accept; any other is a
            L{RemoteProtocolError}.  Every STOMP command if omitted.
        """
        self._version = check_version(version)
        self._unescape = _unescaper(version)
        self.limits = limits if limits is not None else FrameLimits()
        self._commands = (
            frozenset(commands) if commands is not None else (CLIENT_COMMANDS | SERVER_COMMANDS)
        )
        self._buffer = b""
        self._offset = 0
        # Where the first LF blank line at or after _offset is in _buffer
        # (its length if none), once _parse_whole_head has searched.
        self._lf_blank = -1
        # Received since the last merge, in order: the reads of at least
        # _COALESCE_BELOW bytes and the closed blocks of shorter ones, then
        # the block being filled.
        self._pending: list[bytes | bytearray] = []
        self._block = bytearray()
        self._pending_size = 0
        self._pending_ready = False
        self._want = _WANT_LINE
        self._state = _COMMAND
        self._command = ""
        self._headers: dict[str, str] = {}
        self._header_lines = 0
        self._head_size = 0
        self._body_length: int | None = None
        self._error: RemoteProtocolError | None = None

    @property
    def version(self) -> str:
        return self._version

    @version.setter
    def version(self, version: str) -> None:
        self._version = check_version(version)
        self._unescape = _unescaper(version)

    @property
    def in_body(self) -> bool:
        """
        Whether the decoder is reading a body (raw mode) rather than the
        command and header lines (line mode).
        """
        return self._state == _BODY

    @property
    def buffered(self) -> int:
        """
        The number of received bytes not yet returned as events.
        """
        return len(self._buffer) - self._offset + self._pending_size

    def receive_data(self, data: bytes) -> None:
        """
        Add received bytes to the buffer.
        """
        if not data:
            return
        if type(data) is not bytes:
            data = bytes(data)
        size = len(data)
        if size < _COALESCE_BELOW and self._pending_size:
            block = self._block
            block += data
            if len(block) >= _BLOCK_SIZE:
                self._pending.append(bytes(block))
                block.clear()
        else:
            # A long read, or the first since the last merge (usually the
            # only one: most reads hold whole lines), is kept as it came.
            if self._block:
                self._pending.append(bytes(self._block))
                self._block.clear()
            self._pending.append(data)
        self._pending_size += size
        if not self._pending_ready:
            self._pending_ready = self._satisfies(data)

    def next_event(self) -> Frame | Heartbeat | NeedData:
        """
        Parse the next event out of the buffer.

        @return: a L{Frame}, L{HEARTBEAT} or L{NEED_DATA}.
        @raise RemoteProtocolError: if the bytes are not valid STOMP
            (L{FrameTooLarge} and L{UndefinedEscape} among them).
        """
        if self._error is not None:
            raise self._error
        try:
            while True:
                buffer = self._buffer
                offset = self._offset
                event: Frame | Heartbeat | NeedData | None = None
                if offset >= len(buffer):
                    # All parsed: what is awaited, if the pending reads hold it
                    # (the last call left _want up to date), comes from them.
                    event = NEED_DATA
                elif self._state == _COMMAND:
                    first = buffer[offset]
                    if first == 10:
                        # An EOL between frames (RabbitMQ writes one after each).
                        self._offset = offset + 1
                        return HEARTBEAT
                    if first == 13 and offset + 1 < len(buffer) and buffer[offset + 1] == 10:
                        self._offset = offset + 2
                        return HEARTBEAT
                    event = self._parse_whole_head(buffer, offset)
                if event is None:
                    event = self._parse_buffer()
                if event is not NEED_DATA:
                    return event
                if not self._pending_ready:
                    self._check_pending_size()
                    return NEED_DATA
                self._merge_pending()
        except RemoteProtocolError as error:
            self._error = error
            raise

    def _satisfies(self, chunk: bytes | bytearray) -> bool:
        want = self._want
        if want == _WANT_LINE:
            return b"\n" in chunk
        if want == _WANT_NUL:
            return b"\0" in chunk
        return len(self._buffer) - self._offset + self._pending_size >= want

    def _wait_for(self, want: int) -> NeedData:
        if want != self._want:
            self._want = want
            self._pending_ready = any(self._satisfies(chunk) for chunk in self._pending) or (
                bool(self._block) and self._satisfies(self._block)
            )
        return NEED_DATA

    def _merge_pending(self) -> None:
        buffer = self._buffer
        pending = self._pending
        if self._block:
            pending.append(self._block)
        if self._offset >= len(buffer) and len(pending) == 1:
            only = pending[0]
            self._buffer = only if type(only) is bytes else bytes(only)
        else:
            # One copy, however large the frame: the rest of the buffer is
            # joined through a memoryview, not sliced first.
            rest = memoryview(buffer)[self._offset :]
            self._buffer = b"".join([rest, *pending])
        self._offset = 0
        self._lf_blank = -1
        self._pending = []
        self._block.clear()
        self._pending_size = 0
        self._pending_ready = False

    def _release_parsed(self) -> None:
        # After a large frame: keep only what follows it, if that is the
        # smaller part (so that the copies add up to no more than the
        # input), rather than the whole buffer until the next merge.
        buffer = self._buffer
        offset = self._offset
        if len(buffer) - offset < offset:
            self._buffer = buffer[offset:]
            self._offset = 0
            self._lf_blank = -1

    def _check_pending_size(self) -> None:
        waiting = self.buffered
        if self._state == _BODY:
            if self._body_length is None and waiting > self.limits.max_body:
                raise FrameTooLarge(
                    "max_body", self.limits.max_body, "no NUL within that many body bytes"
                )
        elif self._head_size + waiting > self.limits.max_header_block:
            raise FrameTooLarge(
                "max_header_block", self.limits.max_header_block, "no end of line in sight"
            )

    def _parse_buffer(self) -> Frame | Heartbeat | NeedData:
        # Line by line: for what the fast path (_parse_whole_head) leaves.
        buffer = self._buffer
        while True:
            offset = self._offset
            if self._state == _BODY:
                return self._parse_body(buffer, offset)
            newline = buffer.find(b"\n", offset)
            if newline < 0:
                return self._wait_for(_WANT_LINE)
            self._offset = newline + 1
            line = buffer[offset:newline]
            if line[-1:] == b"\r":
                line = line[:-1]
            if self._state == _COMMAND:
                if not line:
                    return HEARTBEAT
                self._start_frame(line, newline + 1 - offset)
            else:
                self._head_size += newline + 1 - offset
                if self._head_size > self.limits.max_header_block:
                    raise FrameTooLarge("max_header_block", self.limits.max_header_block)
                if line:
                    self._add_header(line)
                else:
                    self._end_headers()

    def _parse_whole_head(self, buffer: bytes, offset: int) -> Frame | NeedData | None:
        # The fast path, for the usual case of a frame's whole head (the
        # command and header lines, up to the blank line) already in the
        # buffer and within the limits: decode it at once and split it into
        # headers without a call per line.  It returns None, having consumed
        # nothing, whenever the frame needs the line-by-line path below (a
        # head still incomplete, an error to report, a limit reached), which
        # then handles it.
        #
        # The head ends at its first blank line.  An LF one is found with
        # bytes.find (faster than a pattern), and where it is found is kept:
        # in a CRLF stream it is far away or absent, and searching for it
        # again from each frame made CRLF decoding quadratic.  A head with a
        # CR in it is read with the pattern, whose search stops at the
        # head's end, LF or CRLF; so is every head before an LF blank line
        # already found to lie beyond a CRLF one (each byte is decoded in
        # vain at most once).
        limits = self.limits
        text = None
        end = self._lf_blank
        if end < offset:
            found = buffer.find(b"\n\n", offset)
            end = self._lf_blank = found if found >= 0 else len(buffer)
            if found >= 0 and found + 2 - offset <= limits.max_header_block:
                try:
                    text = buffer[offset:found].decode("utf-8")
                except UnicodeDecodeError:
                    return None
                if "\r" in text:
                    text = None
        if text is None:
            blank_line = _HEAD_END.search(buffer, offset)
            if blank_line is None:
                return None
            end, start = blank_line.span()
            if start - offset > limits.max_header_block:
                return None
            try:
                text = buffer[offset:end].decode("utf-8")
            except UnicodeDecodeError:
                return None
            if "\r" in text:
                # CRLF line ends: the one CR before each LF belongs to the
                # EOL, as in the line-by-line path; any other CR is kept.
                text = (text + "\n").replace("\r\n", "\n")[:-1]
        else:
            start = end + 2
        # From offset to end: the command line and every header line, the
        # last one's LF excepted.
        head_size = start - offset
        lines = text.split("\n")
        command = lines[0]
        header_lines = len(lines) - 1
        if command not in self._commands or header_lines > limits.max_headers:
            return None
        del lines[0]
        try:
            headers = dict([line.split(":", 1) for line in lines])
        except ValueError:  # a line without a colon
            return None
        unescape = self._unescape
        if command in _UNESCAPED_COMMANDS or "\\" not in text:
            unescape = None
        if len(headers) < header_lines or unescape is not None:
            # A repeated header (the first value is kept), or escapes.
            headers = {}
            for line in lines:
                name, _, value = line.partition(":")
                if unescape is not None and "\\" in line:
                    name = unescape(name)
                    value = unescape(value)
                headers.setdefault(name, value)
        # The usual body: a plain content-length, all of it here.
        declared = headers.get("content-length")
        if (
            declared is not None
            and declared.isascii()
            and declared.isdigit()
            and len(declared) < 10
        ):
            length = int(declared)
            body_end = start + length
            if length <= limits.max_body and body_end < len(buffer) and buffer[body_end] == 0:
                self._offset = body_end + 1
                if body_end >= _RELEASE_AFTER:
                    self._release_parsed()
                frame = _new_frame(Frame)  # Frame._received, inlined
                frame.command = command
                frame.headers = headers
                frame.body = buffer[start:body_end]
                return frame
        # Any other: read it in the body state, as the line-by-line path does.
        self._offset = start
        self._command = command
        self._headers = headers
        self._header_lines = header_lines
        self._head_size = head_size
        self._end_headers()
        return self._parse_body(buffer, start)

    def _start_frame(self, line: bytes, size: int) -> None:
        if size > self.limits.max_header_block:
            raise FrameTooLarge("max_header_block", self.limits.max_header_block)
        try:
            command = line.decode("ascii")
        except UnicodeDecodeError:
            command = ""
        if command not in self._commands:
            shown = line[:40] + (b"..." if len(line) > 40 else b"")
            raise RemoteProtocolError(f"unknown STOMP command {shown!r}")
        self._command = command
        self._headers = {}
        self._header_lines = 0
        self._head_size = size
        self._state = _HEADERS

    def _add_header(self, line: bytes) -> None:
        self._header_lines += 1
        if self._header_lines > self.limits.max_headers:
            raise FrameTooLarge("max_headers", self.limits.max_headers)
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise RemoteProtocolError(
                f"{self._command} header is not valid UTF-8: {line[:80]!r}"
            ) from error
        name, colon, value = text.partition(":")
        if not colon:
            raise RemoteProtocolError(f"{self._command} header line has no colon: {text[:80]!r}")
        unescape = self._unescape
        if unescape is not None and self._command not in _UNESCAPED_COMMANDS:
            name = unescape(name)
            value = unescape(value)
        # STOMP 1.2: if a header is repeated, only the first value is used.
        self._headers.setdefault(name, value)

    def _end_headers(self) -> None:
        declared = self._headers.get("content-length")
        if declared is None:
            self._body_length = None
        else:
            if not declared.isdigit() or not declared.isascii():
                raise RemoteProtocolError(
                    f"{self._command} has an invalid content-length {declared!r}"
                )
            try:
                # Leading zeros aside, more digits than int() will convert
                # (sys.get_int_max_str_digits()) is far over any max_body.
                length = int(declared.lstrip("0") or "0")
            except ValueError:
                raise FrameTooLarge(
                    "max_body", self.limits.max_body, f"content-length has {len(declared)} digits"
                ) from None
            if length > self.limits.max_body:
                raise FrameTooLarge("max_body", self.limits.max_body, f"content-length is {length}")
            self._body_length = length
        self._state = _BODY

    def _parse_body(self, buffer: bytes, offset: int) -> Frame | NeedData:
        length = self._body_length
        if length is None:
            end = buffer.find(b"\0", offset)
            if end < 0:
                if len(buffer) - offset > self.limits.max_body:
                    raise FrameTooLarge(
                        "max_body", self.limits.max_body, "no NUL within that many body bytes"
                    )
                return self._wait_for(_WANT_NUL)
            if end - offset > self.limits.max_body:
                raise FrameTooLarge("max_body", self.limits.max_body)
        else:
            end = offset + length
            if end >= len(buffer):
                return self._wait_for(length + 1)
            if buffer[end] != 0:
                raise RemoteProtocolError(
                    f"{self._command} body is not followed by NUL after its "
                    f"content-length of {length} bytes"
                )
        frame = Frame._received(self._command, self._headers, buffer[offset:end])
        self._offset = end + 1
        if end >= _RELEASE_AFTER:
            self._release_parsed()
        self._state = _COMMAND
        self._head_size = 0
        self._want = _WANT_LINE
        return frame


def parse_frames(
    data: bytes, version: str = "1.2", limits: FrameLimits | None = None
) -> list[Frame | Heartbeat]:
    """
    Parse every complete event in C{data}.

    @raise RemoteProtocolError: if C{data} is not valid STOMP.
    """
    decoder = FrameDecoder(version, limits)
    decoder.receive_data(data)
    events: list[Frame | Heartbeat] = []
    while True:
        event = decoder.next_event()
        if isinstance(event, NeedData):
            return events
        events.append(event)
