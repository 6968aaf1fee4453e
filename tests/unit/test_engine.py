"""The measurement engine, driven by a fake clock: no assertion depends on wall time."""

from __future__ import annotations

import cProfile
import gc
import itertools
import os
import sys
import threading
import types
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from pytest_perfbudget.engine.clock import MIN_SAMPLE_NS, clock_for
from pytest_perfbudget.engine.runner import STACK_DEPTHS, Plan, Recorder, Runner
from pytest_perfbudget.engine.tracing import (
    TracerPause,
    peak_memory,
    silenced,
    tracer_left_running,
    warnings_dropped,
    warnings_once,
)
from pytest_perfbudget.errors import SpecError


@dataclass
class FakeClock:
    """A clock in ns; every read costs ``read_ns``, every call of a work function its cost."""

    read_ns: int = 50
    now: int = 0
    calls: int = 0
    reads: list[int] = field(default_factory=list)

    def __call__(self) -> int:
        value = self.now
        self.now += self.read_ns
        return value

    def work(self, cost_ns: int) -> Callable[[], int]:
        def fn() -> int:
            self.now += cost_ns
            self.calls += 1
            return self.calls

        return fn


def plan(**overrides: Any) -> Plan:
    # Tracer pausing is off by default here so that coverage of the engine itself
    # can be measured; the tests of pausing turn it on.
    values: dict[str, Any] = {"max_time": 1.0, "warmup": 0.0, "pause_tracers": False}
    values.update(overrides)
    return Plan(**values)


@pytest.fixture(autouse=True)
def _gc_enabled() -> Iterator[None]:
    assert gc.isenabled()
    yield
    assert gc.isenabled()


def test_clock_for_maps_timers_to_ns_clocks() -> None:
    import time

    assert clock_for("wall") is time.perf_counter_ns
    assert clock_for("cpu") is time.process_time_ns


def test_clock_for_rejects_an_unknown_timer_and_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"'gpu' is not a timer; valid timers: 'wall', 'cpu'"):
        clock_for("gpu")


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("max_time", -1.0),
        ("warmup", -0.1),
        ("min_rounds", 0),
        ("max_samples", 0),
        ("min_time", -0.5),
    ],
)
def test_plan_rejects_bad_values(field_name: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"Plan {field_name}={value!r} is not valid"):
        Plan(**{field_name: value})  # type: ignore[arg-type]


def test_plan_rejects_an_unknown_timer() -> None:
    with pytest.raises(ValueError, match="'gpu' is not a timer"):
        Plan(timer="gpu")


def test_short_calls_are_batched_to_the_wall_minimum_and_reported_per_call() -> None:
    clock = FakeClock(read_ns=50)
    measurement, _ = Runner(plan(max_time=0.005), clock).measure(clock.work(10))
    assert measurement.iterations > 1
    assert min(measurement.sample_ns) >= MIN_SAMPLE_NS["wall"]
    assert all(9e-9 <= s <= 11e-9 for s in measurement.seconds)


