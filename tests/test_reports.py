"""What a run reports: failure text, summary table, JSON report; and --perfbudget-disable."""

from __future__ import annotations

import functools
import json
import re
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_perfbudget.model import Verdict
from pytest_perfbudget.plugin import perf_key

MIXED_TESTS = """
import time
import pytest

@pytest.mark.budget(p95="2ms")
def test_slow():
    time.sleep(0.01)

@pytest.mark.budget(p50=200, p95=200, memory="100MB")
def test_fast():
    pass

def test_measured(perf):
    perf(sum, range(10))

def test_plain():
    pass
"""


def _table(result: pytest.RunResult) -> list[str]:
    """The lines of the perfbudget summary table (header row first)."""
    lines = result.outlines
    start = next(
        i for i, line in enumerate(lines) if line.startswith("=") and "perfbudget:" in line
    )
    end = next(i for i in range(start + 1, len(lines)) if re.match(r"=|\d+ \w+", lines[i]))
    return lines[start + 1 : end]


# -- failure text --------------------------------------------------------------------


@pytest.fixture
def failing(project: pytest.Pytester) -> pytest.RunResult:
    project.makepyfile(MIXED_TESTS)
    return project.runpytest("-k", "test_slow")


def test_the_failure_names_the_observed_value_and_the_limit(failing: pytest.RunResult) -> None:
    failing.assert_outcomes(failed=1)
    failing.stdout.fnmatch_lines(["p95 * ms is over its 2.00 ms budget (*x the budget)"])


def test_the_failure_shows_the_bounds(failing: pytest.RunResult) -> None:
    failing.stdout.fnmatch_lines(["p95 * is over its 2.00 ms budget (99 % bounds * ms … *"])


def test_the_failure_shows_samples_and_clock(failing: pytest.RunResult) -> None:
    failing.stdout.fnmatch_lines(["measured: n=* samples x 1 call, wall clock, * s spent*"])


def test_the_failure_says_a_re_measurement_confirmed_it(failing: pytest.RunResult) -> None:
    failing.stdout.fnmatch_lines(["measured: *, confirmed by a re-measurement"])


def test_the_failure_describes_the_machine(failing: pytest.RunResult) -> None:
    failing.stdout.fnmatch_lines(["machine: * · CPython *"])


def test_the_failure_has_a_perfbudget_section_with_statistics(failing: pytest.RunResult) -> None:
    failing.stdout.fnmatch_lines(
        [
            "*- perfbudget -*",
            "n=* (body, wall clock, 1 call/sample)",
            "min * ms  p50 * ms  p95 * ms  p99 * ms  mean * ms  max * ms",
        ]
    )


def test_the_failure_is_summarised_as_over_budget(failing: pytest.RunResult) -> None:
    failing.stdout.fnmatch_lines(["OVER BUDGET *::test_slow*", "*1 failed*"])


def test_under_github_actions_each_failing_case_is_annotated_at_its_line_in_the_repository(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_cases="""
        import time
        import pytest

        @pytest.mark.budget(p95="2ms")
        @pytest.mark.parametrize("case", ["a,b", "c"])
        def test_slow(case):
            time.sleep(0.01)
        """
    )
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(project.path.parent))  # the rootdir is a subfolder
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    result = project.runpytest()
    folder = project.path.name
    result.stdout.fnmatch_lines(
        [
            f"::error file={folder}/test_cases.py,line=4,"
            "title=perfbudget%3A test_slow[[]a%2Cb] over budget::p95 * is over its 2.00 ms budget*",
            f"::error file={folder}/test_cases.py,line=4,"
            "title=perfbudget%3A test_slow[[]c] over budget::p95 *",
        ]
    )


# -- the summary table ------------------------------------------------------------------


