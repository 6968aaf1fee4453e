"""Rule-1 decisions on absolute budgets, and the sentences that explain them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pytest_perfbudget.compare import (
    amounts,
    check_limit,
    check_limits,
    check_memory,
    decided,
    describe_change,
    describe_check,
    failure_text,
    limit_status,
    verdict_status,
)
from pytest_perfbudget.model import (
    Budget,
    Change,
    Check,
    Measurement,
    Outcome,
    Status,
    Summary,
    Verdict,
)

MS = 1e-3


def _summary(
    p95: float = 10 * MS, bounds: tuple[float | None, float | None] = (None, None)
) -> Summary:
    """A summary whose p95 (and every other statistic) is ``p95``, with p95's bounds."""
    return Summary(
        n=50,
        mean=p95,
        stdev=0.0,
        min=p95,
        p50=p95,
        p75=p95,
        p90=p95,
        p95=p95,
        p99=p95,
        p999=p95,
        max=p95,
        bounds={"p95": bounds, "p50": (p95 * 0.9, p95 * 1.1)},
    )


def _check(outcome: Outcome, **kwargs: object) -> Check:
    fields: dict[str, object] = {
        "stat": "p95",
        "limit": 2 * MS,
        "observed": 10 * MS,
        "low": 9 * MS,
        "high": 12 * MS,
        "outcome": outcome,
        "exact": True,
    }
    fields.update(kwargs)
    return Check(**fields)  # type: ignore[arg-type]


# -- check_limit with exact bounds ------------------------------------------------------


def test_an_upper_bound_within_the_limit_passes() -> None:
    check = check_limit("p95", 20 * MS, _summary(bounds=(9 * MS, 12 * MS)), final=False)
    assert (check.outcome, check.exact) == (Outcome.PASS, True)


def test_an_upper_bound_equal_to_the_limit_passes() -> None:
    check = check_limit("p95", 12 * MS, _summary(bounds=(9 * MS, 12 * MS)), final=False)
    assert check.outcome is Outcome.PASS


def test_a_lower_bound_above_the_limit_fails() -> None:
    check = check_limit("p95", 5 * MS, _summary(bounds=(9 * MS, 12 * MS)), final=False)
    assert (check.outcome, check.exact) == (Outcome.FAIL, True)


def test_a_lower_bound_equal_to_the_limit_does_not_fail() -> None:
    check = check_limit("p95", 9 * MS, _summary(bounds=(9 * MS, 12 * MS)), final=True)
    assert check.outcome is Outcome.INCONCLUSIVE


@pytest.mark.parametrize("final", [False, True])
def test_a_limit_between_the_bounds_is_inconclusive(final: bool) -> None:
    check = check_limit("p95", 11 * MS, _summary(bounds=(9 * MS, 12 * MS)), final=final)
    assert (check.outcome, check.exact) == (Outcome.INCONCLUSIVE, True)


def test_a_check_carries_the_statistic_limit_observed_value_and_bounds() -> None:
    check = check_limit("p95", 20 * MS, _summary(bounds=(9 * MS, 12 * MS)), final=False)
    assert check == Check("p95", 20 * MS, 10 * MS, 9 * MS, 12 * MS, Outcome.PASS, True)


def test_median_is_checked_as_p50() -> None:
    check = check_limit("median", 20 * MS, _summary(), final=False)
    assert (check.low, check.high) == (pytest.approx(9 * MS), pytest.approx(11 * MS))


# -- check_limit without bounds: final decisions fall back to the point estimate ---------


def test_without_bounds_a_check_that_is_not_final_stays_inconclusive() -> None:
    check = check_limit("p95", 20 * MS, _summary(), final=False)
    assert (check.outcome, check.exact) == (Outcome.INCONCLUSIVE, False)


def test_without_bounds_a_final_check_passes_on_the_point_estimate() -> None:
    check = check_limit("p95", 20 * MS, _summary(), final=True)
    assert (check.outcome, check.exact) == (Outcome.PASS, False)


def test_without_bounds_a_final_check_fails_on_the_point_estimate() -> None:
    check = check_limit("p95", 5 * MS, _summary(), final=True)
    assert (check.outcome, check.exact) == (Outcome.FAIL, False)


def test_with_only_a_lower_bound_a_final_check_passes_on_the_point_estimate() -> None:
    check = check_limit("p95", 20 * MS, _summary(bounds=(9 * MS, None)), final=True)
    assert (check.outcome, check.exact) == (Outcome.PASS, False)


def test_with_only_a_lower_bound_a_point_estimate_over_the_limit_is_inconclusive() -> None:
    check = check_limit("p95", 9.5 * MS, _summary(bounds=(9 * MS, None)), final=True)
    assert (check.outcome, check.exact) == (Outcome.INCONCLUSIVE, False)


def test_with_only_an_upper_bound_a_final_check_fails_on_the_point_estimate() -> None:
    check = check_limit("p95", 5 * MS, _summary(bounds=(None, 12 * MS)), final=True)
    assert (check.outcome, check.exact) == (Outcome.FAIL, False)


