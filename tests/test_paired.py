"""Paired mode (``--perfbudget-against=REV``) end to end, with real git and real workers.

Each project is a scratch git repository in pytester's folder: ``work.py`` is committed
at the base revision, then changed in the working tree (the head). Workloads are
~0.2 ms and slowdowns 3x, so verdicts are clear even on a noisy machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_perfbudget.errors import ConfigError
from pytest_perfbudget.paired.coordinator import in_tree
from pytest_perfbudget.paired.effect import paired_change
from pytest_perfbudget.paired.judgement import Measured, confirm
from pytest_perfbudget.paired.pair import WorkerPair, claim_cpu, forwarded_options
from pytest_perfbudget.paired.process import (
    BECOME_PYTEST,
    DIE_WITH_COORDINATOR,
    NO_ASLR,
    WorkerProcess,
    worker_command,
)
from pytest_perfbudget.paired.rounds import Rounds
from pytest_perfbudget.paired.worker import pinned
from pytest_perfbudget.settings import settings_from_table

AssertClean = Callable[[pytest.RunResult], None]
HANGING = "import time\n\ndef work():\n    time.sleep(3600)\n"

PYPROJECT = """\
[tool.pytest.ini_options]
asyncio_default_fixture_loop_scope = "function"

[tool.perfbudget]
max_time = "{max_time}"
"""
WORK = "def work():\n    return sum(i * i for i in range({n}))\n"
TESTS = """\
import pytest
import work

def test_perf(perf):
    assert perf(work.work) > 0

@pytest.mark.budget(p95=500)
def test_body():
    work.work()
"""
NEW_TEST = """

def test_added(perf):
    perf(work.work)
"""
BASE_N = 8_000


def _git(path: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=path,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _repo(pytester: pytest.Pytester, *, base_n: int = BASE_N, max_time: str = "0.4s") -> Path:
    """A git repository whose HEAD commit holds the base version of work.py and the tests."""
    path = pytester.path
    (path / "pyproject.toml").write_text(PYPROJECT.format(max_time=max_time))
    (path / "work.py").write_text(WORK.format(n=base_n))
    (path / "test_work.py").write_text(TESTS)
    _git(path, "init", "-q", "-b", "main")
    _git(path, "add", ".")
    _git(path, "commit", "-q", "-m", "base")
    return path


def _head(path: Path, n: int) -> None:
    (path / "work.py").write_text(WORK.format(n=n))


def _base(path: Path, source: str, message: str) -> None:
    """Commit ``source`` as the base's work.py; the head keeps the plain workload."""
    (path / "work.py").write_text(source)
    _git(path, "commit", "-q", "-am", message)
    _head(path, BASE_N)


def _pytest_ini(path: Path, line: str) -> None:
    """Add ``line`` to the project's ``[tool.pytest.ini_options]``."""
    section = "[tool.pytest.ini_options]\n"
    (path / "pyproject.toml").write_text(
        PYPROJECT.format(max_time="0.4s").replace(section, f"{section}{line}\n")
    )


def _run_body(
    pytester: pytest.Pytester, assert_clean: AssertClean, *args: str
) -> tuple[pytest.RunResult, dict[str, Any]]:
    """``test_body`` paired against HEAD: the run and the test's entry in its JSON report."""
    result = pytester.runpytest(
        *args, "--perfbudget-against=HEAD", "-k", "test_body", "--perfbudget-json=r.json"
    )
    assert_clean(result)
    [entry] = json.loads((pytester.path / "r.json").read_text())["tests"]
    return result, entry


def _worktrees(path: Path) -> list[str]:
    return [line for line in _git(path, "worktree", "list").splitlines() if line.strip()]


def test_an_unchanged_head_passes_and_a_new_test_is_new(
    pytester: pytest.Pytester, assert_clean: AssertClean
) -> None:
    path = _repo(pytester)
    with (path / "test_work.py").open("a") as stream:
        stream.write(NEW_TEST)
    result = pytester.runpytest("--perfbudget-against=HEAD", "--perfbudget-json=report.json")
    assert_clean(result)
    result.assert_outcomes(passed=3)
    report = json.loads((path / "report.json").read_text())
    status = {t["nodeid"]: t["status"] for t in report["tests"]}
    assert status["test_work.py::test_added"] == "new"
    for name in ("test_perf", "test_body"):
        entry = next(t for t in report["tests"] if t["nodeid"] == f"test_work.py::{name}")
        assert entry["status"] in ("unchanged", "inconclusive")
        assert entry["change"]["mode"] == "paired"
        assert entry["change"]["against"] == "HEAD"
        assert entry["change"]["low"] <= entry["change"]["ratio"] <= entry["change"]["high"]


def test_a_three_times_slower_head_fails_naming_the_revision(
    pytester: pytest.Pytester, assert_clean: AssertClean
) -> None:
    path = _repo(pytester, max_time="1s")  # both pairs must decide, even on a loaded machine
    _head(path, 3 * BASE_N)
    result = pytester.runpytest("--perfbudget-against=HEAD", "-k", "test_perf")
    assert_clean(result)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*time is slower than at HEAD: +* (99 % interval*; paired against HEAD, * rounds*",
            "*confirmed by a fresh worker pair*",
        ]
    )
    assert len(_worktrees(path)) == 1


