"""A budgeted test that does not use ``perf`` has its body repeated and timed."""

from __future__ import annotations

import json
import linecache
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_perfbudget.integrations import doctest_body

WritePyproject = Callable[..., Path]

#: Imports, and ``_tick(name)``, which appends a line to a file.
TICKING = """
import pathlib
import pytest

def _tick(name):
    with pathlib.Path(name).open("a") as stream:
        stream.write("x\\n")
"""

#: A budgeted test whose body and fixture each append a line to a file per run.
COUNTING_TEST = (
    TICKING
    + """
@pytest.fixture
def resource():
    _tick("setups.txt")
    yield
    _tick("teardowns.txt")

@pytest.mark.budget(p95=200)
def test_counted(resource):
    _tick("calls.txt")
"""
)


def _lines(pytester: pytest.Pytester, name: str) -> int:
    path = pytester.path / name
    return len(path.read_text().splitlines()) if path.exists() else 0


def _entry(pytester: pytest.Pytester) -> dict[str, Any]:
    """The one test of the run's ``--perfbudget-json=r.json`` report."""
    [entry] = json.loads((pytester.path / "r.json").read_text())["tests"]
    return entry


def test_the_body_of_a_budgeted_test_is_repeated(project: pytest.Pytester) -> None:
    project.makepyfile(COUNTING_TEST)
    project.runpytest().assert_outcomes(passed=1)
    assert _lines(project, "calls.txt") > 1


def test_function_fixtures_are_set_up_once_while_the_body_repeats(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(COUNTING_TEST)
    project.runpytest().assert_outcomes(passed=1)
    assert _lines(project, "setups.txt") == 1
    assert _lines(project, "teardowns.txt") == 1


def test_an_unbudgeted_test_runs_once(project: pytest.Pytester) -> None:
    project.makepyfile(COUNTING_TEST.replace("@pytest.mark.budget(p95=200)", ""))
    project.runpytest().assert_outcomes(passed=1)
    assert _lines(project, "calls.txt") == 1


def test_the_body_is_timed_and_reported_in_the_summary(project: pytest.Pytester) -> None:
    project.makepyfile(COUNTING_TEST)
    result = project.runpytest()
    result.stdout.fnmatch_lines(["*= perfbudget: 1 pass =*", "*::test_counted *pass*p95*200 ms*"])


def test_a_slow_body_over_budget_fails_with_over_budget_in_verbose_output(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        import time
        import pytest

        @pytest.mark.budget(p95="2ms")
        def test_slow():
            time.sleep(0.01)
        """
    )
    result = project.runpytest("-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*::test_slow OVER BUDGET*"])
    result.stdout.fnmatch_lines(["OVER BUDGET *::test_slow*"])


def test_a_slow_body_over_budget_shows_the_failure_letter(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import time
        import pytest

        @pytest.mark.budget(p95="2ms")
        def test_slow():
            time.sleep(0.01)

        def test_plain():
            pass
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["test_*.py F. *"])


def test_a_failing_body_is_a_normal_failure(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.budget(p95=200)
        def test_broken():
            assert [1, 2] == [1, 3]
        """
    )
    result = project.runpytest("-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*::test_broken FAILED*", "*AssertionError: assert [[]1, 2] == [[]1, 3]*"]
    )
    result.stdout.no_fnmatch_line("*OVER BUDGET*")


def test_a_skipped_budgeted_test_is_skipped_and_not_measured(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.budget(p95=200)
        def test_skipped():
            pytest.skip("not today")
        """
    )
    result = project.runpytest()
    result.assert_outcomes(skipped=1)
    result.stdout.no_fnmatch_line("*OVER BUDGET*")


@pytest.mark.parametrize("workers", ["0", "2"])
def test_an_expected_failure_counts_as_skipped_not_failed(
    project: pytest.Pytester, workers: str
) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.budget(p95=200)
        @pytest.mark.xfail(reason="known bug")
        def test_known_bug():
            assert False

        @pytest.mark.budget(p95=200)
        def test_fine():
            pass
        """
    )
    # pytest-benchmark 4.0 warns into this session when xdist runs in-process
    result = project.runpytest("--perfbudget-json=report.json", "-n", workers, "-p", "no:benchmark")
    result.assert_outcomes(passed=1, xfailed=1)
    result.stdout.fnmatch_lines(["*perfbudget: 1 pass, 1 skipped*"])
    result.stdout.no_fnmatch_line("*perfbudget:*failed*")
    report = json.loads((project.path / "report.json").read_text())
    known = next(test for test in report["tests"] if test["nodeid"].endswith("known_bug"))
    assert known["status"] == "skipped"
    assert "xfailed: known bug" in known["messages"]


