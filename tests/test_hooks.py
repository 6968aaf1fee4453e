"""The ``pytest_perfbudget_*`` hooks, implemented in a conftest.py as a user would."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

SLOW_AND_FAST = """
import time
import pytest

@pytest.mark.budget(p95="5ms")
def test_slow():
    time.sleep(0.01)

@pytest.mark.budget(p95="200ms")
def test_fast():
    pass
"""

FAST = """
import pytest

@pytest.mark.budget(p95="200ms")
def test_fast():
    pass
"""


def _report(pytester: pytest.Pytester, name: str = "report.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / name).read_text(encoding="utf-8"))
    return data


def _tests(pytester: pytest.Pytester) -> dict[str, dict[str, Any]]:
    return {t["nodeid"].split("::")[1]: t for t in _report(pytester)["tests"]}


# -- pytest_perfbudget_machine_info -------------------------------------------------


def test_machine_info_adds_a_field_to_the_json_report(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        def pytest_perfbudget_machine_info(config, info):
            info["rack"] = "B7"
        """
    )
    project.makepyfile(FAST)
    project.runpytest("--perfbudget-json=report.json").assert_outcomes(passed=1)
    machine = _report(project)["machine"]
    assert machine["rack"] == "B7"
    assert "python_version" in machine


def test_machine_info_is_stored_in_the_saved_baseline(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        def pytest_perfbudget_machine_info(config, info):
            info["rack"] = "B7"
        """
    )
    project.makepyfile(FAST)
    project.runpytest("--perfbudget-save").assert_outcomes(passed=1)
    assert _report(project, ".perfbudget/baseline.json")["machine"]["rack"] == "B7"


# -- pytest_perfbudget_adjust_budget ------------------------------------------------


def test_adjust_budget_scaling_a_limit_turns_a_failure_into_a_pass(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(
        """
        def pytest_perfbudget_adjust_budget(item, budget):
            return budget.with_limits({k: v * 10 for k, v in budget.limits.items()})
        """
    )
    project.makepyfile(SLOW_AND_FAST)
    project.runpytest("--perfbudget-json=report.json").assert_outcomes(passed=2)
    assert _tests(project)["test_slow"]["budget"]["p95"] == pytest.approx(0.05)


def test_without_the_adjustment_the_same_test_fails(project: pytest.Pytester) -> None:
    project.makepyfile(SLOW_AND_FAST)
    project.runpytest().assert_outcomes(passed=1, failed=1)


def test_adjust_budget_returning_none_keeps_the_budget(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        def pytest_perfbudget_adjust_budget(item, budget):
            return None
        """
    )
    project.makepyfile(SLOW_AND_FAST)
    project.runpytest().assert_outcomes(passed=1, failed=1)


def test_adjust_budget_returning_a_non_budget_is_an_error_naming_the_hook(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(
        """
        def pytest_perfbudget_adjust_budget(item, budget):
            return 2.0
        """
    )
    project.makepyfile(FAST)
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*invalid budget for test_adjust_budget_returning_a_non_budget_is_an_error_naming"
            "_the_hook.py::test_fast: pytest_perfbudget_adjust_budget returned 2.0; "
            "it must return a Budget or None*"
        ]
    )


# -- pytest_perfbudget_verdict -------------------------------------------------------


def test_verdict_hook_observes_every_verdict(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import json

        def pytest_perfbudget_verdict(item, verdict):
            with open("seen.jsonl", "a") as out:
                out.write(json.dumps([item.name, verdict.status.value]) + "\\n")
        """
    )
    project.makepyfile(SLOW_AND_FAST)
    project.runpytest().assert_outcomes(passed=1, failed=1)
    lines = (project.path / "seen.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line) for line in lines) == [
        ["test_fast", "pass"],
        ["test_slow", "over_budget"],
    ]


# -- pytest_perfbudget_reporters -----------------------------------------------------


def test_a_report_writer_gets_every_verdict_of_the_run(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        class Writer:
            def write(self, verdicts):
                with open("written.txt", "w") as out:
                    for verdict in verdicts:
                        out.write(f"{verdict.nodeid} {verdict.status.value}\\n")

        def pytest_perfbudget_reporters(config):
            return [Writer()]
        """
    )
    project.makepyfile(SLOW_AND_FAST)
    project.runpytest().assert_outcomes(passed=1, failed=1)
    written = (project.path / "written.txt").read_text(encoding="utf-8").split("\n")
    name = "test_a_report_writer_gets_every_verdict_of_the_run.py"
    assert written[:2] == [f"{name}::test_fast pass", f"{name}::test_slow over_budget"]


def test_a_report_writer_without_write_is_an_error_naming_the_hook(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(
        """
        class NoWrite:
            def __repr__(self):
                return "<NoWrite>"

        def pytest_perfbudget_reporters(config):
            return [NoWrite()]
        """
    )
    project.makepyfile(FAST)
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "perfbudget: error: pytest_perfbudget_reporters returned <NoWrite>, "
            "which has no write(verdicts) method"
        ]
    )


def test_a_report_writer_that_raises_is_an_error_naming_the_hook(
    project: pytest.Pytester, assert_clean: Any
) -> None:
    project.makeconftest(
        """
        class Boom:
            def __repr__(self):
                return "<Boom>"

            def write(self, verdicts):
                raise OSError("disk full")

        def pytest_perfbudget_reporters(config):
            return [Boom()]
        """
    )
    project.makepyfile(FAST)
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert_clean(result)
    result.stdout.fnmatch_lines(
        [
            "perfbudget: error: the report writer <Boom> from pytest_perfbudget_reporters "
            "failed: OSError: disk full"
        ]
    )


