"""``[tool.perfbudget]`` end to end: pattern budgets, settings, and one test per bad value."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_perfbudget import baseline
from pytest_perfbudget.envvars import REFRESH_ONLY_ENV

WritePyproject = Callable[..., Path]

SLEEPY_TEST = """
import time

def test_sleepy():
    time.sleep(0.01)
"""


def test_a_pattern_budgets_a_test_without_a_marker(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    write_pyproject(budgets='"test_*.py::test_sleepy" = { p95 = "2ms" }')
    pytester.makepyfile(SLEEPY_TEST)
    result = pytester.runpytest("-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*::test_sleepy OVER BUDGET*"])


@pytest.mark.parametrize(
    "budgets",
    [
        '"other/*" = { p95 = "2ms" }',
        '"test_*" = { p95 = "2ms" }\n"*::test_sleepy" = false',
    ],
    ids=["no-match", "set-to-false"],
)
def test_a_test_no_pattern_budgets_is_left_unbudgeted(
    pytester: pytest.Pytester, write_pyproject: WritePyproject, budgets: str
) -> None:
    write_pyproject(budgets=budgets)
    pytester.makepyfile(SLEEPY_TEST)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*= perfbudget:*")


def test_a_pattern_naming_a_parametrized_test_exactly_budgets_only_that_case(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    write_pyproject(budgets='"test_params.py::test_sleepy[slow]" = { p95 = "2ms" }')
    pytester.makepyfile(
        test_params="""
        import time
        import pytest

        @pytest.mark.parametrize("speed", ["slow", "s"])
        def test_sleepy(speed):
            time.sleep(0.01)
        """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*::test_sleepy[[]slow[]] OVER BUDGET*"])


def test_a_later_pattern_overrides_an_earlier_one_for_the_same_key(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    write_pyproject(budgets='"test_*" = { p95 = "2ms" }\n"*::test_sleepy" = { p95 = 200 }')
    pytester.makepyfile(SLEEPY_TEST)
    pytester.runpytest().assert_outcomes(passed=1)


def test_patterns_merge_in_file_order(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    write_pyproject(budgets='"*::test_sleepy" = { p95 = 200 }\n"test_*" = { p95 = "2ms" }')
    pytester.makepyfile(SLEEPY_TEST)
    pytester.runpytest().assert_outcomes(failed=1)


def test_keys_of_every_matching_pattern_apply(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    write_pyproject(budgets='"test_*" = { p50 = "2ms" }\n"*::test_sleepy" = { p95 = 200 }')
    pytester.makepyfile(SLEEPY_TEST)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*p50 * is over its 2.00 ms budget*"])


def test_a_marker_replaces_the_pattern_budget(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    write_pyproject(budgets='"test_*" = { p50 = "2ms" }')
    pytester.makepyfile(
        """
        import time
        import pytest

        @pytest.mark.budget(p95=200)
        def test_sleepy():
            time.sleep(0.01)
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


SELECTABLE = """
import pytest

@pytest.mark.budget(p95=200)
def test_marked():
    pass

def test_patterned():
    pass

def test_dropped():
    pass

def test_other():
    pass
"""


@pytest.mark.parametrize(
    ("expression", "selected"),
    [
        ("budget", ["test_marked", "test_patterned"]),
        ("not budget", ["test_dropped", "test_other"]),
    ],
)
def test_dash_m_budget_selects_the_tests_a_pattern_budgets_too(
    pytester: pytest.Pytester, write_pyproject: WritePyproject, expression: str, selected: list[str]
) -> None:
    write_pyproject(
        'max_time = "0.2s"',
        budgets='"*::test_[mpd]*" = { p95 = 200 }\n"*::test_dropped" = false',
    )
    pytester.makepyfile(test_select=SELECTABLE)
    result = pytester.runpytest("-m", expression, "--collect-only", "-q")
    listed = [line.partition("::")[2] for line in result.outlines if "::" in line]
    assert listed == selected
    pytester.runpytest("-m", expression).assert_outcomes(passed=2, deselected=2)


