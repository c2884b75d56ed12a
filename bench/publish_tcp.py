"""
The client's cost per message published over a real TCP connection: the
loop of C{bench/publish_path.py} (C{await client.send(body, queue,
headers, receipt=False)}, 100-byte bodies, then C{disconnect()}), but on
Twisted's TCP transport to a loopback peer, so that the socket writes of
L{stomp_twisted._direct_send}, Twisted's buffering and the writer's flow
control (the transport pausing it when its buffer fills) are counted too.

The peer is a child process that answers C{CONNECT} and C{DISCONNECT}
and reads and drops everything else: no broker's work or scheduling in
the figure.  It prints the median over the repetitions of this process's
CPU time (user and system) per message, from the first send to
C{disconnect()}'s receipt; under C{valgrind --tool=callgrind} the
instruction count of this process is the steadier figure.

To compare two versions of the package, run this file with each on the
path, interleaved, e.g.::

    for i in 1 2 3; do
        PYTHONPATH=/tmp/before .venv/bin/python bench/publish_tcp.py
        PYTHONPATH=. .venv/bin/python bench/publish_tcp.py
    done
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from typing import Any

from twisted.internet import task
from twisted.internet.defer import Deferred, ensureDeferred

import stomp_twisted
from stomp_twisted import StompClient, connect

HOST = "127.0.0.1"

# The peer: one connection at a time, CONNECTED for CONNECT, RECEIPT for
# DISCONNECT's receipt header, the rest read and dropped.
_PEER = r"""
import re, socket
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen()
print(server.getsockname()[1], flush=True)
disconnect = re.compile(rb"\0\n*DISCONNECT\n(?:[^\0]*\n)?receipt:([^\n]*)\n[^\0]*\0")
while True:
    conn, _ = server.accept()
    head = b""
    while b"\0" not in head:
        head += conn.recv(4096)
    conn.sendall(b"CONNECTED\nversion:1.2\n\n\0")
    tail = b""
    while True:
        data = conn.recv(1 << 18)
        if not data:
            break
        tail = (tail + data)[-512:]
        found = disconnect.search(tail)
        if found:
            conn.sendall(b"RECEIPT\nreceipt-id:" + found.group(1) + b"\n\n\0")
            tail = b""
    conn.close()
"""


async def _publish(reactor: Any, port: int, count: int, headers: dict[str, str]) -> float:
    client: StompClient = connect(HOST, port, reactor=reactor, reconnect=None)
    await client.when_connected()
    body = b"x" * 100
    queue = "/queue/bench"
    started = sum(os.times()[:2])
    # The workload's loop, word for word.
    for _ in range(count):
        await client.send(body, queue, headers, receipt=False)
    await client.disconnect()
    elapsed = sum(os.times()[:2]) - started
    assert client.stats.sent == count
    return elapsed / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--headers",
        choices=["rabbitmq", "none"],
        default="rabbitmq",
        help="the extra SEND headers of the broker benchmark's queues",
    )
    args = parser.parse_args()
    headers = {"auto-delete": "true", "x-expires": "600000"} if args.headers == "rabbitmq" else {}
    peer = subprocess.Popen(
        [sys.executable, "-c", _PEER], stdout=subprocess.PIPE, env={"PATH": os.environ["PATH"]}
    )
    try:
        assert peer.stdout is not None
        port = int(peer.stdout.readline())
        runs: list[float] = []

        def main(reactor: Any) -> Deferred[None]:
            async def all_runs() -> None:
                for _ in range(args.repeat):
                    runs.append(await _publish(reactor, port, args.messages, headers))

            return ensureDeferred(all_runs())

        task.react(main)
    except SystemExit as exit:
        if exit.code:
            raise
    finally:
        peer.kill()
        peer.wait()
    print(
        f"{stomp_twisted.__file__} (publish over TCP, {args.headers} headers): "
        f"{statistics.median(runs):.2f} us CPU per message"
    )


if __name__ == "__main__":
    main()
