"""Budgets from marker arguments and pyproject patterns: parsing, merging, matching, errors."""

from __future__ import annotations

import pytest

from pytest_perfbudget.errors import SpecError
from pytest_perfbudget.model import STATISTICS, Budget
from pytest_perfbudget.spec import (
    KNOBS,
    VALID_KEYS,
    budget_from_kwargs,
    budget_from_marker,
    match,
    merge,
    parse_knob,
)
from pytest_perfbudget.units import DURATION_FORMS, RATIO_FORMS, SIZE_FORMS

# -- parsing --------------------------------------------------------------------------


@pytest.mark.parametrize("stat", STATISTICS)
def test_each_statistic_becomes_a_limit_in_seconds(stat: str) -> None:
    assert budget_from_kwargs({stat: 200}).limits == {stat: pytest.approx(0.2)}


def test_median_is_an_alias_of_p50() -> None:
    assert budget_from_kwargs({"median": "2ms"}).limits == {"p50": pytest.approx(0.002)}


def test_limits_keep_the_order_they_were_given_in() -> None:
    budget = budget_from_kwargs({"p99": 9, "p50": 1, "mean": 2})
    assert list(budget.limits) == ["p99", "p50", "mean"]


def test_the_valid_keys_are_the_statistics_the_alias_and_the_knobs() -> None:
    assert set(VALID_KEYS) == {*STATISTICS, "median", *KNOBS}


def test_an_empty_marker_is_an_empty_budget() -> None:
    budget = budget_from_kwargs({})
    assert budget == Budget(source="marker")
    assert not budget.has_limits


def test_memory_is_parsed_to_bytes() -> None:
    budget = budget_from_kwargs({"memory": "64MiB"})
    assert budget.memory == 64 * 1024**2
    assert budget.limits == {}
    assert budget.has_limits


@pytest.mark.parametrize(("value", "parsed"), [("10%", 0.1), (0.05, 0.05), (False, False)])
def test_regression_is_a_fraction_or_false(value: object, parsed: object) -> None:
    assert budget_from_kwargs({"regression": value}).regression == parsed


@pytest.mark.parametrize(
    ("key", "value", "parsed"),
    [
        ("rounds", 50, 50),
        ("max_time", "2s", 2.0),
        ("max_time", 500, 0.5),
        ("warmup", "50ms", 0.05),
        ("warmup", False, 0.0),
        ("warmup", 0, 0.0),
        ("timer", "cpu", "cpu"),
        ("timer", "wall", "wall"),
        ("gc", False, False),
        ("gc", True, True),
    ],
)
def test_a_knob_is_parsed(key: str, value: object, parsed: object) -> None:
    assert getattr(budget_from_kwargs({key: value}), key) == pytest.approx(parsed)
    assert parse_knob(key, value) == pytest.approx(parsed)


def test_warmup_true_keeps_the_configured_warmup() -> None:
    assert budget_from_kwargs({"warmup": True}).warmup is None


def test_a_pattern_budget_records_its_source() -> None:
    assert budget_from_kwargs({"p95": 1}, source="pattern tests/*").source == "pattern tests/*"


def test_a_marker_budget_comes_from_keyword_arguments() -> None:
    budget = budget_from_marker((), {"p95": 200, "timer": "cpu"})
    assert budget.limits == {"p95": pytest.approx(0.2)}
    assert budget.timer == "cpu"
    assert budget.source == "marker"


# -- error messages -------------------------------------------------------------------


def _error(kwargs: dict[str, object]) -> str:
    with pytest.raises(SpecError) as info:
        budget_from_kwargs(kwargs)
    return str(info.value)


def test_an_unknown_key_is_named_with_its_value_and_the_valid_keys() -> None:
    assert _error({"p96": 200}) == (
        f"unknown key 'p96' (value 200); valid keys are {', '.join(VALID_KEYS)}"
    )


def test_an_unparsable_duration_names_the_key_and_value() -> None:
    assert _error({"p95": "fast"}) == f"p95='fast' is not a duration; expected {DURATION_FORMS}"


def test_an_alias_error_names_the_key_as_written() -> None:
    assert _error({"median": "fast"}).startswith("median='fast' is not a duration")


def test_a_negative_limit_is_an_error() -> None:
    assert _error({"p95": -1}) == f"p95=-1 must be greater than zero; expected {DURATION_FORMS}"


def test_a_zero_limit_is_an_error() -> None:
    assert _error({"max": 0}) == f"max=0 must be greater than zero; expected {DURATION_FORMS}"


def test_a_limit_of_the_wrong_type_is_an_error() -> None:
    assert _error({"p95": [1]}) == f"p95=[1] is not a duration; expected {DURATION_FORMS}"


def test_a_bad_memory_is_an_error() -> None:
    assert _error({"memory": "64 MBs"}) == f"memory='64 MBs' is not a size; expected {SIZE_FORMS}"


def test_a_bad_regression_is_an_error() -> None:
    assert _error({"regression": "x"}) == f"regression='x' is not a ratio; expected {RATIO_FORMS}"


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "10"])
def test_bad_rounds_are_an_error(value: object) -> None:
    assert _error({"rounds": value}) == (
        f"rounds={value!r} is not valid; "
        "expected a whole number of samples of at least 1 (e.g. 100)"
    )


@pytest.mark.parametrize("value", ["gpu", "Wall", None, 1])
def test_a_bad_timer_is_an_error(value: object) -> None:
    assert _error({"timer": value}) == f"timer={value!r} is not valid; expected 'wall' or 'cpu'"