def test_a_test_a_pattern_marks_keeps_the_pattern_s_budget(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    """The mark that makes ``-m budget`` select it holds no budget: the pattern's
    applies, and a hook sees the test marked."""
    write_pyproject(budgets='"test_*" = { p50 = "2ms" }')
    pytester.makeconftest(
        """
        def pytest_collection_finish(session):
            for item in session.items:
                print("marks:", [mark.kwargs for mark in item.iter_markers("budget")])
        """
    )
    pytester.makepyfile(SLEEPY_TEST)
    result = pytester.runpytest("-s", "-m", "budget")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["marks: [[]{}[]]", "*p50 * is over its 2.00 ms budget*"])


def test_the_report_header_describes_the_settings(project: pytest.Pytester) -> None:
    project.makepyfile("def test_plain(): pass")
    result = project.runpytest()
    result.stdout.fnmatch_lines(
        ["perfbudget: timer=wall, max_time=200 ms, regression=10%, baseline=.perfbudget/*"]
    )


def test_the_report_header_shows_configured_values(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    write_pyproject('timer = "cpu"\nmax_time = "50ms"\nregression = "5%"\nbaseline = "perf.json"')
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        ["perfbudget: timer=cpu, max_time=50.0 ms, regression=5%, baseline=perf.json*"]
    )


