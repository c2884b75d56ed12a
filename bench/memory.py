"""
Memory benchmark: N messages through a slow consumer, stomp_twisted against
stomp.py, each variant consuming in a fresh process of its own.

    PYTHONPATH=. .venv/bin/python -m bench.memory [--count 100000] [--body-size 100]
        [--port 61613] [--delay 0.0005] [--variants abcd] [--bound-mib 16] [--json FILE]

For each variant a unique RabbitMQ queue is filled with N messages (in a
subprocess, pipelined: windows of --window sends, each window waiting for
its receipts), then a fresh subprocess consumes them all through a
deliberately slow consumer and reports its resident memory: the baseline
right after CONNECTED (before SUBSCRIBE), the RSS sampled from
/proc/self/statm every 10 ms, and ru_maxrss at the end.

The slow consumer is one worker that takes --delay seconds per message,
one message at a time.  In stomp_twisted the MESSAGE callback returns a
Deferred (a deferLater) that fires when that worker would be done with the
message: at max(arrival, previous message's end) + delay.  Scheduling the
end times this way, rather than sleeping `delay` after each timer, keeps
the worker's rate at 1/delay although the epoll reactor's timers are only
as fine as 1 ms.  In stomp.py the listener's on_message sleeps `delay` in
the receiver thread, then ACKs.  Either way the consumer handles at most
1/delay messages a second (2,000 by default) while RabbitMQ delivers
several times that: messages arrive faster than they are processed.

Variants (all ack="auto" in stomp_twisted, i.e. client-individual ACK
after the callback's Deferred fires; RabbitMQ's prefetch unlimited unless
stated):

  a  stomp_twisted, max_in_flight=1000: the client alone keeps memory flat
  b  stomp_twisted, max_in_flight=10**9: flow control effectively off
  c  stomp_twisted, prefetch-count:1000 and max_in_flight=10**9: the
     broker's prefetch alone bounds what the client holds
  d  stomp.py 9 (the peer), Connection12, ack="client-individual"

The run fails (exit status 1) if any variant does not consume exactly the N
messages sent (each once), or if variant a's RSS growth over its baseline
passes --bound-mib.  Nothing is written unless --json is given.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"  # the benchmark never talks to anything else
LOGIN = {"login": "guest", "passcode": "guest"}
#: How each benchmark queue is declared, by SEND and SUBSCRIBE alike: RabbitMQ
#: deletes it when its consumer leaves, or after 15 minutes unused if a run
#: dies before that.  (Not "durable: false": RabbitMQ then drops what is
#: sent to a /queue/ destination that has no consumer.)
QUEUE_HEADERS = {"auto-delete": "true", "x-expires": "900000"}
SEQ_DIGITS = 10  # a body starts with its sequence number, zero-padded
MIB = 1024 * 1024
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_INTERVAL = 0.01
OFF = 10**9  # max_in_flight that never pauses reading
#: The default bound on variant a's RSS growth (see bench/README.md).
DEFAULT_BOUND_MIB = 16.0


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    kind: str  # "twisted" or "stomppy"
    max_in_flight: int | None = None
    prefetch: int | None = None


VARIANTS = {
    "a": Variant("a", "stomp_twisted max_in_flight=1000", "twisted", 1000),
    "b": Variant("b", "stomp_twisted max_in_flight=10**9", "twisted", OFF),
    "c": Variant("c", "stomp_twisted prefetch-count=1000", "twisted", OFF, 1000),
    "d": Variant("d", "stomp.py 9 (peer)", "stomppy"),
}


# --- measurements (in the child processes) ------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def max_rss_bytes() -> int:
    # Linux reports ru_maxrss in KiB.  It survives execve: a child starts
    # with its parent's peak (see peak_rss_bytes).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_rss_bytes() -> int:
    """
    This process's own peak RSS: VmHWM, the high-water mark of its memory
    map, which starts afresh at execve (ru_maxrss does not).
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return max_rss_bytes()