FOUR_TESTS = "import work\n" + "".join(
    f"\n\ndef test_{name}(perf):\n    assert perf(work.work) > 0\n" for name in "abcd"
)


def test_after_three_confirmed_regressions_a_later_one_counts_without_a_fresh_pair(
    pytester: pytest.Pytester, assert_clean: AssertClean
) -> None:
    """The run fails once a fresh pair confirmed three: a fourth is not worth a pair's
    start-up, as the spread of a stored comparison is cut short after three."""
    path = _repo(pytester, max_time="1s")  # both pairs must decide, even on a loaded machine
    (path / "test_work.py").write_text(FOUR_TESTS)
    _git(path, "commit", "-q", "-am", "four tests")
    _head(path, 3 * BASE_N)
    result = pytester.runpytest("--perfbudget-against=HEAD", "--perfbudget-json=r.json")
    assert_clean(result)
    result.assert_outcomes(failed=4)
    tests = {t["nodeid"]: t for t in json.loads((path / "r.json").read_text())["tests"]}
    fresh = "confirmed by a fresh worker pair"
    for name in "abc":
        entry = tests[f"test_work.py::test_{name}"]
        assert (entry["status"], entry["confirmed"], fresh in entry["messages"]) == (
            "regressed",
            True,
            True,
        )
    last = tests["test_work.py::test_d"]
    assert (last["status"], last["confirmed"]) == ("regressed", False)
    assert (
        "not measured again by a fresh worker pair: this run had already confirmed "
        "3 regressions that way"
    ) in last["messages"]


def test_a_faster_head_is_improved(pytester: pytest.Pytester, assert_clean: AssertClean) -> None:
    path = _repo(pytester, base_n=3 * BASE_N)
    _head(path, BASE_N)
    result, entry = _run_body(pytester, assert_clean)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*test_work.py::test_body*improved*", "improved tests: tighten their budgets to keep*"]
    )
    assert "perfbudget refresh" not in result.stdout.str()
    assert "confirmed by a fresh worker pair" in entry["messages"]
    assert len(_worktrees(path)) == 1


#: A work.py that notes, when a worker imports it, the worker's role and hash seed.
SEED_NOTING = """\
import json, os

if "PERFBUDGET_PAIRED_WORKER" in os.environ:
    with open({log!r}, "a") as stream:
        role = json.loads(os.environ["PERFBUDGET_PAIRED_WORKER"])["role"]
        stream.write(role + " " + os.environ["PYTHONHASHSEED"] + "\\n")
"""


@pytest.mark.parametrize("run_seed", [None, "random", "123"])
def test_each_worker_pair_shares_a_hash_seed_drawn_for_it_unless_the_run_fixed_one(
    pytester: pytest.Pytester,
    assert_clean: AssertClean,
    monkeypatch: pytest.MonkeyPatch,
    run_seed: str | None,
) -> None:
    """A regression is confirmed by a fresh pair under another seed: under the same
    one, a layout that slowed one side could confirm its own offset."""
    if run_seed is None:
        monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    else:
        monkeypatch.setenv("PYTHONHASHSEED", run_seed)
    path = _repo(pytester, max_time="1s")
    log = path.parent / f"{path.name}-seeds.log"
    noting = SEED_NOTING.format(log=str(log))
    _base(path, noting + WORK.format(n=BASE_N), "workers note their seeds")
    (path / "work.py").write_text(noting + WORK.format(n=3 * BASE_N))
    result = pytester.runpytest("--perfbudget-against=HEAD", "-k", "test_perf")
    assert_clean(result)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*confirmed by a fresh worker pair*"])
    lines = log.read_text().splitlines()
    assert len(lines) == 4  # the long-lived pair's two workers, then the fresh pair's
    seeds = []
    for pair in (lines[:2], lines[2:]):
        seed_of = dict(line.split() for line in pair)
        assert seed_of.keys() == {"base", "head"}
        assert seed_of["base"] == seed_of["head"]  # a pair's workers share theirs
        seeds.append(seed_of["base"])
    main, fresh = seeds
    if run_seed == "123":
        assert main == fresh == "123"
    else:
        assert main != fresh
        assert all(seed.isdecimal() for seed in (main, fresh))


def test_a_test_that_fails_at_the_base_is_inconclusive(
    pytester: pytest.Pytester, assert_clean: AssertClean
) -> None:
    path = _repo(pytester)
    _base(path, "def work():\n    raise ValueError('broken at the base')\n", "broken")
    result, entry = _run_body(pytester, assert_clean)
    result.assert_outcomes(passed=1)
    assert entry["status"] == "inconclusive"
    assert entry["stats"]["n"] > 0  # the head alone was measured, for its absolute budget
    assert "the test fails at the base revision" in entry["messages"][0]
    assert "ValueError: broken at the base" in entry["messages"][0]


