"""
The round-trip floor of any Twisted client: a bare Twisted protocol that
writes pre-serialized SEND frames to its own subscription and counts the
NULs that come back, timed as the C{rtt} and C{rtt-low} workloads time
the real clients.

    PYTHONPATH=. .venv/bin/python -m bench.raw_twisted WORKLOAD --broker activemq
        --queue Q --count N [--size 100] [--rate 200]

WORKLOAD is C{rtt} (the next message sent once the previous one came
back) or C{rtt-low} (C{--rate} messages a second, paced by the reactor's
clock).  It parses nothing, keeps no state but the send times, and
writes straight to its socket: what it spends is what Twisted's reactor
spends waking for a timer and for a read, which every Twisted client
pays on top of its own work.  (The
blocking clients wake in C{time.sleep} and in a thread's C{recv}
instead.)

It prints one result line for L{bench.run}, as the workloads do.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Factory, Protocol

from bench.harness import BROKERS, HOST, Broker, Meter, deadline_guard, emit, react_for_result
from bench.raw import frame
from bench.workloads import latency_result


class RoundTrips(Protocol):
    """
    CONNECT, SUBSCRIBE with a receipt, then round trips by L{send}.
    """

    def __init__(self, broker: Broker, queue: str) -> None:
        self.broker = broker
        self.queue = queue
        self.subscribed: Deferred[None] = Deferred()
        self.sent_at: list[float] = []
        self.samples: list[float] = []
        self.on_return: Any = None
        self._stage = "connecting"

    def connectionMade(self) -> None:
        self.transport.setTcpNoDelay(True)  # type: ignore[union-attr]
        headers = {"accept-version": "1.2", "host": "/", **self.broker.connect_headers}
        self.transport.write(frame("CONNECT", headers))  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        if self._stage == "connecting":
            self._stage = "subscribing"
            headers = {"destination": self.queue, "id": "1", "ack": "auto", "receipt": "s"}
            headers.update(self.broker.queue_headers)
            self.transport.write(frame("SUBSCRIBE", headers))  # type: ignore[union-attr]
            return
        if self._stage == "subscribing":
            # Benchmark queues are empty before the first SEND: this read
            # is the RECEIPT alone.
            self._stage = "running"
            self.subscribed.callback(None)
            return
        arrived = time.perf_counter()
        for _ in range(data.count(b"\0")):
            self.samples.append(arrived - self.sent_at[len(self.samples)])
            if self.on_return is not None:
                self.on_return()

    def send(self, data: bytes) -> None:
        self.sent_at.append(time.perf_counter())
        # Straight to the socket, as stomp_twisted does when nothing waits
        # (transport.write would send one reactor iteration later, after
        # two epoll_ctl calls): a 100-byte frame on an idle connection is
        # always taken whole.
        sent = self.transport.socket.send(data)  # type: ignore[union-attr]
        assert sent == len(data)


async def run(reactor: Any, options: argparse.Namespace) -> dict[str, Any]:
    broker = BROKERS[options.broker]
    endpoint = TCP4ClientEndpoint(reactor, HOST, broker.port)
    factory = Factory.forProtocol(lambda: RoundTrips(broker, options.queue))
    protocol: RoundTrips = await endpoint.connect(factory)  # type: ignore[assignment]
    await protocol.subscribed
    headers = {"destination": options.queue, **broker.queue_headers}
    data = frame("SEND", headers, b"x" * options.size)
    count = options.count
    done: Deferred[None] = Deferred()
    meter = Meter()

    def returned() -> None:
        if len(protocol.samples) == count:
            done.callback(None)
        elif options.workload == "rtt":
            protocol.send(data)

    protocol.on_return = returned
    meter.start()
    if options.workload == "rtt":
        protocol.send(data)
    else:
        start = reactor.seconds()
        for seq in range(count):
            delay = start + seq / options.rate - reactor.seconds()
            if delay > 0:
                await task.deferLater(reactor, delay)
            protocol.send(data)
    await done
    meter.stop()
    protocol.transport.loseConnection()  # type: ignore[union-attr]
    extra: dict[str, Any] = {"rate": options.rate} if options.workload == "rtt-low" else {}
    return latency_result(protocol.samples, count, cpu_us=meter.cpu / count * 1e6, **extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", choices=["rtt", "rtt-low"])
    parser.add_argument("--broker", choices=sorted(BROKERS), default="rabbitmq")
    parser.add_argument("--queue", required=True)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--deadline", type=float, default=120.0)
    options = parser.parse_args()
    deadline_guard(options.deadline)
    emit(react_for_result(lambda reactor: run(reactor, options)))


if __name__ == "__main__":
    main()
