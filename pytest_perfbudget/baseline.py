"""The baseline file: what a refresh stores, read back with validation.

The file is one JSON document, written deterministically by
:func:`~pytest_perfbudget.codec.dumps` (sorted keys, two-space indent) so that a
refresh is a reviewable diff; each test's raw samples are one compact string, so
a refreshed test is a one-line change. Writes are atomic and merge under a lock:
a killed run never leaves a half-written file and two concurrent writers never
lose each other's entries. Reading never falls back to "no baseline" except when
the file does not exist.

Loading is sized for big suites (10,000 entries): :func:`load` parses the whole
file and checks the shape of every entry (the types of its fields), but an
entry's samples are decoded and its stats converted each time it is looked up
(``baseline.entries[nodeid]``); a corrupt entry is then a :class:`BaselineError`
naming the file and the test. :func:`save` writes again only the entries it
replaces and copies the text of every other entry as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from msgspec import Raw

from pytest_perfbudget.codec import (
    SCHEMA_VERSION,
    decode_samples,
    document,
    dumps,
    dumps_inline,
    dumps_keyed,
    dumps_test,
    encode_samples,
    parsed_tests,
    paused_collector,
    read_text,
    type_name,
)
from pytest_perfbudget.entry import (
    SAMPLE_LIMIT,
    BaselineEntry,
    LazyEntries,
    appended,
    checked,
    entry_text,
    from_doc,
    latest_mode,
    latest_refresh,
    marked_busy,
    read_current,
    refresh_mins,
    rounded,
    same_kind,
    split_at_refresh,
    thin_samples,
)
from pytest_perfbudget.errors import BaselineError
from pytest_perfbudget.files import atomic_write, locked
from pytest_perfbudget.model import Measurement, Summary, Verdict
from pytest_perfbudget.units import counted, named

__all__ = [
    "HISTORY_LIMIT",
    "REFRESH_ENV",
    "SAMPLE_LIMIT",
    "SCHEMA_VERSION",
    "Baseline",
    "BaselineEntry",
    "Merged",
    "Refreshed",
    "Sampled",
    "SaveResult",
    "atomic_write",
    "decode_samples",
    "dumps",
    "encode_samples",
    "entry_from_verdict",
    "finish_refresh",
    "load",
    "load_samples",
    "merge",
    "read_document",
    "save",
    "thin_samples",
]

HISTORY_LIMIT = 20
#: Set by ``perfbudget refresh --runs N`` to one token for all its runs: a save
#: under it marks its history records with it (``"refresh"``), and an entry whose
#: latest record carries the same token keeps the samples of the fastest of those
#: runs (see :func:`entry_from_verdict`). A one-run refresh sets it empty: no token,
#: but the save leaves the notes about the whole file to the refresh's summary.
REFRESH_ENV = "PERFBUDGET_REFRESH"


# -- values -----------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline file (``path`` None and no entries when there is none)."""

    path: Path | None
    entries: Mapping[str, BaselineEntry]
    machine: Mapping[str, Any]
    generator: str


Change = tuple[str, BaselineEntry | None, BaselineEntry]
#: A test's value in a file, as UTF-8 JSON text.
_Text = bytes | Raw


class _Changes(Sequence[Change]):
    """``(nodeid, old entry or None, new entry)`` per saved test, sorted by node id.

    An old entry is parsed and decoded from the text it had in the file when it
    is first looked at (a corrupt one is a :class:`BaselineError` then), so a
    save of 10,000 tests does not decode the 10,000 entries it replaces.
    """

    def __init__(self, path: Path, saved: list[tuple[str, _Text | None, BaselineEntry]]) -> None:
        self._path = path
        self._saved = saved
        self._built: dict[int, Change] = {}

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        index = range(len(self))[index]  # a negative index counts from the end
        change = self._built.get(index)
        if change is None:
            nodeid, old, new = self._saved[index]
            entry = None if old is None else from_doc(self._path, nodeid, Raw(old))
            change = self._built[index] = (nodeid, entry, new)
        return change

    def __len__(self) -> int:
        return len(self._saved)


