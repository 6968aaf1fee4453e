"""A session's decisions and outputs, on plain values (pytest objects stay in plugin.py).

Which plan and baseline reference a test gets, how its judgement becomes a
verdict, whether that verdict fails the test, and what the end of the run
writes: the JSON report, the Markdown summary, the refreshed baseline.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_perfbudget import __version__
from pytest_perfbudget.errors import SpecError
from pytest_perfbudget.model import (
    NOISE_RUNS,
    Budget,
    Change,
    Measurement,
    Outcome,
    Status,
    Verdict,
)
from pytest_perfbudget.units import counted, named

if TYPE_CHECKING:
    from pytest_perfbudget.baseline import Baseline, BaselineEntry
    from pytest_perfbudget.engine.runner import Plan
    from pytest_perfbudget.measure import Judgement, Reference
    from pytest_perfbudget.settings import Settings

__all__ = [
    "GENERATOR",
    "build_verdict",
    "fails",
    "few_runs_regressed",
    "gone_tests",
    "plan_for",
    "reference_for",
    "save_baseline",
    "threshold",
    "write_outputs",
]

GENERATOR = f"pytest-perfbudget {__version__}"
Estimate = Callable[[Sequence[float], Sequence[float]], Change]

_FAIL_KIND = {
    Status.OVER_BUDGET: "budget",
    Status.REGRESSED: "regression",
    Status.INCONCLUSIVE: "inconclusive",
    Status.NEW: "new",
}


def plan_for(budget: Budget, settings: Settings) -> Plan:
    """The engine's plan: the budget's knobs, else the settings'."""
    from pytest_perfbudget.engine.runner import Plan

    return Plan(
        timer=budget.timer or settings.timer,
        max_time=settings.max_time if budget.max_time is None else budget.max_time,
        min_rounds=budget.rounds or settings.rounds,
        warmup=settings.warmup if budget.warmup is None else budget.warmup,
        gc=settings.gc if budget.gc is None else budget.gc,
    )


def threshold(budget: Budget, settings: Settings) -> float | None:
    """The allowed slowdown: the budget's ``regression``, else the configured one."""
    if budget.regression is False:
        return None
    if budget.regression is None or budget.regression is True:
        return settings.regression
    return float(budget.regression)


def reference_for(
    entry: BaselineEntry | None,
    budget: Budget,
    settings: Settings,
    *,
    timer: str,
    machine_id: str,
    estimate: Estimate,
    spread: bool = True,
    mode: str | None = None,
    recheck: Callable[[str | None], Measurement] | None = None,
    fresh: Callable[[str | None], Measurement] | None = None,
) -> Reference | None:
    """The stored comparison with ``entry`` (None when there is none, or it cannot be
    compared: see :func:`incomparable`); ``spread``, ``recheck`` and ``fresh`` as
    :class:`~pytest_perfbudget.measure.Reference` takes them."""
    if entry is None or incomparable(entry, timer, mode):
        return None
    from pytest_perfbudget.measure import Reference
    from pytest_perfbudget.regression import allowed_slowdown

    allowed = threshold(budget, settings)
    if allowed is not None:
        allowed = allowed_slowdown(allowed, entry.history, machine_id)
    from pytest_perfbudget.entry import same_kind

    return Reference(
        entry.seconds,
        allowed,
        estimate,
        spread=spread,
        recheck=recheck,
        fresh=fresh,
        compares=functools.partial(same_kind, entry, timer) if mode is None else None,
    )


def incomparable(entry: BaselineEntry, timer: str, mode: str | None) -> str | None:
    """Why ``entry`` cannot be compared with samples taken with ``timer`` in ``mode``:
    another clock, or the two were taken in different ways that time different things
    (:func:`~pytest_perfbudget.entry.same_kind`). None when it can, or when a mode is
    not known (``mode`` None, or a record written before the mode was)."""
    from pytest_perfbudget.entry import latest_mode, same_kind

    if entry.timer != timer:
        return f"the baseline was measured with the {entry.timer} clock"
    if mode is None or same_kind(entry, timer, mode):
        return None
    taken = _MODE_WORDS.get(mode, ("", f"took samples as {mode!r}"))[1]
    return f"the baseline holds {held_words(latest_mode(entry.history))}, and this run {taken}"


def held_words(mode: str) -> str:
    """What a baseline or report of samples taken in ``mode`` holds, in words."""
    return _MODE_WORDS.get(mode, (f"samples taken as {mode!r}", ""))[0]


