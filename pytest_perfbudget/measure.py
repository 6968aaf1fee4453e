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
from typing import Any

from pytest_perfbudget import compare
from pytest_perfbudget.engine.clock import Clock
from pytest_perfbudget.engine.runner import Plan, Recorder, Runner, peak_memory
from pytest_perfbudget.errors import SpecError
from pytest_perfbudget.model import Budget, Change, Check, Measurement, Outcome, Summary
from pytest_perfbudget.units import format_change

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
    ``estimate(now, base)`` gives the change; ``probe`` re-measures the machine's
    speed now, to compare with ``stored_probe`` taken when the baseline was saved;
    ``sleep`` waits between probes while the machine runs slow.
    """

    seconds: Sequence[float]
    threshold: float | None
    estimate: Callable[[Sequence[float], Sequence[float]], Change]
    stored_probe: float | None = None
    probe: Callable[[float], float] | None = None
    #: Waits between machine probes while the machine runs slow (seconds -> None).
    sleep: Callable[[float], None] = time.sleep


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
    play (or being saved), the change decided or the median stable. With no limits
    and no baseline, a stable median is enough."""

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
            if classify(change, threshold) != "inconclusive":
                return True
        return stable(summary)

    return decide


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


def _probe(reference: Reference | None, measurement: Measurement) -> float | None:
    """The machine probe now, in blocks as long as the test's median sample (so that
    CPU contention slows it as much as it slowed the test); None without a probe."""
    if reference is None or reference.probe is None or not reference.stored_probe:
        return None
    return reference.probe(sorted(measurement.sample_ns)[measurement.n // 2] * 1e-9)


#: Machine probes at most, after a regression measured while the machine ran slow, until
#: one reads it back to speed; :data:`CALM_PAUSE` seconds apart.
CALM_PROBES = 8
CALM_PAUSE = 0.5
CALMED = (
    "the machine ran slower than when the baseline was saved while this test was measured; "
    "it was measured again once the machine was back to speed"
)


def _speed(reference: Reference, probes: Sequence[float | None]) -> float | None:
    """How many times slower the machine ran than when the baseline was saved: the
    slower probe reading over the stored one (None without a probe or a threshold)."""
    readings = [probe for probe in probes if probe is not None]
    if not readings or reference.threshold is None or not reference.stored_probe:
        return None
    return max(readings) / reference.stored_probe


def _slow(reference: Reference, probes: Sequence[float | None]) -> bool:
    """Whether a probe read the machine slower than at save time by the allowed slowdown."""
    speed = _speed(reference, probes)
    return speed is not None and speed >= 1 + (reference.threshold or 0.0)


def _calmed(reference: Reference, measurement: Measurement) -> bool:
    """Probe the machine, :data:`CALM_PAUSE` apart, until it reads back to speed (True)
    or :data:`CALM_PROBES` readings have not (False)."""
    for attempt in range(CALM_PROBES):
        if attempt:
            reference.sleep(CALM_PAUSE)
        if not _slow(reference, (_probe(reference, measurement),)):
            return True
    return False


def _vetoed(
    reference: Reference, probes: Sequence[float | None], ratio: float
) -> tuple[bool, str | None]:
    """Whether the machine's own slowdown since the baseline explains ``ratio``, and
    a message with what the probe read (None without a probe).

    The probe ran before and after the confirming re-measurement; the slower reading
    counts, so contention that came and went during the test is not missed.
    """
    from pytest_perfbudget.regression import probe_vetoes

    speed = _speed(reference, probes)
    if speed is None or reference.threshold is None:
        return False, None
    if probe_vetoes(speed, 1.0, reference.threshold, ratio):
        return True, (
            f"the machine runs slower now than when the baseline was saved (reference "
            f"workload {format_change(speed)}); the slowdown is not attributed to the code"
        )
    return False, (
        f"the machine's reference workload ran {format_change(speed)} against when the "
        "baseline was saved, which does not account for the slowdown"
    )


def judge_callable(
    fn: Callable[[], object],
    budget: Budget,
    plan: Plan,
    *,
    mode: str,
    clock: Clock | None = None,
    reference: Reference | None = None,
    precise: bool = False,
) -> tuple[Judgement, object]:
    """Measure ``fn`` adaptively; re-measure once when a limit fails or a regression
    is flagged, and count only what the re-measurement confirms; check memory."""
    from pytest_perfbudget import stats  # noqa: F401 - numpy loads before the timed window

    runner = Runner(plan, clock)
    decide = stop_rule(budget, min_rounds=plan.min_rounds, reference=reference, precise=precise)
    first, result = runner.measure(fn, decide, mode=mode)
    checks = compare.check_limits(budget, summarize(first.seconds), final=True)
    change, regression = _compare(first, reference)
    measurement, confirmed, messages = first, False, []
    if regression == "regressed" or any(c.outcome is Outcome.FAIL for c in checks):
        before = _probe(reference, first) if regression == "regressed" else None
        again, result = runner.measure(fn, decide, mode=mode, iterations=first.iterations)
        measurement = first.extended(again)
        checks = _confirm(
            checks,
            compare.check_limits(budget, summarize(again.seconds), final=True),
            compare.check_limits(budget, summarize(measurement.seconds), final=True),
        )
        if regression == "regressed":
            assert reference is not None
            _, second = _compare(again, reference)
            change, _ = _compare(measurement, reference)
            regression = "regressed" if second == "regressed" else "inconclusive"
            if regression == "regressed" and change is not None:
                probes: tuple[float | None, ...] = (before, _probe(reference, again))
                if _slow(reference, probes) and _calmed(reference, first):
                    # The machine ran slow and is back to speed: measure once more.
                    calm, result = runner.measure(
                        fn, decide, mode=mode, iterations=first.iterations
                    )
                    probes = (_probe(reference, calm),)
                    change, regression = _compare(calm, reference)
                    measurement = measurement.extended(calm)
                    messages.append(CALMED)
                if regression == "regressed" and change is not None:
                    vetoed, note = _vetoed(reference, probes, change.ratio)
                    regression = "inconclusive" if vetoed else regression
                    messages += [note] if note else []
        confirmed = regression == "regressed" or any(c.outcome is Outcome.FAIL for c in checks)
        if not confirmed and not messages:
            messages.append("a re-measurement did not confirm the first measurement")
    memory, peak = _memory_check(budget, fn)
    if memory is not None:
        checks += (memory,)
        measurement = replace(measurement, memory_peak=peak)
    summary = summarize(measurement.seconds)
    return Judgement(
        measurement, summary, checks, confirmed, tuple(messages), change, regression
    ), result


def _memory_check(budget: Budget, fn: Callable[[], object]) -> tuple[Check | None, int | None]:
    if budget.memory is None:
        return None, None
    peak, _ = peak_memory(fn)
    return compare.check_memory(budget.memory, peak), peak


def judge_samples(
    measurement: Measurement, budget: Budget, reference: Reference | None = None
) -> Judgement:
    """Judge samples the test collected itself. No re-measurement is possible, so a
    regression counts only when its whole interval is above the allowed slowdown."""
    summary = summarize(measurement.seconds)
    checks = compare.check_limits(budget, summary, final=True)
    messages: list[str] = []
    change, regression = _compare(measurement, reference)
    threshold = reference.threshold if reference is not None else None
    if regression == "regressed" and change is not None and change.low < 1 + (threshold or 0):
        regression = "inconclusive"
        messages.append("flagged as slower, but samples the test takes cannot be re-measured")
    if any(check.outcome is Outcome.FAIL for check in checks):
        messages.append(
            f"decided on the test's own {measurement.n} samples, without a re-measurement"
        )
    if budget.memory is not None:
        messages.append("memory budgets need perf(fn) or a timed test body; not checked")
    return Judgement(measurement, summary, checks, False, tuple(messages), change, regression)


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
    _recorder: Recorder | None = field(default=None, init=False, repr=False)
    _mode: str | None = field(default=None, init=False, repr=False)
    _loops: list[Any] = field(default_factory=list, init=False, repr=False)

    def close(self) -> None:
        """Release event loops made for coroutine functions."""
        while self._loops:
            self._loops.pop().close()

    def __call__(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Measure ``fn(*args, **kwargs)`` many times; return one call's result."""
        call = self._target(fn, args, kwargs)
        if not self.enabled:
            return call()
        self.target = call
        self.judgement, result = judge_callable(
            call,
            self.budget,
            self.plan,
            mode="perf",
            clock=self.clock,
            reference=self.reference,
            precise=self.precise,
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
