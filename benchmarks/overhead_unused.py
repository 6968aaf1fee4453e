"""Installed-but-unused overhead (DESIGN.md §6: ≤ 3 % wall time).

Generates a suite of 3,000 plain tests (30 files × 100 trivial tests) in a temp
dir and runs ``python -m pytest -q -p no:cacheprovider`` on it with the plugin
loaded and with ``-p no:perfbudget``, interleaved in pairs (the order flips every
pair). Reports the median of the per-pair wall-time ratios, its spread and a
95 % distribution-free interval. Also reports the import time of
``pytest_perfbudget.plugin`` (``python -X importtime``, pytest already imported)
and checks, from a conftest of the generated suite, that numpy is not imported
when no test is budgeted.

Run: ``python benchmarks/overhead_unused.py [--quick] [--out FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _common import (
    PYTHON,
    describe,
    emit,
    header,
    median_ci,
    pct,
    project,
    pytest_run,
    table,
)

FILES = 30
TESTS_PER_FILE = 100
TARGET = 1.03

CONFTEST = """\
import json, os, sys

def pytest_sessionfinish(session):
    seen = {name: name in sys.modules for name in (
        "numpy", "pytest_perfbudget.plugin", "pytest_perfbudget.engine.runner",
        "pytest_perfbudget.stats", "pytest_perfbudget.baseline")}
    with open(os.environ["BENCH_MODULES_OUT"], "w") as handle:
        json.dump(seen, handle)
