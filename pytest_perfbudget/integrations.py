"""Plain-value adapters for other plugins' objects (duck-typed: no imports of them)."""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import io
import linecache
import unittest
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

import pytest

from pytest_perfbudget.errors import RepetitionError
from pytest_perfbudget.model import Measurement

__all__ = [
    "BENCHMARK_FALLBACK",
    "BENCHMARK_SERVED",
    "HYPOTHESIS_NOTE",
    "PedanticRounds",
    "RepetitionError",
    "benchmark_again",
    "benchmark_body",
    "benchmark_measurement",
    "benchmark_repeatable",
    "caplog_emptied",
    "caplog_handler",
    "doctest_body",
    "finalized_each_call",
    "fresh_fixtures_note",
    "is_hypothesis_test",
    "isolated",
    "snapshots_unrecorded",
    "subtests_unreported",
    "takes_request",
    "tracer_unpaused",
    "unittest_body",
]

BENCHMARK_FALLBACK = (
    "pytest-benchmark did not measure this test (it is disabled here, e.g. under xdist or "
    "--benchmark-disable, or another plugin replaced its fixture); perfbudget timed the test "
    "body itself"
)

BENCHMARK_SERVED = (
    "pytest-benchmark is disabled here (under xdist or --benchmark-disable); perfbudget "
    "timed the function the test gave benchmark() as perf(fn) does"
)


def fresh_fixtures_note(failure: str | None = None) -> str:
    """The message of a body timed on fixtures set up afresh before each call, with
    the first line of what a call on the same fixtures raised, when known."""
    why = ""
    if failure:
        line = failure.strip().splitlines()[0]
        why = f" ({line[:157]}...)" if len(line) > 160 else f" ({line})"
    return (
        f"its body failed when repeated on the same fixtures{why}, so each call was timed "
        "with the test's function-scoped fixtures set up afresh before it (untimed)"
    )


HYPOTHESIS_NOTE = (
    "a Hypothesis @given test: each sample is one call, with every example Hypothesis draws "
    "and its own work around them; to budget the code under test, time a fixed input with "
    "the perf fixture, or each example with perf.sample()"
)


def is_hypothesis_test(function: object) -> bool:
    """True for a test function decorated with Hypothesis's ``@given`` (which marks it
    ``is_hypothesis_test``; a bound method reads its function's attribute)."""
    return getattr(function, "is_hypothesis_test", False) is True


def benchmark_measurement(fixture: Any) -> Measurement | None:
    """pytest-benchmark's own samples of a ``benchmark`` fixture, or None if it measured nothing.

    Its ``stats.stats.data`` holds per-call seconds, one per round of
    ``stats.iterations`` calls.
    """
    return _benchmark_samples(getattr(fixture, "stats", None))


def _benchmark_samples(metadata: Any) -> Measurement | None:
    """The samples of one pytest-benchmark measurement (its ``Metadata``), if any."""
    data = getattr(getattr(metadata, "stats", None), "data", None)
    if not data:
        return None
    iterations = max(1, int(getattr(metadata, "iterations", 1) or 1))
    return Measurement(
        sample_ns=tuple(round(seconds * iterations * 1e9) for seconds in data),
        iterations=iterations,
        timer="wall",
        mode="benchmark",
        elapsed=float(sum(data)) * iterations,
    )


def benchmark_body(fixture: Any, body: Callable[[], object]) -> Callable[[], object]:
    """``body`` made repeatable although it uses a ``benchmark`` fixture that measured nothing.

    A disabled pytest-benchmark fixture still allows one use per test and raises
    ``FixtureAlreadyUsed`` on the next; it keeps that state in ``_mode`` (it has no
    public reset), so each timed repetition of the body starts from an unused fixture.
    """

    def call() -> object:
        if getattr(fixture, "_mode", None) is not None:
            fixture._mode = None
        return body()

    return call


