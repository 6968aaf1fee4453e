"""Plain, frozen values that flow from the measurement engine to the reports.

Nothing here imports pytest or numpy. Every value that crosses a process
boundary (xdist workers, paired workers) or lands in a file has ``to_dict`` and
``from_dict`` made of JSON types only.
"""

from __future__ import annotations

import base64
import enum
import sys
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pytest_perfbudget.units import format_change

__all__ = [
    "NOISE_RUNS",
    "QUANTILES",
    "STATISTICS",
    "WIDE_LEARNED",
    "Budget",
    "Change",
    "Check",
    "Measurement",
    "Outcome",
    "Status",
    "Summary",
    "Verdict",
    "packed_samples",
]

#: Budgetable statistics and, for the quantiles, their level.
QUANTILES: Mapping[str, float] = {
    "p50": 0.50,
    "p75": 0.75,
    "p90": 0.90,
    "p95": 0.95,
    "p99": 0.99,
    "p999": 0.999,
}
STATISTICS: tuple[str, ...] = (*QUANTILES, "mean", "max")
#: Saved runs on one machine a baseline entry's history needs before its noise floor
#: is learned: the allowed slowdown raised to the run-to-run noise (STATISTICS.md rule 2).
NOISE_RUNS = 5
#: Entries whose saved runs allow this slowdown or more by themselves are counted after
#: a save (and ``perfbudget refresh --wide`` refreshes them): a 30 % slowdown, the size
#: the stored comparison is meant to catch, would go unnoticed.
WIDE_LEARNED = 0.30
#: How the message of a regression a fresh process did not confirm (``recheck``) begins.
FRESH_NOT_CONFIRMED = "not confirmed in a fresh process"
#: Names accepted in a budget that stand for another statistic.
ALIASES: Mapping[str, str] = {"median": "p50"}


class Status(str, enum.Enum):
    """The verdict on one test, as written to reports."""

    PASS = "pass"
    OVER_BUDGET = "over_budget"
    REGRESSED = "regressed"
    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    INCONCLUSIVE = "inconclusive"
    NEW = "new"
    FAILED = "failed"
    SKIPPED = "skipped"


class Outcome(str, enum.Enum):
    """The decision on one check: a budgeted statistic or the regression gate."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Budget:
    """What one test must meet, and how to measure it.

    ``limits`` maps a statistic of :data:`STATISTICS` to seconds. ``regression``
    is the allowed slowdown as a fraction: None inherits the configured default,
    False turns the regression gate off. Measurement knobs left as None inherit
    the settings.
    """

    limits: Mapping[str, float] = field(default_factory=dict)
    memory: int | None = None
    regression: float | bool | None = None
    rounds: int | None = None
    max_time: float | None = None
    warmup: float | None = None
    timer: str | None = None
    gc: bool | None = None
    source: str = "marker"

    @property
    def has_limits(self) -> bool:
        """True when the budget sets a time or memory limit."""
        return bool(self.limits) or self.memory is not None

    def to_dict(self) -> dict[str, Any]:
        """The report form: ``{stat: seconds, "memory": bytes}``."""
        out: dict[str, Any] = dict(self.limits)
        if self.memory is not None:
            out["memory"] = self.memory
        return out

    def with_limits(self, limits: Mapping[str, float]) -> Budget:
        """A copy with other limits (used by hooks that scale budgets)."""
        return replace(self, limits=dict(limits))


@dataclass(frozen=True)
class Measurement:
    """Raw samples of one measured callable or test body.

    ``sample_ns`` holds the duration of each sample in integer nanoseconds; a
    sample covers ``iterations`` calls, so one call took ``ns / iterations``.
    Given as any sequence of ints, it is kept as an ``array('Q')``: a run keeps
    every test's samples to its end, and that takes 8 bytes a sample where a
    tuple of ints takes 36 (a save samples a fast test 6,000 times or more).
    """

    sample_ns: Sequence[int]
    iterations: int = 1
    timer: str = "wall"
    mode: str = "perf"
    elapsed: float = 0.0
    tracer: str | None = None
    memory_peak: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sample_ns", packed_samples(self.sample_ns))

    @property
    def n(self) -> int:
        """Number of samples."""
        return len(self.sample_ns)

    @property
    def seconds(self) -> Sequence[float]:
        """Per-call durations in seconds, one per sample, in the order taken: a numpy
        array's values (:class:`~pytest_perfbudget.lazy.ArrayValues`), made at each read."""
        from pytest_perfbudget.lazy import seconds_of  # numpy, on first use

        return seconds_of(self.sample_ns, self.iterations)

    def extended(self, other: Measurement) -> Measurement:
        """Both measurements' samples as one; per call (``iterations`` 1) when they took
        different numbers of calls a sample (pytest-benchmark calibrates each run anew)."""
        elapsed = self.elapsed + other.elapsed
        if other.iterations != self.iterations:
            calls = [round(value * 1e9) for value in (*self.seconds, *other.seconds)]
            return replace(self, sample_ns=calls, iterations=1, elapsed=elapsed)
        return replace(
            self,
            sample_ns=packed_samples(self.sample_ns) + packed_samples(other.sample_ns),
            elapsed=elapsed,
        )


