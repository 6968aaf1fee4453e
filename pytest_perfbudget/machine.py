"""Who measured: a machine fingerprint, a short id for it, and the git commit.

Timings are only comparable on the same kind of machine, so baselines and run
reports record where they were taken. Everything here returns JSON types.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "RUNNER_ENV",
    "describe",
    "fingerprint",
    "git_commit",
    "hash_seed",
    "machine_id",
    "to_json_types",
]

#: Environment variable holding an optional runner label (e.g. ``"gha-ubuntu-4core"``).
RUNNER_ENV = "PERFBUDGET_RUNNER"

#: The fingerprint fields that decide whether two runs are comparable.
_ID_FIELDS = (
    "cpu",
    "cores",
    "python_implementation",
    "python_version",
    "python_abiflags",
    "os",
    "runner",
)
_HEX_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def _cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return " ".join(value.split())
    return platform.processor() or platform.machine() or "unknown"


def to_json_types(value: object) -> Any:
    """``value`` made of JSON types: containers recursed, anything else as text."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(key): to_json_types(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_types(item) for item in value]
    return str(value)


def fingerprint(extra: Mapping[str, object] | None = None) -> dict[str, Any]:
    """Describe this machine and interpreter; ``extra`` (from a hook) is merged last."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python_implementation": platform.python_implementation(),
        "python_version": platform.python_version(),
        "python_build": platform.python_build()[0],
        "python_abiflags": getattr(sys, "abiflags", ""),
        "os": platform.system(),
        "os_release": platform.release(),
    }
    runner = os.environ.get(RUNNER_ENV, "").strip()
    if runner:
        info["runner"] = runner
    if extra:
        info.update(to_json_types(extra))
    return info


def machine_id(fp: Mapping[str, Any]) -> str:
    """A short stable hash of the fields that matter for comparing timings.

    The OS release and the Python build tag are left out: a kernel or patch
    update does not make a baseline incomparable.
    """
    key = {name: fp.get(name) for name in _ID_FIELDS}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()[:12]


def describe(fp: Mapping[str, Any]) -> str:
    """One short line: ``"AMD EPYC · 2 cores · CPython 3.11.7 · Linux"``."""
    cores = fp.get("cores")
    parts = [
        str(fp.get("cpu") or "unknown CPU"),
        f"{cores} core{'' if cores == 1 else 's'}" if cores else "? cores",
        f"{fp.get('python_implementation', 'Python')} {fp.get('python_version', '?')}"
        + str(fp.get("python_abiflags") or ""),
        str(fp.get("os") or "unknown OS"),
    ]
    if fp.get("runner"):
        parts.append(f"runner {fp['runner']}")
    return " · ".join(parts)


def git_commit(cwd: Path) -> str | None:
    """``git rev-parse HEAD`` in ``cwd``, or None when that fails for any reason."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    commit = done.stdout.strip()
    if done.returncode != 0 or not _HEX_COMMIT.match(commit):
        return None
    return commit


def hash_seed(environ: Mapping[str, str] = os.environ) -> str | None:
    """The hash seed ``PYTHONHASHSEED`` fixes for a Python process started with
    ``environ``; None when the process draws its own (unset, empty or ``random``)."""
    seed = environ.get("PYTHONHASHSEED", "")
    return None if seed in ("", "random") else seed
