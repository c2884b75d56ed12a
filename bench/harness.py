"""
What every benchmark process shares: the brokers, queue names, bodies,
the meter that times a workload and the client process's CPU, the way a
child reports its result, and the statistics the report is made of.

Nothing here imports Twisted or a STOMP client, so that each child process
loads only the client it measures.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"  # the benchmarks never talk to anything else

#: Marks the line of a child's standard output that holds its result.
RESULT_PREFIX = "BENCH-RESULT "


@dataclass(frozen=True)
class Broker:
    """
    A broker as C{scripts/brokers} runs it, and how a benchmark queue is
    declared on it.

    @ivar queue_headers: headers every SEND and SUBSCRIBE of a benchmark
        queue carries, from every client alike (RabbitMQ refuses a
        SUBSCRIBE whose queue arguments differ from the SEND's).
    @ivar title: the broker's name in the report.
    @ivar workloads: the report keys measured on it by default (C{None}:
        every workload).
    """

    name: str
    port: int
    login: str | None = None
    passcode: str | None = None
    queue_headers: dict[str, str] = field(default_factory=dict)
    title: str = ""
    workloads: frozenset[str] | None = None

    @property
    def connect_headers(self) -> dict[str, str]:
        headers = {}
        if self.login is not None:
            headers["login"] = self.login
        if self.passcode is not None:
            headers["passcode"] = self.passcode
        return headers


BROKERS = {
    # auto-delete: RabbitMQ deletes the queue when its last consumer
    # leaves; x-expires: or after 10 minutes unused, should a run die
    # before that.
    "rabbitmq": Broker(
        "rabbitmq",
        61613,
        "guest",
        "guest",
        {"auto-delete": "true", "x-expires": "600000"},
        title="RabbitMQ",
    ),
    # ActiveMQ keeps unknown headers as message properties: none are sent.
    "activemq": Broker("activemq", 61623, title="ActiveMQ"),
    # The same broker through its blocking transport (stomp://, as the sample
    # configuration of Debian's activemq package has it), where the NIO one above (stomp+nio://)
    # sleeps 1 ms (and longer) whenever a write finds its 128 KiB socket
    # buffer still full: large bodies only, where that matters
    # (docs/performance.rst, "Large bodies").
    "activemq-blocking": Broker(
        "activemq-blocking",
        61627,
        title="ActiveMQ, blocking transport",
        workloads=frozenset({"publish-1m", "consume-1m"}),
    ),
}


def broker_title(name: str) -> str:
    """
    The report's name for the broker called C{name} in L{BROKERS}.
    """
    broker = BROKERS.get(name)
    return broker.title if broker is not None and broker.title else name


def unique_queue(stem: str) -> str:
    """
    A queue name that no other run uses.
    """
    return f"/queue/stomp-twisted-bench.{stem}.{uuid.uuid4().hex[:12]}"


def make_body(size: int) -> bytes:
    """
    A body of C{size} printable bytes (no NUL, so that a raw reader may
    count frames by their NULs).
    """
    pattern = b"0123456789abcdefghijklmnopqrstuvwxyz"
    return (pattern * (size // len(pattern) + 1))[:size]


def cpu_times() -> tuple[float, float]:
    """
    User and system CPU time of this process so far, all its threads.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


class Meter:
    """
    Times one workload in a child process: wall-clock time and the
    process's own CPU time (user + sys), between L{start} and L{stop}.
    """

    def __init__(self) -> None:
        self.started_wall = 0.0
        self.started_cpu = (0.0, 0.0)
        self.wall = 0.0
        self.user = 0.0
        self.sys = 0.0
        self.running = False

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    def start(self) -> None:
        self.running = True
        self.started_cpu = cpu_times()
        self.started_wall = time.perf_counter()

    def stop(self) -> None:
        if not self.running:
            return
        self.wall = time.perf_counter() - self.started_wall
        user, sys = cpu_times()
        self.user = user - self.started_cpu[0]
        self.sys = sys - self.started_cpu[1]
        self.running = False

    def result(self, count: int, **extra: Any) -> dict[str, Any]:
        """
        The measurement as reported: C{rate} in messages per second and
        C{cpu_us} in microseconds of client CPU per message.
        """
        return {
            "count": count,
            "wall": self.wall,
            "cpu": self.cpu,
            "user": self.user,
            "sys": self.sys,
            "rate": count / self.wall if self.wall > 0 else 0.0,
            "cpu_us": self.cpu / count * 1e6 if count else 0.0,
            **extra,
        }


def percentile(samples: Sequence[float], fraction: float) -> float:
    """
    The C{fraction} quantile of C{samples} (nearest rank).
    """
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def emit(result: dict[str, Any]) -> None:
    """
    Report a child's result to the parent on standard output.
    """
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


def parse_result(output: str) -> dict[str, Any] | None:
    for line in output.splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    return None


def summarize(values: Sequence[float]) -> dict[str, float]:
    """
    The median and the range of repeated measurements.
    """
    if not values:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def deadline_guard(seconds: float) -> None:
    """
    End this process if it is still running after C{seconds}, whatever
    its client is doing: no child may hang the run.
    """
    import threading

    def expire() -> None:
        sys.stderr.write(f"benchmark child: no result after {seconds:g} s, giving up\n")
        sys.stderr.flush()
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def react_for_result(
    workload: Callable[[Any], Coroutine[Any, Any, dict[str, Any]]],
) -> dict[str, Any]:
    """
    Run C{workload(reactor)} under Twisted's C{task.react} and return the
    dict it returns (the Twisted children's result).  Twisted is imported
    here, not at the top: the other clients' children never load it.
    """
    from twisted.internet import task
    from twisted.internet.defer import Deferred

    result: dict[str, Any] = {}

    def main(reactor: Any) -> Deferred[None]:
        return Deferred.fromCoroutine(workload(reactor)).addCallback(result.update)

    try:
        task.react(main)
    except SystemExit as exit:
        if exit.code:
            raise
    return result
