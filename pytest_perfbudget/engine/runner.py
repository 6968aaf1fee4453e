"""Run a callable under a plan and return its raw samples.

Warm-up, calibration (batching calls shorter than the timer can time well), an
adaptive sampling loop that stops when ``decide`` is satisfied or ``max_time`` is
spent, GC and tracer handling. No pytest, no numpy: this runs inside the hot path.
"""

from __future__ import annotations

import contextlib
import gc
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from pytest_perfbudget.engine._pad import pad as _pad
from pytest_perfbudget.engine.clock import MIN_SAMPLE_NS, Clock, clock_for
from pytest_perfbudget.engine.recorder import Recorder
from pytest_perfbudget.engine.tracing import TracerPause, peak_memory
from pytest_perfbudget.model import Measurement

__all__ = ["Decide", "Plan", "Recorder", "Runner", "TracerPause", "peak_memory"]

#: Per-call seconds taken so far -> True when there are enough samples.
Decide = Callable[[Sequence[float]], bool]

FIRST_CHECKPOINT = 10
CHECKPOINT_GROWTH = 1.25
#: A sample at least this long (ns) is followed by a time check after every sample.
SLOW_SAMPLE_NS = 10_000_000
CALIBRATION_ATTEMPTS = 8
CALIBRATION_MARGIN = 1.2
#: A lone first sample that used up ``max_time`` is taken as the test's speed unless
#: it took this many times the mean warm-up call: then it was likely held up (a
#: collection of a large heap, a preemption), and sampling starts over for ``max_time``.
LONE_CALL_FACTOR = 2
#: Single calls timed before deciding that calls need no batching ...
SINGLE_CALL_CHECKS = 3
#: ... unless the first one is this many times the minimum sample length.
CLEARLY_SLOW = 10
MAX_GROWTH = 100.0
#: Sampling runs from this many call-stack depths in turn, about 1 KiB apart on
#: CPython (see :func:`_run_at_depths`).
STACK_DEPTHS = 16


@dataclass(frozen=True)
class Plan:
    """How to measure: timer, time cap, minimum samples, warm-up, GC and tracers.

    ``max_time``, ``min_time`` and ``warmup`` are seconds; warm-up and calibration
    count toward both. At least ``min_rounds`` samples are taken (capped by
    ``max_samples``), and sampling goes on for ``min_time`` whatever the stop rule says.
    """

    timer: str = "wall"
    max_time: float = 1.0
    min_rounds: int = 5
    warmup: float = 0.01
    gc: bool = True
    max_samples: int = 100_000
    pause_tracers: bool = True
    min_time: float = 0.0

    def __post_init__(self) -> None:
        clock_for(self.timer)
        _require(self.max_time >= 0, "max_time", self.max_time, "seconds >= 0")
        _require(self.warmup >= 0, "warmup", self.warmup, "seconds >= 0")
        _require(self.min_time >= 0, "min_time", self.min_time, "seconds >= 0")
        _require(self.min_rounds >= 1, "min_rounds", self.min_rounds, "an integer >= 1")
        _require(self.max_samples >= 1, "max_samples", self.max_samples, "an integer >= 1")


def _require(ok: bool, name: str, value: object, valid: str) -> None:
    if not ok:
        raise ValueError(f"Plan {name}={value!r} is not valid; expected {valid}")


