"""From paired rounds to what the plugin reports: a Judgement of the head's samples plus
the paired change, and the Verdict built from it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pytest_perfbudget import compare
from pytest_perfbudget.engine.runner import Plan
from pytest_perfbudget.measure import SPREAD_REGRESSIONS, Judgement, Perf
from pytest_perfbudget.model import (
    Budget,
    Change,
    Check,
    Measurement,
    Outcome,
    Status,
    Summary,
    Verdict,
)
from pytest_perfbudget.paired.effect import describe, paired_change
from pytest_perfbudget.paired.rounds import Rounds

__all__ = [
    "CONFIRMED",
    "Measured",
    "PairedJudgement",
    "ProbePerf",
    "build",
    "confirm",
    "unconfirmed",
    "verdict",
]

WHOLE_RUN_NOTE = (
    "perf.sample()/perf.record() tests cannot be driven call by call: each round ran the "
    "whole test once in each worker"
)
_EMPTY = Summary(
    n=0,
    mean=0.0,
    stdev=0.0,
    min=0.0,
    p50=0.0,
    p75=0.0,
    p90=0.0,
    p95=0.0,
    p99=0.0,
    p999=0.0,
    max=0.0,
)


class ProbePerf(Perf):
    """The ``perf`` fixture in the coordinator: runs the test's code once, measures nothing
    (the workers measure), and remembers how the test measures."""

    kind: str | None = None

    def _claim(self, mode: str) -> None:
        super()._claim(mode)
        self.kind = mode


@dataclass(frozen=True)
class Measured:
    """One paired measurement: the rounds and their change, or why there are none."""

    rounds: Rounds | None = None
    change: Change | None = None
    verdict: str | None = None
    status: Status | None = None
    messages: tuple[str, ...] = ()
    memory: int | None = None
    confirmed: bool = False
    #: How the workers measured the test (their ``ready`` events' kind).
    kind: str | None = None


@dataclass(frozen=True)
class PairedJudgement(Judgement):
    """A Judgement with what only paired mode knows: the base's statistics, a status
    decided outside the change (``new``, or ``inconclusive`` after a fault)."""

    base: Summary | None = None
    status: Status | None = None


def change_of(rounds: Rounds, *, against: str, threshold: float | None) -> Change:
    return paired_change(rounds.base_ns, rounds.head_ns, against=against, threshold=threshold)


def classify(change: Change, threshold: float | None) -> str | None:
    from pytest_perfbudget.regression import classify as _classify

    return None if threshold is None else _classify(change, threshold)


#: The verdicts a fresh worker pair must repeat before they count, and what they claim.
CONFIRMED = {"regressed": "slowdown", "improved": "speed-up"}


def confirm(
    first: Measured, second: Measured, *, against: str, threshold: float | None
) -> Measured:
    """``first``'s change, measured again by a fresh pair as ``second``: the change of both
    pairs' rounds when ``second`` has the same verdict, else ``inconclusive``.

    A worker's speed depends a little on its process (its heap, its layout), so a change
    that one pair of processes shows must be repeated by another before it is claimed.
    """
    assert first.rounds is not None
    assert first.verdict in CONFIRMED
    if second.verdict != first.verdict or second.rounds is None:
        note = f"a fresh worker pair did not confirm the {CONFIRMED[first.verdict]}"
        return replace(
            first,
            verdict="inconclusive",
            messages=(*first.messages, f"{note} ({second.verdict or 'no measurement'})"),
        )
    rounds = merged(first.rounds, second.rounds)
    return replace(
        first,
        rounds=rounds,
        change=change_of(rounds, against=against, threshold=threshold),
        messages=(*first.messages, "confirmed by a fresh worker pair"),
        confirmed=True,
    )


#: Why a regression counts without a fresh pair (``Request.fresh_pair`` false).
NOT_FRESH_PAIR = (
    "not measured again by a fresh worker pair: this run had already confirmed "
    f"{SPREAD_REGRESSIONS} regressions that way"
)


def unconfirmed(first: Measured) -> Measured:
    """``first``'s regression, counted without a fresh pair: the run has confirmed
    :data:`~pytest_perfbudget.measure.SPREAD_REGRESSIONS` already, so it fails
    whatever this one's pair would read."""
    assert first.verdict == "regressed"
    return replace(first, messages=(*first.messages, NOT_FRESH_PAIR))


def merged(first: Rounds, second: Rounds) -> Rounds:
    """Both measurements' rounds as one set of d_r (the head samples of the first)."""
    return replace(
        first, base_ns=first.base_ns + second.base_ns, head_ns=first.head_ns + second.head_ns
    )


def _summary(ns: list[int], per: int) -> Summary:
    from pytest_perfbudget.stats import summarize

    return summarize([value * 1e-9 / per for value in ns])


def build(measured: Measured, budget: Budget | None, plan: Plan, kind: str) -> PairedJudgement:
    """The Judgement the plugin gets: head samples, limit checks, change and messages."""
    rounds, budget = measured.rounds, budget or Budget(source="none")
    messages = list(measured.messages)
    if rounds is None or not rounds.head_samples:
        return PairedJudgement(
            Measurement(()), _EMPTY, (), messages=tuple(messages), status=measured.status
        )
    whole = kind in ("sample", "record")
    calls = 1 if whole else rounds.calls
    measurement = Measurement(tuple(rounds.head_samples), calls, plan.timer, kind, rounds.elapsed)
    summary = _summary(list(rounds.head_samples), calls)
    checks: tuple[Check, ...] = compare.check_limits(budget, summary, final=True)
    if budget.memory is not None and measured.memory is not None:
        checks += (compare.check_memory(budget.memory, measured.memory),)
        measurement = replace(measurement, memory_peak=measured.memory)
    if measured.change is not None:
        messages.insert(
            0, describe(measured.change, measured.verdict, rounds=rounds.n, calls=calls)
        )
    if whole:
        messages.append(WHOLE_RUN_NOTE)
    base = _summary(rounds.base_ns, rounds.calls) if rounds.base_ns else None
    return PairedJudgement(
        measurement, summary, checks, measured.confirmed, tuple(messages),
        measured.change, measured.verdict, base=base, status=measured.status,
    )  # fmt: skip


def _status(judgement: Judgement) -> Status:
    """Over budget first; then a status paired mode decided outside the change (``new``,
    or ``inconclusive`` after a fault); then the limits and the change as in stored mode."""
    limits = compare.limit_status(judgement.checks)
    forced = judgement.status if isinstance(judgement, PairedJudgement) else None
    if limits is Status.OVER_BUDGET or forced is None:
        return compare.verdict_status(limits, judgement.regression)
    return forced


def verdict(
    nodeid: str, budget: Budget, judgement: Judgement, location: tuple[str, int] | None
) -> Verdict:
    """The Verdict of a paired judgement (over budget > regressed > the rest)."""
    has = judgement.measurement.n > 0
    messages = [
        compare.describe_check(c) for c in judgement.checks if c.outcome is not Outcome.PASS
    ]
    return Verdict(
        nodeid=nodeid,
        status=_status(judgement),
        budget=budget,
        summary=judgement.summary if has else None,
        measurement=judgement.measurement if has else None,
        checks=judgement.checks,
        baseline=judgement.base if isinstance(judgement, PairedJudgement) else None,
        change=judgement.change,
        messages=tuple(messages + list(judgement.messages)),
        confirmed=judgement.confirmed,
        location=location,
    )
