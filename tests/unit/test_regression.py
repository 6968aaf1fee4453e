"""STATISTICS.md rule 2: low-quantile ratio, noise floor, classification."""

from __future__ import annotations

import bisect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_perfbudget.lazy import ArrayValues
from pytest_perfbudget.model import Change
from pytest_perfbudget.regression import (
    busy_note,
    classify,
    estimate_change,
    few_runs_note,
    few_samples,
    level_moved,
    low_quantile,
    noise_floor,
    refresh_spread,
    restarted_note,
    slow_stretch_runs,
    wide_note,
)
from pytest_perfbudget.stats import order_statistic_ranks


def timings(seed: int, n: int = 1000, scale: float = 1e-3, sigma: float = 0.15) -> list[float]:
    """Right-skewed per-call seconds: a floor plus lognormal jitter."""
    rng = np.random.default_rng(seed)
    return list(scale * (0.8 + 0.2 * rng.lognormal(0.0, sigma * 4, n)))


def change(ratio: float, low: float, high: float) -> Change:
    return Change(stat="p10", ratio=ratio, low=low, high=high)


def test_low_quantile_drops_clock_glitches() -> None:
    samples = [0.0, 0.0, 1.0, 1.1, 1.2, 1.3, 1.4]
    assert low_quantile(samples, 0.0) == 1.0
    assert low_quantile([2.0, 3.0, 4.0, 5.0, 6.0], 0.5) == 4.0


def test_low_quantile_needs_samples() -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        low_quantile([])


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("q", [0.0, 0.10])
def test_same_distribution_is_not_a_regression(seed: int, q: float) -> None:
    result = estimate_change(timings(seed), timings(seed + 100), q=q)
    assert result.low < 1 < result.high or abs(result.ratio - 1) < 0.02
    assert classify(result, 0.10) == "unchanged"


def test_thirty_percent_slower_is_regressed_with_an_interval_above_one() -> None:
    base = timings(1)
    result = estimate_change([x * 1.3 for x in timings(2)], base, q=0.10)
    assert result.stat == "p10"
    assert result.mode == "stored"
    assert 1.2 < result.ratio < 1.4
    assert 1 < result.low <= result.ratio <= result.high
    assert classify(result, 0.10) == "regressed"


def test_the_minimum_is_compared_by_default_and_its_interval_is_the_ratio() -> None:
    now, base = [x * 1.3 for x in timings(2)], timings(1)
    result = estimate_change(now, base)
    assert result.stat == "min"
    assert result.ratio == low_quantile(now, 0.0) / low_quantile(base, 0.0)
    assert result.ratio == pytest.approx(min(now) / min(base))
    assert result.low == result.ratio == result.high
    assert classify(result, 0.10) == "regressed"


def test_faster_is_improved() -> None:
    result = estimate_change([x * 0.7 for x in timings(3)], timings(4))
    assert result.high < 1
    assert classify(result, 0.10) == "improved"


def test_few_samples_give_a_wide_interval_that_decides_nothing() -> None:
    now, base = timings(5, n=5), timings(6, n=5)
    result = estimate_change([x * 1.15 for x in now], base, q=0.10)
    assert result.low <= result.ratio <= result.high
    # Too few samples for a lower bound on p10 now: the minimum stands in.
    assert result.low == pytest.approx(min(now) * 1.15 / sorted(base)[3])
    assert classify(result, 0.10) == "inconclusive"


def test_a_run_with_fewer_samples_is_compared_with_as_many_of_the_baselines_first() -> None:
    # The baseline's first samples ran slower (still warming up), as a short run's do.
    base = [1.05e-3] * 100 + [1.0e-3] * 900
    assert estimate_change([1.05e-3] * 100, base).ratio == pytest.approx(1.0)
    assert estimate_change([1.05e-3] * 100, base, q=0.10).ratio == pytest.approx(1.0)
    assert estimate_change([1.05e-3] * 1000, base).ratio == pytest.approx(1.05)
    assert estimate_change([1.05e-3] * 2000, base).ratio == pytest.approx(1.05)