@dataclass(frozen=True)
class SaveResult:
    """What :func:`save` wrote: ``(nodeid, old entry or None, new entry)`` per test."""

    path: Path
    changes: Sequence[Change]
    #: The node ids of the entries ``drop`` removed, sorted.
    dropped: Sequence[str] = ()


# -- reading ----------------------------------------------------------------------


def read_document(path: Path) -> dict[str, Any]:
    """Parse ``path`` into a migrated document with a ``tests`` key (baseline or report).

    Any problem, a missing file included, is a :class:`BaselineError` whose
    message starts with the path.
    """
    return parsed_tests(_read(path))


def _read(path: Path) -> dict[str, Any]:
    """:func:`read_document`, a baseline's tests left as JSON text (see ``loads_keyed``)."""
    text = read_text(path)
    if text is None:
        raise BaselineError(f"{path}: no such file")
    return document(path, text)


def _tests_of(path: Path, doc: Mapping[str, Any]) -> dict[str, Any]:
    tests = doc["tests"]
    if not isinstance(tests, dict):
        hint = " (this looks like a run report, not a baseline)" if isinstance(tests, list) else ""
        raise BaselineError(
            f"{path}: 'tests' must be an object keyed by node id, got {type_name(tests)}{hint}"
        )
    return tests


def _baseline_from_doc(path: Path, doc: Mapping[str, Any]) -> Baseline:
    """The baseline of a read ``doc``: every entry's fields checked, entries built when used."""
    tests = {nodeid: checked(path, nodeid, data) for nodeid, data in _tests_of(path, doc).items()}
    generator = str(doc.get("generator", ""))
    return Baseline(path, LazyEntries(path, tests), dict(doc.get("machine", {})), generator)


def load(path: Path) -> Baseline:
    """Read a baseline; a missing file is an empty baseline, anything unreadable an error.

    Every entry's fields are checked here (a valid file of the current schema in
    one typed decode, anything else entry by entry, which names what is wrong);
    its samples are decoded when the entry is first looked up, and a corrupt one
    is an error then.
    """
    text = read_text(path)
    if text is None:
        return Baseline(path=None, entries={}, machine={}, generator="")
    with paused_collector():
        current = read_current(text, SCHEMA_VERSION)
        if current is None:  # an older schema, or something wrong: the checking path
            return _baseline_from_doc(path, document(path, text))
    return Baseline(path, LazyEntries(path, current.tests), current.machine, str(current.generator))


class Sampled(NamedTuple):
    """A test's per-call seconds and summary, as :func:`load_samples` reads them, and
    how they were taken (None where the file does not say)."""

    seconds: Sequence[float]
    summary: Summary
    timer: str | None
    mode: str | None


def load_samples(path: Path) -> dict[str, Sampled]:
    """Each test of a baseline *or* a run report, by node id.

    A report test without stats is left out; one whose samples were not stored
    has no seconds. A baseline entry's mode is its latest record's.
    """
    doc = _read(path)
    if _kind(doc) == "run report":
        from pytest_perfbudget.report.json import verdicts_from_document

        verdicts = verdicts_from_document(path, doc)
        modes = [test.get("mode") for test in doc["tests"]]  # None where not written
        return {
            v.nodeid: Sampled(
                v.measurement.seconds if v.measurement else [],
                v.summary,
                v.measurement.timer if v.measurement else None,
                mode if isinstance(mode, str) else None,
            )
            for v, mode in zip(verdicts, modes, strict=True)
            if v.summary is not None
        }
    entries = _baseline_from_doc(path, doc).entries
    return {
        nodeid: Sampled(entry.seconds, entry.summary, entry.timer, latest_mode(entry.history))
        for nodeid, entry in entries.items()
    }


# -- writing ----------------------------------------------------------------------


