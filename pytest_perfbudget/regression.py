"""Stored-baseline regression (STATISTICS.md rule 2), as pure functions.

Between separate runs the variance sits between runs, not between samples, so
the effect is the ratio of glitch-filtered minimums now versus the baseline; the
threshold is raised to the noise floor the baseline's history shows; and a
flagged regression counts only when re-measurements spread out over a few
seconds all agree (``measure.judge_callable`` takes them): a slow state of the
machine has to last through all of them to cause a false alarm.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pytest_perfbudget.entry import refresh_levels, refresh_mins, split_at_refresh, usable_mins
from pytest_perfbudget.model import NOISE_RUNS, WIDE_LEARNED, Change
from pytest_perfbudget.stats import FloatArray, order_statistic_ranks
from pytest_perfbudget.units import counted

__all__ = [
    "STRETCH_SLOW",
    "WIDE_LEARNED",
    "allowed_slowdown",
    "busy_note",
    "classify",
    "estimate_change",
    "few_runs_note",
    "few_samples",
    "is_wide",
    "learned_slowdown",
    "low_quantile",
    "noise_floor",
    "refresh_spread",
    "restarted_note",
    "saved_notes",
    "slow_stretch_runs",
    "too_few_runs",
    "wide_note",
]

#: The MAD of a normal sample times this estimates its standard deviation.
_MAD_TO_SIGMA = 1.4826


def _kept(seconds: Sequence[float] | FloatArray) -> FloatArray:
    """The samples sorted, without clock glitches: values below half the lower median.

    The lower median (of an even count, the lower of the middle two) is not pulled
    up by one long sample: of two samples, the faster is kept however long the
    other took (a call held up by a collection or a preemption), where the mean of
    the middle two would drop it once the other is 3x slower. All of them are kept
    rather than none. A baseline entry's seconds are sorted as the array they hold
    (see :class:`~pytest_perfbudget.lazy.ArrayValues`).
    """
    data = np.array(seconds, dtype=np.float64)  # a copy, sorted in place
    data.sort()
    n = len(data)
    if n == 0:
        raise ValueError("needs at least one sample")
    cut = int(data.searchsorted(0.5 * data[(n - 1) // 2]))
    return data[cut:] if cut < n else data


def _lowest(seconds: Sequence[float]) -> float:
    """``_kept(seconds)[0]`` without sorting: the smallest sample at least half the
    lower median."""
    data = np.asarray(seconds, dtype=np.float64)
    middle = (len(data) - 1) // 2
    return float(np.min(data[data >= 0.5 * np.partition(data, middle)[middle]]))


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
    """Two one-sided ``confidence`` bounds on the ``q``-quantile (``0 < q < 1``) from
    sorted ``data``; the sample min/max stand in when n is too small."""
    lower, upper = order_statistic_ranks(len(data), q, confidence)
    return (
        float(data[0] if lower is None else data[lower - 1]),
        float(data[-1] if upper is None else data[upper - 1]),
    )


def estimate_change(
    now: Sequence[float],
    base: Sequence[float],
    *,
    q: float = 0.0,
    confidence: float = 0.99,
) -> Change:
    """The ratio of glitch-filtered low quantiles now / baseline, with a ``confidence``
    interval; by default (``q=0``) of the minimums.

    For ``0 < q < 1`` each side gets a two-sided interval from order statistics (two
    one-sided bounds at ``1 - (1 - confidence) / 2``); the ratio's interval divides
    the extremes: ``low = now_low / base_high``, ``high = now_high / base_low``. The
    minimum has none (the interval is the ratio itself): what guards its verdict is
    the re-measurement a flagged regression gets, spread out in time
    (:func:`pytest_perfbudget.measure.judge_callable`).

    Like is compared with like: when ``now`` holds fewer samples than ``base``, only
    the first ``len(now)`` of ``base`` (samples are kept in the order taken) are
    read. A minimum falls with the number of samples it is taken over, and a
    test's first samples run slower than its later ones, so a gate run that stops
    after a hundred samples read fast tests about 4–6 % slower than the save it
    was compared with, on unchanged code (``benchmarks/RESULTS.md``).

    The window is the fair comparison for a slowdown, not for a speed-up: when the
    baseline's first samples fell in a slow moment of its run, a later run reads
    faster than them on unchanged code. So a minimum below the window's is compared
    with the minimum of all the baseline's samples, and one between the two is no
    change (ratio 1): the baseline ran that fast too.
    """
    if len(now) == 0 or len(base) == 0:
        raise ValueError("estimate_change() needs samples on both sides")
    window = np.asarray(base)[: len(now)] if len(base) > len(now) else base
    now_kept, base_kept = _kept(now), _kept(window)
    if q == 0:  # the minimum has no distribution-free interval
        low, reference = now_kept[0], base_kept[0]
        if low < reference and window is not base:
            reference = max(low, _lowest(base))
        ratio = float(low / reference)
        return Change(stat="min", ratio=ratio, low=ratio, high=ratio, mode="stored")
    one_sided = 1 - (1 - confidence) / 2
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
    """How much the minimum moves between runs on this machine, as a fraction (0.12 = 12 %).

    ``exp(3 × 1.4826 × MAD(log min)) − 1`` over the history runs taken on
    ``machine`` (default: the machine of the latest run); None with fewer than
    ``min_runs`` usable runs.
    """
    if not history:
        return None
    logs = [math.log(low) for low in usable_mins(history, machine)]
    if len(logs) < min_runs:
        return None
    centre = statistics.median(logs)
    mad = statistics.median([abs(value - centre) for value in logs])
    return math.exp(3 * _MAD_TO_SIGMA * mad) - 1


def refresh_spread(history: Sequence[Mapping[str, Any]]) -> tuple[float, float]:
    """The second-lowest and the highest minimum of the latest refresh's runs, each over
    the lowest ((1.0, 1.0) with fewer than two runs).

    A refresh of several runs keeps its fastest (``baseline.entry_from_verdict``).
    The allowed slowdown is measured from the second-fastest, so that one run which
    caught an unusually fast moment does not set the bar, and is at least the
    slowest run's: those runs measured the same code, so a later run of it may be
    that slow too (a test can run in two speeds, one process to the next).
    """
    lows = sorted(refresh_mins(history))
    if len(lows) < 2:
        return 1.0, 1.0
    return float(lows[1] / lows[0]), float(lows[-1] / lows[0])


#: In a run of a refresh, a test at this multiple of its fastest run's minimum or more
#: is slow in that run (:func:`slow_stretch_runs`).
STRETCH_SLOW = 1.3


def slow_stretch_runs(refresh_runs: Mapping[str, Sequence[float]]) -> dict[str, list[int]]:
    """The runs of a refresh that each test ran in a slow stretch of the machine.

    ``refresh_runs`` maps node ids to the minimum of each run of one refresh, in
    the order of the runs (every test the same number). A test's run is in a slow
    stretch when the test was at least :data:`STRETCH_SLOW` times its fastest run
    in it, and so was at least half of the other tests of its class (or of its
    module, outside a class), of which there must be two or more: neighbours run
    close together in time, so when half of them or more are slow in the same run,
    the machine was, not the test. A test that runs at one of two speeds from one
    process to the next is slow alone, and its slow runs are not marked. Returns
    the indices of each marked test's runs; tests with none are left out.
    """
    slow = {
        nodeid: [low >= STRETCH_SLOW * min(lows) for low in lows]
        for nodeid, lows in refresh_runs.items()
        if lows
    }
    sizes: dict[str, int] = {}
    slow_in_run: dict[str, list[int]] = {}  # per group, how many of its tests each run slowed
    for nodeid, flags in slow.items():
        group = _group(nodeid)
        sizes[group] = sizes.get(group, 0) + 1
        counts = slow_in_run.setdefault(group, [0] * len(flags))
        for run, flag in enumerate(flags):
            counts[run] += flag
    marked = {}
    for nodeid, flags in slow.items():
        group = _group(nodeid)
        peers = sizes[group] - 1
        counts = slow_in_run[group]
        runs = [
            run
            for run, own in enumerate(flags)
            if own and peers >= 2 and 2 * (counts[run] - 1) >= peers
        ]
        if runs:
            marked[nodeid] = runs
    return marked


def _group(nodeid: str) -> str:
    """The class or module part of a node id (its parameters may hold ``::``)."""
    return nodeid.partition("[")[0].rpartition("::")[0]


def allowed_slowdown(
    threshold: float, history: Sequence[Mapping[str, Any]], machine: str | None = None
) -> float:
    """The slowdown a run allows a test whose declared allowance is ``threshold``: raised
    to the noise floor of its ``history`` on ``machine``, widened by the second-fastest
    over the fastest run of its latest refresh, and at least that refresh's slowest run
    over its fastest (:func:`refresh_spread`). ``threshold=0`` gives what the history
    alone allows."""
    allowed = max(threshold, noise_floor(history, machine=machine) or 0.0)
    second, slowest = refresh_spread(history)
    return max((1 + allowed) * second, slowest) - 1


def too_few_runs(history: Sequence[Mapping[str, Any]], machine: str | None) -> bool:
    """Whether ``history`` holds fewer than :data:`NOISE_RUNS` usable runs on ``machine``:
    too few for :func:`noise_floor` to learn the test's run-to-run noise from."""
    return len(usable_mins(history, machine)) < NOISE_RUNS


