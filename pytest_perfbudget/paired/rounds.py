"""Interleaved rounds over a ready pair: warm up, calibrate a common block size, then
(base block, head block) in random order per round until decided or out of time."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from pytest_perfbudget.engine.clock import wall_seconds
from pytest_perfbudget.paired.process import WorkerProcess

__all__ = ["MIN_ROUNDS", "Rounds", "Settings", "run_rounds"]

#: Rounds before any decision: enough for a 99 % sign-test interval of the median.
MIN_ROUNDS = 12
#: A block lasts at least this long (ns) on the faster side: 1–5 ms per STATISTICS rule 3.
BLOCK_NS = 1_000_000
MAX_GROWTH = 100.0
CALIBRATION_STEPS = 12

#: (base block ns, head block ns) so far -> True when the verdict is decided.
Decide = Callable[[list[int], list[int]], bool]


@dataclass(frozen=True)
class Settings:
    """How one paired measurement runs."""

    timer: str
    max_time: float
    warmup: float
    whole_runs: bool
    timeout: float
    min_rounds: int = MIN_ROUNDS


@dataclass
class Rounds:
    """What the rounds produced: block times of each side, calls per block, head samples."""

    calls: int = 1
    base_ns: list[int] = field(default_factory=list)
    head_ns: list[int] = field(default_factory=list)
    head_samples: list[int] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def n(self) -> int:
        return len(self.head_ns)


def _block(worker: WorkerProcess, calls: int, settings: Settings) -> dict[str, object]:
    return worker.command({"op": "time", "k": calls, "timer": settings.timer}, settings.timeout)


def _ns(reply: dict[str, object]) -> int:
    value = reply["ns"]
    return max(1, value if isinstance(value, int) else 1)


def calibrate(workers: list[WorkerProcess], settings: Settings) -> int:
    """A common number of calls per block so the faster side's block lasts BLOCK_NS."""
    calls = 1
    for _ in range(CALIBRATION_STEPS):
        fastest = min(_ns(_block(w, calls, settings)) for w in workers)
        if fastest >= BLOCK_NS:
            break
        growth = min(MAX_GROWTH, 1.2 * BLOCK_NS / fastest)
        calls = max(calls + 1, math.ceil(calls * growth))
    return calls


def run_rounds(
    base: WorkerProcess | None, head: WorkerProcess, settings: Settings, decide: Decide
) -> Rounds:
    """Measure a ready pair (or the head alone when ``base`` is None)."""
    start = wall_seconds()
    workers = [w for w in (base, head) if w is not None]
    for worker in workers:
        worker.command({"op": "warmup", "seconds": max(settings.warmup, 0.005)}, settings.timeout)
    rounds = Rounds(calls=1 if settings.whole_runs else calibrate(workers, settings))
    checkpoint = settings.min_rounds
    rng = random.Random()
    while True:
        _one_round(base, head, rounds, settings, rng)
        n = rounds.n
        out_of_time = wall_seconds() - start >= settings.max_time
        if n >= checkpoint or (out_of_time and n >= settings.min_rounds):
            checkpoint = n + max(4, n // 5)
            if decide(rounds.base_ns, rounds.head_ns) or out_of_time:
                break
    rounds.elapsed = wall_seconds() - start
    return rounds


def _one_round(
    base: WorkerProcess | None,
    head: WorkerProcess,
    rounds: Rounds,
    settings: Settings,
    rng: random.Random,
) -> None:
    order = [w for w in (base, head) if w is not None]
    rng.shuffle(order)
    for worker in order:
        reply = _block(worker, rounds.calls, settings)
        if worker is head:
            rounds.head_ns.append(_ns(reply))
            samples = reply.get("samples")
            rounds.head_samples += list(samples) if isinstance(samples, list) else [_ns(reply)]
        else:
            rounds.base_ns.append(_ns(reply))
