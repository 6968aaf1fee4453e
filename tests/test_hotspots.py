"""Hotspots on failure: one profiled call names the slow function; its .pstats is saved."""

from __future__ import annotations

import cProfile
import pstats
import re
import sys

import pytest

from pytest_perfbudget.hotspots import profile_call

SLOW_HELPER = """
import pytest

def fast_helper():
    return 1

def slow_helper():
    total = 0
    for i in range(300_000):
        total += i * i
    return total

@pytest.mark.budget(p95="2ms")
def test_slow():
    fast_helper()
    slow_helper()

@pytest.mark.budget(p95="2ms")
def test_slow_perf(perf):
    perf(slow_helper)
"""


@pytest.fixture
def slow(project: pytest.Pytester) -> pytest.Pytester:
    project.makepyfile(test_hot=SLOW_HELPER)
    return project


def _helper_line(pytester: pytest.Pytester) -> int:
    lines = (pytester.path / "test_hot.py").read_text(encoding="utf-8").splitlines()
    return lines.index("def slow_helper():") + 1


def _hotspot_rows(text: str, test: str) -> list[str]:
    block = text.split(f"_ {test} _", 1)[1].split("hotspots (one profiled call", 1)[1]
    return [line for line in block.splitlines()[2:] if re.match(r"\s+\S+ \S+\s+\S+", line)]


def test_a_failing_body_names_the_slow_helper_with_its_file_and_line(
    slow: pytest.Pytester,
) -> None:
    result = slow.runpytest("-k", "test_slow and not perf")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*hotspots (one profiled call, by own time):*", "*own*cumulative*calls*function*"]
    )
    first = _hotspot_rows(result.stdout.str(), "test_slow")[0]
    assert first.endswith(f"slow_helper  test_hot.py:{_helper_line(slow)}"), first


def test_a_failing_perf_call_names_the_slow_helper(slow: pytest.Pytester) -> None:
    result = slow.runpytest("-k", "test_slow_perf")
    result.assert_outcomes(failed=1)
    first = _hotspot_rows(result.stdout.str(), "test_slow_perf")[0]
    assert first.endswith(f"slow_helper  test_hot.py:{_helper_line(slow)}"), first


def test_pytest_and_pluggy_frames_are_left_out_of_the_hotspots(slow: pytest.Pytester) -> None:
    result = slow.runpytest("-k", "test_slow and not perf")
    rows = _hotspot_rows(result.stdout.str(), "test_slow")
    assert rows
    assert not [row for row in rows if "_pytest" in row or "pluggy" in row]


def test_the_profile_is_saved_next_to_the_json_report(slow: pytest.Pytester) -> None:
    result = slow.runpytest("--perfbudget-json=out/report.json")
    result.assert_outcomes(failed=2)
    folder = slow.path / "out" / "report.profiles"
    saved = sorted(path.name for path in folder.iterdir())
    assert saved == ["test_hot.py_test_slow.pstats", "test_hot.py_test_slow_perf.pstats"]
    result.stdout.fnmatch_lines([f"*profile saved to {folder / 'test_hot.py_test_slow.pstats'}"])


def test_the_saved_profile_loads_with_pstats_and_holds_the_slow_helper(
    slow: pytest.Pytester,
) -> None:
    slow.runpytest("-k", "test_slow_perf", "--perfbudget-json=report.json")
    stats = pstats.Stats(str(slow.path / "report.profiles" / "test_hot.py_test_slow_perf.pstats"))
    names = {name for (_, _, name) in stats.stats}  # type: ignore[attr-defined]
    assert "slow_helper" in names


def test_without_a_json_report_no_profile_is_written(slow: pytest.Pytester) -> None:
    result = slow.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.no_fnmatch_line("*profile saved to*")
    assert not list(slow.path.rglob("*.pstats"))


def test_a_passing_budget_is_not_profiled(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.budget(p95="200ms")
        def test_fast():
            pass
        """
    )
    result = project.runpytest("--perfbudget-json=report.json")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*hotspots*")
    assert not (project.path / "report.profiles").exists()


def test_a_profiled_call_that_fails_by_a_pytest_outcome_is_named_not_raised(
    project: pytest.Pytester,
) -> None:
    """pytest.fail() raises a BaseException: the over-budget failure still says why."""
    project.makepyfile(
        """
        import sys
        import pytest

        def profiled():  # cProfile is a sys.monitoring tool from Python 3.12
            if hasattr(sys, "monitoring"):
                return sys.monitoring.get_tool(sys.monitoring.PROFILER_ID) is not None
            return sys.getprofile() is not None

        @pytest.mark.budget(p95="1us")
        def test_slow():
            if profiled():  # the profiled call
                pytest.fail("not under a profiler")
            sum(range(10_000))
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*p95 * is over its 1*budget*",
            "*hotspots: profiling failed: Failed: not under a profiler",
        ]
    )


def test_profiling_under_another_profiler_is_refused_not_a_replacement() -> None:
    """Before Python 3.12 a second cProfile replaced the first and left none when done;
    from 3.12 cProfile itself refuses. Both read the same in the failure message."""
    outer = cProfile.Profile()
    outer.enable()
    try:
        hook = sys.getprofile()
        with pytest.raises(ValueError, match=r"^Another profiling tool is already active$"):
            profile_call(lambda: None)
        assert sys.getprofile() is hook
    finally:
        outer.disable()