def test_an_async_test_body_is_repeated_on_its_event_loop(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import asyncio
        import pathlib
        import pytest

        @pytest.mark.asyncio
        @pytest.mark.budget(p95=200)
        async def test_async():
            await asyncio.sleep(0)
            with pathlib.Path("calls.txt").open("a") as stream:
                stream.write("x\\n")
        """
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*::test_async *pass*"])
    assert _lines(project, "calls.txt") > 1


# -- unittest.TestCase --------------------------------------------------------------

UNITTEST_TEST = """
import pathlib
import time
import unittest

class TestLegacy(unittest.TestCase):
    def setUp(self):
        self.value = 21

    def test_fast(self):
        with pathlib.Path("calls.txt").open("a") as stream:
            stream.write("x\\n")
        self.assertEqual(self.value * 2, 42)

    def test_slow(self):
        time.sleep(0.01)

    def test_broken(self):
        self.assertEqual(self.value, 22)
"""


@pytest.fixture
def unittest_project(
    pytester: pytest.Pytester, write_pyproject: Callable[..., Path]
) -> pytest.Pytester:
    write_pyproject(budgets='"test_legacy.py::*" = { p95 = "2ms" }')
    pytester.makepyfile(test_legacy=UNITTEST_TEST)
    return pytester


def test_a_unittest_method_budgeted_by_a_pattern_is_timed(
    unittest_project: pytest.Pytester,
) -> None:
    result = unittest_project.runpytest("-k", "test_fast")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_legacy.py::TestLegacy::test_fast *pass*"])
    assert _lines(unittest_project, "calls.txt") > 1


def test_a_slow_unittest_method_fails_its_pattern_budget(
    unittest_project: pytest.Pytester,
) -> None:
    result = unittest_project.runpytest("-v", "-k", "test_slow")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*TestLegacy::test_slow OVER BUDGET*"])


def test_a_failing_unittest_method_is_reported_as_failed(
    unittest_project: pytest.Pytester,
) -> None:
    result = unittest_project.runpytest("-v", "-k", "test_broken")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*TestLegacy::test_broken FAILED*", "*AssertionError: 21 != 22*"])
    result.stdout.no_fnmatch_line("*OVER BUDGET*")


def test_a_unittest_method_is_repeated_through_its_test_case_s_call(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    # Django's TestCase runs each test in a transaction its __call__ rolls back: with
    # case.run() instead, every repetition's rows stayed (IntegrityError: UNIQUE ...)
    write_pyproject(budgets='"test_rows.py::*" = { p95 = "100ms" }')
    pytester.makepyfile(
        test_rows="""
        import unittest

        ROWS = []

        class Transactional(unittest.TestCase):
            def __call__(self, result=None):
                try:
                    return super().__call__(result)
                finally:
                    ROWS.clear()  # the rollback

        class TestRows(Transactional):
            def test_insert(self):
                ROWS.append(len(ROWS))
                self.assertEqual(ROWS, [0])
        """
    )
    result = pytester.runpytest("--perfbudget-json=r.json")
    result.assert_outcomes(passed=1)
    entry = _entry(pytester)
    assert entry["status"] == "pass"
    assert entry["stats"]["n"] > 10


def test_a_unittest_method_that_fails_when_repeated_says_what_it_raised(
    pytester: pytest.Pytester, write_pyproject: WritePyproject
) -> None:
    write_pyproject(budgets='"test_once.py::*" = { p95 = "100ms" }')
    pytester.makepyfile(
        test_once="""
        import unittest

        ASSERTS, SUBTESTS = [], []

        class TestOnce(unittest.TestCase):
            def test_assert(self):
                ASSERTS.append(1)
                assert len(ASSERTS) == 1

            def test_sub(self):
                SUBTESTS.append(1)
                for i in range(2):
                    with self.subTest(i=i):
                        self.assertLess(len(SUBTESTS), 3)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*::TestOnce::test_assert: the test passed, then failed when its body was run"
            " again to time it: AssertionError: assert 2 == 1",
            " +  where 2 = len(*",
            "*::TestOnce::test_sub: the test passed, then failed when its body was run"
            " again to time it: AssertionError: 3 not less than 3*",
        ]
    )


def test_the_context_variables_a_repetition_sets_are_gone_at_the_next(
    project: pytest.Pytester,
) -> None:
    # asgiref's Local makes a context variable each; left in the context, every
    # repetition made later tests that go through all of them slower
    project.makepyfile(
        """
        import contextvars
        import pytest

        BEFORE = []

        def test_counts_the_variables():
            BEFORE.append(len(contextvars.copy_context()))

        @pytest.mark.budget(p95=200)
        def test_sets_a_new_variable():
            contextvars.ContextVar("made at each call").set(1)

        def test_the_context_holds_the_one_of_its_own_call():
            assert len(contextvars.copy_context()) == BEFORE[0] + 1
        """
    )
    project.runpytest("-p", "no:asyncio").assert_outcomes(passed=3)


# -- doctests -------------------------------------------------------------------------

