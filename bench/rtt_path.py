"""
The client's own cost per round trip at light load, in process: what the
C{rtt-low} workload makes stomp_twisted do for each message, without the
reactor, a broker or the timers.  Each iteration sends a 100-byte SEND
(C{client.send(body, queue, {}, receipt=False)}, each one on its own, not
the next of a burst) on a real Twisted C{tcp.Server} transport over a
TCP connection on 127.0.0.1, reads it from the other end, and hands the client one
RabbitMQ-shaped MESSAGE (with the EOL RabbitMQ writes after each frame)
as one read, as C{dataReceived} gets it at 200 messages a second.

Meant for callgrind, whose instruction counts do not depend on the
machine's load (the broker benchmark's round trips under callgrind do:
their reads sometimes hold two messages)::

    for n in 2000 4000; do
        PYTHONHASHSEED=0 PYTHONPATH=. valgrind --tool=callgrind \\
            --callgrind-out-file=/tmp/cg.$n .venv/bin/python bench/rtt_path.py \\
            --messages $n --repeat 1
    done

and (I(4000) - I(2000)) / 2000 is the instructions a round trip.
C{--part send} or C{--part receive} measures one side.  Without
callgrind it prints the median CPU time per round trip of its
repetitions, in microseconds (a warm loop: caches stay hot here, unlike
between two messages 5 ms apart).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import time
from typing import Any

from twisted.internet import reactor, tcp
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IProtocolFactory, IStreamClientEndpoint
from twisted.internet.task import Clock
from zope.interface import implementer

import stomp_twisted
from stomp_twisted.client import StompClient
from stomp_twisted.frame import Frame, serialize_frame


@implementer(IStreamClientEndpoint)
class _SocketPairEndpoint:
    # Connects the client over one end of a TCP connection, as a tcp.Server:
    # the transport type the writer hands bytes to the socket on.
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.protocol: Any = None

    def connect(self, factory: IProtocolFactory) -> Deferred[object]:
        protocol = factory.buildProtocol(None)  # type: ignore[arg-type]
        assert protocol is not None
        transport = tcp.Server(self.sock, protocol, ("127.0.0.1", 1), None, 1, reactor)  # type: ignore[arg-type]
        protocol.makeConnection(transport)
        self.protocol = protocol
        return succeed(protocol)


def _message(body: bytes) -> bytes:
    headers = {
        "subscription": "sub-1",
        "destination": "/queue/rttlow",
        "message-id": "T_sub-1@@session-Ab1cD2eF3gH4iJ5kL6mN7o@@1@@12345",
        "redelivered": "false",
        "content-length": str(len(body)),
    }
    return serialize_frame(Frame("MESSAGE", headers, body), "1.2") + b"\n"


def _tcp_pair() -> tuple[socket.socket, socket.socket]:
    # Two ends of a TCP connection on 127.0.0.1, as the client's would be.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        peer = socket.create_connection(listener.getsockname())
        ours, _ = listener.accept()
    return ours, peer


def _run(count: int, part: str) -> float:
    ours, peer = _tcp_pair()
    ours.setblocking(False)
    endpoint = _SocketPairEndpoint(ours)
    client = StompClient(endpoint, reactor=Clock())
    client.start()
    protocol = endpoint.protocol
    protocol.dataReceived(serialize_frame(Frame("CONNECTED", {"version": "1.2"}), "1.0"))
    received = 0

    def on_message(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        nonlocal received
        received += 1

    client.subscribe("/queue/rttlow", on_message, receipt=False)
    peer.recv(1 << 16)
    body = b"x" * 100
    message = _message(body)
    writer = protocol._writer
    send = client.send
    data_received = protocol.dataReceived
    recv = peer.recv
    queue = "/queue/rttlow"
    headers: dict[str, str] = {}
    sending = part in ("both", "send")
    receiving = part in ("both", "receive")
    started = time.process_time()
    for _ in range(count):
        if sending:
            # Each SEND on its own, as at light load (a read came between).
            writer._sent_at = None
            send(body, queue, headers, receipt=False)
            recv(4096)
        if receiving:
            data_received(message)
    elapsed = time.process_time() - started
    assert received == (count if receiving else 0)
    protocol.transport.stopReading()
    ours.close()
    peer.close()
    return elapsed / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--part", choices=["both", "send", "receive"], default="both")
    args = parser.parse_args()
    runs = [_run(args.messages, args.part) for _ in range(args.repeat)]
    print(f"{stomp_twisted.__file__}: {statistics.median(runs):.2f} us CPU a round trip")


if __name__ == "__main__":
    main()
