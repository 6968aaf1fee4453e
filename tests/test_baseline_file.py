"""A saved baseline that went bad, as a pytest run meets it."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

# No regression gate: only the corrupt entry may fail a test, never timing noise.
THREE = """
import pytest

@pytest.mark.budget(p95="200ms", regression=False)
def test_body():
    pass

@pytest.mark.budget(p95="200ms", regression=False)
def test_other():
    pass

@pytest.mark.budget(p95="200ms", regression=False)
def test_measured(perf):
    perf(sum, range(10))
"""


@pytest.fixture
def saved(project: pytest.Pytester) -> pytest.Pytester:
    project.makepyfile(test_three=THREE)
    project.runpytest("--perfbudget-save").assert_outcomes(passed=3)
    return project


def test_a_truncated_baseline_is_a_usage_error_naming_the_file(saved: pytest.Pytester) -> None:
    path = saved.path / ".perfbudget" / "baseline.json"
    path.write_text(path.read_text(encoding="utf-8")[:500], encoding="utf-8")
    result = saved.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {path}: truncated: the JSON ends early*"])


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("test_body", {"failed": 1}),  # its body is timed after the call
        ("test_measured", {"errors": 1}),  # the perf fixture reads the entry at setup
    ],
)
def test_a_corrupt_entry_fails_only_its_test_naming_the_file_and_the_entry(
    saved: pytest.Pytester,
    name: str,
    outcome: dict[str, int],
    assert_clean: Callable[[pytest.RunResult], None],
) -> None:
    path = saved.path / ".perfbudget" / "baseline.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["tests"][f"test_three.py::{name}"]["stats"]["p95"] = "fast"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    result = saved.runpytest()
    result.assert_outcomes(passed=2, **outcome)
    result.stdout.fnmatch_lines(
        [f"*{path}: test 'test_three.py::{name}': bad 'stats' (ValueError: *'fast')*"]
    )
    assert_clean(result)
