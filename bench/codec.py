"""
The codec micro-benchmark: frames parsed and serialized per second, in one
process, no broker.

    PYTHONPATH=. .venv/bin/python -m bench.codec [--frames 100000] [--repeat 5]

With the codec compiled (C{scripts/build_compiled}), the same from that
build: C{PYTHONPATH=build/compiled:. .venv/bin/python -P -m bench.codec}
(C{-P}: the tree's own pure package is then not first on C{sys.path}).

Parsing: a buffer of C{--frames} MESSAGE frames shaped as RabbitMQ sends
them (seven headers, a 100-byte body, content-length, an EOL after each
NUL) is fed in 64 KiB chunks, all the way to frame objects with decoded
headers; "parse ActiveMQ" does the same with frames shaped as ActiveMQ
sends them (ten headers, message ids with four escaped colons each):

  - stomp_twisted: L{FrameDecoder.receive_data} per chunk, then
    L{FrameDecoder.next_event} until C{NEED_DATA};
  - stomp.py: its own receive loop (C{BaseTransport.__read}, which splits
    the buffer into frames) and C{utils.parse_frame}, driven through its
    C{receive()} hook, bodies left as bytes (C{auto_decode=False});
  - stompman: C{FrameParser.parse_frames_from_chunk} (a byte-at-a-time
    parser: it is given a tenth of the frames).

Serializing: a SEND with three headers and a 100-byte body, from the
headers and body to bytes, as each library's send path does it:

  - stomp_twisted: C{serialize_frame(Frame("SEND", headers, body), "1.2")};
  - stomp.py: C{Protocol12._escape_headers}, C{utils.Frame},
    C{utils.convert_frame} and C{utils.pack}, on a copy of the headers
    with the content-length its C{send} adds;
  - stompman: C{dump_frame(SendFrame.build(...))}.

Rates are frames per second of this process's CPU time (not wall-clock
time, which other processes on a busy machine would disturb).  The
libraries alternate within each repetition; the report gives the median
and range over the repetitions.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from typing import Any

from stomp import utils
from stomp.exception import ConnectionClosedException
from stomp.protocol import Protocol12
from stomp.transport import BaseTransport
from stompman import FrameParser, MessageFrame, SendFrame, dump_frame

from bench.harness import emit, make_body, summarize
from stomp_twisted.frame import (
    COMPILED,
    HEARTBEAT,
    NEED_DATA,
    SERVER_COMMANDS,
    Frame,
    FrameDecoder,
    serialize_frame,
)

CHUNK = 64 * 1024
QUEUE = "/queue/stomp-twisted-bench.consume.0123456789ab"
SEND_HEADERS = {
    "destination": QUEUE,
    "content-type": "application/octet-stream",
    "x-trace-id": "4bf92f3577b34da6a3ce929d0e0e4736",
}


def rabbitmq_messages(count: int, size: int = 100) -> bytes:
    """
    C{count} MESSAGE frames as RabbitMQ 3.x sends them to a STOMP 1.2
    subscriber.
    """
    body = make_body(size)
    session = "session-u-Kaw5rP7wHuT3_QM1J9Cw"
    frames = []
    for seq in range(count):
        head = (
            "MESSAGE\n"
            "subscription:sub-1\n"
            f"destination:{QUEUE}\n"
            f"message-id:T_sub-1@@{session}@@{seq + 1}\n"
            "redelivered:false\n"
            "x-expires:600000\n"
            "auto-delete:true\n"
            f"content-length:{len(body)}\n"
            "\n"
        )
        frames.append(head.encode() + body + b"\0\n")
    return b"".join(frames)


def activemq_messages(count: int, size: int = 100) -> bytes:
    """
    C{count} MESSAGE frames as ActiveMQ 5.x sends them to a STOMP 1.2
    subscriber: ten headers, escaped colons in the message ids, no EOL
    after the NUL.
    """
    body = make_body(size)
    frames = []
    for seq in range(count):
        head = (
            "MESSAGE\n"
            f"content-length:{len(body)}\n"
            "expires:0\n"
            f"destination:{QUEUE}\n"
            "subscription:sub-1\n"
            "priority:4\n"
            f"message-id:ID\\cvm-45977-1795801009069-3\\c1012\\c-1\\c1\\c{seq + 1}\n"
            "persistent:false\n"
            "timestamp:1795801190966\n"
            "\n"
        )
        frames.append(head.encode() + body + b"\0")
    return b"".join(frames)


def chunked(data: bytes, size: int = CHUNK) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


# --- parsers ------------------------------------------------------------------


def parse_stomp_twisted(chunks: list[bytes]) -> int:
    decoder = FrameDecoder("1.2", commands=SERVER_COMMANDS)
    frames = 0
    for chunk in chunks:
        decoder.receive_data(chunk)
        while True:
            event = decoder.next_event()
            if event is NEED_DATA:
                break
            if event is not HEARTBEAT:
                frames += 1
    return frames


def parse_stomppy(chunks: list[bytes]) -> int:
    class Replay(BaseTransport):  # type: ignore[misc]
        # stomp.py's receive loop, reading from a list instead of a socket.
        def __init__(self) -> None:
            super().__init__(auto_decode=False)
            self.running = True
            self.frames = 0
            self.chunks = iter(chunks)

        def receive(self) -> bytes:
            return next(self.chunks, b"")

        def process_frame(self, f: Any, frame_str: bytes) -> None:
            if f.cmd == "MESSAGE":
                self.frames += 1

    replay = Replay()
    read_frames = replay._BaseTransport__read_frames
    try:
        while True:
            read_frames()
    except ConnectionClosedException:
        pass
    return replay.frames


def parse_stompman(chunks: list[bytes]) -> int:
    parser = FrameParser()
    frames = 0
    for chunk in chunks:
        for frame in parser.parse_frames_from_chunk(chunk):
            if isinstance(frame, MessageFrame):
                frames += 1
    return frames


# --- serializers ----------------------------------------------------------------


def serialize_stomp_twisted(count: int, body: bytes) -> int:
    headers = SEND_HEADERS
    total = 0
    for _ in range(count):
        total += len(serialize_frame(Frame("SEND", headers, body), "1.2"))
    return total


def serialize_stomppy(count: int, body: bytes) -> int:
    escape = Protocol12._escape_headers
    total = 0
    for _ in range(count):
        headers = dict(SEND_HEADERS)
        headers["content-length"] = len(body)  # as Protocol12.send adds it
        escape(None, headers)
        total += len(utils.pack(utils.convert_frame(utils.Frame("SEND", headers, body))))
    return total


def serialize_stompman(count: int, body: bytes) -> int:
    headers = {k: v for k, v in SEND_HEADERS.items() if k != "destination"}
    total = 0
    for _ in range(count):
        frame = SendFrame.build(
            body=body,
            destination=QUEUE,
            transaction=None,
            content_type=None,
            add_content_length=True,
            headers=headers,
        )
        total += len(dump_frame(frame))
    return total


# --- the benchmark ------------------------------------------------------------------


def timed(function: Callable[[], int]) -> tuple[float, int]:
    # CPU time, not wall-clock: other processes on a busy machine then
    # disturb the figures much less.
    gc.collect()
    started = time.process_time()
    result = function()
    return time.process_time() - started, result


def run(frames: int = 100_000, repeat: int = 5, stompman: bool = True) -> dict[str, Any]:
    """
    Run the benchmark; return frames per second by library and operation.
    """
    chunks = chunked(rabbitmq_messages(frames))
    small = chunked(rabbitmq_messages(max(1, frames // 10)))
    activemq = chunked(activemq_messages(frames))
    body = make_body(100)
    parsers: dict[str, tuple[Callable[[list[bytes]], int], list[bytes], int]] = {
        "stomp_twisted": (parse_stomp_twisted, chunks, frames),
        "stomp.py": (parse_stomppy, chunks, frames),
    }
    activemq_parsers = {
        "stomp_twisted": (parse_stomp_twisted, activemq, frames),
        "stomp.py": (parse_stomppy, activemq, frames),
    }
    serializers: dict[str, tuple[Callable[[int, bytes], int], int]] = {
        "stomp_twisted": (serialize_stomp_twisted, frames),
        "stomp.py": (serialize_stomppy, frames),
    }
    if stompman:
        parsers["stompman"] = (parse_stompman, small, max(1, frames // 10))
        serializers["stompman"] = (serialize_stompman, frames)
    rates: dict[str, dict[str, list[float]]] = {"parse": {}, "parse ActiveMQ": {}, "serialize": {}}
    for round_ in range(repeat):
        names = list(parsers)
        # Alternate who goes first, so that no library always runs warm.
        names = names[round_ % len(names) :] + names[: round_ % len(names)]
        for operation, by_name in (("parse", parsers), ("parse ActiveMQ", activemq_parsers)):
            for name in names:
                if name not in by_name:
                    continue
                parse, feed, expected = by_name[name]
                seconds, parsed = timed(lambda parse=parse, feed=feed: parse(feed))  # type: ignore[misc]
                if parsed != expected:
                    raise AssertionError(f"{name} parsed {parsed} frames, expected {expected}")
                rates[operation].setdefault(name, []).append(expected / seconds)
        for name in names:
            serialize, count = serializers[name]
            seconds, _ = timed(lambda s=serialize, n=count: s(n, body))  # type: ignore[misc]
            rates["serialize"].setdefault(name, []).append(count / seconds)
    return {
        "frames": frames,
        "repeat": repeat,
        # (The pure decoder, or the one compiled by mypyc: bench.run checks.)
        "compiled": COMPILED,
        "rates": rates,
        "summary": {
            operation: {name: summarize(values) for name, values in by_name.items()}
            for operation, by_name in rates.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-stompman", action="store_true")
    parser.add_argument("--json", action="store_true", help="report for bench.run")
    options = parser.parse_args()
    result = run(options.frames, options.repeat, not options.no_stompman)
    if options.json:
        emit(result)
        return
    for operation, by_name in result["summary"].items():
        base = by_name["stomp.py"]["median"]
        for name, stats in by_name.items():
            print(
                f"{operation:9} {name:13} {stats['median']:>10,.0f} frames/s "
                f"({stats['min']:,.0f}-{stats['max']:,.0f})  x{stats['median'] / base:.2f}"
            )
    print(json.dumps({"frames": options.frames, "repeat": options.repeat}))


if __name__ == "__main__":
    main()
