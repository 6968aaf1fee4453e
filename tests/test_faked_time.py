"""Tests that fake time (freezegun) are still timed with the real clock.

freezegun replaces ``time.perf_counter`` (and every module attribute holding it) with
a clock that stands still. A function-scoped fixture that freezes time stays frozen
while the plugin repeats the test body, so any deadline the plugin read from the
faked clock would never pass: the run would hang.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("freezegun")

SUITE = """
import pytest
from freezegun import freeze_time

def work():
    return sum(i * i for i in range(2000))

@pytest.fixture
def frozen():
    with freeze_time("2020-01-01"):
        yield

@pytest.mark.budget(p95="1s")
def test_body_under_a_frozen_fixture(frozen):
    work()

@pytest.mark.budget(p95="1s")
def test_perf_under_a_frozen_fixture(frozen, perf):
    perf(work)

@pytest.mark.budget(p95="1s")
def test_sample_under_a_frozen_fixture(frozen, perf):
    for _ in range(20):
        with perf.sample():
            work()

@pytest.mark.budget(p95="1s")
@freeze_time("2020-01-01")
def test_body_under_its_own_freeze():
    work()
"""


def _tests(pytester: pytest.Pytester, name: str) -> dict[str, dict[str, Any]]:
    report = json.loads((pytester.path / name).read_text())
    return {test["nodeid"].split("::")[-1]: test for test in report["tests"]}


def test_tests_under_a_freeze_are_timed_with_the_real_clock(
    project: pytest.Pytester, assert_clean: Any
) -> None:
    project.makepyfile(test_frozen=SUITE)
    result = project.runpytest_subprocess("--perfbudget-json=run.json", timeout=120)
    assert_clean(result)
    result.assert_outcomes(passed=4)
    tests = _tests(project, "run.json")
    assert len(tests) == 4
    for test in tests.values():
        assert test["status"] == "pass"
        assert test["stats"]["min"] > 0  # the frozen clock would give 0
        assert test["elapsed"] > 0


def test_a_stored_comparison_under_a_freeze_finishes(
    project: pytest.Pytester, assert_clean: Any
) -> None:
    project.makepyfile(test_frozen=SUITE)
    project.runpytest_subprocess("--perfbudget-save", timeout=120).assert_outcomes(passed=4)
    result = project.runpytest_subprocess("--perfbudget-json=gate.json", timeout=120)
    assert_clean(result)
    tests = _tests(project, "gate.json")
    assert len(tests) == 4
    for test in tests.values():
        assert test["change"]["ratio"] > 0