#: What a pytest-benchmark fixture keeps of its one use; :func:`benchmark_again` puts
#: them back after the measurement it takes.
_BENCHMARK_STATE = ("stats", "_mode", "_add_stats", "has_error")


class PedanticRounds:
    """The calls of pytest-benchmark's ``pedantic(target, args, kwargs, setup=…,
    teardown=…)``, for perfbudget to time (``perf``'s engine, with :meth:`setup` run
    untimed before every call): each call after its own ``setup()``, which may
    return the call's ``(args, kwargs)``, and ``teardown(*args, **kwargs)`` after it,
    untimed, run here when the next call is set up, and by :meth:`close` after the
    last. pytest-benchmark's own checks of these arguments apply."""

    def __init__(
        self,
        target: Callable[..., object],
        args: Sequence[Any],
        kwargs: dict[str, Any] | None,
        *,
        setup: Callable[[], Any] | None,
        teardown: Callable[..., object] | None,
        iterations: object = 1,
    ) -> None:
        if setup is not None and isinstance(iterations, int) and iterations > 1:
            raise ValueError("Can't use more than 1 `iterations` with a `setup` function.")
        self._target, self._setup, self._teardown = target, setup, teardown
        self._given = (tuple(args), dict(kwargs or {}))
        self._args, self._kwargs = self._given
        self._pending = False

    def setup(self) -> None:
        """The last call's teardown, then the next call's setup (both untimed)."""
        self.close()
        args, kwargs = self._given
        made = self._setup() if self._setup is not None else None
        if made:
            if args or kwargs:
                raise TypeError("Can't use `args` or `kwargs` if `setup` returns the arguments.")
            args, kwargs = made
        self._args, self._kwargs, self._pending = args, kwargs, True

    def __call__(self) -> object:
        return self._target(*self._args, **self._kwargs)

    def close(self) -> None:
        """Tear the last call down, if it has not been."""
        if self._pending:
            self._pending = False
            if self._teardown is not None:
                self._teardown(*self._args, **self._kwargs)


def benchmark_repeatable(fixture: Any) -> bool:
    """Whether :func:`benchmark_again` can take ``fixture``'s measurement again: it
    holds the state pytest-benchmark's fixture keeps (another plugin's may not)."""
    return all(hasattr(fixture, name) for name in _BENCHMARK_STATE)


def benchmark_again(fixture: Any, body: Callable[[], object]) -> Measurement | None:
    """pytest-benchmark's measurement taken once more, by running the test ``body``
    again with its ``benchmark`` fixture ready for another use; None when the body
    did not use the fixture (see :func:`benchmark_repeatable` for which fixtures).

    The fixture's state is put back afterwards, so pytest-benchmark's own table and
    files show the test's own measurement, once; the body's exceptions propagate.
    """
    kept = {name: getattr(fixture, name) for name in _BENCHMARK_STATE}
    fixture._mode = None
    fixture._add_stats = lambda stats: None  # not listed in pytest-benchmark's session
    try:
        body()
        taken = fixture.stats
    finally:
        for name, value in kept.items():
            setattr(fixture, name, value)
    return None if taken is kept["stats"] else _benchmark_samples(taken)


def isolated(body: Callable[[], object]) -> Callable[[], object]:
    """``body`` run in a copy of the current context at each call, so that the context
    variables one repetition sets are gone at the next: a test that sets a new one at
    each call (each ``asgiref.local.Local`` makes one) otherwise grows the context
    with every repetition, and code that goes through every variable of it
    (asgiref's ``sync_to_async``) ran 7x slower in the tests after it, by how many
    times the plugin had repeated that test. About 80 ns a call more."""

    def call() -> object:
        return contextvars.copy_context().run(body)

    return call


