"""Decisions: (budget, summary, baseline) -> checks and a verdict. No I/O, no pytest.

Absolute budgets follow STATISTICS.md rule 1: a limit passes when the 99 %
upper bound of its statistic is within it and fails when the 99 % lower bound is
above it; in between the engine keeps sampling, and at the end the check is
inconclusive. Where there are too few samples for a bound, the final decision
falls back to the point estimate and says so (``exact=False``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pytest_perfbudget.model import Budget, Change, Check, Outcome, Status, Summary, Verdict
from pytest_perfbudget.units import counted, format_change, format_duration, format_size

__all__ = [
    "amounts",
    "check_limits",
    "check_memory",
    "decided",
    "describe_check",
    "formatter",
    "limit_status",
    "verdict_status",
]

_CHANGE_STATUS = {
    "regressed": Status.REGRESSED,
    "improved": Status.IMPROVED,
    "unchanged": Status.UNCHANGED,
    "inconclusive": Status.INCONCLUSIVE,
}


def check_limit(stat: str, limit: float, summary: Summary, *, final: bool) -> Check:
    """Decide one budgeted statistic; undecided checks are inconclusive."""
    low, high = summary.bound(stat)
    observed = summary.value(stat)

    def make(outcome: Outcome, exact: bool = True) -> Check:
        return Check(stat, limit, observed, low, high, outcome, exact)

    if high is not None and high <= limit:
        return make(Outcome.PASS)
    if low is not None and low > limit:
        return make(Outcome.FAIL)
    if final and high is None and observed <= limit:
        return make(Outcome.PASS, exact=False)
    if final and low is None and observed > limit:
        return make(Outcome.FAIL, exact=False)
    return make(Outcome.INCONCLUSIVE, exact=low is not None and high is not None)


def check_limits(budget: Budget, summary: Summary, *, final: bool) -> tuple[Check, ...]:
    """One check per budgeted statistic, in the budget's order."""
    return tuple(
        check_limit(stat, limit, summary, final=final) for stat, limit in budget.limits.items()
    )


def check_memory(limit: int, peak: int) -> Check:
    """A memory budget: one untimed call's traced peak against its limit."""
    outcome = Outcome.PASS if peak <= limit else Outcome.FAIL
    return Check("memory", float(limit), float(peak), float(peak), float(peak), outcome)


def decided(checks: Sequence[Check]) -> bool:
    """True when every check passed or failed on exact bounds."""
    return all(check.outcome is not Outcome.INCONCLUSIVE and check.exact for check in checks)


def limit_status(checks: Sequence[Check]) -> Status:
    """The status the limits alone give: over budget, inconclusive, or pass."""
    outcomes = {check.outcome for check in checks}
    if Outcome.FAIL in outcomes:
        return Status.OVER_BUDGET
    if Outcome.INCONCLUSIVE in outcomes:
        return Status.INCONCLUSIVE
    return Status.PASS


def verdict_status(limits: Status, regression: str | None) -> Status:
    """The status of the limits and the change together: over budget beats regressed,
    regressed beats inconclusive; otherwise the change decides (the limits without one)."""
    change = _CHANGE_STATUS.get(regression or "")
    if limits is Status.OVER_BUDGET or change is None:
        return limits
    if change is Status.REGRESSED or limits is not Status.INCONCLUSIVE:
        return change
    return limits


def formatter(stat: str) -> Callable[..., str]:
    """How a value of ``stat`` is written: bytes for ``memory``, else a duration."""
    return format_size if stat == "memory" else format_duration


def _amount(stat: str, value: float) -> str:
    return formatter(stat)(value)


def _bounds_text(check: Check) -> str:
    if check.stat == "memory":
        return "one traced call"
    if check.low is None and check.high is None:
        return "too few samples for 99 % bounds"
    low = "–" if check.low is None else _amount(check.stat, check.low)
    high = "–" if check.high is None else _amount(check.stat, check.high)
    return f"99 % bounds {low} … {high}"


