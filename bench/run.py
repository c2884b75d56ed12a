"""
The benchmark harness: stomp_twisted, stomp.py and stompman through the
same workloads against the same brokers in one run, interleaved and
repeated, with the raw-socket ceiling and the codec micro-benchmark.

    make bench                      # or:
    PYTHONPATH=. .venv/bin/python -m bench.run [--quick] [--repeat N]
        [--brokers rabbitmq,activemq,activemq-blocking]
        [--workloads consume,publish,...]
        [--no-docs] [--json FILE]

Each measurement runs in a fresh child process (L{bench.workloads},
L{bench.raw}), which reports wall-clock time and its own CPU time (user +
sys); the orchestrator pre-fills the consume workloads' queues and drains
the publish workloads' with raw sockets, untimed.  Within each repetition
every workload runs once per client, the clients' order rotating from one
repetition to the next; the report gives medians and min-max over the
repetitions, and ratios of medians to stomp.py measured in the same run.
A broker with its own list of workloads (L{Broker.workloads}) runs only
those, unless --workloads names others.

Unless --no-docs is given, the report is written to docs/_perf_table.inc
(included by docs/performance.rst) and every sample to
bench/last_run.json.  The benchmarks talk to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import raw
from bench.harness import BROKERS, Broker, broker_title, parse_result, summarize, unique_queue
from bench.targets import WORKLOAD_METRICS, every_workload, targets

ROOT = Path(__file__).resolve().parent.parent

#: Where scripts/build_compiled puts the package with its codec compiled.
COMPILED_BUILD = ROOT / "build" / "compiled"
# Included by docs/performance.rst (not .rst: Sphinx would take it for a
# page of its own).
TABLE_FILE = ROOT / "docs" / "_perf_table.inc"
RESULTS_FILE = ROOT / "bench" / "last_run.json"
CLIENTS = ("stomp_twisted", "stomp.py", "stompman")
BASELINE = "stomp.py"
RAW_PUBLISH = "raw writer"
RAW_EAGER = "raw reader, eager"
RAW_BATCH = "raw reader, batching"
RAW_TWISTED = "raw Twisted client"
#: stomp_twisted from COMPILED_BUILD: the workloads where the decoder's
#: share of the work is largest, when make bench has built it.
COMPILED = "stomp_twisted, compiled"
KIB = 1024
MIB = 1024 * 1024


@dataclass(frozen=True)
class Spec:
    """
    One row group of the report: a workload, its size, and who runs it.

    @ivar key: the name in the report.
    @ivar workload: the L{bench.workloads} workload (or C{publish} /
        C{consume} for the raw ceiling).
    @ivar clients: the clients (and raw variants) that run it.
    @ivar count: messages per run.
    @ivar counts: per-client overrides of C{count}, for a client too slow
        to run the whole count in reasonable time.
    @ivar prefill: whether the queue is filled before the run.
    @ivar drain: whether the queue is emptied after the run.
    @ivar latency: whether the result is latency rather than throughput.
    """

    key: str
    title: str
    workload: str
    clients: tuple[str, ...]
    count: int
    size: int = 100
    counts: dict[str, int] = field(default_factory=dict)
    prefill: bool = False
    drain: bool = False
    latency: bool = False
    window: int = 1000
    rate: float = 200.0


def specs(quick: bool) -> list[Spec]:
    n = 10_000 if quick else 20_000
    everyone = CLIENTS
    compiled = (COMPILED,) if compiled_built() else ()
    # (Each compiled row right under the pure one.)
    with_compiled = (CLIENTS[0], *compiled, *CLIENTS[1:])
    return [
        Spec(
            "publish",
            "publish, no receipts",
            "publish",
            (RAW_PUBLISH, *everyone),
            n,
            drain=True,
        ),
        Spec(
            "consume",
            "consume, ack:auto",
            "consume",
            (RAW_EAGER, RAW_BATCH, *with_compiled),
            n,
            prefill=True,
        ),
        Spec("consume-ack", "consume, client ACKs", "consume-ack", everyone, n, prefill=True),
        Spec(
            "confirm",
            "confirmed publish, one at a time",
            "confirm",
            everyone,
            1000 if quick else 2000,
            drain=True,
        ),
        Spec(
            "confirm-window",
            "confirmed publish, 1,000 in flight",
            "confirm-window",
            ("stomp_twisted",),
            n,
            drain=True,
        ),
        Spec(
            "rtt",
            "round trip, back to back",
            "rtt",
            (RAW_TWISTED, *everyone),
            500 if quick else 1000,
            latency=True,
        ),
        # 1,000 round trips at 200 a second, not 200: of 200 samples the p99
        # is the second slowest, and its ratio to stomp.py's ranged from
        # x0.68 to x1.94 within one run.
        Spec(
            "rtt-low",
            "round trip at 200 msg/s",
            "rtt-low",
            (RAW_TWISTED, *with_compiled),
            300 if quick else 1000,
            latency=True,
        ),
        Spec(
            "publish-10k",
            "publish, 10 KiB bodies",
            "publish",
            (RAW_PUBLISH, *everyone),
            1000 if quick else 3000,
            size=10 * KIB,
            drain=True,
        ),
        Spec(
            "consume-10k",
            "consume, 10 KiB bodies",
            "consume",
            (RAW_EAGER, RAW_BATCH, *with_compiled),
            # 10,000, not 3,000: a run of 3,000 lasted 0.1-0.3 s on ActiveMQ,
            # and its rate for the same client varied four-fold.
            3000 if quick else 10_000,
            size=10 * KIB,
            counts={"stompman": 200 if quick else 500},
            prefill=True,
        ),
        # 150 bodies of 1 MiB, not 50: a run of 50 lasted about 25 ms, and one
        # broker stall (40-80 ms, seen with every client) in three repetitions
        # decided the median.
        Spec(
            "publish-1m",
            "publish, 1 MiB bodies",
            "publish",
            (RAW_PUBLISH, *everyone),
            50 if quick else 150,
            size=MIB,
            drain=True,
        ),
        Spec(
            "consume-1m",
            "consume, 1 MiB bodies",
            "consume",
            (RAW_EAGER, RAW_BATCH, *with_compiled),
            50 if quick else 150,
            size=MIB,
            counts={"stompman": 3},
            prefill=True,
        ),
    ]


# --- running ------------------------------------------------------------------


def child_command(spec: Spec, client: str, broker: Broker, queue: str, count: int) -> list[str]:
    python = sys.executable
    common = ["--broker", broker.name, "--queue", queue, "--count", str(count)]
    common += ["--size", str(spec.size)]
    if client == RAW_PUBLISH:
        return [python, "-m", "bench.raw", "publish", *common]
    if client == RAW_EAGER:
        return [python, "-m", "bench.raw", "consume-eager", *common]
    if client == RAW_TWISTED:
        rate = ["--rate", str(spec.rate)]
        return [python, "-m", "bench.raw_twisted", spec.workload, *common, *rate]
    if client == RAW_BATCH:
        return [python, "-m", "bench.raw", "consume-batch", *common]
    extra = ["--window", str(spec.window), "--rate", str(spec.rate)]
    # The compiled build runs the stomp_twisted workloads, from its own path.
    interpreter = child_python(compiled=client == COMPILED)[0]
    library = "stomp_twisted" if client == COMPILED else client
    return [*interpreter, "-m", "bench.workloads", library, spec.workload, *common, *extra]


def compiled_built() -> bool:
    """
    Whether C{COMPILED_BUILD} holds a build of the package.
    """
    return (COMPILED_BUILD / "stomp_twisted").is_dir()


def child_python(compiled: bool = False) -> tuple[list[str], dict[str, str]]:
    """
    The interpreter command and environment of a child process that
    imports stomp_twisted from the tree or, if C{compiled}, from
    C{COMPILED_BUILD}, first on C{PYTHONPATH}; C{-P} then keeps the
    current directory (the tree, whose package is the pure one) off
    C{sys.path}.
    """
    if compiled:
        path = f"{COMPILED_BUILD}{os.pathsep}{ROOT}"
        return [sys.executable, "-P"], dict(os.environ, PYTHONPATH=path)
    return [sys.executable], dict(os.environ, PYTHONPATH=str(ROOT))


def run_one(spec: Spec, client: str, broker: Broker, timeout: float) -> dict[str, Any]:
    count = spec.counts.get(client, spec.count)
    queue = unique_queue(spec.key)
    if spec.prefill:
        try:
            raw.fill(broker, queue, count, spec.size)
        except (OSError, RuntimeError) as error:  # the broker is down, restarting...
            return {"error": f"could not fill the queue: {error}"}
    env = child_python(compiled=client == COMPILED)[1]
    command = child_command(spec, client, broker, queue, count)
    started = time.monotonic()
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result = parse_result(done.stdout)
        if result is None:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            result = {"error": f"exit {done.returncode}: {' / '.join(tail)}"}
    except subprocess.TimeoutExpired:
        result = {"error": f"no result within {timeout:g} s"}
    result["elapsed"] = time.monotonic() - started
    if spec.drain or (spec.prefill and "error" in result):
        # Leave nothing behind on the broker (RabbitMQ also deletes the
        # auto-delete queue once the drain's subscription leaves).
        try:
            result["drained"] = raw.drain(broker, queue, count, timeout=5.0)
        except (OSError, RuntimeError) as error:
            result["drain_error"] = str(error)
    return result


def rotated(items: tuple[str, ...], turn: int) -> list[str]:
    turn %= len(items)
    return list(items[turn:] + items[:turn])


def run_codec(quick: bool) -> dict[str, Any]:
    """
    The codec micro-benchmark on the pure package and, where
    C{build/compiled} holds a build with the codec compiled (C{make bench}
    makes one), its parsing on that build too, as the operations
    C{"parse, compiled"} and C{"parse ActiveMQ, compiled"}: a process
    each, each against stomp.py in its own process.
    """
    result = _codec_process(quick)
    if "error" in result or not compiled_built():
        return result
    compiled = _codec_process(quick, compiled=True)
    if "error" in compiled:
        return {**result, "error": compiled["error"]}
    if compiled.get("compiled") is not True:
        return {**result, "error": [f"{COMPILED_BUILD} ran the pure decoder"]}
    for table in ("rates", "summary"):
        for operation in ("parse", "parse ActiveMQ"):
            result[table][f"{operation}, compiled"] = compiled[table][operation]
    return result


def _codec_process(quick: bool, compiled: bool = False) -> dict[str, Any]:
    # In one process, quick: more repetitions than the workloads.
    frames, repeat = (30_000, 3) if quick else (100_000, 7)
    python, env = child_python(compiled)
    command = [*python, "-m", "bench.codec", "--json", "--frames", str(frames)]
    command += ["--repeat", str(repeat)] + (["--no-stompman"] if compiled else [])
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    result = parse_result(done.stdout)
    if result is None:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    return result


def broker_version(broker: Broker) -> str:
    try:
        connection = raw.RawConnection(broker, timeout=10)
    except (OSError, RuntimeError) as error:
        return f"unreachable ({error})"
    server = connection.server
    connection.disconnect()
    return server


def version_of(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine(brokers: Iterable[Broker]) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "twisted": version_of("twisted"),
        "stomp_twisted": version_of("stomp_twisted"),
        "stomp.py": version_of("stomp.py"),
        "stompman": version_of("stompman"),
        "brokers": {broker.name: broker_version(broker) for broker in brokers},
        "loadavg_start": os.getloadavg()[0],
    }


# --- reporting ----------------------------------------------------------------------


def throughput_summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    good = [s for s in samples if "error" not in s]
    return {
        "rate": summarize([s["rate"] for s in good]),
        "cpu_us": summarize([s["cpu_us"] for s in good]),
        "errors": [s["error"] for s in samples if "error" in s],
    }


def latency_summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    good = [s for s in samples if "error" not in s]
    return {
        "p50_us": summarize([s["p50_us"] for s in good]),
        "p99_us": summarize([s["p99_us"] for s in good]),
        "cpu_us": summarize([s["cpu_us"] for s in good]),
        "errors": [s["error"] for s in samples if "error" in s],
    }


def summarize_run(
    results: dict[str, dict[str, dict[str, list[dict[str, Any]]]]], all_specs: list[Spec]
) -> dict[str, Any]:
    by_key = {spec.key: spec for spec in all_specs}
    summary: dict[str, Any] = {}
    for broker, by_spec in results.items():
        summary[broker] = {}
        for key, by_client in by_spec.items():
            summarize_samples = latency_summary if by_key[key].latency else throughput_summary
            summary[broker][key] = {
                client: summarize_samples(samples) for client, samples in by_client.items()
            }
    return summary


def _num(value: float, digits: int = 0) -> str:
    if value != value:  # NaN
        return "--"
    return f"{value:,.{digits}f}"


def _cell(stats: dict[str, float], digits: int = 0) -> str:
    if not stats.get("n"):
        return "failed"
    median = _num(stats["median"], digits)
    if stats["n"] == 1:
        return median
    return f"{median} ({_num(stats['min'], digits)}-{_num(stats['max'], digits)})"


def _ratio(value: float, base: float | None) -> str:
    if base is None or base != base or not base or value != value:
        return ""
    return f"x{value / base:.2f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    rule = "  ".join("=" * width for width in widths)
    lines = [
        rule,
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
        rule,
    ]
    for row in rows:
        cells = [(cell or "..").ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    lines.append(rule)
    return lines


def throughput_rows(spec: Spec, by_client: dict[str, Any], ceiling: str | None) -> list[list[str]]:
    base = by_client.get(BASELINE)
    base_rate = base["rate"]["median"] if base and base["rate"]["n"] else None
    base_cpu = base["cpu_us"]["median"] if base and base["cpu_us"]["n"] else None
    top = by_client.get(ceiling) if ceiling else None
    top_rate = top["rate"]["median"] if top and top["rate"]["n"] else None
    rows = []
    for client in spec.clients:
        stats = by_client.get(client)
        if stats is None:
            continue
        rate, cpu = stats["rate"], stats["cpu_us"]
        raw_client = client.startswith("raw")
        rows.append(
            [
                spec.title if not rows else "",
                client,
                _cell(rate),
                _ratio(rate["median"], base_rate) if rate["n"] else "",
                f"{rate['median'] / top_rate:.0%}" if rate["n"] and top_rate else "",
                _cell(cpu, 1),
                "" if raw_client else (_ratio(cpu["median"], base_cpu) if cpu["n"] else ""),
            ]
        )
    return rows


def latency_rows(spec: Spec, by_client: dict[str, Any]) -> list[list[str]]:
    base = by_client.get(BASELINE)
    rows = []
    for client in spec.clients:
        stats = by_client.get(client)
        if stats is None:
            continue
        base_p50 = base["p50_us"]["median"] if base and base["p50_us"]["n"] else None
        base_p99 = base["p99_us"]["median"] if base and base["p99_us"]["n"] else None
        rows.append(
            [
                spec.title if not rows else "",
                client,
                _cell(stats["p50_us"]),
                _ratio(stats["p50_us"]["median"], base_p50) if stats["p50_us"]["n"] else "",
                _cell(stats["p99_us"]),
                _ratio(stats["p99_us"]["median"], base_p99) if stats["p99_us"]["n"] else "",
                _cell(stats["cpu_us"], 1),
            ]
        )
    return rows


def render(
    info: dict[str, Any],
    summary: dict[str, Any],
    samples: dict[str, dict[str, dict[str, list[dict[str, Any]]]]],
    codec: dict[str, Any],
    all_specs: list[Spec],
    command: str,
) -> str:
    lines = [
        ".. This file is written by the benchmark harness (bench/run.py): do not edit.",
        "",
        "The machine and the run",
        "~~~~~~~~~~~~~~~~~~~~~~~",
        "",
        f"* Run: ``{command}``, {info['date']}, {info['repeat']} repetitions"
        f"{' (--quick)' if info['quick'] else ''}, {info['duration_min']:.1f} minutes.",
        f"* CPU: {info['cpu']}, {info['nproc']} cores (``nproc``); "
        f"Linux {info['kernel']}; load average {info['loadavg_start']:.2f} at the start, "
        f"{info['loadavg_end']:.2f} at the end.",
        f"* Python {info['python']}, Twisted {info['twisted']}; "
        f"stomp_twisted {info['stomp_twisted']}, stomp.py {info['stomp.py']}, "
        f"stompman {info['stompman']}.",
        "* Brokers: "
        + ", ".join(f"{name} ({version})" for name, version in info["brokers"].items())
        + ", on the same machine.",
        "",
    ]
    if codec.get("summary"):
        lines += [
            "Codec",
            "~~~~~",
            "",
            f"Frames per second of CPU time, {codec['frames']:,} frames, median "
            f"(min-max) of {codec['repeat']}.",
            "",
        ]
        rows = []
        for operation, by_name in codec["summary"].items():
            base = by_name["stomp.py"]["median"]
            for name, stats in by_name.items():
                rows.append(
                    [operation if not rows or rows[-1][0] != operation else "", name, _cell(stats)]
                )
                rows[-1].append(_ratio(stats["median"], base))
        lines += _table(["operation", "library", "frames/s", "x stomp.py"], rows)
        lines.append("")
    rows = targets(codec, samples)
    if rows:
        lines += [
            "Targets",
            "~~~~~~~",
            "",
            "Ratios of medians; the range is that of the ratios repetition by repetition.",
            "Every goal holds on both brokers.",
            "",
        ]
        lines += _table(["target", "goal", "measured", "range", ""], rows)
        lines.append("")
    rows = every_workload(samples, {spec.key: spec.title for spec in all_specs})
    if rows:
        lines += [
            "Every workload against stomp.py",
            "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",
            "",
            "The goal: at least stomp.py's messages per second and at most its CPU per",
            "message; for latency, at most its p50, p99 and CPU per message. Ratios of",
            "medians, with the range of the ratios repetition by repetition.",
            "",
        ]
        header = ["broker", "workload", *(name for _, name, _ in WORKLOAD_METRICS), ""]
        lines += _table(header, rows)
        lines.append("")
    for broker, by_spec in summary.items():
        title = broker_title(broker)
        throughput: list[list[str]] = []
        latency: list[list[str]] = []
        for spec in all_specs:
            if spec.key not in by_spec:
                continue
            if spec.latency:
                latency += latency_rows(spec, by_spec[spec.key])
            else:
                ceiling = RAW_PUBLISH if spec.workload == "publish" else RAW_BATCH
                if spec.workload not in ("publish", "consume"):
                    ceiling = None  # type: ignore[assignment]
                throughput += throughput_rows(spec, by_spec[spec.key], ceiling)
        lines += [title, "~" * len(title), ""]
        if throughput:
            header = ["workload", "client", "msg/s", "x stomp.py", "of raw", "CPU us/msg"]
            header.append("x stomp.py")
            lines += _table(header, throughput)
            lines.append("")
        if latency:
            header = ["latency", "client", "p50 us", "x stomp.py", "p99 us", "x stomp.py"]
            header.append("CPU us/msg")
            lines += _table(header, latency)
            lines.append("")
        errors = [
            f"{spec}/{client}: {error}"
            for spec, by_client in by_spec.items()
            for client, stats in by_client.items()
            for error in stats["errors"]
        ]
        if errors:
            lines += ["Failed runs:", ""] + [f"* ``{error[:200]}``" for error in errors] + [""]
    return "\n".join(lines) + "\n"


# --- main ---------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages, 2 repetitions")
    parser.add_argument("--repeat", type=int, help="repetitions (default 5, or 2 with --quick)")
    parser.add_argument("--brokers", default=",".join(BROKERS))
    parser.add_argument("--workloads", help="comma-separated report keys (default: all)")
    parser.add_argument("--no-codec", action="store_true")
    parser.add_argument("--no-docs", action="store_true", help="write no report file")
    parser.add_argument("--json", type=Path, help="also write all samples to this file")
    parser.add_argument("--timeout", type=float, default=240.0, help="per child process")
    options = parser.parse_args()
    repeat = options.repeat or (2 if options.quick else 5)
    brokers = [BROKERS[name] for name in options.brokers.split(",")]
    all_specs = specs(options.quick)
    chosen = all_specs
    if options.workloads:
        wanted = set(options.workloads.split(","))
        chosen = [spec for spec in all_specs if spec.key in wanted]
    started = time.monotonic()
    info = machine(brokers)
    info.update(repeat=repeat, quick=options.quick)
    print(f"bench: {info['cpu']}, {info['nproc']} cores, brokers {info['brokers']}", flush=True)
    codec: dict[str, Any] = {}
    if not options.no_codec:
        print("bench: codec micro-benchmark", flush=True)
        codec = run_codec(options.quick)
    results: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {}
    for broker in brokers:
        by_spec = results.setdefault(broker.name, {})
        for_broker = chosen
        if broker.workloads is not None and not options.workloads:
            for_broker = [spec for spec in chosen if spec.key in broker.workloads]
        for turn in range(repeat):
            for spec in for_broker:
                for client in rotated(spec.clients, turn):
                    result = run_one(spec, client, broker, options.timeout)
                    by_spec.setdefault(spec.key, {}).setdefault(client, []).append(result)
                    if "error" in result:
                        shown = f"ERROR {result['error'][:160]}"
                    elif spec.latency:
                        shown = f"p50 {result['p50_us']:,.0f} us  p99 {result['p99_us']:,.0f} us"
                    else:
                        shown = f"{result['rate']:>9,.0f} msg/s  {result['cpu_us']:6.1f} us CPU/msg"
                    print(
                        f"bench: {broker.name:8} {turn + 1}/{repeat} {spec.key:14} "
                        f"{client:22} {shown}",
                        flush=True,
                    )
    info["loadavg_end"] = os.getloadavg()[0]
    info["duration_min"] = (time.monotonic() - started) / 60
    summary = summarize_run(results, all_specs)
    command = "make bench"
    if sys.argv[1:]:
        command += f" BENCH_ARGS='{' '.join(sys.argv[1:])}'"
    table = render(info, summary, results, codec, all_specs, command)
    print()
    print(table)
    everything = {"machine": info, "codec": codec, "summary": summary, "samples": results}
    if options.json:
        options.json.write_text(json.dumps(everything, indent=1) + "\n")
    if not options.no_docs:
        TABLE_FILE.write_text(table)
        RESULTS_FILE.write_text(json.dumps(everything, indent=1) + "\n")
        print(f"bench: wrote {TABLE_FILE.relative_to(ROOT)} and {RESULTS_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
