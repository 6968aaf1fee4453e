"""Measuring one test, driven by a fake clock: no assertion here depends on wall time."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from pytest_perfbudget import measure
from pytest_perfbudget.engine.runner import Plan, Runner
from pytest_perfbudget.errors import RecheckError, RepetitionError, SpecError
from pytest_perfbudget.integrations import PedanticRounds
from pytest_perfbudget.measure import (
    MIN_COMPARE_SAMPLES,
    Judgement,
    Perf,
    Reference,
    judge_callable,
    judge_samples,
    stable,
    stop_rule,
)
from pytest_perfbudget.model import Budget, Change, Measurement, Outcome, Summary
from pytest_perfbudget.regression import classify, estimate_change

MS = 1e-3
MS_NS = 1_000_000


@dataclass
class FakeClock:
    """Nanoseconds that pass when a fake function says its call took time, plus 10 µs per
    read: a call of a plain function then lasts as long as the engine's shortest sample,
    so it is never batched (a clock that does not move would make calibration batch
    without end)."""

    read_ns: int = 10_000
    now: int = 0
    calls: int = 0

    def __call__(self) -> int:
        self.now += self.read_ns
        return self.now

    def work(self, cost_ns: Callable[[int], int], result: object = None) -> Callable[[], object]:
        """A function whose n-th call (from 0) takes ``cost_ns(n)`` nanoseconds."""

        def fn() -> object:
            self.now += cost_ns(self.calls)
            self.calls += 1
            return result

        return fn


def jittered(base_ns: int) -> Callable[[int], int]:
    """``base_ns`` plus 0–6 % in a fixed cycle, so that percentiles have distinct samples."""
    return lambda n: base_ns + base_ns * (n % 7) // 100


def plan(**overrides: Any) -> Plan:
    values: dict[str, Any] = {"max_time": 5.0, "warmup": 0.0, "pause_tracers": False}
    values.update(overrides)
    return Plan(**values)


def budget(**limits_ms: float) -> Budget:
    return Budget(limits={stat: ms * MS for stat, ms in limits_ms.items()})


@dataclass
class Phases:
    """Counts how many measurements (``Runner.measure`` calls) have begun."""

    started: int = 0
    sizes: list[int] = field(default_factory=list)


@pytest.fixture
def phases(monkeypatch: pytest.MonkeyPatch) -> Phases:
    state = Phases()

    class CountingRunner(Runner):
        def measure(self, *args: Any, **kwargs: Any) -> Any:
            state.started += 1
            measurement, result = super().measure(*args, **kwargs)
            state.sizes.append(measurement.n)
            return measurement, result

    monkeypatch.setattr(measure, "Runner", CountingRunner)
    return state


# -- stable and the stop rule -----------------------------------------------------------


def _summary(p50: float, low: float | None, high: float | None) -> Summary:
    values = dict.fromkeys(("mean", "min", "p75", "p90", "p95", "p99", "p999", "max"), p50)
    return Summary(n=100, stdev=0.0, p50=p50, bounds={"p50": (low, high)}, **values)


def test_a_median_with_narrow_bounds_is_stable() -> None:
    assert stable(_summary(10 * MS, 9.9 * MS, 10.3 * MS))


def test_a_median_with_wide_bounds_is_not_stable() -> None:
    assert not stable(_summary(10 * MS, 9 * MS, 11 * MS))


@pytest.mark.parametrize(("low", "high"), [(None, 10 * MS), (10 * MS, None), (None, None)])
def test_a_median_without_both_bounds_is_not_stable(low: float | None, high: float | None) -> None:
    assert not stable(_summary(10 * MS, low, high))


def test_a_zero_median_is_not_stable() -> None:
    assert not stable(_summary(0.0, 0.0, 0.0))


def _samples(n: int, base_ms: float = 10.0) -> list[float]:
    return [base_ms * MS * (1 + (i % 7) / 100) for i in range(n)]


def test_the_stop_rule_waits_for_the_minimum_rounds() -> None:
    decide = stop_rule(budget(p95=2), min_rounds=30)
    assert not decide(_samples(29))
    assert decide(_samples(30))


def test_the_stop_rule_stops_once_every_limit_is_decided() -> None:
    decide = stop_rule(budget(p50=2, p95=100), min_rounds=5)
    assert not decide(_samples(20))  # p95's upper bound needs about 90 samples
    assert decide(_samples(200))


def test_the_stop_rule_continues_while_a_limit_is_between_the_bounds() -> None:
    decide = stop_rule(budget(p50=15), min_rounds=5)
    assert not decide([(10 + 10 * i / 1000) * MS for i in range(1000)])


def test_without_limits_the_stop_rule_waits_for_a_stable_median() -> None:
    decide = stop_rule(Budget(), min_rounds=5)
    assert decide(_samples(200))
    noisy = [(1 + 9 * (i % 2)) * MS for i in range(200)]
    assert not decide(noisy)


def test_when_saving_the_stop_rule_wants_enough_samples_for_a_comparison() -> None:
    decide = stop_rule(budget(p50=2), min_rounds=5, precise=True)
    assert not decide(_samples(MIN_COMPARE_SAMPLES - 1))
    assert decide(_samples(MIN_COMPARE_SAMPLES + 100))


def _reference(
    ratios: Sequence[float] = (1.5,), threshold: float | None = 0.1, **kwargs: Any
) -> Reference:
    """A baseline whose change estimates are ``ratios`` in turn (the last one repeats);
    waits between re-measurement blocks take no time."""
    queue = list(ratios)

    def estimate(now: Sequence[float], base: Sequence[float]) -> Change:
        ratio = queue.pop(0) if len(queue) > 1 else queue[0]
        return Change("min", ratio, ratio - 0.05, ratio + 0.05)

    kwargs.setdefault("sleep", lambda seconds: None)
    return Reference(_samples(100), threshold, estimate, **kwargs)


def _judged_against(reference: Reference) -> Judgement:
    """A ~1 ms function with no limits, measured against ``reference`` on a fake clock."""
    clock = FakeClock()
    judgement, _ = judge_callable(
        clock.work(jittered(MS_NS)), Budget(), plan(), mode="perf", clock=clock, reference=reference
    )
    return judgement


@pytest.mark.parametrize("ratio", [1.0, 0.5])
def test_with_a_baseline_the_stop_rule_stops_once_the_change_is_unchanged_or_improved(
    ratio: float,
) -> None:
    decide = stop_rule(Budget(), min_rounds=5, reference=_reference([ratio]))
    assert not decide(_samples(MIN_COMPARE_SAMPLES - 1))
    assert decide([(1 + 9 * (i % 2)) * MS for i in range(MIN_COMPARE_SAMPLES)])


def test_an_unchanged_change_keeps_sampling_while_slower_than_the_whole_baseline() -> None:
    # the baseline's first 100 samples ran at 12 ms, its later ones at 8 ms: 10 ms
    # samples read faster than the first (unchanged), 25 % slower than the rest
    base = [12 * MS] * 100 + [8 * MS] * 900
    reference = Reference(base, 0.1, estimate_change)
    decide = stop_rule(Budget(), min_rounds=5, reference=reference)
    assert estimate_change([10 * MS] * 100, base).ratio == 1.0
    assert not decide([10 * MS] * 100)
    assert decide([8.5 * MS] * 100)  # within the allowed slowdown of the whole baseline
    assert decide([8 * MS] * 1000 + [10 * MS] * 10)  # as many as the baseline: all read
    assert classify(estimate_change([10 * MS] * 300, base), 0.1) == "regressed"


def test_with_a_baseline_a_regression_keeps_sampling_until_the_median_is_stable() -> None:
    decide = stop_rule(Budget(), min_rounds=5, reference=_reference([1.5]))
    assert not decide([(1 + 9 * (i % 2)) * MS for i in range(500)])
    assert decide(_samples(500))


def test_with_a_baseline_an_undecided_change_waits_for_a_stable_median() -> None:
    decide = stop_rule(Budget(), min_rounds=5, reference=_reference([1.08]))
    assert not decide([(1 + 9 * (i % 2)) * MS for i in range(500)])
    assert decide(_samples(500))


# -- judge_callable ---------------------------------------------------------------------


def test_a_fast_function_passes_its_budget() -> None:
    clock = FakeClock()
    judgement, _ = judge_callable(
        clock.work(jittered(MS_NS)), budget(p95=20), plan(), mode="perf", clock=clock
    )
    assert [check.outcome for check in judgement.checks] == [Outcome.PASS]
    assert not judgement.confirmed
    assert judgement.messages == ()
    assert judgement.measurement.mode == "perf"
    assert judgement.summary.p50 == pytest.approx(1.03 * MS, rel=0.03)


def test_judge_callable_returns_the_result_of_the_function() -> None:
    clock = FakeClock()
    _, result = judge_callable(
        clock.work(jittered(MS_NS), result="done"), budget(p95=20), plan(), mode="body", clock=clock
    )
    assert result == "done"


def test_a_slow_function_fails_and_a_re_measurement_confirms_it(phases: Phases) -> None:
    clock = FakeClock()
    judgement, _ = judge_callable(
        clock.work(jittered(10 * MS_NS)), budget(p95=2), plan(), mode="perf", clock=clock
    )
    assert phases.started == 2
    assert [check.outcome for check in judgement.checks] == [Outcome.FAIL]
    assert judgement.confirmed
    assert judgement.measurement.n == sum(phases.sizes)
    assert judgement.summary.n == sum(phases.sizes)


def test_a_failure_the_re_measurement_does_not_repeat_is_inconclusive(phases: Phases) -> None:
    clock = FakeClock()
    slow_then_fast = clock.work(lambda n: 10 * MS_NS if phases.started == 1 else MS_NS)
    judgement, _ = judge_callable(slow_then_fast, budget(p95=2), plan(), mode="perf", clock=clock)
    assert phases.started == 2
    assert [check.outcome for check in judgement.checks] == [Outcome.INCONCLUSIVE]
    assert not judgement.confirmed
    assert judgement.messages == ("a re-measurement did not confirm the first measurement",)


def test_a_passing_function_is_measured_once(phases: Phases) -> None:
    clock = FakeClock()
    judge_callable(clock.work(jittered(MS_NS)), budget(p95=20), plan(), mode="perf", clock=clock)
    assert phases.started == 1


def test_measuring_stops_at_max_time_when_nothing_is_decided() -> None:
    clock = FakeClock()
    judgement, _ = judge_callable(
        clock.work(jittered(MS_NS)), budget(max=20), plan(max_time=0.5), mode="perf", clock=clock
    )
    assert judgement.checks[0].outcome is Outcome.PASS
    assert not judgement.checks[0].exact
    assert 0.5 <= judgement.measurement.elapsed < 0.75


def test_a_memory_budget_adds_a_memory_check_from_one_traced_call() -> None:
    clock = FakeClock()

    def allocate() -> object:
        clock.now += MS_NS
        return bytearray(2_000_000)

    judgement, _ = judge_callable(
        allocate, Budget(memory=1_000_000), plan(max_time=0.05), mode="perf", clock=clock
    )
    (check,) = judgement.checks
    assert (check.stat, check.outcome) == ("memory", Outcome.FAIL)
    peak = judgement.measurement.memory_peak
    assert peak is not None
    assert peak >= 2_000_000


def test_without_a_memory_budget_memory_is_not_traced() -> None:
    clock = FakeClock()
    judgement, _ = judge_callable(
        clock.work(jittered(MS_NS)), budget(p95=20), plan(), mode="perf", clock=clock
    )
    assert judgement.measurement.memory_peak is None


def test_a_regression_is_confirmed_by_re_measurement_blocks_spread_out_in_time(
    phases: Phases,
) -> None:
    sleeps: list[float] = []
    judgement = _judged_against(_reference([1.5], sleep=sleeps.append))
    assert phases.started == 1 + measure.SPREAD_BLOCKS
    assert sleeps == [measure.SPREAD_GAP] * (measure.SPREAD_BLOCKS - 1)  # the first at once
    assert judgement.regression == "regressed"
    assert judgement.confirmed
    assert judgement.messages == ()
    assert judgement.change is not None
    assert judgement.change.threshold == 0.1
    assert judgement.measurement.n == sum(phases.sizes)  # every block's samples count


def test_each_re_measurement_block_is_short(phases: Phases) -> None:
    _judged_against(_reference([1.5]))
    # max_time 5 s: a block lasts 1 s (SPREAD_BLOCK of it) of ~1 ms samples
    block = round(measure.SPREAD_BLOCK * plan().max_time / MS)
    assert all(0.9 * block <= size <= 1.1 * block for size in phases.sizes[1:])


def test_one_block_that_clears_a_regression_makes_it_inconclusive_and_stops(
    phases: Phases,
) -> None:
    sleeps: list[float] = []
    reference = Reference(
        _samples(100), 0.1, _by_phase(phases, [1.5, 1.5, 1.5, 1.02]), sleep=sleeps.append
    )
    judgement = _judged_against(reference)
    assert phases.started == 4
    assert sleeps == [measure.SPREAD_GAP] * 2
    assert judgement.regression == "inconclusive"
    assert not judgement.confirmed
    assert judgement.change is not None
    assert judgement.change.ratio == 1.02
    assert judgement.messages == (
        "a re-measurement did not confirm the slowdown the first measurement showed (min +50 %)",
    )


@pytest.mark.parametrize(
    ("ratios", "status"), [([1.5], "regressed"), ([1.5, 1.02], "inconclusive")]
)
def test_without_the_spread_a_regression_is_re_measured_in_one_block_at_once(
    phases: Phases, ratios: list[float], status: str
) -> None:
    sleeps: list[float] = []
    reference = Reference(
        _samples(100), 0.1, _by_phase(phases, ratios), sleep=sleeps.append, spread=False
    )
    judgement = _judged_against(reference)
    assert phases.started == 2
    assert sleeps == []
    assert judgement.regression == status
    assert judgement.confirmed is (status == "regressed")
    unconfirmed = "a re-measurement did not confirm the slowdown the first measurement showed"
    assert judgement.messages == (
        measure.NOT_SPREAD if status == "regressed" else f"{unconfirmed} (min +50 %)",
    )


def test_a_regression_the_first_block_does_not_repeat_is_inconclusive(phases: Phases) -> None:
    judgement = _judged_against(Reference(_samples(100), 0.1, _by_phase(phases, [1.5, 1.0])))
    assert phases.started == 2
    assert judgement.regression == "inconclusive"
    assert not judgement.confirmed
    assert judgement.messages == (
        "a re-measurement did not confirm the slowdown the first measurement showed (min +50 %)",
    )


def test_a_limit_and_a_regression_neither_confirmed_each_say_so(phases: Phases) -> None:
    clock = FakeClock()
    slow_then_fast = clock.work(lambda n: 10 * MS_NS if phases.started == 1 else MS_NS)
    reference = Reference(_samples(100), 0.1, _by_phase(phases, [1.5, 1.0]))
    judgement, _ = judge_callable(
        slow_then_fast, budget(p95=2), plan(), mode="perf", clock=clock, reference=reference
    )
    assert (judgement.regression, judgement.confirmed) == ("inconclusive", False)
    assert judgement.messages == (
        measure.NOT_CONFIRMED,
        "a re-measurement did not confirm the slowdown the first measurement showed (min +50 %)",
    )


def test_a_regression_flagged_while_saving_is_not_re_measured(phases: Phases) -> None:
    clock = FakeClock()
    judgement, _ = judge_callable(
        clock.work(jittered(MS_NS)), Budget(), plan(), mode="perf", clock=clock,
        reference=_reference([1.5]), precise=True,
    )  # fmt: skip
    assert phases.started == 1
    assert judgement.regression == "inconclusive"
    assert judgement.messages == (measure.NOT_RE_MEASURED,)
    assert not judgement.confirmed


def test_a_measurement_to_be_saved_samples_at_least_save_time(phases: Phases) -> None:
    clock = FakeClock()
    judgement, _ = judge_callable(
        clock.work(jittered(MS_NS)), Budget(), plan(), mode="perf", clock=clock, precise=True
    )
    assert judgement.measurement.elapsed >= measure.SAVE_TIME
    quick, _ = judge_callable(
        clock.work(jittered(MS_NS)), Budget(), plan(), mode="perf", clock=FakeClock()
    )
    assert quick.measurement.elapsed < measure.SAVE_TIME


def test_a_failed_limit_and_a_regression_get_both_re_measurements(phases: Phases) -> None:
    clock = FakeClock()
    judgement, _ = judge_callable(
        clock.work(jittered(MS_NS)), budget(p95=0.5), plan(), mode="perf", clock=clock,
        reference=_reference([1.5]),
    )  # fmt: skip
    assert phases.started == 2 + measure.SPREAD_BLOCKS
    assert judgement.regression == "regressed"
    assert judgement.checks[0].outcome is Outcome.FAIL
    assert judgement.confirmed


def _by_phase(phases: Phases, ratios: Sequence[float]) -> Callable[..., Change]:
    """Change estimates by measurement: ``ratios[k]`` during the (k+1)-th."""

    def estimate(now: Sequence[float], base: Sequence[float]) -> Change:
        ratio = ratios[min(phases.started, len(ratios)) - 1]
        return Change("min", ratio, ratio - 0.05, ratio + 0.05)

    return estimate


def test_a_baseline_without_a_threshold_reports_the_change_but_never_gates() -> None:
    judgement = _judged_against(_reference([3.0], threshold=None))
    assert judgement.regression is None
    assert judgement.change is not None
    assert judgement.change.ratio == 3.0
    assert judgement.change.threshold is None


# -- judge_samples ------------------------------------------------------------------------


def _measurement(ms: Sequence[float], mode: str = "sample") -> Measurement:
    return Measurement(tuple(round(v * MS_NS) for v in ms), mode=mode)


def test_samples_within_budget_pass() -> None:
    judgement = judge_samples(_measurement([1.0] * 20), budget(p95=5))
    assert [check.outcome for check in judgement.checks] == [Outcome.PASS]
    assert judgement.messages == ()


def test_samples_over_budget_fail_without_a_re_measurement() -> None:
    judgement = judge_samples(_measurement([50.0] * 20), budget(p95=5))
    assert [check.outcome for check in judgement.checks] == [Outcome.FAIL]
    assert not judgement.confirmed
    assert judgement.messages == ("decided on the test's own 20 samples, without a re-measurement",)


def test_a_memory_budget_is_not_checked_on_samples() -> None:
    judgement = judge_samples(_measurement([1.0] * 5), Budget(memory=10))
    assert judgement.checks == ()
    assert judgement.messages == ("memory budgets need perf(fn) or a timed test body; not checked",)


def test_a_sample_regression_counts_only_when_its_whole_interval_is_over_the_allowance() -> None:
    judgement = judge_samples(_measurement([1.0] * 60), Budget(), _reference([1.5]))
    assert judgement.regression == "regressed"


def test_a_sample_regression_with_a_low_end_inside_the_allowance_is_inconclusive() -> None:
    judgement = judge_samples(_measurement([1.0] * 60), Budget(), _reference([1.12]))
    assert judgement.regression == "inconclusive"
    assert judgement.messages == (
        "flagged as slower, but samples the test takes cannot be re-measured",
    )


def test_a_sample_regression_of_a_statistic_without_an_interval_is_inconclusive() -> None:
    reference = Reference(_samples(100), 0.1, lambda now, base: Change("min", 1.5, 1.5, 1.5))
    judgement = judge_samples(_measurement([1.0] * 60), Budget(), reference)
    assert judgement.regression == "inconclusive"


def _assert_took_the_fresh_verdict(judgement: Judgement, fresh: Measurement) -> None:
    """The judgement is a fresh process's, which read min +2 % where this one read +50 %."""
    assert (judgement.regression, judgement.confirmed) == ("unchanged", False)
    assert judgement.measurement is fresh
    assert judgement.summary.min == 5 * MS
    assert judgement.change is not None
    assert (judgement.change.ratio, judgement.change.threshold) == (1.02, 0.1)
    assert judgement.messages == (
        "not confirmed in a fresh process: this process read min +50 %, a fresh one "
        "min +2.0 %, so the code is not that much slower; the verdict is the fresh process's",
    )


