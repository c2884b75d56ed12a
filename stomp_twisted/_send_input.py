"""
Where C{stomp-send}'s messages come from: the MESSAGE arguments
(L{ArgumentMessages}), or standard input, read in a thread of its own
(L{InputReader}) and taken whole as one message (L{WholeInput}) or one
message per line (L{LineInput}).  Each is a L{Messages} source, read one
message at a time, only as the sender wants the next one.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from twisted.internet.defer import Deferred, succeed

from .errors import LineTooLong

__all__ = [
    "CHUNK_SIZE",
    "MAX_LINE",
    "ArgumentMessages",
    "InputReader",
    "LineInput",
    "Messages",
    "Reader",
    "WholeInput",
]

#: The longest line C{--lines} accepts, in bytes: a stream without line
#: endings must not be read into memory whole.
MAX_LINE = 16 * 1024 * 1024
#: How much standard input is read at a time.
CHUNK_SIZE = 64 * 1024


class Reader(Protocol):
    """
    A source of bytes: standard input, or a stand-in for tests.
    """

    def read(self) -> Deferred[bytes]:
        """
        @return: the next bytes available (at most a chunk); C{b""} at
            the end.
        """

    def close(self) -> None:
        """
        Read no more.
        """


class InputReader:
    """
    Reads a file descriptor (standard input) in a thread of its own, a
    chunk at a time and only when asked, so that the reactor never
    blocks, a producer faster than the broker is held back by the pipe,
    and the descriptor's blocking mode, which it shares with the shell
    and the other processes of a pipeline, is left alone.  (Regular
    files, pipes and terminals all work.)

    The thread is a daemon thread: one blocked on a terminal does not
    keep the process from exiting.
    """

    def __init__(
        self,
        reactor: Any,
        fd: int = 0,
        chunk_size: int = CHUNK_SIZE,
        name: str = "standard input",
    ) -> None:
        """
        @param reactor: to hand the chunks back to the reactor's thread.
        @param fd: the descriptor to read.
        @param chunk_size: the most bytes of one read.
        @param name: the reading thread's name.
        """
        self._reactor = reactor
        self._fd = fd
        self._chunk_size = chunk_size
        self._name = name
        self._requests: queue.SimpleQueue[Deferred[bytes] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def read(self) -> Deferred[bytes]:
        """
        @return: the next chunk; C{b""} at the end of the input.  It fails
            with the C{OSError} of the read.
        """
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
            self._thread.start()
        chunk: Deferred[bytes] = Deferred()
        self._requests.put(chunk)
        return chunk

    def close(self) -> None:
        """
        Stop the thread once it is done with the read under way.
        """
        self._requests.put(None)

    def _serve(self) -> None:
        while True:
            request = self._requests.get()
            if request is None:
                return
            try:
                data = os.read(self._fd, self._chunk_size)
            except OSError as error:
                self._reactor.callFromThread(request.errback, error)
            else:
                # A request cancelled meanwhile ignores the result.
                self._reactor.callFromThread(request.callback, data)


class Messages(Protocol):
    """
    The messages to send, one at a time.
    """

    def next(self) -> Deferred[bytes | None]:
        """
        @return: the next message's body, or C{None} after the last.
        """

    def close(self) -> None:
        """
        No more messages are wanted.
        """


class ArgumentMessages:
    """
    The MESSAGE arguments of the command line.
    """

    def __init__(self, messages: Sequence[bytes]) -> None:
        self._messages = list(messages)
        self._next = 0

    def next(self) -> Deferred[bytes | None]:
        if self._next >= len(self._messages):
            return succeed(None)
        self._next += 1
        return succeed(self._messages[self._next - 1])

    def close(self) -> None:
        self._messages = []


class WholeInput:
    """
    The whole input as one message (empty if the input is).
    """

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._done = False

    def next(self) -> Deferred[bytes | None]:
        if self._done:
            return succeed(None)
        self._done = True
        return Deferred.fromCoroutine(self._read_all())

    async def _read_all(self) -> bytes | None:
        chunks = []
        while chunk := await self._reader.read():
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self._reader.close()


class LineInput:
    """
    One message per line of the input, without its line ending (LF, or
    CRLF); a last line without one counts too.  The input is read only as
    lines are wanted, so that memory stays bounded whatever its size.
    """

    def __init__(self, reader: Reader, max_line: int = MAX_LINE) -> None:
        self._reader = reader
        self._max_line = max_line
        self._buffer = bytearray()
        # Where to look for the next line ending: the buffer before it has none.
        self._searched = 0
        self._ended = False
        #: The number of the last line returned, from 1.
        self.line = 0

    def next(self) -> Deferred[bytes | None]:
        line = self._take_line()
        if line is not None or self._ended:
            return succeed(line)
        return Deferred.fromCoroutine(self._read_line())

    async def _read_line(self) -> bytes | None:
        while True:
            chunk = await self._reader.read()
            if not chunk:
                self._ended = True
                return self._take_line()
            self._buffer += chunk
            line = self._take_line()
            if line is not None:
                return line

    def _take_line(self) -> bytes | None:
        end = self._buffer.find(b"\n", self._searched)
        if end < 0:
            if len(self._buffer) > self._max_line:
                raise LineTooLong(
                    f"line {self.line + 1} of standard input is longer than {self._max_line} bytes"
                )
            self._searched = len(self._buffer)
            if not self._ended or not self._buffer:
                return None
            end = len(self._buffer)  # the last line, without an ending
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        self._searched = 0
        self.line += 1
        return line.removesuffix(b"\r")

    def close(self) -> None:
        self._reader.close()
