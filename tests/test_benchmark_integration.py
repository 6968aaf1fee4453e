"""pytest-benchmark end to end: budgets judged on its samples, or on ours when it is off."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

pytest_benchmark = pytest.importorskip("pytest_benchmark")

#: The installed pytest-benchmark's major and minor version.
BENCHMARK_VERSION = tuple(int(part) for part in pytest_benchmark.__version__.split(".")[:2])

AssertClean = Callable[[pytest.RunResult], None]
FALLBACK = "*pytest-benchmark did not measure this test*perfbudget timed the test body itself*"
SERVED = "pytest-benchmark is disabled here"


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


def _run_with_json(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """``pytester.runpytest(*args)`` for a run given ``--benchmark-json``; in a subprocess
    before pytest-benchmark 5.3, whose option opens the file each time pytest parses the
    options, which it does more than once: the handle left open would be reported as an
    unraisable ``ResourceWarning`` in whichever test of this process runs when it is
    collected."""
    if BENCHMARK_VERSION >= (5, 3):
        return pytester.runpytest(*args)
    return pytester.runpytest_subprocess(*args)


def _entry(pytester: pytest.Pytester) -> dict[str, Any]:
    report = json.loads((pytester.path / "report.json").read_text(encoding="utf-8"))
    (entry,) = report["tests"]
    return dict(entry)


def test_a_benchmark_over_budget_fails_confirmed_by_running_its_measurement_again(
    project: pytest.Pytester,
) -> None:
    _slow(project)
    result = _run_with_json(project, "--perfbudget-json=report.json", "--benchmark-json=bench.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*p95 * is over its 2.00 ms budget*",
            "measured: n=14 samples x 1 call, *, confirmed by a re-measurement",
        ]
    )
    # pytest-benchmark's own report lists the test's own measurement, once
    (listed,) = json.loads((project.path / "bench.json").read_text("utf-8"))["benchmarks"]
    assert listed["stats"]["rounds"] == 7


def test_a_benchmark_is_reported_in_benchmark_mode_with_its_rounds(
    project: pytest.Pytester,
) -> None:
    _slow(project)
    project.runpytest("--perfbudget-json=report.json")
    entry = _entry(project)
    assert entry["mode"] == "benchmark"
    assert entry["stats"]["n"] == 14  # its 7 rounds, and the 7 of the re-measurement
    assert entry["status"] == "over_budget"


SLOWED = """
import os
import time

import pytest

DELAY = float(os.environ.get("DELAY", "0"))
if os.environ.get("FIRST_ONLY") and "PERFBUDGET_RECHECK_REPORT" in os.environ:
    DELAY = 0  # a process that measures the test again for the run

def work():
    if DELAY:
        time.sleep(DELAY)
    return sum(range(100))

# A wide allowed slowdown: the slowed runs read 5 ms against about 1 µs, and a fresh
# process that runs the microbenchmark unslowed on a loaded machine may read +13 %.
@pytest.mark.budget(p95="1s", regression="100%")
def test_it(benchmark):
    assert benchmark(work) == 4950
"""


def _slowed_gate(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.RunResult:
    """A benchmark saved at a few microseconds, then gated at 5 ms a call."""
    project.makepyfile(SLOWED)
    monkeypatch.delenv("DELAY", raising=False)
    project.runpytest("--perfbudget-save", "--benchmark-max-time=0.05").assert_outcomes(passed=1)
    monkeypatch.setenv("DELAY", "0.005")
    return _run_with_json(
        project,
        "--perfbudget-json=report.json",
        "--benchmark-max-time=0.05",
        "--benchmark-json=b.json",
    )


def test_a_benchmark_slower_than_its_baseline_regresses_once_fresh_processes_read_it(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-measurement in the same process cannot tell a slowdown of a microbenchmark
    from a process that runs it slower (see docs/integrations/pytest-benchmark.md): two
    fresh processes measure it again, and this process does not."""
    result = _slowed_gate(project, monkeypatch)
    result.assert_outcomes(failed=1)
    entry = _entry(project)
    assert (entry["mode"], entry["status"], entry["confirmed"]) == (
        "benchmark",
        "regressed",
        True,
    )
    assert any(m.startswith("confirmed in 2 fresh processes (min +") for m in entry["messages"])
    (listed,) = json.loads((project.path / "b.json").read_text("utf-8"))["benchmarks"]
    assert entry["stats"]["n"] == listed["stats"]["rounds"]  # not measured again here


