"""pytest-benchmark saved runs (``--benchmark-save --benchmark-save-data``) as baseline
entries, for ``perfbudget import-benchmark``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_perfbudget.errors import BaselineError
from pytest_perfbudget.model import Measurement, Status, Verdict

if TYPE_CHECKING:
    from pytest_perfbudget.baseline import BaselineEntry

__all__ = ["read_benchmark_run"]

_HEX_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def read_benchmark_run(
    path: Path, previous: Mapping[str, BaselineEntry]
) -> tuple[list[BaselineEntry], list[str], dict[str, Any]]:
    """Entries for every benchmark with raw data, the names of those without, and the
    machine fingerprint of the run; ``previous`` entries keep their history."""
    document = _read_benchmark(path)
    fingerprint = _benchmark_machine(document.get("machine_info"))
    entries, missing = [], []
    for bench in document["benchmarks"]:
        name = str(bench.get("fullname") or bench.get("name"))
        if not (bench.get("stats") or {}).get("data"):
            missing.append(name)
            continue
        verdict = _benchmark_verdict(path, name, bench)
        entries.append(_entry(verdict, previous.get(name), fingerprint, document))
    return entries, missing, fingerprint


def _read_benchmark(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: not valid JSON: {exc}") from exc
    benchmarks = document.get("benchmarks") if isinstance(document, dict) else None
    if not isinstance(benchmarks, list) or not all(isinstance(b, dict) for b in benchmarks):
        raise BaselineError(
            f"{path}: not a pytest-benchmark saved run (expected a 'benchmarks' list, "
            "as written by --benchmark-save)"
        )
    return dict(document)


def _benchmark_verdict(path: Path, name: str, bench: Mapping[str, Any]) -> Verdict:
    """A measured verdict from one benchmark: its ``data`` is seconds per call, per round."""
    from pytest_perfbudget.stats import summarize

    stats = bench["stats"]
    try:
        iterations = int(stats.get("iterations") or 1)
        sample_ns = tuple(round(float(s) * iterations * 1e9) for s in stats["data"])
    except (TypeError, ValueError) as exc:
        raise BaselineError(f"{path}: benchmark {name!r} has bad 'stats': {exc}") from exc
    if iterations < 1 or min(sample_ns) < 0:
        raise BaselineError(f"{path}: benchmark {name!r} has negative timings or iterations")
    timer = str((bench.get("options") or {}).get("timer", ""))
    measurement = Measurement(
        sample_ns=sample_ns,
        iterations=iterations,
        timer="cpu" if "process_time" in timer else "wall",
    )
    summary = summarize(measurement.seconds)
    return Verdict(name, Status.NEW, summary=summary, measurement=measurement)


def _entry(
    verdict: Verdict,
    previous: BaselineEntry | None,
    fingerprint: Mapping[str, Any],
    document: Mapping[str, Any],
) -> BaselineEntry:
    from pytest_perfbudget.baseline import entry_from_verdict
    from pytest_perfbudget.machine import machine_id

    commit = str((document.get("commit_info") or {}).get("id") or "")
    return entry_from_verdict(
        verdict,
        previous,
        machine=machine_id(fingerprint),
        commit=commit if _HEX_COMMIT.match(commit) else None,
    )


def _benchmark_machine(info: object) -> dict[str, Any]:
    """Our fingerprint fields from pytest-benchmark's ``machine_info`` (else this machine's)."""
    if not isinstance(info, dict):
        from pytest_perfbudget.machine import fingerprint

        return fingerprint()
    cpu = info.get("cpu")
    cpu = cpu if isinstance(cpu, dict) else {}
    build = info.get("python_build") or [None]
    return {
        "cpu": cpu.get("brand_raw") or info.get("processor") or info.get("machine") or "unknown",
        "cores": cpu.get("count"),
        "python_implementation": info.get("python_implementation"),
        "python_version": info.get("python_version"),
        "python_build": build[0] if isinstance(build, list) else str(build),
        "python_abiflags": "",
        "os": info.get("system"),
        "os_release": info.get("release"),
    }