def subtests_unreported(item: Any, body: Callable[[], object]) -> Callable[[], object]:
    """``body`` run with the ``subtests`` fixture of the test ``item`` (pytest 9's, or
    pytest-subtests') replaced by :class:`UnreportedSubtests` for the call: each
    subtest of a repetition would otherwise be reported to pytest, a hundred
    ``SUBFAILED`` lines for one that failed. The test's fixtures are looked up at
    each call: setting them up afresh makes new ones."""

    def call() -> object:
        funcargs = item.funcargs
        real = funcargs.get("subtests")
        funcargs["subtests"] = UNREPORTED_SUBTESTS
        try:
            return body()
        finally:
            funcargs["subtests"] = real

    return call


def takes_request(item: Any) -> bool:
    """Whether the test function asks for the ``request`` fixture itself (most tests
    hold one through their fixtures: ``tmp_path`` asks for it)."""
    try:
        return "request" in inspect.signature(item.function).parameters
    except (AttributeError, TypeError, ValueError):  # not a function, or no signature
        return False


def finalized_each_call(item: Any, body: Callable[[], object]) -> Callable[[], object]:
    """``body`` run with the finalizers it adds through the test's ``request`` fixture
    (``request.addfinalizer``) run when the call ends, the last added first, as
    pytest runs a test's at its teardown, instead of all of them there: a test that
    removes a file it wrote when it ends failed its teardown with 109
    ``FileNotFoundError``, one for each repeated call, and what each call opened
    stayed open until then. They run inside the call, so its time includes them,
    and catching them costs about 0.15 µs a call: for tests that take ``request``
    (:func:`takes_request`).

    Only ``request.addfinalizer`` is caught: the fixtures the body asks for with
    ``request.getfixturevalue`` schedule their teardown on the test itself, and stay
    set up for the next call, as for the test's own.
    """

    def call() -> object:
        request = item.funcargs["request"]
        added: list[Callable[[], object]] = []
        request.addfinalizer = added.append
        try:
            return body()
        finally:
            del request.addfinalizer
            if added:
                with contextlib.ExitStack() as finalizers:
                    for finalizer in added:
                        finalizers.callback(finalizer)

    return call


def _started_afresh(
    item: Any,
    target: Callable[[dict[str, Any]], object],
    state: Mapping[str, type],
    body: Callable[[], object],
) -> Callable[[], object]:
    """``body`` run with the ``state`` attributes of ``target(item.funcargs)`` (an
    object one of the test's fixtures holds) new and empty at each call, each a new
    value of its type, and put back after it. An object without them, of those
    types, is another plugin's, or one that changed: it is left alone."""

    def call() -> object:
        held = target(item.funcargs)
        if not all(isinstance(getattr(held, name, None), kind) for name, kind in state.items()):
            return body()
        kept = {name: getattr(held, name) for name in state}
        for name, kind in state.items():
            setattr(held, name, kind())
        try:
            return body()
        finally:
            for name, value in kept.items():
                setattr(held, name, value)

    return call


def caplog_handler(funcargs: dict[str, Any]) -> object:
    """The handler of the test's ``caplog`` fixture (None without one)."""
    return getattr(funcargs.get("caplog"), "handler", None)


#: What pytest's ``caplog`` handler captures, and how it starts.
_CAPLOG_STATE = {"records": list, "stream": io.StringIO}


def caplog_emptied(item: Any, body: Callable[[], object]) -> Callable[[], object]:
    """``body`` run with the ``caplog`` capture of the test ``item`` empty at each
    call, as at the start of the test's own call, and put back after it: the log
    records of every repetition piled up there, so a test that checks
    ``len(caplog.records) == 1`` failed at its second call (pytest keeps one
    capture for the whole call phase: setting the fixtures up afresh does not
    empty it)."""
    return _started_afresh(item, caplog_handler, _CAPLOG_STATE, body)


#: What a syrupy ``snapshot`` fixture records of each assertion, and how it starts.
_SNAPSHOT_STATE = {"_executions": int, "_execution_results": dict, "_execution_name_index": dict}