def test_a_speed_up_counts_against_all_of_the_baselines_samples() -> None:
    # The baseline's first samples fell in a slow moment of its run: a shorter run of
    # the same code is faster than them, but not than the baseline at its best.
    base = [1.3e-3] * 100 + [1.0e-3] * 900
    same = estimate_change([1.1e-3] * 100, base)
    assert same.ratio == same.low == same.high == 1.0
    assert classify(same, 0.10) == "unchanged"
    faster = estimate_change([0.8e-3] * 100, base)
    assert faster.ratio == pytest.approx(0.8)
    assert classify(faster, 0.10) == "improved"
    # A slowdown is still read against the window, as many samples as the run took.
    assert estimate_change([1.5e-3] * 100, base).ratio == pytest.approx(1.5 / 1.3)


def test_estimate_change_needs_both_sides() -> None:
    with pytest.raises(ValueError, match="both sides"):
        estimate_change([], [1.0])


def test_estimate_change_names_the_quantile() -> None:
    assert estimate_change(timings(7), timings(8), q=0.25).stat == "p25"


def history(mins: list[float], machine: str = "m1") -> list[dict[str, object]]:
    return [{"min": value, "p10": 2 * value, "machine": machine, "n": 100} for value in mins]


def test_noise_floor_is_three_robust_sigmas_of_log_min() -> None:
    mins = [1.0, 1.02, 0.98, 1.05, 0.95, 1.0]
    logs = np.log(mins)
    mad = np.median(np.abs(logs - np.median(logs)))
    expected = math.exp(3 * 1.4826 * mad) - 1
    assert noise_floor(history(mins)) == pytest.approx(expected)


def test_noise_floor_needs_five_runs_on_the_same_machine() -> None:
    runs = history([1.0, 1.1, 0.9, 1.2], "m1") + history([1.0, 1.0], "m2")
    assert noise_floor(runs) is None
    assert noise_floor(runs, machine="m1") is None
    assert noise_floor(runs, machine="m1", min_runs=4) is not None
    assert noise_floor([]) is None


def test_noise_floor_ignores_runs_without_a_usable_min() -> None:
    unusable: list[dict[str, object]] = [
        {"min": 0.0, "machine": "m1"},
        {"p10": 1.0, "machine": "m1"},
    ]
    runs = [*history([1.0, 1.0, 1.0, 1.0]), *unusable]
    assert noise_floor(runs, machine="m1") is None
    assert noise_floor([*runs, *history([1.0])], machine="m1") == 0.0


def refreshed(mins: list[float], token: str | None) -> list[dict[str, object]]:
    return [{**run, "refresh": token} for run in history(mins)]


def test_refresh_spread_is_the_second_fastest_and_the_slowest_run_of_the_latest_refresh() -> None:
    runs = refreshed([0.5, 0.9], "old") + refreshed([1.2, 1.0, 1.1, 0.0], "new")
    # 0.5 and 0.9: another refresh; 0.0: unusable
    assert refresh_spread(runs) == (pytest.approx(1.1), pytest.approx(1.2))
    assert refresh_spread(runs[:3]) == (1.0, 1.0)  # one run of the latest refresh
    assert refresh_spread([*runs, *history([1.0])]) == (1.0, 1.0)  # the latest save: no refresh
    assert refresh_spread([]) == (1.0, 1.0)