def test_the_summary_table_lists_budgeted_and_measured_tests_with_their_status(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(MIXED_TESTS)
    result = project.runpytest()
    result.assert_outcomes(failed=1, passed=3)
    result.stdout.fnmatch_lines(["*= perfbudget: 1 over budget, 2 pass =*"])
    table = _table(result)
    assert table[0].split()[:3] == ["test", "status", "stat"]
    rows = {line.split()[0].split("::")[1]: line.split()[1] for line in table[1:]}
    assert rows == {"test_slow": "over", "test_fast": "pass", "test_measured": "pass"}


def test_the_summary_table_lists_tests_needing_attention_first(project: pytest.Pytester) -> None:
    project.makepyfile(MIXED_TESTS)
    table = _table(project.runpytest())
    assert "::test_slow " in table[1]


def test_quiet_output_lists_only_tests_needing_attention(project: pytest.Pytester) -> None:
    project.makepyfile(MIXED_TESTS)
    table = _table(project.runpytest("-q"))
    assert len(table) == 2
    assert "::test_slow " in table[1]


def test_quiet_output_has_no_table_when_everything_passes(project: pytest.Pytester) -> None:
    project.makepyfile(MIXED_TESTS)
    result = project.runpytest("-q", "-k", "not test_slow")
    result.stdout.fnmatch_lines(["*= perfbudget: 2 pass =*"])
    assert _table(result) == []


def test_verbose_output_shows_one_row_per_check(project: pytest.Pytester) -> None:
    project.makepyfile(MIXED_TESTS)
    result = project.runpytest("-v", "-k", "test_fast")
    table = _table(result)
    assert [row.split()[2] for row in table[1:]] == ["p50", "p95", "memory"]


def test_default_output_shows_one_row_per_test(project: pytest.Pytester) -> None:
    project.makepyfile(MIXED_TESTS)
    table = _table(project.runpytest("-k", "test_fast"))
    assert len(table) == 2


def test_there_is_no_summary_without_budgeted_or_measured_tests(project: pytest.Pytester) -> None:
    project.makepyfile("def test_plain(): pass")
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*= perfbudget:*")


# -- the JSON report --------------------------------------------------------------------

Report = dict[str, Any]
STAT_KEYS = {"n", "mean", "stdev", "min", "p50", "p75", "p90", "p95", "p99", "max"}
STATUSES = {
    "pass",
    "over_budget",
    "regressed",
    "improved",
    "unchanged",
    "inconclusive",
    "new",
    "failed",
    "skipped",
}


@pytest.fixture
def report(project: pytest.Pytester) -> Report:
    project.makepyfile(MIXED_TESTS)
    project.runpytest("--perfbudget-json=out/report.json").assert_outcomes(failed=1, passed=3)
    document: Report = json.loads((project.path / "out" / "report.json").read_text())
    return document


def test_the_json_report_has_a_schema_version_and_generator(report: Report) -> None:
    from pytest_perfbudget import __version__

    assert type(report["schema_version"]) is int
    assert report["generator"] == f"pytest-perfbudget {__version__}"


def test_the_json_report_has_a_machine_fingerprint(report: Report) -> None:
    assert isinstance(report["machine"], dict)
    assert report["machine"]


def test_the_json_report_lists_each_budgeted_or_measured_test(report: Report) -> None:
    nodeids = [test["nodeid"].split("::")[1] for test in report["tests"]]
    assert sorted(nodeids) == ["test_fast", "test_measured", "test_slow"]


def test_each_json_test_entry_has_the_documented_fields(report: Report) -> None:
    for test in report["tests"]:
        assert test["status"] in STATUSES
        assert set(test) >= {"nodeid", "status", "budget", "stats", "memory", "baseline"}
        assert set(test) >= {"change", "messages"}
        assert set(test["stats"]) >= STAT_KEYS
        assert type(test["stats"]["n"]) is int
        assert all(isinstance(test["stats"][k], float) for k in STAT_KEYS - {"n"})
        assert isinstance(test["messages"], list)
        assert test["baseline"] is None
        assert test["change"] is None


def test_json_budgets_are_in_seconds_and_bytes(report: Report) -> None:
    by_name = {test["nodeid"].split("::")[1]: test for test in report["tests"]}
    assert by_name["test_slow"]["budget"] == {"p95": pytest.approx(0.002)}
    assert by_name["test_fast"]["budget"] == {
        "p50": pytest.approx(0.2),
        "p95": pytest.approx(0.2),
        "memory": 100_000_000,
    }
    assert by_name["test_measured"]["budget"] == {}


def test_json_statuses_and_memory_match_the_run(report: Report) -> None:
    by_name = {test["nodeid"].split("::")[1]: test for test in report["tests"]}
    assert by_name["test_slow"]["status"] == "over_budget"
    assert by_name["test_slow"]["stats"]["p95"] > 0.002
    assert by_name["test_slow"]["messages"]
    assert by_name["test_fast"]["status"] == "pass"
    assert by_name["test_fast"]["memory"]["peak_bytes"] < 100_000_000
    assert by_name["test_slow"]["memory"] is None


def test_the_json_report_is_not_written_without_the_option(project: pytest.Pytester) -> None:
    project.makepyfile(MIXED_TESTS)
    project.runpytest()
    assert not list(Path(project.path).rglob("*.json"))


def _spy(calls: list[object], method: Callable[..., object], *args: object) -> object:
    calls.append(args)
    return method(*args)


def test_reports_do_not_keep_samples_the_garbage_collector_would_scan(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pytest keeps every report to the end of the session, and a full collection
    scans every item of a list it holds: a test calling ``gc.collect()`` late in a
    suite read ~3x slower in a save run than in a gate run (benchmarks/RESULTS.md).
    The samples cross as text, and the report's copy is dropped once read."""
    project.makepyfile(
        """
        import pytest

        @pytest.mark.budget(p95="1s")
        def test_fast():
            sum(range(10))
        """
    )
    decoded = []
    monkeypatch.setattr(Verdict, "from_dict", functools.partial(_spy, decoded, Verdict.from_dict))
    reprec = project.inline_run()
    (report,) = [r for r in reprec.getreports("pytest_runtest_logreport") if r.when == "call"]
    assert report.perfbudget["sample_ns"] is None
    assert decoded == []  # a serial run keeps the verdict it made: one copy of its samples
    (call,) = reprec.getcalls("pytest_perfbudget_verdict")
    samples = call.verdict.measurement.sample_ns
    assert len(samples) > 1
    assert type(samples) is array  # machine integers: nothing in it for gc to visit
    assert samples.typecode == "Q"


def test_a_perf_test_keeps_no_measurer_once_torn_down(project: pytest.Pytester) -> None:
    """pytest keeps every item to the end of the run: the ``perf`` fixture's measurer,
    its samples and its baseline entry's go with the test's teardown."""
    project.makepyfile(
        """
        import pytest

        @pytest.mark.budget(p95="1s")
        def test_measured(perf):
            perf(sum, range(10))
        """
    )
    reprec = project.inline_run()
    reprec.assertoutcome(passed=1)
    (call,) = reprec.getcalls("pytest_runtest_call")
    assert perf_key not in call.item.stash


# -- --perfbudget-disable -----------------------------------------------------------------

COUNTED = """
import pathlib
import time
import pytest

def _tick(name):
    with pathlib.Path(name).open("a") as stream:
        stream.write("x\\n")

@pytest.mark.budget(p95="1us")
def test_body():
    _tick("body.txt")
    time.sleep(0.01)

@pytest.mark.budget(p95="1us")
def test_perf(perf):
    perf(lambda: (_tick("perf.txt"), time.sleep(0.01)))
"""


def _count(pytester: pytest.Pytester, name: str) -> int:
    return len((pytester.path / name).read_text().splitlines())


def test_disable_runs_a_budgeted_body_exactly_once(project: pytest.Pytester) -> None:
    project.makepyfile(COUNTED)
    project.runpytest("--perfbudget-disable", "-k", "test_body").assert_outcomes(passed=1)
    assert _count(project, "body.txt") == 1


def test_disable_calls_a_perf_function_exactly_once(project: pytest.Pytester) -> None:
    project.makepyfile(COUNTED)
    project.runpytest("--perfbudget-disable", "-k", "test_perf").assert_outcomes(passed=1)
    assert _count(project, "perf.txt") == 1


def test_disable_enforces_nothing_and_prints_no_table(project: pytest.Pytester) -> None:
    project.makepyfile(COUNTED)
    result = project.runpytest("--perfbudget-disable")
    result.assert_outcomes(passed=2)
    result.stdout.no_fnmatch_line("*= perfbudget:*")
    result.stdout.no_fnmatch_line("*OVER BUDGET*")


def test_disable_is_shown_in_the_header(project: pytest.Pytester) -> None:
    project.makepyfile("def test_plain(): pass")
    result = project.runpytest("--perfbudget-disable")
    result.stdout.fnmatch_lines(["perfbudget: timer=wall, *, disable"])


def test_disable_writes_no_json_report(project: pytest.Pytester) -> None:
    project.makepyfile(COUNTED)
    project.runpytest("--perfbudget-disable", "--perfbudget-json=report.json")
    assert not (project.path / "report.json").exists()