@dataclass(frozen=True)
class Summary:
    """Statistics of per-call durations, in seconds.

    Percentiles use numpy's default (linear) definition. ``bounds`` maps a
    statistic to its one-sided 99 % lower and upper confidence bounds; a side is
    None when there are too few samples for a distribution-free bound.
    """

    n: int
    mean: float
    stdev: float
    min: float
    p50: float
    p75: float
    p90: float
    p95: float
    p99: float
    p999: float
    max: float
    bounds: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)

    def value(self, stat: str) -> float:
        """The point estimate of ``stat`` (a name of :data:`STATISTICS`, or ``min``)."""
        return float(getattr(self, ALIASES.get(stat, stat)))

    def bound(self, stat: str) -> tuple[float | None, float | None]:
        """The 99 % lower and upper bounds of ``stat``."""
        return self.bounds.get(ALIASES.get(stat, stat), (None, None))

    def to_dict(self) -> dict[str, Any]:
        """The report form; bounds as ``{stat: [low, high]}``."""
        out: dict[str, Any] = {
            name: getattr(self, name) for name in ("n", "mean", "stdev", "min", *QUANTILES, "max")
        }
        out["bounds"] = {stat: list(pair) for stat, pair in sorted(self.bounds.items())}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        """Inverse of :meth:`to_dict`; ``p999`` and ``bounds`` may be missing."""
        bounds = {stat: (pair[0], pair[1]) for stat, pair in dict(data.get("bounds") or {}).items()}
        return cls(
            n=int(data["n"]),
            mean=float(data["mean"]),
            stdev=float(data["stdev"]),
            min=float(data["min"]),
            p50=float(data["p50"]),
            p75=float(data["p75"]),
            p90=float(data["p90"]),
            p95=float(data["p95"]),
            p99=float(data["p99"]),
            p999=float(data.get("p999", data["max"])),
            max=float(data["max"]),
            bounds=bounds,
        )


@dataclass(frozen=True)
class Check:
    """One budgeted statistic against its limit (seconds, or bytes for memory)."""

    stat: str
    limit: float
    observed: float
    low: float | None
    high: float | None
    outcome: Outcome
    exact: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "stat": self.stat,
            "limit": self.limit,
            "observed": self.observed,
            "low": self.low,
            "high": self.high,
            "outcome": self.outcome.value,
            "exact": self.exact,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Check:
        return cls(
            stat=str(data["stat"]),
            limit=float(data["limit"]),
            observed=float(data["observed"]),
            low=data.get("low"),
            high=data.get("high"),
            outcome=Outcome(data["outcome"]),
            exact=bool(data.get("exact", True)),
        )