def _run_summary(
    meas: Measurement,
    summary: Summary,
    machine: str,
    commit: str | None,
    *,
    refresh: str | None,
    harness: str | None,
    hash_seed: str | None,
) -> dict[str, Any]:
    """One history record: the run's size, low quantiles and centre, rounded as written."""
    from pytest_perfbudget.regression import low_quantile

    seconds = meas.seconds
    record: dict[str, Any] = rounded(
        {
            "n": len(seconds),
            "min": low_quantile(seconds, 0.0),
            "p10": low_quantile(seconds, 0.10),
            "p50": summary.p50,
            "p95": summary.p95,
            "mean": summary.mean,
            "machine": machine,
            "commit": commit,
            "mode": meas.mode,
        }
    )
    if refresh is not None:
        record["refresh"] = refresh
    if harness is not None:
        record["harness"] = harness
    if hash_seed is not None:
        record["hash_seed"] = hash_seed
    return record


def entry_from_verdict(
    verdict: Verdict,
    previous: BaselineEntry | None,
    *,
    machine: str,
    commit: str | None,
    refresh: str | None = None,
    harness: str | None = None,
    hash_seed: str | None = None,
) -> BaselineEntry:
    """The baseline entry for a measured verdict; its run joins ``previous``'s history.

    Under a ``refresh`` token (:data:`REFRESH_ENV`) that ``previous``'s latest record
    carries too, ``previous`` was saved by an earlier run of the same refresh, of the
    same code: the entry keeps whichever of the two measurements has the lower
    minimum, so the baseline holds the fastest of those runs and not the machine's
    state during the last one. Its ``reference`` (the machine probe of earlier
    versions) is None. ``harness`` (see ``session.harness``) and ``hash_seed`` (the
    ``PYTHONHASHSEED`` that fixed it; None: drawn per process) go into the record.
    """
    meas = verdict.measurement
    if meas is None or not meas.sample_ns or verdict.summary is None:
        raise ValueError(f"{verdict.nodeid}: a baseline entry needs samples and a summary")
    run = _run_summary(
        meas,
        verdict.summary,
        machine,
        commit,
        refresh=refresh,
        harness=harness,
        hash_seed=hash_seed,
    )
    # a run that measured something else than the entry's (another clock, or samples
    # its own are not compared with) starts the history again: its records would mix
    # two levels, which the noise floor would read as noise
    kept = previous.history if previous and same_kind(previous, meas.timer, meas.mode) else ()
    history = appended(kept, run, HISTORY_LIMIT)
    entry = BaselineEntry(
        nodeid=verdict.nodeid,
        timer=meas.timer,
        iterations=meas.iterations,
        sample_ns=thin_samples(meas.sample_ns),
        summary=verdict.summary,
        budget=verdict.budget.to_dict(),
        history=history,
        machine=machine,
        commit=commit,
    )
    if previous is not None and _faster_in_same_refresh(previous, entry, refresh, run["min"]):
        return replace(
            entry,
            iterations=previous.iterations,
            sample_ns=previous.sample_ns,
            summary=previous.summary,
        )
    return entry


def _faster_in_same_refresh(
    previous: BaselineEntry, entry: BaselineEntry, refresh: str | None, low: float
) -> bool:
    """Whether ``previous`` is an earlier run of the ``refresh`` that makes ``entry``
    (its latest record carries the token; same clock and machine) with a lower minimum."""
    from pytest_perfbudget.regression import low_quantile

    if refresh is None or not previous.history or not previous.sample_ns:
        return False
    latest = previous.history[-1]
    return (
        latest.get("refresh") == refresh
        and (previous.timer, previous.machine) == (entry.timer, entry.machine)
        and low_quantile(previous.seconds, 0.0) < low
    )


def save(
    path: Path,
    entries: Iterable[BaselineEntry],
    *,
    machine: Mapping[str, Any],
    generator: str,
    drop: Callable[[str], bool] | None = None,
) -> SaveResult:
    """Write ``entries`` into the baseline at ``path``, keeping every other entry but
    those whose node id ``drop`` is true for.

    Under an exclusive lock the current file is read again, so entries another
    writer saved meanwhile survive; an unreadable current file is an error, never
    overwritten. Kept entries are copied as they are, text included, and so are
    the replaced ones, kept as text until ``SaveResult.changes`` is read: :func:`load`
    validates them.
    """
    new = {entry.nodeid: entry for entry in entries}
    with locked(path), paused_collector():  # many strings, no cycles
        texts = _stored(path, read_text(path))
        dropped = sorted(n for n in texts if drop and n not in new and drop(n))
        for nodeid in dropped:
            del texts[nodeid]
        saved = []
        for nodeid, entry in sorted(new.items()):
            saved.append((nodeid, texts.get(nodeid), entry))
            texts[nodeid] = entry_text(entry).encode("utf-8")
        _write(path, texts, generator=generator, machine=machine)
    return SaveResult(path=path, changes=_Changes(path, saved), dropped=dropped)


