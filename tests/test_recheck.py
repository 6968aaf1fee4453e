"""``recheck``: a regression the run flags is measured again in a fresh pytest process.

The test here sleeps 1 ms, or 20 ms where ``slow.txt`` says so: ``code`` in every
process (a slowdown of the code), ``process`` only in the run's own process (a
slowdown of that process's state), ``fail-fresh`` fails in a fresh one. Margins
are wide: 20 ms against a baseline of 1 ms and an allowed slowdown of 50 %.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pytest_perfbudget import recheck
from pytest_perfbudget.errors import RecheckError
from pytest_perfbudget.recheck import RECHECK_ENV, child_env, fresh_measurement

SLOWED = f"""
import os, pathlib, time
import pytest

def _slow():
    mode = pathlib.Path("slow.txt").read_text() if pathlib.Path("slow.txt").exists() else ""
    fresh = {RECHECK_ENV!r} in os.environ
    if mode == "fail-fresh" and fresh:
        raise AssertionError("fails when run alone")
    return mode == "code" or (mode in ("process", "fail-fresh") and not fresh)

@pytest.mark.budget(p95="1s", regression="50%")
def test_slowed():
    time.sleep(0.02 if _slow() else 0.001)

@pytest.mark.budget(p95="1s", regression="50%")
def test_steady():
    time.sleep(0.001)
"""


@pytest.fixture
def saved(project: pytest.Pytester, instant_spread: ModuleType) -> pytest.Pytester:
    """The project with its baseline saved while ``test_slowed`` was fast."""
    project.makepyfile(test_a=SLOWED)
    project.runpytest("--perfbudget-save").assert_outcomes(passed=2)
    return project


def _tests(pytester: pytest.Pytester) -> dict[str, dict[str, Any]]:
    report = json.loads((pytester.path / "r.json").read_text())
    return {test["nodeid"].rpartition("::")[2]: test for test in report["tests"]}


def _gate(
    pytester: pytest.Pytester, slow: str, *args: str, subprocess: bool = False
) -> pytest.RunResult:
    """A gate with ``recheck`` on, ``test_slowed`` slow as ``slow`` says; in a pytest
    process of its own with ``subprocess``."""
    (pytester.path / "slow.txt").write_text(slow)
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    return run("--perfbudget-recheck", "--perfbudget-json=r.json", *args)


def test_a_slowdown_of_the_process_alone_is_not_a_regression(
    saved: pytest.Pytester, assert_clean: Callable[[pytest.RunResult], None]
) -> None:
    result = _gate(saved, "process")
    result.assert_outcomes(passed=2)
    assert_clean(result)
    result.stdout.fnmatch_lines(
        [
            "regressions a fresh process did not confirm:",
            "  test_a.py::test_slowed: min matches its baseline: *; not confirmed in a fresh "
            "process: this process read min +*, a fresh one min *, so the code is not that "
            "much slower; the verdict is the fresh process's",
        ]
    )
    slowed = _tests(saved)["test_slowed"]
    assert slowed["status"] == "unchanged"
    assert slowed["stats"]["min"] < 0.01  # the fresh process's samples: about 1 ms
    assert _tests(saved)["test_steady"]["status"] == "unchanged"


def test_without_recheck_a_slowdown_of_the_process_is_a_regression(
    saved: pytest.Pytester,
) -> None:
    (saved.path / "slow.txt").write_text("process")
    result = saved.runpytest()
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.no_fnmatch_line("*fresh process*")


@pytest.mark.parametrize(
    ("slow", "lines"),
    [
        ("code", ["min is slower than its baseline: +*", "confirmed in a fresh process (min +*)"]),
        ("fail-fresh", ["not re-checked in a fresh process: the test failed there:", "*1 failed*"]),
    ],
    ids=["a-slowdown-of-the-code", "a-test-that-fails-alone"],
)
def test_a_regression_stands_when_a_fresh_process_reads_it_or_cannot_measure_it(
    saved: pytest.Pytester, slow: str, lines: list[str]
) -> None:
    result = _gate(saved, slow)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(lines)
    assert _tests(saved)["test_slowed"]["status"] == "regressed"


SAMPLED = SLOWED.replace(
    """@pytest.mark.budget(p95="1s", regression="50%")
def test_slowed():
    time.sleep(0.02 if _slow() else 0.001)""",
    """@pytest.mark.budget(p95="1s", regression="50%")