@pytest.mark.parametrize("value", ["off", 0, 1, None])
def test_a_bad_gc_is_an_error(value: object) -> None:
    assert _error({"gc": value}) == f"gc={value!r} is not valid; expected True or False"


@pytest.mark.parametrize("value", ["long", -5, [1]])
def test_a_bad_warmup_is_an_error(value: object) -> None:
    assert _error({"warmup": value}) == (
        f"warmup={value!r} is not valid; expected True, False, 0, or a duration such as '50ms'"
    )


def test_a_bad_max_time_is_an_error() -> None:
    assert _error({"max_time": "soon"}).startswith("max_time='soon' is not a duration; expected")


@pytest.mark.parametrize("kwargs", [{"p50": 10, "median": 5}, {"median": 5, "p50": 10}])
def test_median_and_p50_together_are_an_error(kwargs: dict[str, object]) -> None:
    assert _error(kwargs) == (
        "median=5 and p50=10 budget the same statistic (median is p50); give only one of them"
    )


def test_positional_arguments_are_an_error_that_shows_them() -> None:
    with pytest.raises(SpecError) as info:
        budget_from_marker((200, "5ms"), {})
    assert str(info.value) == (
        "positional arguments are not accepted (got 200, '5ms'); "
        "name the statistic, e.g. budget(p95=200) or budget(p50='2ms')"
    )


# -- merging --------------------------------------------------------------------------


def test_merging_nothing_gives_no_budget() -> None:
    assert merge([]) is None


def test_merging_one_budget_gives_it_back() -> None:
    budget = budget_from_kwargs({"p95": 1})
    assert merge([budget]) is budget


def test_a_later_budget_overrides_a_limit_key_by_key() -> None:
    early = budget_from_kwargs({"p95": 1, "p50": 2})
    late = budget_from_kwargs({"p95": 3})
    merged = merge([early, late])
    assert merged is not None
    assert merged.limits == {"p95": pytest.approx(0.003), "p50": pytest.approx(0.002)}


def test_a_later_budget_overrides_knobs_it_sets_and_keeps_the_others() -> None:
    early = budget_from_kwargs({"timer": "cpu", "rounds": 10, "memory": "1MB"})
    late = budget_from_kwargs({"rounds": 20})
    merged = merge([early, late])
    assert merged is not None
    assert (merged.timer, merged.rounds, merged.memory) == ("cpu", 20, 1_000_000)


@pytest.mark.parametrize(
    ("key", "first", "then"),
    [("regression", "10%", False), ("gc", True, False), ("warmup", "5ms", 0)],
)
def test_a_false_or_zero_knob_still_overrides(key: str, first: object, then: object) -> None:
    merged = merge([budget_from_kwargs({key: first}), budget_from_kwargs({key: then})])
    assert merged is not None
    assert getattr(merged, key) == then


def test_the_merged_budget_takes_the_last_source() -> None:
    merged = merge([budget_from_kwargs({}, source="pattern a"), budget_from_kwargs({})])
    assert merged is not None
    assert merged.source == "marker"


# -- matching patterns ----------------------------------------------------------------


PATTERNS = (
    ("tests/api/*", budget_from_kwargs({"p95": 200, "rounds": 10}, source="pattern api")),
    ("tests/api/test_slow.py::*", budget_from_kwargs({"p95": 500}, source="pattern slow")),
    ("tests/db/*", budget_from_kwargs({"p50": 5}, source="pattern db")),
)


def test_no_matching_pattern_gives_no_budget() -> None:
    assert match("tests/test_other.py::test_x", PATTERNS) is None


def test_a_glob_star_matches_across_folders_and_test_names() -> None:
    budget = match("tests/db/deep/test_q.py::TestQ::test_x[1]", PATTERNS)
    assert budget is not None
    assert budget.limits == {"p50": pytest.approx(0.005)}


def test_matching_patterns_merge_in_file_order() -> None:
    budget = match("tests/api/test_slow.py::test_big", PATTERNS)
    assert budget is not None
    assert budget.limits == {"p95": pytest.approx(0.5)}
    assert budget.rounds == 10
    assert budget.source == "pattern slow"


def test_matching_is_case_sensitive() -> None:
    assert match("tests/API/test_x.py::test_y", PATTERNS) is None


def test_brackets_in_a_pattern_are_a_character_class() -> None:
    patterns = (("*::test_x[[]1[]]", budget_from_kwargs({"p95": 1})),)
    assert match("t.py::test_x[1]", patterns) is not None
    assert match("t.py::test_x[2]", patterns) is None


def test_a_pattern_equal_to_a_parametrized_node_id_matches_it() -> None:
    patterns = (("t.py::test_x[big]", budget_from_kwargs({"p95": 1})),)
    assert match("t.py::test_x[big]", patterns) is not None
    assert match("t.py::test_x[small]", patterns) is None


def test_a_pattern_set_to_false_drops_the_patterns_before_it() -> None:
    patterns = (*PATTERNS, ("tests/api/test_slow.py::test_once*", None))
    assert match("tests/api/test_slow.py::test_once", patterns) is None
    assert match("tests/api/test_slow.py::test_big", patterns) is not None


def test_patterns_after_false_apply_again() -> None:
    patterns = (
        ("tests/*", budget_from_kwargs({"p95": 200})),
        ("tests/legacy/*", None),
        ("tests/legacy/test_hot.py::*", budget_from_kwargs({"p50": 5}, source="pattern hot")),
    )
    assert match("tests/legacy/test_cold.py::test_x", patterns) is None
    budget = match("tests/legacy/test_hot.py::test_x", patterns)
    assert budget is not None
    assert budget.limits == {"p50": pytest.approx(0.005)}