def make_body(seq: int, size: int) -> bytes:
    return b"%0*d" % (SEQ_DIGITS, seq) + b"." * (size - SEQ_DIGITS)


class Tally:
    """
    What a consumer has seen: each sequence number must arrive once.
    Updated by one thread (the reactor's, or stomp.py's receiver), read by
    the sampler.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.seen = bytearray(count)  # allocated before the baseline
        self.received = 0
        self.consumed = 0
        self.duplicates = 0
        self.strays = 0
        self.max_backlog = 0
        self.finished_at: float | None = None

    def arrived(self) -> None:
        self.received += 1
        backlog = self.received - self.consumed
        if backlog > self.max_backlog:
            self.max_backlog = backlog

    def processed(self, body: bytes) -> bool:
        """
        Count a message as done; true once all N are.
        """
        try:
            seq = int(body[:SEQ_DIGITS])
        except ValueError:
            seq = -1
        if 0 <= seq < self.count:
            if self.seen[seq]:
                self.duplicates += 1
            self.seen[seq] = 1
        else:
            self.strays += 1
        self.consumed += 1
        if self.consumed == self.count:
            self.finished_at = time.perf_counter()
            return True
        return False


class Sampler(threading.Thread):
    """
    Samples the process's RSS every SAMPLE_INTERVAL seconds, by quarter of
    the messages consumed, and ends the process if it outlives its hard
    deadline (so that no child can hang, whatever its client does).
    """

    def __init__(self, tally: Tally, hard_deadline: float, partial: Any) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.tally = tally
        self.hard_deadline = hard_deadline
        self.partial = partial
        self.baseline = rss_bytes()
        self.sampled_max = self.baseline
        self.quarter_max = [0, 0, 0, 0]
        self.timeline: list[tuple[float, int, float]] = []
        self.started = time.monotonic()
        self.stopping = threading.Event()

    def rebase(self) -> None:
        self.baseline = rss_bytes()
        self.sampled_max = self.baseline
        self.started = time.monotonic()

    def run(self) -> None:
        next_point = 0.0
        while not self.stopping.wait(SAMPLE_INTERVAL):
            rss = rss_bytes()
            self.sampled_max = max(self.sampled_max, rss)
            tally = self.tally
            quarter = min(3, tally.consumed * 4 // max(1, tally.count))
            self.quarter_max[quarter] = max(self.quarter_max[quarter], rss)
            elapsed = time.monotonic() - self.started
            if elapsed >= next_point:
                self.timeline.append((round(elapsed, 1), tally.consumed, round(rss / MIB, 2)))
                next_point += 1.0
            if elapsed > self.hard_deadline:
                emit(self.partial(f"hard deadline of {self.hard_deadline:.0f} s passed"))
                os._exit(3)

    def stop(self) -> None:
        self.stopping.set()
        self.join()

    def report(self) -> dict[str, Any]:
        peak = peak_rss_bytes()
        return {
            "baseline_mib": self.baseline / MIB,
            "peak_rss_mib": peak / MIB,
            "ru_maxrss_mib": max_rss_bytes() / MIB,
            "sampled_max_mib": self.sampled_max / MIB,
            # The peak is exact, the samples may miss a short spike; take
            # the larger (an upper bound if the process peaked before the
            # baseline, which it does not in practice).
            "growth_mib": (max(peak, self.sampled_max) - self.baseline) / MIB,
            "quarter_growth_mib": [
                (q - self.baseline) / MIB if q else None for q in self.quarter_max
            ],
            "timeline": self.timeline,
        }


def emit(result: dict[str, Any]) -> None:
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


def tally_report(tally: Tally, started: float | None) -> dict[str, Any]:
    end = tally.finished_at if tally.finished_at is not None else time.perf_counter()
    missing = tally.count - sum(tally.seen)
    return {
        "received": tally.received,
        "consumed": tally.consumed,
        "duplicates": tally.duplicates,
        "strays": tally.strays,
        "missing": missing,
        "max_backlog": tally.max_backlog,
        "wall_s": end - started if started is not None else None,
    }


# --- children: stomp_twisted --------------------------------------------------


def _begin_twisted_logging() -> dict[str, int]:
    """
    Warnings and worse to standard error (the parent shows them if the
    child fails); count the client's "pausing reading" notices.
    """
    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    counts = {"pauses": 0}

    def count_pauses(event: dict[str, Any]) -> None:
        if "pausing reading" in (event.get("log_format") or ""):
            counts["pauses"] += 1

    stderr = FilteringLogObserver(
        textFileLogObserver(sys.stderr),
        [LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)],
    )
    globalLogBeginner.beginLoggingTo([stderr, count_pauses], redirectStandardIO=False)
    return counts


async def _fill_twisted(reactor: Any, spec: dict[str, Any]) -> dict[str, Any]:
    from twisted.internet.defer import gatherResults

    import stomp_twisted

    _begin_twisted_logging()
    server: list[str] = []
    client = stomp_twisted.connect(
        HOST,
        spec["port"],
        connect_headers=LOGIN,
        reactor=reactor,
        reconnect=None,
        receipt_timeout=60,
    )
    client.reg_cb("CONNECTED", lambda _c, _b, headers: server.append(headers.get("server", "")))
    await client.when_connected()
    count, size, window, queue = spec["count"], spec["body_size"], spec["window"], spec["queue"]
    started = time.perf_counter()
    for first in range(0, count, window):
        sends = [
            client.send(make_body(seq, size), queue, QUEUE_HEADERS)
            for seq in range(first, min(count, first + window))
        ]
        await gatherResults(sends, consumeErrors=True)
    seconds = time.perf_counter() - started
    await client.disconnect()
    return {"sent": count, "seconds": seconds, "server": server[0] if server else ""}


async def _consume_twisted(reactor: Any, spec: dict[str, Any]) -> dict[str, Any]:
    from twisted.internet.defer import Deferred
    from twisted.internet.task import deferLater

    import stomp_twisted

    counts = _begin_twisted_logging()
    count, delay, deadline = spec["count"], spec["delay"], spec["deadline"]
    tally = Tally(count)
    started: list[float] = []

    def partial(error: str) -> dict[str, Any]:
        return {**tally_report(tally, started[0] if started else None), "error": error}

    client = stomp_twisted.connect(
        HOST,
        spec["port"],
        connect_headers=LOGIN,
        reactor=reactor,
        reconnect=None,
        max_in_flight=spec["max_in_flight"],
    )
    outcome: Deferred[str | None] = Deferred()

    def settle(error: str | None) -> None:
        if not outcome.called:
            outcome.callback(error)

    client.reg_cb("disconnect", lambda _c, reason: settle(f"connection lost: {reason}"))
    client.reg_cb("ERROR", lambda _c, body, headers: settle(f"broker ERROR: {headers} {body!r}"))
    await client.when_connected()
    sampler = Sampler(tally, deadline + 30, partial)
    sampler.start()

    worker_free = 0.0

    def done(body: bytes) -> None:
        if tally.processed(body):
            reactor.callLater(0, settle, None)

    def on_message(_client: Any, body: bytes, _headers: dict[str, str]) -> Any:
        # One worker, `delay` seconds a message: this one is done when the
        # worker is free and has spent `delay` on it.
        nonlocal worker_free
        tally.arrived()
        now = reactor.seconds()
        worker_free = max(now, worker_free) + delay
        return deferLater(reactor, worker_free - now, done, body)

    headers = dict(QUEUE_HEADERS)
    if spec["prefetch"] is not None:
        headers["prefetch-count"] = str(spec["prefetch"])
    sampler.rebase()
    started.append(time.perf_counter())
    client.subscribe(spec["queue"], on_message, ack="auto", headers=headers, receipt=False)
    timer = reactor.callLater(deadline, settle, f"deadline of {deadline:.0f} s passed")
    error = await outcome
    if timer.active():
        timer.cancel()
    if error is None:
        await client.disconnect()
    else:
        client.disconnect()
    sampler.stop()
    return {**tally_report(tally, started[0]), **sampler.report(), **counts, "error": error}


def _run_twisted(role: str, spec: dict[str, Any]) -> None:
    from twisted.internet import task
    from twisted.internet.defer import ensureDeferred

    work = _fill_twisted if role == "fill" else _consume_twisted
    results: list[dict[str, Any]] = []

    async def main(reactor: Any) -> None:
        results.append(await work(reactor, spec))

    try:
        task.react(lambda reactor: ensureDeferred(main(reactor)))
    except SystemExit as exit:
        if not results:
            emit({"error": f"the reactor exited with {exit.code} and no result"})
            raise
    emit(results[0])


# --- children: stomp.py -------------------------------------------------------


def _stomppy_connection(port: int) -> Any:
    import stomp

    return stomp.Connection12([(HOST, port)], vhost="/", auto_decode=False)


def _fill_stomppy(spec: dict[str, Any]) -> dict[str, Any]:
    import stomp

    count, size, window, queue = spec["count"], spec["body_size"], spec["window"], spec["queue"]
    receipts = threading.Condition()
    state = {"receipts": 0, "error": None}

    class Listener(stomp.ConnectionListener):  # type: ignore[misc]
        def on_receipt(self, frame: Any) -> None:
            with receipts:
                state["receipts"] += 1
                receipts.notify()

        def on_error(self, frame: Any) -> None:
            with receipts:
                state["error"] = f"broker ERROR: {frame.headers} {frame.body!r}"
                receipts.notify()

    connection = _stomppy_connection(spec["port"])
    connection.set_listener("fill", Listener())
    connection.connect(LOGIN["login"], LOGIN["passcode"], wait=True)
    started = time.perf_counter()
    for first in range(0, count, window):
        last = min(count, first + window)
        for seq in range(first, last):
            headers = {**QUEUE_HEADERS, "receipt": f"fill-{seq}"}
            connection.send(queue, make_body(seq, size), headers=headers)
        with receipts:
            ok = receipts.wait_for(
                lambda last=last: state["receipts"] >= last or state["error"], 60
            )
        if not ok or state["error"]:
            raise RuntimeError(state["error"] or "receipts did not arrive within 60 s")
    seconds = time.perf_counter() - started
    connection.disconnect()
    return {"sent": count, "seconds": seconds}


def _consume_stomppy(spec: dict[str, Any]) -> dict[str, Any]:
    import stomp

    count, delay, deadline = spec["count"], spec["delay"], spec["deadline"]
    tally = Tally(count)
    started: list[float] = []
    finished = threading.Event()
    errors: list[str] = []

    def partial(error: str) -> dict[str, Any]:
        return {**tally_report(tally, started[0] if started else None), "error": error}

    connection = _stomppy_connection(spec["port"])

    class Listener(stomp.ConnectionListener):  # type: ignore[misc]
        def on_message(self, frame: Any) -> None:
            tally.arrived()
            time.sleep(delay)
            all_done = tally.processed(frame.body)
            connection.ack(frame.headers["ack"])
            if all_done:
                finished.set()

        def on_error(self, frame: Any) -> None:
            errors.append(f"broker ERROR: {frame.headers} {frame.body!r}")
            finished.set()

        def on_disconnected(self) -> None:
            if not finished.is_set():
                errors.append("connection lost")
                finished.set()

    connection.set_listener("bench", Listener())
    connection.connect(LOGIN["login"], LOGIN["passcode"], wait=True)
    sampler = Sampler(tally, deadline + 30, partial)
    sampler.start()
    headers = dict(QUEUE_HEADERS)
    if spec["prefetch"] is not None:
        headers["prefetch-count"] = str(spec["prefetch"])
    sampler.rebase()
    started.append(time.perf_counter())
    connection.subscribe(spec["queue"], id="1", ack="client-individual", headers=headers)
    if not finished.wait(deadline):
        errors.append(f"deadline of {deadline:.0f} s passed")
    error = errors[0] if errors else None
    if error is None or connection.is_connected():
        connection.disconnect()
    sampler.stop()
    return {**tally_report(tally, started[0]), **sampler.report(), "error": error}


def child_main(spec: dict[str, Any]) -> None:
    role, kind = spec["role"], spec["kind"]
    if kind == "twisted":
        _run_twisted(role, spec)
    elif role == "fill":
        emit(_fill_stomppy(spec))
    else:
        emit(_consume_stomppy(spec))
    sys.stdout.flush()
    # stomp.py's receiver thread is not a daemon: do not wait for it.
    os._exit(0)


# --- the parent ---------------------------------------------------------------


ROOT = Path(__file__).resolve().parent.parent


def run_child(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # nothing written into the work tree
    command = [sys.executable, "-m", "bench.memory", "--child", json.dumps(spec)]
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as expired:
        # subprocess.run has killed the child it started.
        return {"error": f"killed after {timeout:.0f} s", "stderr": str(expired.stderr or "")}
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        return {
            "error": f"no result (exit status {done.returncode})",
            "stderr": done.stderr[-3000:],
        }
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    result["exit_status"] = done.returncode
    if done.stderr.strip():
        result["stderr"] = done.stderr[-3000:]
    return result


def machine() -> dict[str, Any]:
    model = "?"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    # The parent imports none of the clients: its RSS stays small, and
    # leaves little in its children's ru_maxrss.
    spec = importlib.util.find_spec("stomp_twisted")
    origin = spec.origin if spec is not None and spec.origin else "?"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "stomp_twisted"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        commit, dirty = "", ""
    return {
        "commit": (commit or "?") + (" with uncommitted changes to stomp_twisted" if dirty else ""),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model,
        "python": platform.python_version(),
        "twisted": importlib.metadata.version("twisted"),
        "stomp.py": importlib.metadata.version("stomp.py"),
        "stomp_twisted": str(Path(origin).parent),
    }


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def ratio(value: float | None, peer: float | None) -> str:
    if value is None or peer is None or peer <= 0:
        return "-"
    return f"{value / peer:.2f}x"


def print_tables(args: argparse.Namespace, runs: list[dict[str, Any]]) -> None:
    peer = next((run for run in runs if run["variant"] == "d"), None)
    peer_consume = peer["consume"] if peer else {}
    peer_fill = peer["fill"] if peer else {}
    header = (
        f"{'variant':<38} {'delay ms':>8} {'consumed':>9} {'wall s':>7} {'msg/s':>6} "
        f"{'max backlog':>11} {'pauses':>6} {'base MiB':>8} {'peak MiB':>8} {'maxrss MiB':>10} "
        f"{'growth MiB':>10} {'growth by quarter, MiB':>23} "
        f"{'peak/peer':>9} {'growth/peer':>11} {'wall/peer':>9}"
    )
    print()
    print(f"Consuming {args.count:,} messages of {args.body_size} bytes, RabbitMQ {args.port}")
    print(header)
    print("-" * len(header))
    for run in runs:
        c = run["consume"]
        wall = c.get("wall_s")
        rate = c["consumed"] / wall if wall and c.get("consumed") else None
        quarters = "/".join(fmt(q) for q in c.get("quarter_growth_mib") or [None] * 4)
        print(
            f"{run['variant'] + ' ' + VARIANTS[run['variant']].label:<38} "
            f"{run['delay'] * 1000:>8.3f} {c.get('consumed', 0):>9,} {fmt(wall):>7} "
            f"{fmt(rate, '.0f'):>6} {c.get('max_backlog', 0):>11,} "
            f"{c.get('pauses', '-')!s:>6} {fmt(c.get('baseline_mib')):>8} "
            f"{fmt(c.get('peak_rss_mib')):>8} {fmt(c.get('ru_maxrss_mib')):>10} "
            f"{fmt(c.get('growth_mib')):>10} {quarters:>23} "
            f"{ratio(c.get('peak_rss_mib'), peer_consume.get('peak_rss_mib')):>9} "
            f"{ratio(c.get('growth_mib'), peer_consume.get('growth_mib')):>11} "
            f"{ratio(wall, peer_consume.get('wall_s')):>9}"
        )
    print()
    print(f"Filling the queues ({args.window:,} sends per window of receipts)")
    header = (
        f"{'variant':<38} {'filled by':<14} {'sent':>9} {'seconds':>8} {'msg/s':>7} "
        f"{'rate/peer':>9}"
    )
    print(header)
    print("-" * len(header))
    peer_rate = peer_fill["sent"] / peer_fill["seconds"] if peer_fill.get("seconds") else None
    for run in runs:
        f = run["fill"]
        rate = f["sent"] / f["seconds"] if f.get("seconds") else None
        filler = "stomp.py" if VARIANTS[run["variant"]].kind == "stomppy" else "stomp_twisted"
        print(
            f"{run['variant'] + ' ' + VARIANTS[run['variant']].label:<38} {filler:<14} "
            f"{f.get('sent', 0):>9,} {fmt(f.get('seconds'), '.2f'):>8} {fmt(rate, '.0f'):>7} "
            f"{ratio(rate, peer_rate):>9}"
        )


def check(args: argparse.Namespace, runs: list[dict[str, Any]]) -> list[str]:
    problems = []
    for run in runs:
        key, fill, c = run["variant"], run["fill"], run["consume"]
        if fill.get("error"):
            problems.append(f"{key}: fill failed: {fill['error']}")
            continue
        if c.get("error"):
            problems.append(f"{key}: {c['error']}")
        if c.get("consumed") != args.count or c.get("missing") or c.get("duplicates"):
            problems.append(
                f"{key}: consumed {c.get('consumed')} of {args.count} "
                f"(missing {c.get('missing')}, duplicates {c.get('duplicates')}, "
                f"strays {c.get('strays')})"
            )
    bounded = next((run for run in runs if run["variant"] == "a"), None)
    if bounded is None:
        print("\nvariant a not run: the memory bound is not checked")
    elif args.bound_mib > 0:
        growth = bounded["consume"].get("growth_mib")
        verdict = "ok" if growth is not None and growth <= args.bound_mib else "EXCEEDED"
        print(
            f"\nBound: variant a's RSS growth {fmt(growth)} MiB "
            f"<= {args.bound_mib:g} MiB: {verdict}"
        )
        if verdict != "ok":
            problems.append(f"a: RSS growth {fmt(growth)} MiB exceeds {args.bound_mib:g} MiB")
    return problems


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.memory",
        description="Peak memory of a slow consumer: stomp_twisted against stomp.py.",
    )
    parser.add_argument("--count", type=int, default=100_000, help="messages per variant")
    parser.add_argument(
        "--body-size", type=int, default=100, help=f"bytes per body (>= {SEQ_DIGITS})"
    )
    parser.add_argument("--port", type=int, default=61613, help="RabbitMQ's STOMP port")
    parser.add_argument(
        "--delay", type=float, default=0.0005, help="the consumer's seconds per message"
    )
    parser.add_argument(
        "--variant-delay",
        action="append",
        default=[],
        metavar="KEY=SECONDS",
        help="another delay for one variant, e.g. b=0.0002",
    )
    parser.add_argument("--variants", default="abcd", help="which variants, in order")
    parser.add_argument("--window", type=int, default=1000, help="sends per window of receipts")
    parser.add_argument(
        "--bound-mib",
        type=float,
        default=DEFAULT_BOUND_MIB,
        help="fail if variant a's RSS growth passes this (0: no check)",
    )
    parser.add_argument(
        "--deadline", type=float, help="seconds a consumer may take (default: from N and delay)"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is None:
        if args.count < 1 or args.window < 1:
            parser.error("--count and --window must be positive")
        if args.body_size < SEQ_DIGITS:
            parser.error(f"--body-size must be at least {SEQ_DIGITS}")
        if not args.variants or any(key not in VARIANTS for key in args.variants):
            parser.error(f"--variants takes letters among {''.join(VARIANTS)}")
        delays = {}
        for item in args.variant_delay:
            key, _, seconds = item.partition("=")
            if key not in VARIANTS:
                parser.error(f"--variant-delay: unknown variant {key!r}")
            delays[key] = float(seconds)
        args.delays = delays
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.child is not None:
        child_main(json.loads(args.child))
        return 0
    info = machine()
    print(
        f"machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, "
        f"Twisted {info['twisted']}, stomp.py {info['stomp.py']}"
    )
    print(f"stomp_twisted from {info['stomp_twisted']} (commit {info['commit']})")
    run_id = uuid.uuid4().hex[:8]
    runs: list[dict[str, Any]] = []
    began = time.perf_counter()
    for key in args.variants:
        variant = VARIANTS[key]
        delay = args.delays.get(key, args.delay)
        deadline = args.deadline or 60 + 4 * args.count * max(delay, 0.001)
        queue = f"/queue/stomp-twisted-bench.memory.{run_id}.{key}"
        spec = {
            "kind": variant.kind,
            "port": args.port,
            "queue": queue,
            "count": args.count,
            "body_size": args.body_size,
            "window": args.window,
        }
        print(f"[{key}] {variant.label}: filling {queue} ...", file=sys.stderr, flush=True)
        fill = run_child({**spec, "role": "fill"}, timeout=120 + args.count / 100)
        consume: dict[str, Any] = {}
        if not fill.get("error"):
            rate = fill["sent"] / fill["seconds"]
            print(
                f"[{key}] filled {fill['sent']:,} in {fill['seconds']:.2f} s ({rate:,.0f}/s); "
                f"consuming, {delay * 1000:g} ms a message ...",
                file=sys.stderr,
                flush=True,
            )
            consume_spec = {
                **spec,
                "role": "consume",
                "delay": delay,
                "deadline": deadline,
                "max_in_flight": variant.max_in_flight,
                "prefetch": variant.prefetch,
            }
            consume = run_child(consume_spec, timeout=deadline + 60)
            print(
                f"[{key}] consumed {consume.get('consumed', 0):,} in "
                f"{fmt(consume.get('wall_s'))} s, RSS growth {fmt(consume.get('growth_mib'))} MiB"
                + (f"; ERROR: {consume['error']}" if consume.get("error") else ""),
                file=sys.stderr,
                flush=True,
            )
        for what, result in (("fill", fill), ("consume", consume)):
            if result.get("error") and result.get("stderr"):
                print(f"[{key}] {what} stderr:\n{result['stderr']}", file=sys.stderr)
        if fill.get("server"):
            info["broker"] = fill["server"]
        runs.append({"variant": key, "delay": delay, "fill": fill, "consume": consume})
    total = time.perf_counter() - began
    print(f"broker: {info.get('broker', '?')}; whole run {total:.0f} s")
    print_tables(args, runs)
    problems = check(args, runs)
    if args.json is not None:
        settings = {k: v for k, v in vars(args).items() if k not in ("json", "child")}
        document = {"machine": info, "settings": settings, "runs": runs, "problems": problems}
        args.json.write_text(json.dumps(document, indent=1, default=str) + "\n")
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