def test_slowed(perf):
    for _ in range(20):
        with perf.sample():
            time.sleep(0.02 if _slow() else 0.001)""",
)


@pytest.mark.parametrize(
    ("slow", "status", "note"),
    [
        ("code", "regressed", "confirmed in 2 fresh processes (min +*, min +*)"),
        ("process", "unchanged", "not confirmed in a fresh process: this process read min +*"),
        (
            "fail-fresh",
            "inconclusive",
            "flagged as slower, but samples the test takes cannot be re-measured here, nor in "
            "a fresh process: the test failed there:*",
        ),
    ],
    ids=["a-slowdown-of-the-code", "a-slowdown-of-the-process", "a-test-that-fails-alone"],
)
@pytest.mark.usefixtures("instant_spread")
def test_a_regression_on_samples_the_test_takes_is_measured_in_two_fresh_processes(
    project: pytest.Pytester, slow: str, status: str, note: str
) -> None:
    """Without ``recheck``: this process cannot take those samples again."""
    project.makepyfile(test_a=SAMPLED)
    project.runpytest("--perfbudget-save").assert_outcomes(passed=2)
    (project.path / "slow.txt").write_text(slow)
    result = project.runpytest("--perfbudget-json=r.json")
    failed = int(status == "regressed")
    result.assert_outcomes(passed=2 - failed, failed=failed)
    slowed = _tests(project)["test_slowed"]
    assert (slowed["mode"], slowed["status"]) == ("sample", status)
    assert fnmatch.filter(slowed["messages"], note)


def test_the_fresh_process_writes_none_of_the_run_s_outputs(
    saved: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its JUnit XML file, its Markdown summary and GitHub's job summary are the run's."""
    summary = saved.path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = _gate(saved, "process", "--junitxml=junit.xml", "--perfbudget-markdown=pr.md")
    result.assert_outcomes(passed=2)
    assert (saved.path / "junit.xml").read_text().count("<testcase ") == 2
    assert "test_steady" in (saved.path / "pr.md").read_text()
    assert summary.read_text().count("test_steady") == 1


def test_a_fresh_process_is_started_from_an_xdist_worker_with_the_run_s_ini_file(
    saved: pytest.Pytester,
) -> None:
    pytest.importorskip("xdist")
    # in a subprocess: pytest-benchmark 4 warns about xdist in-process
    result = _gate(saved, "process", "-n", "2", "-c", "pyproject.toml", subprocess=True)
    result.assert_outcomes(passed=2)
    assert _tests(saved)["test_slowed"]["status"] == "unchanged"


def test_the_fresh_process_environment_names_its_report_and_is_no_worker() -> None:
    environ = {
        "PATH": "/bin",
        "PYTEST_XDIST_WORKER": "gw0",
        "PYTEST_XDIST_WORKER_COUNT": "2",
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": "/summary.md",
    }
    assert child_env(environ, Path("/tmp/r.json")) == {
        "PATH": "/bin",
        RECHECK_ENV: str(Path("/tmp/r.json")),
    }


# -- what fresh_measurement says when it gets no measurement --------------------------


def test_a_test_the_fresh_process_does_not_find_says_so_with_its_output(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_b="def test_other(): pass")
    with pytest.raises(RecheckError) as info:
        fresh_measurement("test_b.py::test_gone", (), cwd=pytester.path)
    text = str(info.value)
    assert text.startswith("its report holds no verdict on the test:\n    ")
    assert "not found: " in text  # pytest's own error, from the tail of its output


def test_a_test_the_fresh_process_does_not_measure_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_b="def test_unbudgeted(): pass")
    with pytest.raises(RecheckError) as info:
        fresh_measurement("test_b.py::test_unbudgeted", (), cwd=pytester.path)
    assert str(info.value).startswith("its report holds no verdict on the test:\n")
    assert "1 passed" in str(info.value)


def test_a_fresh_process_that_outlasts_its_time_is_stopped(pytester: pytest.Pytester) -> None:
    with pytest.raises(RecheckError, match=r"^pytest took over 0\.001 s and was stopped$"):
        fresh_measurement("test_b.py::test_x", (), cwd=pytester.path, timeout=0.001)


def test_a_fresh_process_that_cannot_start_says_so(tmp_path: Path) -> None:
    with pytest.raises(RecheckError, match=r"^pytest could not be started: "):
        fresh_measurement("test_b.py::test_x", (), cwd=tmp_path / "gone")


def test_an_unreadable_report_of_the_fresh_process_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_report(command: list[str], cwd: Path, env: dict[str, str], *rest: Any) -> None:
        Path(env[RECHECK_ENV]).write_text("{not json")

    monkeypatch.setattr(recheck, "_run", broken_report)
    with pytest.raises(RecheckError, match=r"^its report is unreadable: "):
        fresh_measurement("test_b.py::test_x", (), cwd=tmp_path)