def test_the_configured_timer_applies_to_budgeted_tests(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    write_pyproject('max_time = "0.2s"\ntimer = "cpu"', budgets='"*" = { p95 = "2ms" }')
    pytester.makepyfile(SLEEPY_TEST)
    pytester.runpytest().assert_outcomes(passed=1)


def test_an_empty_fail_on_lets_an_over_budget_test_pass(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    write_pyproject('max_time = "0.2s"\nfail_on = []', budgets='"*" = { p95 = "2ms" }')
    pytester.makepyfile(SLEEPY_TEST)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*= perfbudget: 1 over budget =*", "*::test_sleepy *over budget*"])


def test_no_pyproject_means_defaults(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["perfbudget: timer=wall, max_time=1.00 s, regression=10%*"])


# -- bad values: usage errors naming the file, the key and the value ---------------------


def _usage_error(pytester: pytest.Pytester, pyproject: Path) -> pytest.RunResult:
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{pyproject}: *"])
    for stream in (result.stdout, result.stderr):
        stream.no_fnmatch_line("*Traceback*")
        stream.no_fnmatch_line("*INTERNALERROR*")
    return result


def test_an_unknown_key_is_a_usage_error(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    path = write_pyproject("max_tme = '1s'")
    result = _usage_error(pytester, path)
    result.stderr.fnmatch_lines(
        ["*[[]tool.perfbudget[]] unknown key 'max_tme'; valid keys are baseline, regression,*"]
    )


def test_a_bad_regression_is_a_usage_error(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    path = write_pyproject("regression = 'ten percent'")
    result = _usage_error(pytester, path)
    result.stderr.fnmatch_lines(
        ["*regression = 'ten percent': 'ten percent' is not a ratio; expected a percentage*"]
    )


def test_a_negative_regression_is_a_usage_error(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    path = write_pyproject("regression = -0.1")
    result = _usage_error(pytester, path)
    result.stderr.fnmatch_lines(["*regression = -0.1: -0.1 must be greater than zero*"])


def test_a_bad_timer_is_a_usage_error(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    path = write_pyproject("timer = 'sundial'")
    result = _usage_error(pytester, path)
    result.stderr.fnmatch_lines(["*timer = 'sundial': *'wall' or 'cpu'*"])


def test_a_bad_max_time_is_a_usage_error(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    path = write_pyproject("max_time = 'forever'")
    result = _usage_error(pytester, path)
    result.stderr.fnmatch_lines(["*max_time = 'forever': *is not a duration; expected*"])


def test_a_bad_fail_on_is_a_usage_error(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    path = write_pyproject("fail_on = ['budget', 'mood']")
    result = _usage_error(pytester, path)
    result.stderr.fnmatch_lines(
        ["*fail_on = [[]'budget', 'mood'[]]: *expected a list drawn from*'inconclusive'*"]
    )


def test_a_fail_on_string_is_a_usage_error(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    path = write_pyproject("fail_on = 'budget'")
    result = _usage_error(pytester, path)
    result.stderr.fnmatch_lines(["*fail_on = 'budget': *expected a list*"])


def test_a_bad_rounds_is_a_usage_error(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    path = write_pyproject("rounds = 0")
    result = _usage_error(pytester, path)
    result.stderr.fnmatch_lines(["*rounds = 0: *a whole number of samples*"])


def test_a_bad_gc_is_a_usage_error(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    path = write_pyproject("gc = 'yes'")
    result = _usage_error(pytester, path)
    result.stderr.fnmatch_lines(["*gc = 'yes': *True or False*"])


def test_a_bad_baseline_is_a_usage_error(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    path = write_pyproject("baseline = 3")
    result = _usage_error(pytester, path)
    result.stderr.fnmatch_lines(["*baseline = 3: *expected a path string*"])


def test_a_bad_pattern_spec_is_a_usage_error(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    path = write_pyproject(budgets='"tests/api/*" = { p95 = "fast" }')
    result = _usage_error(pytester, path)
    result.stderr.fnmatch_lines(
        ["*[[]tool.perfbudget.budgets[]] 'tests/api/*' = *p95='fast' is not a duration*"]
    )


def test_an_unknown_stat_in_a_pattern_is_a_usage_error(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    path = write_pyproject(budgets='"tests/*" = { p42 = 200 }')
    result = _usage_error(pytester, path)
    result.stderr.fnmatch_lines(
        ["*[[]tool.perfbudget.budgets[]] 'tests/*' = *unknown key 'p42' (value 200); valid keys*"]
    )


def test_a_pattern_that_is_not_a_table_is_a_usage_error(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    path = write_pyproject(budgets='"tests/*" = "200ms"')
    result = _usage_error(pytester, path)
    result.stderr.fnmatch_lines(
        ["*[[]tool.perfbudget.budgets[]] 'tests/*' = '200ms': expected an inline table*"]
    )


def test_a_budgets_value_that_is_not_a_table_is_a_usage_error(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    path = write_pyproject("budgets = 'all'")
    result = _usage_error(pytester, path)
    result.stderr.fnmatch_lines(["*[[]tool.perfbudget.budgets[]] *'all'*expected a table*"])


def test_a_perfbudget_value_that_is_not_a_table_is_a_usage_error(
    pytester: pytest.Pytester,
) -> None:
    path = pytester.makepyprojecttoml(
        '[tool]\nperfbudget = "on"\n[tool.pytest.ini_options]\n'
        'asyncio_default_fixture_loop_scope = "function"\n'
    )
    result = _usage_error(pytester, path)
    result.stderr.fnmatch_lines(["*[[]tool.perfbudget[]] must be a table, got 'on'*"])


# -- command-line paths ---------------------------------------------------------------------


def _run_from_subfolder(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str
) -> Path:
    pytester.makepyfile(
        test_fast="""
        import pytest

        @pytest.mark.budget(p95=200)
        def test_fast():
            pass
        """
    )
    sub = pytester.mkdir("sub")
    monkeypatch.chdir(sub)
    pytester.runpytest(str(pytester.path / "test_fast.py"), *args).assert_outcomes(passed=1)
    return sub


def test_a_relative_json_path_is_relative_to_the_current_folder(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = _run_from_subfolder(project, monkeypatch, "--perfbudget-json=r.json")
    assert (sub / "r.json").exists()


def test_a_relative_baseline_path_is_relative_to_the_current_folder_like_other_paths(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = _run_from_subfolder(
        project, monkeypatch, "--perfbudget-save", "--perfbudget-baseline=b.json"
    )
    assert (sub / "b.json").exists()


@pytest.mark.parametrize("with_baseline", [False, True], ids=["no baseline", "a baseline"])
def test_a_run_with_nothing_budgeted_does_not_import_numpy(
    project: pytest.Pytester, with_baseline: bool
) -> None:
    """Nor when the project has a baseline, which a run loads at its start."""
    project.makepyfile(
        "import pytest\n\n"
        "def test_plain():\n    pass\n\n"
        "@pytest.mark.budget(p95='1s')\ndef test_budgeted():\n    pass\n"
    )
    if with_baseline:
        project.runpytest_subprocess("--perfbudget-save").assert_outcomes(passed=2)
        assert (project.path / ".perfbudget" / "baseline.json").exists()
    project.makeconftest(
        """
        import sys

        def pytest_unconfigure():
            print("numpy imported:", "numpy" in sys.modules)
        """
    )
    result = project.runpytest_subprocess("-s", "-k", "plain")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["numpy imported: False"])


def test_a_run_imports_no_code_of_the_child_processes_it_does_not_start(
    project: pytest.Pytester,
) -> None:
    """Whether this process is a paired worker or a re-checking one is read from the
    environment at every start-up, without importing ``paired/`` or ``recheck.py``."""
    project.makepyfile("import pytest\n\n@pytest.mark.budget(p95='1s')\ndef test_a():\n    pass\n")
    project.makeconftest(
        """
        import sys

        def pytest_unconfigure():
            names = ("pytest_perfbudget.paired", "pytest_perfbudget.recheck")
            print("imported:", [name for name in names if name in sys.modules])
        """
    )
    result = project.runpytest_subprocess("-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["imported: []"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]])
def test_a_run_of_refresh_wide_runs_only_the_tests_it_lists(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: list[str]
) -> None:
    """``perfbudget refresh --wide`` names the tests to run in a file; a listed test
    that no longer exists is not an error."""
    project.makepyfile(
        test_a="def test_one():\n    pass\n\ndef test_two():\n    pass\n",
        test_b="def test_three():\n    pass\n",
    )
    only = project.path / "only.json"
    only.write_text(json.dumps(["test_a.py::test_two", "test_b.py::test_gone"]))
    monkeypatch.setenv(REFRESH_ONLY_ENV, str(only))
    result = project.runpytest_subprocess("-v", *workers)
    result.assert_outcomes(passed=1, deselected=0 if workers else 2)  # xdist: in the workers
    result.stdout.fnmatch_lines(["*PASSED*"])
    for name in ("test_one", "test_three"):
        result.stdout.no_fnmatch_line(f"*{name}*")


def test_a_run_of_refresh_wide_keeps_the_entries_of_the_tests_it_deselects(
    pytester: pytest.Pytester, write_pyproject: WritePyproject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """They were collected: even ``--perfbudget-prune`` keeps their entries."""
    write_pyproject(budgets='"test_*" = { p95 = "1s" }')
    pytester.makepyfile(test_a="def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    pytester.runpytest_subprocess("--perfbudget-save").assert_outcomes(passed=2)
    only = pytester.path / "only.json"
    only.write_text(json.dumps(["test_a.py::test_two"]))
    monkeypatch.setenv(REFRESH_ONLY_ENV, str(only))
    result = pytester.runpytest_subprocess("--perfbudget-save", "--perfbudget-prune")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["perfbudget: saved 1 baseline entry to *"])
    result.stdout.no_fnmatch_line("*no longer exist*")
    entries = baseline.load(pytester.path / ".perfbudget" / "baseline.json").entries
    assert {nodeid: len(entry.history) for nodeid, entry in entries.items()} == {
        "test_a.py::test_one": 1,
        "test_a.py::test_two": 2,
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [('["test_a.py::test_one"', "cannot read it: *"), ('{"a": 1}', "expected a JSON list *")],
)
def test_a_run_of_refresh_wide_refuses_a_list_it_cannot_read(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, text: str, problem: str
) -> None:
    project.makepyfile(test_a="def test_one():\n    pass\n")
    only = project.path / "only.json"
    only.write_text(text)
    monkeypatch.setenv(REFRESH_ONLY_ENV, str(only))
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {REFRESH_ONLY_ENV}={only}: {problem}"])