def test_a_test_that_does_not_collect_at_the_base_is_inconclusive_with_the_error(
    pytester: pytest.Pytester, assert_clean: AssertClean
) -> None:
    path = _repo(pytester)
    (path / "test_work.py").write_text(TESTS + "\nbroken = (\n")
    _git(path, "commit", "-q", "-am", "a test file that does not parse")
    (path / "test_work.py").write_text(TESTS)
    result, entry = _run_body(pytester, assert_clean)
    result.assert_outcomes(passed=1)
    assert entry["status"] == "inconclusive"  # not "new": the test is there, unreadable
    assert entry["stats"]["n"] > 0
    assert "the test does not collect at the base revision" in entry["messages"][0]
    assert "SyntaxError" in entry["messages"][0]


@pytest.mark.parametrize("budgeted_by", ["marker", "pattern"])
def test_a_test_budgeted_only_at_the_head_is_compared_with_the_base(
    pytester: pytest.Pytester, assert_clean: AssertClean, budgeted_by: str
) -> None:
    """The budget is added in the change under review: the base worker times the test
    all the same (the coordinator judges it with the head's budget)."""
    path = _repo(pytester)
    (path / "test_work.py").write_text("import work\n\ndef test_body():\n    work.work()\n")
    _git(path, "commit", "-q", "-am", "the test, not budgeted")
    if budgeted_by == "marker":
        (path / "test_work.py").write_text(TESTS)
    else:
        with (path / "pyproject.toml").open("a") as stream:
            stream.write('\n[tool.perfbudget.budgets]\n"test_work.py::*" = { p95 = 500 }\n')
    result, entry = _run_body(pytester, assert_clean)
    result.assert_outcomes(passed=1)
    assert entry["change"]["mode"] == "paired", entry["messages"]
    assert entry["status"] in ("unchanged", "inconclusive")
    assert not any("base revision" in message for message in entry["messages"])


WARNS_AT_IMPORT = "import warnings\nwarnings.warn('at import', UserWarning)\n"


@pytest.mark.parametrize(
    ("ini", "tests", "args"),
    [
        # the test file warns at import: only the run's -W lets the workers collect it
        ('filterwarnings = ["error"]', WARNS_AT_IMPORT + TESTS, ("-W", "ignore::UserWarning")),
        # -n 2 made each worker start two more
        ('addopts = "-n 2"', TESTS, ("-n", "0")),
    ],
    ids=["warning-filters", "addopts"],
)
def test_workers_collect_and_run_the_tests_as_the_run_does(
    pytester: pytest.Pytester,
    assert_clean: AssertClean,
    ini: str,
    tests: str,
    args: tuple[str, ...],
) -> None:
    path = _repo(pytester)
    _pytest_ini(path, ini)
    (path / "test_work.py").write_text(tests)
    _git(path, "commit", "-q", "-am", ini)
    result, entry = _run_body(pytester, assert_clean, *args)
    result.assert_outcomes(passed=1)
    assert entry["change"]["mode"] == "paired", entry["messages"]


def test_doctests_are_compared_when_the_run_collects_them(
    pytester: pytest.Pytester, assert_clean: AssertClean
) -> None:
    path = _repo(pytester)
    doctest = '"""\n>>> from work import work\n>>> work() > 0\nTrue\n"""\n'
    (path / "work.py").write_text(doctest + WORK.format(n=BASE_N))
    with (path / "pyproject.toml").open("a") as stream:
        stream.write('[tool.perfbudget.budgets]\n"work.py::*" = { p95 = 500 }\n')
    _git(path, "commit", "-q", "-am", "a doctest")
    result = pytester.runpytest(
        "--doctest-modules", "work.py", "--perfbudget-against=HEAD", "--perfbudget-json=r.json"
    )
    assert_clean(result)
    result.assert_outcomes(passed=1)
    [entry] = json.loads((path / "r.json").read_text())["tests"]
    assert entry["nodeid"] == "work.py::work"
    assert entry["change"]["mode"] == "paired", entry["messages"]


@pytest.mark.skipif(not hasattr(pytest, "Subtests"), reason="pytest 9's subtests fixture")
@pytest.mark.parametrize("kind", ["fixture", "unittest"])
def test_a_test_with_subtests_is_compared(
    pytester: pytest.Pytester, assert_clean: AssertClean, kind: str
) -> None:
    # a worker reported each subtest of the test's own call, and the first such report
    # read as the test's: "the head worker could not measure the test (unmeasured)"
    path = _repo(pytester)
    body = {
        "fixture": "def test_body(subtests):\n    with subtests.test(i=0):\n",
        "unittest": (
            "import unittest\n\nclass TestWork(unittest.TestCase):\n"
            "    def test_body(self):\n        with self.subTest(i=0):\n"
        ),
    }[kind]
    (path / "test_work.py").write_text(f"import work\n\n{body}            work.work()\n")
    with (path / "pyproject.toml").open("a") as stream:
        stream.write('[tool.perfbudget.budgets]\n"test_work.py::*" = { p95 = 500 }\n')
    _git(path, "commit", "-q", "-am", "subtests")
    result, entry = _run_body(pytester, assert_clean)
    result.assert_outcomes(passed=1)
    assert entry["change"]["mode"] == "paired", entry["messages"]