"""


def suite() -> dict[str, str]:
    """30 test files of 100 trivial tests each, plus the module-checking conftest."""
    body = "".join(
        f"def test_{i}():\n    assert {i} + 1 == {i + 1}\n\n" for i in range(TESTS_PER_FILE)
    )
    files = {f"test_plain_{f:02d}.py": body for f in range(FILES)}
    files["conftest.py"] = CONFTEST
    return files


def timed_pairs(root: Path, pairs: int) -> dict[str, list[float]]:
    """Interleaved runs: wall and CPU seconds of each condition, and per-pair ratios."""
    env = {"BENCH_MODULES_OUT": str(root / "modules.json")}
    on_args: tuple[str, ...] = ()
    off_args = ("-p", "no:perfbudget")
    for args in (on_args, off_args):  # warm the page and bytecode caches; discarded
        pytest_run(root, *args, env=env, pycache=root / "pycache")
    out: dict[str, list[float]] = {
        key: [] for key in ("wall_on", "wall_off", "cpu_on", "cpu_off", "wall", "cpu")
    }
    for i in range(pairs):
        order = [on_args, off_args] if i % 2 == 0 else [off_args, on_args]
        runs = {}
        for args in order:
            run = pytest_run(root, *args, env=env, pycache=root / "pycache")
            if run.returncode != 0:
                sys.exit(f"suite failed ({args}):\n{run.output[-2000:]}")
            runs[args] = run
        on, off = runs[on_args], runs[off_args]
        for key, value in (
            ("wall_on", on.seconds),
            ("wall_off", off.seconds),
            ("cpu_on", on.cpu),
            ("cpu_off", off.cpu),
            ("wall", on.seconds / off.seconds),
            ("cpu", on.cpu / off.cpu),
        ):
            out[key].append(value)
        print(
            f"  pair {i + 1}: wall {on.seconds:.3f}/{off.seconds:.3f} s, "
            f"cpu {on.cpu:.3f}/{off.cpu:.3f} s",
            flush=True,
        )
    return out


def modules_seen(root: Path, *args: str) -> dict[str, bool]:
    """Which heavy modules were imported at the end of a run of the suite."""
    out = root / "modules.json"
    run = pytest_run(root, *args, env={"BENCH_MODULES_OUT": str(out)}, pycache=root / "pycache")
    if run.returncode != 0:
        sys.exit(f"suite failed:\n{run.output[-2000:]}")
    seen: dict[str, bool] = json.loads(out.read_text())
    return seen


PROFILE = """\
import cProfile, json, pstats, sys, time
import pytest
profiler = cProfile.Profile(time.process_time)
profiler.runcall(pytest.main, ["-q", "-p", "no:cacheprovider"])
stats = pstats.Stats(profiler).stats
total = sum(tt for _, _, tt, _, _ in stats.values())
ours = "pytest_perfbudget/plugin.py"
hooks = sum(
    ct for (path, _, name), (_, _, _, ct, _) in stats.items()
    if path.endswith(ours) and (name.startswith("pytest_") or name == "<module>")
)
json.dump({"total": total, "plugin": hooks}, sys.stdout)
"""


def profile_share(root: Path) -> float:
    """Share of the session's CPU (deterministic profile) spent in the plugin's hooks
    and module import: a noise-free view of the overhead (profiling inflates both)."""
    env = {
        **os.environ,
        "BENCH_MODULES_OUT": str(root / "modules.json"),
        "PYTHONPYCACHEPREFIX": str(root / "pycache"),
    }
    done = subprocess.run(
        [PYTHON, "-c", PROFILE], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    data = json.loads(done.stdout[done.stdout.rindex("{") :])
    return float(data["plugin"]) / float(data["total"])


def import_times(repeats: int) -> tuple[list[float], list[float]]:
    """Cumulative import µs of pytest_perfbudget.plugin (pytest preloaded) and of pytest."""
    plugin, base = [], []
    for _ in range(repeats):
        done = subprocess.run(
            [PYTHON, "-X", "importtime", "-c", "import pytest; import pytest_perfbudget.plugin"],
            capture_output=True,
            text=True,
            check=True,
        )
        cumulative = _cumulative(done.stderr)
        plugin.append(cumulative["pytest_perfbudget.plugin"])
        base.append(cumulative["pytest"])
    return plugin, base


def _cumulative(stderr: str) -> dict[str, float]:
    """Top-level cumulative µs per module from ``-X importtime`` output."""
    out: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        if cumulative.isdigit():
            out[name] = float(cumulative)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 pairs instead of 12")
    parser.add_argument("--out", type=Path, help="append the Markdown results to this file")
    opts = parser.parse_args()
    pairs = 3 if opts.quick else 12
    with project(suite()) as root:
        t = timed_pairs(root, pairs)
        seen_on = modules_seen(root)
        seen_off = modules_seen(root, "-p", "no:perfbudget")
        share = profile_share(root)
    plugin_us, pytest_us = import_times(5 if opts.quick else 15)
    medians = {key: statistics.median(t[key]) for key in ("wall", "cpu")}
    cis = {key: median_ci(t[key]) for key in ("wall", "cpu")}
    verdict = "MET" if medians["wall"] <= TARGET else "MISSED"
    rows = [
        ["wall ratio plugin / no plugin (per pair)", describe(t["wall"], "{:.4f}")],
        [
            "**median wall overhead**",
            f"**{pct(medians['wall'])}** (95 % CI {pct(cis['wall'][0])} … {pct(cis['wall'][1])})",
        ],
        ["CPU (user+sys) ratio plugin / no plugin (per pair)", describe(t["cpu"], "{:.4f}")],
        [
            "median CPU overhead",
            f"{pct(medians['cpu'])} (95 % CI {pct(cis['cpu'][0])} … {pct(cis['cpu'][1])})",
        ],
        ["share of session CPU in the plugin's hooks + import (cProfile)", f"{100 * share:.1f} %"],
        ["plugin loaded: wall s", describe(t["wall_on"])],
        ["`-p no:perfbudget`: wall s", describe(t["wall_off"])],
        ["plugin loaded: CPU s", describe(t["cpu_on"])],
        ["`-p no:perfbudget`: CPU s", describe(t["cpu_off"])],
        [
            "import pytest_perfbudget.plugin (pytest preloaded), ms",
            describe([us / 1000 for us in plugin_us], "{:.1f}"),
        ],
        ["import pytest, ms (reference)", describe([us / 1000 for us in pytest_us], "{:.1f}")],
    ]
    modules = [[name, seen_on[name], seen_off[name]] for name in seen_on]
    text = "\n".join(
        [
            header("Installed-but-unused overhead (overhead_unused.py)", sys.argv),
            f"Suite: {FILES} files × {TESTS_PER_FILE} trivial tests = {FILES * TESTS_PER_FILE}; "
            f"{pairs} interleaved pairs (order flipped each pair). Target ≤ 3 %: **{verdict}**.\n",
            table(["measure", "value"], rows),
            "\nModules imported at session end (conftest `sys.modules` check):\n",
            table(["module", "plugin loaded", "-p no:perfbudget"], modules),
            "",
        ]
    )
    emit(text, opts.out)


if __name__ == "__main__":
    main()