# -- pytest_perfbudget_compare -------------------------------------------------------

CUSTOM_RULE = """
import os
from pytest_perfbudget.model import Change

def pytest_perfbudget_compare(config, nodeid, now, baseline):
    rule = os.environ.get("RULE")
    if rule == "triple":
        return Change(stat="p50", ratio=3.0, low=2.9, high=3.1)
    if rule == "same":
        return Change(stat="p50", ratio=1.0, low=0.99, high=1.01)
    if rule == "half":
        return Change(stat="min", ratio=0.5, low=0.5, high=0.5)
    if rule == "bad":
        return 1.5
    return None
"""


@pytest.fixture
def saved(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, instant_spread: ModuleType
) -> pytest.Pytester:
    """A project with a custom comparison rule and a saved baseline for ``test_fast``;
    its regressions' spread re-measurement does not wait."""
    monkeypatch.delenv("RULE", raising=False)
    project.makeconftest(CUSTOM_RULE)
    project.makepyfile(FAST)
    project.runpytest("--perfbudget-save").assert_outcomes(passed=1)
    return project


def test_a_custom_compare_rule_decides_the_change(
    saved: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RULE", "triple")
    saved.runpytest("--perfbudget-json=report.json")
    test = _tests(saved)["test_fast"]
    assert (test["change"]["ratio"], test["change"]["low"], test["change"]["high"]) == (
        3.0,
        2.9,
        3.1,
    )
    # A tripling is a regression, unless the machine itself was measured slower now.
    assert test["status"] in ("regressed", "inconclusive")


def test_a_change_against_a_save_under_another_hash_seed_says_so(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, instant_spread: ModuleType
) -> None:
    """The custom rule makes a slowdown without timing one."""
    monkeypatch.delenv("RULE", raising=False)
    monkeypatch.setenv("PYTHONHASHSEED", "0")  # read at the save, not at interpreter start
    project.makeconftest(CUSTOM_RULE)
    project.makepyfile(FAST)
    project.runpytest("--perfbudget-save").assert_outcomes(passed=1)
    baseline = json.loads((project.path / ".perfbudget" / "baseline.json").read_text())
    [entry] = baseline["tests"].values()
    assert entry["history"][-1]["hash_seed"] == "0"
    monkeypatch.setenv("RULE", "triple")
    monkeypatch.delenv("PYTHONHASHSEED")
    project.runpytest("--perfbudget-json=report.json")
    assert (
        "measured under a hash seed drawn per process, but the baseline was saved under "
        "PYTHONHASHSEED=0: a test that iterates over a set of strings can run at another speed "
        "under another seed; save and gate under one fixed PYTHONHASHSEED"
    ) in _tests(project)["test_fast"]["messages"]


def test_a_custom_compare_rule_can_call_a_run_unchanged(
    saved: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RULE", "same")
    saved.runpytest("--perfbudget-json=report.json").assert_outcomes(passed=1)
    test = _tests(saved)["test_fast"]
    assert (test["status"], test["change"]["ratio"]) == ("unchanged", 1.0)


def test_an_improved_test_is_listed_with_what_to_do_about_it(
    saved: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RULE", "half")
    result = saved.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_fast*improved*-50 % (min)*",
            "improved tests: if the code got faster, tighten their budgets or refresh the "
            "baseline (perfbudget refresh)*; if it did not, the save ran them in a slow moment "
            "of the machine: perfbudget refresh --runs 5 keeps each test's fastest of five runs",
        ]
    )


def test_after_a_few_confirmed_regressions_the_next_are_re_measured_at_once(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, instant_spread: ModuleType
) -> None:
    measure = instant_spread  # the spread's waits: not what is tested
    monkeypatch.delenv("RULE", raising=False)
    project.makeconftest(CUSTOM_RULE)
    count = measure.SPREAD_REGRESSIONS + 2
    project.makepyfile(
        "import pytest\n"
        + "".join(
            f"\n@pytest.mark.budget(p95='200ms')\ndef test_{i}():\n    pass\n" for i in range(count)
        )
    )
    saved = project.runpytest("--perfbudget-save")
    saved.assert_outcomes(passed=count)
    saved.stdout.fnmatch_lines([f"perfbudget: {count} of {count} entries hold fewer than 5 saved*"])
    monkeypatch.setenv("RULE", "triple")
    result = project.runpytest("--perfbudget-json=report.json")
    result.assert_outcomes(failed=count)
    # one saved run: each was judged at the declared allowed slowdown, and the summary says so
    result.stdout.fnmatch_lines(
        [f"perfbudget: {count} of the {count} regressed tests were judged at their declared*"]
    )
    tests = _tests(project)
    assert [tests[f"test_{i}"]["status"] for i in range(count)] == ["regressed"] * count
    spread = [measure.NOT_SPREAD not in tests[f"test_{i}"]["messages"] for i in range(count)]
    assert spread == [True] * measure.SPREAD_REGRESSIONS + [False] * 2


def test_a_compare_rule_returning_none_leaves_the_default_rule(saved: pytest.Pytester) -> None:
    saved.runpytest("--perfbudget-json=report.json")
    change = _tests(saved)["test_fast"]["change"]
    assert change is not None
    assert change["low"] <= change["ratio"] <= change["high"]
    # the default rule's: the minimum, stored (the custom rules give a p50)
    assert (change["stat"], change["mode"]) == ("min", "stored")


def test_a_compare_rule_returning_a_non_change_is_an_error_naming_the_hook(
    saved: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RULE", "bad")
    result = saved.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*pytest_perfbudget_compare returned 1.5 for *::test_fast; it must return a Change*"]
    )