def _fresh_sampled(tracer: str | None) -> Measurement:
    return Measurement([5 * MS_NS] * 60, tracer=tracer, mode="sample")


def _fresh_samples(
    *ratios: float, fresh: Callable[[str | None], Measurement] | None = None, **kwargs: Any
) -> tuple[Judgement, list[Measurement]]:
    """Samples of 1 ms that read min +50 % against their baseline, judged with fresh
    processes (of 5 ms samples, or ``fresh``) that read ``ratios`` in turn; the
    judgement, and the fresh measurements taken."""
    taken: list[Measurement] = []
    queue = list(ratios)

    def measure_fresh(tracer: str | None) -> Measurement:
        taken.append((fresh or _fresh_sampled)(tracer))
        return taken[-1]

    def estimate(now: Sequence[float], base: Sequence[float]) -> Change:
        ratio = queue.pop(0) if now[0] == 5 * MS else 1.5
        return Change("min", ratio, ratio, ratio)

    reference = Reference(_samples(100), 0.1, estimate, fresh=measure_fresh, **kwargs)
    return judge_samples(_measurement([1.0] * 60), Budget(), reference), taken


def test_a_sample_regression_two_fresh_processes_read_too_stands() -> None:
    judgement, taken = _fresh_samples(1.4, 1.3)
    assert len(taken) == 2
    assert (judgement.regression, judgement.confirmed) == ("regressed", True)
    assert judgement.summary.min == MS  # the test's own samples
    assert judgement.change is not None
    assert judgement.change.ratio == 1.5
    assert judgement.messages == ("confirmed in 2 fresh processes (min +40 %, min +30 %)",)


