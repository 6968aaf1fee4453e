"""The baseline file: what a refresh stores, read back with full validation.

The file is one JSON document, written deterministically (sorted keys, two-space
indent) so that a refresh is a reviewable diff; each test's raw samples are one
compact string, so a refreshed test is a one-line change. Writes are atomic and
merge under a lock: a killed run never leaves a half-written file and two
concurrent writers never lose each other's entries. Reading never falls back to
"no baseline" except when the file does not exist.
"""

from __future__ import annotations

import array
import base64
import binascii
import contextlib
import json
import math
import os
import sys
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pytest_perfbudget.errors import BaselineError, SchemaVersionError
from pytest_perfbudget.model import Measurement, Summary, Verdict

__all__ = [
    "HISTORY_LIMIT",
    "SAMPLE_LIMIT",
    "SCHEMA_VERSION",
    "Baseline",
    "BaselineEntry",
    "SaveResult",
    "atomic_write",
    "decode_samples",
    "dumps",
    "encode_samples",
    "entry_from_verdict",
    "load",
    "load_samples",
    "merge",
    "read_document",
    "save",
    "thin_samples",
]

SCHEMA_VERSION = 1
HISTORY_LIMIT = 20
SAMPLE_LIMIT = 10_000

#: ``_MIGRATIONS[v]`` turns a schema-``v`` document into a schema-``v + 1`` one.
_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

_PREFIX = "z64:"
_REQUIRED = ("timer", "iterations", "samples", "stats")
_THREAD_LOCK = threading.Lock()


# -- samples ----------------------------------------------------------------------


def encode_samples(sample_ns: Sequence[int]) -> str:
    """Nanosecond samples as one short string: ``"z64:" + base64(zlib(bytes))``.

    The bytes are the little-endian unsigned 64-bit samples stored byte-plane by
    byte-plane (all first bytes, then all second bytes, …), which compresses
    similar timings several times better than plain order.
    """
    try:
        values = array.array("Q", sample_ns)
    except (OverflowError, TypeError) as exc:
        raise ValueError(f"samples must be integers in 0 … 2**64-1: {exc}") from exc
    if sys.byteorder == "big":  # pragma: no cover - no big-endian CI
        values.byteswap()
    raw = values.tobytes()
    planes = b"".join(raw[i::8] for i in range(8))
    return _PREFIX + base64.b64encode(zlib.compress(planes, 6)).decode("ascii")


def decode_samples(text: str) -> list[int]:
    """Inverse of :func:`encode_samples`; :class:`BaselineError` says what is wrong."""
    if not isinstance(text, str) or not text.startswith(_PREFIX):
        shown = text[:20] if isinstance(text, str) else text
        raise BaselineError(f"samples must be a string starting with {_PREFIX!r}, got {shown!r}")
    try:
        planes = zlib.decompress(base64.b64decode(text[len(_PREFIX) :], validate=True))
    except (binascii.Error, ValueError) as exc:
        raise BaselineError(f"samples are not valid base64 ({exc})") from exc
    except zlib.error as exc:
        raise BaselineError(f"samples are not valid compressed data ({exc})") from exc
    if len(planes) % 8:
        raise BaselineError(f"samples hold {len(planes)} bytes, not a multiple of 8")
    count = len(planes) // 8
    raw = bytearray(len(planes))
    for i in range(8):
        raw[i::8] = planes[i * count : (i + 1) * count]
    values = array.array("Q")
    values.frombytes(bytes(raw))
    if sys.byteorder == "big":  # pragma: no cover - no big-endian CI
        values.byteswap()
    return values.tolist()


