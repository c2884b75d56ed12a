"""
The frame decoder: L{FrameDecoder}, received bytes to frames and
heart-beats, whatever the chunking, in the manner of h11:
C{receive_data(bytes)}, then C{next_event()} until it returns
L{NEED_DATA}.

The decoder is a small state machine with a line mode (the command and
header lines) and a raw mode (the body, C{content-length} bytes or up to the
first NUL), which is what L{stomp_twisted.protocol.StompProtocol} reports as
its L{LineReceiver<twisted.protocols.basic.LineReceiver>} mode.

A frame's head is read one of two ways, which parse header lines with
the same code (C{_parse_header_lines}) and read the body in the same
state:

  - whole, when it is all in the buffer (the usual case): decoded at once
    and split into lines (C{FrameDecoder._parse_whole_head});
  - line by line, as its lines arrive (C{FrameDecoder._parse_buffer}), for
    a head still incomplete and for whatever the whole-head path declines
    (a head past a limit, not UTF-8, or with an unknown command), so that
    each error is reported at the line at fault.

L{stomp_twisted.frame} exports it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Final

from ._escape import UNESCAPED_COMMANDS, UNESCAPERS
from ._frame_types import (
    CLIENT_COMMANDS,
    HEARTBEAT,
    NEED_DATA,
    SERVER_COMMANDS,
    Frame,
    FrameLimits,
    Heartbeat,
    NeedData,
    check_version,
)
from .errors import BadArgument, FrameTooLarge, RemoteProtocolError

__all__ = ["FrameDecoder"]

_new_frame: Final = object.__new__

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
# a large body in large reads is copied once, when the frame is complete
# (FrameDecoder._take_body).
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
    once: a C{content-length} body straight into C{frame.body}, its one
    copy, other bytes into the buffer they are parsed from.  So a frame in
    chunks of any size costs time linear in its size, and memory within
    twice its size plus a constant.  Every search is
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
        @raise TypeError: for arguments of the wrong type (L{BadArgument}).
        """
        self._version = check_version(version)
        self._unescape = UNESCAPERS[self._version]
        self.limits = _checked_limits(limits)
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
        self._unescape = UNESCAPERS[self._version]

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

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """
        Add received bytes to the buffer (a C{bytearray} or C{memoryview}
        is copied first); anything else is a L{BadArgument}.
        """
        if type(data) is not bytes:
            data = _as_bytes(data)
        if not data:
            return
        if (
            not self._pending_size
            and self._offset >= len(self._buffer)
            and self._state == _COMMAND
            and b"\n" in data
        ):
            # All parsed, nothing pending, a line in sight (a read at light
            # load): the read becomes the buffer, as a merge would make it.
            self._buffer, self._offset, self._lf_blank = data, 0, -1
            return
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
                    if not self._pending_size:
                        return NEED_DATA  # (nothing pending: the usual end)
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
                    _check_waiting(self)
                    return NEED_DATA
                length = self._body_length
                if self._state == _BODY and length is not None and self.buffered > length:
                    return self._take_body(length)
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

    def _take_body(self, length: int) -> Frame:
        # A body of known length, which the pending reads complete: joined
        # straight from the buffer's rest and the reads, its one copy (not
        # merged with the rest of its last read, then sliced: two).
        block = self._block
        reads: list[bytes | bytearray] = [*self._pending, block]
        body, index, end = _join_body(self._buffer, self._offset, reads, length, self._command)
        last = reads[index]
        if last is block:
            # The block is refilled in place: what follows the NUL in it is
            # copied out (less than a block).
            self._buffer = bytes(memoryview(block)[end + 1 :])
            self._offset = 0
            block.clear()
        else:
            # The read that holds the NUL becomes the buffer, uncopied.
            self._buffer = bytes(last)
            self._offset = end + 1
            if self._offset >= _RELEASE_AFTER:
                self._release_parsed()
        rest = self._pending = self._pending[index + 1 :]
        self._pending_size = sum(map(len, rest)) + len(block)
        self._lf_blank = -1
        self._pending_ready = any(b"\n" in chunk for chunk in rest) or b"\n" in block
        return self._frame_done(body)

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
        # buffer and within the limits: decode it at once, split it into
        # lines, and parse them all in one call of _parse_header_lines (the
        # line-by-line path calls it once per line).  It returns None,
        # having consumed nothing, for a head still incomplete, past a
        # limit, not UTF-8 or with an unknown command: the line-by-line
        # path then reads it, and reports each error at the line at fault.
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
                    text = buffer[offset:found].decode()
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
                text = buffer[offset:end].decode()
            except UnicodeDecodeError:
                return None
            if "\r" in text:
                # CRLF line ends: the one CR before each LF belongs to the
                # EOL, as in the line-by-line path; any other CR is kept.
                text = (text + "\n").replace("\r\n", "\n")[:-1]
        else:
            start = end + 2
        lines = text.split("\n")
        command = lines[0]
        header_lines = len(lines) - 1
        if command not in self._commands or header_lines > limits.max_headers:
            return None
        del lines[0]
        # (The backslash first: most heads hold none, and the search costs
        # less than the set lookup.)
        unescape = None
        if "\\" in text and command not in UNESCAPED_COMMANDS:
            unescape = self._unescape
        headers = _parse_header_lines(command, lines, None, unescape)
        # The usual body: a plain content-length, all of it here.  (What
        # _end_headers and _parse_body do, inlined for this case alone.)
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
        # (Computed here only: the fast return above has no use for it.)
        self._head_size = start - offset
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
            text = line.decode()
        except UnicodeDecodeError as error:
            raise RemoteProtocolError(
                f"{self._command} header is not valid UTF-8: {line[:80]!r}"
            ) from error
        command = self._command
        unescape = self._unescape if command not in UNESCAPED_COMMANDS else None
        self._headers = _parse_header_lines(command, [text], self._headers, unescape)

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
                raise _missing_nul(self._command, length)
        body = buffer[offset:end]
        self._offset = end + 1
        if end >= _RELEASE_AFTER:
            self._release_parsed()
        return self._frame_done(body)

    def _frame_done(self, body: bytes) -> Frame:
        # The frame whose head was parsed last is whole: back to waiting
        # for a command line.
        self._state = _COMMAND
        self._head_size = 0
        self._want = _WANT_LINE
        return Frame._received(self._command, self._headers, body)