def test_a_setup_runs_untimed_before_every_call_and_makes_each_sample_one_call() -> None:
    clock = FakeClock(read_ns=50)
    order: list[str] = []
    work = clock.work(10)  # short: without a setup, calls would be batched

    def setup() -> None:
        order.append("setup")
        clock.now += 1_000_000  # 1 ms of setup, which no sample may hold

    def fn() -> int:
        order.append("call")
        return work()

    runner = Runner(plan(max_time=0.05, warmup=0.002), clock, setup=setup)
    measurement, _ = runner.measure(fn)
    assert measurement.iterations == 1
    assert order == ["setup", "call"] * (len(order) // 2)
    assert len(measurement.sample_ns) >= 5
    assert all(ns == 10 + 50 for ns in measurement.sample_ns)  # the call and one clock read
    assert measurement.elapsed >= len(measurement.sample_ns) * 1e-3  # setups count toward time
    again, _ = runner.measure(fn, iterations=1)  # a re-measurement, as a confirmation runs
    assert all(ns == 60 for ns in again.sample_ns)
    assert order == ["setup", "call"] * (len(order) // 2)


def _depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


@pytest.mark.parametrize("max_time", [0.0002, 0.05])  # fewer samples than depths, and more
def test_samples_are_taken_from_every_stack_depth_in_turn(max_time: float) -> None:
    clock = FakeClock()
    depths: list[int] = []
    work = clock.work(20_000)

    def fn() -> int:
        depths.append(_depth())
        return work()

    Runner(plan(max_time=max_time, min_rounds=1), clock).measure(fn)
    sampled = [depth for depth in depths if depth != depths[0]]  # depths[0]: calibration's
    expected = min(len(sampled), STACK_DEPTHS)
    assert sorted(set(sampled)) == list(range(min(sampled), min(sampled) + expected))
    assert expected == STACK_DEPTHS or len(set(sampled)) == len(sampled)


def test_long_calls_are_not_batched() -> None:
    clock = FakeClock()
    measurement, _ = Runner(plan(max_time=0.05), clock).measure(clock.work(20_000))
    assert measurement.iterations == 1
    assert set(measurement.sample_ns) == {20_050}


def test_cpu_timer_batches_to_100_us() -> None:
    clock = FakeClock()
    runner = Runner(plan(timer="cpu", max_time=0.05), clock)
    measurement, _ = runner.measure(clock.work(20_000))
    assert measurement.timer == "cpu"
    assert measurement.iterations >= 5
    assert min(measurement.sample_ns) >= MIN_SAMPLE_NS["cpu"]


def test_calibrate_grows_the_batch_until_it_is_long_enough() -> None:
    clock = FakeClock(read_ns=2_000)
    work = clock.work(10)
    iterations = Runner(plan(), clock).calibrate(work)
    start = clock()
    for _ in range(iterations):
        work()
    assert clock() - start >= MIN_SAMPLE_NS["wall"]
    assert iterations > MIN_SAMPLE_NS["wall"] // 10 // 2


def test_calibrate_stops_growing_once_a_batch_takes_10_ms_of_deadline_time() -> None:
    cpu, wall = FakeClock(read_ns=1_000), FakeClock(read_ns=0)
    runner = Runner(plan(timer="cpu"), cpu, deadline_clock=wall)
    assert runner.calibrate(wall.work(1_000)) == 100 * 100  # growth is capped at 100x a step
    assert wall.calls == 3 + 100 + 100 * 100  # three single calls decide that batching is needed


def test_calibrate_gives_up_after_a_bounded_number_of_attempts() -> None:
    clock = FakeClock(read_ns=9_999)
    iterations = Runner(plan(), clock).calibrate(clock.work(0))
    assert 1 < iterations < 20
    assert clock.calls < 100


def test_a_separate_deadline_clock_bounds_a_cpu_timed_call_that_waits() -> None:
    cpu, wall = FakeClock(read_ns=0), FakeClock(read_ns=0)
    burn, wait = cpu.work(20_000), wall.work(1_000_000)

    def fn() -> None:
        burn()
        wait()

    runner = Runner(plan(timer="cpu", max_time=0.05), cpu, deadline_clock=wall)
    measurement, _ = runner.measure(fn)
    assert measurement.iterations == 6
    assert 0.05 <= measurement.elapsed <= 0.05 + 0.006


def test_warm_up_calls_run_until_warmup_seconds_have_passed() -> None:
    clock = FakeClock(read_ns=0)
    runner = Runner(plan(warmup=0.001, max_time=0.0, min_rounds=3), clock)
    measurement, _ = runner.measure(clock.work(100_000))
    warm_up = 10  # the calibration call is long enough to be the first sample
    assert clock.calls == warm_up + measurement.n
    assert measurement.n == 3


def test_a_lone_first_sample_held_up_past_max_time_starts_sampling_over() -> None:
    clock = FakeClock(read_ns=0)
    # warm-up, held up, then three slow calls (caches the hold-up emptied), then as before
    costs = itertools.chain(
        [500_000, 500_000, 95_000_000, 3_000_000, 3_000_000, 3_000_000],
        itertools.repeat(500_000),
    )

    def fn() -> None:
        clock.now += next(costs)
        clock.calls += 1

    runner = Runner(plan(warmup=0.001, max_time=0.05, min_rounds=1), clock)
    measurement, _ = runner.measure(fn)
    samples = list(measurement.sample_ns)
    assert samples[:4] == [95_000_000, 3_000_000, 3_000_000, 3_000_000]
    assert set(samples[4:]) == {500_000}
    # another max_time of sampling after the held-up call, overrun by little
    assert 0.05 <= sum(samples[1:]) / 1e9 <= 0.05 + 0.001
    assert clock.calls == 2 + len(samples)


@pytest.mark.parametrize(("called_ns", "samples"), [(500_000, 101), (95_000_000, 1)])
def test_without_a_warm_up_a_call_made_before_stands_for_it(called_ns: int, samples: int) -> None:
    clock = FakeClock(read_ns=0)
    # a test's body: held up, then as before
    costs = itertools.chain([95_000_000], itertools.repeat(500_000))

    def fn() -> None:
        clock.now += next(costs)

    runner = Runner(plan(max_time=0.05, min_rounds=1), clock, warm_call_ns=called_ns)
    measurement, _ = runner.measure(fn)
    assert measurement.n == samples
    assert measurement.sample_ns[0] == 95_000_000


@pytest.mark.parametrize("warmup", [0.001, 0.0])
def test_a_call_longer_than_max_time_is_timed_once_when_the_warm_up_took_as_long(
    warmup: float,
) -> None:
    clock = FakeClock(read_ns=0)
    runner = Runner(plan(warmup=warmup, max_time=0.05, min_rounds=1), clock)
    measurement, _ = runner.measure(clock.work(95_000_000))
    assert list(measurement.sample_ns) == [95_000_000]
    assert clock.calls == (2 if warmup else 1)  # one warm-up call, then the sample


def test_min_rounds_are_taken_even_when_max_time_is_spent() -> None:
    clock = FakeClock()
    runner = Runner(plan(max_time=0.0, min_rounds=7), clock)
    measurement, _ = runner.measure(clock.work(50_000_000))
    assert measurement.n == 7


def test_max_time_stops_sampling_with_little_overrun() -> None:
    clock = FakeClock()
    measurement, _ = Runner(plan(max_time=0.05), clock).measure(clock.work(100_000))
    assert 0.05 <= measurement.elapsed <= 0.0505
    assert measurement.n > 400


def test_slow_calls_check_the_time_after_every_sample() -> None:
    clock = FakeClock()
    runner = Runner(plan(max_time=0.1, min_rounds=1), clock)
    measurement, _ = runner.measure(clock.work(20_000_000))
    assert 0.1 <= measurement.elapsed < 0.1 + 0.021
    assert measurement.n == 5  # the calibration call counts as the first sample


def test_decide_is_asked_at_geometric_checkpoints_and_stops_early() -> None:
    clock = FakeClock()
    asked: list[int] = []

    def decide(seconds: Sequence[float]) -> bool:
        asked.append(len(seconds))
        assert seconds[0] == pytest.approx(20_050e-9)
        return len(seconds) >= 20

    measurement, _ = Runner(plan(max_time=100.0), clock).measure(clock.work(20_000), decide)
    assert asked == [10, 13, 17, 22]
    assert measurement.n == 22


def test_decide_waits_for_min_rounds() -> None:
    clock = FakeClock()
    asked: list[int] = []

    def decide(seconds: Sequence[float]) -> bool:
        asked.append(len(seconds))
        return True

    runner = Runner(plan(max_time=100.0, min_rounds=30), clock)
    measurement, _ = runner.measure(clock.work(20_000), decide)
    assert asked == [30]
    assert measurement.n == 30


def test_decide_is_not_asked_before_min_time_has_passed() -> None:
    clock = FakeClock()
    asked: list[int] = []

    def decide(seconds: Sequence[float]) -> bool:
        asked.append(len(seconds))
        return True

    runner = Runner(plan(max_time=100.0, min_time=0.01), clock)
    measurement, _ = runner.measure(clock.work(20_000), decide)
    assert len(asked) == 1  # asked once, at the first checkpoint after 10 ms
    assert measurement.n * 20_050e-9 >= 0.01 - 0.001  # calibration counts toward it


def test_samples_are_capped_at_max_samples() -> None:
    clock = FakeClock()
    runner = Runner(plan(max_time=1000.0, max_samples=50, min_rounds=80), clock)
    measurement, _ = runner.measure(clock.work(20_000))
    assert measurement.n == 50


def test_result_of_the_last_call_is_returned_with_mode_and_timer() -> None:
    clock = FakeClock()
    measurement, result = Runner(plan(max_time=0.01), clock).measure(clock.work(10), mode="body")
    assert result == clock.calls
    assert measurement.mode == "body"
    assert measurement.timer == "wall"


def test_gc_is_disabled_while_sampling_and_restored() -> None:
    clock = FakeClock()
    states: list[bool] = []
    work = clock.work(20_000)

    def fn() -> int:
        states.append(gc.isenabled())
        return work()

    Runner(plan(gc=False, max_time=0.01), clock).measure(fn)
    assert states[0] is True
    assert states[-1] is False


def test_gc_stays_enabled_by_default() -> None:
    clock = FakeClock()
    states: list[bool] = []
    work = clock.work(20_000)

    def fn() -> int:
        states.append(gc.isenabled())
        return work()

    Runner(plan(max_time=0.01), clock).measure(fn)
    assert all(states)


def test_gc_is_restored_when_fn_raises_and_the_exception_propagates() -> None:
    clock = FakeClock()
    work = clock.work(20_000)

    def fn() -> int:
        if work() > 5:
            raise KeyError("boom")
        return 0

    with pytest.raises(KeyError, match="boom"):
        Runner(plan(gc=False), clock).measure(fn)


def test_gc_stays_disabled_if_it_was_disabled_before() -> None:
    clock = FakeClock()
    gc.disable()
    try:
        Runner(plan(gc=False, max_time=0.01), clock).measure(clock.work(20_000))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_exceptions_from_fn_propagate_unchanged() -> None:
    error = ZeroDivisionError("x")

    def fn() -> None:
        raise error

    with pytest.raises(ZeroDivisionError) as info:
        Runner(plan(), FakeClock()).measure(fn)
    assert info.value is error


def test_default_clocks_measure_a_real_call() -> None:
    runner = Runner(Plan(max_time=0.01, warmup=0.001, pause_tracers=False))
    measurement, result = runner.measure(lambda: 42)
    assert result == 42
    assert measurement.n >= 5
    assert measurement.iterations >= 1


def test_recorder_times_each_block() -> None:
    clock = FakeClock(read_ns=100)
    recorder = Recorder("wall", clock)
    for cost in (1_000, 2_000):
        with recorder.sample():
            clock.now += cost
    assert recorder.n == 2
    measurement = recorder.measurement("sample")
    assert measurement is not None
    assert tuple(measurement.sample_ns) == (1_100, 2_100)
    assert measurement.mode == "sample"
    assert measurement.elapsed == pytest.approx(3.2e-6)


def test_recorder_drops_a_block_that_raises() -> None:
    recorder = Recorder("wall", FakeClock())
    with pytest.raises(RuntimeError), recorder.sample():
        raise RuntimeError
    assert recorder.n == 0
    assert recorder.measurement("sample") is None


def test_recorder_records_seconds_as_rounded_ns() -> None:
    recorder = Recorder("cpu")
    recorder.record(0.0123)
    recorder.record(0)
    measurement = recorder.measurement("record")
    assert measurement is not None
    assert tuple(measurement.sample_ns) == (12_300_000, 0)
    assert measurement.timer == "cpu"


@pytest.mark.parametrize("value", [True, -0.1, float("nan"), float("inf"), "5ms", None])
def test_recorder_rejects_what_is_not_a_duration(value: object) -> None:
    with pytest.raises(SpecError) as info:
        Recorder("wall").record(value)
    assert str(info.value) == (
        f"perf.record() got {value!r}; expected a duration in seconds: "
        "a finite number >= 0 (e.g. 0.0123)"
    )


def test_recorder_rejects_an_unknown_timer() -> None:
    with pytest.raises(ValueError, match="'gpu' is not a timer"):
        Recorder("gpu")


def _allocate() -> int:
    block = bytearray(10_000_000)
    return len(block)


def test_peak_memory_of_a_10_mb_call() -> None:
    import tracemalloc

    peak, result = peak_memory(_allocate)
    assert result == 10_000_000
    assert 10_000_000 <= peak < 20_000_000
    assert not tracemalloc.is_tracing()


def test_peak_memory_when_already_tracing_is_relative_and_keeps_tracing() -> None:
    import tracemalloc

    tracemalloc.start()
    try:
        kept = bytearray(30_000_000)
        peak, _ = peak_memory(_allocate)
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()
    assert 10_000_000 <= peak < 20_000_000
    assert len(kept) == 30_000_000


@pytest.fixture
def restore_tracers() -> Iterator[None]:
    trace, profile = sys.gettrace(), sys.getprofile()
    thread_trace, thread_profile = threading.gettrace(), threading.getprofile()
    yield
    sys.settrace(trace)
    sys.setprofile(profile)
    threading.settrace(thread_trace)
    threading.setprofile(thread_profile)


class CallTracer:
    """A ``sys.settrace`` tracer that records the names of called functions."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, frame: types.FrameType, event: str, arg: object) -> None:
        if event == "call":
            self.seen.append(frame.f_code.co_name)


@pytest.mark.usefixtures("restore_tracers")
def test_measure_makes_one_traced_call_then_pauses_the_tracer() -> None:
    clock = FakeClock()
    work = clock.work(20_000)
    active: list[object] = []

    def traced_fn() -> int:
        active.append(sys.gettrace())
        return work()

    tracer = CallTracer()
    sys.settrace(tracer)
    measurement, _ = Runner(plan(pause_tracers=True), clock).measure(traced_fn)
    after = sys.gettrace()
    sys.settrace(None)
    assert tracer.seen.count("traced_fn") == 1
    assert after is tracer
    assert active[0] is tracer
    assert active[1:] == [None] * (len(active) - 1)
    assert measurement.tracer == (f"sys.settrace tracer paused ({__name__}.CallTracer)")


@pytest.mark.usefixtures("restore_tracers")
def test_tracer_pause_pauses_a_profiler_and_restores_it() -> None:
    def profiler(frame: types.FrameType, event: str, arg: object) -> None:
        return None

    sys.settrace(None)
    sys.setprofile(profiler)
    with TracerPause() as pause:
        assert sys.getprofile() is None
    assert sys.getprofile() is profiler
    assert pause.paused
    assert pause.unpausable is None
    name = f"{__name__}.test_tracer_pause_pauses_a_profiler_and_restores_it.<locals>.profiler"
    assert pause.description == f"sys.setprofile profiler paused ({name})"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="cProfile uses sys.monitoring")
@pytest.mark.usefixtures("restore_tracers")
def test_tracer_pause_leaves_a_profiler_python_cannot_call_running() -> None:
    """cProfile's profiler before 3.12: ``sys.getprofile()`` gives the profiler object,
    which ``sys.setprofile`` could not set again."""
    sys.settrace(None)  # coverage's tracers, when the suite runs under it
    threading.settrace(None)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        hook = sys.getprofile()
        with TracerPause() as pause:
            assert sys.getprofile() is hook
        assert sys.getprofile() is hook
    finally:
        profiler.disable()
    assert pause.unpausable == "sys.setprofile profiler active, not paused (cProfile.Profile)"
    assert pause.description == pause.unpausable
    assert not pause.paused


@pytest.mark.usefixtures("restore_tracers")
def test_tracer_pause_leaves_threads_started_in_the_block_untraced() -> None:
    tracer = CallTracer()

    def traced_fn() -> None:
        pass

    def run_in_a_thread() -> None:
        thread = threading.Thread(target=traced_fn)
        thread.start()
        thread.join()

    sys.settrace(None)
    threading.settrace(tracer)  # what coverage does for new threads
    with TracerPause() as pause:
        run_in_a_thread()
    assert pause.paused
    assert tracer.seen == []
    assert threading.gettrace() is tracer
    run_in_a_thread()
    assert tracer.seen.count("traced_fn") == 1


@pytest.mark.usefixtures("restore_tracers")
def test_tracer_pause_names_a_bound_method_by_its_function() -> None:
    tracer = CallTracer()
    sys.settrace(tracer.__call__)
    with TracerPause() as pause:
        assert sys.gettrace() is None
    assert pause.description == f"sys.settrace tracer paused ({__name__}.CallTracer.__call__)"


@pytest.mark.usefixtures("restore_tracers")
def test_tracer_pause_without_pausing_only_describes() -> None:
    tracer = CallTracer()
    sys.settrace(tracer)
    with TracerPause(pause=False) as pause:
        assert sys.gettrace() is tracer
    assert not pause.paused
    assert pause.description == f"sys.settrace tracer active, not paused ({__name__}.CallTracer)"


@pytest.mark.usefixtures("restore_tracers")
def test_tracer_pause_with_nothing_active_describes_nothing() -> None:
    sys.settrace(None)
    sys.setprofile(None)
    threading.settrace(None)
    threading.setprofile(None)
    with TracerPause() as pause:
        pass
    assert pause.description is None
    assert not pause.paused
    assert pause.unpausable is None


@pytest.mark.usefixtures("restore_tracers")
def test_tracer_pause_reports_sys_monitoring_tools_as_unpausable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tools = {1: "coverage.py"}
    fake = types.SimpleNamespace(get_tool=tools.get)
    monkeypatch.setattr(sys, "monitoring", fake, raising=False)
    with TracerPause(pause=False) as pause:
        pass
    assert pause.unpausable == "sys.monitoring tool 1 (coverage.py) active, not paused"
    assert pause.description is not None
    assert pause.description.endswith(pause.unpausable)


@pytest.mark.usefixtures("restore_tracers")
def test_a_tracer_is_left_running_when_it_is_a_sys_monitoring_tool_or_not_callable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "monitoring", types.SimpleNamespace(get_tool={}.get), raising=False)
    sys.settrace(CallTracer())
    assert not tracer_left_running()  # paused while timing
    monkeypatch.setattr(sys, "getprofile", object)  # an object Python cannot call
    assert tracer_left_running()
    monkeypatch.undo()
    tools = {2: "cProfile"}
    monkeypatch.setattr(sys, "monitoring", types.SimpleNamespace(get_tool=tools.get), raising=False)
    assert tracer_left_running()


def test_tracer_pause_without_sys_monitoring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "monitoring", raising=False)
    with TracerPause() as pause:
        pass
    assert pause.unpausable is None


def test_one_slow_first_call_does_not_stop_a_short_function_being_batched() -> None:
    clock = FakeClock()
    durations = iter([20_000] + [100] * 100_000)  # a hiccup, then 100 ns calls

    def fn() -> None:
        clock.now += next(durations)

    assert Runner(plan(), clock).calibrate(fn) > 50


def test_silenced_drops_output_and_restores_both_streams(capfd: pytest.CaptureFixture[str]) -> None:
    stdout, stderr = sys.stdout, sys.stderr
    with silenced():
        print("dropped")
        sys.stderr.write("dropped\n")
        os.write(1, b"dropped\n")
        os.write(2, b"dropped\n")
    assert (sys.stdout, sys.stderr) == (stdout, stderr)
    print("kept")
    os.write(2, b"kept\n")
    assert capfd.readouterr() == ("kept\n", "kept\n")


def test_silenced_without_streams_keeps_them_and_drops_the_descriptors_output(
    capfd: pytest.CaptureFixture[str],
) -> None:
    stdout = sys.stdout
    with silenced(streams=False):
        assert sys.stdout is stdout
        print("kept")
        os.write(1, b"dropped\n")
    assert capfd.readouterr().out == "kept\n"


def test_silenced_restores_the_streams_when_the_block_raises(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(ZeroDivisionError), silenced():
        1 / 0  # noqa: B018
    os.write(1, b"kept\n")
    assert capfd.readouterr().out == "kept\n"


def test_warnings_dropped_shows_nothing_and_restores_showwarning() -> None:
    show = warnings.showwarning
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with warnings_dropped():
            warnings.warn("dropped", DeprecationWarning, stacklevel=1)
        warnings.warn("kept", DeprecationWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["kept"]
    assert warnings.showwarning is show


def test_warnings_dropped_keeps_the_filters_and_pytest_warns() -> None:
    with warnings.catch_warnings(), warnings_dropped():
        with pytest.warns(DeprecationWarning, match="recorded"):
            warnings.warn("recorded", DeprecationWarning, stacklevel=1)
        warnings.simplefilter("error")
        with pytest.raises(DeprecationWarning):
            warnings.warn("raised", DeprecationWarning, stacklevel=1)


def test_warnings_once_issues_each_distinct_warning_once_at_the_end() -> None:
    def old(n: int) -> None:
        warnings.warn(f"old {n}", DeprecationWarning, stacklevel=1)

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with warnings_once():
            for n in (1, 2, 1, 1, 2):
                old(n)
            assert seen == []
    assert [str(w.message) for w in seen] == ["old 1", "old 2"]
    assert {w.filename for w in seen} == {__file__}


def test_warnings_once_issues_them_when_the_block_raises_and_keeps_error_filters() -> None:
    def measured() -> None:
        warnings.warn("kept", UserWarning, stacklevel=1)
        with pytest.raises(RuntimeWarning):
            warnings.warn("raised", RuntimeWarning, stacklevel=1)
        raise ZeroDivisionError

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ZeroDivisionError), warnings_once():
            measured()
    assert [str(w.message) for w in seen] == ["kept"]