def test_a_test_the_head_worker_cannot_collect_says_why(
    pytester: pytest.Pytester, assert_clean: AssertClean
) -> None:
    path = _repo(pytester)
    only_here = (
        "import os\n"
        "if os.environ.get('PERFBUDGET_PAIRED_WORKER'):\n"
        "    raise RuntimeError('not in a worker')\n"
    )
    (path / "test_work.py").write_text(only_here + TESTS)
    result, entry = _run_body(pytester, assert_clean)
    result.assert_outcomes(passed=1)
    assert entry["status"] == "inconclusive"
    message = entry["messages"][0]
    assert "the head worker could not collect the test (workers get this run's -W, -p" in message
    assert "RuntimeError: not in a worker" in message


def test_a_test_the_head_worker_does_not_collect_names_the_options_workers_get(
    pytester: pytest.Pytester, assert_clean: AssertClean
) -> None:
    _repo(pytester)
    pytester.makeconftest(  # as if an option the workers do not get left the test out
        "import os\n\n"
        "def pytest_collection_modifyitems(items):\n"
        "    if os.environ.get('PERFBUDGET_PAIRED_WORKER'):\n"
        "        items.clear()\n"
    )
    result, entry = _run_body(pytester, assert_clean)
    result.assert_outcomes(passed=1)
    assert entry["status"] == "inconclusive"
    assert entry["messages"][0].startswith(
        "paired against HEAD: the head worker did not collect the test (workers get this run's"
    )
    result.stdout.fnmatch_lines(
        ["inconclusive tests:", "  test_work.py::test_body: paired against HEAD: the head worker*"]
    )


UNITTEST_CASES = """\
import unittest

import work

class TestWork(unittest.TestCase):
    def test_passes(self):
        work.work()

    @unittest.skip("not today")
    def test_skipped(self):
        work.work()

    def test_fails(self):
        self.assertEqual(work.work(), -1)
"""


def test_a_unittest_case_that_skips_or_fails_itself_is_reported_so(
    pytester: pytest.Pytester, assert_clean: AssertClean
) -> None:
    path = _repo(pytester)
    (path / "test_cases.py").write_text(UNITTEST_CASES)
    with (path / "pyproject.toml").open("a") as stream:
        # a wide allowance: this test is about skips and failures, not the verdict's margin
        stream.write(
            '[tool.perfbudget.budgets]\n"test_cases.py::*" = { p95 = "1s", regression = "50%" }\n'
        )
    _git(path, "add", ".")
    _git(path, "commit", "-q", "-m", "unittest cases")
    result = pytester.runpytest(
        "test_cases.py", "--perfbudget-against=HEAD", "--perfbudget-json=r.json"
    )
    assert_clean(result)
    result.assert_outcomes(passed=1, skipped=1, failed=1)
    report = json.loads((path / "r.json").read_text())
    status = {t["nodeid"].rsplit("::", 1)[1]: t["status"] for t in report["tests"]}
    assert status.pop("test_passes") in ("unchanged", "inconclusive")
    assert status == {"test_skipped": "skipped", "test_fails": "failed"}


FRESH_TEST = """\
import pytest
import work

@pytest.fixture
def registry():
    return set()

@pytest.mark.budget(p95=500)
def test_registers(registry):
    assert "route" not in registry  # fails on the same fixture a second time
    registry.add("route")
    work.work()
"""


def test_a_body_that_changes_its_fixtures_is_paired_on_fresh_fixtures(
    pytester: pytest.Pytester, assert_clean: AssertClean
) -> None:
    path = _repo(pytester)
    (path / "test_fresh.py").write_text(FRESH_TEST)
    _git(path, "add", ".")
    _git(path, "commit", "-q", "-m", "a test that changes its fixture")
    _head(path, 3 * BASE_N)
    result = pytester.runpytest(
        "test_fresh.py", "--perfbudget-against=HEAD", "--perfbudget-json=r.json"
    )
    assert_clean(result)
    result.assert_outcomes(failed=1)
    [entry] = json.loads((path / "r.json").read_text())["tests"]
    assert entry["status"] == "regressed"
    assert any("set up afresh" in message for message in entry["messages"])


def _paired_on(
    pytester: pytest.Pytester, assert_clean: AssertClean, tests: str
) -> tuple[pytest.RunResult, list[dict[str, Any]]]:
    """``tests`` committed as ``test_tree.py`` in a new repository, paired against HEAD:
    the run and the entries of its JSON report."""
    path = _repo(pytester)
    (path / "test_tree.py").write_text(tests)
    _git(path, "add", ".")
    _git(path, "commit", "-q", "-m", "tests that make files of the tree")
    result = pytester.runpytest(
        "test_tree.py", "--perfbudget-against=HEAD", "--perfbudget-json=r.json"
    )
    assert_clean(result)
    return result, json.loads((path / "r.json").read_text())["tests"]