def amounts(stat: str, observed: float, limit: float) -> tuple[str, str]:
    """``observed`` and its ``limit`` as text, the observed value with as many more
    digits (up to six) as it takes to tell them apart: ``"200.4 ms"`` over a
    ``"200 ms"`` budget, not ``"200 ms"``."""
    fmt = formatter(stat)
    digits = 3
    while digits < 6 and observed != limit and fmt(observed, digits) == fmt(limit, digits):
        digits += 1
    return fmt(observed, digits), fmt(limit)


def _over(ratio: float) -> str:
    """How far over its budget a statistic is: ``+0.2 % over the budget`` (as the
    budget's own rounding would hide it), ``5.2x``, ``15x``, ``125x the budget``."""
    if ratio < 2:
        return f"{format_change(ratio)} over the budget"
    return f"{ratio:.2g}x the budget" if ratio < 100 else f"{ratio:.0f}x the budget"


def describe_check(check: Check) -> str:
    """A check as a sentence: "p95 23.1 ms is over its 2.00 ms budget (99 % bounds …)"."""
    observed, limit = amounts(check.stat, check.observed, check.limit)
    relation = {
        Outcome.PASS: "is within",
        Outcome.FAIL: "is over",
        Outcome.INCONCLUSIVE: "cannot be told apart from",
    }[check.outcome]
    ratio = f", {_over(check.observed / check.limit)}" if check.outcome is Outcome.FAIL else ""
    note = "" if check.exact else "; decided on the point estimate"
    if _over_unconfirmed(check):
        relation, note = "is over", f"{note}; not confirmed by a re-measurement"
    detail = f"{_bounds_text(check)}{ratio}{note}"
    return f"{check.stat} {observed} {relation} its {limit} budget ({detail})"


def _over_unconfirmed(check: Check) -> bool:
    """An inconclusive check whose samples are over the limit all the same: the first
    measurement failed it and a re-measurement alone did not (``measure._confirm``)."""
    if check.outcome is not Outcome.INCONCLUSIVE:
        return False
    if check.exact:
        return check.low is not None and check.low > check.limit
    return check.observed > check.limit


def describe_change(change: Change, baseline: Summary, verdict: str | None) -> str:
    """The stored comparison as a sentence, with the interval it was decided on (if the
    statistic has one) and the allowed slowdown (if it gates)."""
    what = {
        "regressed": "is slower than its baseline",
        "improved": "is faster than its baseline",
        "unchanged": "matches its baseline",
        "inconclusive": "cannot be told apart from its baseline",
        None: "compared with its baseline",
    }[verdict]
    gates = []
    if change.interval:
        gates.append(f"99 % interval {format_change(change.low)} … {format_change(change.high)}")
    if change.threshold is not None:
        gates.append(f"allowed +{change.threshold * 100:.3g} %")
    mode = "paired" if change.mode == "paired" else "stored"
    base = f"{mode} baseline p50 {format_duration(baseline.p50)}"
    detail = "; ".join(filter(None, (", ".join(gates), base)))
    return f"{change.stat} {what}: {format_change(change.ratio)} ({detail})"


def failure_text(verdict: Verdict, *, machine: str) -> str:
    """The failure message of a test whose verdict fails it."""
    lines = list(verdict.messages)
    meas = verdict.measurement
    if meas is not None and verdict.summary is not None:
        confirmed = ", confirmed by a re-measurement" if verdict.confirmed else ""
        lines.append(
            f"measured: n={verdict.summary.n} samples x {counted(meas.iterations, 'call')}, "
            f"{meas.timer} clock, {meas.elapsed:.2f} s spent{confirmed}"
        )
        if meas.tracer:
            lines.append(f"tracer: {meas.tracer}")
    lines.append(f"machine: {machine}")
    return "\n".join(lines)