@dataclass(frozen=True)
class Refreshed:
    """What :func:`finish_refresh` changed: the places of the runs marked busy of each
    test marked (0: the refresh's first run), and the tests whose history restarted."""

    busy: dict[str, list[int]]
    restarted: list[str]


def finish_refresh(path: Path, token: str, runs: int) -> Refreshed:
    """What ``perfbudget refresh --runs N`` does after its last run, to the entries of
    its ``runs`` runs under ``token``:

    - marks the records of the runs that a test ran in a slow stretch of the machine
      (``regression.slow_stretch_runs``) with ``"busy": true``, so that its allowed
      slowdown leaves them out (``entry.refresh_mins``). Only tests that hold a
      record of every one of those runs (of the last :data:`HISTORY_LIMIT`, as many
      as a history keeps) are read: their records line up run by run;
    - drops the earlier records of a test whose level the refresh moved
      (``regression.level_moved``): its history restarts with the refresh's runs, as
      a new entry's would.

    Under the lock of :func:`save`; the entries changed are written again, the others
    copied as they are.
    """
    from pytest_perfbudget.regression import level_moved, slow_stretch_runs

    count = min(runs, HISTORY_LIMIT)
    if not path.exists():
        return Refreshed({}, [])
    with locked(path), paused_collector():
        current = load(path)
        entries = current.entries
        if not isinstance(entries, LazyEntries):  # removed meanwhile
            return Refreshed({}, [])
        histories = {
            nodeid: history
            for nodeid in entries
            if latest_refresh(history := entries.history(nodeid)) == token
        }
        lows = {nodeid: refresh_mins(history) for nodeid, history in histories.items()}
        marked = slow_stretch_runs({k: v for k, v in lows.items() if len(v) == count})
        for nodeid, places in marked.items():
            histories[nodeid] = marked_busy(histories[nodeid], token, places)
        restarted = [nodeid for nodeid, history in histories.items() if level_moved(history, token)]
        changed = {nodeid: histories[nodeid] for nodeid in marked}
        for nodeid in restarted:
            changed[nodeid] = split_at_refresh(histories[nodeid], token)[1]
        if changed:
            texts = _stored(path, read_text(path))
            for nodeid, history in changed.items():
                entry = replace(entries[nodeid], history=history)
                texts[nodeid] = entry_text(entry).encode("utf-8")
            _write(path, texts, generator=current.generator, machine=current.machine)
    return Refreshed(marked, restarted)


def _write(
    path: Path, texts: Mapping[str, _Text], *, generator: str, machine: Mapping[str, Any]
) -> None:
    frame = {"generator": generator, "machine": dict(machine), "schema_version": SCHEMA_VERSION}
    atomic_write(path, dumps_keyed(frame, texts.items()))


def _stored(path: Path, text: str | bytes | None) -> dict[str, _Text]:
    """The UTF-8 text of each test's value in the file, as it is there when it was read
    (written again only when the file had to be parsed in full, NaN in it say)."""
    if text is None:
        return {}
    tests = _tests_of(path, document(path, text))
    return {
        nodeid: value if type(value) is Raw else dumps_test(value).encode("utf-8")
        for nodeid, value in tests.items()
    }


def _kind(doc: Mapping[str, Any]) -> str:
    return "run report" if isinstance(doc["tests"], list) else "baseline"


@dataclass(frozen=True)
class Merged:
    """What :func:`merge` made of its files."""

    #: The merged baseline or run report, to write with :func:`dumps`.
    document: dict[str, Any]
    #: The node ids of the tests more than one file changed from the base, each in
    #: its own way: the entry of the last of those files was kept.
    conflicts: Sequence[str] = ()


