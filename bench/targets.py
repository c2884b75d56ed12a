"""
The project's speed goals, checked against one run of L{bench.run}: ratios
of medians to stomp.py measured in the same run, with the range of the
ratios repetition by repetition.

Two tables:

  - L{targets}: the named goals (codec, 100-byte consume and publish,
    confirmed publishing), each with its own bound;
  - L{every_workload}: stomp_twisted against stomp.py on every workload
    they both run, on every broker: at least its messages per second and
    at most its CPU per message, or for the latency workloads at most its
    p50, p99 and CPU per message.

Both give a verdict on every broker: none of these goals is set for one
broker only.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.harness import broker_title

BASELINE = "stomp.py"
OURS = "stomp_twisted"
RAW_PUBLISH = "raw writer"
RAW_BATCH = "raw reader, batching"

#: Frames per second of CPU time, as multiples of stomp.py's; parsing with
#: the pure decoder and with the one mypyc compiles (setup.py) alike.
CODEC_GOALS = (
    ("parse", 8.0),
    ("parse, compiled", 8.0),
    ("serialize", 2.5),
)

Samples = dict[str, dict[str, dict[str, list[dict[str, Any]]]]]


@dataclass(frozen=True)
class Target:
    """
    One named goal: C{client}'s C{metric} on C{key}, over C{base}'s on
    C{base_key}, against C{goal} (a floor if C{higher}, else a ceiling).
    """

    what: str
    key: str
    base_key: str
    base: str
    metric: str
    goal: float
    higher: bool = True
    client: str = OURS


TARGETS = [
    Target("consume: msg/s, x stomp.py", "consume", "consume", BASELINE, "rate", 1.5),
    Target("consume: msg/s, of raw batching reader", "consume", "consume", RAW_BATCH, "rate", 0.80),
    Target("consume: CPU/msg, x stomp.py", "consume", "consume", BASELINE, "cpu_us", 0.25, False),
    Target("publish: msg/s, x stomp.py", "publish", "publish", BASELINE, "rate", 1.3),
    Target("publish: msg/s, of raw writer", "publish", "publish", RAW_PUBLISH, "rate", 0.80),
    Target("publish: CPU/msg, x stomp.py", "publish", "publish", BASELINE, "cpu_us", 0.35, False),
    Target(
        "confirmed, 1,000 in flight: msg/s, x stomp.py's one at a time",
        "confirm-window",
        "confirm",
        BASELINE,
        "rate",
        3.0,
    ),
]


def paired_ratios(values: Sequence[float | None], bases: Sequence[float | None]) -> list[float]:
    """
    The ratio of each repetition's value to the same repetition's base.
    """
    return [v / b for v, b in zip(values, bases, strict=False) if v is not None and b]


def ratio_range(ratios: list[float], percent: bool = False) -> str:
    """
    The lowest and highest of C{ratios}, or nothing for fewer than two.
    """
    if len(ratios) < 2:
        return ""
    if percent:
        return f"{min(ratios):.0%}-{max(ratios):.0%}"
    return f"x{min(ratios):.2f}-x{max(ratios):.2f}"


def _verdict(value: float, goal: float, higher: bool) -> str:
    return "met" if (value >= goal if higher else value <= goal) else "MISSED"


def _compare(
    runs: list[dict[str, Any]], base_runs: list[dict[str, Any]], metric: str
) -> tuple[float, list[float]] | None:
    # The ratio of medians, and the ratios repetition by repetition.
    ours = [run.get(metric) for run in runs]
    theirs = [run.get(metric) for run in base_runs]
    good = [value for value in ours if value is not None]
    good_base = [value for value in theirs if value is not None]
    if not good or not good_base or not statistics.median(good_base):
        return None
    return statistics.median(good) / statistics.median(good_base), paired_ratios(ours, theirs)


def targets(codec: dict[str, Any], samples: Samples) -> list[list[str]]:
    """
    Rows of the named goals: target, goal, measured, range, verdict.
    """
    rows: list[list[str]] = []
    for operation, goal in CODEC_GOALS:
        rates = codec.get("rates", {}).get(operation)
        if not rates:
            continue
        value = statistics.median(rates[OURS]) / statistics.median(rates[BASELINE])
        ratios = paired_ratios(rates[OURS], rates[BASELINE])
        rows.append(
            [
                f"codec: {operation}, x stomp.py",
                f"x{goal:.2f}",
                f"x{value:.2f}",
                ratio_range(ratios),
                _verdict(value, goal, True),
            ]
        )
    for broker, by_spec in samples.items():
        title = broker_title(broker)
        for target in TARGETS:
            percent = target.base.startswith("raw")
            compared = _compare(
                by_spec.get(target.key, {}).get(target.client, []),
                by_spec.get(target.base_key, {}).get(target.base, []),
                target.metric,
            )
            if compared is None:
                continue
            value, ratios = compared
            rows.append(
                [
                    f"{title} {target.what}",
                    f"{target.goal:.0%}" if percent else f"x{target.goal:.2f}",
                    f"{value:.0%}" if percent else f"x{value:.2f}",
                    ratio_range(ratios, percent),
                    _verdict(value, target.goal, target.higher),
                ]
            )
    return rows


#: The columns of L{every_workload}'s rows after broker and workload:
#: the metrics compared, and whether more is better.
WORKLOAD_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("rate", "msg/s", True),
    ("p50_us", "p50", False),
    ("p99_us", "p99", False),
    ("cpu_us", "CPU/msg", False),
)


def every_workload(samples: Samples, titles: dict[str, str]) -> list[list[str]]:
    """
    Rows of stomp_twisted against stomp.py on every workload both ran:
    broker, workload, one cell per L{WORKLOAD_METRICS} (C{xR (range)},
    empty where the workload does not measure it), and the verdict
    (C{met}, or C{MISSED:} and the metrics that missed).

    @param titles: workload keys to the titles the report shows.
    """
    rows: list[list[str]] = []
    for broker, by_spec in samples.items():
        for key, by_client in by_spec.items():
            ours, theirs = by_client.get(OURS), by_client.get(BASELINE)
            if not ours or not theirs:
                continue
            latency = any("p50_us" in run for run in ours + theirs)
            cells: list[str] = []
            missed: list[str] = []
            for metric, name, higher in WORKLOAD_METRICS:
                if metric in (("rate",) if latency else ("p50_us", "p99_us")):
                    cells.append("")
                    continue
                compared = _compare(ours, theirs, metric)
                if compared is None:
                    cells.append("failed")
                    missed.append(f"{name} not measured")
                    continue
                value, ratios = compared
                spread = ratio_range(ratios)
                cells.append(f"x{value:.2f}" + (f" ({spread})" if spread else ""))
                if _verdict(value, 1.0, higher) != "met":
                    missed.append(name)
            verdict = "met" if not missed else "MISSED: " + ", ".join(missed)
            rows.append([broker_title(broker), titles.get(key, key), *cells, verdict])
    return rows
