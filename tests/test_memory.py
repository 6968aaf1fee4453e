"""Memory budgets: the tracemalloc peak of one separate, untimed call."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

AssertClean = Callable[[pytest.RunResult], None]


def _allocating(pytester: pytest.Pytester, budget: str, size: int, *, perf: bool = False) -> None:
    if perf:
        body = f"assert len(perf(bytearray, {size})) == {size}"
    else:
        body = f"assert len(bytearray({size})) == {size}"
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.budget({budget})
        def test_it({"perf" if perf else ""}):
            {body}
        """
    )


def _entry(pytester: pytest.Pytester) -> dict[str, Any]:
    report = json.loads((pytester.path / "report.json").read_text(encoding="utf-8"))
    (entry,) = report["tests"]
    return dict(entry)


def test_a_body_over_its_memory_budget_fails_naming_both_sizes(project: pytest.Pytester) -> None:
    _allocating(project, 'memory="1MB"', 5_000_000)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*memory 5.00 MB is over its 1.00 MB budget (one traced call, 5x the budget)*"]
    )


def test_a_perf_call_over_its_memory_budget_fails(project: pytest.Pytester) -> None:
    _allocating(project, 'memory="1MB"', 5_000_000, perf=True)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*memory 5.00 MB is over its 1.00 MB budget*"])


def test_a_small_allocation_passes_a_generous_memory_budget(project: pytest.Pytester) -> None:
    _allocating(project, 'memory="64MB"', 10_000)
    project.runpytest().assert_outcomes(passed=1)


def test_the_json_report_holds_the_peak_in_bytes(project: pytest.Pytester) -> None:
    _allocating(project, 'memory="64MB"', 2_000_000, perf=True)
    project.runpytest("--perfbudget-json=report.json").assert_outcomes(passed=1)
    entry = _entry(project)
    assert 2_000_000 <= entry["memory"]["peak_bytes"] < 2_100_000
    assert entry["budget"]["memory"] == 64_000_000


def test_the_memory_is_measured_besides_a_timing_budget(project: pytest.Pytester) -> None:
    _allocating(project, 'p95="200ms", memory="64MB"', 1_000_000)
    project.runpytest("--perfbudget-json=report.json").assert_outcomes(passed=1)
    entry = _entry(project)
    assert entry["memory"]["peak_bytes"] >= 1_000_000
    assert entry["stats"]["n"] >= 5


def test_without_a_memory_budget_no_peak_is_reported(project: pytest.Pytester) -> None:
    _allocating(project, 'p95="200ms"', 1_000)
    project.runpytest("--perfbudget-json=report.json").assert_outcomes(passed=1)
    assert _entry(project)["memory"] is None


def test_a_binary_unit_is_larger_than_its_decimal_namesake(project: pytest.Pytester) -> None:
    # 5,100,000 bytes: over 5 MB (5,000,000) but within 5 MiB (5,242,880).
    project.makepyfile(
        """
        import pytest

        @pytest.mark.budget(memory="5MB")
        def test_decimal():
            bytearray(5_100_000)

        @pytest.mark.budget(memory="5MiB")
        def test_binary():
            bytearray(5_100_000)
        """
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*OVER BUDGET*test_decimal*"])


def test_memory_is_measured_when_tracemalloc_is_already_tracing(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, assert_clean: AssertClean
) -> None:
    monkeypatch.setenv("PYTHONTRACEMALLOC", "1")
    _allocating(project, 'memory="1MB"', 5_000_000)
    result = project.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    assert_clean(result)
    result.stdout.fnmatch_lines(["*memory 5.00 MB is over its 1.00 MB budget*"])


def test_a_memory_budget_on_self_recorded_samples_is_reported_as_unchecked(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.budget(memory="1MB")
        def test_it(perf):
            for _ in range(10):
                with perf.sample():
                    bytearray(5_000_000)
        """
    )
    project.runpytest("--perfbudget-json=report.json").assert_outcomes(passed=1)
    entry = _entry(project)
    assert entry["memory"] is None
    assert "memory budgets need perf(fn) or a timed test body; not checked" in entry["messages"]