DOCTESTED = '''
def fast():
    """
    >>> import pathlib
    >>> with pathlib.Path("calls.txt").open("a") as stream:
    ...     print("x", file=stream)
    >>> value = fast()
    >>> value + answer
    63
    """
    return 21


def slow():
    """
    >>> import time
    >>> time.sleep(0.01)
    """
'''


def test_doctests_are_timed_each_run_on_the_globals_their_own_call_had(
    pytester: pytest.Pytester, write_pyproject: Callable[..., Path]
) -> None:
    # doctest empties a test's globals after each run: the module's names, the
    # names of doctest_namespace and those an example defines must be there again
    write_pyproject(budgets='"lib.py::*" = { p95 = "2ms" }')
    pytester.makepyfile(lib=DOCTESTED)
    pytester.makeconftest(
        "import pytest\n\n"
        "@pytest.fixture(autouse=True)\n"
        "def answer(doctest_namespace):\n"
        "    doctest_namespace['answer'] = 42\n"
    )
    result = pytester.runpytest("--doctest-modules", "-v", "lib.py")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*lib.py::lib.fast PASSED*", "*lib.py::lib.slow OVER BUDGET*"])
    assert _lines(pytester, "calls.txt") > 1


def test_a_doctest_s_repetitions_skip_linecache_s_check_of_every_file_it_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # doctest's debugger calls linecache.checkcache() at each run: one stat() of each
    # file the process read lines of, so a doctest's time grew with what ran before it
    checks: list[str | None] = []
    monkeypatch.setattr(linecache, "checkcache", lambda filename=None: checks.append(filename))
    run = lambda: linecache.checkcache()  # noqa: E731, PLW0108 - looked up at each call
    item = SimpleNamespace(dtest=SimpleNamespace(globs={}), runtest=run)
    body = doctest_body(item, {"name": 1})
    body()
    body()
    assert checks == []
    assert item.dtest.globs == {"name": 1}
    linecache.checkcache()
    assert checks == [None]  # the real one is back after each run


def test_a_body_that_fails_only_when_repeated_fails_with_a_clear_message(
    project: pytest.Pytester, assert_clean: Callable[[pytest.RunResult], None]
) -> None:
    project.makepyfile(
        """
        import pytest

        seen = []

        @pytest.mark.budget(p95=200)
        def test_once_only():
            assert not seen, "ran twice"
            seen.append(1)
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*perfbudget could not measure *::test_once_only: the test passed, then failed when"
            " its body was run again to time it: AssertionError: ran twice*",
            "*make the body repeatable, or time a repeatable part of it with the perf fixture.",
        ]
    )
    result.stdout.no_fnmatch_line("*= false*")
    assert_clean(result)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("if seen: pytest.fail('ran twice')", "Failed: ran twice"),
        ("if seen: pytest.skip('ran twice')", "Skipped: ran twice"),
        ("if seen: pytest.xfail('ran twice')", "XFailed: ran twice"),
        ("with pytest.warns(UserWarning): warn_once()", "Failed: DID NOT WARN.*"),
        ("if seen: sys.exit(1)", "SystemExit: 1"),  # as pytest fails a test that exits
    ],
)
def test_a_body_that_fails_by_a_pytest_outcome_when_repeated_gets_the_same_message(
    project: pytest.Pytester,
    assert_clean: Callable[[pytest.RunResult], None],
    body: str,
    message: str,
) -> None:
    """pytest.fail(), pytest.warns(), sys.exit() and the like raise a BaseException, not
    an Exception."""
    project.makepyfile(
        f"""
        import functools
        import sys
        import warnings
        import pytest

        seen = []

        @functools.cache
        def warn_once():
            warnings.warn("first call only")

        @pytest.mark.budget(p95=200)
        def test_once_only():
            {body}
            seen.append(1)
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*perfbudget could not measure *::test_once_only: the test passed, then failed when"
            f" its body was run again to time it: {message}"
        ]
    )
    assert_clean(result)


def test_warnings_of_the_repeated_calls_are_not_listed(
    project: pytest.Pytester, assert_clean: Callable[[pytest.RunResult], None]
) -> None:
    project.makepyfile(
        """
        import warnings
        import pytest

        @pytest.mark.budget(p95=200)
        def test_deprecated():
            warnings.warn("old API", DeprecationWarning)

        @pytest.mark.budget(p95="1us")  # fails: its failure profiles one more call
        def test_deprecated_and_over_budget():
            warnings.warn("old API", DeprecationWarning)
            sum(range(1000))
        """
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1, warnings=2)
    result.stdout.fnmatch_lines(["*DeprecationWarning: old API*"])
    assert_clean(result)


