"""Budgeted Hypothesis ``@given`` tests: timed like any body, and a failure says what a
sample of one holds (every example, and Hypothesis's own work)."""

from __future__ import annotations

import json
from typing import Any

import pytest

SUITE = """
import time

import pytest
from hypothesis import given, settings, strategies as st

@pytest.mark.budget(p95="1ms")
@settings(max_examples=50, database=None)
@given(st.lists(st.integers()))
def test_property_over_budget(xs):
    assert sorted(sorted(xs)) == sorted(xs)

@pytest.mark.budget(p95="10s")
@settings(max_examples=5, database=None)
@given(st.integers())
def test_property_within_budget(x):
    assert x == x

class TestInAClass:
    @pytest.mark.budget(p95="1ms")
    @settings(max_examples=50, database=None)
    @given(st.text())
    def test_method_over_budget(self, text):
        assert text == text

@pytest.mark.budget(p95="1ms")
def test_plain_over_budget():
    time.sleep(0.01)
"""

NOTE = "a Hypothesis @given test: each sample is one call, with every example Hypothesis draws"


def _messages(pytester: pytest.Pytester) -> dict[str, list[str]]:
    report = json.loads((pytester.path / "run.json").read_text())
    return {test["nodeid"].split("::")[-1]: test["messages"] for test in report["tests"]}


def test_a_given_test_over_budget_says_what_its_samples_hold(
    project: pytest.Pytester, assert_clean: Any
) -> None:
    project.makepyfile(test_props=SUITE)
    result = project.runpytest("-p", "no:cacheprovider", "--perfbudget-json=run.json")
    result.assert_outcomes(passed=1, failed=3)
    assert_clean(result)
    result.stdout.fnmatch_lines(["*_ test_property_over_budget _*", "p95 * is over its 1.00 ms *"])
    noted = {
        name: any(message.startswith(NOTE) for message in messages)
        for name, messages in _messages(project).items()
    }
    assert noted == {
        "test_property_over_budget": True,
        "test_property_within_budget": False,
        "test_method_over_budget": True,
        "test_plain_over_budget": False,
    }
    assert result.stdout.str().count(NOTE) == 2
