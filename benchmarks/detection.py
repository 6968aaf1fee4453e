"""Detection study: false alarms on unchanged code, and slowdowns caught, side by side.

Targets: issue #3 — zero false alarms on unchanged code (inconclusive allowed) and
≥ 90 % of 30 % slowdowns caught (10 % reported too); DESIGN.md §6 — a 10 %
slowdown caught in ≥ 95 % of trials with ≤ 1 % false alarms under competing CPU
load.

A temp project holds ``work.py`` with a ~1 ms and a ~20 µs pure-Python workload
whose amount of work is scaled by a constant ``FACTOR`` the script rewrites
(1.0, 1.1, 1.3: real extra loop iterations). One test file per tool:

- ours: ``@pytest.mark.budget(p95="1s")`` + ``perf(work.fn)`` — the generous budget
  leaves only the stored-baseline regression gate (default 10 %, default
  ``max_time`` 1 s);
- pytest-benchmark: ``benchmark(work.fn)`` with its defaults, compared with
  ``--benchmark-compare`` (latest saved run) and both
  ``--benchmark-compare-fail=mean:10%`` and ``min:10%`` (each rule is read from
  its "Performance has regressed" lines).

Baselines are saved at factor 1.0 with no load, alternating the tools, SAVES
times each (ours keeps a history of saves for its noise floor; pytest-benchmark
compares with its latest save). Then N trials per condition (factor × quiet /
loaded, the load being 2 background busy-loop processes started and stopped by
the script) run in one shuffled order; in each trial both tools run back to back
in a random order, on the same timeline.

With ``--variant NAME=PYTHON`` (repeated), several versions of the plugin — each
installed in a venv of its own, each with a baseline file of its own — run in
every trial, in the same random order as pytest-benchmark: a comparison of two
versions on one timeline, which this shared machine's changing speed makes the
only fair one. With ``--shared-baseline`` they all compare with the first
variant's baseline: a slow state during one version's saves would otherwise
decide the study.

Run: ``python benchmarks/detection.py [--quick] [--trials N] [--deadline MIN] [--log F] [--out F]
[--variant NAME=PYTHON ...] [--shared-baseline]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import signal
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from _common import PYTHON, cpu_load, emit, header, project, pytest_run, table

from pytest_perfbudget.baseline import REFRESH_ENV

FACTORS = (1.0, 1.1, 1.3)
LOADS = ("quiet", "load")
WORKLOADS = {"1ms": 25_000, "20us": 500}
SAVES = 5
BENCH_RULES = ("bench mean:10%", "bench min:10%")
#: Recorded when a run gave no verdict for a test (its report lacks the test).
NO_VERDICT = "no verdict"

WORK = """\
FACTOR = {factor!r}