def test_a_pattern_budgeted_body_that_fails_when_repeated_names_the_way_to_unbudget_it(
    pytester: pytest.Pytester,
    write_pyproject: WritePyproject,
    assert_clean: Callable[[pytest.RunResult], None],
) -> None:
    write_pyproject(budgets='"*" = { p95 = 200 }')
    pytester.makepyfile(
        """
        import unittest

        class TestCounter(unittest.TestCase):
            runs = 0

            def test_once_only(self):
                TestCounter.runs += 1
                self.assertEqual(TestCounter.runs, 1)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*run again to time it: AssertionError: 2 != 1",
            '*or leave it unbudgeted: "test_*.py::TestCounter::test_once_only" = false'
            " under [[]tool.perfbudget.budgets[]].",
        ]
    )
    assert_clean(result)


# -- bodies that change their fixtures ------------------------------------------------------

#: A test that adds to what its fixture holds, as one that adds a route to a web app
#: fixture does: its body fails on the same fixture a second time.
REGISTERING_TEST = (
    TICKING
    + """
@pytest.fixture
def registry():
    _tick("setups.txt")
    yield set()
    _tick("teardowns.txt")

@pytest.mark.budget(p95=200)
def test_registers(registry, tmp_path):
    assert "route" not in registry
    registry.add("route")
    (tmp_path / "made").touch(exist_ok=False)  # a fresh tmp_path each call, too
"""
)


def test_a_body_that_changes_its_fixtures_is_timed_on_fixtures_set_up_afresh(
    project: pytest.Pytester,
    assert_clean: Callable[[pytest.RunResult], None],
    write_pyproject: WritePyproject,
) -> None:
    project.makepyfile(REGISTERING_TEST)
    result = project.runpytest("--perfbudget-json=report.json", "--perfbudget-save")
    result.assert_outcomes(passed=1)
    assert_clean(result)
    setups, teardowns = _lines(project, "setups.txt"), _lines(project, "teardowns.txt")
    assert setups == teardowns > 5  # each torn down, the last by pytest
    (test,) = json.loads((project.path / "report.json").read_text())["tests"]
    assert test["status"] == "pass"
    assert any(
        message.startswith("its body failed when repeated on the same fixtures (AssertionError: ")
        and "set up afresh" in message
        for message in test["messages"]
    )
    baseline = json.loads((project.path / ".perfbudget/baseline.json").read_text())
    (entry,) = baseline["tests"].values()
    assert entry["history"][-1]["mode"] == "fresh"
    # compared with its own kind of samples; the verdict itself is a real timing
    # against a one-run baseline (it has read +12 % against +10 % allowed), so it
    # does not fail the run
    write_pyproject('max_time = "0.2s"\nfail_on = ["budget"]')
    project.runpytest("--perfbudget-json=gate.json").assert_outcomes(passed=1)
    (test,) = json.loads((project.path / "gate.json").read_text())["tests"]
    assert test["status"] in {"unchanged", "improved", "inconclusive", "regressed"}
    assert test["change"]["ratio"] > 0


def test_setup_show_lists_a_fresh_fixture_test_s_own_set_up_and_the_last_teardown(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(REGISTERING_TEST)
    result = project.runpytest("--setup-show")
    result.assert_outcomes(passed=1)
    assert _lines(project, "setups.txt") > 5  # set up afresh for the timed calls
    shown = [line.split()[:3] for line in result.outlines if line.strip().endswith(" registry")]
    assert shown == [["SETUP", "F", "registry"], ["TEARDOWN", "F", "registry"]]


def test_an_over_budget_body_on_fresh_fixtures_is_profiled_on_fresh_ones(
    project: pytest.Pytester, assert_clean: Callable[[pytest.RunResult], None]
) -> None:
    project.makepyfile(REGISTERING_TEST.replace("p95=200", 'p95="1us"'))
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*hotspots (one profiled call, by own time):*"])
    result.stdout.no_fnmatch_line("*profiling failed*")
    assert_clean(result)
    assert _lines(project, "setups.txt") == _lines(project, "teardowns.txt")


def test_a_baseline_of_the_body_on_one_fixture_is_not_compared_with_fresh_fixtures(
    project: pytest.Pytester,
) -> None:
    repeatable = REGISTERING_TEST.replace('assert "route" not in registry', "pass")
    project.makepyfile(repeatable.replace("exist_ok=False", "exist_ok=True"))
    project.runpytest("--perfbudget-save").assert_outcomes(passed=1)
    project.makepyfile(REGISTERING_TEST)
    project.runpytest("--perfbudget-json=report.json").assert_outcomes(passed=1)
    (test,) = json.loads((project.path / "report.json").read_text())["tests"]
    assert test["status"] == "new"
    assert any(
        "the baseline holds the timed test body, and this run timed the test body on "
        "fixtures set up afresh for each call" in message
        for message in test["messages"]
    )


def test_a_baseline_of_the_body_is_not_compared_with_perf_s_calls(
    project: pytest.Pytester,
) -> None:
    """The body timed, then the function it calls: another measurement (an entry a
    served ``benchmark.pedantic(fn, setup=…)`` took as a body read -68 % against its
    function, ``improved``, before the two were told apart)."""
    body = """
        import time
        import pytest

        @pytest.mark.budget(p95="1s")
        def test_it({args}):
            time.sleep(0.002)
            {call}
        """
    project.makepyfile(body.format(args="", call="sum(range(10))"))
    project.runpytest("--perfbudget-save").assert_outcomes(passed=1)
    project.makepyfile(body.format(args="perf", call="perf(sum, range(10))"))
    project.runpytest("--perfbudget-json=report.json").assert_outcomes(passed=1)
    (test,) = json.loads((project.path / "report.json").read_text())["tests"]
    assert (test["mode"], test["status"]) == ("perf", "new")
    assert any(
        "the baseline holds the timed test body, and this run perf(fn)'s samples" in message
        for message in test["messages"]
    )


def test_a_body_that_fails_on_fresh_fixtures_too_says_both(
    project: pytest.Pytester, assert_clean: Callable[[pytest.RunResult], None]
) -> None:
    project.makepyfile(
        """
        import pytest

        seen = []

        @pytest.fixture
        def resource():
            return object()

        @pytest.mark.budget(p95=200)
        def test_once_only(resource):
            assert not seen, "ran twice"
            seen.append(1)
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*run again to time it: AssertionError: ran twice",
            "*; and with its fixtures set up afresh for each call: AssertionError: ran twice",
        ]
    )
    assert_clean(result)


