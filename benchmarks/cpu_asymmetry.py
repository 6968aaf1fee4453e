"""Does a re-measurement on another CPU escape a slow state more often?

Why: a flagged test is re-measured before it fails. If the host's slow states
were per vCPU and lasting, a re-measurement pinned to another CPU would escape
them more often than one the scheduler leaves where the test ran.

The script pins itself to each CPU in turn and, on each, times the 10th
percentile of two workloads: ``spin`` (the detection study's ~1 ms loop of
integer multiply-adds) and ``reference`` (``_common.reference_workload``, the
workload of the machine probe the plugin had until it re-measured in blocks
spread out in time). One row per round of all CPUs. A CPU is
*slow* in a round when its p10 is over ``--slow`` times its own fast level (the
10th percentile of its p10s over the run). Reported per workload: each CPU's
fast level relative to the first CPU's, the share of rounds each CPU is slow,
and the share in which all are; then, given a CPU slow in a round, how often the
same CPU and another CPU are slow 1, 2 and 3 rounds later. Ratios only: absolute
times mean little on a shared machine.

Run: ``python benchmarks/cpu_asymmetry.py [--seconds S] [--slow X] [--out FILE]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from _common import emit, header, reference_workload, table


def spin(n: int = 25_000) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


WORKLOADS: dict[str, Callable[[], object]] = {"spin": spin, "reference": reference_workload}
CALLS = 20


def p10(fn: Callable[[], object], calls: int = CALLS) -> float:
    times = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - start)
    times.sort()
    return times[len(times) // 10]


def rounds(cpus: Sequence[int], seconds: float) -> list[tuple[float, dict[str, list[float]]]]:
    """(time, per workload the p10 on each CPU) for each round, until ``seconds`` passed."""
    out = []
    start = time.perf_counter()
    allowed = os.sched_getaffinity(0)
    try:
        while time.perf_counter() - start < seconds:
            row: dict[str, list[float]] = {name: [] for name in WORKLOADS}
            for cpu in cpus:
                os.sched_setaffinity(0, {cpu})
                for name, fn in WORKLOADS.items():
                    row[name].append(p10(fn))
            out.append((time.perf_counter() - start, row))
    finally:
        os.sched_setaffinity(0, allowed)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--slow", type=float, default=1.2, help="slow: over this x fast level")
    parser.add_argument("--out", type=Path, help="append the Markdown results to this file")
    opts = parser.parse_args()
    if not hasattr(os, "sched_setaffinity"):
        sys.exit("needs os.sched_setaffinity (Linux)")
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        sys.exit("needs at least two CPUs")
    data = rounds(cpus, opts.seconds)
    per_round = data[-1][0] / len(data)
    levels, persistence = [], []
    for name in WORKLOADS:
        columns = list(zip(*(row[name] for _, row in data), strict=True))
        fast = [sorted(column)[len(column) // 10] for column in columns]
        slow = [[value > opts.slow * f for value, f in zip(row[name], fast, strict=True)]
                for _, row in data]  # fmt: skip
        share = [sum(row[c] for row in slow) / len(slow) for c in range(len(cpus))]
        levels.append(
            [
                name,
                " / ".join(f"{f / fast[0]:.2f}" for f in fast),
                " / ".join(f"{100 * x:.0f} %" for x in share),
                f"{100 * sum(all(row) for row in slow) / len(slow):.0f} %",
            ]
        )
        for k in (1, 2, 3):
            same = other = given = 0
            for i in range(len(slow) - k):
                for c in range(len(cpus)):
                    if slow[i][c]:
                        given += 1
                        same += slow[i + k][c]
                        other += sum(slow[i + k][d] for d in range(len(cpus)) if d != c) / (
                            len(cpus) - 1
                        )
            persistence.append(
                [
                    name,
                    f"{k * per_round:.2f} s",
                    f"{100 * same / max(given, 1):.0f} %",
                    f"{100 * other / max(given, 1):.0f} %",
                    given,
                ]
            )
    emit(
        "\n".join(
            [
                header("Slow states per CPU (cpu_asymmetry.py)", sys.argv),
                f"{len(data)} rounds over {data[-1][0]:.0f} s on CPUs {cpus} ({per_round:.2f} s "
                f"a round); each round times the p10 of {CALLS} calls of each workload on each "
                f"CPU, pinned. Slow: p10 over {opts.slow} x that CPU's fast level.\n",
                table(
                    [
                        "workload",
                        "fast level per CPU (x CPU 0)",
                        "rounds slow, per CPU",
                        "rounds all CPUs slow",
                    ],
                    levels,
                ),
                "",
                table(
                    [
                        "workload",
                        "later by",
                        "same CPU slow again",
                        "another CPU slow",
                        "slow CPU-rounds given",
                    ],
                    persistence,
                ),
                "",
            ]
        ),
        opts.out,
    )


if __name__ == "__main__":
    main()
