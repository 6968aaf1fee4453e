"""Per-sample harness overhead: ``perf(fn)`` versus pytest-benchmark's ``benchmark(fn)``.

DESIGN.md §6 target: per-sample harness overhead close to the cost of two timer
reads. One pytest session loads both plugins and runs, alternately, our tests and
pytest-benchmark's on the same functions:

- an empty function and a ~1 µs pure-Python function, each tool with its defaults
  (both batch short calls; the reported per-call time of the empty function is the
  bias the harness adds to every call);
- one-call-per-sample timing of an empty block: ours ``with perf.sample(): pass``,
  pytest-benchmark ``benchmark.pedantic(empty, iterations=1, rounds=…)``; this
  per-sample time is the harness's own cost (two clock reads plus its plumbing);
- in the same process, ``timeit`` references: two ``time.perf_counter_ns()``
  reads, one empty call, one call of the ~1 µs function.

Each tool's own report is read (our ``--perfbudget-json`` stats, pytest-benchmark's
``--benchmark-json`` stats). The session is repeated and medians over sessions
are reported, as ratios to the two-timer-reads reference.

Run: ``python benchmarks/sample_overhead.py [--quick] [--out FILE]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from _common import describe, emit, header, project, pytest_run, read_json, table

BLOCK_SAMPLES = 20_000

FUNCS = """\
def empty():
    pass


def one_us():
    total = 0
    for i in range(60):
        total += i
    return total
"""

TESTS = f"""\
import json
import os
import timeit

import funcs


def test_a_empty_ours(perf):
    perf(funcs.empty)


def test_a_empty_bench(benchmark):
    benchmark(funcs.empty)


def test_b_one_us_ours(perf):
    perf(funcs.one_us)


def test_b_one_us_bench(benchmark):
    benchmark(funcs.one_us)


def test_c_block_ours(perf):
    for _ in range({BLOCK_SAMPLES}):
        with perf.sample():
            pass


def test_c_block_bench(benchmark):
    benchmark.pedantic(funcs.empty, iterations=1, rounds={BLOCK_SAMPLES})


def _best(stmt, setup, number):
    # short blocks (~0.1 ms) and the best of many: a block that spans a scheduler
    # time slice of another process measures that process too
    return min(timeit.repeat(stmt, setup, number=number, repeat=300)) / number


def test_d_reference():
    ref = {{
        "two_reads": _best("c(); c()", "from time import perf_counter_ns as c", 1000),
        "empty_call": _best("f()", "from funcs import empty as f", 2000),
        "one_us_call": _best("f()", "from funcs import one_us as f", 100),
    }}
    with open(os.environ["BENCH_REFERENCE_OUT"], "w") as handle:
        json.dump(ref, handle)
"""

CASES = ("a_empty", "b_one_us", "c_block")


def session(root: Path) -> dict[str, float]:
    """One pytest session with both plugins; per-call seconds by case and tool."""
    ours, bench, ref = root / "ours.json", root / "bench.json", root / "ref.json"
    run = pytest_run(
        root,
        f"--perfbudget-json={ours}",
        f"--benchmark-json={bench}",
        "--benchmark-columns=min,median,rounds,iterations",
        env={"BENCH_REFERENCE_OUT": str(ref)},
    )
    if run.returncode != 0:
        sys.exit(f"session failed:\n{run.output[-3000:]}")
    out: dict[str, float] = dict(read_json(ref))
    for test in read_json(ours)["tests"]:
        name = test["nodeid"].split("::test_")[1].removesuffix("_ours")
        out[f"{name}:ours:p50"] = test["stats"]["p50"]
        out[f"{name}:ours:min"] = test["stats"]["min"]
        out[f"{name}:ours:iterations"] = test["iterations"]
    for bench_test in read_json(bench)["benchmarks"]:
        name = bench_test["name"].removeprefix("test_").removesuffix("_bench")
        stats: dict[str, Any] = bench_test["stats"]
        out[f"{name}:bench:p50"] = stats["median"]
        out[f"{name}:bench:min"] = stats["min"]
        out[f"{name}:bench:iterations"] = stats["iterations"]
    return out


def ns(values: list[float]) -> str:
    return describe([v * 1e9 for v in values], "{:.1f}")


def render(results: list[dict[str, float]], sessions: int) -> str:
    col = {key: [r[key] for r in results] for key in results[0]}
    # timeit references are "best of"; on a shared machine the best over sessions is
    # the least disturbed estimate of the true cost.
    two = [min(col["two_reads"])] * len(results)
    one_us = [min(col["one_us_call"])] * len(results)

    def ratio(key: str, ref: list[float]) -> str:
        return f"{statistics.median([a / b for a, b in zip(col[key], ref, strict=True)]):.2f}x"

    rows = []
    labels = {
        "a_empty": "empty function, default batching",
        "b_one_us": "~1 µs function, default batching",
        "c_block": "empty block, 1 call/sample",
    }
    for case in CASES:
        for tool in ("ours", "bench"):
            for stat in ("p50", "min"):
                key = f"{case}:{tool}:{stat}"
                truth = one_us if case == "b_one_us" else two
                rows.append(
                    [
                        labels[case],
                        "perfbudget" if tool == "ours" else "pytest-benchmark",
                        stat,
                        ns(col[key]),
                        describe(col[f"{case}:{tool}:iterations"], "{:.0f}"),
                        ratio(key, two),
                        ratio(key, truth) if case == "b_one_us" else "",
                        ratio(key, col[f"{case}:bench:{stat}"]) if tool == "ours" else "",
                    ]
                )
    refs = [
        ["two `perf_counter_ns()` reads", ns(col["two_reads"])],
        ["one empty call", ns(col["empty_call"])],
        ["one ~1 µs call", ns(col["one_us_call"])],
    ]
    head = [
        "case",
        "tool",
        "stat",
        "reported per call, ns",
        "calls/sample",
        "/ two reads",
        "/ timeit truth",
        "ours / pytest-benchmark",
    ]
    return "\n".join(
        [
            f"{sessions} pytest sessions, each running both tools alternately on the same "
            "functions; per-session values, median [IQR] (range) over sessions. Ratios are "
            "medians of per-session ratios; the timeit references in ratios are their minimum "
            "over sessions (least disturbed by other users of the machine).\n",
            "In-process `timeit` references (best of 300 repeats of ~0.1 ms blocks):\n",
            table(["reference", "ns"], refs),
            "",
            table(head, rows),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 sessions instead of 8")
    parser.add_argument("--out", type=Path, help="append the Markdown results to this file")
    opts = parser.parse_args()
    sessions = 2 if opts.quick else 8
    results = []
    with project({"funcs.py": FUNCS, "test_overhead.py": TESTS}) as root:
        for i in range(sessions):
            results.append(session(root))
            print(f"  session {i + 1}/{sessions} done", flush=True)
    body = render(results, sessions)
    emit(
        header("Per-sample harness overhead (sample_overhead.py)", sys.argv) + "\n" + body, opts.out
    )


if __name__ == "__main__":
    main()