@pytest.mark.parametrize("ratios", [(1.02,), (1.4, 1.02)], ids=["first", "second"])
def test_a_sample_regression_a_fresh_process_does_not_read_takes_its_verdict(
    ratios: tuple[float, ...],
) -> None:
    judgement, taken = _fresh_samples(*ratios)
    assert len(taken) == len(ratios)
    _assert_took_the_fresh_verdict(judgement, taken[-1])


def _fails_there(tracer: str | None) -> Measurement:
    raise RecheckError("the test failed there")


def _times_the_body_there(tracer: str | None) -> Measurement:
    return Measurement([5 * MS_NS] * 60, mode="body")


@pytest.mark.parametrize(
    ("fresh", "why"),
    [
        (_fails_there, "the test failed there"),
        (_times_the_body_there, "it took 'body' samples there, not 'sample'"),
    ],
    ids=["it-fails-there", "it-measures-another-way"],
)
def test_a_sample_regression_no_fresh_process_can_measure_is_inconclusive(
    fresh: Callable[[str | None], Measurement], why: str
) -> None:
    judgement, _ = _fresh_samples(fresh=fresh)
    assert (judgement.regression, judgement.confirmed) == ("inconclusive", False)
    assert judgement.messages == (
        "flagged as slower, but samples the test takes cannot be re-measured here, nor in a "
        f"fresh process: {why}",
    )


