"""Timers: a clock is a zero-argument callable returning integer nanoseconds.

The plugin reads time only through the functions captured here, kept in a
mapping: libraries that fake time in tests (freezegun, pytest-freezer) replace
``time.perf_counter`` and every module attribute that holds it, and a test that
runs under such a freeze must not stop the plugin's clocks. ``plugin.py`` imports
this module when pytest loads the plugin, before any test can freeze time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

__all__ = ["MIN_SAMPLE_NS", "TIMERS", "Clock", "clock_for", "wall_seconds"]

Clock = Callable[[], int]

_CLOCKS: Mapping[str, Clock] = MappingProxyType(
    {"wall": time.perf_counter_ns, "cpu": time.process_time_ns}
)

#: Names accepted for a timer.
TIMERS: tuple[str, ...] = tuple(_CLOCKS)

#: A sample must last at least this long; shorter calls are batched. The CPU clock is a
#: syscall of ~0.8 µs, so it needs longer samples than ``perf_counter_ns`` (~0.1 µs).
MIN_SAMPLE_NS: Mapping[str, int] = MappingProxyType({"wall": 10_000, "cpu": 100_000})


def clock_for(timer: str) -> Clock:
    """The clock of ``timer``: ``"wall"`` (perf_counter_ns) or ``"cpu"`` (process_time_ns)."""
    try:
        return _CLOCKS[timer]
    except (KeyError, TypeError):
        valid = ", ".join(repr(name) for name in TIMERS)
        raise ValueError(f"{timer!r} is not a timer; valid timers: {valid}") from None


def wall_seconds() -> float:
    """``time.perf_counter()``, read through the clock captured at import."""
    return _CLOCKS["wall"]() / 1e9