def spin(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def work_1ms():
    return spin(round({n1ms} * FACTOR))


def work_20us():
    return spin(round({n20us} * FACTOR))
"""

OURS = """\
import pytest

import work


@pytest.mark.budget(p95="1s")
def test_w1ms(perf):
    perf(work.work_1ms)


@pytest.mark.budget(p95="1s")
def test_w20us(perf):
    perf(work.work_20us)
"""

BENCH = """\
import work


def test_w1ms(benchmark):
    benchmark(work.work_1ms)


def test_w20us(benchmark):
    benchmark(work.work_20us)
"""

FAILED_LINE = re.compile(r"test_w(1ms|20us).*Field '(mean|min)' has failed")


def set_factor(root: Path, factor: float) -> None:
    text = WORK.format(factor=factor, n1ms=WORKLOADS["1ms"], n20us=WORKLOADS["20us"])
    (root / "work.py").write_text(text)


def bench_args(root: Path) -> list[str]:
    return [
        "test_bench.py",
        "-p",
        "no:perfbudget",
        f"--benchmark-storage=file://{root}/.benchmarks",
    ]


def ours_args(variant: str) -> list[str]:
    """Our test file, with the baseline file of ``variant``."""
    return [
        "test_ours.py",
        "-p",
        "no:benchmark",
        f"--perfbudget-baseline=.perfbudget/{variant}.json",
    ]


def baseline_of(variants: dict[str, str], shared: bool) -> dict[str, str]:
    """Whose baseline file each variant reads: its own, or (``shared``) the first one's."""
    first = next(iter(variants))
    return {name: first if shared else name for name in variants}


def save_baselines(root: Path, saves: int, variants: dict[str, str]) -> None:
    """Save every variant's and pytest-benchmark's baselines ``saves`` times each at
    factor 1.0, alternating. Our saves are those of one ``perfbudget refresh --runs
    SAVES`` (its token in ``REFRESH_ENV``): each entry keeps its fastest run, in the
    versions that do so."""
    set_factor(root, 1.0)
    refresh = {REFRESH_ENV: f"detection-{random.getrandbits(48):012x}"}
    for i in range(saves):
        runs = {
            name: pytest_run(
                root, *ours_args(name), "--perfbudget-save", env=refresh, python=python
            )
            for name, python in variants.items()
        }
        runs["bench"] = pytest_run(root, *bench_args(root), f"--benchmark-save=base{i}")
        for name, run in runs.items():
            if run.returncode != 0:
                sys.exit(f"saving the {name} baseline failed:\n{run.output[-3000:]}")
        print(f"  baseline save {i + 1}/{saves} done", flush=True)


def run_ours(root: Path, baseline: str, python: str) -> dict[str, tuple[str, str]]:
    """Our status per workload (regressed = alarm), and a one-line detail for the log."""
    report = root / "report.json"
    with contextlib.suppress(FileNotFoundError):
        report.unlink()
    run = pytest_run(root, *ours_args(baseline), f"--perfbudget-json={report}", python=python)
    if not report.exists():
        sys.exit(f"our run wrote no report:\n{run.output[-3000:]}")
    tests = json.loads(report.read_text())["tests"]
    out = {t["nodeid"].split("test_w")[1]: (t["status"], _detail(t)) for t in tests}
    regressed = any(status == "regressed" for status, _ in out.values())
    if regressed != (run.returncode == 1):
        print(f"  note: exit code {run.returncode} with statuses {out}", flush=True)
    return out


def _detail(test: dict[str, Any]) -> str:
    change = test.get("change") or {}
    numbers = " ".join(f"{k}={change.get(k)}" for k in ("ratio", "low", "high", "threshold"))
    # the two minimums (raw, not glitch-filtered), to tell a slow save from a fast gate
    mins = {
        side: (test.get(key) or {}).get("min")
        for side, key in (("now", "stats"), ("base", "baseline"))
    }
    numbers += " " + " ".join(f"{side}_min={value}" for side, value in mins.items())
    return f"n={test['stats']['n']} it={test['iterations']} {numbers} | " + " | ".join(
        test.get("messages", [])
    )


def run_bench(root: Path) -> dict[str, set[str]]:
    """Per workload, the pytest-benchmark rules that reported a regression."""
    run = pytest_run(
        root,
        *bench_args(root),
        "--benchmark-compare",
        "--benchmark-compare-fail=mean:10%",
        "--benchmark-compare-fail=min:10%",
    )
    failed: dict[str, set[str]] = {w: set() for w in WORKLOADS}
    for workload, field in FAILED_LINE.findall(run.output):
        failed[workload].add(field)
    if any(failed.values()) != (run.returncode != 0):
        sys.exit(
            f"pytest-benchmark exit {run.returncode} but parsed {failed}:\n{run.output[-3000:]}"
        )
    return failed


Key = tuple[float, str, str]  # factor, load, workload


def trial(
    root: Path,
    factor: float,
    load: str,
    rng: random.Random,
    *,
    variants: dict[str, str],
    baselines: dict[str, str],
) -> dict[str, dict[str, str]]:
    """Every tool once under one condition; per workload, each rule's outcome."""
    set_factor(root, factor)
    outcome: dict[str, dict[str, str]] = {w: {} for w in WORKLOADS}
    with cpu_load(2 if load == "load" else 0):
        order = [*variants, "bench"]
        rng.shuffle(order)
        for tool in order:
            if tool in variants:
                run = run_ours(root, baselines[tool], variants[tool])
                for workload, (status, detail) in run.items():
                    outcome[workload][tool] = status
                    outcome[workload][f"{tool} detail"] = detail
            else:
                for workload, fields in run_bench(root).items():
                    for field in ("mean", "min"):
                        alarm = "regressed" if field in fields else "pass"
                        outcome[workload][f"bench {field}:10%"] = alarm
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 trials per condition, 2 saves")
    parser.add_argument("--trials", type=int, default=20, help="trials per condition")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--deadline",
        type=float,
        default=0.0,
        help="stop after the block running when this many minutes have passed (0: never)",
    )
    parser.add_argument("--log", type=Path, help="append each trial as a JSON line to this file")
    parser.add_argument(
        "--from-log", type=Path, help="only render the table of a JSON-lines log written by --log"
    )
    parser.add_argument("--out", type=Path, help="append the Markdown results to this file")
    parser.add_argument(
        "--variant",
        action="append",
        metavar="NAME=PYTHON",
        help="a version of the plugin to study, by the Python of a venv holding it; repeat to "
        "compare versions on one timeline (default: ours=this Python)",
    )
    parser.add_argument(
        "--shared-baseline",
        action="store_true",
        help="every variant compares with the baseline the first one saved (a study of the "
        "verdicts alone, not of what each version saves)",
    )
    opts = parser.parse_args()
    variants = dict(v.split("=", 1) for v in opts.variant or [f"ours={PYTHON}"])
    baselines = baseline_of(variants, opts.shared_baseline)
    trials = 2 if opts.quick else opts.trials
    saves = 2 if opts.quick else SAVES
    if opts.from_log is not None:
        emit(render(*read_log(opts.from_log), saves, 0.0, _header()), opts.out)
        return
    head = _header()  # the date and load average of the start, not of the report
    rng = random.Random(opts.seed)
    signal.signal(signal.SIGTERM, _terminate)  # run the cleanup (load processes, temp dir)
    conditions = [(f, load) for f in FACTORS for load in LOADS]
    results: dict[Key, list[dict[str, str]]] = defaultdict(list)
    files = {"test_ours.py": OURS, "test_bench.py": BENCH}
    start = time.perf_counter()
    done = 0
    with project(files) as root:
        savers = {name: python for name, python in variants.items() if name in baselines.values()}
        save_baselines(root, saves, savers)
        for block in range(trials):  # every condition once per block, shuffled
            rng.shuffle(conditions)
            for factor, load in conditions:
                outcomes = trial(root, factor, load, rng, variants=variants, baselines=baselines)
                for workload, outcome in outcomes.items():
                    results[factor, load, workload].append(outcome)
                _log(opts.log, factor, load, outcomes)
            done = block + 1
            print(f"  block {done}/{trials} done", flush=True)
            if opts.deadline and time.perf_counter() - start > opts.deadline * 60:
                break
    minutes = (time.perf_counter() - start) / 60
    if opts.log is not None:
        print(f"  trials logged to {opts.log}", flush=True)
    emit(render(results, done, saves, minutes, head), opts.out)