def learned_slowdown(history: Sequence[Mapping[str, Any]], machine: str | None) -> float | None:
    """The slowdown saved runs allow by themselves (``allowed_slowdown(0, …)``: their
    run-to-run noise and the spread of their latest refresh); None when they teach none:
    fewer than :data:`NOISE_RUNS` runs on ``machine``, none of them one refresh's."""
    if too_few_runs(history, machine) and len(refresh_mins(history)) < 2:
        return None
    return allowed_slowdown(0.0, history, machine)


#: The allowed slowdown (the default one) beyond which a refresh's runs put a test at
#: another level than the runs saved before them (:func:`level_moved`).
LEVEL_MOVE = 0.10


def level_moved(history: Sequence[Mapping[str, Any]], token: str) -> bool:
    """Whether the runs of refresh ``token`` measured the test at another level than
    the runs saved before them: the fastest of them is slower than the earlier level
    by more than the slowdown the earlier runs allow (:func:`allowed_slowdown` at
    :data:`LEVEL_MOVE`), or faster by as much. The earlier level is the fastest of
    the latest earlier refresh, or the latest earlier run.

    Then the earlier runs tell how the code ran before it changed (or before the
    machine did), not how much it moves from run to run now, which is what the noise
    floor learns. Decided only for a refresh of :data:`NOISE_RUNS` runs or more not
    marked busy, which are enough to learn from alone.
    """
    lows, level = refresh_levels(history, token)
    if len(lows) < NOISE_RUNS or not level:
        return False
    ratio = float(min(lows) / min(level))
    moved = max(ratio, 1 / ratio) - 1
    # every allowance is LEVEL_MOVE or more: the earlier records are read only past it
    if moved <= LEVEL_MOVE:
        return False
    return moved > allowed_slowdown(LEVEL_MOVE, split_at_refresh(history, token)[0])


