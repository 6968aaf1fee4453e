"""Measuring one test: adaptive sampling, the stop rule, confirmation, the perf object.

Pure of pytest: the plugin hands in a :class:`Budget`, a :class:`Plan` and the
callable (a ``perf(fn)`` target or the test body); this module returns checks.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pytest_perfbudget import compare
from pytest_perfbudget.engine.clock import Clock
from pytest_perfbudget.engine.runner import Plan, Recorder, Runner, peak_memory
from pytest_perfbudget.engine.tracing import warnings_once
from pytest_perfbudget.errors import RecheckError, RepetitionError, SpecError
from pytest_perfbudget.model import (
    FRESH_NOT_CONFIRMED,
    Budget,
    Change,
    Check,
    Measurement,
    Outcome,
    Summary,
)
from pytest_perfbudget.units import format_change

if TYPE_CHECKING:
    from pytest_perfbudget.integrations import PedanticRounds

__all__ = [
    "Judgement",
    "Perf",
    "Reference",
    "judge_callable",
    "judge_samples",
    "stable",
    "stop_rule",
]

#: Relative width of the 99 % bounds of the median that counts as a stable estimate.
STABLE_WIDTH = 0.05
#: Samples needed before a change against the baseline may stop sampling: fewer give
#: no distribution-free 99.5 % bound on a p10 (0.9**51 < 0.005).
MIN_COMPARE_SAMPLES = 51


@dataclass(frozen=True)
class Reference:
    """The stored baseline a measurement is compared with (STATISTICS.md rule 2).

    ``threshold`` is the allowed slowdown (None: report the change, never gate);
    ``estimate(now, base)`` gives the change; ``sleep`` waits between the blocks of
    the re-measurement that confirms a regression; ``spread`` False re-measures a
    flagged regression in one block at once (see :data:`SPREAD_REGRESSIONS`).
    ``recheck(tracer)``, when given, measures the test again in a fresh process
    under ``tracer`` (this measurement's, see :attr:`Measurement.tracer`), raising
    :class:`RecheckError` when it cannot: a regression this process flags counts
    only when that measurement reads it too (see :func:`judge_callable`).
    ``fresh`` is the same for samples the test takes itself, which this process
    cannot take again: a regression flagged on them counts only when
    :data:`FRESH_SAMPLE_CHECKS` fresh processes read it too (see
    :func:`judge_samples`); given whenever the run gates on regressions.
    """

    seconds: Sequence[float]
    threshold: float | None
    estimate: Callable[[Sequence[float], Sequence[float]], Change]
    #: Waits between re-measurement blocks (seconds -> None).
    sleep: Callable[[float], None] = time.sleep
    spread: bool = True
    recheck: Callable[[str | None], Measurement] | None = None
    fresh: Callable[[str | None], Measurement] | None = None
    #: Whether the baseline entry compares with samples taken in a mode, for a
    #: reference made before the test chose its mode (the ``perf`` fixture's, at its
    #: setup); None when it was made for the mode measured.
    compares: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class Judgement:
    """What measuring one test produced."""

    measurement: Measurement
    summary: Summary
    checks: tuple[Check, ...]
    confirmed: bool = False
    messages: tuple[str, ...] = ()
    change: Change | None = None
    regression: str | None = None


def summarize(seconds: Sequence[float]) -> Summary:
    """Statistics of per-call seconds (imports numpy on first use)."""
    from pytest_perfbudget.stats import summarize as _summarize

    return _summarize(seconds)


def classify(change: Change, threshold: float) -> str:
    """regressed / improved / unchanged / inconclusive (see regression.classify)."""
    from pytest_perfbudget.regression import classify as _classify

    return _classify(change, threshold)


def stable(summary: Summary) -> bool:
    """True when the median's 99 % bounds are within ±STABLE_WIDTH/2 of it."""
    low, high = summary.bound("p50")
    if low is None or high is None or summary.p50 <= 0:
        return False
    return (high - low) <= STABLE_WIDTH * summary.p50


def stop_rule(
    budget: Budget, *, min_rounds: int, reference: Reference | None = None, precise: bool = False
) -> Callable[[Sequence[float]], bool]:
    """Enough samples: every limit decided on exact bounds and, when a baseline is in
    play (or being saved), the change found unchanged or improved, or the median
    stable. A change that reads as a regression keeps sampling (up to ``max_time``):
    more samples can only lower the minimum it is read from. With no limits and no
    baseline, a stable median is enough.

    An unchanged change is not settled while the samples' minimum is slower than
    the whole baseline's by more than the allowed slowdown: it is read against the
    baseline's first samples, as many as these (``estimate_change``), and when those
    ran slower than its later ones, more samples lower the baseline's side too. On
    pint's benchmarks under ``-n 2`` a gate stopped at 109 samples, 28 % slower than
    the baseline's minimum but faster than its first 109 samples, and read a real
    slowdown as unchanged."""
    base_low: list[float] = []  # the whole baseline's minimum, once needed

    def slower_than_all(seconds: Sequence[float]) -> bool:
        from pytest_perfbudget.regression import low_quantile

        assert reference is not None
        assert reference.threshold is not None
        if len(seconds) >= len(reference.seconds):
            return False  # the comparison reads all of the baseline already
        if not base_low:
            base_low.append(low_quantile(reference.seconds, 0.0))
        return low_quantile(seconds, 0.0) > base_low[0] * (1 + reference.threshold)

    def decide(seconds: Sequence[float]) -> bool:
        if len(seconds) < min_rounds:
            return False
        summary = summarize(seconds)
        if budget.limits and not compare.decided(
            compare.check_limits(budget, summary, final=False)
        ):
            return False
        threshold = reference.threshold if reference is not None else None
        if threshold is None and not precise:
            return bool(budget.limits) or stable(summary)
        if len(seconds) < MIN_COMPARE_SAMPLES:
            return False
        if reference is not None and threshold is not None:
            change = reference.estimate(seconds, reference.seconds)
            if classify(change, threshold) in ("unchanged", "improved"):
                return not slower_than_all(seconds)  # else more samples can lower both
        return stable(summary)

    return decide


def _failed(checks: Sequence[Check]) -> bool:
    return any(check.outcome is Outcome.FAIL for check in checks)


def _remeasured(
    budget: Budget, checks: Sequence[Check], first: Measurement, again: Measurement
) -> tuple[Measurement, Summary, tuple[Check, ...]]:
    """Both measurements as one, its summary, and the checks of a limit ``checks`` (the
    first measurement's) failed: a fail counts only when ``again`` fails it too."""
    measurement = first.extended(again)
    summary = summarize(measurement.seconds)
    return (
        measurement,
        summary,
        _confirm(
            checks,
            compare.check_limits(budget, summarize(again.seconds), final=True),
            compare.check_limits(budget, summary, final=True),
        ),
    )


def _confirm(
    first: Sequence[Check], second: Sequence[Check], combined: Sequence[Check]
) -> tuple[Check, ...]:
    """A fail counts only when the fresh re-measurement fails the same statistic."""
    out = []
    for before, after, check in zip(first, second, combined, strict=True):
        if before.outcome is Outcome.FAIL:
            outcome = Outcome.FAIL if after.outcome is Outcome.FAIL else Outcome.INCONCLUSIVE
            check = replace(check, outcome=outcome)  # noqa: PLW2901
        out.append(check)
    return tuple(out)


def _compare(
    measurement: Measurement, reference: Reference | None
) -> tuple[Change | None, str | None]:
    if reference is None or not reference.seconds:
        return None, None
    change = reference.estimate(measurement.seconds, reference.seconds)
    if reference.threshold is None:
        return replace(change, threshold=None), None
    return replace(change, threshold=reference.threshold), classify(change, reference.threshold)


#: The re-measurement of a flagged regression: up to this many short blocks, the
#: first at once, the others :data:`SPREAD_GAP` seconds apart, each of at most
#: :data:`SPREAD_BLOCK` of ``max_time`` (and one sample). The regression counts only
#: when the minimum over the first measurement and every block still reads it, so a
#: slow state of the machine has to last through all of them (about 8.4 s at the
#: default ``max_time``) to cause a false alarm; it stops at the first block that
#: clears it. ``benchmarks/run_spread.py`` measured why: on this project's machines a
#: slow state lasts through a whole 1 s measurement, and sometimes through 5 blocks
#: half a second apart, rarely through these.
SPREAD_BLOCKS = 8
SPREAD_GAP = 1.0
SPREAD_BLOCK = 0.2
#: Regressions a run (each pytest process: an xdist worker counts its own) confirms
#: with the spread-out re-measurement, which costs about 8.4 s each. After that
#: many, a flagged regression is re-measured in one block at once, the confirming
#: re-measurement of STATISTICS.md rule 2 without the spread: the run fails already
#: (when regressions fail it at all), so this cannot fail a run that would pass; it
#: keeps a change that slows a hundred tests from adding a quarter of an hour.
SPREAD_REGRESSIONS = 3
NOT_CONFIRMED = "a re-measurement did not confirm the first measurement"
NOT_SPREAD = (
    f"confirmed by one re-measurement, not spread out in time: this run had already "
    f"confirmed {SPREAD_REGRESSIONS} regressions that way"
)
NOT_RE_MEASURED = "flagged as slower; not re-measured while saving a baseline"
#: Seconds a measurement to be saved samples at least (at most ``max_time``): the
#: minimum of a few milliseconds' sampling depends on the state the machine was in
#: for those milliseconds, and it is what later runs are compared with.
SAVE_TIME = 0.1


def _spread(  # noqa: PLR0917 - private, called from one place
    plan: Plan,
    clock: Clock | None,
    fn: Callable[[], object],
    measurement: Measurement,
    reference: Reference,
    mode: str,
    setup: Callable[[], object] | None,
) -> tuple[Measurement, object, Change | None, str | None]:
    """Re-measure a flagged regression in blocks spread out in time (see
    :data:`SPREAD_BLOCKS`); the measurement with every block, the last call's result,
    and the change and verdict on all of it: ``"regressed"`` only if every block
    kept it so, else ``"inconclusive"``."""
    block_plan = replace(plan, max_time=SPREAD_BLOCK * plan.max_time, min_rounds=1)
    blocks = Runner(block_plan, clock, setup=setup)
    result: object = None
    change: Change | None = None
    regression: str | None = None
    for block in range(SPREAD_BLOCKS if reference.spread else 1):
        if block:
            reference.sleep(SPREAD_GAP)
        again, result = blocks.measure(fn, mode=mode, iterations=measurement.iterations)
        measurement = measurement.extended(again)
        change, regression = _compare(measurement, reference)
        if regression != "regressed":
            return measurement, result, change, "inconclusive"
    return measurement, result, change, regression


def judge_callable(
    fn: Callable[[], object],
    budget: Budget,
    plan: Plan,
    *,
    mode: str,
    clock: Clock | None = None,
    reference: Reference | None = None,
    precise: bool = False,
    setup: Callable[[], object] | None = None,
    warm_call_ns: int | None = None,
) -> tuple[Judgement, object]:
    """Measure ``fn`` adaptively; re-measure when a limit fails (once) or a regression
    is flagged (in a fresh process first, when the reference can, then in blocks
    spread out in time, :data:`SPREAD_BLOCKS`), and count only what the
    re-measurement confirms; check memory. ``setup``, when given, runs
    untimed before every call of ``fn``; ``warm_call_ns`` is the wall-clock ns of a
    call made just before (see :class:`~pytest_perfbudget.engine.runner.Runner`)."""
    from pytest_perfbudget import stats  # noqa: F401 - numpy loads before the timed window

    if precise:  # a baseline's minimum must not come from a moment's sampling
        plan = replace(plan, min_time=min(plan.max_time, SAVE_TIME))
    runner = Runner(plan, clock, setup=setup, warm_call_ns=warm_call_ns)
    decide = stop_rule(budget, min_rounds=plan.min_rounds, reference=reference, precise=precise)
    first, result = runner.measure(fn, decide, mode=mode)
    checks = compare.check_limits(budget, summarize(first.seconds), final=True)
    change, regression = _compare(first, reference)
    measurement, confirmed, messages, notes = first, False, [], []
    failed, flagged = _failed(checks), regression == "regressed"
    if failed:
        again, result = runner.measure(fn, decide, mode=mode, iterations=first.iterations)
        measurement, _, checks = _remeasured(budget, checks, first, again)
    if flagged and precise:  # a save does not gate on regressions: not worth 8 s
        regression = "inconclusive"
        notes.append(NOT_RE_MEASURED)
    elif flagged:
        assert reference is not None
        assert change is not None
        first_change = change
        fresh, note = _rechecked(measurement, change, reference)
        if note is not None:
            notes.append(note)
        if fresh is not None:  # a fresh process did not read it: not a regression
            measurement, change, regression = fresh
        else:
            measurement, result, change, regression = _spread(
                plan, clock, fn, measurement, reference, mode, setup
            )
            if regression == "regressed" and not reference.spread:
                notes.append(NOT_SPREAD)
            elif regression != "regressed":
                notes.append(not_confirmed_slowdown(first_change))
    if failed or (flagged and not precise):
        confirmed = regression == "regressed" or _failed(checks)
        if not confirmed and failed:
            messages.append(NOT_CONFIRMED)
    messages += notes
    memory, peak = _memory_check(budget, fn, setup)
    if memory is not None:
        checks += (memory,)
        measurement = replace(measurement, memory_peak=peak)
    summary = summarize(measurement.seconds)
    return Judgement(
        measurement, summary, checks, confirmed, tuple(messages), change, regression
    ), result


def _rechecked(
    measurement: Measurement, change: Change, reference: Reference
) -> tuple[tuple[Measurement, Change, str | None] | None, str | None]:
    """A flagged regression measured again in a fresh process, when the run asks for
    it (``recheck``), before the spread re-measures it here; the fresh measurement,
    its change and the verdict on it when that process does not read the regression
    (then the test's verdict is the fresh process's: the code is not that much
    slower), else None; and a note on what happened, if anything did.

    Not once the process has confirmed :data:`SPREAD_REGRESSIONS` (the run fails
    already).
    """
    recheck = reference.recheck
    if recheck is None or not reference.spread:
        return None, None
    try:
        fresh = recheck(measurement.tracer)
    except RecheckError as exc:
        return None, f"not re-checked in a fresh process: {exc}"
    fresh_change, fresh_regression = _compare(fresh, reference)
    assert fresh_change is not None  # the reference has samples: it flagged a regression
    if fresh_regression == "regressed":
        return None, f"confirmed in a fresh process ({_read(fresh_change)})"
    return (fresh, fresh_change, fresh_regression), _cleared(change, fresh_change)


def _read(change: Change) -> str:
    return f"{change.stat} {format_change(change.ratio)}"


def _cleared(change: Change, fresh: Change) -> str:
    """Why a flagged regression takes a fresh process's verdict (``fresh``)."""
    return (
        f"{FRESH_NOT_CONFIRMED}: this process read {_read(change)}, a fresh one "
        f"{_read(fresh)}, so the code is not that much slower; the verdict is the fresh "
        f"process's"
    )


def not_confirmed_slowdown(first: Change) -> str:
    """Why a flagged regression reads ``inconclusive``: the slowdown the first
    measurement showed, which the change now reported (over every sample) no longer does."""
    return (
        f"a re-measurement did not confirm the slowdown the first measurement showed "
        f"({first.stat} {format_change(first.ratio)})"
    )


def _memory_check(
    budget: Budget, fn: Callable[[], object], setup: Callable[[], object] | None
) -> tuple[Check | None, int | None]:
    if budget.memory is None:
        return None, None
    if setup is not None:
        setup()
    peak, _ = peak_memory(fn)
    return compare.check_memory(budget.memory, peak), peak


def judge_samples(
    measurement: Measurement,
    budget: Budget,
    reference: Reference | None = None,
    *,
    again: Callable[[], Measurement] | None = None,
) -> Judgement:
    """Judge samples the test collected itself, or pytest-benchmark took.

    ``again``, when given, takes them once more (pytest-benchmark's measurement, by
    running the test body again; it raises :class:`RepetitionError` when it cannot):
    a failed limit counts only when that re-measurement fails it too. A regression
    is not re-measured here, where a slower microbenchmark cannot be told from a
    process that runs it slower: it counts when its whole interval is above the
    allowed slowdown, and otherwise (the minimum has no interval) only when fresh
    processes read it too (:func:`_fresh_samples`)."""
    summary = summarize(measurement.seconds)
    checks = compare.check_limits(budget, summary, final=True)
    messages: list[str] = []
    confirmed = fresh_confirmed = False
    if again is not None and _failed(checks):
        try:
            more = again()
        except RepetitionError as exc:
            messages.append(f"could not be measured again to confirm: {exc}")
        else:
            measurement, summary, checks = _remeasured(budget, checks, measurement, more)
            confirmed = _failed(checks)
            if not confirmed:
                messages.append(NOT_CONFIRMED)
    change, regression = _compare(measurement, reference)
    threshold = reference.threshold if reference is not None else None
    if (
        regression == "regressed"
        and change is not None
        and (change.low < 1 + (threshold or 0) or change.low == change.high)
    ):
        assert reference is not None
        if reference.fresh is None:
            regression = "inconclusive"
            messages.append(NOT_RE_MEASURABLE)
        elif not reference.spread:  # the run fails already
            messages.append(NOT_RE_CHECKED)
        else:
            fresh, regression, note = _fresh_samples(measurement, change, reference)
            messages.append(note)
            if fresh is not None:  # a fresh process did not read it: its verdict is the test's
                measurement, change = fresh
                summary = summarize(measurement.seconds)
            fresh_confirmed = regression == "regressed"
    if _failed(checks) and not confirmed:
        messages.append(
            f"decided on the test's own {measurement.n} samples, without a re-measurement"
        )
    if budget.memory is not None:
        messages.append("memory budgets need perf(fn) or a timed test body; not checked")
    confirmed = confirmed or fresh_confirmed
    return Judgement(measurement, summary, checks, confirmed, tuple(messages), change, regression)


#: Fresh processes that must each read a regression flagged on samples a test takes
#: itself (pytest-benchmark's, ``perf.sample()``'s) before it counts. They stand in for
#: the re-measurement spread out in time (:data:`SPREAD_BLOCKS`), which cannot take
#: those samples again: two processes, each starting pytest and measuring the test
#: afresh, span several seconds, and a test that runs slower in one process in a
#: dozen (a layout of its memory, say) rarely does in both.
FRESH_SAMPLE_CHECKS = 2
NOT_RE_MEASURABLE = "flagged as slower, but samples the test takes cannot be re-measured"
NOT_RE_CHECKED = (
    f"flagged as slower; not measured again in fresh processes: this run had already "
    f"confirmed {SPREAD_REGRESSIONS} regressions"
)


def _fresh_samples(
    measurement: Measurement, change: Change, reference: Reference
) -> tuple[tuple[Measurement, Change] | None, str | None, str]:
    """A regression flagged on samples the test takes itself, measured in fresh
    processes (``reference.fresh``, given): the fresh measurement and its change when
    one of them does not read it (its verdict is then the test's), else None; the
    verdict (``regressed`` when each of :data:`FRESH_SAMPLE_CHECKS` processes reads it
    too, ``inconclusive`` when one cannot measure the test); and a note saying so."""
    assert reference.fresh is not None
    reads = []
    for _ in range(FRESH_SAMPLE_CHECKS):
        try:
            fresh = reference.fresh(measurement.tracer)
            if fresh.mode != measurement.mode:  # pytest-benchmark on there, off here, say
                raise RecheckError(
                    f"it took {fresh.mode!r} samples there, not {measurement.mode!r}"
                )
        except RecheckError as exc:
            return None, "inconclusive", f"{NOT_RE_MEASURABLE} here, nor in a fresh process: {exc}"
        fresh_change, fresh_regression = _compare(fresh, reference)
        assert fresh_change is not None  # the reference has samples: it flagged a regression
        if fresh_regression != "regressed":
            return (fresh, fresh_change), fresh_regression, _cleared(change, fresh_change)
        reads.append(_read(fresh_change))
    return None, "regressed", f"confirmed in {len(reads)} fresh processes ({', '.join(reads)})"


@dataclass
class Perf:
    """The object behind the ``perf`` fixture.

    ``perf(fn, *args, **kwargs)`` measures ``fn`` adaptively and returns one call's
    result; ``with perf.sample():`` times one block; ``perf.record(seconds)`` adds a
    duration measured elsewhere. One test uses one of the three.
    """

    budget: Budget
    plan: Plan
    enabled: bool = True
    clock: Clock | None = None
    reference: Reference | None = None
    precise: bool = False
    judgement: Judgement | None = field(default=None, init=False)
    target: Callable[[], Any] | None = field(default=None, init=False, repr=False)
    target_setup: Callable[[], object] | None = field(default=None, init=False, repr=False)
    _recorder: Recorder | None = field(default=None, init=False, repr=False)
    _mode: str | None = field(default=None, init=False, repr=False)
    #: What :meth:`close` closes: event loops made for coroutine functions, and the
    #: :class:`~pytest_perfbudget.integrations.PedanticRounds` of a served pedantic call.
    _closing: list[Any] = field(default_factory=list, init=False, repr=False)

    def close(self) -> None:
        """Release event loops made for coroutine functions, tear down a last call."""
        while self._closing:
            self._closing.pop().close()

    def __call__(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Measure ``fn(*args, **kwargs)`` many times; return one call's result."""
        return self._measure(self._target(fn, args, kwargs))

    def _rounds(self, rounds: PedanticRounds) -> Any:
        """``perf(rounds)`` with ``rounds.setup()`` run untimed before every call, so that
        each sample is one call, and the last call torn down by :meth:`close` at the
        latest: pytest-benchmark's ``pedantic(setup=…)`` where that fixture is off."""
        self._closing.append(rounds)
        return self._measure(self._target(rounds, (), {}), rounds.setup)

    def _measure(self, call: Callable[[], Any], setup: Callable[[], object] | None = None) -> Any:
        if not self.enabled:
            if setup is not None:
                setup()
            return call()
        self.target, self.target_setup = call, setup
        with warnings_once():
            self.judgement, result = judge_callable(
                call,
                self.budget,
                self.plan,
                mode="perf",
                clock=self.clock,
                reference=self.reference,
                precise=self.precise,
                setup=setup,
            )
        return result

    def _target(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Callable[[], Any]:
        """``fn`` bound to its arguments (coroutine functions awaited), once per test."""
        if not callable(fn):
            raise SpecError(f"perf() needs a callable as its first argument, got {fn!r}")
        if inspect.iscoroutinefunction(fn):
            fn = self._sync(fn)
        self._claim("perf")
        return functools.partial(fn, *args, **kwargs) if args or kwargs else fn

    def sample(self) -> AbstractContextManager[None]:
        """Time the block as one sample (not recorded if the block raises)."""
        recorder = self._recorder
        if recorder is None or self._mode != "sample":  # the first sample, or misuse
            recorder = self._recording("sample")
            if recorder is None:
                return nullcontext()
        return recorder.sample()

    def record(self, seconds: float) -> None:
        """Add one duration, in seconds, measured outside the plugin."""
        recorder = self._recording("record")
        if recorder is None:
            return
        recorder.record(seconds)

    def measurement(self) -> Measurement | None:
        """The test-driven samples so far (``sample``/``record``), or None."""
        return self._recorder.measurement(self._mode or "sample") if self._recorder else None

    def _recording(self, mode: str) -> Recorder | None:
        self._claim(mode)
        if not self.enabled:
            return None
        if self._recorder is None:
            self._recorder = Recorder(self.plan.timer, self.clock)
        return self._recorder

    def _claim(self, mode: str) -> None:
        if self._mode is None:
            self._mode = mode
            compares = self.reference.compares if self.reference is not None else None
            if compares is not None and not compares(mode):
                self.reference = None  # the verdict reads new, and says why
            return
        if self._mode != mode or mode == "perf":
            raise SpecError(
                f"perf{'' if mode == 'perf' else '.' + mode}() cannot follow "
                f"perf{'' if self._mode == 'perf' else '.' + self._mode}() in the same test: "
                "one test measures one thing (call perf(fn) once, or use only perf.sample(), "
                "or only perf.record()); split the test to budget several"
            )

    def _sync(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Await each call of a coroutine function on a private event loop."""
        import asyncio

        loop = asyncio.new_event_loop()
        self._closing.append(loop)

        def call(*args: Any, **kwargs: Any) -> Any:
            return loop.run_until_complete(fn(*args, **kwargs))

        return call
