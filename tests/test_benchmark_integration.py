"""pytest-benchmark end to end: budgets judged on its samples, or on ours when it is off."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("pytest_benchmark")

AssertClean = Callable[[pytest.RunResult], None]
FALLBACK = "*pytest-benchmark did not measure this test*perfbudget timed the test body itself*"


def _benchmarked(pytester: pytest.Pytester, budget: str, call: str) -> None:
    pytester.makepyfile(
        f"""
        import time
        import pytest

        @pytest.mark.budget({budget})
        def test_it(benchmark):
            {call}
        """
    )


def _slow(pytester: pytest.Pytester) -> None:
    _benchmarked(
        pytester,
        'p95="2ms"',
        "benchmark.pedantic(time.sleep, args=(0.01,), rounds=7, iterations=1)",
    )


def _fast(pytester: pytest.Pytester) -> None:
    _benchmarked(pytester, 'p95="200ms"', "assert benchmark(sum, range(100)) == 4950")


def _entry(pytester: pytest.Pytester) -> dict[str, Any]:
    report = json.loads((pytester.path / "report.json").read_text(encoding="utf-8"))
    (entry,) = report["tests"]
    return dict(entry)


def test_a_benchmark_over_budget_fails_on_its_own_samples(project: pytest.Pytester) -> None:
    _slow(project)
    result = project.runpytest("--perfbudget-json=report.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*p95 * is over its 2.00 ms budget*",
            "*decided on the test's own 7 samples, without a re-measurement*",
        ]
    )


def test_a_benchmark_is_reported_in_benchmark_mode_with_its_rounds(
    project: pytest.Pytester,
) -> None:
    _slow(project)
    project.runpytest("--perfbudget-json=report.json")
    entry = _entry(project)
    assert entry["mode"] == "benchmark"
    assert entry["stats"]["n"] == 7
    assert entry["status"] == "over_budget"


def test_a_benchmark_under_budget_passes(project: pytest.Pytester) -> None:
    _fast(project)
    result = project.runpytest("--perfbudget-json=report.json", "--benchmark-max-time=0.05")
    result.assert_outcomes(passed=1)
    entry = _entry(project)
    assert (entry["mode"], entry["status"]) == ("benchmark", "pass")


def test_a_benchmark_run_is_not_measured_a_second_time(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        CALLS = []

        @pytest.mark.budget(p95="200ms")
        def test_it(benchmark):
            benchmark.pedantic(CALLS.append, args=(1,), rounds=5, iterations=1)

        def test_calls():
            assert len(CALLS) == 5
        """
    )
    project.runpytest().assert_outcomes(passed=2)


def test_a_benchmark_run_is_saved_in_the_baseline(project: pytest.Pytester) -> None:
    _fast(project)
    project.runpytest("--perfbudget-save", "--benchmark-max-time=0.05").assert_outcomes(passed=1)
    baseline = json.loads((project.path / ".perfbudget/baseline.json").read_text("utf-8"))
    assert list(baseline["tests"]) == ["test_a_benchmark_run_is_saved_in_the_baseline.py::test_it"]


@pytest.mark.parametrize(
    ("saved", "gated", "reason"),
    [
        (
            (),
            ("--benchmark-disable",),
            "pytest-benchmark's samples, and this run timed the test body",
        ),
        (
            ("--benchmark-disable",),
            (),
            "the timed test body, and this run pytest-benchmark's samples",
        ),
    ],
    ids=["benchmark-then-body", "body-then-benchmark"],
)
def test_pytest_benchmark_s_samples_and_a_timed_body_are_not_compared(
    project: pytest.Pytester, saved: tuple[str, ...], gated: tuple[str, ...], reason: str
) -> None:
    # pytest-benchmark disables itself under pytest-xdist: a baseline saved from its
    # samples read the test's body +257 … +2,074 % slower (asgiref's benchmark tests)
    _fast(project)
    project.runpytest("--perfbudget-save", "--benchmark-max-time=0.05", *saved)
    result = project.runpytest("--perfbudget-json=report.json", "--benchmark-max-time=0.05", *gated)
    result.assert_outcomes(passed=1)
    entry = _entry(project)
    assert entry["status"] == "new"
    assert f"no comparable baseline entry (the baseline holds {reason})" in entry["messages"][0]


def test_with_benchmark_disabled_the_body_is_timed_instead(
    project: pytest.Pytester, assert_clean: AssertClean
) -> None:
    _fast(project)
    result = project.runpytest("--perfbudget-json=report.json", "--benchmark-disable")
    result.assert_outcomes(passed=1)
    assert_clean(result)
    entry = _entry(project)
    assert entry["mode"] == "body"
    assert entry["stats"]["n"] > 1
    assert any("pytest-benchmark did not measure this test" in m for m in entry["messages"])


def test_with_benchmark_disabled_a_broken_budget_still_fails_with_the_fallback_note(
    project: pytest.Pytester,
) -> None:
    _slow(project)
    result = project.runpytest("--benchmark-disable")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*p95 * is over its 2.00 ms budget*", FALLBACK])
    result.stdout.no_fnmatch_line("*FixtureAlreadyUsed*")


def test_under_xdist_pytest_benchmark_disables_itself_and_the_body_is_timed(
    project: pytest.Pytester, assert_clean: AssertClean
) -> None:
    pytest.importorskip("xdist")
    _fast(project)
    result = project.runpytest_subprocess("-n", "2", "--perfbudget-json=report.json")
    result.assert_outcomes(passed=1)
    assert_clean(result)
    entry = _entry(project)
    assert entry["mode"] == "body"
    assert any("pytest-benchmark did not measure this test" in m for m in entry["messages"])


def test_a_budgeted_test_that_requests_benchmark_but_never_calls_it_is_body_timed(
    project: pytest.Pytester,
) -> None:
    _benchmarked(project, 'p95="200ms"', "pass")
    result = project.runpytest("--perfbudget-json=report.json", "-W", "ignore")
    result.assert_outcomes(passed=1)
    assert _entry(project)["mode"] == "body"
