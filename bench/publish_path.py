"""
The client's own cost per message sent, in process: C{await
client.send(body, queue, headers, receipt=False)} in a loop, as the broker
benchmark's C{publish} workload does (C{bench/workloads/twisted_client.py}),
with 100-byte bodies, on a connected L{StompClient} over an in-memory
transport.  No broker and no socket: what is left is the argument checks,
the send path, serialization and the write to the transport (the counters
of L{stomp_twisted.stats} included).

To compare two versions of the package, run this file with each on the
path, interleaved, e.g.::

    for i in 1 2 3; do
        PYTHONPATH=/tmp/before .venv/bin/python bench/publish_path.py
        PYTHONPATH=. .venv/bin/python bench/publish_path.py
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
from twisted.internet.defer import ensureDeferred

import stomp_twisted
from stomp_twisted.client import StompClient


async def _publish(client: StompClient, count: int, headers: dict[str, str]) -> None:
    # The workload's loop, word for word.
    body = b"x" * 100
    queue = "/queue/bench"
    for _ in range(count):
        await client.send(body, queue, headers, receipt=False)


def _run(count: int, headers: dict[str, str]) -> float:
    client, protocol = connected_client()
    protocol.transport.clear()
    started = time.process_time()
    done = ensureDeferred(_publish(client, count, headers))
    elapsed = time.process_time() - started
    assert done.called and client.stats.sent == count
    return elapsed / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--headers",
        choices=["rabbitmq", "activemq", "none"],
        default="rabbitmq",
        help="the extra SEND headers of the broker benchmark's queues",
    )
    args = parser.parse_args()
    # As bench/harness.py's brokers' queue_headers.
    headers = {
        "rabbitmq": {"auto-delete": "true", "x-expires": "600000"},
        "activemq": {},
        "none": {},
    }[args.headers]
    runs = [_run(args.messages, headers) for _ in range(args.repeat)]
    print(
        f"{stomp_twisted.__file__} (publish, {args.headers} headers): "
        f"{statistics.median(runs):.2f} us CPU per message"
    )


if __name__ == "__main__":
    main()
