"""A baseline entry's fast paths give what the plain ones give: history kept as text,
samples and seconds kept as arrays, stats written from one formatting call."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_perfbudget.codec import Encoded, dumps, dumps_test, rounded_floats
from pytest_perfbudget.entry import (
    BaselineEntry,
    History,
    LazyEntries,
    appended,
    checked,
    entry_text,
    from_doc,
    marked_busy,
    mins,
    refresh_mins,
    rounded,
    to_doc,
)
from pytest_perfbudget.errors import BaselineError
from pytest_perfbudget.lazy import ArrayValues, seconds_of
from pytest_perfbudget.regression import estimate_change, noise_floor
from pytest_perfbudget.stats import summarize

RECORDS = [
    {"commit": "c1", "machine": "m1", "n": 9, "min": 1e-05, "p10": 1.5e-05, "p50": 2e-05},
    {"commit": "c2", "machine": "m2", "n": 9, "min": "odd", "p10": 1.5e-05, "p50": 2e-05},
    {"commit": None, "machine": "m1", "n": 9, "min": 1.1e-05, "p50": 2.1e-05, "extra": [1, 2]},
]

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=6,
)
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, 100.0, 1e6, 1.23456789e7, 1e16, 1e-5, 9.9999996e-5, 1e-35, 2.2250738585072014e-308]
)


def history_text(records: list[dict[str, Any]]) -> msgspec.Raw:
    return msgspec.Raw(json.dumps(records, indent=3).encode())


# -- history ----------------------------------------------------------------------


def test_a_read_history_is_its_records() -> None:
    history = History(text=history_text(RECORDS))
    assert len(history) == 3
    assert history == RECORDS
    assert history[2]["extra"] == [1, 2]
    assert list(history[1:]) == RECORDS[1:]
    assert history != History.of(RECORDS[:2])
    assert history != "not a history"
    assert "'c1'" in repr(history)


def test_a_read_history_is_written_one_record_a_line_as_the_writer_writes_it() -> None:
    history = History(text=history_text(RECORDS))  # records over several lines, unsorted keys
    assert history.rows == History.of(RECORDS).rows
    doc = {"history": list(history.rows)}
    assert dumps({"a": {"b": doc}}) == dumps({"a": {"b": {"history": RECORDS}}})


def test_one_line_records_are_written_back_as_they_are() -> None:
    text = '[{"z": 1,  "a": 2.50}]'  # not what the writer makes: kept, it is one line
    assert History(text=msgspec.Raw(text.encode())).rows == ('{"z": 1,  "a": 2.50}',)


def test_appending_keeps_the_last_records() -> None:
    history = History(text=history_text(RECORDS))
    longer = appended(history, {"machine": "m3", "p10": 1.0}, 3)
    assert longer == [*RECORDS[1:], {"machine": "m3", "p10": 1.0}]
    assert appended(tuple(RECORDS), {"p10": 2.0}, 2) == [RECORDS[2], {"p10": 2.0}]
    assert appended((), {"p10": 2.0}, 20) == [{"p10": 2.0}]


@pytest.mark.parametrize("machine", [None, "m1", "m2", "nowhere"])
def test_mins_read_from_the_text_match_those_of_the_records(machine: str | None) -> None:
    fast = mins(History(text=history_text(RECORDS)), machine)
    assert fast == mins(RECORDS, machine) == mins(History.of(RECORDS), machine)
    assert mins((), machine) == mins(History(), machine) == []


def test_refresh_mins_read_from_the_text_match_those_of_the_records() -> None:
    records = [{"machine": "m", "min": 1e-3 * k, "refresh": "r" if k else None} for k in range(4)]
    assert refresh_mins(History(text=history_text(records))) == refresh_mins(records)
    assert refresh_mins(records) == [1e-3, 2e-3, 3e-3]
    assert refresh_mins(records[:1]) == refresh_mins(()) == []


def test_refresh_mins_leave_out_runs_marked_busy_and_marking_counts_the_refreshs_runs() -> None:
    records = [{"machine": "m", "min": 1e-3 * k, "refresh": "r" if k else None} for k in range(4)]
    history = marked_busy(records, "r", [1])  # the refresh's second run: the third record
    assert [json.loads(row).get("busy") for row in history.rows] == [None, None, True, None]
    from_text = History(text=history_text(list(history)))
    assert refresh_mins(history) == refresh_mins(from_text) == [1e-3, 3e-3]
    assert list(marked_busy(records, "another", [0, 1])) == records


def test_the_noise_floor_is_the_same_from_text_and_from_records() -> None:
    records = [{"machine": "m", "min": 1e-3 * (1 + 0.01 * k)} for k in range(8)]
    text = History(text=history_text(records))
    assert noise_floor(text) == pytest.approx(noise_floor(records), rel=0, abs=0)
    assert noise_floor(text, machine="other") is None


def test_a_history_that_is_not_a_list_of_objects_is_an_error(tmp_path: Path) -> None:
    entry = {"timer": "wall", "iterations": 1, "samples": "d1:5:AA==", "history": [1, 2]}
    entry["stats"] = summarize([1e-6] * 3).to_dict()
    with pytest.raises(BaselineError, match="'history' must be a list of objects"):
        from_doc(tmp_path / "b.json", "t::a", msgspec.Raw(json.dumps(entry).encode()))


# -- samples and seconds ------------------------------------------------------------


def test_array_values_read_as_their_list() -> None:
    values: ArrayValues[int] = ArrayValues(np.array([3, 1, 2], dtype=np.uint64))
    assert len(values) == 3
    assert values[0] == 3
    assert values[1:] == [1, 2]
    assert list(values) == [3, 1, 2]
    assert values == (3, 1, 2)
    assert (3, 1, 2) == values  # noqa: SIM300 - the tuple on the left is the point
    assert values != (3, 1)
    assert values != 3
    assert type(values[0]) is int
    assert repr(values) == "ArrayValues([3, 1, 2])"


@given(st.lists(st.integers(min_value=0, max_value=2**53), min_size=1), st.integers(1, 1000))
def test_seconds_of_samples_are_what_python_computes(sample_ns: list[int], iterations: int) -> None:
    scale = 1e-9 / iterations
    expected = [ns * scale for ns in sample_ns]
    assert list(seconds_of(sample_ns, iterations)) == expected
    array = ArrayValues(np.array(sample_ns, dtype=np.uint64))
    assert list(seconds_of(array, iterations)) == expected


def test_a_loaded_entry_compares_as_the_entry_it_was_made_from(tmp_path: Path) -> None:
    sample_ns = tuple(1_000_000 + 997 * k % 50_000 for k in range(300))
    entry = BaselineEntry(
        nodeid="t::a",
        timer="wall",
        iterations=2,
        sample_ns=sample_ns,
        summary=summarize([ns * 5e-10 for ns in sample_ns]),
        budget={"p95": 0.5},
        history=tuple(RECORDS),
        machine="m1",
        commit=None,
    )
    text = dumps_test(to_doc(entry))
    loaded = from_doc(tmp_path / "b.json", "t::a", msgspec.Raw(text.encode()))
    assert isinstance(loaded.sample_ns, ArrayValues)
    assert isinstance(loaded.history, History)
    assert loaded.sample_ns == sample_ns
    assert dumps_test(to_doc(loaded)) == text
    now = [s * 1.05 for s in entry.seconds]
    assert estimate_change(now, loaded.seconds) == estimate_change(now, list(entry.seconds))


def test_an_entrys_history_is_read_without_its_samples_in_either_form(tmp_path: Path) -> None:
    entry = BaselineEntry(
        nodeid="t::a",
        timer="wall",
        iterations=1,
        sample_ns=(1000, 1100),
        summary=summarize([1e-6, 1.1e-6]),
        budget={},
        history=tuple(RECORDS),
        machine="m1",
        commit=None,
    )
    path = tmp_path / "b.json"
    text = dumps_test(to_doc(entry))
    parsed = json.loads(text)  # how an older schema's entry is read
    entries = LazyEntries(
        path,
        {
            "raw": checked(path, "a", msgspec.Raw(text.encode())),
            "parsed": checked(path, "b", parsed),
        },
    )
    assert list(entries.history("raw")) == list(entries.history("parsed")) == RECORDS


# -- writing ------------------------------------------------------------------------


@given(st.lists(floats, max_size=30))
def test_rounded_floats_are_the_writers_text_of_the_rounded_values(values: list[float]) -> None:
    expected = [json.dumps(rounded(value)) for value in values]
    assert rounded_floats(values) == expected


@given(
    floats,
    floats,
    st.dictionaries(
        st.sampled_from(["p50", "p95", "max", "mean", 'weird " name']),
        st.tuples(st.none() | floats, st.none() | floats),
        max_size=5,
    ),
)
def test_stats_are_written_as_the_generic_writer_writes_them(
    mean: float, p95: float, bounds: dict[str, tuple[float | None, float | None]]
) -> None:
    summary = dataclasses.replace(summarize([1e-3, 2e-3, 4e-3]), mean=mean, p95=p95, bounds=bounds)
    fast = to_doc(_entry(summary))
    assert isinstance(fast["stats"], Encoded)
    assert dumps_test(fast) == dumps_test({**fast, "stats": rounded(summary.to_dict())})


#: Timings as a summary holds them, and the edges of the one-operation path.
timings = st.floats(1e-300, 0.999999, exclude_max=True) | st.sampled_from(
    [1e-300, 0.9999989, 0.999999, 0.9999995, 1.0, 1e-4, 9.9999996e-5, 0.1, 0.5e-300]
)


@given(
    st.lists(timings, min_size=10, max_size=10),
    st.dictionaries(
        st.sampled_from(["p50", "p95", "max", "mean", "p999"]),
        st.tuples(st.none() | timings, st.none() | timings),
        max_size=5,
    ),
    st.none() | st.sampled_from([math.nan, math.inf, 2.5]),
)
def test_timings_are_written_as_the_generic_writer_writes_them(
    stats: list[float],
    bounds: dict[str, tuple[float | None, float | None]],
    odd: float | None,
) -> None:
    names = ("max", "mean", "min", "p50", "p75", "p90", "p95", "p99", "p999")
    fields = dict(zip(names, stats[:9], strict=True))
    summary = dataclasses.replace(summarize([1e-3, 2e-3]), **fields, stdev=stats[-1], bounds=bounds)
    if odd is not None:  # one value the one-operation path must not take
        summary = dataclasses.replace(summary, p75=odd)
    fast = to_doc(_entry(summary))
    assert isinstance(fast["stats"], Encoded)
    assert dumps_test(fast) == dumps_test({**fast, "stats": rounded(summary.to_dict())})


def test_budgets_equal_in_python_are_written_as_they_are() -> None:
    """The texts of budgets are kept by ``repr``: 1, 1.0 and True differ, and so do 0.0 and -0.0."""
    budgets = [{"p95": 1}, {"p95": 1.0}, {"p95": True}, {"p95": 0.0}, {"p95": -0.0}] * 2
    texts = set()
    for budget in budgets:
        entry = dataclasses.replace(_entry(summarize([1e-3, 2e-3])), budget=budget)
        texts.add(entry_text(entry))
        assert entry_text(entry) == dumps_test(to_doc(entry))
    assert len(texts) == 5


def test_stats_of_other_types_take_the_generic_path() -> None:
    summary = dataclasses.replace(summarize([1e-3, 2e-3]), mean=np.float64(1.5e-3), n=2)
    stats = to_doc(_entry(summary))["stats"]
    assert stats == rounded(summary.to_dict())
    assert type(stats["mean"]) is float
    assert math.isclose(stats["mean"], 1.5e-3)


@given(
    fields=st.fixed_dictionaries(
        {
            "budget": st.dictionaries(st.sampled_from(["limits", "memory", "é"]), values),
            "commit": st.none() | st.text(max_size=8),
            "history": st.lists(
                st.dictionaries(st.sampled_from(["min", "machine", "x"]), values), max_size=3
            ).map(History.of),
            "iterations": st.integers(1, 10**6),
            "machine": st.text(max_size=8),
            "reference": st.none() | floats,
            "sample_ns": st.lists(st.integers(0, 2**64 - 1), max_size=5)
            | st.just(list(range(10_005))),  # thinned as it is written
        }
    ),
    numpy_mean=st.booleans(),
)
def test_an_entry_is_written_from_its_template_as_the_generic_writer_writes_it(
    fields: dict[str, Any], numpy_mean: bool
) -> None:
    summary = summarize([1e-3, 2e-3, 4e-3])
    if numpy_mean:  # a summary the stats template does not take
        summary = dataclasses.replace(summary, mean=np.float64(1.5e-3))
    entry = dataclasses.replace(_entry(summary), **fields)
    assert entry_text(entry) == dumps_test(to_doc(entry))


def _entry(summary: Any) -> BaselineEntry:
    return BaselineEntry(
        nodeid="t::a",
        timer="wall",
        iterations=1,
        sample_ns=(1, 2),
        summary=summary,
        budget={},
        history=(),
        machine="m",
        commit=None,
    )


def test_numpy_reads_array_values_as_their_array_read_only() -> None:
    values: ArrayValues[float] = ArrayValues(np.array([1.5, 0.5]))
    assert np.asarray(values) is values.array
    assert np.asarray(values, dtype=np.float32).dtype == np.float32
    copied = np.array(values, copy=True)
    copied[0] = 9.0
    assert values[0] == 1.5
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(values)[0] = 9.0
