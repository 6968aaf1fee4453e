"""Settings from ``[tool.perfbudget]`` and command-line overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_perfbudget.errors import ConfigError
from pytest_perfbudget.settings import FAIL_ON, Settings, load_table, settings_from_table

ROOT = Path("/project")
SOURCE = ROOT / "pyproject.toml"


def _settings(table: dict[str, object] | None = None, **overrides: object) -> Settings:
    return settings_from_table(table or {}, rootdir=ROOT, source=SOURCE, overrides=overrides)


def _error(table: dict[str, object]) -> str:
    with pytest.raises(ConfigError) as info:
        _settings(table)
    return str(info.value)


# -- defaults and each key ------------------------------------------------------------


def test_the_defaults() -> None:
    settings = _settings()
    assert settings.baseline == ROOT / ".perfbudget" / "baseline.json"
    assert (settings.regression, settings.timer, settings.max_time) == (0.10, "wall", 1.0)
    assert settings.gc is True  # latency budgets include garbage collection (DESIGN §3)
    assert settings.warmup > 0
    assert settings.rounds >= 1
    assert settings.fail_on == frozenset({"budget", "regression"})
    assert settings.patterns == ()
    assert settings.source == SOURCE
    assert (settings.save, settings.disable, settings.strict) == (False, False, False)
    assert settings.recheck is False
    assert settings.json is settings.markdown is settings.against is None


def test_without_a_source_the_rootdir_pyproject_is_named_in_errors() -> None:
    with pytest.raises(ConfigError, match=r"^/project/pyproject.toml: "):
        settings_from_table({"timer": "x"}, rootdir=ROOT)


def test_a_relative_baseline_is_under_the_rootdir() -> None:
    assert _settings({"baseline": "perf/base.json"}).baseline == ROOT / "perf" / "base.json"


def test_an_absolute_baseline_is_kept() -> None:
    assert _settings({"baseline": "/elsewhere/b.json"}).baseline == Path("/elsewhere/b.json")


@pytest.mark.parametrize(("value", "parsed"), [("5%", 0.05), (0.2, 0.2), (False, None)])
def test_regression_is_read(value: object, parsed: float | None) -> None:
    assert _settings({"regression": value}).regression == parsed


@pytest.mark.parametrize(
    ("key", "value", "parsed"),
    [
        ("timer", "cpu", "cpu"),
        ("max_time", "2.5s", 2.5),
        ("max_time", 300, 0.3),
        ("warmup", "0.1s", 0.1),
        ("warmup", False, 0.0),
        ("rounds", 30, 30),
        ("gc", False, False),
    ],
)
def test_a_measurement_setting_is_read(key: str, value: object, parsed: object) -> None:
    assert getattr(_settings({key: value}), key) == pytest.approx(parsed)


def test_warmup_true_keeps_the_default_warmup() -> None:
    assert _settings({"warmup": True}).warmup == _settings().warmup


@pytest.mark.parametrize("fail_on", [[], ["budget"], list(FAIL_ON)])
def test_fail_on_is_read_as_a_set(fail_on: list[str]) -> None:
    assert _settings({"fail_on": fail_on}).fail_on == frozenset(fail_on)


def test_pattern_budgets_are_read_in_file_order() -> None:
    settings = _settings({"budgets": {"b/*": {"p95": 200}, "a/*": {"p50": "5ms", "memory": "1MB"}}})
    assert [glob for glob, _ in settings.patterns] == ["b/*", "a/*"]
    second = settings.patterns[1][1]
    assert second.limits == {"p50": pytest.approx(0.005)}
    assert second.memory == 1_000_000
    assert second.source == "pattern a/*"


def test_a_pattern_set_to_false_is_read_as_no_budget() -> None:
    settings = _settings({"budgets": {"tests/*": {"p95": 200}, "tests/legacy/*": False}})
    assert settings.patterns[1] == ("tests/legacy/*", None)


# -- command-line overrides -----------------------------------------------------------


def test_command_line_values_override_the_file() -> None:
    settings = _settings(
        {"baseline": "file.json"}, baseline="cli.json", save=True, strict=True, against="main"
    )
    assert settings.baseline == ROOT / "cli.json"
    assert (settings.save, settings.strict, settings.against) == (True, True, "main")


def test_unset_command_line_values_leave_the_file_alone() -> None:
    settings = _settings({"baseline": "file.json"}, baseline=None, save=None, json=None)
    assert settings.baseline == ROOT / "file.json"
    assert settings.save is False
    assert settings.json is None


def test_report_paths_come_from_the_command_line() -> None:
    settings = _settings(json=Path("/tmp/r.json"), markdown=Path("/tmp/r.md"), disable=True)
    assert (settings.json, settings.markdown, settings.disable) == (
        Path("/tmp/r.json"),
        Path("/tmp/r.md"),
        True,
    )


# -- describe -------------------------------------------------------------------------


def test_describe_shows_the_main_settings() -> None:
    assert _settings().describe() == (
        "timer=wall, max_time=1.00 s, regression=10%, baseline=.perfbudget/baseline.json"
    )


def test_describe_shows_an_absent_regression_gate_as_off() -> None:
    assert "regression=off" in _settings({"regression": False}).describe()


def test_describe_shows_a_baseline_outside_the_rootdir_in_full() -> None:
    assert "baseline=/elsewhere/b.json" in _settings({"baseline": "/elsewhere/b.json"}).describe()


def test_describe_lists_the_active_modes() -> None:
    settings = _settings(save=True, strict=True, disable=True, against="origin/main")
    assert settings.describe().endswith(", save, strict, disable, against=origin/main")
    assert _settings({"recheck": True}).describe().endswith(", recheck")


@pytest.mark.parametrize(
    ("table", "overrides", "expected"),
    [({}, {}, False), ({"recheck": True}, {}, True), ({}, {"recheck": True}, True)],
)
def test_recheck_comes_from_the_config_or_the_command_line(
    table: dict[str, object], overrides: dict[str, object], expected: bool
) -> None:
    assert _settings(table, **overrides).recheck is expected


def test_describe_shows_a_fractional_regression_as_written() -> None:
    assert "regression=2.5%" in _settings({"regression": "2.5%"}).describe()


# -- fails_on -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fails"),
    [("budget", True), ("regression", True), ("inconclusive", False), ("new", False)],
)
def test_by_default_budgets_and_regressions_fail(kind: str, fails: bool) -> None:
    assert _settings().fails_on(kind) is fails


def test_an_empty_fail_on_fails_nothing() -> None:
    settings = _settings({"fail_on": []})
    assert not any(settings.fails_on(kind) for kind in FAIL_ON)


def test_strict_fails_inconclusive_and_new_verdicts() -> None:
    settings = _settings(strict=True)
    assert settings.fails_on("inconclusive")
    assert settings.fails_on("new")


def test_strict_adds_to_an_empty_fail_on() -> None:
    settings = _settings({"fail_on": []}, strict=True)
    assert [kind for kind in FAIL_ON if settings.fails_on(kind)] == ["inconclusive", "new"]


def test_saving_does_not_fail_regressions_but_still_fails_budgets() -> None:
    settings = _settings(save=True)
    assert not settings.fails_on("regression")
    assert settings.fails_on("budget")


def test_fail_on_can_ask_for_inconclusive_verdicts_to_fail() -> None:
    assert _settings({"fail_on": ["inconclusive"]}).fails_on("inconclusive")


# -- reading the file -----------------------------------------------------------------


def test_a_missing_file_is_an_empty_table(tmp_path: Path) -> None:
    assert load_table(tmp_path / "pyproject.toml") == {}


def test_a_file_without_the_table_is_an_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n')
    assert load_table(path) == {}


def test_the_table_is_read(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.perfbudget]\ntimer = "cpu"\n[tool.perfbudget.budgets]\n"a" = {p95=1}\n')
    assert load_table(path) == {"timer": "cpu", "budgets": {"a": {"p95": 1}}}


def test_bad_toml_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.perfbudget\n")
    with pytest.raises(ConfigError, match=rf"^{path}: cannot read \[tool.perfbudget\]: "):
        load_table(path)


def test_a_perfbudget_value_that_is_not_a_table_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool]\nperfbudget = "on"\n')
    with pytest.raises(ConfigError) as info:
        load_table(path)
    assert str(info.value) == f"{path}: [tool.perfbudget] must be a table, got 'on'"


# -- error messages: the file, the key, the value, what is valid ----------------------


def test_an_unknown_key_is_an_error() -> None:
    message = _error({"max_tme": "1s"})
    assert message.startswith(
        "/project/pyproject.toml: [tool.perfbudget] unknown key 'max_tme'; valid keys are "
    )
    assert "max_time" in message


def test_memory_is_not_a_setting() -> None:
    assert "unknown key 'memory'" in _error({"memory": "1MB"})


def test_a_bad_regression_is_an_error() -> None:
    assert _error({"regression": "ten"}) == (
        "/project/pyproject.toml: [tool.perfbudget] regression = 'ten': 'ten' is not a ratio; "
        "expected a percentage ('10%'), a fraction (0.1), or False for no regression gate"
    )


def test_a_bad_timer_is_an_error() -> None:
    assert _error({"timer": "gpu"}) == (
        "/project/pyproject.toml: [tool.perfbudget] timer = 'gpu': "
        "'gpu' is not valid; expected 'wall' or 'cpu'"
    )


def test_a_bad_max_time_is_an_error() -> None:
    assert _error({"max_time": "1 hour"}).startswith(
        "/project/pyproject.toml: [tool.perfbudget] max_time = '1 hour': "
        "'1 hour' is not a duration; expected"
    )


@pytest.mark.parametrize("value", [["budget", "speed"], "budget", [1]])
def test_a_bad_fail_on_is_an_error(value: object) -> None:
    assert _error({"fail_on": value}) == (
        f"/project/pyproject.toml: [tool.perfbudget] fail_on = {value!r}: {value!r} is not valid; "
        "expected a list drawn from ['budget', 'regression', 'inconclusive', 'new']"
    )


@pytest.mark.parametrize("value", ["", 3, None])
def test_a_bad_baseline_is_an_error(value: object) -> None:
    assert _error({"baseline": value}) == (
        f"/project/pyproject.toml: [tool.perfbudget] baseline = {value!r}: "
        f"{value!r} is not valid; expected a path string"
    )


def test_bad_rounds_are_an_error() -> None:
    assert "rounds = 0: 0 is not valid; expected a whole number" in _error({"rounds": 0})


def test_a_bad_recheck_is_an_error() -> None:
    assert _error({"recheck": "yes"}) == (
        "/project/pyproject.toml: [tool.perfbudget] recheck = 'yes': "
        "'yes' is not valid; expected true or false"
    )


def test_a_bad_gc_is_an_error() -> None:
    assert "gc = 'no': 'no' is not valid; expected True or False" in _error({"gc": "no"})


def test_a_bad_pattern_spec_names_the_pattern_and_the_key() -> None:
    assert _error({"budgets": {"api/*": {"p95": "fast"}}}) == (
        "/project/pyproject.toml: [tool.perfbudget.budgets] 'api/*' = {'p95': 'fast'}: "
        "p95='fast' is not a duration; expected a number of milliseconds (200, 0.5) or a "
        "string with a unit: ns, us, µs, ms, s ('250us', '5ms', '1.5s')"
    )


def test_an_unknown_stat_in_a_pattern_is_an_error() -> None:
    assert _error({"budgets": {"api/*": {"p42": 1}}}).startswith(
        "/project/pyproject.toml: [tool.perfbudget.budgets] 'api/*' = {'p42': 1}: "
        "unknown key 'p42' (value 1); valid keys are p50,"
    )


def test_a_pattern_that_is_not_a_table_is_an_error() -> None:
    assert _error({"budgets": {"api/*": "200ms"}}) == (
        "/project/pyproject.toml: [tool.perfbudget.budgets] 'api/*' = '200ms': "
        "expected an inline table such as { p95 = 200 }, "
        "or false to leave the tests it matches unbudgeted"
    )


@pytest.mark.parametrize("value", [True, 0])
def test_only_false_unbudgets_a_pattern(value: object) -> None:
    assert "or false to leave the tests it matches unbudgeted" in _error(
        {"budgets": {"api/*": value}}
    )


def test_budgets_that_are_not_a_table_are_an_error() -> None:
    assert _error({"budgets": ["api/*"]}) == (
        "/project/pyproject.toml: [tool.perfbudget.budgets] ['api/*'] is not valid; "
        "expected a table of glob = { p95 = '200ms' }"
    )


def test_saving_records_new_entries_even_under_strict() -> None:
    settings = _settings(save=True, strict=True)
    assert not settings.fails_on("new")
    assert not settings.fails_on("regression")
    assert settings.fails_on("budget")
    assert settings.fails_on("inconclusive")
