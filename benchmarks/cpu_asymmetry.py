"""Do the CPUs of this machine run the same code at the same speed?

Why: a flagged test is re-measured on each CPU in turn and counts only when every
CPU repeats the slowdown (``engine/affinity.py``). That helps only if one vCPU
can run a workload slower than another for longer than a test takes to measure,
while the machine probe's reference workload does not show it.

The script pins itself to each CPU in turn and, on each, times the 10th
percentile of two workloads: ``spin`` (the detection study's ~1 ms loop of
integer multiply-adds) and ``reference`` (the machine probe's workload, see
``regression._reference_workload``). One row per round of all CPUs. Reported:
for each workload, the share of rounds in which the slowest CPU's p10 is more
than ``--gap`` over the fastest's, the longest run of consecutive such rounds
(with the same CPU slowest) and its length in seconds, and how often ``spin``
differs while ``reference`` does not — what a probe cannot see. Ratios only:
absolute times mean little on a shared machine.

Run: ``python benchmarks/cpu_asymmetry.py [--seconds S] [--gap G] [--out FILE]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from _common import emit, header, table

from pytest_perfbudget.regression import _reference_workload


def spin(n: int = 25_000) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


WORKLOADS: dict[str, Callable[[], object]] = {"spin": spin, "reference": _reference_workload}
CALLS = 30


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


def longest(flags: Sequence[int | None], times: Sequence[float]) -> tuple[int, float]:
    """The longest run of equal non-None flags: its rounds and its seconds."""
    best, best_s, length, first = 0, 0.0, 0, 0
    for i, flag in enumerate(flags):
        if flag is not None and i and flags[i - 1] == flag:
            length += 1
        else:
            length, first = (1, i) if flag is not None else (0, i)
        if length > best:
            best = length
            best_s = times[i] - (times[first - 1] if first else 0.0)
    return best, best_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--gap", type=float, default=0.12, help="relative difference counted")
    parser.add_argument("--out", type=Path, help="append the Markdown results to this file")
    opts = parser.parse_args()
    if not hasattr(os, "sched_setaffinity"):
        sys.exit("needs os.sched_setaffinity (Linux)")
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        sys.exit("needs at least two CPUs")
    data = rounds(cpus, opts.seconds)
    times = [t for t, _ in data]
    slowest: dict[str, list[int | None]] = {}
    rows = []
    for name in WORKLOADS:
        flags: list[int | None] = []
        for _, row in data:
            values = row[name]
            apart = max(values) / min(values) - 1 > opts.gap
            flags.append(values.index(max(values)) if apart else None)
        slowest[name] = flags
        count = sum(flag is not None for flag in flags)
        run, run_s = longest(flags, times)
        ratios = sorted(max(row[name]) / min(row[name]) for _, row in data)
        rows.append(
            [
                name,
                f"{count}/{len(data)} ({100 * count / len(data):.0f} %)",
                f"{ratios[len(ratios) // 2]:.2f}",
                f"{ratios[int(len(ratios) * 0.9)]:.2f}",
                f"{run} rounds, {run_s:.1f} s",
            ]
        )
    hidden = sum(
        s is not None and r is None
        for s, r in zip(slowest["spin"], slowest["reference"], strict=True)
    )
    head = [
        "workload",
        f"rounds with the CPUs > {100 * opts.gap:.0f} % apart",
        "slowest/fastest CPU p10, median",
        "p90",
        "longest run, same CPU slowest",
    ]
    emit(
        "\n".join(
            [
                header("CPU asymmetry (cpu_asymmetry.py)", sys.argv),
                f"{len(data)} rounds over {times[-1]:.0f} s on CPUs {cpus}; each round times "
                f"the p10 of {CALLS} calls of each workload on each CPU, pinned.\n",
                table(head, rows),
                "",
                f"Rounds where `spin` ran > {100 * opts.gap:.0f} % apart on the CPUs while "
                f"`reference` did not: {hidden}/{len(data)} ({100 * hidden / len(data):.0f} %).",
                "",
            ]
        ),
        opts.out,
    )


if __name__ == "__main__":
    main()
