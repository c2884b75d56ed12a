"""
How many times a large body is copied between the socket and the
callback, and between the caller and the socket: in process, no broker,
no socket.

    PYTHONPATH=. .venv/bin/python -m bench.copies [--size 1048576] [--repeat 5]

Copies are counted with C{tracemalloc}: the bytes allocated while a frame
goes through, over the body's size.  A 1 MiB body copied once allocates
1.0x its size (plus the head and the bookkeeping, a few hundred bytes).
Each call (a read, C{next_event}, a send, a write to the socket) is one
step; what a step allocates is its peak over its start, and the steps
add up.  The reads themselves are made before the count starts, as the
socket makes them: a copy counted here is one the library makes.

  - receive: a MESSAGE through L{StompProtocol.dataReceived} to the
    handler, in 64 KiB reads (what Twisted's TCP transport reads at most)
    and in one read of the whole frame;
  - send: a SEND through L{StompProtocol.send_frame}, then written out by
    a Twisted L{FileDescriptor} whose socket takes everything (its
    C{doWrite}, the join included), with the transport idle (nothing
    waiting) and busy (earlier bytes still waiting: its join then copies
    all it holds);
  - send, both paths: the same through L{ConnectionWriter}, with the
    frame joined (L{serialize_frame}) and in pieces (head, body, NUL),
    whatever C{send_frame} does.

Then the CPU per frame (C{time.process_time}, median of C{--repeat}) of
decoding (64 KiB reads) and of sending by each path, for bodies from
100 bytes to C{--size}: where the pieces start to pay is the crossover
(L{BODY_APART_FROM<stomp_twisted._encoder.BODY_APART_FROM>}).
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

from twisted.internet.abstract import FileDescriptor
from twisted.python.failure import Failure

import stomp_twisted
from stomp_twisted import _encoder
from stomp_twisted._writer import ConnectionWriter
from stomp_twisted.errors import StompError
from stomp_twisted.frame import NEED_DATA, SERVER_COMMANDS, Frame, FrameDecoder, serialize_frame
from stomp_twisted.protocol import StompProtocol

READ = 64 * 1024
SEND_HEADERS = {"destination": "/queue/bench", "content-type": "application/octet-stream"}


class _NoReactor:
    # The descriptor is driven by hand (drain()), not by a reactor.
    def addWriter(self, writer: object) -> None: ...
    def removeWriter(self, writer: object) -> None: ...
    def addReader(self, reader: object) -> None: ...
    def removeReader(self, reader: object) -> None: ...


class SocketlessTransport(FileDescriptor):
    """
    Twisted's buffering (C{write}, C{writeSequence}, C{doWrite}) over a
    socket that takes what it is offered, up to C{accept} bytes a call,
    without copying it.
    """

    def __init__(self) -> None:
        super().__init__(reactor=_NoReactor())
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

    def make_busy(self) -> None:
        # Bytes still waiting when the next frame is written, as while
        # publishing faster than the network: doWrite joins them with it.
        self.write(b"\0" * READ)
        self.accept = 1000
        self.doWrite()
        self.accept = FileDescriptor.SEND_LIMIT

    def getPeer(self) -> Any:
        return None

    def getHost(self) -> Any:
        return None


class _KeepLast:
    # The layer above: keeps the last frame's body, as a callback would.
    body = b""

    def connection_made(self, protocol: StompProtocol) -> None: ...
    def stomp_connected(self, protocol: StompProtocol, frame: Frame) -> None: ...
    def heartbeat_received(self, protocol: StompProtocol) -> None: ...

    def frame_received(self, protocol: StompProtocol, frame: Frame) -> None:
        self.body = frame.body

    def connection_lost(
        self, protocol: StompProtocol, reason: Failure, error: StompError | None
    ) -> None: ...


def _connected() -> tuple[StompProtocol, SocketlessTransport, _KeepLast]:
    handler = _KeepLast()
    protocol = StompProtocol(handler, Frame("CONNECT", {"accept-version": "1.2"}))
    transport = SocketlessTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(serialize_frame(Frame("CONNECTED", {"version": "1.2"}), "1.0"))
    transport.drain()
    protocol.read_pause = 0
    return protocol, transport, handler


def message(size: int, seq: int = 1) -> bytes:
    """
    A MESSAGE frame as RabbitMQ sends it, with a C{size}-byte body.
    """
    headers = {
        "subscription": "sub-1",
        "destination": "/queue/bench",
        "message-id": f"T_sub-1@@session-abc@@{seq}",
        "redelivered": "false",
    }
    return serialize_frame(Frame("MESSAGE", headers, b"x" * size), "1.2") + b"\n"


def reads(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def allocated(steps: Iterator[Callable[[], object]]) -> int:
    """
    Bytes allocated by C{steps}: each one's C{tracemalloc} peak over its
    start, added up.
    """
    gc.collect()
    tracemalloc.start()
    total = 0
    try:
        for step in steps:
            before, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            step()
            _, peak = tracemalloc.get_traced_memory()
            total += peak - before
    finally:
        tracemalloc.stop()
    return total


def receive_copies(size: int, read_size: int) -> float:
    """
    Body copies made receiving one frame, in reads of C{read_size}.
    """
    protocol, _, handler = _connected()
    chunks = reads(message(size), read_size)
    total = allocated(iter([lambda chunk=chunk: protocol.dataReceived(chunk) for chunk in chunks]))
    assert len(handler.body) == size
    return total / size


def send_copies(size: int, busy: bool, path: str) -> float:
    """
    Body copies made sending one frame and writing it to the socket, by
    C{path}: C{"send_frame"} (the protocol's), C{"joined"} or C{"pieces"}.
    """
    protocol, transport, _ = _connected()
    frame = Frame("SEND", SEND_HEADERS, b"x" * size)
    writer = ConnectionWriter(protocol)
    if busy:
        transport.make_busy()
    sent = transport.sent

    def send() -> None:
        if path == "send_frame":
            protocol.send_frame(frame)
        elif path == "joined":
            writer.write(serialize_frame(frame, "1.2"))
        else:
            writer.write(_pieces(frame))

    total = allocated(iter([send, transport.drain]))
    assert transport.sent - sent > size
    return total / size


# The old package has no pieces: joined then.
_encode_head = getattr(_encoder, "_encode_head", None)


def _pieces(frame: Frame) -> Any:
    # The frame as head, body and NUL, whatever its size.
    if _encode_head is None:
        return serialize_frame(frame, "1.2")
    return (_encode_head(frame.command, frame.headers, len(frame.body), "1.2"), frame.body, b"\0")


# --- CPU ----------------------------------------------------------------------------


def decode_cpu(size: int, repeat: int) -> tuple[float, float]:
    """
    Microseconds of CPU and page faults per frame decoding C{size}-byte
    bodies in 64 KiB reads (at least 4 MiB of frames).
    """
    count = max(1, (4 << 20) // (size + 150))
    data = b"".join(message(size, seq) for seq in range(count))
    chunks = reads(data, READ)
    runs = []
    faults = []
    for _ in range(repeat):
        decoder = FrameDecoder("1.2", commands=SERVER_COMMANDS)
        gc.collect()
        faulted = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        started = time.process_time()
        for chunk in chunks:
            # A fresh copy of each read, as the socket makes it: replayed
            # reads made long before are cold in the cache, which favours
            # whatever copies them again before parsing.
            decoder.receive_data(bytes(memoryview(chunk)))
            while decoder.next_event() is not NEED_DATA:
                pass
        runs.append((time.process_time() - started) / count * 1e6)
        faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faulted) / count)
    return statistics.median(runs), statistics.median(faults)


def send_cpu(size: int, path: str, repeat: int, every: int) -> tuple[float, float]:
    """
    Microseconds of CPU and page faults per frame sending C{size}-byte
    bodies by C{path} (C{"joined"} or C{"pieces"}) through a
    L{ConnectionWriter} (at least 4 MiB), the transport written out after
    every C{every} frames: 1, idle; 16, as when publishing faster than the
    network.
    """
    count = max(16, (4 << 20) // (size + 100))
    protocol, transport, _ = _connected()
    writer = ConnectionWriter(protocol)
    frame = Frame("SEND", SEND_HEADERS, b"x" * size)
    runs = []
    faults = []
    for _ in range(repeat):
        gc.collect()
        faulted = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        started = time.process_time()
        for n in range(count):
            if path == "joined":
                writer.write(serialize_frame(frame, "1.2"))
            else:
                writer.write(_pieces(frame))
            if n % every == every - 1:
                transport.drain()
        transport.drain()
        runs.append((time.process_time() - started) / count * 1e6)
        faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faulted) / count)
    return statistics.median(runs), statistics.median(faults)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1 << 20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-cpu", action="store_true")
    options = parser.parse_args()
    size = options.size
    print(f"{stomp_twisted.__file__}: body copies per {size}-byte message")
    print(f"  receive, 64 KiB reads        {receive_copies(size, READ):.2f}")
    print(f"  receive, one read            {receive_copies(size, size + 1024):.2f}")
    for busy in (False, True):
        state = "busy" if busy else "idle"
        for path in ("send_frame", "joined", "pieces"):
            print(f"  send, {state}, {path:10}       {send_copies(size, busy, path):.2f}")
    if options.no_cpu:
        return
    print("CPU per frame, us: decode (64 KiB reads); send joined / in pieces, idle and busy")
    print("(page faults per frame)")
    sizes = sorted({100, 4 * 1024, 16 * 1024, 32 * 1024, 64 * 1024, 256 * 1024, size})
    for body in sizes:
        decode, decode_faults = decode_cpu(body, options.repeat)
        idle = [send_cpu(body, path, options.repeat, 1)[0] for path in ("joined", "pieces")]
        busy = [send_cpu(body, path, options.repeat, 16) for path in ("joined", "pieces")]
        print(
            f"  {body:>8} B  decode {decode:8.2f} ({decode_faults:.0f})"
            f"  idle {idle[0]:7.2f} / {idle[1]:7.2f}"
            f"  busy {busy[0][0]:8.2f} / {busy[1][0]:7.2f} ({busy[0][1]:.0f} / {busy[1][1]:.0f})"
        )


if __name__ == "__main__":
    main()