def test_a_sample_regression_after_the_runs_first_regressions_stands_unconfirmed() -> None:
    judgement, taken = _fresh_samples(spread=False)
    assert taken == []
    assert (judgement.regression, judgement.confirmed) == ("regressed", False)
    assert judgement.messages == (
        "flagged as slower; not measured again in fresh processes: this run had already "
        "confirmed 3 regressions",
    )


def test_a_confirmed_sample_regression_leaves_an_unconfirmed_limit_failure_said() -> None:
    reference = Reference(
        _samples(100), 0.1, lambda now, base: Change("min", 1.5, 1.5, 1.5), fresh=_fresh_sampled
    )
    judgement = judge_samples(_measurement([50.0] * 20), budget(p95=5), reference)
    assert (judgement.regression, judgement.confirmed) == ("regressed", True)
    assert judgement.messages[-1] == (
        "decided on the test's own 20 samples, without a re-measurement"
    )


@dataclass
class _Again:
    """Measurements taken again, of ``ms`` a call (``iterations`` calls a sample);
    ``fail`` raises instead. Counts them."""

    ms: float = 50.0
    iterations: int = 1
    fail: str | None = None
    taken: int = 0

    def __call__(self) -> Measurement:
        self.taken += 1
        if self.fail is not None:
            raise RepetitionError(self.fail)
        ns = round(self.ms * MS_NS * self.iterations)
        return Measurement((ns,) * 10, iterations=self.iterations, mode="benchmark")