@pytest.mark.parametrize(
    ("earlier", "now", "moved"),
    [
        (refreshed([1.0, 1.01, 1.02, 1.03, 1.04], "old"), [2.0, 2.01, 2.02, 2.03, 2.04], True),
        (refreshed([1.0, 1.01, 1.02, 1.03, 1.04], "old"), [0.5, 0.51, 0.52, 0.53, 0.54], True),
        # within what the earlier runs allow: 10 %, or their noise and spread
        (refreshed([1.0, 1.01, 1.02, 1.03, 1.04], "old"), [1.05, 1.06, 1.07, 1.08, 1.09], False),
        (refreshed([1.0, 1.3, 1.0, 1.3, 1.0], "old"), [1.28, 1.29, 1.3, 1.31, 1.32], False),
        # single saves before: the latest one is the earlier level
        (history([2.0, 1.0]), [1.5, 1.51, 1.52, 1.53, 1.54], True),
        # too few runs of the refresh to learn from alone, or nothing before it
        (refreshed([1.0, 1.01, 1.02, 1.03, 1.04], "old"), [2.0, 2.01, 2.02, 2.03], False),
        ([], [2.0, 2.01, 2.02, 2.03, 2.04], False),
    ],
)
def test_a_refresh_moved_the_level_when_its_fastest_run_is_beyond_what_earlier_runs_allow(
    earlier: list[dict[str, object]], now: list[float], moved: bool
) -> None:
    assert level_moved([*earlier, *refreshed(now, "new")], "new") is moved


def test_a_refresh_s_runs_marked_busy_do_not_count_towards_the_five_it_needs() -> None:
    runs = [*refreshed([1.0] * 5, "old"), *refreshed([2.0] * 5, "new")]
    runs[-1]["busy"] = True
    assert level_moved(runs, "new") is False


def test_refresh_spread_leaves_out_runs_marked_busy() -> None:
    runs = refreshed([1.0, 1.05, 1.6, 1.1], "new")
    runs[2]["busy"] = True
    assert refresh_spread(runs) == (pytest.approx(1.05), pytest.approx(1.1))
    runs[2]["busy"] = "yes"  # only true marks a run
    assert refresh_spread(runs) == (pytest.approx(1.05), pytest.approx(1.6))


def test_a_run_is_in_a_slow_stretch_when_half_the_tests_class_mates_were_slow_in_it() -> None:
    runs = {
        "t.py::TestA::test_1": [1.0, 1.0, 1.5, 1.0],
        "t.py::TestA::test_2": [2.0, 2.1, 2.8, 2.0],
        "t.py::TestA::test_3": [1.0, 1.0, 1.0, 1.4],  # slow alone in run 3
        "t.py::TestA::test_4": [1.0, 1.0, 1.3, 1.0],  # exactly 1.3x: slow
        "t.py::test_alone": [1.0, 1.0, 2.0, 1.0],  # no class mates (another group)
    }
    assert slow_stretch_runs(runs) == {
        "t.py::TestA::test_1": [2],
        "t.py::TestA::test_2": [2],
        "t.py::TestA::test_4": [2],
    }


def test_a_test_slow_alone_is_not_in_a_slow_stretch() -> None:
    """A test at one of two speeds, its module's other tests steady: nothing marked."""
    two_speeds = [1.0, 1.6, 1.0, 1.6, 1.6]
    runs = {f"t.py::test_{i}": [1.0, 1.1, 1.0, 1.0, 1.05] for i in range(3)}
    assert slow_stretch_runs({**runs, "t.py::test_x": two_speeds}) == {}


def test_a_slow_stretch_needs_at_least_two_neighbours_slow_in_half() -> None:
    slow = [1.0, 1.5]
    assert slow_stretch_runs({"m.py::a": slow, "m.py::b": slow}) == {}  # one neighbour
    half = {"m.py::a": slow, "m.py::b": slow, "m.py::c": [1.0, 1.0]}
    assert slow_stretch_runs(half) == {"m.py::a": [1], "m.py::b": [1]}
    # parameters may hold "::": the test is still the module's
    params = {"m.py::t[a::b]": slow, "m.py::t[c]": slow, "m.py::u": slow}
    assert set(slow_stretch_runs(params)) == set(params)
    assert slow_stretch_runs({}) == {}


