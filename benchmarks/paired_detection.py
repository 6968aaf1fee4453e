"""Detection study for paired mode (``--perfbudget-against``), issue #5.

A real scratch git repository: the base commit has three ~0.2 ms workloads; the
head (working tree) leaves one unchanged and makes the others do 5 % and 10 %
more real work (more loop iterations, no sleeps). Each pytest run holds
``--per-run`` parametrized copies of each test, interleaved, and every copy is
one independent paired verdict. Runs alternate quiet and under competing CPU
load (two busy processes), so both conditions share the same timeline.

Alongside each paired run, under the same load, pytest-benchmark's stored gate
runs on the same code: one session saves a baseline of the base tree's workloads
(``--benchmark-save`` into a fresh ``--benchmark-storage``), a second session on
the head compares with it (``--benchmark-compare --benchmark-compare-fail=mean:10%``).
pytest-benchmark fails the session, not the test; its "Performance has regressed"
lines name each failing benchmark, and those are counted per workload.

    python benchmarks/paired_detection.py --runs 4 --per-run 10

prints a Markdown section (append it to benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BASE_N = 8_000
SLOWDOWNS = {"same": 1.00, "slow5": 1.05, "slow10": 1.10}
WORK = "def {name}():\n    return sum(i * i for i in range({n}))\n"
TEST = """\
import pytest
import work

@pytest.mark.parametrize("copy", range({copies}))
@pytest.mark.parametrize("name", {names!r})
def test_work(perf, name, copy):
    perf(getattr(work, name))
"""
PYPROJECT = """\
[tool.perfbudget]
max_time = "{max_time}"
regression = "{threshold}"
"""
BENCH_TEST = """\
import pytest
import work

@pytest.mark.parametrize("copy", range({copies}))
@pytest.mark.parametrize("name", {names!r})
def test_bench(benchmark, name, copy):
    benchmark(getattr(work, name))
"""
BENCH_FAIL = "--benchmark-compare-fail=mean:10%"
#: pytest-benchmark's per-test time cap (its default is 1 s); keeps the study short.
BENCH_MAX_TIME = "0.25"
_FAILED = re.compile(r"test_bench\[(\w+)-\d+\].* - Field 'mean' has failed")


def _git(path: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@example.com", *args],
        cwd=path, check=True, capture_output=True,
    )  # fmt: skip


def _work(scale: dict[str, float]) -> str:
    return "\n\n".join(WORK.format(name=n, n=round(BASE_N * s)) for n, s in scale.items())


def make_repo(path: Path, copies: int, max_time: str, threshold: str) -> None:
    """Base commit: every workload at BASE_N; working tree: the slowdowns applied."""
    (path / "pyproject.toml").write_text(PYPROJECT.format(max_time=max_time, threshold=threshold))
    (path / "test_work.py").write_text(TEST.format(copies=copies, names=list(SLOWDOWNS)))
    (path / "work.py").write_text(_work(dict.fromkeys(SLOWDOWNS, 1.0)))
    _git(path, "init", "-q", "-b", "main")
    _git(path, "add", ".")
    _git(path, "commit", "-q", "-m", "base")
    (path / "work.py").write_text(_work(SLOWDOWNS))


def make_bench_trees(path: Path, copies: int) -> tuple[Path, Path]:
    """Two plain folders (outside the git repository) for pytest-benchmark: base and head."""
    trees = []
    for role, scale in (("base", dict.fromkeys(SLOWDOWNS, 1.0)), ("head", SLOWDOWNS)):
        tree = path / role
        tree.mkdir()
        (tree / "work.py").write_text(_work(scale))
        (tree / "test_bench.py").write_text(BENCH_TEST.format(copies=copies, names=list(SLOWDOWNS)))
        trees.append(tree)
    return trees[0], trees[1]


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *args],
        cwd=cwd, capture_output=True, text=True, check=False,
    )  # fmt: skip


def run_paired(path: Path) -> tuple[list[dict[str, object]], float]:
    """One pytest run in paired mode; its report's tests and its wall time."""
    report = path / "report.json"
    start = time.perf_counter()
    _pytest(path, "--perfbudget-against=HEAD", f"--perfbudget-json={report}")
    wall = time.perf_counter() - start
    return json.loads(report.read_text())["tests"], wall