def thin_samples(sample_ns: Sequence[int], limit: int = SAMPLE_LIMIT) -> tuple[int, ...]:
    """At most ``limit`` samples, picked uniformly in time order."""
    count = len(sample_ns)
    if count <= limit:
        return tuple(sample_ns)
    return tuple(sample_ns[(i * count) // limit] for i in range(limit))


# -- values -----------------------------------------------------------------------


@dataclass(frozen=True)
class BaselineEntry:
    """What the baseline keeps about one test."""

    nodeid: str
    timer: str
    iterations: int
    sample_ns: tuple[int, ...]
    summary: Summary
    budget: Mapping[str, Any]
    history: tuple[Mapping[str, Any], ...]
    machine: str
    commit: str | None
    reference: float | None = None

    @property
    def seconds(self) -> list[float]:
        """Per-call durations in seconds, in the order taken."""
        scale = 1e-9 / self.iterations
        return [ns * scale for ns in self.sample_ns]


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline file (``path`` None and no entries when there is none)."""

    path: Path | None
    entries: Mapping[str, BaselineEntry]
    machine: Mapping[str, Any]
    generator: str


@dataclass(frozen=True)
class SaveResult:
    """What :func:`save` wrote: ``(nodeid, old entry or None, new entry)`` per test."""

    path: Path
    changes: tuple[tuple[str, BaselineEntry | None, BaselineEntry], ...]


# -- serialisation ----------------------------------------------------------------


def dumps(doc: Mapping[str, Any]) -> str:
    """The one serialisation of every file we write: sorted keys, indented, newline.

    Like ``json.dumps(doc, sort_keys=True, indent=2)``, except that a list or
    object of plain values nested four levels deep or more (a history record, a
    pair of bounds, a check) stays on one line, so a refresh diff shows one line
    per history record instead of ten.
    """
    return _encode(doc, 0) + "\n"


_inline = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(", ", ": ")).encode


def _encode(value: Any, depth: int) -> str:
    if isinstance(value, Mapping):
        items = [(_inline(str(key)), item) for key, item in sorted(value.items())]
    elif isinstance(value, (list, tuple)):
        items = [("", item) for item in value]
    else:
        return _inline(value)
    plain = not any(isinstance(item, (dict, list, tuple)) for _, item in items)
    if not items or (plain and depth >= 4):
        return _inline(value)
    pad = "\n" + "  " * (depth + 1)
    lines = [
        f"{key}: {_encode(item, depth + 1)}" if key else _encode(item, depth + 1)
        for key, item in items
    ]
    opening, closing = ("{", "}") if isinstance(value, Mapping) else ("[", "]")
    return opening + pad + ("," + pad).join(lines) + "\n" + "  " * depth + closing


def _rounded(value: Any) -> Any:
    """Floats rounded to 6 significant digits, so refresh diffs stay readable."""
    if type(value) is float:
        return float(f"{value:.6g}") if math.isfinite(value) else value
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(item) for item in value]
    return value


def _entry_to_doc(entry: BaselineEntry) -> dict[str, Any]:
    samples = thin_samples(entry.sample_ns)
    return {
        "timer": entry.timer,
        "iterations": entry.iterations,
        "samples": encode_samples(samples),
        "n": len(samples),
        "stats": _rounded(entry.summary.to_dict()),
        "budget": _rounded(dict(entry.budget)),
        "history": [_rounded(dict(run)) for run in entry.history],
        "machine": entry.machine,
        "commit": entry.commit,
        "reference": _rounded(entry.reference),
    }


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so readers see the old or the new file, never half."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write: {exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise BaselineError(f"{path}: cannot write: {exc}") from exc
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable where the OS allows opening a directory."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - filesystems without directory fsync
        pass
    finally:
        os.close(fd)


# -- reading ----------------------------------------------------------------------


def _type_name(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), "null" if value is None else "a number")


def _parse(path: Path, text: str) -> dict[str, Any]:
    if not text.strip():
        raise BaselineError(f"{path}: the file is empty (truncated?)")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        ends_early = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated")
        what = "truncated: the JSON ends early" if ends_early else "not valid JSON"
        where = f"line {exc.lineno}, column {exc.colno}"
        raise BaselineError(f"{path}: {what} ({exc.msg} at {where})") from exc
    if not isinstance(doc, dict):
        raise BaselineError(
            f"{path}: expected a JSON object with 'schema_version' and 'tests', "
            f"got {_type_name(doc)}"
        )
    return doc


def _migrate(path: Path, doc: dict[str, Any]) -> dict[str, Any]:
    version = doc.get("schema_version")
    if version is None:
        hint = ""
        if "benchmarks" in doc:
            hint = (
                "; it looks like a pytest-benchmark file: "
                "convert it with `perfbudget import-benchmark`"
            )
        raise BaselineError(f"{path}: missing 'schema_version', not a pytest-perfbudget file{hint}")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise BaselineError(f"{path}: 'schema_version' must be a whole number, got {version!r}")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path} was written by a newer pytest-perfbudget (schema {version}, "
            f"this version reads ≤ {SCHEMA_VERSION}); upgrade pytest-perfbudget"
        )
    while version < SCHEMA_VERSION:
        step = _MIGRATIONS.get(version)
        if step is None:
            raise BaselineError(
                f"{path}: schema {version} is too old for this version of pytest-perfbudget; "
                "write the file again (refresh the baseline)"
            )
        version += 1
        doc = {**step(doc), "schema_version": version}
    return doc


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: cannot read: {exc}") from exc


def _document(path: Path, text: str) -> dict[str, Any]:
    doc = _migrate(path, _parse(path, text))
    if "tests" not in doc:
        raise BaselineError(f"{path}: missing 'tests'")
    if not isinstance(doc.get("machine", {}), dict):
        raise BaselineError(
            f"{path}: 'machine' must be an object, got {_type_name(doc['machine'])}"
        )
    return doc


def read_document(path: Path) -> dict[str, Any]:
    """Parse ``path`` into a migrated document with a ``tests`` key (baseline or report).

    Any problem, a missing file included, is a :class:`BaselineError` whose
    message starts with the path.
    """
    text = _read_text(path)
    if text is None:
        raise BaselineError(f"{path}: no such file")
    return _document(path, text)


def _field(where: str, data: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise BaselineError(f"{where}: {key!r} has a bad value {value!r}")
    return value


def _entry_from_doc(path: Path, nodeid: str, data: object) -> BaselineEntry:
    where = f"{path}: test {nodeid!r}"
    if not isinstance(data, dict):
        raise BaselineError(f"{where} must be an object, got {_type_name(data)}")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise BaselineError(f"{where} is missing {', '.join(map(repr, missing))}")
    try:
        samples = decode_samples(data["samples"])
    except BaselineError as exc:
        raise BaselineError(f"{where}: bad 'samples': {exc}") from exc
    if data.get("n", len(samples)) != len(samples):
        raise BaselineError(f"{where}: 'n' is {data['n']!r} but 'samples' holds {len(samples)}")
    try:
        summary = Summary.from_dict(_field(where, data, "stats", dict))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise BaselineError(f"{where}: bad 'stats' ({type(exc).__name__}: {exc})") from exc
    history = _field(where, {"history": [], **data}, "history", list)
    if not all(isinstance(run, dict) for run in history):
        raise BaselineError(f"{where}: 'history' must be a list of objects")
    iterations = _field(where, data, "iterations", int)
    if iterations < 1:
        raise BaselineError(f"{where}: 'iterations' has a bad value {iterations!r}")
    reference = _field(where, {"reference": None, **data}, "reference", (int, float, type(None)))
    return BaselineEntry(
        nodeid=nodeid,
        timer=_field(where, data, "timer", str),
        iterations=iterations,
        sample_ns=tuple(samples),
        summary=summary,
        budget=_field(where, {"budget": {}, **data}, "budget", dict),
        history=tuple(history),
        machine=_field(where, {"machine": "", **data}, "machine", str),
        commit=_field(where, {"commit": None, **data}, "commit", (str, type(None))),
        reference=None if reference is None else float(reference),
    )


def _tests_of(path: Path, doc: Mapping[str, Any]) -> dict[str, Any]:
    tests = doc["tests"]
    if not isinstance(tests, dict):
        hint = " (this looks like a run report, not a baseline)" if isinstance(tests, list) else ""
        raise BaselineError(
            f"{path}: 'tests' must be an object keyed by node id, got {_type_name(tests)}{hint}"
        )
    return tests


def _baseline_from_doc(path: Path, doc: Mapping[str, Any]) -> Baseline:
    tests = _tests_of(path, doc)
    entries = {nodeid: _entry_from_doc(path, nodeid, data) for nodeid, data in tests.items()}
    generator = doc.get("generator", "")
    return Baseline(path, entries, dict(doc.get("machine", {})), str(generator))


def load(path: Path) -> Baseline:
    """Read a baseline; a missing file is an empty baseline, anything unreadable an error."""
    text = _read_text(path)
    if text is None:
        return Baseline(path=None, entries={}, machine={}, generator="")
    return _baseline_from_doc(path, _document(path, text))


def load_samples(path: Path) -> dict[str, tuple[list[float], Summary]]:
    """Per-call seconds and summary of each test in a baseline *or* a run report.

    A report test without stats is left out; one whose samples were not stored
    maps to an empty list.
    """
    doc = read_document(path)
    if _kind(doc) == "run report":
        from pytest_perfbudget.report.json import verdicts_from_document

        return {
            v.nodeid: (v.measurement.seconds if v.measurement else [], v.summary)
            for v in verdicts_from_document(path, doc)
            if v.summary is not None
        }
    entries = _baseline_from_doc(path, doc).entries
    return {nodeid: (entry.seconds, entry.summary) for nodeid, entry in entries.items()}


# -- writing ----------------------------------------------------------------------


def _run_summary(
    meas: Measurement, summary: Summary, machine: str, commit: str | None
) -> dict[str, Any]:
    """One history record: the run's size, low quantiles and centre."""
    from pytest_perfbudget.regression import low_quantile

    seconds = meas.seconds
    return {
        "n": len(seconds),
        "min": low_quantile(seconds, 0.0),
        "p10": low_quantile(seconds, 0.10),
        "p50": summary.p50,
        "p95": summary.p95,
        "mean": summary.mean,
        "machine": machine,
        "commit": commit,
    }


def entry_from_verdict(
    verdict: Verdict,
    previous: BaselineEntry | None,
    *,
    machine: str,
    commit: str | None,
    reference: float | None,
) -> BaselineEntry:
    """The baseline entry for a measured verdict; its run joins ``previous``'s history."""
    meas = verdict.measurement
    if meas is None or not meas.sample_ns or verdict.summary is None:
        raise ValueError(f"{verdict.nodeid}: a baseline entry needs samples and a summary")
    run = _run_summary(meas, verdict.summary, machine, commit)
    history = (*previous.history, run) if previous else (run,)
    return BaselineEntry(
        nodeid=verdict.nodeid,
        timer=meas.timer,
        iterations=meas.iterations,
        sample_ns=thin_samples(meas.sample_ns),
        summary=verdict.summary,
        budget=verdict.budget.to_dict(),
        history=history[-HISTORY_LIMIT:],
        machine=machine,
        commit=commit,
        reference=reference,
    )


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(handle: IO[bytes]) -> None:
        handle.seek(0)
        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                return
            except OSError:  # LK_LOCK gives up after ~10 s; keep waiting
                continue

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the sibling ``<name>.lock`` (threads and processes)."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+b")  # noqa: SIM115 - closed below, after unlocking
    except OSError as exc:
        raise BaselineError(f"{path}: cannot create the lock file {lock_path}: {exc}") from exc
    with _THREAD_LOCK, handle:
        _lock(handle)
        try:
            yield
        finally:
            _unlock(handle)


def save(
    path: Path,
    entries: Iterable[BaselineEntry],
    *,
    machine: Mapping[str, Any],
    generator: str,
) -> SaveResult:
    """Write ``entries`` into the baseline at ``path``, keeping every other entry.

    Under an exclusive lock the current file is read again, so entries another
    writer saved meanwhile survive; an unreadable current file is an error, never
    overwritten. Kept entries are copied as they are (only the replaced ones are
    decoded, to be returned as the old entries): :func:`load` validates the rest.
    """
    new = {entry.nodeid: entry for entry in entries}
    with _locked(path):
        text = _read_text(path)
        doc = _document(path, text) if text is not None else {"tests": {}}
        tests = dict(_tests_of(path, doc))
        changes = []
        for nodeid, entry in sorted(new.items()):
            old = _entry_from_doc(path, nodeid, tests[nodeid]) if nodeid in tests else None
            changes.append((nodeid, old, entry))
            tests[nodeid] = _entry_to_doc(entry)
        out = {
            "schema_version": SCHEMA_VERSION,
            "generator": generator,
            "machine": dict(machine),
            "tests": tests,
        }
        atomic_write(path, dumps(out))
    return SaveResult(path=path, changes=tuple(changes))


def _kind(doc: Mapping[str, Any]) -> str:
    return "run report" if isinstance(doc["tests"], list) else "baseline"


def merge(paths: Sequence[Path]) -> dict[str, Any]:
    """Merge shard baselines, or shard run reports, into one document to write.

    All files must be of the same kind; a later file wins for a node id it shares
    with an earlier one.
    """
    if not paths:
        raise BaselineError("nothing to merge: no files given")
    docs = [(path, read_document(path)) for path in paths]
    kinds = [(path, _kind(doc)) for path, doc in docs]
    if len({kind for _, kind in kinds}) > 1:
        listed = ", ".join(f"{path} is a {kind}" for path, kind in kinds)
        raise BaselineError(f"cannot merge baselines with run reports: {listed}")
    if kinds[0][1] == "run report":
        from pytest_perfbudget.report.json import merge_documents

        return merge_documents(docs)
    tests: dict[str, Any] = {}
    for path, doc in docs:
        _baseline_from_doc(path, doc)
        tests.update(doc["tests"])
    last = docs[-1][1]
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": last.get("generator", ""),
        "machine": last.get("machine", {}),
        "tests": tests,
    }