def test_a_benchmark_slower_only_in_its_process_takes_a_fresh_processs_verdict(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRST_ONLY", "1")
    result = _slowed_gate(project, monkeypatch)
    result.assert_outcomes(passed=1)
    entry = _entry(project)
    assert entry["mode"] == "benchmark"
    assert entry["status"] in {"unchanged", "improved"}
    assert any(
        m.startswith("not confirmed in a fresh process: this process read min +")
        for m in entry["messages"]
    )
    result.stdout.fnmatch_lines(["*regressions a fresh process did not confirm*"])


def test_fresh_processes_write_none_of_the_files_pytest_benchmark_writes_for_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--benchmark-autosave`` and ``--benchmark-json`` in ``addopts`` reach every
    fresh process: its run is not saved with the user's, nor its report over theirs."""
    pytester.makepyprojecttoml(
        """
        [tool.pytest.ini_options]
        addopts = "--benchmark-autosave --benchmark-json=bench.json --benchmark-max-time=0.05"

        [tool.perfbudget]
        max_time = "0.2s"
        """
    )
    pytester.makepyfile(SLOWED)
    pytester.runpytest_subprocess("--perfbudget-save").assert_outcomes(passed=1)
    monkeypatch.setenv("DELAY", "0.005")
    result = pytester.runpytest_subprocess("--perfbudget-json=report.json")
    result.assert_outcomes(failed=1)
    entry = _entry(pytester)
    assert any(m.startswith("confirmed in 2 fresh processes") for m in entry["messages"])
    assert len(list((pytester.path / ".benchmarks").rglob("*.json"))) == 2  # save and gate
    (listed,) = json.loads((pytester.path / "bench.json").read_text("utf-8"))["benchmarks"]
    assert entry["stats"]["n"] == listed["stats"]["rounds"]


def test_a_benchmark_slower_than_its_baseline_while_saving_is_not_measured_again(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(SLOWED)
    project.runpytest("--perfbudget-save", "--benchmark-max-time=0.05").assert_outcomes(passed=1)
    monkeypatch.setenv("DELAY", "0.005")
    result = project.runpytest(
        "--perfbudget-save", "--perfbudget-json=report.json", "--benchmark-max-time=0.05"
    )
    result.assert_outcomes(passed=1)
    entry = _entry(project)
    assert (entry["mode"], entry["status"]) == ("benchmark", "inconclusive")
    flagged = "flagged as slower, but samples the test takes cannot be re-measured"
    assert flagged in entry["messages"]


def test_a_benchmark_whose_second_run_fails_is_judged_on_its_own_samples(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        import time
        import pytest

        RUNS = []

        @pytest.mark.budget(p95="2ms")
        def test_it(benchmark):
            RUNS.append(1)
            assert len(RUNS) == 1, "run again"
            benchmark.pedantic(time.sleep, args=(0.01,), rounds=7, iterations=1)
        """
    )
    result = project.runpytest("--perfbudget-json=report.json")
    result.assert_outcomes(failed=1)
    entry = _entry(project)
    assert entry["stats"]["n"] == 7
    messages = entry["messages"]
    assert any(
        message.startswith(
            "could not be measured again to confirm: the test failed when run again: "
            "AssertionError: run again"
        )
        for message in messages
    )
    assert "decided on the test's own 7 samples, without a re-measurement" in messages


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
            "pytest-benchmark's samples, and this run perf(fn)'s samples",
        ),
        (
            ("--benchmark-disable",),
            (),
            "perf(fn)'s samples, and this run pytest-benchmark's samples",
        ),
    ],
    ids=["benchmark-then-perf", "perf-then-benchmark"],
)
def test_pytest_benchmark_s_samples_and_ours_are_not_compared(
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


def _set_up_then_benchmarked(pytester: pytest.Pytester, budget: str = 'p95="20ms"') -> None:
    """A test that spends 50 ms before ``benchmark(fn)``, which takes microseconds."""
    _benchmarked(
        pytester, budget, "time.sleep(0.05)\n            assert benchmark(sum, range(100)) == 4950"
    )


def test_with_benchmark_disabled_the_function_given_to_benchmark_is_timed(
    project: pytest.Pytester, assert_clean: AssertClean
) -> None:
    # timing the body would read its 50 ms set-up, over the 20 ms budget
    _set_up_then_benchmarked(project)
    result = project.runpytest("--perfbudget-json=report.json", "--benchmark-disable")
    result.assert_outcomes(passed=1)
    assert_clean(result)
    entry = _function_timed(project)
    assert not any("did not measure this test" in m for m in entry["messages"])


def _function_timed(pytester: pytest.Pytester) -> dict[str, Any]:
    """The report's entry, checked to be of the function given to ``benchmark``,
    timed by perfbudget within its budget: not the test body, which is slower."""
    entry = _entry(pytester)
    assert (entry["mode"], entry["status"]) == ("perf", "pass")
    assert entry["stats"]["n"] > 1
    assert entry["stats"]["p95"] < 0.01
    assert any(SERVED in m for m in entry["messages"])
    return entry


def test_with_benchmark_disabled_a_function_over_budget_fails(project: pytest.Pytester) -> None:
    _benchmarked(project, 'p95="2ms"', "benchmark(time.sleep, 0.01)")
    result = project.runpytest("--benchmark-disable")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*p95 * is over its 2.00 ms budget*", f"*{SERVED}*"])


def test_with_benchmark_disabled_a_pedantic_call_is_timed_as_its_function(
    project: pytest.Pytester,
) -> None:
    _slow(project)  # pedantic(time.sleep, args=(0.01,), rounds=7, iterations=1)
    result = project.runpytest("--benchmark-disable", "--perfbudget-json=report.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*p95 * is over its 2.00 ms budget*", f"*{SERVED}*"])
    assert _entry(project)["mode"] == "perf"


PEDANTIC_WITH_SETUP = """
import time
import pytest

LOG = []

def setup():
    time.sleep(0.02)  # 20 ms a round: over the 10 ms budget, if it were timed
    LOG.append("setup")
    return (0.001,), {}

def teardown(seconds):
    assert seconds == 0.001
    LOG.append("teardown")

@pytest.mark.budget(p95="10ms")
def test_it(benchmark):
    benchmark.pedantic(time.sleep, setup=setup, teardown=teardown, rounds=3)
    # every round torn down before pedantic returns, as pytest-benchmark does
    assert LOG[-1] == "teardown"
    assert LOG == ["setup", "teardown"] * (len(LOG) // 2)

def test_after():
    assert LOG and LOG == ["setup", "teardown"] * (len(LOG) // 2)
"""


def test_with_benchmark_disabled_a_pedantic_call_with_a_setup_has_its_function_timed(
    project: pytest.Pytester, assert_clean: AssertClean
) -> None:
    # timing the body, as before, read the 20 ms set-up of its rounds: over budget
    project.makepyfile(PEDANTIC_WITH_SETUP)
    result = project.runpytest("--benchmark-disable", "--perfbudget-json=report.json")
    result.assert_outcomes(passed=2)
    assert_clean(result)
    _function_timed(project)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (
            "benchmark.pedantic(sum, setup=lambda: None, iterations=2)",
            "ValueError: Can't use more than 1 `iterations` with a `setup` function.",
        ),
        (
            "benchmark.pedantic(sum, args=([1],), setup=lambda: (([2],), {}))",
            "TypeError: Can't use `args` or `kwargs` if `setup` returns the arguments.",
        ),
    ],
    ids=["iterations", "args"],
)
def test_with_benchmark_disabled_a_pedantic_call_is_checked_as_pytest_benchmark_does(
    project: pytest.Pytester, call: str, error: str
) -> None:
    _benchmarked(project, 'p95="1s"', call)
    result = project.runpytest("--benchmark-disable")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"E * {error}"])


def test_under_xdist_the_function_is_timed_where_pytest_benchmark_is_off(
    project: pytest.Pytester, assert_clean: AssertClean
) -> None:
    """pytest-benchmark 5.3 and later switch themselves off in xdist workers; earlier
    versions measure there, and their samples are judged."""
    pytest.importorskip("xdist")
    _set_up_then_benchmarked(project)
    result = project.runpytest_subprocess("-n", "2", "--perfbudget-json=report.json")
    result.assert_outcomes(passed=1)
    assert_clean(result)
    entry = _entry(project)
    served = any(SERVED in m for m in entry["messages"])
    if BENCHMARK_VERSION >= (5, 3):
        assert (entry["mode"], served) == ("perf", True)
    else:
        assert (entry["mode"], served) == ("benchmark", False)
    assert entry["stats"]["p95"] < 0.01


def test_a_slower_function_under_xdist_regresses_against_a_baseline_saved_under_xdist(
    project: pytest.Pytester,
) -> None:
    """The set-up around ``benchmark(fn)`` would hide a slowdown of ``fn`` in the body's
    time; with pytest-benchmark off in the workers, ``fn`` alone is timed."""
    pytest.importorskip("xdist")
    if BENCHMARK_VERSION < (5, 3):
        pytest.skip("pytest-benchmark measures in xdist workers before 5.3")
    project.makepyfile(
        work="""
        import time

        def work():
            time.sleep(0.001)
        """,
        test_it="""
        import time
        import pytest
        import work

        @pytest.mark.budget(p95="1s")
        def test_it(benchmark):
            time.sleep(0.05)
            benchmark(work.work)
        """,
    )
    project.runpytest_subprocess("-n", "2", "--perfbudget-save").assert_outcomes(passed=1)
    project.makepyfile(work="import time\n\ndef work():\n    time.sleep(0.01)\n")
    result = project.runpytest_subprocess("-n", "2", "--perfbudget-json=report.json")
    result.assert_outcomes(failed=1)
    entry = _entry(project)
    assert (entry["mode"], entry["status"]) == ("perf", "regressed")
    assert entry["change"]["ratio"] > 3


def test_a_budgeted_test_that_requests_benchmark_but_never_calls_it_is_body_timed(
    project: pytest.Pytester,
) -> None:
    _benchmarked(project, 'p95="200ms"', "pass")
    result = project.runpytest("--perfbudget-json=report.json", "-W", "ignore")
    result.assert_outcomes(passed=1)
    assert _entry(project)["mode"] == "body"