def run_benchmark(base: Path, head: Path, storage: Path) -> tuple[Counter[str], int]:
    """pytest-benchmark's stored gate: save the base, compare the head. Flags per workload,
    and how many benchmarks were compared (0 means the gate did not run)."""
    common = (f"--benchmark-storage=file://{storage}", f"--benchmark-max-time={BENCH_MAX_TIME}")
    _pytest(base, *common, "--benchmark-save=base")
    done = _pytest(head, *common, "--benchmark-compare", BENCH_FAIL)
    text = done.stdout + done.stderr
    flagged = Counter(m.group(1) for m in _FAILED.finditer(text))
    if done.returncode != 0 and not flagged:
        raise RuntimeError(f"pytest-benchmark failed without a regression line:\n{text[-3000:]}")
    compared = len(re.findall(r"^test_bench\[\w+-\d+\] \(0001", text, re.MULTILINE))
    return flagged, compared


def run_once(
    path: Path, bench: tuple[Path, Path], storage: Path, loaded: bool
) -> tuple[list[dict[str, object]], float, Counter[str]]:
    """The paired run and the pytest-benchmark gate, under the same load."""
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(2 if loaded else 0)
    ]
    try:
        tests, wall = run_paired(path)
        flagged, compared = run_benchmark(*bench, storage)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    if compared == 0:
        raise RuntimeError("pytest-benchmark compared nothing")
    return tests, wall, flagged


def _name(nodeid: str) -> str:
    return next(name for name in SLOWDOWNS if f"[{name}-" in nodeid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=4, help="pytest runs per condition")
    parser.add_argument("--per-run", type=int, default=10, help="copies of each test per run")
    parser.add_argument("--max-time", default="0.5s")
    parser.add_argument("--threshold", default="5%")
    args = parser.parse_args()
    counts: dict[tuple[str, str], Counter[str]] = {}
    elapsed: list[float] = []
    walls: list[float] = []
    with tempfile.TemporaryDirectory(prefix="paired-study-") as folder:
        path = Path(folder) / "repo"
        path.mkdir()
        make_repo(path, args.per_run, args.max_time, args.threshold)
        bench = make_bench_trees(Path(folder), args.per_run)
        for index in range(2 * args.runs):
            loaded = index % 2 == 1
            storage = Path(folder) / f"storage-{index}"
            tests, wall, flagged = run_once(path, bench, storage, loaded)
            walls.append(wall / max(1, len(tests)))
            load = "loaded" if loaded else "quiet"
            for test in tests:
                key = (load, _name(str(test["nodeid"])))
                counts.setdefault(key, Counter())[str(test["status"])] += 1
                elapsed.append(float(test.get("elapsed") or 0.0))
            for name in SLOWDOWNS:
                counts.setdefault((load, name), Counter())["benchmark flagged"] += flagged[name]
            print(
                f"run {index + 1}: {'loaded' if loaded else 'quiet'} {wall:.1f} s", file=sys.stderr
            )
    print(render(counts, elapsed, walls, args))


def render(
    counts: dict[tuple[str, str], Counter[str]],
    elapsed: list[float],
    walls: list[float],
    args: argparse.Namespace,
) -> str:
    lines = [
        "## Paired mode detection (`--perfbudget-against`, issue #5)",
        "",
        f"`benchmarks/paired_detection.py --runs {args.runs} --per-run {args.per_run}` — "
        f"{args.runs} pytest runs per load condition, "
        f"{args.per_run} verdicts per workload per run, "
        f"runs alternating quiet / loaded (2 busy processes); threshold {args.threshold}, "
        f"max_time {args.max_time}; ~0.2 ms workload, slowdowns are extra loop iterations. "
        f"pytest-benchmark: `{BENCH_FAIL}` against a baseline of the base code saved in "
        f"the same run, `--benchmark-max-time={BENCH_MAX_TIME}`, "
        f"{args.per_run} benchmarks per workload per run.",
        "",
        "| load | head | verdicts | regressed | unchanged | improved | inconclusive "
        "| pytest-benchmark flagged |",
        "|---|---|---|---|---|---|---|---|",
    ]
    statuses = ("regressed", "unchanged", "improved", "inconclusive", "benchmark flagged")
    for (load, name), counter in sorted(counts.items()):
        total = sum(counter.values()) - counter["benchmark flagged"]
        row = [counter[s] for s in statuses]
        lines.append(
            f"| {load} | {name} ({SLOWDOWNS[name]:.2f}x) | {total} | "
            + " | ".join(map(str, row))
            + " |"
        )
    elapsed.sort()
    mid = elapsed[len(elapsed) // 2] if elapsed else 0.0
    per_test = sum(walls) / len(walls) if walls else 0.0
    lines += [
        "",
        f"Measuring time per test (rounds, both sides): median {mid:.2f} s, "
        f"max {max(elapsed, default=0):.2f} s. "
        f"Wall time per test including worker start-up and confirmation pairs: {per_test:.2f} s.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