def _as_bytes(data: object) -> bytes:
    # Received data that is not bytes: copied if it is a buffer the decoder
    # takes, refused otherwise (bytes(5) would be five NULs).  A function of
    # its own, taking any object: compiled by mypyc, a check within
    # receive_data would meet mypyc's TypeError for the declared type first.
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise BadArgument(f"received data must be bytes, not {type(data).__name__}")


def _checked_limits(limits: object) -> FrameLimits:
    # The type alone, worded as arguments.check_frame_limits words it (the
    # client's check, which also checks the bounds; the codec cannot import
    # it: arguments imports Twisted and this package's frame module).
    if limits is None:
        return FrameLimits()
    if not isinstance(limits, FrameLimits):
        raise BadArgument(f"limits must be a FrameLimits or None, not {type(limits).__name__}")
    return limits


def _check_waiting(decoder: FrameDecoder) -> None:
    """
    Raise L{FrameTooLarge} if what C{decoder} holds unparsed, waiting
    for the rest of a line or a body, already passes a limit.
    """
    waiting = decoder.buffered
    limits = decoder.limits
    if decoder._state == _BODY:
        if decoder._body_length is None and waiting > limits.max_body:
            raise FrameTooLarge("max_body", limits.max_body, "no NUL within that many body bytes")
    elif decoder._head_size + waiting > limits.max_header_block:
        raise FrameTooLarge("max_header_block", limits.max_header_block, "no end of line in sight")


def _join_body(
    buffer: bytes, offset: int, reads: list[bytes | bytearray], length: int, command: str
) -> tuple[bytes, int, int]:
    """
    Join a body of C{length} bytes that begins at C{buffer[offset:]} and
    ends in C{reads}: its one copy.

    @param command: the frame's command, for the message.
    @return: the body, the index in C{reads} of the read that holds the
        NUL after it, and where that NUL is in that read.
    @raise RemoteProtocolError: if the byte after the body is not NUL.
    """
    pieces: list[bytes | bytearray | memoryview] = [memoryview(buffer)[offset:]]
    # How many of the body's bytes are still to come from the reads.
    needed = length - (len(buffer) - offset)
    index = 0
    while needed >= len(reads[index]):
        pieces.append(reads[index])
        needed -= len(reads[index])
        index += 1
    if reads[index][needed] != 0:
        raise _missing_nul(command, length)
    # Through views: a read is not sliced (copied) first, and the views
    # are released before the block of short reads is refilled.
    with memoryview(reads[index]) as last:
        pieces.append(last[:needed])
        body = b"".join(pieces)
        pieces.clear()
    return body, index, needed


def _missing_nul(command: str, length: int) -> RemoteProtocolError:
    # A content-length body's end, wherever it is found.
    return RemoteProtocolError(
        f"{command} body is not followed by NUL after its content-length of {length} bytes"
    )


def _parse_header_lines(
    command: str,
    lines: list[str],
    headers: dict[str, str] | None,
    unescape: Callable[[str], str] | None,
) -> dict[str, str]:
    """
    Add header lines to C{headers}: the one place where the decoder turns
    header lines into headers, a whole head's at once or one line at a
    time.

    @param command: the frame's command, for the message.
    @param lines: the lines, decoded, their EOLs removed.
    @param headers: the headers of the frame's earlier lines, if any.
    @param unescape: the version's unescaping (L{stomp_twisted._escape}),
        for the names and values of lines that hold a backslash; C{None}
        where none applies.
    @return: C{headers} with the lines' added, the first occurrence of a
        name winning (STOMP 1.2: if a header is repeated, only the first
        value is used); a new dict if C{headers} was C{None} or empty.
    @raise RemoteProtocolError: for a line without a colon, and
        L{UndefinedEscape<stomp_twisted.errors.UndefinedEscape>} for an
        undefined escape sequence, at the first line that holds one.
    """
    if headers is None:
        headers = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise RemoteProtocolError(f"{command} header line has no colon: {line[:80]!r}")
        if unescape is not None and "\\" in line:
            # (Brokers escape values, seldom names: a call saved per line.)
            if "\\" in name:
                name = unescape(name)
            value = unescape(value)
        headers.setdefault(name, value)
    return headers
