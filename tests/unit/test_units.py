"""The units grammar: durations, sizes and ratios, parsed and formatted, and counts."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_perfbudget.errors import SpecError
from pytest_perfbudget.units import (
    DURATION_FORMS,
    RATIO_FORMS,
    SIZE_FORMS,
    counted,
    format_change,
    format_duration,
    format_size,
    named,
    parse_duration,
    parse_ratio,
    parse_size,
)

# -- durations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (200, 0.2),
        (0.5, 0.0005),
        ("250ns", 250e-9),
        ("250us", 250e-6),
        ("250µs", 250e-6),
        ("250μs", 250e-6),  # Greek mu, as some keyboards type it
        ("5ms", 0.005),
        ("1.5s", 1.5),
        (" 5 ms ", 0.005),
        (".5s", 0.5),
        ("2.s", 2.0),
        ("1e3us", 0.001),
    ],
)
def test_a_duration_parses_to_seconds(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value", ["5", "5 min", "ms", "5 MS", "five ms", "-5ms", "", None, [5], True]
)
def test_a_bad_duration_names_the_value_and_lists_the_forms(value: object) -> None:
    with pytest.raises(SpecError) as info:
        parse_duration(value)
    assert str(info.value) == f"{value!r} is not a duration; expected {DURATION_FORMS}"


@pytest.mark.parametrize("value", [0, 0.0, -1, "0ms", "0 s", float("inf"), float("nan")])
def test_a_duration_must_be_greater_than_zero(value: object) -> None:
    with pytest.raises(SpecError, match="must be greater than zero; expected a number of"):
        parse_duration(value)


def test_the_duration_forms_list_every_unit() -> None:
    for unit in ("ns", "us", "µs", "ms", "s"):
        assert unit in DURATION_FORMS


@given(st.floats(min_value=1e-6, max_value=1e9, allow_nan=False))
def test_a_bare_number_is_milliseconds(ms: float) -> None:
    assert parse_duration(ms) == pytest.approx(ms / 1000)


@given(
    st.floats(min_value=1e-3, max_value=1e6, allow_nan=False),
    st.sampled_from([("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)]),
)
def test_a_number_with_a_unit_round_trips_through_text(
    number: float, unit: tuple[str, float]
) -> None:
    name, scale = unit
    assert parse_duration(f"{number!r}{name}") == pytest.approx(number * scale)


@given(st.floats(min_value=1e-9, max_value=1e5, allow_nan=False))
def test_a_formatted_duration_parses_back_within_half_a_percent(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, rel=5e-3)


@given(st.floats(min_value=1e-9, max_value=999, allow_nan=False))
def test_a_formatted_duration_picks_a_unit_that_keeps_the_number_between_1_and_1000(
    seconds: float,
) -> None:
    number, _unit = format_duration(seconds).split()
    assert 1 <= float(number) <= 1000  # 1000 only where rounding carries over


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.231, "231 ms"),
        (1.5, "1.50 s"),
        (12.34, "12.3 s"),
        (0.002, "2.00 ms"),
        (2.5e-5, "25.0 µs"),
        (7e-8, "70.0 ns"),
        (120.0, "120 s"),
        (math.inf, "∞"),
    ],
)
def test_a_duration_is_formatted_with_a_readable_unit(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("digits", "text"), [(3, "231 ms"), (4, "231.4 ms"), (5, "231.42 ms"), (1, "231 ms")]
)
def test_a_duration_takes_more_significant_digits_on_request(digits: int, text: str) -> None:
    assert format_duration(0.2314159, digits) == text


def test_a_duration_just_under_a_unit_boundary_moves_to_the_next_unit() -> None:
    assert format_duration(0.99996) == "1.00 s"
    assert format_duration(0.9994) == "999 ms"


# -- sizes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (65536, 65536),
        ("100B", 100),
        ("64KB", 64_000),
        ("64MB", 64_000_000),
        ("2GB", 2_000_000_000),
        ("64KiB", 65_536),
        ("64MiB", 64 * 1024**2),
        ("1.5 GiB", 3 * 1024**3 // 2),
        ("0.5B", 1),  # rounded up: a limit never shrinks below what was written
    ],
)
def test_a_size_parses_to_bytes(value: object, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize(
    "value", ["64", "64 mb", "64 Mb", "64MBs", "64 TB", 1.5, True, None, "lots"]
)
def test_a_bad_size_names_the_value_and_lists_the_forms(value: object) -> None:
    with pytest.raises(SpecError) as info:
        parse_size(value)
    assert str(info.value) == f"{value!r} is not a size; expected {SIZE_FORMS}"


@pytest.mark.parametrize("value", [0, -1, "0MB"])
def test_a_size_must_be_greater_than_zero(value: object) -> None:
    with pytest.raises(SpecError, match="must be greater than zero; expected a number of bytes"):
        parse_size(value)


@pytest.mark.parametrize(
    ("size", "text"),
    [(512, "512 B"), (64_000, "64.0 KB"), (1_500_000, "1.50 MB"), (2e9, "2.00 GB")],
)
def test_a_size_is_formatted_with_a_decimal_unit(size: float, text: str) -> None:
    assert format_size(size) == text


@given(st.integers(min_value=1, max_value=10**12))
def test_a_formatted_size_parses_back_within_half_a_percent(size: int) -> None:
    assert parse_size(format_size(size).replace(" ", "")) == pytest.approx(size, rel=5e-3, abs=1)


# -- ratios ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ratio"), [("10%", 0.1), ("2.5 %", 0.025), (0.1, 0.1), (1, 1.0), (False, None)]
)
def test_a_ratio_parses_to_a_fraction(value: object, ratio: float | None) -> None:
    assert parse_ratio(value) == (None if ratio is None else pytest.approx(ratio))


@pytest.mark.parametrize("value", ["10", "ten", "10 pct", True, None, "%"])
def test_a_bad_ratio_names_the_value_and_lists_the_forms(value: object) -> None:
    with pytest.raises(SpecError) as info:
        parse_ratio(value)
    assert str(info.value) == f"{value!r} is not a ratio; expected {RATIO_FORMS}"


@pytest.mark.parametrize("value", [0, -0.1, "0%"])
def test_a_ratio_must_be_greater_than_zero(value: object) -> None:
    with pytest.raises(SpecError, match="must be greater than zero"):
        parse_ratio(value)


@pytest.mark.parametrize(
    ("ratio", "text"),
    [(1.28, "+28 %"), (0.9, "-10 %"), (1.05, "+5.0 %"), (1.0, "+0.0 %"), (0.9999, "+0.0 %")],
)
def test_a_change_is_formatted_as_a_signed_percentage(ratio: float, text: str) -> None:
    assert format_change(ratio) == text


# -- counts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "noun", "text"),
    [
        (0, "test", "0 tests"),
        (1, "test", "1 test"),
        (2, "test", "2 tests"),
        (1, "baseline entry", "1 baseline entry"),
        (3, "baseline entry", "3 baseline entries"),
        (0, "key", "0 keys"),
    ],
)
def test_a_count_agrees_with_its_noun(count: int, noun: str, text: str) -> None:
    assert counted(count, noun) == text


@pytest.mark.parametrize(
    ("names", "text"),
    [
        ([], ""),
        (["a"], "a"),
        (["a", "b", "c"], "a, b, c"),
        (["a", "b", "c", "d", "e"], "a, b, c and 2 more"),
    ],
)
def test_names_are_listed_up_to_a_limit_and_the_rest_counted(names: list[str], text: str) -> None:
    assert named(names, 3) == text
