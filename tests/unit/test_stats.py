"""Percentiles, order-statistic bounds and thinning."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_perfbudget.model import QUANTILES
from pytest_perfbudget.stats import (
    order_statistic_ranks,
    quantile_bounds,
    summarize,
    thin,
)


def reference_cdf(n: int, q: float) -> list[float]:
    """F(k) = P(B <= k) for B ~ Binomial(n, q), k = 0..n, by brute force."""
    if n <= 200:
        pmf = [math.comb(n, k) * q**k * (1 - q) ** (n - k) for k in range(n + 1)]
    else:
        log_norm = math.lgamma(n + 1)
        pmf = [
            math.exp(
                log_norm
                - math.lgamma(k + 1)
                - math.lgamma(n - k + 1)
                + k * math.log(q)
                + (n - k) * math.log1p(-q)
            )
            for k in range(n + 1)
        ]
    return list(itertools.accumulate(pmf))


def reference_ranks(n: int, q: float, confidence: float) -> tuple[int | None, int | None]:
    cdf = reference_cdf(n, q)
    uppers = [k for k in range(1, n + 1) if cdf[k - 1] >= confidence]
    lowers = [k for k in range(1, n + 1) if cdf[k - 1] <= 1 - confidence]
    return (max(lowers) if lowers else None, min(uppers) if uppers else None)


def test_summarize_matches_numpy() -> None:
    rng = np.random.default_rng(1)
    samples = rng.lognormal(-7, 0.5, size=1_000).tolist()
    summary = summarize(samples)
    assert summary.n == 1_000
    assert summary.mean == pytest.approx(np.mean(samples))
    assert summary.stdev == pytest.approx(np.std(samples, ddof=1))
    assert summary.min == min(samples)
    assert summary.max == max(samples)
    for name, q in QUANTILES.items():
        assert summary.value(name) == np.percentile(samples, q * 100)


def test_summarize_bounds_every_quantile_the_mean_and_the_max() -> None:
    samples = [float(i) for i in range(1, 1_001)]
    summary = summarize(samples)
    for name, q in QUANTILES.items():
        assert summary.bound(name) == quantile_bounds(np.array(samples), q)
    low, high = summary.bound("p50")
    assert low is not None
    assert high is not None
    assert low < summary.p50 < high
    half = 2.3263478740408408 * summary.stdev / math.sqrt(1_000)
    assert summary.bound("mean") == pytest.approx((summary.mean - half, summary.mean + half))
    assert summary.bound("max") == (1000.0, None)
    assert summary.bound("p999")[1] is None


def test_summarize_one_sample() -> None:
    summary = summarize([0.5])
    assert (summary.n, summary.mean, summary.stdev, summary.p99) == (1, 0.5, 0.0, 0.5)
    assert summary.bound("mean") == (None, None)
    assert summary.bound("p50") == (None, None)


def test_summarize_needs_samples() -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        summarize([])


@pytest.mark.parametrize("q", [0.5, 0.75, 0.9, 0.95, 0.99, 0.999])
def test_ranks_match_a_brute_force_binomial_for_small_n(q: float) -> None:
    for n in range(1, 121):
        assert order_statistic_ranks(n, q) == reference_ranks(n, q, 0.99), n


@pytest.mark.parametrize(("n", "q"), [(2_500, 0.95), (3_000, 0.5), (5_000, 0.999), (4_000, 0.99)])
def test_ranks_match_a_brute_force_binomial_in_the_windowed_range(n: int, q: float) -> None:
    assert order_statistic_ranks(n, q) == reference_ranks(n, q, 0.99)


def test_p95_upper_bound_needs_90_samples() -> None:
    assert order_statistic_ranks(89, 0.95)[1] is None
    assert order_statistic_ranks(90, 0.95)[1] == 90


def test_p99_upper_bound_needs_459_samples() -> None:
    assert order_statistic_ranks(458, 0.99)[1] is None
    assert order_statistic_ranks(459, 0.99)[1] == 459


def test_ranks_with_no_samples_and_other_confidence() -> None:
    assert order_statistic_ranks(0, 0.5) == (None, None)
    assert order_statistic_ranks(50, 0.5, 0.95) == reference_ranks(50, 0.5, 0.95)


@pytest.mark.parametrize(("q", "confidence"), [(0.0, 0.99), (1.0, 0.99), (0.5, 0.4), (0.5, 1.0)])
def test_ranks_reject_bad_levels(q: float, confidence: float) -> None:
    with pytest.raises(ValueError, match="need 0 < q < 1"):
        order_statistic_ranks(10, q, confidence)


def test_ranks_are_fast_for_100_000_samples() -> None:
    lower, upper = order_statistic_ranks(100_000, 0.95)
    assert lower is not None
    assert upper is not None
    assert lower < 95_000 < upper


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3_000), q=st.sampled_from(list(QUANTILES.values())))
def test_ranks_satisfy_their_definition(n: int, q: float) -> None:
    lower, upper = order_statistic_ranks(n, q)
    cdf = reference_cdf(n, q)
    if upper is None:
        assert cdf[n - 1] < 0.99 + 1e-9
    else:
        assert cdf[upper - 1] >= 0.99 - 1e-9
        assert upper == 1 or cdf[upper - 2] < 0.99 + 1e-9
    if lower is None:
        assert cdf[0] > 0.01 - 1e-9
    else:
        assert cdf[lower - 1] <= 0.01 + 1e-9
        assert lower == n or cdf[lower] > 0.01 - 1e-9
    if lower is not None and upper is not None:
        assert lower < upper


@pytest.mark.parametrize(("n", "q"), [(200, 0.95), (50, 0.5), (600, 0.99)])
def test_bounds_cover_the_true_quantile_in_99_percent_of_trials(n: int, q: float) -> None:
    rng = np.random.default_rng(20240601)
    trials = np.sort(rng.random((2_000, n)), axis=1)
    lower, upper = order_statistic_ranks(n, q)
    assert lower is not None
    assert upper is not None
    assert np.mean(trials[:, lower - 1] > q) <= 0.015
    assert np.mean(trials[:, upper - 1] < q) <= 0.015


def test_quantile_bounds_pick_the_order_statistics() -> None:
    data = np.arange(1.0, 101.0)
    assert quantile_bounds(data, 0.95) == (89.0, 100.0)
    assert quantile_bounds(data[:50], 0.95) == (43.0, None)
    assert quantile_bounds(data[:1], 0.5) == (None, None)


def test_thin_keeps_short_input() -> None:
    assert thin([3, 1, 2], limit=3) == [3, 1, 2]


def test_thin_keeps_first_and_last_evenly_spaced() -> None:
    assert thin(list(range(101)), limit=11) == list(range(0, 101, 10))
    assert thin([7, 8, 9], limit=1) == [7]


def test_thin_rejects_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match=r"limit=0 is not valid"):
        thin([1], limit=0)


@given(
    values=st.lists(st.integers(0, 10**12), max_size=400),
    limit=st.integers(2, 100),
)
def test_thin_never_exceeds_the_limit_and_keeps_order(values: list[int], limit: int) -> None:
    out = thin(values, limit)
    assert len(out) == min(len(values), limit)
    if values:
        assert (out[0], out[-1]) == (values[0], values[-1])
    positions = iter(range(len(values)))
    assert all(any(values[i] == v for i in positions) for v in out)