def test_samples_over_budget_taken_again_are_confirmed_by_the_second_measurement() -> None:
    again = _Again()
    judgement = judge_samples(_measurement([50.0] * 20), budget(p95=5), again=again)
    assert [check.outcome for check in judgement.checks] == [Outcome.FAIL]
    assert (judgement.confirmed, again.taken, judgement.measurement.n) == (True, 1, 30)
    assert judgement.messages == ()


def test_samples_over_budget_a_second_measurement_clears_are_inconclusive() -> None:
    judgement = judge_samples(_measurement([50.0] * 20), budget(p95=5), again=_Again(ms=1.0))
    assert [check.outcome for check in judgement.checks] == [Outcome.INCONCLUSIVE]
    assert judgement.messages == (measure.NOT_CONFIRMED,)


def test_samples_taken_again_with_other_iterations_are_merged_per_call() -> None:
    again = _Again(ms=40.0, iterations=4)
    judgement = judge_samples(_measurement([50.0] * 20), budget(p95=5), again=again)
    measurement = judgement.measurement
    assert (measurement.n, measurement.iterations) == (30, 1)
    assert min(measurement.seconds) == pytest.approx(0.040)
    assert max(measurement.seconds) == pytest.approx(0.050)


def test_samples_that_cannot_be_taken_again_are_decided_on_their_own() -> None:
    again = _Again(fail="the test failed when run again: AssertionError: no")
    judgement = judge_samples(_measurement([50.0] * 20), budget(p95=5), again=again)
    assert [check.outcome for check in judgement.checks] == [Outcome.FAIL]
    assert judgement.messages == (
        "could not be measured again to confirm: the test failed when run again: "
        "AssertionError: no",
        "decided on the test's own 20 samples, without a re-measurement",
    )