def snapshots_unrecorded(item: Any, body: Callable[[], object]) -> Callable[[], object]:
    """``body`` run with the test's syrupy ``snapshot`` fixture as it was before the
    test's own call, and put back after each call. syrupy numbers a test's
    assertions: the first repetition's was the test's ``.1`` snapshot, which does
    not exist (a failure, counted in syrupy's report), and under
    ``--snapshot-update`` a thousand repetitions wrote a thousand snapshots."""
    return _started_afresh(item, lambda funcargs: funcargs.get("snapshot"), _SNAPSHOT_STATE, body)


#: What a subtest of a repetition can end in, as the test's own call did: a subtest
#: that failed there failed the test, which is then not repeated.
_SUBTEST_OUTCOMES = (pytest.skip.Exception, pytest.xfail.Exception, unittest.SkipTest)


class UnreportedSubtests:
    """A ``subtests`` fixture for a test's repetitions: a subtest that skips or xfails
    itself ends there, as in the test's own call, and its test goes on; any other
    exception propagates, so a subtest that fails only when repeated fails the
    repetition. Nothing is reported."""

    def test(self, msg: str | None = None, **kwargs: object) -> UnreportedSubtests:
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        return isinstance(value, _SUBTEST_OUTCOMES)


UNREPORTED_SUBTESTS = UnreportedSubtests()


def doctest_body(item: Any, globs: dict[str, object]) -> Callable[[], object]:
    """A doctest item's ``runtest`` made repeatable, and timed apart from what the
    process ran before.

    doctest empties the test's globals at the end of each run (``clear_globs``),
    so each repetition starts from a copy of ``globs``, taken as the test's own
    call began: the module's names, ``doctest_namespace`` and ``getfixture``.
    Each run also starts a debugger, whose reset calls ``linecache.checkcache()``:
    one ``stat`` of every source file the process has read lines of (by
    tracebacks, ``inspect``), 3 µs each here, which made a doctest of toolz take
    2 ms instead of 75 µs after 600 files. That is a no-op while the repetitions run.
    """

    checkcache = linecache.checkcache

    def call() -> object:
        item.dtest.globs = dict(globs)
        linecache.checkcache = _unchecked
        try:
            return item.runtest()
        finally:
            linecache.checkcache = checkcache

    return call


def _unchecked(filename: str | None = None) -> None:
    """``linecache.checkcache`` while a doctest's repetitions run."""


def tracer_unpaused(measurement: Measurement | None) -> bool:
    """True when a tracer stayed active during the timed loop (timings are inflated)."""
    tracer = measurement.tracer if measurement else None
    return bool(tracer and "not paused" in tracer)


def unittest_body(case: unittest.TestCase) -> Callable[[], None]:
    """Run a ``unittest.TestCase`` test (setUp, test, tearDown) into a private result.

    Repeating the test through pytest's own runner would report every repetition
    (and each subtest) to pytest; a :class:`_PrivateResult` keeps them private. The
    test is called as pytest calls it, ``case(result)``: Django's ``TestCase`` runs
    each test in a transaction it rolls back there, and with ``case.run(result)``
    what each repetition wrote stayed, to a unique constraint's ``IntegrityError``.
    """

    def run() -> None:
        result = _PrivateResult()
        case(result)
        if result.problem is not None:
            raise RepetitionError(result.problem)
        if result.skipped:
            raise RepetitionError(f"the test skipped itself: {result.skipped[0][1]}")

    return run


class _PrivateResult(unittest.TestResult):
    """The result of one repetition of a ``unittest.TestCase`` test: what its first
    error or failure (or a subtest's) raised, as ``_failure_text`` in the plugin
    gives a test function's, without formatting the traceback."""

    def __init__(self) -> None:
        super().__init__()
        self.problem: str | None = None

    def addError(self, test: unittest.TestCase, err: Any) -> None:
        if self.problem is None:
            kind, value, _ = err
            self.problem = f"{kind.__name__}: {value}"

    addFailure = addError

    def addSubTest(self, test: unittest.TestCase, subtest: unittest.TestCase, err: Any) -> None:
        if err is not None:
            self.addError(test, err)