TREE_FILE_TESTS = """\
import os
import time
import pytest
import work

LOCK = os.path.join(os.path.dirname(__file__), "lock")
CALLS = []

def alone():
    fd = os.open(LOCK, os.O_CREAT | os.O_EXCL)  # raises while another process holds it
    try:
        if not CALLS:  # each process's first call holds the file a while
            time.sleep(0.3)
        CALLS.append(None)
        work.work()
    finally:
        os.close(fd)
        os.remove(LOCK)

@pytest.mark.budget(p95=500, regression=False)  # measured and paired, never a regression
def test_first():
    work.work()

@pytest.mark.budget(p95=500, regression=False)
def test_second():
    alone()
"""


def test_the_head_worker_runs_a_test_only_while_the_run_waits_for_it(
    pytester: pytest.Pytester, assert_clean: AssertClean
) -> None:
    # The head worker shares the working tree with the run: a test that writes a file of
    # the tree must not run in both processes at once. Before the workers waited for
    # their turn, the head worker went on to test_second as soon as test_first was
    # measured, at the same moment as the run, and one of them found the file there.
    result, entries = _paired_on(pytester, assert_clean, TREE_FILE_TESTS)
    result.assert_outcomes(passed=2)
    assert not any("could not measure" in m for e in entries for m in e["messages"])
    assert not (pytester.path / "lock").exists()


TREE_FILE_FIXTURE = """\
import os
import pytest
import work

@pytest.fixture
def lock():
    path = os.path.join(os.path.dirname(__file__), "lock")
    os.close(os.open(path, os.O_CREAT | os.O_EXCL))  # raises while another process has it
    yield
    os.remove(path)

@pytest.mark.budget(p95=500)
def test_locked(lock):
    work.work()
"""


def test_a_fixture_that_makes_a_file_of_the_tree_leaves_the_test_inconclusive(
    pytester: pytest.Pytester, assert_clean: AssertClean
) -> None:
    # The head worker runs the test while the run's fixtures for it are still set up.
    result, [entry] = _paired_on(pytester, assert_clean, TREE_FILE_FIXTURE)
    result.assert_outcomes(passed=1)
    assert entry["status"] == "inconclusive"
    assert "the head worker could not measure the test (failed)" in entry["messages"][0]
    assert "FileExistsError" in entry["messages"][0]
    assert not (pytester.path / "lock").exists()


def test_a_worker_that_crashes_makes_the_test_inconclusive(
    pytester: pytest.Pytester, assert_clean: AssertClean
) -> None:
    path = _repo(pytester)
    _base(path, "import os\n\ndef work():\n    os._exit(3)\n", "crashing base")
    result, entry = _run_body(pytester, assert_clean)
    result.assert_outcomes(passed=1)
    assert entry["status"] == "inconclusive"
    assert "the base worker exited with code 3" in entry["messages"][0]
    assert len(_worktrees(path)) == 1


def test_a_worker_that_hangs_is_stopped_after_the_time_limit(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, assert_clean: AssertClean
) -> None:
    path = _repo(pytester)
    _base(path, HANGING, "hanging base")
    monkeypatch.setenv("PERFBUDGET_PAIRED_TIMEOUT", "8")
    _, entry = _run_body(pytester, assert_clean)
    assert entry["status"] == "inconclusive"
    # the hang is caught by the time limit (on a very loaded machine, already at start-up)
    assert re.search(r"did not (answer|connect) within 8 s", entry["messages"][0])


