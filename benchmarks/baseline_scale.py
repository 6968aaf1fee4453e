"""Baseline file at scale: 10,000 entries of 200 samples each.

Targets: issue #3 — load + save < 0.5 s; DESIGN.md §6 — 10,000 entries load,
compare and save "in well under a second". This is a throughput claim, so
absolute seconds are reported, plus the ratio to the in-run reference: a plain
``json.loads`` + ``json.dumps(sort_keys=True, indent=2)`` of the same document.

Timed with ``pytest_perfbudget.baseline`` APIs, in one process, each repetition
interleaving the steps:

- ``save`` to a new file (encode samples, round stats, serialise, atomic write);
- ``save`` over the existing file (what ``--perfbudget-save`` does: re-read and
  validate the current file under the lock, merge, write);
- ``load`` (parse, validate, decode every entry's samples);
- compare: per entry what a run does with its baseline entry — ``entry.seconds``,
  ``regression.noise_floor(history)`` and ``regression.estimate_change(now, base)``
  against a fresh 200-sample measurement.

Run: ``python benchmarks/baseline_scale.py [--quick] [--out FILE]``
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import describe, emit, header, table

from pytest_perfbudget.baseline import BaselineEntry, load, save
from pytest_perfbudget.entry import rounded
from pytest_perfbudget.regression import estimate_change, noise_floor
from pytest_perfbudget.stats import summarize

ENTRIES = 10_000
SAMPLES = 200
HISTORY = 10
TARGET = 0.5
MACHINE = {"cpu": "bench", "cores": 2, "python": "CPython 3.11"}


def make_entries(count: int, rng: random.Random) -> list[BaselineEntry]:
    """``count`` realistic entries: lognormal ns samples, a summary, a history."""
    summaries = []
    sample_sets = []
    for _ in range(50):  # distinct sample sets, reused round-robin (summaries are costly)
        base = rng.uniform(5e3, 5e6)
        ns = [round(base * rng.lognormvariate(0, 0.1)) for _ in range(SAMPLES)]
        sample_sets.append(tuple(ns))
        summaries.append(summarize([v * 1e-9 for v in ns]))
    entries = []
    for i in range(count):
        k = i % len(sample_sets)
        history = tuple(
            rounded(
                {
                    "n": SAMPLES,
                    "min": summaries[k].min,
                    "p10": summaries[k].p50 * rng.uniform(0.9, 1.1),
                    "p50": summaries[k].p50,
                    "p95": summaries[k].p95,
                    "mean": summaries[k].mean,
                    "machine": "abc123",
                    "commit": "0123456789abcdef0123456789abcdef01234567",
                }
            )  # as the plugin makes a record: rounded once, when the run is saved
            for _ in range(HISTORY)
        )
        entries.append(
            BaselineEntry(
                nodeid=f"tests/test_mod_{i // 100:03d}.py::test_case_{i:05d}",
                timer="wall",
                iterations=1,
                sample_ns=sample_sets[k],
                summary=summaries[k],
                budget={"limits": {"p95": 0.2}},
                history=history,
                machine="abc123",
                commit="0123456789abcdef0123456789abcdef01234567",
                reference=0.00105,
            )
        )
    return entries


def compare_all(entries: dict[str, BaselineEntry], now: list[float]) -> int:
    """What a run does per baselined test, for every entry; returns a checksum."""
    count = 0
    for entry in entries.values():
        noise_floor(entry.history, machine="abc123")
        change = estimate_change(now, entry.seconds)
        count += change.ratio > 1
    return count


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    gc.collect()  # every step starts with the same garbage-collector state
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def repetition(folder: Path, entries: list[BaselineEntry], now: list[float]) -> dict[str, float]:
    """One pass over every step, in a fixed order, on a fresh file."""
    path = folder / "baseline.json"
    path.unlink(missing_ok=True)
    out: dict[str, float] = {}
    out["save new"], _ = timed(lambda: save(path, entries, machine=MACHINE, generator="bench"))
    out["save over existing"], _ = timed(
        lambda: save(path, entries, machine=MACHINE, generator="bench")
    )
    out["load"], loaded = timed(lambda: load(path))
    assert len(loaded.entries) == len(entries)  # type: ignore[attr-defined]
    compare = functools.partial(compare_all, loaded.entries, now)  # type: ignore[attr-defined]
    out["compare (all entries)"], _ = timed(compare)
    del loaded, compare
    text = path.read_text()
    out["json.loads"], doc = timed(lambda: json.loads(text))
    out["json.dumps(sort_keys, indent=2)"], _ = timed(
        lambda: json.dumps(doc, sort_keys=True, indent=2)
    )
    out["json.dumps compact (C encoder)"], _ = timed(lambda: json.dumps(doc))
    out["file MB"] = len(text.encode()) / 1e6
    for part in ("samples", "history", "stats"):
        size = sum(len(json.dumps(test[part])) for test in doc["tests"].values())  # type: ignore[index]
        out[f"  of which {part}, MB (compact JSON)"] = size / 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 entries, 2 repetitions")
    parser.add_argument("--out", type=Path, help="append the Markdown results to this file")
    opts = parser.parse_args()
    count, reps = (1_000, 2) if opts.quick else (ENTRIES, 3)
    rng = random.Random(7)
    entries = make_entries(count, rng)
    now = [rng.uniform(1e-4, 1.1e-4) for _ in range(SAMPLES)]
    runs = []
    with tempfile.TemporaryDirectory(prefix="perfbudget-bench-") as tmp:
        for i in range(reps):
            runs.append(repetition(Path(tmp), entries, now))
            print(f"  repetition {i + 1}/{reps} done", flush=True)
    emit(render(runs, count, reps), opts.out)


def render(runs: list[dict[str, float]], count: int, reps: int) -> str:
    col = {key: [r[key] for r in runs] for key in runs[0]}
    load_save = [r["load"] + r["save over existing"] for r in runs]
    plain = [r["json.loads"] + r["json.dumps(sort_keys, indent=2)"] for r in runs]
    total = [a + r["compare (all entries)"] for a, r in zip(load_save, runs, strict=True)]
    ratio = [a / b for a, b in zip(load_save, plain, strict=True)]
    target = statistics.median(load_save) < TARGET
    rows = [[key, describe(values)] for key, values in col.items()]
    rows += [
        ["**load + save over existing**", f"**{describe(load_save)}**"],
        ["load + save + compare", describe(total)],
        ["json.loads + json.dumps(sort_keys, indent=2) (reference)", describe(plain)],
        ["(load + save) / reference", describe(ratio, "{:.2f}x")],
    ]
    return "\n".join(
        [
            header("Baseline at scale (baseline_scale.py)", sys.argv),
            f"{count} entries × {SAMPLES} samples, {HISTORY} history runs each; {reps} "
            f"repetitions; seconds, median [IQR] (range). Target load + save < {TARGET} s: "
            f"**{'MET' if target else 'MISSED'}**.\n",
            table(["step", "seconds"], rows),
            "",
        ]
    )


if __name__ == "__main__":
    main()
