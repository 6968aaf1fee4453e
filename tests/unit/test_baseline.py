"""The baseline file: sample encoding, validated loading, merge-on-write saving, merging."""

from __future__ import annotations

import dataclasses
import gc
import itertools
import json
import os
import subprocess
import sys
import textwrap
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_perfbudget import baseline, codec
from pytest_perfbudget.baseline import (
    HISTORY_LIMIT,
    SAMPLE_LIMIT,
    SCHEMA_VERSION,
    BaselineEntry,
    decode_samples,
    dumps,
    encode_samples,
    entry_from_verdict,
    load,
    load_samples,
    merge,
    read_document,
    save,
    thin_samples,
)
from pytest_perfbudget.entry import from_doc, read_current
from pytest_perfbudget.errors import BaselineError, SchemaVersionError
from pytest_perfbudget.model import Budget, Measurement, Status, Summary, Verdict
from pytest_perfbudget.report.json import build_report, write_report
from pytest_perfbudget.stats import summarize

FP = {"cpu": "AMD EPYC", "cores": 2, "os": "Linux"}
GENERATOR = "pytest-perfbudget 0.1.0"


def make_verdict(nodeid: str, seed: int = 0, n: int = 200, iterations: int = 1) -> Verdict:
    rng = np.random.default_rng(seed)
    sample_ns = tuple(int(x) for x in rng.lognormal(np.log(1e6 * iterations), 0.1, n))
    meas = Measurement(sample_ns=sample_ns, iterations=iterations)
    return Verdict(
        nodeid=nodeid,
        status=Status.PASS,
        budget=Budget(limits={"p95": 0.002}, memory=1000),
        summary=summarize(meas.seconds),
        measurement=meas,
    )


def make_entry(nodeid: str, seed: int = 0, **kwargs: Any) -> BaselineEntry:
    entry = entry_from_verdict(
        make_verdict(nodeid, seed, **kwargs), None, machine="m1", commit="abc"
    )
    return dataclasses.replace(entry, reference=1e-3)  # as files of earlier versions hold


def write_doc(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def valid_doc(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "valid.json"
    save(path, [make_entry("t::a")], machine=FP, generator=GENERATOR)
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


# -- samples ----------------------------------------------------------------------


@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=300))
def test_samples_round_trip(samples: list[int]) -> None:
    text = encode_samples(samples)
    assert text.startswith("d")
    assert decode_samples(text) == samples


@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=300))
def test_samples_encode_in_as_few_bytes_as_their_spread_needs(samples: list[int]) -> None:
    head, low, _ = encode_samples(samples).split(":")
    spread = max(samples, default=0) - min(samples, default=0)
    assert int(low) == min(samples, default=0)
    assert int(head[1:]) == max(1, (spread.bit_length() + 7) // 8)


def test_samples_of_earlier_versions_are_read() -> None:
    assert decode_samples("z64:GJV7sYGZhQEJAAAZPgGg") == [1000, 1200]


def test_encoded_samples_are_compact() -> None:
    rng = np.random.default_rng(0)
    samples = [int(x) for x in rng.lognormal(np.log(1e6), 0.1, SAMPLE_LIMIT)]
    # they differ by under 2**24 ns: 3 bytes a sample, 4 characters of base64, not 8 bytes
    assert len(encode_samples(samples)) < 4 * SAMPLE_LIMIT + 20


def test_negative_samples_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="integers in 0"):
        encode_samples([-1])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AAAA", "starting with 'd<width>:'"),
        (12, "starting with 'd<width>:'"),
        ("d9:0:AA==", "bad header 'd9:0:'"),
        ("d0:0:", "bad header"),
        ("dx:0:", "bad header"),
        ("d1:-5:AA==", "bad header 'd1:-5:'"),
        ("d1:", "bad header"),
        (f"d1:{2**64}:", "bad header"),
        ("d1:0:!!!!", "not valid base64"),
        ("d2:0:AAAA", "3 bytes, not a multiple of 2"),
        (f"d1:{2**64 - 1}:AAE=", "larger than 2\\*\\*64-1"),
        ("z64:!!!!", "not valid base64"),
        ("z64:aGVsbG8=", "not valid compressed data"),
        ("z64:eJxjYGBgAAAABAAB", "not a multiple of 8"),
    ],
)
def test_corrupt_samples_are_an_error(text: Any, message: str) -> None:
    with pytest.raises(BaselineError, match=message):
        decode_samples(text)


def test_thinning_keeps_the_limit_uniformly_in_time_order() -> None:
    samples = list(range(25_000))
    thinned = thin_samples(samples)
    assert len(thinned) == SAMPLE_LIMIT
    assert thinned[0] == 0
    assert list(thinned) == sorted(thinned)
    assert {b - a for a, b in itertools.pairwise(thinned)} <= {2, 3}
    assert list(thin_samples([3, 1, 2])) == [3, 1, 2]


def test_thinning_keeps_a_measurements_samples_without_a_copy() -> None:
    measured = Measurement(range(1_000)).sample_ns
    assert thin_samples(measured) is measured
    assert len(thin_samples(Measurement(range(SAMPLE_LIMIT + 1)).sample_ns)) == SAMPLE_LIMIT


# -- entries ----------------------------------------------------------------------


