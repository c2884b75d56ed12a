"""
The decoder under hostile input shapes: CRLF line ends and tiny reads, in
one process, no broker (issue 10, items 2 and 11).

    .venv/bin/python -m bench.decode_faults [--heartbeats 200000] [--frames 5000]
        [--sizes 2,64,1024,16384,65536] [--repeat 3] [--body-mib 8]

Time: the same events, written once with LF and once with CRLF line ends,
are fed to a L{FrameDecoder} in reads of each size (C{receive_data} per
read, then C{next_event} until C{NEED_DATA}):

  - heart-beat floods: C{--heartbeats} EOLs (C{"\\n"} or C{"\\r\\n"} each);
  - small frames: C{--frames} MESSAGE frames shaped as RabbitMQ sends them
    (seven headers, a 100-byte body, content-length, an EOL after each).

The CRLF input is longer (two bytes an EOL, not one), so at a given read
size it takes more reads.  Two ratios: CRLF/LF compares the cost of the
same events; "per byte" divides it by the ratio of the input lengths, and
so compares the cost of the same amount of input (for heart-beats, twice
as many LF ones).
Times are this process's CPU time (not wall-clock time, which other
processes disturb), the median over C{--repeat} runs, LF and CRLF
alternating.

Memory: the C{tracemalloc} peak while one MESSAGE with a C{--body-mib} MiB
body (with and without content-length) is fed in 2-byte reads and in 64 KiB
reads, the frame included; and while a header line that never ends is fed
in 2-byte reads until the decoder raises L{FrameTooLarge} at
C{max_header_block}.  The input itself is built before tracing starts.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator

from stomp_twisted.errors import FrameTooLarge
from stomp_twisted.frame import NEED_DATA, SERVER_COMMANDS, FrameDecoder, FrameLimits

MIB = 1024 * 1024
DEFAULT_SIZES = (2, 64, 1024, 16384, 65536)
QUEUE = "/queue/stomp-twisted-bench.decode-faults"


def heartbeats(count: int, eol: bytes) -> bytes:
    """
    C{count} heart-beats, each one C{eol}.
    """
    return eol * count


def small_frames(count: int, eol: bytes) -> bytes:
    """
    C{count} MESSAGE frames with 100-byte bodies as RabbitMQ sends them to a
    STOMP 1.2 subscriber, with C{eol} ending every line and following every
    frame.
    """
    body = bytes(range(100))
    frames = []
    for seq in range(count):
        lines = [
            "MESSAGE",
            "subscription:sub-1",
            f"destination:{QUEUE}",
            f"message-id:T_sub-1@@session-u-Kaw5rP7wHuT3_QM1J9Cw@@{seq + 1}",
            "redelivered:false",
            "x-expires:600000",
            "auto-delete:true",
            f"content-length:{len(body)}",
            "",
            "",
        ]
        frames.append(eol.join(line.encode() for line in lines) + body + b"\0" + eol)
    return b"".join(frames)


def reads(data: bytes, size: int) -> list[bytes]:
    """
    C{data} as reads of C{size} bytes (the last one may be shorter).
    """
    return [data[start : start + size] for start in range(0, len(data), size)]


def decode(chunks: list[bytes]) -> int:
    """
    Feed C{chunks} to a new decoder, draining it after each; return the
    number of events.
    """
    decoder = FrameDecoder("1.2", commands=SERVER_COMMANDS)
    events = 0
    for chunk in chunks:
        decoder.receive_data(chunk)
        while decoder.next_event() is not NEED_DATA:
            events += 1
    return events


def cpu_seconds(function: Callable[[], int], expected: int) -> float:
    gc.collect()
    started = time.process_time()
    result = function()
    seconds = time.process_time() - started
    if result != expected:
        raise AssertionError(f"decoded {result} events, expected {expected}")
    return seconds


def compare_eols(
    build: Callable[[int, bytes], bytes], count: int, events: int, size: int, repeat: int
) -> dict[str, float]:
    """
    The median CPU seconds to decode C{build(count, eol)} in reads of
    C{size} bytes, for LF and for CRLF, and the ratio of their lengths.
    """
    inputs = {"lf": reads(build(count, b"\n"), size), "crlf": reads(build(count, b"\r\n"), size)}
    lengths = {eol: float(sum(map(len, chunks))) for eol, chunks in inputs.items()}
    times: dict[str, list[float]] = {"lf": [], "crlf": []}
    for round_ in range(repeat):
        order = ["lf", "crlf"] if round_ % 2 == 0 else ["crlf", "lf"]
        for eol in order:
            chunks = inputs[eol]
            times[eol].append(cpu_seconds(lambda chunks=chunks: decode(chunks), events))  # type: ignore[misc]
    result = {eol: statistics.median(values) for eol, values in times.items()}
    result["length ratio"] = lengths["crlf"] / lengths["lf"]
    return result


def traced_peak(feed: Callable[[], object]) -> tuple[int, object]:
    """
    The peak of traced memory, in bytes, while C{feed} runs, and what it
    returned (kept alive until the peak is read).
    """
    gc.collect()
    tracemalloc.start()
    try:
        result = feed()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


def slices(data: bytes, size: int) -> Iterator[bytes]:
    # Made one at a time: a list of 2-byte reads would outweigh the body.
    for start in range(0, len(data), size):
        yield data[start : start + size]


def feed_one_frame(data: bytes, size: int) -> object:
    decoder = FrameDecoder("1.2", FrameLimits(max_body=len(data)))
    frames = []
    for chunk in slices(data, size):
        decoder.receive_data(chunk)
        while (event := decoder.next_event()) is not NEED_DATA:
            frames.append(event)
    if len(frames) != 1:
        raise AssertionError(f"decoded {len(frames)} events, expected 1")
    return frames


def feed_endless_line(limit: int, size: int) -> object:
    decoder = FrameDecoder("1.2", FrameLimits(max_header_block=limit))
    decoder.receive_data(b"MESSAGE\nx:")
    fed = 10
    chunk = b"y" * size
    while True:
        try:
            while decoder.next_event() is not NEED_DATA:
                pass
        except FrameTooLarge as error:
            if error.limit != "max_header_block":
                raise
            return fed
        decoder.receive_data(chunk)
        fed += size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--heartbeats", type=int, default=200_000)
    parser.add_argument("--frames", type=int, default=5_000)
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, DEFAULT_SIZES)),
        help="read sizes in bytes, comma-separated",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--body-mib", type=float, default=8.0)
    parser.add_argument("--no-memory", action="store_true", help="the time table only")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]

    print("CPU time to decode the same events with LF and with CRLF line ends (median)")
    print(
        f"{'workload':28} {'read B':>7} {'LF ms':>9} {'CRLF ms':>9} "
        f"{'LF us/ev':>9} {'CRLF us/ev':>10} {'CRLF/LF':>8} {'per byte':>8}"
    )
    workloads = (
        (f"{options.heartbeats:,} heart-beats", heartbeats, options.heartbeats, options.heartbeats),
        (f"{options.frames:,} MESSAGE frames", small_frames, options.frames, 2 * options.frames),
    )
    worst = worst_per_byte = 0.0
    for name, build, count, events in workloads:
        for size in sizes:
            median = compare_eols(build, count, events, size, options.repeat)
            ratio = median["crlf"] / median["lf"] if median["lf"] else float("inf")
            per_byte = ratio / median["length ratio"]
            worst = max(worst, ratio)
            worst_per_byte = max(worst_per_byte, per_byte)
            print(
                f"{name:28} {size:>7} {median['lf'] * 1e3:>9.1f} {median['crlf'] * 1e3:>9.1f} "
                f"{median['lf'] / events * 1e6:>9.3f} {median['crlf'] / events * 1e6:>10.3f} "
                f"{ratio:>8.2f} {per_byte:>8.2f}"
            )
    print(f"worst CRLF/LF ratio: {worst:.2f} for the same events, {worst_per_byte:.2f} per byte")
    if options.no_memory:
        return

    body_size = int(options.body_mib * MIB)
    body = bytes(body_size)  # NULs: only content-length can carry them
    text_body = b"x" * body_size
    messages = {
        "content-length": b"MESSAGE\ncontent-length:%d\n\n" % body_size + body + b"\0",
        "NUL-terminated": b"MESSAGE\n\n" + text_body + b"\0",
    }
    print()
    print(f"tracemalloc peak while one {options.body_mib:g} MiB body is decoded (frame included)")
    print(f"{'body':16} {'read B':>7} {'peak MiB':>9} {'peak/body':>10}")
    for name, data in messages.items():
        for size in (2, 64 * 1024):
            peak, _ = traced_peak(lambda data=data, size=size: feed_one_frame(data, size))  # type: ignore[misc]
            print(f"{name:16} {size:>7} {peak / MIB:>9.2f} {peak / body_size:>10.2f}")
    del body, text_body, messages

    limit = FrameLimits().max_header_block
    print()
    print(f"a header line that never ends, 2-byte reads, max_header_block = {limit:,}")
    peak, fed = traced_peak(lambda: feed_endless_line(limit, 2))
    print(f"FrameTooLarge after {fed:,} bytes; tracemalloc peak {peak / MIB:.2f} MiB")


if __name__ == "__main__":
    main()
