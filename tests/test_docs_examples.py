"""The example files the documentation includes (``docs/examples/``) do what the pages say.

Each ``*_example.py`` is copied into a pytester project as a test module and run with
measuring time capped at 0.2 s; its outcome is the one its docstring states.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
DOCS = EXAMPLES.parent

#: What pytest-asyncio needs to configure without a warning (an error in this suite).
_INI = '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n'
_FAST = 'max_time = "0.2s"'


def _copy(pytester: pytest.Pytester, name: str, dest: str) -> None:
    target = pytester.path / dest
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text((EXAMPLES / name).read_text(encoding="utf-8"), encoding="utf-8")


def _run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    """Run pytest with a JSON report; the result and the report's tests by node id."""
    report = pytester.path / "perf.json"
    result = pytester.runpytest("-p", "no:cacheprovider", f"--perfbudget-json={report}", *args)
    tests = json.loads(report.read_text(encoding="utf-8"))["tests"] if report.exists() else []
    return result, {test["nodeid"]: test for test in tests}


@pytest.fixture
def fast(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml(f"{_INI}\n[tool.perfbudget]\n{_FAST}\n")
    return pytester


def test_the_marker_example_passes(fast: pytest.Pytester) -> None:
    _copy(fast, "marker_example.py", "test_marker_example.py")
    result, tests = _run(fast)
    result.assert_outcomes(passed=2)
    body = tests["test_marker_example.py::test_parse_is_fast"]
    assert body["mode"] == "body"
    assert body["budget"] == {"p50": 0.002, "p99": 0.015, "memory": 8_000_000}
    assert body["memory"]["peak_bytes"] > 0
    assert tests["test_marker_example.py::test_sort_is_fast"]["mode"] == "perf"


def test_the_over_budget_example_fails_over_budget(fast: pytest.Pytester) -> None:
    _copy(fast, "over_budget_example.py", "test_over_budget_example.py")
    result, tests = _run(fast)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "p95 * is over its 2.00 ms budget (99 % bounds *",
            "measured: n=* samples x 1 call, wall clock, *",
            "OVER BUDGET test_over_budget_example.py::test_lookup_is_fast - *",
        ]
    )
    assert tests["test_over_budget_example.py::test_lookup_is_fast"]["status"] == "over_budget"


def test_the_perf_fixture_example_passes_in_three_modes(fast: pytest.Pytester) -> None:
    _copy(fast, "perf_fixture_example.py", "test_perf_fixture_example.py")
    result, tests = _run(fast)
    result.assert_outcomes(passed=3)
    modes = {nodeid.partition("::")[2]: test["mode"] for nodeid, test in tests.items()}
    assert modes == {
        "test_search": "perf",
        "test_request_loop": "sample",
        "test_external_job": "record",
    }
    assert tests["test_perf_fixture_example.py::test_request_loop"]["stats"]["n"] == 200
    assert tests["test_perf_fixture_example.py::test_external_job"]["stats"]["n"] == 20


def test_the_pyproject_example_budgets_only_the_matching_test(pytester: pytest.Pytester) -> None:
    toml = (EXAMPLES / "pyproject_budgets_example.toml").read_text(encoding="utf-8")
    toml, replaced = re.subn(r"(?m)^max_time = .*$", _FAST, toml)
    assert replaced == 1
    pytester.makepyprojecttoml(f"{_INI}\n{toml}")
    _copy(pytester, "pyproject_budgets_example.py", "tests/test_parse.py")
    result, tests = _run(pytester)
    result.assert_outcomes(passed=2)
    assert list(tests) == ["tests/test_parse.py::test_big_document"]
    big = tests["tests/test_parse.py::test_big_document"]
    assert big["mode"] == "body"
    assert big["budget"] == {"p50": 0.005, "memory": 50_000_000}


def test_the_hypothesis_example_times_a_fixed_input_and_each_example(fast: pytest.Pytester) -> None:
    _copy(fast, "hypothesis_example.py", "test_hypothesis_example.py")
    result, tests = _run(fast)
    result.assert_outcomes(passed=2)
    fixed = tests["test_hypothesis_example.py::test_normalize_is_fast"]
    assert fixed["mode"] == "perf"
    examples = tests["test_hypothesis_example.py::test_normalize_is_fast_for_any_words"]
    assert examples["mode"] == "sample"
    assert examples["stats"]["n"] > 1  # one sample per example Hypothesis ran


def test_every_example_is_tested_and_included_in_a_page() -> None:
    tested = set(
        re.findall(r'"(?!test_)(\w+_example\.(?:py|toml))"', Path(__file__).read_text("utf-8"))
    )
    files = {path.name for path in EXAMPLES.iterdir() if path.suffix in (".py", ".toml")}
    pages = "\n".join(page.read_text("utf-8") for page in DOCS.rglob("*.md"))
    included = set(re.findall(r'--8<-- "examples/([^"]+)"', pages))
    assert files == tested
    assert files == included


def test_the_samples_codec_example_matches_the_plugin(fast: pytest.Pytester) -> None:
    _copy(fast, "samples_codec_example.py", "test_samples_codec_example.py")
    result = fast.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
