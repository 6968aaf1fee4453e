"""Where the time went: profile one call with cProfile when a budget fails."""

from __future__ import annotations

import cProfile
import os
import pstats
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_perfbudget.units import format_duration

__all__ = ["Hotspots", "profile_call"]

#: Functions listed in a failure message.
TOP = 8
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_PACKAGE = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class Hotspots:
    """The profile of one call: printable lines and the raw pstats data."""

    lines: tuple[str, ...]
    stats: pstats.Stats

    def dump(self, folder: Path, nodeid: str) -> Path:
        """Write ``<folder>/<nodeid>.pstats`` (for snakeviz or ``python -m pstats``)."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (_UNSAFE.sub("_", nodeid).strip("_") + ".pstats")
        self.stats.dump_stats(os.fspath(path))
        return path


def _where(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":  # a built-in function
        return name
    return f"{name}  {_short(filename)}:{line}"


def _short(filename: str) -> str:
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return filename if relative.startswith("..") else relative


def _harness() -> tuple[str, ...]:
    """Folders of this package and of the pytest machinery that calls a test body."""
    folders = [_PACKAGE]
    for name in ("_pytest", "pluggy"):  # only if loaded: never import pytest here
        filename = getattr(sys.modules.get(name), "__file__", None)
        if filename:
            folders.append(os.path.dirname(os.path.abspath(filename)))
    return tuple(folder + os.sep for folder in folders)


def _ours(func: tuple[str, int, str], harness: tuple[str, ...]) -> bool:
    """The profiler's own entries and the harness's frames, left out of the list: a
    timed test body runs under several pluggy and pytest calls that are not its cost."""
    return "_lsprof.Profiler" in func[2] or func[0].startswith(harness)


def profile_call(fn: Callable[[], object], *, top: int = TOP) -> Hotspots:
    """Profile one call of ``fn``; list the ``top`` functions by own time.

    A ``ValueError`` when another profiler is running: from Python 3.12 cProfile
    refuses to start then, and before it, it would replace a ``sys.setprofile``
    profiler (cProfile run on the whole session, say) and leave none when done.
    """
    if not hasattr(sys, "monitoring") and sys.getprofile() is not None:
        raise ValueError("Another profiling tool is already active")  # as 3.12+ says
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        fn()
    finally:
        profiler.disable()
    stats = pstats.Stats(profiler)
    harness = _harness()
    rows = sorted(
        (kv for kv in stats.stats.items() if not _ours(kv[0], harness)),  # type: ignore[attr-defined]
        key=lambda kv: kv[1][2],
        reverse=True,
    )
    lines = [f"{'own':>9}  {'cumulative':>10}  {'calls':>7}  function"]
    for func, (_, ncalls, tottime, cumtime, _) in rows[:top]:
        own, cumulative = format_duration(tottime), format_duration(cumtime)
        lines.append(f"{own:>9}  {cumulative:>10}  {ncalls:>7}  {_where(func)}")
    return Hotspots(tuple(lines), stats)
