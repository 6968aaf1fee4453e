"""pytest-xdist end to end: workers measure, the controller reports and saves, once."""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

import pytest

pytest.importorskip("xdist")


def _release(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version(name).split(".")[:2] if part.isdigit())


#: pytest 9.2 made node ids structured; xdist <= 3.8 still renames ``item._nodeid`` to
#: group tests, so --dist loadgroup silently stops grouping (pytest-xdist#1386).
LOADGROUP_BROKEN = _release("pytest") >= (9, 2) and _release("pytest-xdist") <= (3, 8)

NOTE = "*perfbudget: budgeted tests ran in parallel xdist workers*"


def _four_budgeted_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.budget(p95=200)
        def test_alpha_one():
            sum(range(100))

        @pytest.mark.budget(p95=200)
        def test_alpha_two():
            sum(range(100))

        @pytest.mark.budget(p95=200)
        def test_beta_one():
            sum(range(100))

        @pytest.mark.budget(p95=200)
        def test_beta_two():
            sum(range(100))
        """
    )


def _load(path: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_workers_keep_no_verdicts_only_the_controller_does(project: pytest.Pytester) -> None:
    """A worker sends each verdict to the controller in its report and keeps none, nor
    the samples in the reports pytest keeps (a save run's workers held as much memory
    as the controller)."""
    _four_budgeted_tests(project)
    project.makeconftest(
        """
        from pytest_perfbudget.plugin import plugin_key

        reports = []

        def pytest_runtest_logreport(report):
            reports.append(report)

        def pytest_sessionfinish(session):
            config = session.config
            kept = len(config.stash[plugin_key].verdicts)
            kept += sum(bool(getattr(r, "perfbudget", {}).get("sample_ns")) for r in reports)
            name = getattr(config, "workerinput", {}).get("workerid", "controller")
            (config.rootpath / f"kept-{name}.txt").write_text(str(kept))
        """
    )
    project.runpytest_subprocess("-n", "2", "--perfbudget-save").assert_outcomes(passed=4)
    kept = {path.stem: int(path.read_text()) for path in project.path.glob("kept-*.txt")}
    assert kept == {"kept-gw0": 0, "kept-gw1": 0, "kept-controller": 4}


def test_every_test_appears_exactly_once_in_the_json_report(project: pytest.Pytester) -> None:
    _four_budgeted_tests(project)
    result = project.runpytest_subprocess("-n", "2", "--perfbudget-json=report.json")
    result.assert_outcomes(passed=4)
    nodeids = [test["nodeid"] for test in _load(project.path / "report.json")["tests"]]
    assert sorted(nodeids) == [
        "test_every_test_appears_exactly_once_in_the_json_report.py::" + name
        for name in ("test_alpha_one", "test_alpha_two", "test_beta_one", "test_beta_two")
    ]


def test_every_worker_result_carries_its_measurement(project: pytest.Pytester) -> None:
    _four_budgeted_tests(project)
    project.runpytest_subprocess("-n", "2", "--perfbudget-json=report.json")
    tests = _load(project.path / "report.json")["tests"]
    assert {test["status"] for test in tests} == {"pass"}
    assert all(test["stats"]["n"] >= 5 and test["mode"] == "body" for test in tests)


def test_saving_under_xdist_writes_every_passing_test(project: pytest.Pytester) -> None:
    _four_budgeted_tests(project)
    result = project.runpytest_subprocess("-n", "2", "--perfbudget-save")
    result.assert_outcomes(passed=4)
    baseline = _load(project.path / ".perfbudget" / "baseline.json")
    assert len(baseline["tests"]) == 4
    harnesses = {test["history"][-1].get("harness") for test in baseline["tests"].values()}
    assert harnesses <= {"xdist", "xdist+tracer"}  # "+tracer" when this suite runs under coverage


def test_saving_two_selections_under_xdist_merges_them(project: pytest.Pytester) -> None:
    _four_budgeted_tests(project)
    project.runpytest_subprocess("-n", "2", "--perfbudget-save", "-k", "alpha")
    project.runpytest_subprocess("-n", "2", "--perfbudget-save", "-k", "beta")
    baseline = _load(project.path / ".perfbudget" / "baseline.json")
    names = sorted(nodeid.split("::")[1] for nodeid in baseline["tests"])
    assert names == ["test_alpha_one", "test_alpha_two", "test_beta_one", "test_beta_two"]


def test_the_parallel_note_appears_exactly_once(project: pytest.Pytester) -> None:
    _four_budgeted_tests(project)
    result = project.runpytest_subprocess("-n", "2")
    notes = [line for line in result.outlines if "ran in parallel xdist workers" in line]
    assert len(notes) == 1
    result.stdout.fnmatch_lines([NOTE])


def test_the_parallel_note_is_absent_without_workers(project: pytest.Pytester) -> None:
    _four_budgeted_tests(project)
    result = project.runpytest_subprocess("-n", "0")
    result.assert_outcomes(passed=4)
    result.stdout.no_fnmatch_line(NOTE)


def test_a_broken_budget_in_a_worker_fails_that_test_with_its_reason(
    project: pytest.Pytester,
) -> None:
    _four_budgeted_tests(project)
    project.makepyfile(
        test_slow="""
        import time
        import pytest

        @pytest.mark.budget(p95="2ms")
        def test_slow():
            time.sleep(0.01)
        """
    )
    result = project.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        ["*p95 * is over its 2.00 ms budget*", "*OVER BUDGET test_slow.py::test_slow*"]
    )


def test_a_broken_budget_under_xdist_is_not_saved(project: pytest.Pytester) -> None:
    _four_budgeted_tests(project)
    project.makepyfile(
        test_slow="""
        import time
        import pytest

        @pytest.mark.budget(p95="2ms")
        def test_slow():
            time.sleep(0.01)
        """
    )
    project.runpytest_subprocess("-n", "2", "--perfbudget-save")
    baseline = _load(project.path / ".perfbudget" / "baseline.json")
    assert len(baseline["tests"]) == 4
    assert not any("test_slow" in nodeid for nodeid in baseline["tests"])


@pytest.mark.xfail(
    LOADGROUP_BROKEN, reason="pytest-xdist#1386: loadgroup ignores xdist_group on pytest 9.2"
)
def test_loadgroup_runs_a_budgeted_group_on_one_worker(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import os
        import pytest

        @pytest.mark.xdist_group("perf")
        @pytest.mark.budget(p95=200)
        @pytest.mark.parametrize("i", range(4))
        def test_it(i):
            with open("workers.txt", "a") as out:
                out.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
        """
    )
    result = project.runpytest_subprocess(
        "-n", "2", "--dist", "loadgroup", "--perfbudget-json=report.json"
    )
    result.assert_outcomes(passed=4)
    assert len(_load(project.path / "report.json")["tests"]) == 4
    workers = (project.path / "workers.txt").read_text(encoding="utf-8").split()
    assert len(workers) > 4  # the body was repeated to time it
    assert len(set(workers)) == 1
