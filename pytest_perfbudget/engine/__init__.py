"""The measurement engine: timers, calibration and sampling. Imports neither pytest nor numpy."""

from __future__ import annotations

from pytest_perfbudget.engine.clock import MIN_SAMPLE_NS, TIMERS, Clock, clock_for
from pytest_perfbudget.engine.runner import (
    Decide,
    Plan,
    Recorder,
    Runner,
    TracerPause,
    peak_memory,
)

__all__ = [
    "MIN_SAMPLE_NS",
    "TIMERS",
    "Clock",
    "Decide",
    "Plan",
    "Recorder",
    "Runner",
    "TracerPause",
    "clock_for",
    "peak_memory",
]