@pytest.mark.parametrize(
    ("ratio", "low", "high", "expected"),
    [
        (1.30, 1.20, 1.40, "regressed"),
        (1.10, 1.01, 1.20, "regressed"),
        (1.12, 0.95, 1.30, "inconclusive"),
        (1.05, 1.01, 1.09, "unchanged"),
        (1.00, 0.95, 1.05, "unchanged"),
        (0.70, 0.60, 0.80, "improved"),
        (0.95, 0.92, 0.98, "unchanged"),
        (0.88, 0.80, 0.99, "improved"),
        (0.93, 0.85, 1.02, "inconclusive"),
        (1.00, 0.80, 1.20, "inconclusive"),
    ],
)
def test_classify(ratio: float, low: float, high: float, expected: str) -> None:
    assert classify(change(ratio, low, high), 0.10) == expected


@given(
    st.lists(st.floats(1e-9, 10.0), min_size=1, max_size=300),
    st.sampled_from([0.0, 0.1, 0.37, 0.5, 1.0]),
)
def test_low_quantile_is_numpy_quantile_of_the_samples_without_glitches(
    seconds: list[float], q: float
) -> None:
    data = np.sort(seconds)
    kept = data[data >= 0.5 * data[(len(data) - 1) // 2]]  # half the lower median
    assert low_quantile(seconds, q) == float(np.quantile(kept, q))


def test_low_quantile_drops_samples_below_half_the_median() -> None:
    seconds = [10.0, 0.0, 11.0, 4.9, 5.0, 12.0, 10.0]
    assert low_quantile(seconds, 0.0) == 5.0
    assert low_quantile([0.0, 0.0], 0.0) == 0.0  # keeps everything rather than nothing


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        ([0.0219, 0.327], 0.0219),  # pydantic: a 22 ms call, then one held up 15x
        ([0.01, 0.015, 0.1, 0.11], 0.01),  # two fast calls, two held up
        ([0.01, 0.1, 0.11, 0.12], 0.1),  # the fast one alone is a glitch
    ],
)
def test_the_median_a_glitch_is_judged_by_is_the_lower_one(
    seconds: list[float], expected: float
) -> None:
    assert low_quantile(seconds, 0.0) == expected
    change = estimate_change(seconds, [expected] * 50)
    assert change.ratio == 1.0