# -- several checks ---------------------------------------------------------------------


def test_check_limits_gives_one_check_per_limit_in_the_budgets_order() -> None:
    budget = Budget(limits={"p95": 20 * MS, "p50": 1 * MS})
    checks = check_limits(budget, _summary(bounds=(9 * MS, 12 * MS)), final=False)
    assert [(c.stat, c.outcome) for c in checks] == [("p95", Outcome.PASS), ("p50", Outcome.FAIL)]


def test_a_budget_without_limits_gives_no_checks() -> None:
    assert check_limits(Budget(memory=10), _summary(), final=True) == ()


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        ([], True),
        ([_check(Outcome.PASS), _check(Outcome.FAIL)], True),
        ([_check(Outcome.PASS), _check(Outcome.INCONCLUSIVE)], False),
        ([_check(Outcome.PASS, exact=False)], False),
    ],
)
def test_decided_needs_every_check_passed_or_failed_on_exact_bounds(
    checks: list[Check], expected: bool
) -> None:
    assert decided(checks) is expected


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        ([], Status.PASS),
        ([Outcome.PASS], Status.PASS),
        ([Outcome.PASS, Outcome.INCONCLUSIVE], Status.INCONCLUSIVE),
        ([Outcome.INCONCLUSIVE, Outcome.FAIL], Status.OVER_BUDGET),
    ],
)
def test_limit_status_is_the_worst_outcome(outcomes: list[Outcome], status: Status) -> None:
    assert limit_status([_check(outcome) for outcome in outcomes]) is status


def test_a_memory_peak_within_the_limit_passes() -> None:
    assert check_memory(1000, 1000) == Check(
        "memory", 1000.0, 1000.0, 1000.0, 1000.0, Outcome.PASS, True
    )


def test_a_memory_peak_over_the_limit_fails() -> None:
    assert check_memory(1000, 1001).outcome is Outcome.FAIL


# -- sentences --------------------------------------------------------------------------


def test_a_failed_check_reads_as_a_sentence_with_bounds_and_ratio() -> None:
    assert describe_check(_check(Outcome.FAIL)) == (
        "p95 10.0 ms is over its 2.00 ms budget (99 % bounds 9.00 ms … 12.0 ms, 5x the budget)"
    )


def test_a_passed_check_reads_as_within_its_budget() -> None:
    check = _check(Outcome.PASS, limit=20 * MS)
    assert describe_check(check) == (
        "p95 10.0 ms is within its 20.0 ms budget (99 % bounds 9.00 ms … 12.0 ms)"
    )


def test_an_inconclusive_check_cannot_be_told_apart_from_its_budget() -> None:
    check = _check(Outcome.INCONCLUSIVE, limit=11 * MS)
    assert describe_check(check) == (
        "p95 10.0 ms cannot be told apart from its 11.0 ms budget (99 % bounds 9.00 ms … 12.0 ms)"
    )


def test_an_inconclusive_check_over_its_budget_says_a_re_measurement_did_not_confirm_it() -> None:
    check = _check(Outcome.INCONCLUSIVE, limit=8 * MS)
    assert describe_check(check) == (
        "p95 10.0 ms is over its 8.00 ms budget (99 % bounds 9.00 ms … 12.0 ms; "
        "not confirmed by a re-measurement)"
    )
    point = replace(check, low=None, high=None, exact=False)
    assert describe_check(point) == (
        "p95 10.0 ms is over its 8.00 ms budget (too few samples for 99 % bounds; decided on "
        "the point estimate; not confirmed by a re-measurement)"
    )


def test_a_missing_bound_is_shown_as_a_dash() -> None:
    check = _check(Outcome.FAIL, high=None)
    assert "(99 % bounds 9.00 ms … –, 5x the budget)" in describe_check(check)


def test_a_check_without_bounds_says_there_were_too_few_samples() -> None:
    check = _check(Outcome.FAIL, low=None, high=None, exact=False)
    assert describe_check(check) == (
        "p95 10.0 ms is over its 2.00 ms budget (too few samples for 99 % bounds, "
        "5x the budget; decided on the point estimate)"
    )


def test_a_memory_check_reads_in_bytes_from_one_traced_call() -> None:
    assert describe_check(check_memory(1_000_000, 3_000_000)) == (
        "memory 3.00 MB is over its 1.00 MB budget (one traced call, 3x the budget)"
    )


@pytest.mark.parametrize(
    ("observed", "ratio"),
    [(2.5, "+25 % over the budget"), (30, "15x the budget"), (250, "125x the budget")],
)
def test_how_far_over_the_budget_is_a_percentage_below_twice_it(
    observed: float, ratio: str
) -> None:
    check = _check(Outcome.FAIL, observed=observed * MS, low=None, high=None)
    assert describe_check(check).endswith(f", {ratio})")


def test_a_value_just_over_its_budget_gets_the_digits_that_tell_them_apart() -> None:
    check = _check(Outcome.FAIL, observed=200.4 * MS, limit=200 * MS, low=None, high=None)
    assert describe_check(check) == (
        "p95 200.4 ms is over its 200 ms budget (too few samples for 99 % bounds, "
        "+0.2 % over the budget)"
    )


