"""The text of our files: the writer, the keyed reader, thinning."""

from __future__ import annotations

import enum
import json
import math
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_perfbudget.codec import (
    dumps,
    dumps_keyed,
    dumps_test,
    loads_keyed,
    parsed_tests,
    thin,
)

leaves = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)
tests = st.dictionaries(
    st.text(max_size=12), st.dictionaries(st.text(max_size=5), values), max_size=5
)


@given(tests=tests, frame=st.dictionaries(st.sampled_from(["generator", "machine", "a"]), values))
def test_dumps_keyed_is_dumps_of_the_whole_document(tests: Any, frame: Any) -> None:
    parts = dumps_keyed(frame, [(k, dumps_test(v).encode()) for k, v in tests.items()])
    text = b"".join(parts).decode()
    assert text == dumps({**frame, "tests": tests})
    assert json.loads(text) == {**frame, "tests": tests}


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"indent": 2},
        {"indent": 4, "sort_keys": True},
        {"separators": (",", ":")},
        {"indent": "\t"},
    ],
)
@given(tests=tests, frame=st.dictionaries(st.text(max_size=8), values, max_size=3))
def test_loads_keyed_reads_any_layout_and_keeps_each_tests_text(
    options: dict[str, Any], tests: Any, frame: Any
) -> None:
    doc = {**frame, "tests": tests}
    text = f" \n{json.dumps(doc, **options)}\n"
    read = loads_keyed(text)
    try:
        json.dumps(doc, allow_nan=False)
    except ValueError:  # Infinity is not strict JSON: msgspec refuses it, json reads all
        assert read == doc
        return
    raws = read["tests"]
    assert all(type(v) is msgspec.Raw for v in raws.values())
    assert parsed_tests(read) == doc
    assert {k: json.loads(bytes(v)) for k, v in raws.items()} == tests
    assert all(bytes(v).decode() in text for v in raws.values())


@pytest.mark.parametrize(
    "text",
    ["[1, 2]", '{"tests": [1]}', '{"a": 1}', '{"tests": {"a": 1}, "tests": 2}', "{}", '"x"'],
)
def test_loads_keyed_parses_in_full_without_a_tests_object(text: str) -> None:
    assert loads_keyed(text) == json.loads(text)


def test_loads_keyed_uses_the_last_of_duplicate_keys_like_json() -> None:
    text = '{"tests": {"a": 1, "a": {"x": 2}}, "tests": {"b": [3]}}'
    doc = loads_keyed(text)
    assert parsed_tests(doc) == json.loads(text)
    assert {k: bytes(v) for k, v in doc["tests"].items()} == {"b": b"[3]"}


@pytest.mark.parametrize(
    "text", ['{"tests": {"a": NaN}}', '{"tests": {"a": "\\ud800"}}', '{"tests": {"a": 1e999}}']
)
def test_loads_keyed_reads_what_json_loads_reads_beyond_strict_json(text: str) -> None:
    doc = loads_keyed(text)
    assert repr(parsed_tests(doc)) == repr(json.loads(text))


@pytest.mark.parametrize(
    "text",
    ['{"tests": {"a": 1', '{"tests": {"a" 1}}', '{"tests": {}} x', "{1: 2}", "\ufeff{}", ""],
)
def test_loads_keyed_fails_like_json_loads(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        loads_keyed(text)
    assert str(got.value) == str(expected.value)


class Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, -0.0, 1e300, 2**70, True, None, 'é\n"\\', Level.HIGH],
)
def test_plain_values_are_written_as_json_writes_them(value: Any) -> None:
    assert dumps({"v": value}) == json.dumps({"v": value}, indent=2, ensure_ascii=False) + "\n"


@given(values=st.lists(st.integers(0, 10**12), max_size=400), limit=st.integers(2, 100))
def test_thin_picks_numpys_linspace_positions(values: list[int], limit: int) -> None:
    expected = values
    if len(values) > limit:
        picks = np.rint(np.linspace(0, len(values) - 1, limit)).astype(np.int64)
        expected = [values[i] for i in picks.tolist()]
    assert thin(values, limit) == tuple(expected)
