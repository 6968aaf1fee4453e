"""The run report (``--perfbudget-json``): every verdict with its raw samples.

Same conventions as the baseline file: an integer ``schema_version``, a
``generator``, the ``machine`` fingerprint, deterministic serialisation, atomic
writes, and validation on read that names the file and what is wrong.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_perfbudget.baseline import read_document, thin_samples
from pytest_perfbudget.codec import SCHEMA_VERSION, decode_samples, dumps, encode_samples
from pytest_perfbudget.errors import BaselineError
from pytest_perfbudget.files import atomic_write
from pytest_perfbudget.machine import to_json_types
from pytest_perfbudget.model import Status, Verdict

__all__ = [
    "build_report",
    "merge_documents",
    "read_report",
    "status_counts",
    "verdicts_from_document",
    "write_report",
]


def status_counts(statuses: Iterable[str]) -> dict[str, int]:
    """How many tests ended in each status (every status listed, zeros included)."""
    counts = Counter(statuses)
    return {status.value: counts.get(status.value, 0) for status in Status}


def _test_entry(verdict: Verdict) -> dict[str, Any]:
    entry = verdict.to_dict()
    meas = verdict.measurement
    entry["samples"] = encode_samples(thin_samples(meas.sample_ns)) if meas else None
    return entry


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_report(
    verdicts: Sequence[Verdict],
    *,
    machine: Mapping[str, Any],
    settings: Mapping[str, Any],
    generator: str,
    duration: float,
    created: str | None = None,
) -> dict[str, Any]:
    """The run report document, tests sorted by node id; ``created`` defaults to now (UTC)."""
    tests = [_test_entry(v) for v in sorted(verdicts, key=lambda v: v.nodeid)]
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": generator,
        "machine": to_json_types(machine),
        "settings": to_json_types(settings),
        "duration": duration,
        "created": created or _now(),
        "summary": status_counts(test["status"] for test in tests),
        "tests": tests,
    }


def write_report(path: Path, report: Mapping[str, Any]) -> None:
    """Write ``report`` atomically and deterministically, creating parent folders."""
    atomic_write(path, dumps(report))


def _verdict(path: Path, index: int, data: object) -> Verdict:
    if not isinstance(data, dict):
        raise BaselineError(f"{path}: test #{index} must be an object, got {type(data).__name__}")
    where = f"{path}: test #{index} ({data.get('nodeid')!r})"
    if not isinstance(data.get("nodeid"), str):
        raise BaselineError(f"{where}: missing 'nodeid'")
    wire = dict(data)
    if data.get("samples") is not None:
        try:
            wire["sample_ns"] = decode_samples(data["samples"])
        except BaselineError as exc:
            raise BaselineError(f"{where}: bad 'samples': {exc}") from exc
    try:
        return Verdict.from_dict(wire)
    except KeyError as exc:
        raise BaselineError(f"{where}: missing {exc}") from exc
    except (TypeError, ValueError, IndexError, AttributeError) as exc:
        raise BaselineError(f"{where}: bad value ({exc})") from exc


def verdicts_from_document(path: Path, doc: Mapping[str, Any]) -> list[Verdict]:
    """Validate a parsed run report (see :func:`read_document`) into verdicts."""
    tests = doc["tests"]
    if not isinstance(tests, list):
        hint = " (this looks like a baseline, not a run report)" if isinstance(tests, dict) else ""
        raise BaselineError(f"{path}: 'tests' must be a list, got {type(tests).__name__}{hint}")
    return [_verdict(path, index, data) for index, data in enumerate(tests)]


def read_report(path: Path) -> list[Verdict]:
    """Read a run report back into verdicts, samples included."""
    return verdicts_from_document(path, read_document(path))


def merge_documents(docs: Sequence[tuple[Path, Mapping[str, Any]]]) -> dict[str, Any]:
    """Merge shard run reports: a later report wins per node id; durations add up."""
    tests: dict[str, Any] = {}
    for path, doc in docs:
        verdicts_from_document(path, doc)
        tests.update((test["nodeid"], test) for test in doc["tests"])
    ordered = [tests[nodeid] for nodeid in sorted(tests)]
    last = docs[-1][1]
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": last.get("generator", ""),
        "machine": last.get("machine", {}),
        "settings": last.get("settings", {}),
        "duration": sum(float(doc.get("duration") or 0.0) for _, doc in docs),
        "created": max(str(doc.get("created") or "") for _, doc in docs),
        "summary": status_counts(test["status"] for test in ordered),
        "tests": ordered,
    }