def test_entry_from_verdict_keeps_samples_summary_and_a_history_record() -> None:
    verdict = make_verdict("t::a", iterations=4)
    entry = entry_from_verdict(verdict, None, machine="m1", commit="abc")
    assert tuple(entry.sample_ns) == tuple(verdict.measurement.sample_ns)  # type: ignore[union-attr]
    assert entry.seconds == pytest.approx(verdict.measurement.seconds)  # type: ignore[union-attr]
    assert entry.summary == verdict.summary
    assert entry.budget == {"p95": 0.002, "memory": 1000}
    assert (entry.iterations, entry.timer, entry.reference) == (4, "wall", None)
    (run,) = entry.history
    assert set(run) == {"n", "min", "p10", "p50", "p95", "mean", "machine", "commit", "mode"}
    assert run["min"] <= run["p10"] <= run["p50"] <= run["p95"]
    assert (run["n"], run["machine"], run["commit"], run["mode"]) == (200, "m1", "abc", "perf")


def test_history_is_a_ring_buffer_of_the_last_runs() -> None:
    entry = None
    for run in range(HISTORY_LIMIT + 5):
        verdict = make_verdict("t::a", seed=run)
        entry = entry_from_verdict(verdict, entry, machine="m1", commit=str(run))
    assert entry is not None
    assert len(entry.history) == HISTORY_LIMIT
    assert [run["commit"] for run in entry.history] == [str(i) for i in range(5, 25)]


@pytest.mark.parametrize(
    ("saved", "now", "records"),
    [
        ("benchmark", "perf", 1),  # pytest-benchmark's loop, then perf's: a history anew
        ("perf", "fresh", 1),
        ("body", "perf", 1),  # the test body, then the function it benchmarks
        ("sample", "record", 1),
        ("perf", "perf", 3),  # compared with each other: the history goes on
    ],
)
def test_a_run_measured_another_way_starts_the_history_again(
    saved: str, now: str, records: int
) -> None:
    entry = None
    for run, mode in enumerate((saved, saved, now)):
        verdict = make_verdict("t::a", seed=run)
        meas = dataclasses.replace(verdict.measurement, mode=mode)  # type: ignore[type-var]
        verdict = dataclasses.replace(verdict, measurement=meas)
        entry = entry_from_verdict(verdict, entry, machine="m1", commit=str(run))
    assert entry is not None
    assert [run["mode"] for run in entry.history] == [saved, saved, now][-records:]


def test_a_run_on_another_clock_starts_the_history_again() -> None:
    verdict = make_verdict("t::a")
    first = entry_from_verdict(verdict, None, machine="m1", commit="a")
    cpu = dataclasses.replace(verdict.measurement, timer="cpu")  # type: ignore[type-var]
    entry = entry_from_verdict(
        dataclasses.replace(verdict, measurement=cpu), first, machine="m1", commit="b"
    )
    assert [run["commit"] for run in entry.history] == ["b"]


def scaled(verdict: Verdict, factor: float) -> Verdict:
    """``verdict`` with every sample ``factor`` times as long."""
    assert verdict.measurement is not None
    meas = Measurement(sample_ns=tuple(round(ns * factor) for ns in verdict.measurement.sample_ns))
    return dataclasses.replace(verdict, summary=summarize(meas.seconds), measurement=meas)


@pytest.mark.parametrize(("factor", "kept"), [(1.3, "earlier"), (0.8, "new")])
def test_runs_of_one_refresh_keep_the_fastest_samples(factor: float, kept: str) -> None:
    earlier = make_verdict("t::a")
    first = entry_from_verdict(earlier, None, machine="m1", commit="c", refresh="r1")
    new = scaled(earlier, factor)
    entry = entry_from_verdict(new, first, machine="m1", commit="c", refresh="r1")
    source = earlier if kept == "earlier" else new
    assert tuple(entry.sample_ns) == tuple(source.measurement.sample_ns)  # type: ignore[union-attr]
    assert entry.summary == source.summary
    assert [run["refresh"] for run in entry.history] == ["r1", "r1"]
    assert entry.history[1]["min"] == pytest.approx(entry.history[0]["min"] * factor, rel=1e-3)


@pytest.mark.parametrize(
    ("before", "now", "machine"),
    [(None, "r1", "m1"), ("r1", None, "m1"), ("r1", "r2", "m1"), ("r1", "r1", "m2")],
)
def test_a_save_outside_the_same_refresh_replaces_the_samples(
    before: str | None, now: str | None, machine: str
) -> None:
    earlier = make_verdict("t::a")
    first = entry_from_verdict(earlier, None, machine="m1", commit="c", refresh=before)
    slower = scaled(earlier, 1.5)
    entry = entry_from_verdict(slower, first, machine=machine, commit="c", refresh=now)
    assert tuple(entry.sample_ns) == tuple(slower.measurement.sample_ns)  # type: ignore[union-attr]
    assert [run.get("refresh") for run in entry.history] == [before, now]


def test_the_refresh_token_is_read_back_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    earlier = make_verdict("t::a")
    save(path, [entry_from_verdict(earlier, None, machine="m1", commit="c", refresh="r1")],
         machine=FP, generator=GENERATOR)  # fmt: skip
    previous = load(path).entries["t::a"]
    entry = entry_from_verdict(scaled(earlier, 2), previous, machine="m1", commit="c", refresh="r1")
    assert list(entry.sample_ns) == list(earlier.measurement.sample_ns)  # type: ignore[union-attr]


