"""Taking pytest-benchmark's measurement again, on a stand-in for its fixture; the
subtests of a repeated test body, unreported, its caplog emptied, its syrupy
snapshot rewound and its finalizers run at each call's end; a
``unittest.TestCase`` test repeated."""

from __future__ import annotations

import io
import unittest
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_perfbudget.errors import RepetitionError
from pytest_perfbudget.integrations import (
    UNREPORTED_SUBTESTS,
    benchmark_again,
    benchmark_repeatable,
    caplog_emptied,
    finalized_each_call,
    snapshots_unrecorded,
    subtests_unreported,
    takes_request,
    unittest_body,
)


def _metadata(seconds: list[float], iterations: int = 1) -> SimpleNamespace:
    """What pytest-benchmark's ``Metadata`` holds that the plugin reads."""
    return SimpleNamespace(stats=SimpleNamespace(data=seconds), iterations=iterations)


class _Fixture:
    """pytest-benchmark's fixture as far as the plugin touches it: used once already."""

    def __init__(self) -> None:
        self.listed: list[Any] = []
        self.stats = _metadata([0.001] * 5)
        self._mode: str | None = "benchmark(...)"
        self._add_stats: Callable[[Any], None] = self.listed.append
        self.has_error = False

    def __call__(self, seconds: float) -> None:
        """One use, as ``benchmark(fn)``: it refuses a second, as pytest-benchmark does."""
        if self._mode:
            raise RuntimeError("Fixture can only be used once.")
        self._mode = "benchmark(...)"
        metadata = _metadata([seconds] * 3, iterations=2)
        self._add_stats(metadata)
        self.stats = metadata


def test_the_measurement_is_taken_again_and_the_fixture_left_as_it_was() -> None:
    fixture = _Fixture()
    first = fixture.stats
    again = benchmark_again(fixture, lambda: fixture(0.002))
    assert again is not None
    assert (again.n, again.iterations, again.mode) == (3, 2, "benchmark")
    assert list(again.seconds) == pytest.approx([0.002] * 3)
    assert fixture.stats is first
    assert fixture._mode == "benchmark(...)"
    assert fixture.listed == []  # pytest-benchmark's session lists the first only
    assert fixture._add_stats == fixture.listed.append


def test_a_body_that_does_not_use_the_fixture_gives_nothing() -> None:
    fixture = _Fixture()
    assert benchmark_again(fixture, lambda: None) is None


def test_a_body_that_raises_leaves_the_fixture_as_it_was() -> None:
    fixture = _Fixture()
    first = fixture.stats

    def body() -> None:
        fixture.has_error = True
        raise AssertionError("run again")

    with pytest.raises(AssertionError, match="run again"):
        benchmark_again(fixture, body)
    assert (fixture.stats, fixture._mode, fixture.has_error) == (first, "benchmark(...)", False)


def test_only_a_fixture_with_pytest_benchmark_s_state_is_repeatable() -> None:
    assert benchmark_repeatable(_Fixture())
    assert not benchmark_repeatable(SimpleNamespace(stats=None))


def _subtest_raising(exc: BaseException) -> None:
    with UNREPORTED_SUBTESTS.test("case", i=1):
        raise exc


@pytest.mark.parametrize(
    "exc",
    [pytest.skip.Exception("skipped"), pytest.xfail.Exception("xfailed"), unittest.SkipTest("no")],
)
def test_a_repeated_subtest_that_skips_or_xfails_itself_ends_there(exc: BaseException) -> None:
    _subtest_raising(exc)


@pytest.mark.parametrize(
    "exc", [AssertionError("failed"), pytest.fail.Exception("failed"), KeyboardInterrupt()]
)
def test_a_repeated_subtest_that_fails_fails_the_repetition(exc: BaseException) -> None:
    with pytest.raises(type(exc)):
        _subtest_raising(exc)


def test_each_call_swaps_the_test_s_current_subtests_fixture_and_puts_it_back() -> None:
    item = SimpleNamespace(funcargs={"subtests": "first", "other": 1})
    seen: list[object] = []
    body = subtests_unreported(item, lambda: seen.append(item.funcargs["subtests"]))
    body()
    assert item.funcargs == {"subtests": "first", "other": 1}
    item.funcargs = {"subtests": "fresh"}  # as setting the fixtures up afresh does
    body()
    assert seen == [UNREPORTED_SUBTESTS, UNREPORTED_SUBTESTS]
    assert item.funcargs == {"subtests": "fresh"}


def test_the_fixture_is_put_back_when_the_body_raises() -> None:
    item = SimpleNamespace(funcargs={"subtests": "real"})

    def body() -> None:
        raise AssertionError("failed")

    with pytest.raises(AssertionError):
        subtests_unreported(item, body)()
    assert item.funcargs == {"subtests": "real"}