@pytest.mark.parametrize(
    "signum",
    [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
    ids=["ctrl-c", "sigterm", "sighup"],
)
def test_a_stopped_run_removes_the_worktree_and_stops_the_workers(
    pytester: pytest.Pytester, signum: int
) -> None:
    """Ctrl-C, and the signals that end a process without Python's clean-up (SIGTERM:
    ``timeout``, a cancelled CI job; SIGHUP), on which the run ends as on Ctrl-C."""
    path = _repo(pytester)
    _base(path, HANGING, "hanging base")
    # Started as a terminal's signal finds it: a test run launched in the background by
    # a shell without job control has SIGINT ignored, and one under nohup SIGHUP, which
    # a child would inherit (a handled signal is reset to its default in the child).
    handler = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
    previous = signal.signal(signum, handler)
    scratch = pytester.mkdir("scratch")  # what a run killed on a failure leaves stays in here
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--perfbudget-against=HEAD"],
            cwd=path,
            env={**os.environ, "TMPDIR": str(scratch)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    finally:
        signal.signal(signum, previous)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(subprocess.CalledProcessError):  # read while git adds it
                if len(_worktrees(path)) >= 2:
                    break
            time.sleep(0.1)
        time.sleep(2.0)  # the workers are up, the base one hangs in the test
        proc.send_signal(signum)
        assert proc.wait(timeout=60) == pytest.ExitCode.INTERRUPTED
    finally:
        if proc.poll() is None:  # a failure must not leave it running into the next test
            proc.kill()
            proc.wait()
    assert len(_worktrees(path)) == 1
    assert list(scratch.iterdir()) == []


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux, from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_workers_end_when_the_coordinator_is_killed(pytester: pytest.Pytester) -> None:
    """SIGKILL leaves the coordinator no chance to stop its workers; one stuck in a
    test (the base hangs in it) must not run on, orphaned."""
    path = _repo(pytester)
    _base(path, HANGING, "hanging base")
    scratch = pytester.mkdir("scratch")  # what the killed run cannot remove stays in here
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--perfbudget-against=HEAD"],
        cwd=path,
        env={**os.environ, "TMPDIR": str(scratch)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = _children(proc.pid)
        assert len(workers) == 2
        time.sleep(2.0)  # the workers are up, the base one hangs in the test
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while any(map(_running, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if _running(pid)]
    for pid in left:  # a failure must not leave them running into the next test
        os.kill(pid, signal.SIGKILL)
    assert left == []


def test_an_unknown_revision_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _repo(pytester)
    result = pytester.runpytest("--perfbudget-against=no-such-branch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--perfbudget-against='no-such-branch': unknown git revision*"])


def test_outside_a_git_repository_it_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(PYPROJECT.format(max_time="0.4s"))
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("--perfbudget-against=HEAD")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--perfbudget-against='HEAD' needs a git repository*"])


# -- pure parts ---------------------------------------------------------------------


def test_the_workers_get_the_options_that_shape_collection() -> None:
    options = {
        "pythonwarnings": ["ignore::UserWarning"],
        "plugins": ["no:randomly"],
        "override_ini": ["xfail_strict=true"],
        "importmode": "importlib",
        "noconftest": True,
        "rootdir": "/elsewhere",
        "verbose": 2,
        "keyword": "slow",
    }
    assert forwarded_options(options.get, lambda name: False) == (
        "-W", "ignore::UserWarning", "-p", "no:randomly", "-o", "xfail_strict=true",
        "--import-mode=importlib", "--noconftest", "--rootdir=.",
    )  # fmt: skip
    doctests = {"doctestmodules": True, "doctestglob": ["*.rst"], "doctestreport": "ndiff"}
    assert forwarded_options(doctests.get, {"doctest"}.__contains__) == (
        "--doctest-glob=*.rst", "--doctest-modules",
    )  # fmt: skip
    assert forwarded_options(doctests.get, lambda name: False) == ()  # -p no:doctest
    assert forwarded_options({"importmode": "prepend"}.get, lambda name: False) == ()
    assert forwarded_options({}.get, {"xdist"}.__contains__) == ("-n", "0")
    assert forwarded_options({}.get, {"benchmark"}.__contains__) == ("--benchmark-disable",)
    assert forwarded_options({}.get, {"benchmark"}.__contains__, benchmark=False) == ()


def test_a_config_file_named_with_c_is_the_same_file_in_each_tree(tmp_path: Path) -> None:
    top, tree = tmp_path / "work", tmp_path / "worktree"
    assert in_tree(top / "ci" / "pytest.ini", top, tree) == tree / "ci" / "pytest.ini"
    assert in_tree(tmp_path / "shared.ini", top, tree) == tmp_path / "shared.ini"


@pytest.mark.parametrize(
    ("errors", "nodeid", "found"),
    [
        ({"tests/test_a.py": "E"}, "tests/test_a.py::TestX::test_y", True),
        ({"tests/test_a.py": "E"}, "tests/test_ab.py::test_y", False),
        ({"tests/sub": "E"}, "tests/sub/test_b.py::test_y", True),
        ({"tests/sub": "E"}, "tests/subway/test_b.py::test_y", False),
        ({"": "E"}, "test_c.py::test_y", True),
        ({}, "test_c.py::test_y", False),
    ],
)
def test_a_collection_error_leaves_out_the_tests_under_its_node(
    errors: dict[str, str], nodeid: str, found: bool
) -> None:
    worker = WorkerProcess("base", proc=None, log=Path("base.log"), collect_errors=errors)  # type: ignore[arg-type]
    assert worker.collect_error(nodeid) == ("E" if found else None)


class _ScriptedChannel:
    """A worker's end of the wire that answers with ``events`` and logs what crosses it."""

    def __init__(self, role: str, events: list[dict[str, Any]], log: list[str]) -> None:
        self.role, self.events, self.log = role, events, log

    def receive(self, timeout: float | None = None) -> dict[str, Any]:
        event = self.events.pop(0)
        self.log.append(f"{self.role} {event['event']}")
        return event

    def send(self, message: dict[str, Any]) -> None:
        self.log.append(f"{self.role} {message['op']}")


def test_both_workers_get_go_once_both_wait_so_they_set_the_test_up_at_once() -> None:
    log: list[str] = []
    workers = {}
    for role in ("base", "head"):
        events = [
            {"event": "report", "nodeid": "t.py::a", "outcome": "passed"},
            {"event": "left", "nodeid": "t.py::a"},
            {"event": "waiting", "nodeid": "t.py::b"},
        ]
        worker = WorkerProcess(role, proc=None, log=Path(f"{role}.log"))  # type: ignore[arg-type]
        worker.channel = _ScriptedChannel(role, events, log)  # type: ignore[assignment]
        workers[role] = worker
    WorkerPair(workers).go(timeout=1.0)
    assert log[-2:] == ["base go", "head go"]
    assert log.index("head waiting") < log.index("base go")


def test_the_paired_change_is_the_median_ratio_with_a_sign_test_interval() -> None:
    base = [1000] * 40
    head = [1100 + 10 * (i % 5) for i in range(40)]
    change = paired_change(base, head, against="main", threshold=0.1)
    assert change.mode == "paired"
    assert change.against == "main"
    assert change.ratio == pytest.approx(1.12)
    assert 1.10 <= change.low <= change.ratio <= change.high <= 1.14


def test_against_paths_and_setup_are_read_from_pyproject(tmp_path: Path) -> None:
    table = {"against_paths": ["lib"], "against_setup": "make build"}
    settings = settings_from_table(table, rootdir=tmp_path)
    assert settings.against_paths == ("lib",)
    assert settings.against_setup == "make build"


@pytest.mark.parametrize(
    ("key", "value"), [("against_paths", "lib"), ("against_setup", ""), ("against_paths", [1])]
)
def test_bad_against_settings_name_the_key(tmp_path: Path, key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"{key} = {value!r}")):
        settings_from_table({key: value}, rootdir=tmp_path)


def test_workers_start_with_address_space_randomization_off_on_linux() -> None:
    linux = worker_command(["-q", "test_work.py"], platform="linux")
    launcher = NO_ASLR + DIE_WITH_COORDINATOR.format(pid=os.getpid()) + BECOME_PYTEST
    assert linux == [sys.executable, "-c", launcher, "-q", "test_work.py"]
    assert worker_command(["-q"], platform="win32") == [sys.executable, "-m", "pytest", "-q"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="CPU claims are Linux's")
def test_concurrent_pairs_claim_different_cpus_while_there_are_enough(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    name = f"\0pytest-perfbudget-test-{os.getpid()}-{time.monotonic_ns()}-{{}}"
    first, first_claim = claim_cpu(name)
    second, second_claim = claim_cpu(name)
    third, third_claim = claim_cpu(name)
    assert (first, second, third) == (1, 0, 1)  # the last CPU first; all taken: shared
    assert first_claim is not None
    assert second_claim is not None
    assert third_claim is None
    first_claim.close()  # a pair that stops gives its CPU back
    again, again_claim = claim_cpu(name)
    assert again == 1
    assert again_claim is not None
    again_claim.close()
    second_claim.close()


def test_without_cpu_affinity_nothing_is_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert claim_cpu() == (None, None)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity: Linux")
def test_a_worker_is_pinned_only_while_it_serves_a_test() -> None:
    """Set-up and teardown run on any CPU: pinned, the two workers took turns on one."""
    before = os.sched_getaffinity(0)
    cpu = max(before)
    with pinned(cpu):
        assert os.sched_getaffinity(0) == {cpu}
    assert os.sched_getaffinity(0) == before


def _aslr_can_be_turned_off() -> bool:
    setarch = shutil.which("setarch")
    if setarch is None or not sys.platform.startswith("linux"):
        return False
    done = subprocess.run([setarch, platform.machine(), "-R", "true"], check=False)
    return done.returncode == 0


@pytest.mark.skipif(not _aslr_can_be_turned_off(), reason="needs Linux that allows setarch -R")
def test_the_worker_launcher_turns_address_space_randomization_off() -> None:
    show = "print(open('/proc/self/personality').read())"
    done = subprocess.run(
        [sys.executable, "-c", NO_ASLR + show], capture_output=True, text=True, check=True
    )
    assert int(done.stdout, 16) & 0x0040000  # ADDR_NO_RANDOMIZE


def test_the_worker_launcher_becomes_pytest_with_the_arguments() -> None:
    done = subprocess.run(
        [*worker_command(["--version"]), "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "pytest" in done.stdout + done.stderr


def _measured(verdict: str, ratio: float) -> Measured:
    rounds = Rounds(calls=3, base_ns=[1000] * 40, head_ns=[round(1000 * ratio)] * 40)
    change = paired_change(rounds.base_ns, rounds.head_ns, against="HEAD", threshold=0.05)
    return Measured(rounds, change, verdict, None, ("first pair",))


@pytest.mark.parametrize(("verdict", "ratio"), [("regressed", 1.2), ("improved", 0.8)])
def test_a_change_a_fresh_pair_repeats_counts_with_both_pairs_rounds(
    verdict: str, ratio: float
) -> None:
    first, second = _measured(verdict, ratio), _measured(verdict, ratio)
    result = confirm(first, second, against="HEAD", threshold=0.05)
    assert (result.verdict, result.confirmed) == (verdict, True)
    assert result.rounds is not None
    assert result.rounds.n == 80
    assert result.messages == ("first pair", "confirmed by a fresh worker pair")


@pytest.mark.parametrize(
    ("verdict", "ratio", "what"), [("regressed", 1.2, "slowdown"), ("improved", 0.8, "speed-up")]
)
def test_a_change_a_fresh_pair_does_not_repeat_is_inconclusive(
    verdict: str, ratio: float, what: str
) -> None:
    first, second = _measured(verdict, ratio), _measured("unchanged", 1.0)
    result = confirm(first, second, against="HEAD", threshold=0.05)
    assert (result.verdict, result.confirmed) == ("inconclusive", False)
    assert result.change == first.change
    assert result.messages[-1] == f"a fresh worker pair did not confirm the {what} (unchanged)"


FROZEN_TESTS = """\
import pytest
from freezegun import freeze_time
import work

@pytest.fixture
def frozen():
    with freeze_time("2020-01-01"):
        yield

def test_perf(frozen, perf):
    assert perf(work.work) > 0

@pytest.mark.budget(p95=500)
def test_body(frozen):
    work.work()
"""


def _paired_with(
    pytester: pytest.Pytester, path: Path, tests: str, message: str
) -> pytest.RunResult:
    """``tests`` committed as the repository's test file, then run paired against HEAD
    (a subprocess; the report in ``report.json``)."""
    (path / "test_work.py").write_text(tests)
    _git(path, "commit", "-q", "-am", message)
    return pytester.runpytest_subprocess(
        "--perfbudget-against=HEAD", "--perfbudget-json=report.json", timeout=180
    )


BENCHMARKED = """\
import pytest
import work

@pytest.mark.budget(p95="100ms")
def test_benchmarked(benchmark):
    assert benchmark(work.work) > 0
"""


def test_a_pytest_benchmark_test_is_paired_with_pytest_benchmark_off_in_the_workers(
    pytester: pytest.Pytester, assert_clean: AssertClean
) -> None:
    """Each timed call ran pytest-benchmark's own measurement (a second by default)
    before the workers got ``--benchmark-disable``: over the budget."""
    pytest.importorskip("pytest_benchmark")
    path = _repo(pytester)
    result = _paired_with(pytester, path, BENCHMARKED, "a benchmark test")
    assert_clean(result)
    result.assert_outcomes(passed=1)
    (entry,) = json.loads((path / "report.json").read_text())["tests"]
    assert (entry["mode"], entry["change"]["mode"]) == ("perf", "paired")
    assert entry["stats"]["p95"] < 0.1


SET_UP_THEN_BENCHMARKED = """\
import time
import pytest
import work

@pytest.mark.budget(p95="1s")
def test_benchmarked(benchmark):
    time.sleep(0.05)  # what the test sets up: 50 ms a body
    assert CALL > 0
"""


@pytest.mark.parametrize(
    "call",
    [
        "benchmark(work.work)",
        "benchmark.pedantic(work.work, rounds=3)",
        "benchmark.pedantic(work.work, setup=lambda: time.sleep(0.01))",
    ],
    ids=["call", "pedantic", "pedantic-setup"],
)
def test_a_pytest_benchmark_test_is_paired_on_the_function_it_benchmarks(
    pytester: pytest.Pytester, assert_clean: AssertClean, call: str
) -> None:
    """``benchmark(fn)`` and ``pedantic`` are timed as ``perf(fn)`` is (with a setup,
    each call after it, untimed): work.work 3x slower, drowned in the body's 50 ms of
    setup, reads regressed."""
    pytest.importorskip("pytest_benchmark")
    path = _repo(pytester)
    (path / "test_work.py").write_text(SET_UP_THEN_BENCHMARKED.replace("CALL", call))
    _git(path, "commit", "-q", "-am", "a benchmark test that sets up first")
    _head(path, 3 * BASE_N)
    result = pytester.runpytest_subprocess(
        "--perfbudget-against=HEAD", "--perfbudget-json=report.json", timeout=180
    )
    assert_clean(result)
    result.assert_outcomes(failed=1)
    (entry,) = json.loads((path / "report.json").read_text())["tests"]
    assert (entry["mode"], entry["status"]) == ("perf", "regressed")
    assert entry["stats"]["p95"] < 0.01  # work.work's calls, not the body's 50 ms


def test_tests_under_a_freeze_are_paired_with_the_real_clock(
    pytester: pytest.Pytester, assert_clean: AssertClean
) -> None:
    """freezegun stops ``time.perf_counter`` while a fixture freezes time: read from
    it, the workers' warm-up and the rounds' time limit would never end.

    The verdicts do not fail the run: under ``-n 2`` a pair of identical revisions
    has read +24 % on this machine, and what is checked is that both tests are
    paired and timed."""
    pytest.importorskip("freezegun")
    path = _repo(pytester)
    with (path / "pyproject.toml").open("a") as config:
        config.write('fail_on = ["budget"]\n')
    result = _paired_with(pytester, path, FROZEN_TESTS, "frozen fixtures")
    assert_clean(result)
    result.assert_outcomes(passed=2)
    for entry in json.loads((path / "report.json").read_text())["tests"]:
        assert entry["change"]["mode"] == "paired"
        assert entry["stats"]["min"] > 0
