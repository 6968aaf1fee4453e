"""Time to a decided verdict, and the precision it buys, versus pytest-benchmark defaults.

DESIGN.md §6 target: less measuring time than pytest-benchmark's defaults for the
same precision. Two pure-Python workloads, ~10 µs and ~1 ms. Session kinds, run
in a shuffled order inside every repetition (same timeline):

- ``ours-budget``: ``@pytest.mark.budget(p95="1s")`` + ``perf(fn)``, no baseline
  (sampling stops once the absolute budget is decided);
- ``ours-baseline``: the same test against a baseline saved at the start (the
  default gate: sampling continues until the change against the baseline is
  decided, or the median is stable);
- ``bench``: ``benchmark(fn)`` with pytest-benchmark's defaults;
- ``ours-off`` / ``bench-off``: the same sessions with ``--perfbudget-disable`` /
  ``--benchmark-disable`` (the function runs once), the no-measure reference.

Measuring time = session wall time minus the paired no-measure session of the
same tool in the same repetition; also each tool's own figure (our ``elapsed``;
pytest-benchmark ``stats.total`` = rounds × iterations × mean, calibration
excluded). Precision = relative width of the 99 % order-statistic bounds of the
median (computed the same way, with pytest_perfbudget.stats, from each tool's raw
samples); pytest-benchmark's own stddev/mean and rounds are shown too.

Run: ``python benchmarks/time_to_verdict.py [--quick] [--out FILE]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from _common import Run, describe, emit, header, project, pytest_run, read_json, table

from pytest_perfbudget.baseline import decode_samples
from pytest_perfbudget.stats import summarize

WORKLOADS = {"10us": 250, "1ms": 25_000}

FUNCS = """\
def spin(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def ten_us():
    return spin(250)


def one_ms():
    return spin(25_000)
"""

OURS = """\
import pytest

import funcs


@pytest.mark.budget(p95="1s")
def test_10us(perf):
    perf(funcs.ten_us)


@pytest.mark.budget(p95="1s")
def test_1ms(perf):
    perf(funcs.one_ms)
"""

BENCH = """\
import funcs


def test_10us(benchmark):
    benchmark(funcs.ten_us)


def test_1ms(benchmark):
    benchmark(funcs.one_ms)
"""

KINDS = ("ours-budget", "ours-baseline", "bench", "ours-off", "bench-off")


def args_for(kind: str, workload: str, root: Path) -> list[str]:
    """pytest arguments of one session kind on one workload."""
    if kind.startswith("ours"):
        target = f"test_ours.py::test_{workload}"
        base = root / ("saved.json" if kind == "ours-baseline" else "none.json")
        args = [target, "-p", "no:benchmark", f"--perfbudget-baseline={base}"]
        args.append(
            "--perfbudget-disable" if kind == "ours-off" else f"--perfbudget-json={root}/o.json"
        )
        return args
    target = f"test_bench.py::test_{workload}"
    extra = ["--benchmark-disable"] if kind == "bench-off" else [f"--benchmark-json={root}/b.json"]
    return [target, "-p", "no:perfbudget", *extra]


def ours_result(path: Path) -> dict[str, Any]:
    test = read_json(path)["tests"][0]
    low, high = test["stats"]["bounds"]["p50"]
    samples = decode_samples(test["samples"])
    return {
        "own": test["elapsed"],
        "n": len(samples),
        "width": _width(low, high, test["stats"]["p50"]),
        "status": test["status"],
    }


def bench_result(path: Path) -> dict[str, Any]:
    bench = read_json(path)["benchmarks"][0]
    stats = bench["stats"]
    data = stats["data"]
    summary = summarize(data)
    low, high = summary.bound("p50")
    return {
        "own": stats["total"],
        "n": stats["rounds"],
        "width": _width(low, high, summary.p50),
        "cv": stats["stddev"] / stats["mean"],
        "iterations": stats["iterations"],
        "data": data,
    }


def time_to_width(data: list[float], iterations: int, width: float) -> float:
    """Seconds of pytest-benchmark's own rounds until its first k rounds give a 99 %
    p50 bounds width ≤ ``width`` (inf when all its rounds never get there)."""
    k = 16
    while k <= len(data):
        summary = summarize(data[:k])
        low, high = summary.bound("p50")
        if _width(low, high, summary.p50) <= width:
            return sum(data[:k]) * iterations
        k = int(k * 1.25) + 1
    return float("inf")


def _width(low: float | None, high: float | None, p50: float) -> float:
    return float("nan") if low is None or high is None else (high - low) / p50


def run_kind(root: Path, kind: str, workload: str) -> tuple[Run, dict[str, Any]]:
    run = pytest_run(root, *args_for(kind, workload, root))
    if run.returncode != 0:
        sys.exit(f"{kind} {workload} failed:\n{run.output[-3000:]}")
    if kind.endswith("-off"):
        return run, {}
    reader = ours_result if kind.startswith("ours") else bench_result
    return run, reader(root / ("o.json" if kind.startswith("ours") else "b.json"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 repetitions instead of 8")
    parser.add_argument("--out", type=Path, help="append the Markdown results to this file")
    opts = parser.parse_args()
    reps = 2 if opts.quick else 8
    rng = random.Random(20240601)
    walls: dict[tuple[str, str], list[float]] = defaultdict(list)
    details: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    files = {"funcs.py": FUNCS, "test_ours.py": OURS, "test_bench.py": BENCH}
    with project(files) as root:
        save = pytest_run(
            root,
            "test_ours.py",
            f"--perfbudget-baseline={root}/saved.json",
            "--perfbudget-save",
            "-p",
            "no:benchmark",
        )
        if save.returncode != 0:
            sys.exit(f"saving the baseline failed:\n{save.output[-3000:]}")
        for rep in range(reps):
            jobs = [(k, w) for k in KINDS for w in WORKLOADS]
            rng.shuffle(jobs)
            for kind, workload in jobs:
                run, result = run_kind(root, kind, workload)
                walls[kind, workload].append(run.seconds)
                if result:
                    details[kind, workload].append(result)
            print(f"  repetition {rep + 1}/{reps} done", flush=True)
    emit(render(walls, details, reps), opts.out)


RATIO_HEAD = [
    "workload",
    "pair",
    "measuring wall",
    "tool's own time",
    "p50 bounds width",
    "own time at the same precision",
]


def ratio_row(
    workload: str,
    kind: str,
    measuring: dict[str, list[float]],
    details: dict[tuple[str, str], list[dict[str, Any]]],
) -> list[str]:
    """Ours versus pytest-benchmark on one workload."""
    ours, bench = details[kind, workload], details["bench", workload]
    own = [a["own"] / b["own"] for a, b in zip(ours, bench, strict=True)]
    wall = statistics.median(measuring[kind]) / statistics.median(measuring["bench"])
    width = statistics.median(a["width"] for a in ours) / max(
        statistics.median(b["width"] for b in bench), 1e-12
    )
    same = [
        a["own"] / time_to_width(b["data"], b["iterations"], a["width"])
        for a, b in zip(ours, bench, strict=True)
    ]
    return [
        workload,
        f"{kind} / bench",
        f"{wall:.2f}x",
        f"{statistics.median(own):.2f}x",
        f"{width:.1f}x",
        f"{statistics.median(same):.2f}x",
    ]


def render(
    walls: dict[tuple[str, str], list[float]],
    details: dict[tuple[str, str], list[dict[str, Any]]],
    reps: int,
) -> str:
    rows, ratio_rows = [], []
    for workload in WORKLOADS:
        measuring: dict[str, list[float]] = {}
        for kind in ("ours-budget", "ours-baseline", "bench"):
            off = walls["bench-off" if kind == "bench" else "ours-off", workload]
            measuring[kind] = [a - b for a, b in zip(walls[kind, workload], off, strict=True)]
            got = details[kind, workload]
            cv = describe([g["cv"] for g in got], "{:.3f}") if kind == "bench" else ""
            statuses = sorted({g.get("status", "") for g in got} - {""})
            rows.append(
                [
                    workload,
                    kind,
                    describe(measuring[kind], "{:.2f}"),
                    describe([g["own"] for g in got], "{:.3f}"),
                    describe([g["n"] for g in got], "{:.0f}"),
                    describe([100 * g["width"] for g in got], "{:.2f}"),
                    cv,
                    ", ".join(statuses),
                ]
            )
        for kind in ("ours-budget", "ours-baseline"):
            ratio_rows.append(ratio_row(workload, kind, measuring, details))
    head = [
        "workload",
        "session",
        "measuring s (wall − off)",
        "tool's own s",
        "samples/rounds",
        "99 % p50 bounds width, % of p50",
        "bench stddev/mean",
        "our status",
    ]
    return "\n".join(
        [
            header("Time to a verdict (time_to_verdict.py)", sys.argv),
            f"{reps} repetitions; in each, every (session kind, workload) once, shuffled. "
            "Values: median [IQR] (range) over repetitions.\n",
            table(head, rows),
            "\nRatios (< 1 means ours is smaller). Measuring wall and bounds width: ratio of "
            "medians; own time: median of per-repetition ratios. *Own time at the same "
            "precision*: our own time / the time of pytest-benchmark's first k rounds (its own "
            "samples) whose p50 bounds are as narrow as ours were, median over repetitions:\n",
            table(RATIO_HEAD, ratio_rows),
            "",
        ]
    )


if __name__ == "__main__":
    main()