#: How a test's samples were taken, in the words of a ``new`` verdict's message: what
#: the baseline holds, and what this run did.
_MODE_WORDS = {
    "benchmark": ("pytest-benchmark's samples", "pytest-benchmark's samples"),
    "body": ("the timed test body", "timed the test body"),
    "fresh": (
        "the test body timed on fixtures set up afresh for each call",
        "timed the test body on fixtures set up afresh for each call",
    ),
    "perf": ("perf(fn)'s samples", "perf(fn)'s samples"),
    "sample": ("perf.sample()'s samples", "perf.sample()'s samples"),
    "record": ("what perf.record() recorded", "what perf.record() recorded"),
}


def checked_change(result: object, nodeid: str) -> Change:
    """Validate what ``pytest_perfbudget_compare`` returned."""
    if not isinstance(result, Change):
        raise SpecError(
            f"pytest_perfbudget_compare returned {result!r} for {nodeid}; it must return a Change"
        )
    return result


def harness(measurement: Measurement | None, *, xdist: bool) -> str | None:
    """What besides plain pytest a measurement was taken under: ``"xdist"`` (in a
    pytest-xdist worker), ``"tracer"`` (a tracer such as coverage's, paused while
    timing), both as ``"xdist+tracer"``, or None. Both change a test's environment and
    the call-stack depth it runs at, and with them how fast the same code runs."""
    parts = ["xdist"] if xdist else []
    if measurement is not None and measurement.tracer:
        parts.append("tracer")
    return "+".join(parts) or None


_HARNESS_WORDS = {
    None: "a plain pytest run",
    "xdist": "pytest-xdist workers",
    "tracer": "a paused tracer (coverage, say)",
    "xdist+tracer": "pytest-xdist workers with a paused tracer",
}


def _harness_hint(entry: BaselineEntry, now: str | None) -> list[str]:
    """Why a change may be the harness's: the baseline was saved under another one."""
    from pytest_perfbudget.entry import latest_harness

    return _saved_under_hint(
        entry,
        latest_harness(entry.history),
        now,
        lambda harness: _HARNESS_WORDS.get(harness, harness),
        "the same code can run at another speed there (environment, call-stack depth); "
        "save the baseline the way this run gates",
    )


def _seed_hint(entry: BaselineEntry, now: str | None) -> list[str]:
    """Why a change may be the hash seed's: the baseline was saved under another one."""
    from pytest_perfbudget.entry import latest_hash_seed

    return _saved_under_hint(
        entry,
        latest_hash_seed(entry.history),
        now,
        lambda seed: "a hash seed drawn per process" if seed is None else f"PYTHONHASHSEED={seed}",
        "a test that iterates over a set of strings can run at another speed under another "
        "seed; save and gate under one fixed PYTHONHASHSEED",
    )


def _saved_under_hint(
    entry: BaselineEntry, saved: Any, now: Any, words: Callable[[Any], str], why: str
) -> list[str]:
    """``measured under <now>, but the baseline was saved under <saved>: <why>`` when the
    entry's latest record was saved otherwise than this run measured (``words`` names
    each way); none when they agree or the entry has no record."""
    if not entry.history or saved == now:
        return []
    return [f"measured under {words(now)}, but the baseline was saved under {words(saved)}: {why}"]


def build_verdict(
    nodeid: str,
    budget: Budget,
    judgement: Judgement,
    entry: BaselineEntry | None,
    *,
    machine_id: str,
    expects_entry: bool,
    location: tuple[str, int] | None,
    harness: str | None = None,
    hash_seed: str | None = None,
) -> Verdict:
    """Combine limit checks and the baseline comparison into one verdict with messages."""
    from pytest_perfbudget.compare import (
        describe_change,
        describe_check,
        limit_status,
        verdict_status,
    )
    from pytest_perfbudget.integrations import tracer_unpaused

    messages = [describe_check(c) for c in judgement.checks if c.outcome is not Outcome.PASS]
    unpaused = tracer_unpaused(judgement.measurement)
    if unpaused:
        tracer = judgement.measurement.tracer
        messages.append(f"{tracer}: timings are inflated and not compared with the baseline")
        judgement, entry = replace(judgement, change=None, regression=None), None
    status = verdict_status(limit_status(judgement.checks), judgement.regression)
    if judgement.change is not None and entry is not None:
        messages.append(describe_change(judgement.change, entry.summary, judgement.regression))
        if entry.machine != machine_id:
            messages.append(
                "the baseline was measured on another machine; the comparison is weak "
                "(refresh the baseline on this machine, or use --perfbudget-against)"
            )
        elif judgement.regression == "regressed":
            messages.extend(_noise_hint(entry, machine_id))
        if judgement.regression not in (None, "unchanged"):
            messages.extend(_harness_hint(entry, harness))
            messages.extend(_seed_hint(entry, hash_seed))
    elif status is Status.PASS and expects_entry:
        status = Status.NEW
        meas = judgement.measurement
        why = None if entry is None else incomparable(entry, meas.timer, meas.mode)
        reason = f" ({why})" if why else ""
        if not unpaused:  # said above, and a save would not store these timings either
            messages.append(
                f"no comparable baseline entry{reason}; save one with --perfbudget-save"
            )
    return Verdict(
        nodeid=nodeid,
        status=status,
        budget=budget,
        summary=judgement.summary,
        measurement=judgement.measurement,
        checks=judgement.checks,
        baseline=entry.summary if entry is not None and judgement.change else None,
        change=judgement.change,
        messages=(*messages, *judgement.messages),
        confirmed=judgement.confirmed,
        location=location,
    )