class Runner:
    """Measures callables under one :class:`Plan`.

    ``clock`` times the samples (default: the plan's timer). ``deadline_clock``
    measures warm-up, ``max_time`` and ``elapsed``: the injected ``clock`` when one
    is given, else the wall clock (so a CPU-timed call that sleeps still stops).
    ``setup``, when given, runs untimed before every call, which makes each sample
    one call; its time counts toward ``max_time``. ``warm_call_ns``, the
    deadline-clock ns of a call of the function made just before (a test's own
    call, when its body is timed), stands in for the mean warm-up call when the
    plan's warm-up makes none.
    """

    def __init__(
        self,
        plan: Plan,
        clock: Clock | None = None,
        *,
        deadline_clock: Clock | None = None,
        setup: Callable[[], object] | None = None,
        warm_call_ns: int | None = None,
    ) -> None:
        self.plan = plan
        self._setup = setup
        self._warm_call_ns = warm_call_ns
        self._clock = clock if clock is not None else clock_for(plan.timer)
        if deadline_clock is None:
            deadline_clock = clock if clock is not None else clock_for("wall")
        self._deadline_clock = deadline_clock
        self._min_sample_ns = MIN_SAMPLE_NS[plan.timer]
        self._calibrated_ns = self._min_sample_ns

    def measure(
        self,
        fn: Callable[[], object],
        decide: Decide | None = None,
        *,
        mode: str = "perf",
        iterations: int | None = None,
    ) -> tuple[Measurement, object]:
        """Sample ``fn``; return the measurement and the result of its last call.

        With a tracer active, one untimed call runs under it first (so the code is
        covered), then the tracer is paused for warm-up, calibration and sampling.
        Given ``iterations`` (a re-measurement of a function already calibrated),
        warm-up and calibration are skipped. A single call long enough to be timed
        alone counts as the first sample, so a slow call is not run in vain; when it
        alone used up ``max_time`` but took over :data:`LONE_CALL_FACTOR` times the
        mean warm-up call, sampling goes on for ``max_time`` from then, so that
        neither the held-up call nor the slow calls that can follow it (caches the
        hold-up emptied) are the run's every sample.
        """
        tracing = sys.gettrace() is not None or sys.getprofile() is not None
        if self.plan.pause_tracers and tracing:
            self._call_untimed(fn)
        with TracerPause(pause=self.plan.pause_tracers) as tracer:
            start = self._deadline_clock()
            seed: list[int] = []
            result: object = None
            warm: int | None = None
            if iterations is None:
                warm = self._warm_up(fn, start)
                if warm is None:
                    warm = self._warm_call_ns
                iterations, seed, result = self._calibrate(fn)
            with _gc_paused(not self.plan.gc):
                samples, result = self._sample(
                    fn, iterations, decide, start, seed, result, warm_ns=warm
                )
            elapsed = (self._deadline_clock() - start) / 1e9
        measurement = Measurement(
            sample_ns=samples,
            iterations=iterations,
            timer=self.plan.timer,
            mode=mode,
            elapsed=elapsed,
            tracer=tracer.description,
        )
        return measurement, result

    def calibrate(self, fn: Callable[[], object]) -> int:
        """Calls per sample so that one sample lasts at least ``MIN_SAMPLE_NS[timer]``.

        Growth stops early once a batch lasts ``SLOW_SAMPLE_NS`` by the deadline clock,
        so a call the timer barely sees (a CPU-timed call that waits) cannot run away.
        """
        return self._calibrate(fn)[0]

    def _calibrate(self, fn: Callable[[], object]) -> tuple[int, list[int], object]:
        """Iterations, the samples calibration already took (a single call that is
        long enough), and the last call's result."""
        floor = self._min_sample_ns
        single, result = self._time_batch(fn, 1)
        seed = [single]
        # One call can be slowed by a preemption or a GC pass; unless it is clearly
        # slow, the fastest of a few decides, so that a short function is not timed
        # one call per sample (carrying a whole timer read) because of one hiccup.
        while len(seed) < SINGLE_CALL_CHECKS and min(seed) < CLEARLY_SLOW * floor:
            duration, result = self._time_batch(fn, 1)
            seed.append(duration)
        if min(seed) >= floor or self._setup is not None:  # a call after each setup
            return 1, seed, result
        iterations = 1
        duration = min(seed)
        for _ in range(CALIBRATION_ATTEMPTS):
            if duration >= floor or self._calibrated_ns >= SLOW_SAMPLE_NS:
                break
            growth = min(MAX_GROWTH, CALIBRATION_MARGIN * floor / max(duration, 1))
            iterations = max(iterations + 1, math.ceil(iterations * growth))
            duration, result = self._time_batch(fn, iterations)
        return iterations, [], result

    def _time_batch(self, fn: Callable[[], object], iterations: int) -> tuple[int, object]:
        """Time ``iterations`` calls; also note their deadline-clock duration, which
        sizes the first chunk of samples."""
        clock, now = self._clock, self._deadline_clock
        separate = now is not clock
        w0 = now() if separate else 0
        result: object = None
        if self._setup is not None:  # one call (see _calibrate), after its setup
            self._setup()
        t0 = clock()
        for _ in range(iterations):
            result = fn()
        duration = clock() - t0
        self._calibrated_ns = now() - w0 if separate else duration
        return duration, result

    def _warm_up(self, fn: Callable[[], object], start: int) -> int | None:
        """Call ``fn`` untimed until ``warmup`` seconds from ``start`` have passed;
        return the mean deadline-clock ns of a call (None when none was made)."""
        clock = self._deadline_clock
        until = start + round(self.plan.warmup * 1e9)
        calls = 0
        while (now := clock()) < until:
            self._call_untimed(fn)
            calls += 1
        return (now - start) // calls if calls else None

    def _call_untimed(self, fn: Callable[[], object]) -> object:
        if self._setup is not None:
            self._setup()
        return fn()

    def _sample(  # noqa: PLR0917 - private, called from one place
        self,
        fn: Callable[[], object],
        iterations: int,
        decide: Decide | None,
        start: int,
        samples: list[int],
        result: object,
        *,
        warm_ns: int | None,
    ) -> tuple[list[int], object]:
        """Sample until ``decide`` or the deadline; ``samples`` are those calibration
        took, and ``warm_ns`` the mean warm-up call or the call made before (None: neither)."""
        plan, now = self.plan, self._deadline_clock
        deadline = start + round(plan.max_time * 1e9)
        earliest = start + round(plan.min_time * 1e9)
        checkpoint = max(FIRST_CHECKPOINT, min(plan.min_rounds, plan.max_samples))
        per_call: list[float] = []
        scale = 1e-9 / iterations
        estimate = max(1, self._calibrated_ns)
        depth = 0
        if samples and len(samples) >= plan.min_rounds and (held := now()) >= deadline:
            held_up = warm_ns is not None and self._calibrated_ns > LONE_CALL_FACTOR * warm_ns
            if len(samples) > 1 or not held_up:
                return samples, result
            deadline = held + round(plan.max_time * 1e9)  # sampling starts over (see measure)
        while (n := len(samples)) < plan.max_samples:
            count = self._chunk(n, checkpoint, deadline - now(), estimate)
            before = now()
            result = _run_at_depths(self._clock, fn, iterations, count, samples, depth, self._setup)
            depth = (depth + count) % STACK_DEPTHS
            after = now()
            estimate = max(1, (after - before) // count)
            n += count
            if after >= deadline:
                break
            if n >= checkpoint:
                checkpoint = max(n + 1, math.ceil(n * CHECKPOINT_GROWTH))
                if decide is not None and after >= earliest:
                    per_call.extend(ns * scale for ns in samples[len(per_call) :])
                    if decide(per_call):
                        break
        return samples, result

    def _chunk(self, n: int, checkpoint: int, remaining_ns: int, estimate_ns: int) -> int:
        """Samples to take before the next check: up to the checkpoint, within half
        the remaining time (so ``max_time`` is overrun by little), at least up to
        ``min_rounds``, never past ``max_samples``."""
        plan = self.plan
        slow = estimate_ns >= SLOW_SAMPLE_NS
        by_time = 1 if slow else max(1, remaining_ns // (2 * estimate_ns))
        count = min(max(1, checkpoint - n), by_time)
        count = max(count, min(plan.min_rounds, plan.max_samples) - n)
        return min(count, plan.max_samples - n)


@contextlib.contextmanager
def _gc_paused(paused: bool) -> Iterator[None]:
    """Disable the garbage collector for the block when ``paused`` (restored after)."""
    if not paused or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _run_at_depths(  # noqa: PLR0917 - private, called from one place
    clock: Clock,
    fn: Callable[[], object],
    iterations: int,
    count: int,
    out: list[int],
    first: int,
    setup: Callable[[], object] | None,
) -> object:
    """:func:`_run_chunk` in up to :data:`STACK_DEPTHS` parts, each run from the next
    call-stack depth in turn (``first`` is the depth to start at).

    CPython keeps frames in 16 KiB chunks and frees a chunk when its first frame
    returns, so code whose calls keep crossing a chunk's edge runs slower, and where
    the edges lie depends on how deep the test starts: on pyparsing's suite up to
    1.4x, so a test read slower under ``coverage run`` or in an xdist worker than in
    a plain run (``benchmarks/RESULTS.md``). Sampled from depths about 1 KiB apart
    over more than a chunk, the minimum no longer depends on where the test started.
    """
    parts = min(count, STACK_DEPTHS)
    result: object = None
    for part in range(parts):
        share = count // parts + (part < count % parts)
        depth = (first + part) % STACK_DEPTHS
        if setup is None:
            result = _pad(depth, _run_chunk, clock, fn, iterations, share, out)
        else:
            result = _pad(depth, _run_chunk_after, clock, fn, setup, share, out)
    return result


def _run_chunk(
    clock: Clock, fn: Callable[[], object], iterations: int, count: int, out: list[int]
) -> object:
    """The hot loop: ``count`` samples of ``iterations`` calls each, two clock reads apiece."""
    append = out.append
    result: object = None
    if iterations == 1:
        for _ in range(count):
            t0 = clock()
            result = fn()
            append(clock() - t0)
        return result
    batch = range(iterations)
    for _ in range(count):
        t0 = clock()
        for _ in batch:
            result = fn()
        append(clock() - t0)
    return result


def _run_chunk_after(
    clock: Clock, fn: Callable[[], object], setup: Callable[[], object], count: int, out: list[int]
) -> object:
    """:func:`_run_chunk` of one call per sample, each after an untimed ``setup()``."""
    append = out.append
    result: object = None
    for _ in range(count):
        setup()
        t0 = clock()
        result = fn()
        append(clock() - t0)
    return result
