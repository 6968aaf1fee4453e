"""The paired effect (STATISTICS.md rule 3): per-round log-ratios, their median, and a
distribution-free 99 % interval from sign-test order statistics."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pytest_perfbudget.model import Change
from pytest_perfbudget.units import counted, format_change

__all__ = ["CONFIDENCE", "describe", "log_ratios", "paired_change"]

#: Two-sided confidence of the reported interval.
CONFIDENCE = 0.99

_WHAT = {
    "regressed": "is slower than at",
    "improved": "is faster than at",
    "unchanged": "matches",
    "inconclusive": "cannot be told apart from",
    None: "compared with",
}


def log_ratios(base_ns: Sequence[int], head_ns: Sequence[int]) -> list[float]:
    """``d_r = log(head_r / base_r)`` for each round, sorted."""
    return sorted(math.log(max(h, 1) / max(b, 1)) for b, h in zip(base_ns, head_ns, strict=False))


def paired_change(
    base_ns: Sequence[int],
    head_ns: Sequence[int],
    *,
    against: str,
    threshold: float | None,
    confidence: float = CONFIDENCE,
) -> Change:
    """``exp(median d_r)`` with the order statistics of the d_r that bound the median
    at ``1 - (1 - confidence) / 2`` on each side (the sample extremes when too few)."""
    from pytest_perfbudget.stats import order_statistic_ranks

    d = log_ratios(base_ns, head_ns)
    if not d:
        raise ValueError("paired_change() needs at least one round")
    n = len(d)
    middle = d[n // 2] if n % 2 else (d[n // 2 - 1] + d[n // 2]) / 2
    lower, upper = order_statistic_ranks(n, 0.5, 1 - (1 - confidence) / 2)
    low = d[lower - 1] if lower is not None else d[0]
    high = d[upper - 1] if upper is not None else d[-1]
    return Change(
        stat="time",
        ratio=math.exp(middle),
        low=math.exp(low),
        high=math.exp(high),
        mode="paired",
        threshold=threshold,
        against=against,
    )


def describe(change: Change, verdict: str | None, *, rounds: int, calls: int) -> str:
    """The paired comparison as a sentence, with its interval and how it was measured."""
    allowed = "" if change.threshold is None else f", allowed +{change.threshold * 100:g} %"
    against = change.against or "the base revision"
    return (
        f"time {_WHAT[verdict]} {against}: {format_change(change.ratio)} "
        f"(99 % interval {format_change(change.low)} … {format_change(change.high)}{allowed}); "
        f"paired against {against}, {counted(rounds, 'round')} of {counted(calls, 'call')} per side"
    )