@dataclass(frozen=True)
class Change:
    """The estimated ratio now / baseline of ``stat``, with its interval (``low`` =
    ``high`` = ``ratio`` for a statistic that has none, such as the minimum)."""

    stat: str
    ratio: float
    low: float
    high: float
    mode: str = "stored"
    threshold: float | None = None
    against: str | None = None

    @property
    def interval(self) -> str:
        """``"[low … high]"`` as changes (``"[+5.0 % … +9.1 %]"``); empty without one."""
        if self.low == self.high:
            return ""
        return f"[{format_change(self.low)} … {format_change(self.high)}]"

    @property
    def text(self) -> str:
        """The ratio as a change, then its interval if it has one: ``"+7.0 % [+5.0 % …
        +9.1 %]"``, ``"+50 %"``."""
        return " ".join(filter(None, (format_change(self.ratio), self.interval)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "stat": self.stat,
            "ratio": self.ratio,
            "low": self.low,
            "high": self.high,
            "mode": self.mode,
            "threshold": self.threshold,
        }
        if self.against is not None:
            out["against"] = self.against
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        return cls(
            stat=str(data["stat"]),
            ratio=float(data["ratio"]),
            low=float(data["low"]),
            high=float(data["high"]),
            mode=str(data.get("mode", "stored")),
            threshold=data.get("threshold"),
            against=data.get("against"),
        )


@dataclass(frozen=True)
class Verdict:
    """Everything decided about one test: what reports render and baselines store."""

    nodeid: str
    status: Status
    budget: Budget = field(default_factory=Budget)
    summary: Summary | None = None
    measurement: Measurement | None = None
    checks: tuple[Check, ...] = ()
    baseline: Summary | None = None
    change: Change | None = None
    messages: tuple[str, ...] = ()
    confirmed: bool = False
    location: tuple[str, int] | None = None

    @property
    def memory_peak(self) -> int | None:
        """Peak traced bytes of one call, when a memory budget was measured."""
        return self.measurement.memory_peak if self.measurement else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON report entry of DESIGN §1 (samples are added by the writer)."""
        meas = self.measurement
        return {
            "nodeid": self.nodeid,
            "status": self.status.value,
            "budget": self.budget.to_dict(),
            "stats": self.summary.to_dict() if self.summary else None,
            "memory": None if self.memory_peak is None else {"peak_bytes": self.memory_peak},
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "change": self.change.to_dict() if self.change else None,
            "messages": list(self.messages),
            "checks": [check.to_dict() for check in self.checks],
            "confirmed": self.confirmed,
            "timer": meas.timer if meas else None,
            "mode": meas.mode if meas else None,
            "iterations": meas.iterations if meas else None,
            "elapsed": meas.elapsed if meas else None,
            "tracer": meas.tracer if meas else None,
            "location": list(self.location) if self.location else None,
        }

    def to_wire(self) -> dict[str, Any]:
        """:meth:`to_dict` plus the raw samples (text: :func:`_wire_samples`): what a
        worker ships to the controller.

        Text, because pytest keeps every report to the end of the session: a list
        of ints there is scanned item by item in every full collection, which made
        a test that calls ``gc.collect()`` late in a suite read ~3x slower in a save
        run (samples for at least 0.1 s a test) than in a gate run."""
        out = self.to_dict()
        meas = self.measurement
        out["sample_ns"] = _wire_samples(meas.sample_ns) if meas else None
        out["memory_peak"] = self.memory_peak
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """Inverse of :meth:`to_dict` / :meth:`to_wire` (samples only from the wire form)."""
        budget = dict(data.get("budget") or {})
        memory = budget.pop("memory", None)
        measurement = None
        if data.get("timer") is not None:
            samples = data.get("sample_ns") or ()
            measurement = Measurement(
                sample_ns=_unwire_samples(samples)
                if isinstance(samples, str)
                else [int(ns) for ns in samples],
                iterations=int(data.get("iterations") or 1),
                timer=str(data["timer"]),
                mode=str(data.get("mode") or "perf"),
                elapsed=float(data.get("elapsed") or 0.0),
                tracer=data.get("tracer"),
                memory_peak=(data.get("memory") or {}).get("peak_bytes"),
            )
        location = data.get("location")
        return cls(
            nodeid=str(data["nodeid"]),
            status=Status(data["status"]),
            budget=Budget(limits=budget, memory=memory),
            summary=Summary.from_dict(data["stats"]) if data.get("stats") else None,
            measurement=measurement,
            checks=tuple(Check.from_dict(c) for c in data.get("checks") or ()),
            baseline=Summary.from_dict(data["baseline"]) if data.get("baseline") else None,
            change=Change.from_dict(data["change"]) if data.get("change") else None,
            messages=tuple(data.get("messages") or ()),
            confirmed=bool(data.get("confirmed", False)),
            location=(str(location[0]), int(location[1])) if location else None,
        )


def packed_samples(samples: Sequence[int]) -> array[int]:
    """``samples`` as an ``array('Q')`` (itself when it is one)."""
    if type(samples) is array and samples.typecode == "Q":
        return samples
    return array("Q", samples)


def _wire_samples(samples: Sequence[int]) -> str:
    """Samples as JSON text: base64 of unsigned 64-bit little-endian integers."""
    packed = packed_samples(samples)
    if sys.byteorder == "big":  # pragma: no cover - no big-endian CI
        packed = array("Q", packed)
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def _unwire_samples(text: str) -> array[int]:
    """Inverse of :func:`_wire_samples`; ``ValueError`` for text it did not write."""
    samples = array("Q")
    samples.frombytes(base64.b64decode(text, validate=True))
    if sys.byteorder == "big":  # pragma: no cover - no big-endian CI
        samples.byteswap()
    return samples