def _python_low_quantile_interval(seconds: list[float], q: float) -> tuple[float, float, float]:
    """The estimate and bounds as plain Python computes them: sorted floats, glitches below
    half the lower median dropped, numpy's linear quantile, order-statistic bounds."""
    data = sorted(seconds)
    n = len(data)
    cut = bisect.bisect_left(data, 0.5 * data[(n - 1) // 2])
    data = data[cut:] if cut < n else data
    position = (len(data) - 1) * q
    below = math.floor(position)
    gamma = position - below
    a, b = data[below], data[min(below + 1, len(data) - 1)]
    point = b - (b - a) * (1 - gamma) if gamma >= 0.5 else a + (b - a) * gamma
    if q == 0:  # the minimum: no interval
        return data[0], data[0], data[0]
    lower, upper = order_statistic_ranks(len(data), q, 0.995)
    low = data[0] if lower is None else data[lower - 1]
    high = data[-1] if upper is None else data[upper - 1]
    return point, low, high


samples = st.lists(
    st.floats(min_value=1e-9, max_value=10.0) | st.sampled_from([1e-3, 2e-3, 1e-6]),
    min_size=1,
    max_size=300,
)


@given(samples, samples, st.sampled_from([0.0, 0.10]))
def test_the_change_is_what_plain_python_computes(
    now: list[float], base: list[float], q: float
) -> None:
    change = estimate_change(now, base, q=q)
    n_point, n_low, n_high = _python_low_quantile_interval(now, q)
    b_point, b_low, b_high = _python_low_quantile_interval(base[: len(now)], q)
    if q == 0 and n_point < b_point and len(base) > len(now):  # faster than the window
        b_point = max(n_point, _python_low_quantile_interval(base, q)[0])
        b_low = b_high = b_point
    ratio = n_point / b_point
    assert change == Change(
        stat="min" if q == 0 else "p10",
        ratio=ratio,
        low=min(ratio, n_low / b_high),
        high=max(ratio, n_high / b_low),
        mode="stored",
    )
    assert estimate_change(now, ArrayValues(np.array(base)), q=q) == change
    assert type(change.ratio) is float


@pytest.mark.parametrize(
    ("short", "total", "start"),
    [
        (1, 1, "1 of 1 entry holds fewer than 5 saved runs; until it does, its allowed slowdown "
         "is not raised to its run-to-run noise"),
        (1, 3, "1 of 3 entries holds fewer than 5 saved runs; until it does, its allowed"),
        (2, 3, "2 of 3 entries hold fewer than 5 saved runs; until they do, their allowed "
         "slowdown is not raised to their run-to-run noise"),
    ],
)  # fmt: skip
def test_the_few_runs_note_agrees_with_its_counts(short: int, total: int, start: str) -> None:
    assert few_runs_note(0, total) is None
    note = few_runs_note(short, total)
    assert note is not None
    assert note.startswith(start)


def test_the_wide_note_agrees_with_its_counts() -> None:
    assert wide_note([0.1, None]) is None
    assert wide_note([0.5]) == (
        "the saved runs of 1 of 1 entry allow a slowdown of +30 % or more by themselves (its "
        "minimums spread that far: a busy machine, or tests that run at two speeds), so smaller "
        "slowdowns of it go unnoticed; `perfbudget show` lists each entry's, and a refresh on a "
        "quiet machine narrows it (`perfbudget refresh --runs 5 --wide` refreshes only such "
        "entries)"
    )
    note = wide_note([0.5, 0.3, 0.1])
    assert note is not None
    assert note.startswith("the saved runs of 2 of 3 entries allow a slowdown of +30 % or more")
    assert note.endswith("smaller slowdowns of them go unnoticed; `perfbudget show` lists each "
                         "entry's, and a refresh on a quiet machine narrows them (`perfbudget "
                         "refresh --runs 5 --wide` refreshes only such entries)")  # fmt: skip
    assert wide_note([0.5, 0.5, 0.1], short=[True, False, True]) == f"{note}" + (
        "; 1 of them took 3 samples or fewer in most runs (a call takes most of `max_time`), "
        "so each run's minimum is a call or two: `rounds = 5` in its budget, or a longer "
        "`max_time`, gives more"
    )
    assert wide_note([0.5], random_seed=True) == f"{wide_note([0.5])}" + (
        "; this save's hash seed was random (PYTHONHASHSEED unset), and a test that iterates "
        "over a set of strings can run at another speed under each seed: set "
        "PYTHONHASHSEED=0 for saves and gates alike"
    )


@pytest.mark.parametrize(
    ("counts", "few"),
    [
        ([1, 2, 1, 90, 80], True),
        ([1, 2, 90, 80, 70], False),
        ([200] * 20 + [3] * 5, True),
        ([], False),
    ],
)
def test_few_samples_reads_the_latest_runs_sample_counts(counts: list[int], few: bool) -> None:
    assert few_samples([{"n": n, "min": 1e-3} for n in counts]) is few


def test_the_refresh_notes_agree_with_their_counts() -> None:
    assert busy_note({}) is None
    assert restarted_note(0) is None
    assert busy_note({"t.py::a": [2]}) == (
        "1 run of 1 entry ran in a slow stretch of the machine (at least half of the other "
        "tests of its class or module were 1.3x its fastest or more in the same run too); its "
        "allowed slowdown leaves that run out"
    )
    note = busy_note({"t.py::a": [2], "t.py::b": [1, 2]})
    assert note is not None
    assert note.startswith("3 runs of 2 entries ran in a slow stretch of the machine (at least ")
    assert note.endswith("; their allowed slowdown leaves those runs out")
    assert restarted_note(1) == (
        "1 entry ran at another level than its earlier saved runs allowed (by more than 10 % "
        "or its run-to-run noise, faster or slower): its history restarts with this refresh's "
        "runs, so the old level does not count as noise"
    )
    note = restarted_note(2)
    assert note is not None
    assert note.startswith("2 entries ran at another level than their earlier saved runs")
