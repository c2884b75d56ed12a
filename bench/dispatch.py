"""
The client's own cost per received message, in process: 100-byte MESSAGE
frames fed to a connected L{StompClient} in 64 KiB reads over an in-memory
transport, with C{ack="auto"} (so each message is also acknowledged: the
broker benchmark's C{consume-ack}), or with C{--ack none} (no ACK: its
C{consume}).  No broker and no socket: what is left is the codec, dispatch, settlement and
bookkeeping (the counters of L{stomp_twisted.stats} included).

To compare two versions of the package, run this file with each on the
path, interleaved, e.g.::

    git worktree add /tmp/before <commit>
    for i in 1 2 3; do
        PYTHONPATH=/tmp/before .venv/bin/python bench/dispatch.py
        PYTHONPATH=. .venv/bin/python bench/dispatch.py
    done

It prints the package's location and the median of its repetitions, in
microseconds of CPU per message.
"""

from __future__ import annotations

import argparse
import statistics
import time

# A sibling module, not bench.in_process: these scripts run as files, the
# package under test taken from whichever tree PYTHONPATH names.
from in_process import connected_client

import stomp_twisted
from stomp_twisted._subscriptions import AckMode
from stomp_twisted.frame import Frame, serialize_frame


def _frames(count: int) -> bytes:
    body = b"x" * 100
    return b"".join(
        serialize_frame(
            Frame(
                "MESSAGE",
                {
                    "subscription": "sub-1",
                    "destination": "/queue/bench",
                    "message-id": f"T_sub-1@@session-abc@@1@@{n}",
                    "ack": f"T_sub-1@@session-abc@@1@@{n}",
                    "redelivered": "false",
                    "content-length": "100",
                },
                body,
            ),
            "1.2",
        )
        + b"\n"
        for n in range(count)
    )


def _run(data: bytes, count: int, ack: AckMode) -> float:
    client, protocol = connected_client(max_unacked=count + 1)
    protocol.read_pause = 0
    client.subscribe("/queue/bench", lambda client, body, headers: None, ack=ack, receipt=False)
    protocol.transport.clear()  # type: ignore[attr-defined]
    step = 64 * 1024
    started = time.process_time()
    for offset in range(0, len(data), step):
        protocol.dataReceived(data[offset : offset + step])
    return (time.process_time() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--ack",
        choices=["auto", "none"],
        default="auto",
        help='the subscription\'s ack policy: "auto" (an ACK per message, the default) '
        'or "none" (broker-side auto)',
    )
    args = parser.parse_args()
    data = _frames(args.messages)
    ack: AckMode = None if args.ack == "none" else "auto"
    runs = [_run(data, args.messages, ack) for _ in range(args.repeat)]
    print(
        f"{stomp_twisted.__file__} (ack {args.ack}): "
        f"{statistics.median(runs):.2f} us CPU per message"
    )


if __name__ == "__main__":
    main()
