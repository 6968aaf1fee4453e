"""Statistics of per-call durations: percentiles and distribution-free bounds.

Percentiles use numpy's default (linear) definition so users can reproduce them.
Bounds on a quantile come from order statistics and the Binomial(n, q) law of how
many samples fall below it (STATISTICS.md rule 1). Imported lazily by the plugin.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from pytest_perfbudget import codec
from pytest_perfbudget.model import QUANTILES, Summary

__all__ = [
    "CONFIDENCE",
    "order_statistic_ranks",
    "quantile_bounds",
    "summarize",
    "thin",
]

#: Slack for a CDF that equals the confidence level exactly (e.g. 0.01**1 against 1 %):
#: such ties count as met, whatever the last bit numpy's rounding leaves.
_TIE = 1e-12
#: One-sided confidence of every bound reported.
CONFIDENCE = 0.99
#: One-sided 99 % normal quantile, for the normal-approximation bounds of the mean.
_Z99 = 2.3263478740408408
#: Binomial CDFs of larger n are evaluated only this many sd (plus a margin) around n*q.
_FULL_RANGE_N = 2_000
_WINDOW_SD = 10.0
_WINDOW_MARGIN = 10

FloatArray = npt.NDArray[np.float64]


def summarize(samples: Sequence[float]) -> Summary:
    """Summary of per-call seconds: moments, percentiles, and their 99 % bounds."""
    data = np.sort(np.asarray(samples, dtype=np.float64))
    if data.size == 0:
        raise ValueError("summarize() needs at least one sample")
    n = int(data.size)
    p50, p75, p90, p95, p99, p999 = np.percentile(data, [q * 100 for q in QUANTILES.values()])
    mean = float(data.mean())
    stdev = float(data.std(ddof=1)) if n >= 2 else 0.0
    bounds = {name: quantile_bounds(data, q) for name, q in QUANTILES.items()}
    bounds["mean"] = _mean_bounds(mean, stdev, n)
    bounds["max"] = (float(data[-1]), None)
    return Summary(
        n=n,
        mean=mean,
        stdev=stdev,
        min=float(data[0]),
        p50=float(p50),
        p75=float(p75),
        p90=float(p90),
        p95=float(p95),
        p99=float(p99),
        p999=float(p999),
        max=float(data[-1]),
        bounds=bounds,
    )


def _mean_bounds(mean: float, stdev: float, n: int) -> tuple[float | None, float | None]:
    if n < 2:
        return (None, None)
    half = _Z99 * stdev / math.sqrt(n)
    return (mean - half, mean + half)


def _binomial_cdf(n: int, q: float) -> tuple[int, FloatArray]:
    """``(lo, cdf)`` with ``cdf[i] = P(B <= lo + i)`` for B ~ Binomial(n, q).

    The pmf is built from the ratios pmf(k+1)/pmf(k) in log space and normalised over
    the window, so nothing under- or overflows; the mass left outside is < 1e-20.
    """
    lo, hi = 0, n
    if n > _FULL_RANGE_N:
        spread = _WINDOW_SD * math.sqrt(n * q * (1 - q)) + _WINDOW_MARGIN
        lo = max(0, math.floor(n * q - spread))
        hi = min(n, math.ceil(n * q + spread))
    k = np.arange(lo, hi, dtype=np.float64)
    steps = np.log((n - k) / (k + 1)) + math.log(q / (1 - q))
    log_pmf = np.concatenate(([0.0], np.cumsum(steps)))
    pmf = np.exp(log_pmf - log_pmf.max())
    return lo, np.cumsum(pmf / pmf.sum())


@functools.lru_cache(maxsize=4096)
def order_statistic_ranks(
    n: int, q: float, confidence: float = CONFIDENCE
) -> tuple[int | None, int | None]:
    """1-based ranks ``(l, u)`` of the sorted samples bounding the ``q``-quantile.

    ``X_(l)`` is a one-sided ``confidence`` lower bound and ``X_(u)`` an upper bound,
    for any continuous distribution. A side is None when n is too small (e.g. no
    99 % upper bound on p95 below n = 90, on p99 below n = 459).
    """
    if not 0 < q < 1 or not 0.5 < confidence < 1:
        raise ValueError(f"need 0 < q < 1 and 0.5 < confidence < 1, got {q!r}, {confidence!r}")
    if n < 1:
        return (None, None)
    lo, cdf = _binomial_cdf(n, q)
    # u: smallest k with F(k-1) >= confidence, k <= n.
    j = lo + int(np.argmax(cdf >= confidence - _TIE))
    upper = j + 1 if j <= n - 1 else None
    # l: largest k with F(k-1) <= 1 - confidence, k >= 1 (F is ~0 below the window).
    below = np.flatnonzero(cdf <= 1 - confidence + _TIE)
    j = lo + int(below[-1]) if below.size else lo - 1
    lower = j + 1 if j >= 0 else None
    return (lower, upper)


def quantile_bounds(
    sorted_samples: FloatArray, q: float, confidence: float = CONFIDENCE
) -> tuple[float | None, float | None]:
    """One-sided ``confidence`` lower and upper bounds of the ``q``-quantile (None: too few)."""
    lower, upper = order_statistic_ranks(len(sorted_samples), q, confidence)
    return (
        None if lower is None else float(sorted_samples[lower - 1]),
        None if upper is None else float(sorted_samples[upper - 1]),
    )


def thin(values: Sequence[int], limit: int = 10_000) -> list[int]:
    """At most ``limit`` values at evenly spaced positions, in order, first and last kept."""
    return list(codec.thin(values, limit))
