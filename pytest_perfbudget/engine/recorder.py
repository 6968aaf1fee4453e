"""Samples the test takes itself: ``with perf.sample():`` blocks and recorded durations."""

from __future__ import annotations

import math
import numbers
from types import TracebackType

from pytest_perfbudget.engine.clock import Clock, clock_for
from pytest_perfbudget.errors import SpecError
from pytest_perfbudget.model import Measurement

__all__ = ["Recorder"]


class _Sample:
    """Times one ``with`` block for a :class:`Recorder`; a block that raises is dropped."""

    __slots__ = ("_clock", "_out", "_t0")

    def __init__(self, clock: Clock, out: list[int]) -> None:
        self._clock = clock
        self._out = out
        self._t0 = 0

    def __enter__(self) -> None:
        self._t0 = self._clock()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        end = self._clock()
        if exc_type is None:
            self._out.append(end - self._t0)


class Recorder:
    """Collects samples the test drives itself: ``with rec.sample():`` or ``rec.record(s)``."""

    def __init__(self, timer: str, clock: Clock | None = None) -> None:
        self.timer = timer
        self._clock = clock if clock is not None else clock_for(timer)
        self._samples: list[int] = []

    @property
    def n(self) -> int:
        """Number of samples recorded so far."""
        return len(self._samples)

    def sample(self) -> _Sample:
        """A context manager that records how long its block took (unless it raises)."""
        return _Sample(self._clock, self._samples)

    def record(self, seconds: object) -> None:
        """Record one duration measured elsewhere, in seconds (a finite number >= 0)."""
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, numbers.Real)
            or not math.isfinite(seconds)
            or seconds < 0
        ):
            raise SpecError(
                f"perf.record() got {seconds!r}; expected a duration in seconds: "
                "a finite number >= 0 (e.g. 0.0123)"
            )
        self._samples.append(round(float(seconds) * 1e9))

    def measurement(self, mode: str) -> Measurement | None:
        """The samples so far (``elapsed`` = their sum), or None when there are none."""
        if not self._samples:
            return None
        return Measurement(
            sample_ns=self._samples,
            iterations=1,
            timer=self.timer,
            mode=mode,
            elapsed=sum(self._samples) / 1e9,
        )
