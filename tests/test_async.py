"""Async code: ``perf(coroutine_fn)`` and budgeted ``async def`` tests under
pytest-asyncio and anyio."""

from __future__ import annotations

import json
from typing import Any

import pytest

PERF_COROUTINE = """
import asyncio
import pytest

CALLS = []

async def double(x):
    CALLS.append(x)
    await asyncio.sleep(0)
    return x * 2

@pytest.mark.budget(p95="200ms")
def test_it(perf):
    assert perf(double, 21) == 42
    assert len(CALLS) > 5
"""

SLOW_COROUTINE = """
import asyncio
import pytest

async def slow():
    await asyncio.sleep(0.01)

@pytest.mark.budget(p95="2ms")
def test_it(perf):
    perf(slow)
"""


def _tests(pytester: pytest.Pytester) -> dict[str, dict[str, Any]]:
    report = json.loads((pytester.path / "report.json").read_text(encoding="utf-8"))
    return {test["nodeid"].split("::")[1]: test for test in report["tests"]}


def _async_tests(pytester: pytest.Pytester, mark: str, prelude: str = "") -> None:
    tests = f"""
@pytest.mark.{mark}
@pytest.mark.budget(p95="2ms")
async def test_slow():
    await asyncio.sleep(0.01)

@pytest.mark.{mark}
@pytest.mark.budget(p95="200ms")
async def test_fast():
    await asyncio.sleep(0)
"""
    pytester.makepyfile("import asyncio\nimport pytest\n" + prelude + tests)


ANYIO_BACKEND = """
@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


def test_perf_awaits_a_coroutine_function_and_returns_its_result(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(PERF_COROUTINE)
    project.runpytest("--perfbudget-json=report.json").assert_outcomes(passed=1)
    test = _tests(project)["test_it"]
    assert (test["mode"], test["status"]) == ("perf", "pass")


def test_perf_of_a_slow_coroutine_function_fails_its_budget(project: pytest.Pytester) -> None:
    project.makepyfile(SLOW_COROUTINE)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*p95 * is over its 2.00 ms budget*"])


def test_perf_of_a_coroutine_function_warns_of_nothing(project: pytest.Pytester) -> None:
    project.makepyfile(PERF_COROUTINE)
    result = project.runpytest("-W", "error")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*never awaited*")


def test_an_asyncio_test_body_is_timed(project: pytest.Pytester) -> None:
    pytest.importorskip("pytest_asyncio")
    _async_tests(project, "asyncio")
    result = project.runpytest("--perfbudget-json=report.json")
    result.assert_outcomes(passed=1, failed=1)
    tests = _tests(project)
    assert tests["test_fast"]["mode"] == "body"
    assert tests["test_fast"]["stats"]["n"] > 5
    assert tests["test_slow"]["status"] == "over_budget"


def test_an_asyncio_test_over_budget_fails_and_appears_in_the_summary(
    project: pytest.Pytester,
) -> None:
    pytest.importorskip("pytest_asyncio")
    _async_tests(project, "asyncio")
    result = project.runpytest()
    result.stdout.fnmatch_lines(
        [
            "*p95 * is over its 2.00 ms budget*",
            "*perfbudget: 1 over budget, 1 pass*",
            "*::test_slow*over budget*p95*",
            "*::test_fast*pass*p95*",
        ]
    )


def test_an_anyio_test_body_is_timed(project: pytest.Pytester) -> None:
    pytest.importorskip("anyio")
    _async_tests(project, "anyio", ANYIO_BACKEND)
    result = project.runpytest_subprocess("--perfbudget-json=report.json")  # see below
    result.assert_outcomes(passed=1, failed=1)
    tests = _tests(project)
    assert tests["test_fast"]["mode"] == "body"
    assert tests["test_fast"]["stats"]["n"] > 5
    assert tests["test_slow"]["status"] == "over_budget"


def test_an_anyio_test_over_budget_fails_with_the_reason(project: pytest.Pytester) -> None:
    pytest.importorskip("anyio")
    _async_tests(project, "anyio", ANYIO_BACKEND)
    # In a subprocess: event-loop sockets the inner run leaves to the garbage collector
    # would otherwise be reported against this test by pytest < 9's unraisable hook.
    result = project.runpytest_subprocess()
    result.stdout.fnmatch_lines(
        ["*p95 * is over its 2.00 ms budget*", "*OVER BUDGET *::test_slow*"]
    )


def test_an_async_test_with_an_async_fixture_is_timed_repeatedly(
    project: pytest.Pytester,
) -> None:
    pytest.importorskip("pytest_asyncio")
    project.makepyfile(
        """
        import asyncio
        import pytest
        import pytest_asyncio

        RUNS = []

        @pytest_asyncio.fixture
        async def resource():
            await asyncio.sleep(0)
            yield {"value": 1}

        @pytest.mark.asyncio
        @pytest.mark.budget(p95="200ms")
        async def test_it(resource):
            RUNS.append(resource["value"])
            await asyncio.sleep(0)

        def test_repeated():
            assert len(RUNS) > 5
        """
    )
    project.runpytest().assert_outcomes(passed=2)