def test_a_sample_regression_is_not_taken_again() -> None:
    again = _Again()
    judgement = judge_samples(_measurement([1.0] * 60), Budget(), _reference([1.12]), again=again)
    assert (judgement.regression, again.taken) == ("inconclusive", 0)


# -- Perf -----------------------------------------------------------------------------------


def _perf(clock: FakeClock | None = None, **kwargs: Any) -> Perf:
    return Perf(budget(p95=20), plan(), clock=clock or FakeClock(), **kwargs)


def test_perf_returns_the_result_and_passes_arguments() -> None:
    perf = _perf()
    assert perf(lambda a, *, b: a * b, 6, b=7) == 42
    assert perf.judgement is not None
    assert perf.judgement.measurement.mode == "perf"


def test_perf_measures_with_the_given_clock() -> None:
    clock = FakeClock()
    perf = _perf(clock)
    perf(clock.work(jittered(MS_NS)))
    assert perf.judgement is not None
    assert perf.judgement.summary.p50 == pytest.approx(1.03 * MS, rel=0.03)


def test_a_disabled_perf_calls_the_function_once() -> None:
    calls: list[int] = []
    perf = _perf(enabled=False)
    assert perf(lambda: calls.append(1) or "ok") == "ok"
    assert calls == [1]
    assert perf.judgement is None


def test_perf_needs_a_callable() -> None:
    with pytest.raises(
        SpecError, match=r"^perf\(\) needs a callable as its first argument, got 3$"
    ):
        _perf()(3)  # type: ignore[arg-type]