def test_a_fixture_teardown_that_fails_between_calls_is_named(
    project: pytest.Pytester, assert_clean: Callable[[pytest.RunResult], None]
) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.fixture
        def resource():
            holder = []
            yield holder
            assert len(holder) == 1, "torn down after more than one call"

        @pytest.mark.budget(p95=200)
        def test_fills(resource):
            assert not resource
            resource.append(1)
            resource.append(2)
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)  # its own fixtures were torn down, and failed, in the call
    result.stdout.fnmatch_lines(
        [
            "*; and with its fixtures set up afresh for each call: a fixture's teardown raised "
            "AssertionError: torn down after more than one call*",
        ]
    )
    assert_clean(result)


def test_a_file_a_failed_repetition_left_open_does_not_fail_the_next_test(
    project: pytest.Pytester,
) -> None:
    """Its ResourceWarning is an error under ``-W error``, which Python reports as an
    unraisable exception where the file is freed; pytest would make it the next test's."""
    project.makepyfile(
        """
        import gc
        import pytest

        seen = []

        @pytest.mark.budget(p95=200)
        def test_leaves_a_file_open_when_repeated():
            stream = open(__file__)
            assert not seen
            seen.append(1)
            stream.close()

        def test_next():
            gc.collect()
        """
    )
    result = project.runpytest("-W", "error")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["FAILED *::test_leaves_a_file_open_when_repeated"])
    result.stdout.no_fnmatch_line("*Unraisable*")


# -- xfail ----------------------------------------------------------------------------------


def _xfail_over_budget(pytester: pytest.Pytester, strict: bool) -> pytest.RunResult:
    pytester.makepyfile(
        f"""
        import time
        import pytest

        @pytest.mark.xfail(reason="known to be slow", strict={strict})
        @pytest.mark.budget(p95="2ms")
        def test_known_slow():
            time.sleep(0.01)
        """
    )
    return pytester.runpytest("-rxX")