def _noise_hint(entry: BaselineEntry, machine_id: str) -> list[str]:
    """Why a regression was judged at the declared threshold: too few saved runs to
    learn the test's run-to-run noise from (none when there are enough)."""
    from pytest_perfbudget.entry import usable_mins

    runs = len(usable_mins(entry.history, machine_id))
    if runs >= NOISE_RUNS:
        return []
    return [
        f"the baseline holds {counted(runs, 'saved run')} of this test on this machine; "
        f"from {NOISE_RUNS} on, the allowed slowdown is raised to the test's run-to-run noise "
        f"(`perfbudget refresh --runs {NOISE_RUNS - runs}` adds {NOISE_RUNS - runs})"
    ]


def fails(verdict: Verdict, settings: Settings) -> bool:
    """Whether ``verdict`` fails its test under the settings (fail_on, strict, save)."""
    kind = _FAIL_KIND.get(verdict.status)
    return kind is not None and settings.fails_on(kind)


def _savable(verdict: Verdict, settings: Settings) -> bool:
    from pytest_perfbudget.integrations import tracer_unpaused

    meas = verdict.measurement
    if verdict.status in (Status.FAILED, Status.SKIPPED) or tracer_unpaused(meas):
        return False
    return bool(meas and meas.sample_ns) and not fails(verdict, settings)


def gone_tests(
    collected: Collection[str], rootdir: Path, *, partial: Collection[str] = ()
) -> Callable[[str], bool]:
    """Whether a baseline entry's test no longer exists, by what a run ``collected`` (node
    ids, deselected ones included): the run did not collect it from a test file it
    collected, or its file is gone. The files in ``partial`` (named by node-id
    arguments, collected only in part) count only when gone."""
    files = {nodeid.partition("::")[0] for nodeid in collected}.difference(partial)
    exists = functools.cache(lambda file: (rootdir / file).exists())  # a stat per file

    def gone(nodeid: str) -> bool:
        if nodeid in collected:
            return False
        file = nodeid.partition("::")[0]
        return file in files or not exists(file)

    return gone


#: How many node ids a note about entries of tests that no longer exist names.
_NAMED = 3


def save_baseline(
    verdicts: Sequence[Verdict],
    settings: Settings,
    baseline: Baseline | None,
    *,
    machine: Mapping[str, Any],
    machine_id: str,
    xdist: bool = False,
    gone: Callable[[str], bool] | None = None,
) -> list[str]:
    """Merge the passing, measured verdicts into the baseline; the notes to show: what
    was saved, and how many saved entries hold too few runs to learn their noise from or
    allow a wide slowdown by themselves (not under ``perfbudget refresh``, which counts
    them after its last run). ``xdist``: the verdicts came from pytest-xdist workers.
    ``gone`` tells the entries of tests that no longer exist (:func:`gone_tests`):
    ``settings.prune`` drops them, else a note counts them. It drops none when they are
    every entry of the baseline: node ids are relative to the rootdir, and a run from
    another rootdir finds no entry's test."""
    from pytest_perfbudget.baseline import REFRESH_ENV, entry_from_verdict, save
    from pytest_perfbudget.machine import git_commit, hash_seed
    from pytest_perfbudget.regression import saved_notes

    keep = [v for v in verdicts if _savable(v, settings)]
    current = baseline.entries if baseline else {}
    saving = {v.nodeid for v in keep}
    stale = [nodeid for nodeid in current if nodeid not in saving and gone(nodeid)] if gone else []
    prune = settings.prune and bool(stale)
    if prune and len(stale) == len(current):
        prune = False
        stale_note = [
            f"--perfbudget-prune dropped nothing: it would drop every entry of the baseline "
            f"({len(stale)}), as it does when the run's rootdir ({settings.rootdir}) is not "
            f"the one the baseline was saved from (node ids are relative to it); to start "
            f"the baseline afresh, delete the file"
        ]
    elif stale and not settings.prune:
        if len(stale) == 1:
            what, drops = "1 baseline entry belongs to a test that no longer exists", "it"
        else:
            what = f"{len(stale)} baseline entries belong to tests that no longer exist"
            drops = "them"
        stale_note = [
            f"{what} (not collected from a test file this run collected, or whose file is "
            f"gone: {named(sorted(stale), _NAMED)}); --perfbudget-prune drops {drops}"
        ]
    else:
        stale_note = []
    if not keep and not prune:
        return stale_note
    commit = git_commit(settings.rootdir)
    refresh = os.environ.get(REFRESH_ENV) or None
    seed = hash_seed()
    entries = [
        entry_from_verdict(
            v,
            current.get(v.nodeid),
            machine=machine_id,
            commit=commit,
            refresh=refresh,
            harness=harness(v.measurement, xdist=xdist),
            hash_seed=seed,
        )
        for v in keep
    ]
    result = save(
        settings.baseline,
        entries,
        machine=machine,
        generator=GENERATOR,
        drop=gone if prune else None,
    )
    saved = counted(len(entries), "baseline entry")
    notes = [f"saved {saved} to {display(result.path, settings.rootdir)}"]
    if result.dropped:
        if len(result.dropped) == 1:
            what = "1 baseline entry of a test that no longer exists"
        else:
            what = f"{len(result.dropped)} baseline entries of tests that no longer exist"
        notes.append(f"dropped {what}: {named(result.dropped, _NAMED)}")
    notes += stale_note
    if REFRESH_ENV not in os.environ:  # perfbudget refresh counts them after its last run
        runs = [(entry.history, machine_id) for entry in entries]
        notes += [note for note in saved_notes(runs, seed is None) if note]
    return notes


