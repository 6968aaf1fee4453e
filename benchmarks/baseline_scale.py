"""Baseline file at scale: 10,000 entries of 200 samples each.

Targets: issue #3 — 10,000 entries load + compare + save in < 0.5 s; DESIGN.md
§6 — "in well under a second". This is a throughput claim, so absolute seconds
are reported, plus the ratio to the in-run reference: a plain ``json.loads`` +
``json.dumps(sort_keys=True, indent=2)`` of the same document.

Timed with ``pytest_perfbudget.baseline`` APIs, in one process, each repetition
running the steps in a fixed order:

- ``save`` to a new file (encode samples, round stats, serialise, atomic write);
- ``load`` (parse the file and decode every entry's fields, checking their types;
  samples and history records stay text until an entry is first used);
- compare: per entry what a run does with its baseline entry — decode it,
  ``regression.noise_floor(history)`` and ``regression.estimate_change(now, base)``
  against a fresh 200-sample measurement — for all entries, and after a fresh
  load for the first 100;
- ``save`` over the existing file of every entry (a full refresh: re-read the
  current file under the lock, merge, write). Each entry saved is what a refresh
  makes of the loaded one (untimed): other samples and stats, and its history
  with the oldest record dropped and a new one added (``entry.appended``, as
  a save does);
- ``save`` over the existing file of 100 such entries (a run of part of the
  suite: the other entries' text is copied);
- ``finish_refresh`` on a file of the same entries after a 5-run refresh (five
  more records under one token, one module in ten 1.5x slower in the third):
  what ``perfbudget refresh --runs 5`` does after its last run;
- the sample codec alone, for every entry: ``encode_samples`` (byte planes and
  base64, which the file format requires) and ``decode_samples``, a floor under
  any save and under any comparison that reads the samples;
- the file's own floor: reading it and splitting it into each test's JSON text
  (``codec.loads_keyed``, msgspec), and writing the same text again
  (``files.atomic_write``: temporary file, fsync, rename). A full refresh does
  both, however fast the rest of it is.

Three totals: a full refresh (load, compare and save all), a gate run (load and
compare all, no save) and a partial refresh (load, compare and save 100).

Run: ``python benchmarks/baseline_scale.py [--quick] [--history N] [--out FILE]``
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gc
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from _common import describe, emit, header, table

from pytest_perfbudget.baseline import (
    HISTORY_LIMIT,
    BaselineEntry,
    decode_samples,
    encode_samples,
    finish_refresh,
    load,
    save,
)
from pytest_perfbudget.codec import loads_keyed
from pytest_perfbudget.entry import History, appended, rounded
from pytest_perfbudget.files import atomic_write
from pytest_perfbudget.model import Measurement
from pytest_perfbudget.regression import estimate_change, noise_floor
from pytest_perfbudget.stats import summarize

ENTRIES = 10_000
SAMPLES = 200
HISTORY = 10
#: The entries a partial refresh (a run of a part of the suite) compares and saves.
PARTIAL = 100
TARGET = 0.5
#: The refresh token of the file the busy-marking step reads.
BUSY_TOKEN = "bench"
REFRESH_RUNS = 5
MACHINE = {"cpu": "bench", "cores": 2, "python": "CPython 3.11"}


def make_entries(count: int, rng: random.Random, records: int) -> list[BaselineEntry]:
    """``count`` realistic entries: lognormal ns samples, a summary, a history."""
    summaries = []
    sample_sets = []
    for _ in range(50):  # distinct sample sets, reused round-robin (summaries are costly)
        base = rng.uniform(5e3, 5e6)
        ns = [round(base * rng.lognormvariate(0, 0.1)) for _ in range(SAMPLES)]
        sample_sets.append(array("Q", ns))  # as a measurement holds them
        summaries.append(summarize([v * 1e-9 for v in ns]))
    entries = []
    for i in range(count):
        k = i % len(sample_sets)
        history = History.of(
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
            for _ in range(records)
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


def compare_all(
    entries: Mapping[str, BaselineEntry], now: Sequence[float], only: int | None = None
) -> int:
    """What a run does per baselined test, for every entry (or the first ``only``)."""
    count = 0
    for nodeid in itertools.islice(entries, only):
        entry = entries[nodeid]
        noise_floor(entry.history, machine="abc123")
        change = estimate_change(now, entry.seconds)
        count += change.ratio > 1
    return count


def refreshed(
    tests: Mapping[str, BaselineEntry], fresh: list[BaselineEntry]
) -> list[BaselineEntry]:
    """What a refresh saves for each loaded entry: the samples and stats of another
    measurement (``fresh``, round-robin) and one more history record, the oldest dropped."""
    out = []
    for i, old in enumerate(tests.values()):
        new = fresh[(i + 1) % len(fresh)]
        record = rounded({**new.history[-1], "p10": new.summary.p50, "p50": new.summary.p50})
        out.append(
            dataclasses.replace(
                old,
                sample_ns=new.sample_ns,
                summary=new.summary,
                history=appended(old.history, record, len(old.history)),  # as a save does
            )
        )
    return out


def refresh_of(entries: list[BaselineEntry], runs: int) -> list[BaselineEntry]:
    """The entries as a ``perfbudget refresh --runs RUNS`` leaves them: ``runs`` more
    records under one token, the third run 1.5x slower for every test of one module in
    ten (a slow stretch of the machine, which the refresh marks busy)."""
    out = []
    for i, entry in enumerate(entries):
        history = entry.history
        for run in range(runs):
            slow = 1.5 if run == 2 and (i // 100) % 10 == 0 else 1.0
            record = {**history[-1], "min": entry.summary.min * slow, "refresh": BUSY_TOKEN}
            history = appended(history, rounded(record), HISTORY_LIMIT)
        out.append(dataclasses.replace(entry, history=history))
    return out


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    gc.collect()  # every step starts with the same garbage-collector state
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def repetition(
    folder: Path, entries: list[BaselineEntry], now: Sequence[float]
) -> dict[str, float]:
    """One pass over every step, in a fixed order, on a fresh file."""
    path = folder / "baseline.json"
    path.unlink(missing_ok=True)
    out: dict[str, float] = {}

    def step(name: str, fn: Callable[[], object]) -> object:
        out[name], result = timed(fn)
        return result

    def save_entries(chosen: list[BaselineEntry]) -> object:
        return save(path, chosen, machine=MACHINE, generator="bench")

    step("save new", lambda: save_entries(entries))
    loaded = step("load", lambda: load(path))
    tests = loaded.entries  # type: ignore[attr-defined]
    assert len(tests) == len(entries)
    step("compare (all entries)", functools.partial(compare_all, tests, now))
    step(
        "save over existing (all entries)",
        functools.partial(save_entries, refreshed(tests, entries)),
    )
    del loaded, tests
    loaded = step("load again (no entry decoded yet)", lambda: load(path))
    tests = loaded.entries  # type: ignore[attr-defined]
    step(f"compare ({PARTIAL} entries)", functools.partial(compare_all, tests, now, PARTIAL))
    partial = refreshed(dict(itertools.islice(tests.items(), PARTIAL)), entries)
    step(f"save over existing ({PARTIAL} entries)", functools.partial(save_entries, partial))
    del loaded, tests, partial
    busy = folder / "refreshed.json"
    busy.unlink(missing_ok=True)
    save(busy, refresh_of(entries, REFRESH_RUNS), machine=MACHINE, generator="bench")
    finished = step(
        f"finish a {REFRESH_RUNS}-run refresh: busy runs, moved levels (all entries)",
        lambda: finish_refresh(busy, BUSY_TOKEN, REFRESH_RUNS),
    )
    assert len(finished.busy) == sum((i // 100) % 10 == 0 for i in range(len(entries)))  # type: ignore[attr-defined]
    assert finished.restarted == []  # type: ignore[attr-defined]
    encoded = step(
        "of which: encode the samples of all entries",
        lambda: [encode_samples(entry.sample_ns) for entry in entries],
    )
    step(
        "of which: decode the samples of all entries",
        lambda: [decode_samples(text) for text in encoded],  # type: ignore[attr-defined]
    )
    text = path.read_text()
    step(
        "floor: read the file and split it into each test's text",
        lambda: loads_keyed(path.read_bytes()),
    )
    step("floor: write the same text atomically", lambda: atomic_write(folder / "copy.json", text))
    doc = step("json.loads", lambda: json.loads(text))
    step("json.dumps(sort_keys, indent=2)", lambda: json.dumps(doc, sort_keys=True, indent=2))
    step("json.dumps compact (C encoder)", lambda: json.dumps(doc))
    out["file MB"] = len(text.encode()) / 1e6
    for part in ("samples", "history", "stats"):
        size = sum(len(json.dumps(test[part])) for test in doc["tests"].values())  # type: ignore[index]
        out[f"  of which {part}, MB (compact JSON)"] = size / 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 entries, 2 repetitions")
    parser.add_argument("--out", type=Path, help="append the Markdown results to this file")
    parser.add_argument(
        "--history",
        type=int,
        default=HISTORY,
        help=f"history records per entry (default {HISTORY}; a baseline keeps up to 20)",
    )
    opts = parser.parse_args()
    count, reps = (1_000, 2) if opts.quick else (ENTRIES, 3)
    rng = random.Random(7)
    entries = make_entries(count, rng, opts.history)
    # a fresh measurement's seconds, as the plugin passes them to the comparison
    now = Measurement([round(rng.uniform(1e5, 1.1e5)) for _ in range(SAMPLES)]).seconds
    runs = []
    with tempfile.TemporaryDirectory(prefix="perfbudget-bench-") as tmp:
        for i in range(reps):
            runs.append(repetition(Path(tmp), entries, now))
            print(f"  repetition {i + 1}/{reps} done", flush=True)
    emit(render(runs, count, reps, opts.history), opts.out)


def render(runs: list[dict[str, float]], count: int, reps: int, history: int) -> str:
    col = {key: [r[key] for r in runs] for key in runs[0]}

    def total(*keys: str) -> list[float]:
        return [sum(r[key] for key in keys) for r in runs]

    full = total("load", "compare (all entries)", "save over existing (all entries)")
    gate = total("load", "compare (all entries)")
    partial = total(
        "load again (no entry decoded yet)",
        f"compare ({PARTIAL} entries)",
        f"save over existing ({PARTIAL} entries)",
    )
    plain = total("json.loads", "json.dumps(sort_keys, indent=2)")
    floor = total(
        "floor: read the file and split it into each test's text",
        "floor: write the same text atomically",
    )
    ratio = [a / b for a, b in zip(full, plain, strict=True)]

    def verdict(values: list[float]) -> str:
        return "met" if statistics.median(values) < TARGET else "MISSED"

    rows = [[key.strip(), describe(values)] for key, values in col.items()]
    rows += [
        [
            f"**full refresh: load + compare + save, all {count} entries**",
            f"**{describe(full)}** ({verdict(full)})",
        ],
        [f"gate run: load + compare all {count} (no save)", f"{describe(gate)} ({verdict(gate)})"],
        [
            f"partial refresh: load + compare + save {PARTIAL} of {count}",
            f"{describe(partial)} ({verdict(partial)})",
        ],
        ["floor: read + split + write the file (no entry decoded or written)", describe(floor)],
        ["json.loads + json.dumps(sort_keys, indent=2) (reference)", describe(plain)],
        ["full refresh / reference", describe(ratio, "{:.2f}x")],
    ]
    return "\n".join(
        [
            header("Baseline at scale (baseline_scale.py)", sys.argv),
            f"{count} entries × {SAMPLES} samples, {history} history runs each; {reps} "
            f"repetitions; seconds, median [IQR] (range). Target: load + compare + save "
            f"< {TARGET} s.\n",
            table(["step", "seconds"], rows),
            "",
        ]
    )


if __name__ == "__main__":
    main()