def test_an_xfail_test_whose_body_fails_is_xfailed(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.xfail(reason="known bug")
        @pytest.mark.budget(p95=200)
        def test_known_bug():
            assert False
        """
    )
    project.runpytest().assert_outcomes(xfailed=1)


def test_an_xfail_test_over_budget_is_an_expected_failure(project: pytest.Pytester) -> None:
    _xfail_over_budget(project, strict=False).assert_outcomes(xfailed=1)


def test_a_strict_xfail_test_over_budget_is_an_expected_failure(project: pytest.Pytester) -> None:
    _xfail_over_budget(project, strict=True).assert_outcomes(xfailed=1)


# -- output -----------------------------------------------------------------------------

#: A budgeted test that writes a line each way a test can: print, sys.stderr, fd 1.
PRINTING_TEST = """
import os
import sys
import pytest

@pytest.mark.budget(p95=200)
def test_prints():
    print("via-print")
    sys.stderr.write("via-stderr\\n")
    os.write(1, b"via-fd\\n")
"""


def _count(result: pytest.RunResult, text: str) -> int:
    return sum(line.count(text) for line in result.outlines + result.errlines)


@pytest.mark.parametrize("capture", ["fd", "sys", "tee-sys"])
@pytest.mark.parametrize(("args", "times"), [((), 0), (("-rP",), 1)])
def test_only_the_test_s_own_call_output_is_captured_and_shown(
    project: pytest.Pytester, args: tuple[str, ...], times: int, capture: str
) -> None:
    # -rP shows the captured output of passing tests: the test's own call, once.
    project.makepyfile(PRINTING_TEST)
    result = project.runpytest_subprocess(f"--capture={capture}", *args)
    result.assert_outcomes(passed=1)
    shown = capture == "tee-sys"  # the own call's print and sys.stderr, as it runs
    assert _count(result, "via-print") == _count(result, "via-stderr") == times + shown
    # only fd capture holds what is written to file descriptor 1
    assert _count(result, "via-fd") == (times if capture == "fd" else 1)


def test_under_dash_s_every_repeated_call_prints(project: pytest.Pytester) -> None:
    project.makepyfile(PRINTING_TEST)
    result = project.runpytest_subprocess("-s")
    result.assert_outcomes(passed=1)
    assert _count(result, "via-print") > 1


@pytest.mark.parametrize("capture", ["fd", "sys"])
def test_the_repeated_calls_see_the_streams_the_test_s_own_call_saw(
    project: pytest.Pytester, capture: str
) -> None:
    # structlog's loggers pickle only when their file is sys.stdout or sys.stderr
    project.makepyfile(
        """
        import sys
        import pytest

        streams = []

        @pytest.mark.budget(p95=200)
        def test_same_streams():
            streams.append((sys.stdout, sys.stderr))
            assert streams[-1][0] is streams[0][0] and streams[-1][1] is streams[0][1]
            print("own-call")

        def test_repeated():
            assert len(streams) > 1
        """
    )
    result = project.runpytest_subprocess(f"--capture={capture}", "-rP")
    result.assert_outcomes(passed=2)
    assert _count(result, "own-call") == 1


@pytest.mark.parametrize("fixture", ["capsys", "capfd"])
def test_a_timed_body_that_reads_its_output_passes(project: pytest.Pytester, fixture: str) -> None:
    project.makepyfile(
        f"""
        import pytest

        @pytest.mark.budget(p95=200)
        def test_reads_output({fixture}):
            print("hello")
            assert {fixture}.readouterr().out == "hello\\n"
        """
    )
    result = project.runpytest_subprocess("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_reads_output*PASSED*"])


def test_a_test_that_replaces_sys_modules_is_timed(project: pytest.Pytester) -> None:
    # structlog's test of its process name without multiprocessing; the first budgeted
    # test of a session, before the plugin has imported what judging needs
    project.makepyfile(
        """
        import sys
        import pytest

        @pytest.fixture
        def no_modules(monkeypatch):
            monkeypatch.setattr(sys, "modules", {})

        @pytest.mark.budget(p95=200)
        def test_with_a_fixture(no_modules):
            assert "os" not in sys.modules

        @pytest.mark.budget(p95=200)
        def test_in_its_body(monkeypatch):
            monkeypatch.setattr(sys, "modules", {})
            assert "os" not in sys.modules
        """
    )
    project.runpytest_subprocess("-W", "error").assert_outcomes(passed=2)
    project.runpytest_subprocess("-W", "error", "-k", "body").assert_outcomes(passed=1)


def test_every_frame_a_repeated_call_runs_under_names_its_module_and_file(
    project: pytest.Pytester,
) -> None:
    # Code that walks up the stack, as logging libraries do to find their caller. For a
    # frame of code with no file, inspect.stack() goes through every loaded module.
    project.makepyfile(
        """
        import os
        import sys
        import pytest

        @pytest.mark.budget(p95=200)
        def test_walks_the_stack():
            frame = sys._getframe()
            while frame is not None:
                assert isinstance(frame.f_globals["__name__"], str), frame.f_code
                if frame.f_globals["__name__"].startswith("pytest_perfbudget"):
                    assert os.path.isfile(frame.f_code.co_filename), frame.f_code
                frame = frame.f_back
        """
    )
    project.runpytest_subprocess().assert_outcomes(passed=1)


def test_an_error_of_the_plugin_while_timing_a_body_is_not_blamed_on_the_body(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(
        """
        import pytest_perfbudget.stats

        def broken(seconds):
            raise RuntimeError("broken summary")

        pytest_perfbudget.stats.summarize = broken
        """
    )
    project.makepyfile(
        """
        import pytest

        @pytest.mark.budget(p95=200)
        def test_fine():
            pass
        """
    )
    result = project.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*could not measure *test_fine: RuntimeError: broken summary"])
    result.stdout.no_fnmatch_line("*run again*")


# -- subtests (pytest 9's subtests fixture) ---------------------------------------------

needs_subtests = pytest.mark.skipif(
    not hasattr(pytest, "Subtests"), reason="pytest's subtests fixture is new in pytest 9"
)

#: A budgeted test with three subtests: case ``i`` of call ``calls`` fails when ``fails``
#: is true of them, and each skips itself when ``skip`` is.
SUBTESTS_TEST = (
    TICKING
    + """
@pytest.mark.budget(p95=200)
def test_cases(subtests):
    _tick("calls.txt")
    calls = len(pathlib.Path("calls.txt").read_text().splitlines())
    for i in range(3):
        with subtests.test(msg="case", i=i):
            if {skip}:
                pytest.skip("not here")
            if {fails}:
                raise AssertionError(f"case {{i}} of call {{calls}}")
"""
)


def _subtests_test(pytester: pytest.Pytester, fails: str = "False", skip: str = "False") -> None:
    pytester.makepyfile(SUBTESTS_TEST.format(fails=fails, skip=skip))


@needs_subtests
def test_the_subtests_of_a_repeated_body_are_reported_once(
    project: pytest.Pytester, assert_clean: Callable[[pytest.RunResult], None]
) -> None:
    _subtests_test(project)
    result = project.runpytest("-v", "--perfbudget-json=r.json")
    assert_clean(result)
    assert _lines(project, "calls.txt") > 10
    assert [line for line in result.outlines if "SUBPASSED" in line] == [
        f"test_the_subtests_of_a_repeated_body_are_reported_once.py::test_cases"
        f" SUBPASSED[case] (i={i}) [100%]"
        for i in range(3)
    ]
    result.stdout.fnmatch_lines(["*= 1 passed, 3 subtests passed in *"])
    entry = _entry(project)
    assert entry["status"] == "pass"


@needs_subtests
def test_a_test_with_a_failed_subtest_has_failed_and_is_not_timed(
    project: pytest.Pytester, assert_clean: Callable[[pytest.RunResult], None]
) -> None:
    _subtests_test(project, fails="i == 1")
    result = project.runpytest("--perfbudget-json=r.json")
    assert_clean(result)
    assert _lines(project, "calls.txt") == 1
    result.stdout.fnmatch_lines(
        [
            "E * AssertionError: case 1 of call 1",
            "contains 1 failed subtest",
            "*::test_cases  failed *",
            "SUBFAILED?case? (i=1) *::test_cases",  # fnmatch reads [case] as a class
            "FAILED *::test_cases",
            "*= 2 failed in *",
        ]
    )
    entry = _entry(project)
    assert entry["status"] == "failed"


@needs_subtests
def test_a_subtest_that_fails_only_when_repeated_fails_the_test_with_the_usual_message(
    project: pytest.Pytester, assert_clean: Callable[[pytest.RunResult], None]
) -> None:
    _subtests_test(project, fails="i == 2 and calls > 1")
    result = project.runpytest()
    assert_clean(result)
    result.stdout.fnmatch_lines(
        [
            "*perfbudget could not measure *::test_cases: the test passed, then failed when its"
            " body was run again to time it: AssertionError: case 2 of call 2; and with its"
            " fixtures set up afresh for each call: AssertionError: case 2 of call 3",
            "*= 1 failed in *",
        ]
    )
    result.stdout.no_fnmatch_line("*SUBFAILED*")


@needs_subtests
def test_subtests_that_skip_themselves_in_every_call_leave_the_test_timed(
    project: pytest.Pytester, assert_clean: Callable[[pytest.RunResult], None]
) -> None:
    _subtests_test(project, skip="True")
    result = project.runpytest("-v")
    assert_clean(result)
    assert _lines(project, "calls.txt") > 10
    assert sum("SUBSKIPPED" in line for line in result.outlines) == 3
    result.stdout.fnmatch_lines(["*::test_cases *pass*"])


# -- logging ------------------------------------------------------------------------

#: Budgeted tests that log one line each call; one reads it with caplog.
LOGGING_TEST = """
import logging
import time

import pytest

log = logging.getLogger("app")

@pytest.mark.budget(p95=200)
def test_reads_its_log(caplog):
    log.warning("one line")
    assert [record.message for record in caplog.records] == ["one line"]
    assert caplog.text.count("one line") == 1

@pytest.mark.budget(p95=2)
def test_logs_over_budget():
    log.warning("slow line")
    time.sleep(0.01)
"""


def test_a_test_that_reads_caplog_sees_its_own_call_s_records_in_each_repetition(
    project: pytest.Pytester, assert_clean: Callable[[pytest.RunResult], None]
) -> None:
    project.makepyfile(LOGGING_TEST)
    result = project.runpytest("-k", "reads_its_log", "--perfbudget-json=r.json")
    assert_clean(result)
    result.assert_outcomes(passed=1)
    entry = _entry(project)
    assert (entry["status"], entry["mode"]) == ("pass", "body")
    assert entry["stats"]["n"] > 10


@pytest.mark.parametrize("workers", ["0", "2"])
def test_pytest_s_log_capture_live_logs_and_log_file_hold_the_test_s_own_call_only(
    project: pytest.Pytester, workers: str
) -> None:
    project.makepyfile(LOGGING_TEST)
    result = project.runpytest(  # no:benchmark: see the expected-failure test above
        "-n", workers, "-rA", "-o", "log_cli=true", "--log-file=run.log", "-p", "no:benchmark"
    )
    result.assert_outcomes(passed=1, failed=1)
    for line in ("one line", "slow line"):
        in_output = [text for text in result.outlines if line in text]
        # serial: live, and in the report's "Captured log call"; under xdist only the report
        assert len(in_output) == (2 if workers == "0" else 1), in_output
        if workers == "0":  # xdist's workers each write the file anew
            assert (project.path / "run.log").read_text().count(line) == 1


# -- syrupy snapshots ---------------------------------------------------------------------

SNAPSHOT_TEST = """
import pytest

@pytest.mark.budget(p95=200)
def test_two_snapshots(snapshot):
    assert {"a": [1, 2]} == snapshot
    assert "second" == snapshot
"""


@pytest.mark.parametrize("update", [True, False])
def test_a_syrupy_test_is_repeated_against_its_own_snapshots(
    project: pytest.Pytester, assert_clean: Callable[[pytest.RunResult], None], update: bool
) -> None:
    pytest.importorskip("syrupy")  # not in the test extra: see RESULTS.md, syrupy section
    project.makepyfile(SNAPSHOT_TEST)
    if not update:  # snapshots saved without the plugin
        project.runpytest("-p", "no:perfbudget", "--snapshot-update").assert_outcomes(passed=1)
    result = project.runpytest(
        "--perfbudget-json=r.json", *(["--snapshot-update"] if update else [])
    )
    assert_clean(result)
    result.assert_outcomes(passed=1)
    # a repetition's assertions were the test's snapshots .2, .3 ...: 109 of them
    # written under --snapshot-update, and a failure in syrupy's count in a gate
    result.stdout.fnmatch_lines([f"2 snapshots {'generated' if update else 'passed'}."])
    [saved] = (project.path / "__snapshots__").iterdir()
    assert saved.read_text().count("# name:") == 2
    entry = _entry(project)
    assert (entry["status"], entry["mode"]) == ("pass", "body")


# -- request.addfinalizer -------------------------------------------------------------------

FINALIZING_TEST = """
import os
import tempfile

import pytest

@pytest.fixture
def registry():
    names = []
    yield names
    names.clear()

@pytest.mark.budget(p95=200)
def test_cleans_up(request, tmp_path):
    handle, path = tempfile.mkstemp(dir=tmp_path)
    request.addfinalizer(lambda: (os.close(handle), os.remove(path)))
    assert len(os.listdir(tmp_path)) <= 2  # the own call's file, and this call's

@pytest.mark.budget(p95=200)
def test_asks_for_a_fixture(request):
    names = request.getfixturevalue("registry")
    names.append("x")
    request.addfinalizer(lambda: names.remove("x"))
    assert names.count("x") <= 2

def test_ran_after():
    pass
"""


def test_a_test_s_own_finalizers_run_when_each_repeated_call_ends(
    project: pytest.Pytester, assert_clean: Callable[[pytest.RunResult], None]
) -> None:
    """What each repeated call of a body adds with ``request.addfinalizer`` is undone
    when the call ends: the finalizers all ran at the test's teardown, so the files
    piled up, and the test, failing when repeated, was timed on fixtures set up
    afresh. A fixture the body asks for stays set up, as for the test's own call."""
    project.makepyfile(FINALIZING_TEST)
    result = project.runpytest("--perfbudget-json=r.json")
    assert_clean(result)
    result.assert_outcomes(passed=3)
    entries = json.loads((project.path / "r.json").read_text())["tests"]
    assert [(e["status"], e["mode"]) for e in entries] == [("pass", "body")] * 2
    assert all(entry["stats"]["n"] > 10 for entry in entries)


def test_a_first_timed_call_held_up_past_max_time_starts_sampling_over(
    project: pytest.Pytester,
) -> None:
    # The test's own call is fast; the first timed repetition is held up far past
    # max_time (a stand-in for a collection of a large heap): the run samples for
    # max_time after it, as if that call had not used it up. Under coverage an
    # untimed call runs traced first; the tracer is paused for the timed ones.
    project.makepyfile(
        """
        import sys
        import time
        import pytest

        CALLS = []
        HELD = []

        @pytest.mark.budget(p95="10s", max_time="10ms")
        def test_held_up():
            CALLS.append(None)
            if len(CALLS) > 1 and not HELD and sys.gettrace() is None:
                HELD.append(None)
                time.sleep(0.2)
        """
    )
    project.runpytest("--perfbudget-json=r.json").assert_outcomes(passed=1)
    stats = _entry(project)["stats"]
    assert stats["n"] > 10
    assert stats["min"] < 0.1 < stats["max"]
