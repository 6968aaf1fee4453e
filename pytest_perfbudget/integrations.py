"""Plain-value adapters for other plugins' objects (duck-typed: no imports of them)."""

from __future__ import annotations

from typing import Any

from pytest_perfbudget.model import Measurement

__all__ = ["BENCHMARK_FALLBACK", "benchmark_measurement", "tracer_unpaused"]

BENCHMARK_FALLBACK = (
    "pytest-benchmark did not measure this test (it is disabled here, e.g. under xdist or "
    "--benchmark-disable, or another plugin replaced its fixture); perfbudget timed the test "
    "body itself"
)


def benchmark_measurement(fixture: Any) -> Measurement | None:
    """pytest-benchmark's own samples of a ``benchmark`` fixture, or None if it measured nothing.

    Its ``stats.stats.data`` holds per-call seconds, one per round of
    ``stats.iterations`` calls.
    """
    metadata = getattr(fixture, "stats", None)
    data = getattr(getattr(metadata, "stats", None), "data", None)
    if not data:
        return None
    iterations = max(1, int(getattr(metadata, "iterations", 1) or 1))
    return Measurement(
        sample_ns=tuple(round(seconds * iterations * 1e9) for seconds in data),
        iterations=iterations,
        timer="wall",
        mode="benchmark",
        elapsed=float(sum(data)) * iterations,
    )


def tracer_unpaused(measurement: Measurement | None) -> bool:
    """True when a tracer stayed active during the timed loop (timings are inflated)."""
    tracer = measurement.tracer if measurement else None
    return bool(tracer and "not paused" in tracer)