def test_entries_are_thinned_to_the_sample_limit() -> None:
    entry = make_entry("t::a", n=25_000)
    assert len(entry.sample_ns) == SAMPLE_LIMIT
    assert entry.history[0]["n"] == 25_000


def test_an_entry_needs_samples_and_a_summary() -> None:
    with pytest.raises(ValueError, match="needs samples"):
        entry_from_verdict(Verdict("t::a", Status.PASS), None, machine="m", commit=None)


# -- loading ----------------------------------------------------------------------


def test_a_missing_file_is_an_empty_baseline(tmp_path: Path) -> None:
    loaded = load(tmp_path / "nothing.json")
    assert loaded.path is None
    assert loaded.entries == {}


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    entry = make_entry("t::a", iterations=3)
    save(path, [entry], machine=FP, generator=GENERATOR)
    loaded = load(path)
    assert loaded.path == path
    assert loaded.machine == FP
    assert loaded.generator == GENERATOR
    got = loaded.entries["t::a"]
    assert got.sample_ns == entry.sample_ns
    assert (got.iterations, got.timer, got.machine, got.commit) == (3, "wall", "m1", "abc")
    assert got.summary.p95 == pytest.approx(entry.summary.p95, rel=1e-5)
    assert got.summary.bound("p50")[0] == pytest.approx(entry.summary.bound("p50")[0], rel=1e-5)
    assert got.budget == entry.budget
    assert got.reference == entry.reference
    assert got.history[0]["p10"] == pytest.approx(entry.history[0]["p10"], rel=1e-5)


def broken(doc: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    change(doc)
    return doc


def entry_of(doc: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = doc["tests"]["t::a"]
    return entry


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("tests"), "missing 'tests'"),
        (lambda d: d.update(tests=[]), "must be an object keyed by node id, got a list"),
        (lambda d: d.update(machine="x"), "'machine' must be an object, got a string"),
        (lambda d: d.pop("schema_version"), "missing 'schema_version'"),
        (lambda d: d.update(schema_version="1"), "must be a whole number, got '1'"),
        (lambda d: d.update(schema_version=True), "must be a whole number"),
        (lambda d: d.update(schema_version=0), "schema 0 is too old"),
        (lambda d: d["tests"].update({"t::a": []}), "test 't::a' must be an object, got a list"),
        (lambda d: entry_of(d).pop("samples"), "test 't::a' is missing 'samples'"),
        (lambda d: entry_of(d).update(samples="AAAA"), "bad 'samples'.*starting with 'd<width>:'"),
        (lambda d: entry_of(d)["stats"].pop("p50"), "bad 'stats'.*p50"),
        (lambda d: entry_of(d).update(stats=[]), "'stats' has a bad value"),
        (lambda d: entry_of(d).update(iterations=0), "'iterations' has a bad value 0"),
        (lambda d: entry_of(d).update(iterations=True), "'iterations' has a bad value True"),
        (lambda d: entry_of(d).update(history=[1]), "'history' must be a list of objects"),
        (lambda d: entry_of(d).update(commit=5), "'commit' has a bad value 5"),
        (lambda d: entry_of(d).update(reference="1ms"), "'reference' has a bad value"),
    ],
)
def test_an_unreadable_baseline_is_an_error_naming_the_file(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    path = write_doc(tmp_path / "baseline.json", broken(valid_doc(tmp_path), change))
    with pytest.raises(BaselineError, match=message) as info:
        load(path)
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: entry_of(d).update(samples="z64:!!"), "bad 'samples'.*not valid base64"),
        (lambda d: entry_of(d).update(n=3), "'n' is 3 but 'samples' holds 200"),
        (lambda d: entry_of(d)["stats"].update(p95="x"), "bad 'stats'.*could not convert"),
    ],
)
def test_a_corrupt_entry_is_an_error_naming_the_file_when_it_is_used(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    doc = valid_doc(tmp_path)
    doc["tests"]["t::b"] = entry_of(doc)
    path = write_doc(tmp_path / "baseline.json", broken(doc, change))
    loaded = load(path)
    assert sorted(loaded.entries) == ["t::a", "t::b"]
    assert "t::a" in loaded.entries
    with pytest.raises(BaselineError, match=message) as info:
        loaded.entries.get("t::a")
    assert str(info.value).startswith(f"{path}: test 't::a'")


#: Changes to a saved entry that leave it readable.
READABLE = [
    lambda e: None,
    lambda e: e["stats"].update(p95="0.001", n=200.0),  # not the types written, still read
    lambda e: e["stats"]["bounds"].update(p50=[0.1, 0.2, 0.3]),
    lambda e: e["stats"].pop("p999"),
    lambda e: e.update(reference=1, extra={"x": 1}),
    lambda e: e.update(history=[{"p10": 1e-3, "machine": "m", "later": [1]}]),
]


@pytest.mark.parametrize("change", READABLE)
def test_an_entry_reads_the_same_from_its_text_as_parsed(
    tmp_path: Path, change: Callable[[dict[str, Any]], None]
) -> None:
    doc = valid_doc(tmp_path)
    change(entry_of(doc))
    text = json.dumps(doc)
    raw = codec.loads_keyed(text)["tests"]["t::a"]
    assert type(raw) is msgspec.Raw
    from_text = from_doc(tmp_path, "t::a", raw)
    assert from_text == from_doc(tmp_path, "t::a", entry_of(json.loads(text)))


@pytest.mark.parametrize("change", READABLE)
def test_a_load_reads_the_same_in_one_decode_as_entry_by_entry(
    tmp_path: Path, change: Callable[[dict[str, Any]], None]
) -> None:
    doc = valid_doc(tmp_path)
    doc["tests"]["t::b"] = json.loads(json.dumps(entry_of(doc)))
    change(entry_of(doc))
    path = write_doc(tmp_path / "b.json", doc)
    one_by_one = baseline._baseline_from_doc(path, codec.document(path, path.read_bytes()))
    loaded = load(path)
    assert (loaded.machine, loaded.generator) == (one_by_one.machine, one_by_one.generator)
    assert dict(loaded.entries) == dict(one_by_one.entries)


@pytest.mark.parametrize(
    ("change", "read"),
    [
        (lambda d: None, True),
        (lambda d: d.update(schema_version=0), False),  # migrated by the checking path
        (lambda d: entry_of(d).update(iterations=0), False),  # its error named there
        (lambda d: entry_of(d).update(samples="AAAA"), False),
        (lambda d: entry_of(d).update(history=[1]), False),
        (lambda d: entry_of(d)["stats"].update(p95="0.001"), False),
        (lambda d: d.update(machine=[]), False),
    ],
)
def test_only_a_valid_file_of_the_current_schema_is_read_in_one_decode(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], read: bool
) -> None:
    text = json.dumps(broken(valid_doc(tmp_path), change))
    assert (read_current(text, SCHEMA_VERSION) is not None) is read