class _Case(unittest.TestCase):
    __test__ = False  # run by the tests below, not collected
    calls: list[str]

    def __call__(self, result: Any = None) -> None:  # as Django's TestCase wraps each test
        self.calls.append("call")
        super().__call__(result)

    def setUp(self) -> None:
        if self._testMethodName == "test_setup_error":
            raise OSError("no database")

    def test_passes(self) -> None:
        self.calls.append("test")

    def test_setup_error(self) -> None:
        pass

    def test_skips(self) -> None:
        self.skipTest("not here")

    def test_subtests(self) -> None:
        for i in range(3):
            with self.subTest(i=i):
                if i:
                    raise ValueError(f"case {i}")


def _case(name: str) -> _Case:
    case = _Case(name)
    case.calls = []
    return case


def test_a_test_case_is_repeated_through_its_call() -> None:
    case = _case("test_passes")
    body = unittest_body(case)
    body()
    body()
    assert case.calls == ["call", "test", "call", "test"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("test_setup_error", "OSError: no database"),
        ("test_skips", "the test skipped itself: not here"),
        ("test_subtests", "ValueError: case 1"),  # the first that failed
    ],
)
def test_a_repetition_that_does_not_pass_says_why(name: str, message: str) -> None:
    with pytest.raises(RepetitionError) as caught:
        unittest_body(_case(name))()
    assert str(caught.value) == message


def test_each_call_starts_with_an_empty_caplog_and_puts_the_own_call_s_back() -> None:
    own_text = io.StringIO("own text")
    handler = SimpleNamespace(records=["own"], stream=own_text)
    item = SimpleNamespace(funcargs={"caplog": SimpleNamespace(handler=handler)})
    seen: list[tuple[object, str]] = []

    def body() -> None:
        handler.records.append("repeated")
        seen.append((list(handler.records), handler.stream.getvalue()))

    caplog_emptied(item, body)()
    assert seen == [(["repeated"], "")]
    assert (handler.records, handler.stream) == (["own"], own_text)


def test_a_caplog_fixture_that_is_not_pytest_s_is_left_alone() -> None:
    item = SimpleNamespace(funcargs={"caplog": "another plugin's"})
    assert caplog_emptied(item, lambda: "called")() == "called"


def test_each_call_starts_with_the_snapshot_s_count_of_assertions_at_zero() -> None:
    snapshot = SimpleNamespace(
        _executions=2, _execution_results={0: "a", 1: "b"}, _execution_name_index={0: 0}
    )
    item = SimpleNamespace(funcargs={"snapshot": snapshot})
    seen: list[int] = []

    def body() -> None:
        seen.append(snapshot._executions)
        snapshot._executions += 1

    call = snapshots_unrecorded(item, body)
    call()
    call()
    assert seen == [0, 0]
    assert vars(snapshot) == {
        "_executions": 2,
        "_execution_results": {0: "a", 1: "b"},
        "_execution_name_index": {0: 0},
    }


def test_a_snapshot_fixture_that_is_not_syrupy_s_is_left_alone() -> None:
    item = SimpleNamespace(funcargs={"snapshot": SimpleNamespace(_executions=1)})
    assert snapshots_unrecorded(item, lambda: "called")() == "called"
    assert item.funcargs["snapshot"]._executions == 1


class _Request:
    """The test's ``request`` fixture as far as the plugin touches it."""

    def __init__(self) -> None:
        self.kept: list[Callable[[], object]] = []

    def addfinalizer(self, finalizer: Callable[[], object]) -> None:
        self.kept.append(finalizer)


def test_a_call_s_finalizers_run_when_it_ends_last_first_even_when_it_raises() -> None:
    request = _Request()
    item = SimpleNamespace(funcargs={"request": request})
    ran: list[str] = []

    def body() -> None:
        request.addfinalizer(lambda: ran.append("first"))
        request.addfinalizer(lambda: ran.append("second"))
        ran.append("body")
        raise AssertionError("failed")

    with pytest.raises(AssertionError):
        finalized_each_call(item, body)()
    assert ran == ["body", "second", "first"]
    assert request.kept == []
    request.addfinalizer(print)  # the method is the fixture's own again
    assert request.kept == [print]


def test_a_failing_finalizer_fails_the_call() -> None:
    request = _Request()
    item = SimpleNamespace(funcargs={"request": request})
    body = finalized_each_call(item, lambda: request.addfinalizer(lambda: 1 / 0))
    with pytest.raises(ZeroDivisionError):
        body()
    assert "addfinalizer" not in vars(request)


def _asks(request: object, tmp_path: object) -> None:
    pass


def _holds(tmp_path: object) -> None:
    pass


@pytest.mark.parametrize(
    ("function", "expected"), [(_asks, True), (_holds, False), (None, False), (print, False)]
)
def test_only_a_test_that_asks_for_request_itself_has_its_finalizers_caught(
    function: object, expected: bool
) -> None:
    assert takes_request(SimpleNamespace(function=function)) is expected