def read_log(path: Path) -> tuple[dict[Key, list[dict[str, str]]], int]:
    """The per-condition outcomes of a ``--log`` file, and the trials per condition."""
    results: dict[Key, list[dict[str, str]]] = defaultdict(list)
    for line in path.read_text().splitlines():
        row = json.loads(line)
        for workload, outcome in row["outcomes"].items():
            results[row["factor"], row["load"], workload].append(outcome)
    return results, min(len(v) for v in results.values())


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(f"terminated by signal {signum}")


def _log(path: Path | None, factor: float, load: str, outcomes: dict[str, dict[str, str]]) -> None:
    if path is not None:
        with path.open("a", encoding="utf-8") as handle:
            row = {"factor": factor, "load": load, "outcomes": outcomes}
            handle.write(json.dumps(row) + "\n")


def variants_of(results: dict[Key, list[dict[str, str]]]) -> list[str]:
    """The plugin versions a study ran, in the order of their first outcome."""
    names: dict[str, None] = {}
    for outcomes in results.values():
        for outcome in outcomes:
            names.update(
                dict.fromkeys(k[: -len(" detail")] for k in outcome if k.endswith(" detail"))
            )
    return list(names)


def _header() -> str:
    return header("Detection study (detection.py)", sys.argv)


def render(
    results: dict[Key, list[dict[str, str]]], trials: int, saves: int, minutes: float, head: str
) -> str:
    variants = variants_of(results)
    rows = []
    for workload in WORKLOADS:
        for load in LOADS:
            for factor in FACTORS:
                outcomes = results[factor, load, workload]
                n = len(outcomes)
                what = "false alarms" if factor == 1.0 else "caught"
                cells = []
                for rule in (*variants, *BENCH_RULES):
                    counts = Counter(o.get(rule, NO_VERDICT) for o in outcomes)
                    valid = n - counts[NO_VERDICT]
                    share = 100 * counts["regressed"] / max(valid, 1)
                    cell = f"{counts['regressed']}/{valid} ({share:.0f} %)"
                    if rule in variants:
                        others = ", ".join(
                            f"{k} {v}" for k, v in sorted(counts.items()) if k != "regressed"
                        )
                        cell += f"; {others}" if others else ""
                    cells.append(cell)
                rows.append([workload, load, f"{factor:.1f}", what, *cells])
    columns = [
        "workload",
        "load",
        "factor",
        "counted",
        *(
            "perfbudget (regressed; other statuses)" if v == "ours" else f"perfbudget {v}"
            for v in variants
        ),
        "pytest-benchmark mean:10%",
        "pytest-benchmark min:10%",
    ]
    return "\n".join(
        [
            head,
            f"{trials} trials per condition (factor × quiet/loaded), in blocks holding every "
            "condition once in a shuffled order, one timeline, every "
            f"tool back to back in random order per trial; {saves} baseline saves per tool at "
            f"factor 1.0, quiet. perfbudget defaults: max_time 1 s, regression 10 %, "
            f"budget p95=1s (never binding). pytest-benchmark defaults (max_time 1 s, min_rounds "
            f"5). Load = 2 busy-loop processes on this 2-core machine. Total {minutes:.1f} min.\n",
            table(columns, rows),
            "",
        ]
    )


if __name__ == "__main__":
    main()