def test_perf_awaits_a_coroutine_function_on_its_own_loop() -> None:
    async def answer(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    perf = _perf()
    assert perf(answer, 41) == 42
    assert perf._closing
    loop = perf._closing[0]
    perf.close()
    assert loop.is_closed()
    assert not perf._closing


@pytest.mark.parametrize(("saved", "compared"), [("perf", True), ("body", False)])
def test_perf_drops_a_reference_of_samples_taken_another_way(saved: str, compared: bool) -> None:
    """A ``perf`` fixture's baseline entry is read at its setup, before the test chose
    how it measures: an entry of another mode is not compared (the verdict reads new)."""
    clock = FakeClock()
    perf = _perf(clock, reference=_reference([1.0], compares=lambda mode: mode == saved))
    perf(clock.work(lambda _: MS_NS))
    assert perf.judgement is not None
    assert (perf.judgement.change is not None) is compared
    assert (perf.reference is not None) is compared


def test_pedantic_rounds_time_each_call_after_its_untimed_setup() -> None:
    clock = FakeClock()
    log: list[str] = []

    def setup() -> tuple[tuple[int], dict[str, int]]:
        clock.now += 50 * MS_NS  # a slow set-up: not in the samples
        log.append("setup")
        return (6,), {"b": 7}

    work = clock.work(lambda _: MS_NS)

    def call(a: int, *, b: int) -> int:
        log.append("call")
        work()
        return a * b

    def teardown(a: int, *, b: int) -> None:
        assert (a, b) == (6, 7)
        log.append("down")

    rounds = PedanticRounds(call, (), None, setup=setup, teardown=teardown)
    perf = _perf(clock)
    assert perf._rounds(rounds) == 42
    assert perf.judgement is not None
    assert perf.judgement.summary.p95 < 2 * MS
    assert perf.judgement.measurement.iterations == 1
    assert log[:3] == ["setup", "call", "down"]
    assert log[-2:] == ["setup", "call"]  # the last call is torn down by close()
    perf.close()
    assert log == ["setup", "call", "down"] * (len(log) // 3)
    perf.close()  # nothing more to tear down
    assert log.count("down") == log.count("setup")


def test_each_sample_block_is_one_sample() -> None:
    clock = FakeClock(read_ns=0)
    perf = _perf(clock)
    for ms in (1, 2, 3):
        with perf.sample():
            clock.now += ms * MS_NS
    measurement = perf.measurement()
    assert measurement is not None
    assert (tuple(measurement.sample_ns), measurement.mode) == (
        (MS_NS, 2 * MS_NS, 3 * MS_NS),
        "sample",
    )


def test_a_sample_block_that_raises_is_not_recorded() -> None:
    clock = FakeClock()
    perf = _perf(clock)

    def failing_block() -> None:
        with perf.sample():
            clock.now += MS_NS
            raise KeyError

    with pytest.raises(KeyError):
        failing_block()
    assert perf.measurement() is None


def test_recorded_seconds_become_samples() -> None:
    perf = _perf()
    perf.record(0.001)
    perf.record(0)
    measurement = perf.measurement()
    assert measurement is not None
    assert (tuple(measurement.sample_ns), measurement.mode) == ((MS_NS, 0), "record")
    assert measurement.elapsed == pytest.approx(0.001)


@pytest.mark.parametrize("value", [-0.1, math.inf, math.nan, "1s", True, None])
def test_recording_a_bad_value_is_an_error(value: object) -> None:
    with pytest.raises(SpecError) as info:
        _perf().record(value)  # type: ignore[arg-type]
    assert str(info.value) == (
        f"perf.record() got {value!r}; expected a duration in seconds: a finite number >= 0 "
        "(e.g. 0.0123)"
    )


def test_nothing_measured_means_no_measurement() -> None:
    assert _perf().measurement() is None


def test_a_disabled_perf_records_no_samples() -> None:
    perf = _perf(enabled=False)
    with perf.sample():
        pass
    assert perf.measurement() is None


def test_a_disabled_perf_records_no_durations() -> None:
    perf = _perf(enabled=False)
    perf.record(1.0)
    assert perf.measurement() is None


def test_a_disabled_perf_still_rejects_mixed_modes() -> None:
    perf = _perf(enabled=False)
    perf.record(1.0)
    with pytest.raises(SpecError, match=r"perf\.sample\(\) cannot follow perf\.record\(\)"):
        perf.sample().__enter__()


def test_calling_perf_twice_is_an_error() -> None:
    perf = _perf()
    perf(len, "a")
    with pytest.raises(SpecError) as info:
        perf(len, "b")
    assert str(info.value) == (
        "perf() cannot follow perf() in the same test: one test measures one thing "
        "(call perf(fn) once, or use only perf.sample(), or only perf.record()); "
        "split the test to budget several"
    )


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("sample", "record", r"perf\.record\(\) cannot follow perf\.sample\(\)"),
        ("record", "sample", r"perf\.sample\(\) cannot follow perf\.record\(\)"),
        ("record", "perf", r"perf\(\) cannot follow perf\.record\(\)"),
        ("perf", "sample", r"perf\.sample\(\) cannot follow perf\(\)"),
    ],
)
def test_mixing_modes_is_an_error(first: str, second: str, message: str) -> None:
    perf = _perf()

    def use(mode: str) -> None:
        if mode == "perf":
            perf(len, "a")
        elif mode == "record":
            perf.record(0.001)
        else:
            with perf.sample():
                pass

    use(first)
    with pytest.raises(SpecError, match=message):
        use(second)