def few_runs_note(short: int, total: int) -> str | None:
    """The line that counts the ``short`` entries, of ``total``, that hold fewer than
    :data:`NOISE_RUNS` saved runs (None when there is none)."""
    if not short:
        return None
    one = short == 1
    holds, it, its = ("holds", "it does", "its") if one else ("hold", "they do", "their")
    return (
        f"{short} of {counted(total, 'entry')} {holds} fewer than {NOISE_RUNS} "
        f"saved runs; until {it}, {its} allowed slowdown is not raised to {its} run-to-run noise "
        f"(`perfbudget refresh --runs {NOISE_RUNS}` saves {NOISE_RUNS} runs at once)"
    )


def busy_note(busy: Mapping[str, Sequence[int]]) -> str | None:
    """The line that counts the runs a refresh marked busy (:func:`slow_stretch_runs`, by
    node id), and their entries (None when there is none)."""
    if not busy:
        return None
    runs = sum(map(len, busy.values()))
    their = "its" if len(busy) == 1 else "their"
    return (
        f"{counted(runs, 'run')} of {counted(len(busy), 'entry')} ran in a slow "
        f"stretch of the machine (at least half of the other tests of {their} class or module "
        f"were {STRETCH_SLOW}x {their} fastest or more in the same run too); {their} allowed "
        f"slowdown leaves {'that run' if runs == 1 else 'those runs'} out"
    )