def test_entries_are_decoded_at_each_lookup_and_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    save(path, [make_entry("t::a"), make_entry("t::b", 1)], machine=FP, generator=GENERATOR)
    entries = load(path).entries
    assert entries.get("t::c") is None
    first = entries["t::a"]
    assert entries["t::a"] == first
    assert entries["t::a"] is not first
    assert first.sample_ns == make_entry("t::a").sample_ns
    kept = weakref.ref(first)
    del first
    gc.collect()
    assert kept() is None  # a run's memory does not grow with the entries it used
    assert dict(entries) == {"t::a": entries["t::a"], "t::b": entries["t::b"]}


def test_optional_entry_fields_may_be_missing(tmp_path: Path) -> None:
    doc = valid_doc(tmp_path)
    for key in ("n", "budget", "history", "machine", "commit", "reference"):
        entry_of(doc).pop(key)
    entry = load(write_doc(tmp_path / "b.json", doc)).entries["t::a"]
    assert (entry.budget, entry.history, entry.machine, entry.commit) == ({}, (), "", None)


def test_a_truncated_file_is_an_error(tmp_path: Path) -> None:
    text = dumps(valid_doc(tmp_path))
    for cut in (len(text) // 2, 200, 40):
        path = tmp_path / "baseline.json"
        path.write_text(text[:cut])
        with pytest.raises(BaselineError, match=r"truncated.*line \d+, column \d+") as info:
            load(path)
        assert str(info.value).startswith(str(path))
        assert isinstance(info.value.__cause__, json.JSONDecodeError)


def test_a_file_cut_inside_a_string_says_where_the_string_starts(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_text('{\n  "generator": "pytest-perf')
    with pytest.raises(BaselineError) as info:
        load(path)
    assert str(info.value) == (
        f"{path}: truncated: the JSON ends early "
        "(Unterminated string starting at: line 2, column 16)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("{,}", r"not valid JSON \(Expecting property name .*: line 1, column 2\)"),
        ("[1, 2]", "expected a JSON object .* got a list"),
        ("null", "got null"),
        ("3", "got a number"),
    ],
)
def test_a_file_that_is_not_a_json_object_is_an_error(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(text)
    with pytest.raises(BaselineError, match=message):
        load(path)


def test_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(BaselineError, match="cannot read"):
        load(path)
    with pytest.raises(BaselineError, match="cannot read"):
        load(tmp_path)


def test_a_baseline_with_non_ascii_node_ids_reads_and_saves(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    save(path, [make_entry("t::test[café-😀]"), make_entry("t::a")], machine=FP, generator="g")
    assert "café-😀" in path.read_text(encoding="utf-8")  # written as UTF-8, not escaped
    assert set(load(path).entries) == {"t::test[café-😀]", "t::a"}
    save(path, [make_entry("t::b")], machine=FP, generator="g")
    assert load(path).entries["t::test[café-😀]"].sample_ns == make_entry("t::a").sample_ns


def test_a_newer_schema_asks_for_an_upgrade(tmp_path: Path) -> None:
    path = write_doc(tmp_path / "b.json", {**valid_doc(tmp_path), "schema_version": 2})
    with pytest.raises(SchemaVersionError) as info:
        load(path)
    assert str(info.value) == (
        f"{path} was written by a newer pytest-perfbudget "
        "(schema 2, this version reads ≤ 1); upgrade pytest-perfbudget"
    )


def test_a_pytest_benchmark_file_is_not_a_baseline(tmp_path: Path) -> None:
    path = write_doc(tmp_path / "b.json", {"machine_info": {}, "benchmarks": [{"name": "x"}]})
    with pytest.raises(BaselineError, match=r"pytest-benchmark file.*import-benchmark"):
        load(path)


def test_an_older_schema_is_migrated_on_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = valid_doc(tmp_path)
    old = {"schema_version": 0, "runs": current["tests"], "machine": current["machine"]}

    def v0_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
        return {"machine": doc["machine"], "tests": doc["runs"]}

    monkeypatch.setitem(codec.MIGRATIONS, 0, v0_to_v1)
    loaded = load(write_doc(tmp_path / "old.json", old))
    assert list(loaded.entries) == ["t::a"]


# -- saving -----------------------------------------------------------------------


def test_save_is_deterministic_with_sorted_keys(tmp_path: Path) -> None:
    entries = [make_entry("t::b", 1), make_entry("t::a", 2)]
    first, second = tmp_path / "1" / "b.json", tmp_path / "2" / "b.json"
    save(first, entries, machine=FP, generator=GENERATOR)
    save(second, list(reversed(entries)), machine=FP, generator=GENERATOR)
    text = first.read_text(encoding="utf-8")
    assert first.read_bytes() == second.read_bytes()
    assert text.endswith("}\n")
    assert text == dumps(json.loads(text))
    assert list(json.loads(text)["tests"]) == ["t::a", "t::b"]


def test_dumps_indents_like_json_but_keeps_deep_records_on_one_line() -> None:
    doc = {
        "b": [],
        "a": {"x": {"y": {"run": {"n": 1, "p10": 0.5}, "pair": [1, None], "deep": {"l": [1]}}}},
    }
    text = dumps(doc)
    assert json.loads(text) == doc
    assert text.splitlines()[:4] == ["{", '  "a": {', '    "x": {', '      "y": {']
    assert '        "pair": [1, null],' in text.splitlines()
    assert '        "deep": {"l": [1]},' in text.splitlines()
    assert '        "run": {"n": 1, "p10": 0.5}' in text.splitlines()
    assert text.endswith('  "b": []\n}\n')
    assert dumps({}) == "{}\n"


def test_saving_what_was_loaded_changes_no_byte(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    save(path, [make_entry("t::a")], machine=FP, generator=GENERATOR)
    before = path.read_bytes()
    save(path, list(load(path).entries.values()), machine=FP, generator=GENERATOR)
    assert path.read_bytes() == before


def test_stats_are_rounded_to_six_significant_digits(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    save(path, [make_entry("t::a")], machine=FP, generator=GENERATOR)
    stats = json.loads(path.read_text())["tests"]["t::a"]["stats"]
    for name in ("mean", "p50", "p95", "stdev"):
        assert stats[name] == float(f"{stats[name]:.6g}")
    assert stats["mean"] != make_entry("t::a").summary.mean


def test_save_keeps_entries_of_tests_that_did_not_run(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "baseline.json"
    first = save(path, [make_entry("t::a"), make_entry("t::b")], machine=FP, generator=GENERATOR)
    assert [(nodeid, old) for nodeid, old, _ in first.changes] == [("t::a", None), ("t::b", None)]
    new_b = make_entry("t::b", seed=9)
    second = save(path, [new_b, make_entry("t::c")], machine={"cpu": "new"}, generator="g2")
    (nodeid, old, new), (nodeid_c, old_c, _) = second.changes
    assert (nodeid, nodeid_c, old_c) == ("t::b", "t::c", None)
    assert old is not None
    assert old.sample_ns == first.changes[1][2].sample_ns
    assert new is new_b
    loaded = load(path)
    assert sorted(loaded.entries) == ["t::a", "t::b", "t::c"]
    assert loaded.entries["t::b"].sample_ns == new_b.sample_ns
    assert (loaded.machine, loaded.generator) == ({"cpu": "new"}, "g2")


def test_save_drops_the_entries_it_is_told_to_but_never_one_it_saves(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    save(path, [make_entry(n) for n in ("t::a", "t::b", "t::c")], machine=FP, generator=GENERATOR)
    result = save(
        path, [make_entry("t::a")], machine=FP, generator=GENERATOR, drop=lambda nodeid: True
    )
    assert list(result.dropped) == ["t::b", "t::c"]
    assert list(load(path).entries) == ["t::a"]


def test_save_copies_kept_entries_without_decoding_them(tmp_path: Path) -> None:
    doc = valid_doc(tmp_path)
    entry_of(doc)["samples"] = "z64:!!"
    path = write_doc(tmp_path / "b.json", doc)
    save(path, [make_entry("t::b")], machine=FP, generator=GENERATOR)
    assert json.loads(path.read_text())["tests"]["t::a"]["samples"] == "z64:!!"
    with pytest.raises(BaselineError, match="t::a"):
        load(path).entries["t::a"]
    # a save replaces a corrupt entry; its old value is decoded only when asked for
    result = save(path, [make_entry("t::a")], machine=FP, generator=GENERATOR)
    assert load(path).entries["t::a"].sample_ns == make_entry("t::a").sample_ns
    with pytest.raises(BaselineError, match="t::a"):
        result.changes[0]


def test_save_copies_the_text_of_kept_entries_as_it_is(tmp_path: Path) -> None:
    doc = valid_doc(tmp_path)
    path = tmp_path / "b.json"
    path.write_text(json.dumps(doc, indent=4), encoding="utf-8")
    kept = json.dumps(entry_of(doc), indent=4).replace("\n", "\n        ")
    save(path, [make_entry("t::b")], machine=FP, generator=GENERATOR)
    text = path.read_text(encoding="utf-8")
    assert f'\n    "t::a": {kept},\n    "t::b": {{\n      "budget": {{\n' in text
    assert json.loads(text)["tests"]["t::a"] == entry_of(doc)


def test_a_refresh_changes_only_the_lines_of_the_refreshed_entries(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    entries = [make_entry(f"t::{name}", seed) for seed, name in enumerate("abc")]
    save(path, entries, machine=FP, generator=GENERATOR)
    before = path.read_text(encoding="utf-8").splitlines()
    save(path, [make_entry("t::b", seed=7)], machine=FP, generator=GENERATOR)
    after = path.read_text(encoding="utf-8").splitlines()
    start = before.index('    "t::b": {')
    end = start + before[start:].index("    },")
    changed = [i for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
    assert changed
    assert all(start < i < end for i in changed)


def test_save_reads_a_file_another_writer_changed_since_it_was_loaded(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    save(path, [make_entry("t::a")], machine=FP, generator=GENERATOR)
    load(path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["tests"]["t::other"] = entry_of(doc)
    write_doc(path, doc)
    save(path, [make_entry("t::b")], machine=FP, generator=GENERATOR)
    assert sorted(load(path).entries) == ["t::a", "t::b", "t::other"]


def test_save_never_overwrites_an_unreadable_baseline(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text('{"tests": ')
    with pytest.raises(BaselineError, match="truncated"):
        save(path, [make_entry("t::a")], machine=FP, generator=GENERATOR)
    assert path.read_text() == '{"tests": '


def test_save_reports_a_folder_it_cannot_create(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(BaselineError, match="cannot create the lock file"):
        save(tmp_path / "file" / "b.json", [], machine=FP, generator=GENERATOR)
    with pytest.raises(BaselineError, match="cannot write"):
        baseline.atomic_write(tmp_path / "file" / "b.json", "{}")


def test_a_folder_the_save_creates_gets_a_gitignore_for_the_lock_and_temp_files(
    tmp_path: Path,
) -> None:
    path = tmp_path / "new" / "folder" / "b.json"
    save(path, [make_entry("t::a")], machine=FP, generator=GENERATOR)
    ignored = (path.parent / ".gitignore").read_text().splitlines()
    assert [line for line in ignored if not line.startswith("#")] == ["*.lock", "*.tmp"]
    assert sorted(p.name for p in path.parent.iterdir()) == [".gitignore", "b.json", "b.json.lock"]
    assert not (tmp_path / "new" / ".gitignore").exists()  # only the file's own folder


def test_a_save_into_an_existing_folder_writes_no_gitignore(tmp_path: Path) -> None:
    save(tmp_path / "b.json", [make_entry("t::a")], machine=FP, generator=GENERATOR)
    assert not (tmp_path / ".gitignore").exists()


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "b.json"
    path.write_text("old")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    def failed(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        baseline.atomic_write(path, "new")
    monkeypatch.setattr(os, "replace", failed)
    with pytest.raises(BaselineError, match="No space left"):
        baseline.atomic_write(path, "new")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_atomic_write_keeps_the_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    baseline.atomic_write(path, "one")
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o600)
    baseline.atomic_write(path, "two")
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text() == "two"


def test_concurrent_threads_lose_no_entry(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    entry = make_entry("t::x", n=50)

    def writer(worker: int) -> None:
        for i in range(10):
            nodeid = f"t::w{worker}_{i}"
            save(path, [_renamed(entry, nodeid)], machine=FP, generator=GENERATOR)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(load(path).entries) == 40


def _renamed(entry: BaselineEntry, nodeid: str) -> BaselineEntry:
    from dataclasses import replace

    return replace(entry, nodeid=nodeid)


SAVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pytest_perfbudget.baseline import BaselineEntry, save
    from pytest_perfbudget.model import Summary

    path, worker = Path(sys.argv[1]), sys.argv[2]
    stats = dict(n=3, mean=1e-3, stdev=0.0, min=1e-3, p50=1e-3, p75=1e-3, p90=1e-3,
                 p95=1e-3, p99=1e-3, p999=1e-3, max=1e-3)
    for i in range(50):
        entry = BaselineEntry(
            nodeid=f"t::{worker}_{i}", timer="wall", iterations=1,
            sample_ns=(1_000_000, 1_000_100, 999_900), summary=Summary(**stats),
            budget={}, history=(), machine="m", commit=None,
        )
        save(path, [entry], machine={"worker": worker}, generator="test")
    """
)


def test_concurrent_processes_lose_no_entry(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    procs = [
        subprocess.Popen([sys.executable, "-c", SAVER, str(path), worker]) for worker in ("p", "q")
    ]
    assert [proc.wait(timeout=60) for proc in procs] == [0, 0]
    entries = load(path).entries
    assert sorted(entries) == sorted(f"t::{w}_{i}" for w in "pq" for i in range(50))


# -- merging and reading for compare ----------------------------------------------


def test_merge_of_shard_baselines_takes_every_test_a_file_holds(tmp_path: Path) -> None:
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    save(one, [make_entry("t::a", 1), make_entry("t::b", 1)], machine=FP, generator="g1")
    save(two, [make_entry("t::b", 1), make_entry("t::c", 2)], machine={"cpu": "2"}, generator="g2")
    merged = merge([one, two])
    doc = merged.document
    assert doc["schema_version"] == SCHEMA_VERSION
    assert (doc["machine"], doc["generator"]) == ({"cpu": "2"}, "g2")
    assert merged.conflicts == []
    out = tmp_path / "out.json"
    baseline.atomic_write(out, dumps(doc))
    entries = load(out).entries
    assert sorted(entries) == ["t::a", "t::b", "t::c"]
    assert entries["t::a"] == load(one).entries["t::a"]
    assert entries["t::c"] == load(two).entries["t::c"]


def test_merge_without_a_base_refuses_entries_of_one_test_that_differ(tmp_path: Path) -> None:
    """Which of two entries of a test is newer cannot be told: keeping either could
    lose a shard's refresh."""
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    save(one, [make_entry("t::a", 1), make_entry("t::b", 1)], machine=FP, generator=GENERATOR)
    save(two, [make_entry("t::a", 1), make_entry("t::b", 2)], machine=FP, generator=GENERATOR)
    with pytest.raises(BaselineError) as info:
        merge([one, two])
    assert str(info.value) == (
        "1 test has different entries in two or more of the files, none saved over the "
        "others: t::b. Pass --base with the baseline the files were saved over: each "
        "test's entry is then taken from the file that changed it"
    )
    names = [f"t::{i:02d}" for i in range(7)]
    one, two = tmp_path / "seven-1.json", tmp_path / "seven-2.json"
    save(one, [make_entry(name, 1) for name in names], machine=FP, generator=GENERATOR)
    save(two, [make_entry(name, 2) for name in names], machine=FP, generator=GENERATOR)
    with pytest.raises(
        BaselineError,
        match=r"^7 tests have .*: t::00, t::01, t::02, t::03, t::04 and 2 more\. Pass ",
    ):
        merge([one, two])


def shards_of(tmp_path: Path, *groups: Sequence[str]) -> tuple[Path, list[Path]]:
    """A base of tests ``t::a`` … ``t::d`` (seed 0), and one shard for each group,
    saved over the base with the group's tests measured again (seed 1)."""
    base = tmp_path / "base.json"
    save(base, [make_entry(f"t::{name}") for name in "abcd"], machine=FP, generator=GENERATOR)
    shards = []
    for number, group in enumerate(groups):
        shard = tmp_path / f"shard-{number}.json"
        shard.write_bytes(base.read_bytes())
        old = load(base).entries
        entries = [
            entry_from_verdict(make_verdict(f"t::{x}", 1), old[f"t::{x}"], machine="m1", commit="c")
            for x in group
        ]
        save(shard, entries, machine=FP, generator="g")
        shards.append(shard)
    return base, shards


@pytest.mark.parametrize("order", [1, -1])
def test_merge_over_a_base_takes_each_entry_from_the_shard_that_changed_it(
    tmp_path: Path, order: int
) -> None:
    base, shards = shards_of(tmp_path, "ab", "c")
    merged = merge(shards[::order], base=base)
    assert merged.conflicts == []
    out = tmp_path / "out.json"
    baseline.atomic_write(out, dumps(merged.document))
    entries, before = load(out).entries, load(base).entries
    for name, shard in [("a", 0), ("b", 0), ("c", 1)]:
        assert entries[f"t::{name}"] == load(shards[shard]).entries[f"t::{name}"]
        assert entries[f"t::{name}"] != before[f"t::{name}"]
        assert len(entries[f"t::{name}"].history) == 2  # the base's record and the shard's
    assert entries["t::d"] == before["t::d"]  # no shard changed it


@pytest.mark.parametrize("order", [1, -1])
def test_merge_without_a_base_takes_the_entry_saved_over_the_others(
    tmp_path: Path, order: int
) -> None:
    """A shard's refresh appends a history record to the entry it saved over: the
    entry whose history holds another's latest record and more is the newer."""
    base, shards = shards_of(tmp_path, "ab", "c")
    merged = merge(shards[::order])
    assert merged.conflicts == []
    tests = merged.document["tests"]
    for name, shard in [("a", 0), ("b", 0), ("c", 1)]:
        assert tests[f"t::{name}"] == read_document(shards[shard])["tests"][f"t::{name}"]
    assert tests["t::d"] == read_document(base)["tests"]["t::d"]
    again = merge([base, *shards[::order]])  # the base among the files: older than all
    assert again.document == merged.document


def test_merge_run_again_over_its_own_output_changes_nothing(tmp_path: Path) -> None:
    """Merged into the base itself, the base then holds the newer entries: the shards'
    copies of the others' tests are older than it, not changes."""
    base, shards = shards_of(tmp_path, "ab", "cd")
    baseline.atomic_write(base, dumps(merge(shards, base=base).document))
    text = base.read_text()
    merged = merge(shards, base=base)
    assert merged.conflicts == []
    assert dumps(merged.document) == text


def test_merge_holds_the_tests_the_files_hold_and_drops_those_every_shard_pruned(
    tmp_path: Path,
) -> None:
    """The base tells which entries changed; it adds no test: one that every shard
    dropped (``--perfbudget-prune``: the test is gone) stays dropped."""
    base, shards = shards_of(tmp_path, "a", "b")
    for shard in shards:
        save(shard, [], machine=FP, generator=GENERATOR, drop=lambda nodeid: nodeid == "t::d")
    for based in (None, base):
        tests = merge(shards, base=based).document["tests"]
        assert sorted(tests) == ["t::a", "t::b", "t::c"]
        assert tests["t::a"] == read_document(shards[0])["tests"]["t::a"]
        assert tests["t::b"] == read_document(shards[1])["tests"]["t::b"]
        assert tests["t::c"] == read_document(base)["tests"]["t::c"]


def test_merge_over_a_base_keeps_the_last_of_two_changes_and_names_the_test(
    tmp_path: Path,
) -> None:
    base, shards = shards_of(tmp_path, "ab", "b")
    save(shards[1], [make_entry("t::b", 2)], machine=FP, generator=GENERATOR)  # changed again
    for files in (shards, shards[::-1]):
        merged = merge(files, base=base)
        assert merged.conflicts == ["t::b"]
        assert merged.document["tests"]["t::b"] == read_document(files[-1])["tests"]["t::b"]
        assert merged.document["tests"]["t::a"] == read_document(shards[0])["tests"]["t::a"]
    same = tmp_path / "same.json"  # two shards that changed a test the same way agree
    same.write_bytes(shards[0].read_bytes())
    assert merge([shards[0], same], base=base).conflicts == []


def test_merge_over_a_base_validates_the_base(tmp_path: Path) -> None:
    _, shards = shards_of(tmp_path, "a")
    bad = write_doc(tmp_path / "bad.json", {"schema_version": 1, "tests": {"t::x": {}}})
    with pytest.raises(BaselineError, match=f"^{bad}: test 't::x' is missing"):
        merge(shards, base=bad)
    with pytest.raises(BaselineError, match="no such file"):
        merge(shards, base=tmp_path / "missing.json")
    report = write_run_report(tmp_path / "report.json", make_verdict("t::a"))
    with pytest.raises(BaselineError, match="'tests' must be an object keyed by node id"):
        merge(shards, base=report)


def test_merge_validates_every_file(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    save(good, [make_entry("t::a")], machine=FP, generator=GENERATOR)
    bad = write_doc(tmp_path / "bad.json", {"schema_version": 1, "tests": {"t::x": {}}})
    with pytest.raises(BaselineError, match=f"^{bad}: test 't::x' is missing"):
        merge([good, bad])
    with pytest.raises(BaselineError, match="no such file"):
        merge([good, tmp_path / "missing.json"])
    with pytest.raises(BaselineError, match="no files given"):
        merge([])


def write_run_report(path: Path, *verdicts: Verdict, duration: float = 1.0) -> Path:
    report = build_report(
        list(verdicts), machine=FP, settings={}, generator=GENERATOR, duration=duration
    )
    write_report(path, report)
    return path


def test_merge_refuses_to_mix_baselines_and_reports(tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    save(base, [make_entry("t::a")], machine=FP, generator=GENERATOR)
    report = write_run_report(tmp_path / "report.json", make_verdict("t::a"))
    with pytest.raises(BaselineError, match="cannot merge baselines with run reports") as info:
        merge([base, report])
    assert f"{base} is a baseline" in str(info.value)
    assert f"{report} is a run report" in str(info.value)


def test_merge_of_shard_reports(tmp_path: Path) -> None:
    one = write_run_report(tmp_path / "1.json", make_verdict("t::b", 1), duration=2.0)
    two = write_run_report(
        tmp_path / "2.json", make_verdict("t::a", 2), make_verdict("t::b", 3), duration=3.0
    )
    doc = merge([one, two]).document
    assert [test["nodeid"] for test in doc["tests"]] == ["t::a", "t::b"]
    assert doc["tests"][1]["samples"] == json.loads(two.read_text())["tests"][1]["samples"]
    assert doc["duration"] == 5.0
    assert doc["summary"]["pass"] == 2
    base = tmp_path / "base.json"
    save(base, [make_entry("t::a")], machine=FP, generator=GENERATOR)
    with pytest.raises(BaselineError, match=f"^--base applies to baselines: {one} is a run report"):
        merge([one, two], base=base)


def test_load_samples_reads_a_baseline(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    entry = make_entry("t::a", iterations=2)
    save(path, [entry], machine=FP, generator=GENERATOR)
    seconds, summary, timer, mode = load_samples(path)["t::a"]
    assert seconds == pytest.approx(entry.seconds)
    assert isinstance(summary, Summary)
    assert (timer, mode) == ("wall", entry.history[-1]["mode"])


def test_load_samples_reads_a_run_report(tmp_path: Path) -> None:
    measured = make_verdict("t::a")
    no_stats = Verdict("t::skipped", Status.SKIPPED)
    no_samples = Verdict("t::c", Status.PASS, summary=measured.summary)
    path = write_run_report(tmp_path / "r.json", measured, no_stats, no_samples)
    loaded = load_samples(path)
    assert sorted(loaded) == ["t::a", "t::c"]
    assert loaded["t::a"][0] == pytest.approx(measured.measurement.seconds)  # type: ignore[union-attr]
    assert loaded["t::a"][2:] == ("wall", "perf")
    assert loaded["t::c"] == ([], measured.summary, None, None)


def test_load_samples_of_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="no such file"):
        load_samples(tmp_path / "missing.json")