def test_samples_and_records_may_repeat() -> None:
    perf = _perf()
    for _ in range(3):
        perf.record(0.001)
    measurement = perf.measurement()
    assert measurement is not None
    assert measurement.n == 3


# -- a confirmed regression measured again in a fresh process (recheck) ---------------


def _fresh(tracer: str | None = None) -> Measurement:
    """What a fresh process measures of the test: samples no fake-clock call gives."""
    return Measurement([5 * MS_NS] * 60, tracer=tracer)


def _rechecked(
    fresh_ratio: float, recheck: Callable[[str | None], Measurement] | None = None, **kwargs: Any
) -> tuple[Judgement, list[Measurement]]:
    """A ~1 ms function whose every measurement here reads min +50 % against its
    baseline, and a fresh process's (:func:`_fresh`) ``fresh_ratio``; the judgement, and
    the fresh measurements taken."""
    taken: list[Measurement] = []

    def fresh(tracer: str | None) -> Measurement:
        taken.append((recheck or _fresh)(tracer))
        return taken[-1]

    def estimate(now: Sequence[float], base: Sequence[float]) -> Change:
        ratio = fresh_ratio if now[0] == 5 * MS else 1.5
        return Change("min", ratio, ratio - 0.05, ratio + 0.05)

    reference = Reference(
        _samples(100), 0.1, estimate, sleep=lambda seconds: None, recheck=fresh, **kwargs
    )
    return _judged_against(reference), taken


def test_a_regression_a_fresh_process_does_not_read_takes_the_fresh_verdict() -> None:
    judgement, taken = _rechecked(1.02)
    assert len(taken) == 1
    _assert_took_the_fresh_verdict(judgement, taken[0])


def test_a_regression_a_fresh_process_reads_too_stands() -> None:
    judgement, taken = _rechecked(1.4)
    assert len(taken) == 1
    assert (judgement.regression, judgement.confirmed) == ("regressed", True)
    assert judgement.measurement is not taken[0]  # the verdict rests on this process's
    assert judgement.change is not None
    assert judgement.change.ratio == 1.5
    assert judgement.messages == ("confirmed in a fresh process (min +40 %)",)


def test_a_regression_that_cannot_be_re_checked_stands_and_says_why() -> None:
    def broken(tracer: str | None) -> Measurement:
        raise RecheckError("the test failed there")

    judgement, _ = _rechecked(1.02, broken)
    assert (judgement.regression, judgement.confirmed) == ("regressed", True)
    assert judgement.messages == ("not re-checked in a fresh process: the test failed there",)


def test_a_regression_a_fresh_process_does_not_read_is_not_re_measured_here(
    phases: Phases,
) -> None:
    _, taken = _rechecked(1.02)
    assert len(taken) == 1
    assert phases.started == 1  # no spread: the fresh process's verdict stands


def test_a_regression_a_fresh_process_reads_is_still_re_measured_here(phases: Phases) -> None:
    taken: list[str] = []

    def fresh(tracer: str | None) -> Measurement:
        taken.append(f"fresh after measurement {phases.started}")
        return _fresh(tracer)

    reference = Reference(
        _samples(100), 0.1, _by_phase(phases, [1.5, 1.0]), sleep=lambda seconds: None,
        recheck=fresh,
    )  # fmt: skip
    judgement = _judged_against(reference)
    assert taken == ["fresh after measurement 1"]
    assert phases.started == 2  # the spread's first block cleared it
    assert judgement.regression == "inconclusive"
    assert judgement.messages == (
        "confirmed in a fresh process (min +50 %)",
        "a re-measurement did not confirm the slowdown the first measurement showed (min +50 %)",
    )


def test_once_a_process_confirmed_enough_regressions_it_re_checks_none() -> None:
    judgement, taken = _rechecked(1.02, spread=False)
    assert not taken
    assert judgement.regression == "regressed"
    assert judgement.messages == (measure.NOT_SPREAD,)


def test_a_save_re_checks_nothing() -> None:
    clock = FakeClock()
    taken: list[str] = []
    reference = _reference([1.5], recheck=lambda tracer: taken.append("fresh") or _fresh())
    judge_callable(
        clock.work(jittered(MS_NS)), Budget(), plan(), mode="perf", clock=clock,
        reference=reference, precise=True,
    )  # fmt: skip
    assert taken == []


def test_the_fresh_process_is_asked_for_this_measurement_s_tracer() -> None:
    judgement, taken = _rechecked(1.4)
    assert [fresh.tracer for fresh in taken] == [judgement.measurement.tracer]