def restarted_note(restarted: int) -> str | None:
    """The line that counts the entries whose history a refresh restarted
    (:func:`level_moved`; None when there is none)."""
    if not restarted:
        return None
    their = "its" if restarted == 1 else "their"
    return (
        f"{counted(restarted, 'entry')} ran at another level than {their} earlier "
        f"saved runs allowed (by more than {LEVEL_MOVE * 100:.0f} % or {their} run-to-run "
        f"noise, faster or slower): {their} history restarts with this refresh's runs, so the "
        "old level does not count as noise"
    )


def is_wide(learned: float | None) -> bool:
    """Whether an entry whose saved runs allow ``learned`` by themselves
    (:func:`learned_slowdown`) allows :data:`WIDE_LEARNED` or more: the entries
    :func:`wide_note` counts and ``perfbudget refresh --wide`` refreshes."""
    return learned is not None and learned >= WIDE_LEARNED


#: A saved run of this many samples or fewer: one call of the test took most of ``max_time``.
FEW_SAMPLES = 3


def few_samples(history: Sequence[Mapping[str, Any]]) -> bool:
    """Whether most of the latest :data:`NOISE_RUNS` runs of ``history`` hold
    :data:`FEW_SAMPLES` samples or fewer: each such run's minimum is a call or two, as
    slow as whatever held them up."""
    counts = [record["n"] for record in history[-NOISE_RUNS:] if type(record.get("n")) is int]
    return bool(counts) and statistics.median(counts) <= FEW_SAMPLES


def wide_note(
    learned: Sequence[float | None], random_seed: bool = False, short: Sequence[bool] = ()
) -> str | None:
    """The line that counts the entries, of those whose :func:`learned_slowdown` is given,
    at :data:`WIDE_LEARNED` or more (None when there is none); ``random_seed``: the runs
    saved drew their own hash seeds, which the line then says how to fix; ``short``, in
    the order of ``learned``: whether the entry's runs hold few samples
    (:func:`few_samples`), which the line counts among the wide ones and says how to fix."""
    wide = sum(map(is_wide, learned))
    if not wide:
        return None
    them, its = ("it", "its") if wide == 1 else ("them", "their")
    note = (
        f"the saved runs of {wide} of {counted(len(learned), 'entry')} allow a "
        f"slowdown of +{WIDE_LEARNED * 100:.0f} % or more by themselves ({its} minimums spread "
        f"that far: a busy machine, or tests that run at two speeds), so smaller slowdowns of "
        f"{them} go unnoticed; `perfbudget show` lists each entry's, and a refresh on a quiet "
        f"machine narrows {them} (`perfbudget refresh --runs 5 --wide` refreshes only such "
        "entries)"
    )
    few = sum(is_wide(value) and brief for value, brief in zip(learned, short, strict=False))
    if few:
        who = "it" if wide == 1 else f"{few} of them"
        one = "its" if few == 1 else "their"
        note += (
            f"; {who} took {FEW_SAMPLES} samples or fewer in most runs (a call takes most "
            f"of `max_time`), so each run's minimum is a call or two: `rounds = 5` in {one} "
            "budget, or a longer `max_time`, gives more"
        )
    if random_seed:
        note += (
            "; this save's hash seed was random (PYTHONHASHSEED unset), and a test that "
            "iterates over a set of strings can run at another speed under each seed: set "
            "PYTHONHASHSEED=0 for saves and gates alike"
        )
    return note


def saved_notes(
    runs: Sequence[tuple[Sequence[Mapping[str, Any]], str | None]], random_seed: bool
) -> tuple[str | None, str | None]:
    """:func:`few_runs_note` and :func:`wide_note` of the entries a save wrote, given as
    ``(history, machine)`` each; ``random_seed`` as for :func:`wide_note`."""
    short = sum(too_few_runs(history, machine) for history, machine in runs)
    learned = [learned_slowdown(history, machine) for history, machine in runs]
    brief = [few_samples(history) for history, _ in runs]
    return few_runs_note(short, len(runs)), wide_note(learned, random_seed, brief)


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