def few_runs_regressed(
    verdicts: Sequence[Verdict], baseline: Baseline | None, machine_id: str
) -> list[str]:
    """The note that counts the regressed tests judged at their declared allowed slowdown
    alone, because the baseline holds too few saved runs of them to learn their
    run-to-run noise from (each one's message says so too)."""
    entries = baseline.entries if baseline else {}
    regressed = [v.nodeid for v in verdicts if v.status is Status.REGRESSED and v.nodeid in entries]
    if not regressed:
        return []
    from pytest_perfbudget.entry import LazyEntries
    from pytest_perfbudget.regression import too_few_runs

    assert isinstance(entries, LazyEntries)  # a baseline read from a file
    # the histories read without decoding the samples
    short = sum(too_few_runs(entries.history(n), machine_id) for n in regressed)
    if not short:
        return []
    it, its = ("it", "its") if short == 1 else ("them", "their")
    if len(regressed) == 1:
        which = "the regressed test was"
    else:
        which = f"{short} of the {len(regressed)} regressed tests {'was' if short == 1 else 'were'}"
    return [
        f"{which} judged at {its} declared allowed slowdown alone: the baseline holds fewer "
        f"than {NOISE_RUNS} saved runs of {it} on this machine, too few to learn {its} "
        f"run-to-run noise from "
        f"(`perfbudget refresh --runs {NOISE_RUNS}` saves {NOISE_RUNS} runs at once)"
    ]


def write_outputs(
    verdicts: Sequence[Verdict],
    settings: Settings,
    *,
    machine: Mapping[str, Any],
    machine_line: str,
    duration: float,
) -> None:
    """The JSON report, the Markdown summary and, under GitHub Actions, the step summary."""
    if settings.json is not None:
        from pytest_perfbudget.report.json import build_report, write_report

        report = build_report(
            verdicts,
            machine=machine,
            settings={"description": settings.describe()},
            generator=GENERATOR,
            duration=duration,
        )
        write_report(settings.json, report)
    from pytest_perfbudget.report import github

    if not verdicts or (settings.markdown is None and github.step_summary_path() is None):
        return  # no Markdown summary to write: not rendered (0.15 s for 18,000 tests)
    from pytest_perfbudget.files import atomic_write
    from pytest_perfbudget.report.markdown import render_markdown

    markdown = render_markdown(verdicts, machine=machine_line, against=settings.against)
    if settings.markdown is not None:
        settings.markdown.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(settings.markdown, markdown)
    github.append_step_summary(markdown)


def section(verdict: Verdict) -> str:
    """The "perfbudget" report section of a measured test."""
    from pytest_perfbudget.units import format_duration

    summary, meas = verdict.summary, verdict.measurement
    if summary is None or meas is None:
        return ""
    stats = "  ".join(
        f"{name} {format_duration(summary.value(name))}"
        for name in ("min", "p50", "p95", "p99", "mean", "max")
    )
    how = f"{meas.mode}, {meas.timer} clock, {counted(meas.iterations, 'call')}/sample"
    return f"n={summary.n} ({how})\n{stats}"


def display(path: Path, rootdir: Path) -> str:
    """``path`` relative to the rootdir when it is inside it."""
    try:
        return str(path.relative_to(rootdir))
    except ValueError:
        return str(path)
