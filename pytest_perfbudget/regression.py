"""Stored-baseline regression (STATISTICS.md rule 2), as pure functions.

Between separate runs the variance sits between runs, not between samples, so
the effect is the ratio of glitch-filtered *low* quantiles (p10 by default) now
versus the baseline, with a distribution-free interval; the threshold is raised
to the noise floor the baseline's history shows; a flagged regression counts
only when a fresh re-measurement agrees (``measure.judge_callable`` takes it);
and a reference workload that runs much slower than when the baseline was saved
vetoes the verdict (slow state).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from pytest_perfbudget.engine.tracing import TracerPause
from pytest_perfbudget.entry import usable_p10s
from pytest_perfbudget.model import NOISE_RUNS, Change
from pytest_perfbudget.stats import FloatArray, order_statistic_ranks

__all__ = [
    "classify",
    "estimate_change",
    "low_quantile",
    "machine_probe",
    "noise_floor",
    "probe_vetoes",
]

#: The MAD of a normal sample times this estimates its standard deviation.
_MAD_TO_SIGMA = 1.4826


def _kept(seconds: Sequence[float]) -> FloatArray:
    """The samples sorted, without clock glitches: values below half the median.

    All of them are kept rather than none. A baseline entry's seconds are sorted
    as the array they hold (see :class:`~pytest_perfbudget.lazy.ArrayValues`).
    """
    data = np.sort(np.asarray(seconds, dtype=np.float64))
    n = len(data)
    if n == 0:
        raise ValueError("needs at least one sample")
    median = data[n // 2] if n % 2 else (data[n // 2 - 1] + data[n // 2]) / 2
    cut = int(np.searchsorted(data, 0.5 * median))
    return data[cut:] if cut < n else data


def _quantile(data: Sequence[float] | FloatArray, q: float) -> float:
    """The ``q``-quantile of sorted ``data``, as ``numpy.quantile`` (linear) computes it."""
    position = (len(data) - 1) * q
    below = math.floor(position)
    gamma = position - below
    a = data[below]
    b = data[min(below + 1, len(data) - 1)]
    return float(b - (b - a) * (1 - gamma) if gamma >= 0.5 else a + (b - a) * gamma)


def low_quantile(seconds: Sequence[float], q: float = 0.10) -> float:
    """The ``q``-quantile (numpy's linear definition) after dropping clock glitches.

    ``q=0`` gives the glitch-filtered minimum.
    """
    if len(seconds) == 0:
        raise ValueError("low_quantile() needs at least one sample")
    return _quantile(_kept(seconds), q)


def _quantile_interval(data: FloatArray, q: float, confidence: float) -> tuple[float, float]:
    """Two one-sided ``confidence`` bounds from sorted ``data``; the sample min/max stand in
    when n is too small."""
    lower, upper = order_statistic_ranks(len(data), q, confidence)
    return (
        float(data[0] if lower is None else data[lower - 1]),
        float(data[-1] if upper is None else data[upper - 1]),
    )


def estimate_change(
    now: Sequence[float],
    base: Sequence[float],
    *,
    q: float = 0.10,
    confidence: float = 0.99,
) -> Change:
    """The ratio of low quantiles now / baseline, with a ``confidence`` interval.

    Each side gets a two-sided interval from order statistics (two one-sided
    bounds at ``1 - (1 - confidence) / 2``); the ratio's interval divides the
    extremes: ``low = now_low / base_high``, ``high = now_high / base_low``.
    """
    if len(now) == 0 or len(base) == 0:
        raise ValueError("estimate_change() needs samples on both sides")
    one_sided = 1 - (1 - confidence) / 2
    now_kept, base_kept = _kept(now), _kept(base)
    now_low, now_high = _quantile_interval(now_kept, q, one_sided)
    base_low, base_high = _quantile_interval(base_kept, q, one_sided)
    ratio = _quantile(now_kept, q) / _quantile(base_kept, q)
    return Change(
        stat=f"p{round(q * 100)}",
        ratio=ratio,
        low=min(ratio, now_low / base_high),
        high=max(ratio, now_high / base_low),
        mode="stored",
    )


def noise_floor(
    history: Sequence[Mapping[str, Any]],
    *,
    min_runs: int = NOISE_RUNS,
    machine: str | None = None,
) -> float | None:
    """How much p10 moves between runs on this machine, as a fraction (0.12 = 12 %).

    ``exp(3 × 1.4826 × MAD(log p10)) − 1`` over the history runs taken on
    ``machine`` (default: the machine of the latest run); None with fewer than
    ``min_runs`` usable runs.
    """
    if not history:
        return None
    logs = [math.log(p10) for p10 in usable_p10s(history, machine)]
    if len(logs) < min_runs:
        return None
    centre = statistics.median(logs)
    mad = statistics.median([abs(value - centre) for value in logs])
    return math.exp(3 * _MAD_TO_SIGMA * mad) - 1


def classify(change: Change, threshold: float) -> str:
    """The verdict a change supports at an allowed slowdown ``threshold`` (τ).

    - ``"regressed"``: ratio ≥ 1+τ and the interval's low end > 1 (surely slower,
      by more than allowed on the point estimate);
    - ``"improved"``: ratio ≤ 1/(1+τ) and the high end < 1;
    - ``"unchanged"``: the whole interval lies inside (1/(1+τ), 1+τ);
    - ``"inconclusive"``: anything else (the interval is too wide to tell).
    """
    limit = 1 + threshold
    if change.ratio >= limit and change.low > 1:
        return "regressed"
    if change.ratio <= 1 / limit and change.high < 1:
        return "improved"
    if 1 / limit < change.low and change.high < limit:
        return "unchanged"
    return "inconclusive"


#: About how long a machine probe runs its blocks, in seconds (at least 3 blocks).
PROBE_TIME = 1.0
#: The longest probe block, in seconds.
_PROBE_BLOCK_LIMIT = 1.0
#: Timed calls that size the probe's blocks (the fastest counts: under CPU load one
#: call can be preempted, and blocks sized by it would be several times too short).
_SIZING_CALLS = 3


def _reference_workload() -> int:
    """About 1 ms of plain interpreter work: integer arithmetic, a dict and a list."""
    total = 0
    table: dict[int, int] = {}
    for i in range(17_000):
        total = (total * 31 + i) % 1_000_003
        table[i % 97] = total
    values = sorted(table.values())
    return total + sum(values[::3])


def machine_probe(
    clock: Callable[[], int] | None = None,
    rounds: int = 15,
    block: float = 0.001,
    *,
    pause_tracers: bool = True,
) -> float:
    """Seconds one ~1 ms unit of a fixed reference workload takes on this machine now.

    The workload runs in blocks of about ``block`` seconds each (sized like the
    samples of the test being judged, up to 1 s, so that CPU contention slows the
    probe as it slows the test) and the 10th percentile of the per-unit times is
    returned: the same low quantile the stored comparison uses. It runs ``rounds``
    blocks, fewer for long blocks: as many as fit in about :data:`PROBE_TIME`, at
    least 3. ``clock`` returns nanoseconds (default :func:`time.perf_counter_ns`).
    Tracers are paused, as they are for the measured code (``pause_tracers=False``
    lets coverage see the probe).
    """
    with TracerPause(pause=pause_tracers):
        return _probe(time.perf_counter_ns if clock is None else clock, rounds, block)


def _probe(read: Callable[[], int], rounds: int, block: float) -> float:
    unit = min(_timed_unit(read) for _ in range(_SIZING_CALLS))  # one may be preempted
    units = max(1, round(min(block, _PROBE_BLOCK_LIMIT) * 1e9 / unit))
    fit = round(PROBE_TIME * 1e9 / (unit * units))
    rounds = max(min(rounds, 3), min(rounds, fit))
    times = []
    for _ in range(max(1, rounds)):
        start = read()
        for _ in range(units):
            _reference_workload()
        times.append(max(read() - start, 1) / units)
    return _quantile(sorted(times), 0.10) * 1e-9


def _timed_unit(read: Callable[[], int]) -> int:
    start = read()
    _reference_workload()
    return max(read() - start, 1)


def probe_vetoes(
    now_probe: float, stored: float | None, threshold: float, ratio: float | None = None
) -> bool:
    """True when the machine's own slowdown accounts for a flagged regression.

    That is when the change ``ratio`` divided by the machine's slowdown (the probe
    now against the probe at save time) is no longer above ``1 + threshold``;
    without a ratio, when the machine alone is slower by ``threshold`` or more. A
    veto only turns a regression into "inconclusive": a faster machine never makes a
    change look larger, so the probe cannot cause a false alarm.
    """
    if stored is None or stored <= 0:
        return False
    speed = now_probe / stored
    if ratio is None:
        return speed >= 1 + threshold
    return ratio / max(speed, 1.0) < 1 + threshold
