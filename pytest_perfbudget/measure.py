"""Measuring one test: adaptive sampling, the stop rule, confirmation, the perf object.

Pure of pytest: the plugin hands in a :class:`Budget`, a :class:`Plan` and the
callable (a ``perf(fn)`` target or the test body); this module returns checks.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pytest_perfbudget import compare
from pytest_perfbudget.engine.clock import Clock
from pytest_perfbudget.engine.runner import Plan, Recorder, Runner, peak_memory
from pytest_perfbudget.errors import SpecError
from pytest_perfbudget.model import Budget, Check, Measurement, Outcome, Summary

__all__ = ["Judgement", "Perf", "judge_callable", "judge_samples", "stable"]

#: Relative width of the 99 % bounds of the median that counts as a stable estimate.
STABLE_WIDTH = 0.05


@dataclass(frozen=True)
class Judgement:
    """What measuring one test produced."""

    measurement: Measurement
    summary: Summary
    checks: tuple[Check, ...]
    confirmed: bool = False
    messages: tuple[str, ...] = ()


def summarize(seconds: Sequence[float]) -> Summary:
    from pytest_perfbudget.stats import summarize as _summarize  # numpy: only when measuring

    return _summarize(seconds)


def stable(summary: Summary) -> bool:
    """True when the median's 99 % bounds are within ±STABLE_WIDTH/2 of it."""
    low, high = summary.bound("p50")
    if low is None or high is None or summary.p50 <= 0:
        return False
    return (high - low) <= STABLE_WIDTH * summary.p50


def stop_rule(budget: Budget, *, min_rounds: int) -> Callable[[Sequence[float]], bool]:
    """Enough samples: every limit decided on exact bounds, or (no limits) a stable median."""

    def decide(seconds: Sequence[float]) -> bool:
        if len(seconds) < min_rounds:
            return False
        summary = summarize(seconds)
        if budget.limits:
            return compare.decided(compare.check_limits(budget, summary, final=False))
        return stable(summary)

    return decide


def _confirm(first: Sequence[Check], second: Sequence[Check], combined: Sequence[Check]) -> tuple[Check, ...]:
    """A fail counts only when the fresh re-measurement fails the same statistic."""
    out = []
    for before, after, both in zip(first, second, combined):
        if before.outcome is Outcome.FAIL:
            agreed = after.outcome is Outcome.FAIL
            outcome = Outcome.FAIL if agreed else Outcome.INCONCLUSIVE
            out.append(Check(both.stat, both.limit, both.observed, both.low, both.high, outcome, both.exact))
        else:
            out.append(both)
    return tuple(out)


def _memory_check(budget: Budget, fn: Callable[[], object]) -> tuple[Check | None, int | None]:
    if budget.memory is None:
        return None, None
    peak, _ = peak_memory(fn)
    return compare.check_memory(budget.memory, peak), peak


def judge_callable(
    fn: Callable[[], object], budget: Budget, plan: Plan, *, mode: str, clock: Clock | None = None
) -> tuple[Judgement, object]:
    """Measure ``fn`` adaptively, re-measure a failing limit, check memory."""
    runner = Runner(plan, clock)
    decide = stop_rule(budget, min_rounds=plan.min_rounds)
    measurement, result = runner.measure(fn, decide, mode=mode)
    checks = compare.check_limits(budget, summarize(measurement.seconds), final=True)
    confirmed = False
    messages: list[str] = []
    if any(check.outcome is Outcome.FAIL for check in checks):
        again, result = runner.measure(fn, decide, mode=mode)
        combined = measurement.extended(again)
        recheck = compare.check_limits(budget, summarize(again.seconds), final=True)
        checks = _confirm(checks, recheck, compare.check_limits(budget, summarize(combined.seconds), final=True))
        confirmed = any(check.outcome is Outcome.FAIL for check in checks)
        if not confirmed:
            messages.append("a re-measurement did not confirm the first measurement's failure")
        measurement = combined
    memory, peak = _memory_check(budget, fn)
    if memory is not None:
        checks += (memory,)
        measurement = _with_memory(measurement, peak)
    judgement = Judgement(measurement, summarize(measurement.seconds), checks, confirmed, tuple(messages))
    return judgement, result


def _with_memory(measurement: Measurement, peak: int | None) -> Measurement:
    from dataclasses import replace

    return replace(measurement, memory_peak=peak)


def judge_samples(measurement: Measurement, budget: Budget) -> Judgement:
    """Judge samples the test collected itself: no re-measurement is possible."""
    summary = summarize(measurement.seconds)
    checks = compare.check_limits(budget, summary, final=True)
    messages: list[str] = []
    if any(check.outcome is Outcome.FAIL for check in checks):
        messages.append(f"decided on the test's own {measurement.n} samples, without a re-measurement")
    if budget.memory is not None:
        messages.append("memory budgets need perf(fn) or a timed test body; not checked")
    return Judgement(measurement, summary, checks, False, tuple(messages))


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
    judgement: Judgement | None = field(default=None, init=False)
    _recorder: Recorder | None = field(default=None, init=False, repr=False)
    _mode: str | None = field(default=None, init=False, repr=False)
    _loops: list[Any] = field(default_factory=list, init=False, repr=False)

    def close(self) -> None:
        """Release event loops made for coroutine functions."""
        while self._loops:
            self._loops.pop().close()

    def __call__(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Measure ``fn(*args, **kwargs)`` many times; return one call's result."""
        if not callable(fn):
            raise SpecError(f"perf() needs a callable as its first argument, got {fn!r}")
        if inspect.iscoroutinefunction(fn):
            fn = self._sync(fn)
        self._claim("perf")

        def call() -> Any:
            return fn(*args, **kwargs)

        if not self.enabled:
            return call()
        self.judgement, result = judge_callable(call, self.budget, self.plan, mode="perf", clock=self.clock)
        return result

    @contextmanager
    def sample(self) -> Iterator[None]:
        """Time the block as one sample (not recorded if the block raises)."""
        recorder = self._recording("sample")
        if recorder is None:
            yield
            return
        with recorder.sample():
            yield

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
        self._loops.append(loop)

        def call(*args: Any, **kwargs: Any) -> Any:
            return loop.run_until_complete(fn(*args, **kwargs))

        return call
