"""
The client workloads, one child process per run:

    PYTHONPATH=. .venv/bin/python -m bench.workloads CLIENT WORKLOAD --broker B --queue Q
        [--count N] [--size BYTES] [--window W] [--rate R]

CLIENT is C{stomp_twisted}, C{stomp.py} or C{stompman}; WORKLOAD one of:

  publish         N SENDs without receipts, each as soon as the client
                  takes it (stomp_twisted: awaiting each send's Deferred,
                  which fires at once unless the socket is behind); ends
                  when the RECEIPT of the DISCONNECT that follows arrives,
                  that is, once the broker has taken them all;
  consume         N messages from a pre-filled queue, SUBSCRIBE ack:auto;
  consume-ack     the same with client acknowledgement, an ACK per
                  message (client-individual; stomp_twisted's ack="auto",
                  which ACKs once the callback returned); ends at the
                  DISCONNECT receipt, after the last ACK;
  confirm         N SENDs each with a receipt, waiting for each in turn;
  confirm-window  (stomp_twisted) N SENDs with receipts, W in flight;
  rtt             N round trips, each message sent to the client's own
                  subscription once the previous one came back;
  rtt-low         N messages sent at R per second to the client's own
                  subscription: the latency of light traffic.

Each client connects, and sets up what the workload needs, before the
meter starts; the meter measures wall-clock time and the process's own CPU
time (user + sys, all threads) up to the end of the workload.  The child
prints one result line (L{bench.harness.emit}) and exits.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from bench.harness import BROKERS, Broker

CLIENTS = ("stomp_twisted", "stomp.py", "stompman")
WORKLOADS = (
    "publish",
    "consume",
    "consume-ack",
    "confirm",
    "confirm-window",
    "rtt",
    "rtt-low",
)
SEQ_DIGITS = 10  # the latency workloads' bodies start with a sequence number


@dataclass(frozen=True)
class Job:
    """
    One workload run, as the orchestrator asks for it.
    """

    client: str
    workload: str
    broker: Broker
    queue: str
    count: int
    size: int
    window: int
    rate: float


def parse_job(argv: list[str] | None = None) -> tuple[Job, float]:
    parser = argparse.ArgumentParser(prog="bench.workloads")
    parser.add_argument("client", choices=CLIENTS)
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--broker", choices=sorted(BROKERS), default="rabbitmq")
    parser.add_argument("--queue", required=True)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--deadline", type=float, default=180.0)
    options = parser.parse_args(argv)
    job = Job(
        options.client,
        options.workload,
        BROKERS[options.broker],
        options.queue,
        options.count,
        options.size,
        options.window,
        options.rate,
    )
    return job, options.deadline


def sequenced_body(seq: int, size: int) -> bytes:
    """
    A body that starts with its sequence number (latency workloads).
    """
    head = b"%0*d" % (SEQ_DIGITS, seq)
    return head + b"." * max(0, size - len(head))


def latency_result(samples: list[float], count: int, **extra: object) -> dict[str, object]:
    """
    Round-trip times in microseconds: p50, p99 and the worst.
    """
    from bench.harness import percentile

    return {
        "count": count,
        "received": len(samples),
        "p50_us": percentile(samples, 0.50) * 1e6,
        "p99_us": percentile(samples, 0.99) * 1e6,
        "max_us": max(samples) * 1e6 if samples else float("nan"),
        **extra,
    }