def merge(paths: Sequence[Path], base: Path | None = None) -> Merged:
    """Merge shard baselines, or shard run reports, into one document to write.

    All files must be of the same kind. Run reports: a later report wins for a
    node id it shares with an earlier one. Baselines: the merged one holds each
    test some file holds, at the newest of its entries in the files (see
    :func:`_merged_tests`); ``base``, the baseline the shards saved over, tells
    which entries they changed.
    """
    if not paths:
        raise BaselineError("nothing to merge: no files given")
    docs = [(path, read_document(path)) for path in paths]
    kinds = [(path, _kind(doc)) for path, doc in docs]
    if len({kind for _, kind in kinds}) > 1:
        listed = ", ".join(f"{path} is a {kind}" for path, kind in kinds)
        raise BaselineError(f"cannot merge baselines with run reports: {listed}")
    if kinds[0][1] == "run report":
        if base is not None:
            raise BaselineError(
                f"--base applies to baselines: {paths[0]} is a run report, and a later "
                "report wins for each test"
            )
        from pytest_perfbudget.report.json import merge_documents

        return Merged(merge_documents(docs))
    origin: Mapping[str, Any] = {}
    if base is not None:
        origin = _validated(base, read_document(base))
    files = [_validated(path, doc) for path, doc in docs]
    tests, conflicts = _merged_tests(origin, files, based=base is not None)
    last = docs[-1][1]
    document = {
        "schema_version": SCHEMA_VERSION,
        "generator": last.get("generator", ""),
        "machine": last.get("machine", {}),
        "tests": tests,
    }
    return Merged(document, conflicts)


def _validated(path: Path, doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The tests of a read baseline, each entry validated in full (samples decoded)."""
    for _ in _baseline_from_doc(path, doc).entries.values():
        pass
    return _tests_of(path, doc)


def _merged_tests(
    origin: Mapping[str, Any],
    files: Sequence[Mapping[str, Any]],
    *,
    based: bool,
) -> tuple[dict[str, Any], list[str]]:
    """The newest entry of each test ``files`` hold, and the node ids whose newest entry
    could not be told.

    A test's entry is the one a file changed from ``origin``'s; an entry that
    another one was saved over (which holds its latest history record followed by
    more) is older and does not count, nor does one older than ``origin``'s (a
    merge run again over its own output). When more than one newer entry is left
    (two files saved the test, or a refresh restarted its history), the last
    file's is kept when there is an ``origin`` (``based``), and it is an error when
    there is not. A test no file holds (every shard pruned it) is left out.
    """
    tests: dict[str, Any] = {}
    differing: list[str] = []
    for nodeid in sorted(set[str]().union(*files)):
        old = origin.get(nodeid)
        changed: dict[str, Any] = {}  # the entries unlike the old one, by text; last wins
        for file_tests in files:
            entry = file_tests.get(nodeid)
            if entry is not None and entry != old and not (old and _older(entry, old)):
                text = dumps_inline(entry)
                changed.pop(text, None)
                changed[text] = entry
        newest = [e for e in changed.values() if not any(_older(e, o) for o in changed.values())]
        newest = newest or list(changed.values())  # (records that repeat could hide all)
        tests[nodeid] = newest[-1] if newest else origin[nodeid]
        if len(newest) > 1:
            differing.append(nodeid)
    if differing and not based:
        raise BaselineError(
            f"{counted(len(differing), 'test')} {'has' if len(differing) == 1 else 'have'} "
            f"different entries in two or more of the files, none saved over the others: "
            f"{named(differing, 5)}. Pass --base with the baseline the files were saved over: each "
            "test's entry is then taken from the file that changed it"
        )
    return tests, differing


def _older(entry: Mapping[str, Any], than: Mapping[str, Any]) -> bool:
    """Whether ``than`` was saved over ``entry``: its history holds ``entry``'s latest
    record, and more after it."""
    mine, theirs = entry.get("history") or [], than.get("history") or []
    return bool(mine) and mine[-1] in theirs[:-1]