@pytest.mark.parametrize(
    ("stat", "observed", "limit", "texts"),
    [
        ("p95", 0.2004, 0.2, ("200.4 ms", "200 ms")),
        ("p95", 0.19996, 0.2, ("199.96 ms", "200 ms")),
        ("p95", 0.2, 0.2, ("200 ms", "200 ms")),
        ("p95", 0.0201, 0.002, ("20.1 ms", "2.00 ms")),
        ("memory", 1_000_400, 1_000_000, ("1.0004 MB", "1.00 MB")),
        ("p95", 0.2 + 1e-12, 0.2, ("200.000 ms", "200 ms")),  # six digits at the most
    ],
)
def test_amounts_show_an_observed_value_apart_from_its_limit(
    stat: str, observed: float, limit: float, texts: tuple[str, str]
) -> None:
    assert amounts(stat, observed, limit) == texts


def test_a_change_reads_as_a_sentence_with_its_interval_and_allowance() -> None:
    change = Change("p10", 1.28, 1.21, 1.35, threshold=0.1)
    assert describe_change(change, _summary(p95=180 * MS), "regressed") == (
        "p10 is slower than its baseline: +28 % (99 % interval +21 % … +35 %, allowed +10 %; "
        "stored baseline p50 180 ms)"
    )


def test_a_fractional_allowance_is_shown_as_written() -> None:
    change = Change("p10", 1.0, 0.99, 1.01, threshold=0.025)
    assert ", allowed +2.5 %;" in describe_change(change, _summary(), "unchanged")


def test_a_paired_change_without_a_gate_says_so() -> None:
    change = Change("p10", 0.8, 0.75, 0.85, mode="paired")
    assert describe_change(change, _summary(p95=1 * MS), None) == (
        "p10 compared with its baseline: -20 % (99 % interval -25 % … -15 %; "
        "paired baseline p50 1.00 ms)"
    )


# -- failure text -----------------------------------------------------------------------


def _verdict(**kwargs: object) -> Verdict:
    measurement = Measurement((10_000_000,) * 20, iterations=1, timer="wall", elapsed=0.25)
    fields: dict[str, object] = {
        "nodeid": "t.py::test_x",
        "status": Status.OVER_BUDGET,
        "summary": _summary(),
        "measurement": measurement,
        "messages": ("p95 10.0 ms is over its 2.00 ms budget (…)",),
        "confirmed": True,
    }
    fields.update(kwargs)
    return Verdict(**fields)  # type: ignore[arg-type]


def test_the_failure_text_has_messages_measurement_and_machine_lines() -> None:
    assert failure_text(_verdict(), machine="AMD EPYC · 2 cores").splitlines() == [
        "p95 10.0 ms is over its 2.00 ms budget (…)",
        "measured: n=50 samples x 1 call, wall clock, 0.25 s spent, confirmed by a re-measurement",
        "machine: AMD EPYC · 2 cores",
    ]


def test_the_failure_text_does_not_claim_an_unconfirmed_failure_was_confirmed() -> None:
    text = failure_text(_verdict(confirmed=False), machine="m")
    assert "measured: n=50 samples x 1 call, wall clock, 0.25 s spent\n" in text


def test_the_failure_text_names_a_paused_tracer() -> None:
    measurement = Measurement((1,), timer="cpu", tracer="sys.settrace tracer paused (cov)")
    text = failure_text(_verdict(measurement=measurement), machine="m")
    assert "cpu clock" in text
    assert "\ntracer: sys.settrace tracer paused (cov)\n" in text


def test_the_failure_text_without_a_measurement_has_only_messages_and_machine() -> None:
    text = failure_text(_verdict(measurement=None, messages=("a", "b")), machine="m")
    assert text == "a\nb\nmachine: m"


@pytest.mark.parametrize(
    ("limits", "regression", "expected"),
    [
        (Status.OVER_BUDGET, "regressed", Status.OVER_BUDGET),
        (Status.INCONCLUSIVE, "regressed", Status.REGRESSED),
        (Status.INCONCLUSIVE, "unchanged", Status.INCONCLUSIVE),
        (Status.PASS, "improved", Status.IMPROVED),
        (Status.PASS, None, Status.PASS),
    ],
)
def test_status_precedence(limits: Status, regression: str | None, expected: Status) -> None:
    assert verdict_status(limits, regression) is expected


def test_a_change_without_an_interval_is_described_without_one() -> None:
    change = Change("min", 1.5, 1.5, 1.5, threshold=0.1)
    assert describe_change(change, _summary(p95=180 * MS), "regressed") == (
        "min is slower than its baseline: +50 % (allowed +10 %; stored baseline p50 180 ms)"
    )
    no_gate = Change("min", 1.5, 1.5, 1.5)
    assert describe_change(no_gate, _summary(p95=180 * MS), None) == (
        "min compared with its baseline: +50 % (stored baseline p50 180 ms)"
    )
