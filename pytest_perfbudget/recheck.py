"""Measuring a test again in a fresh pytest process (``recheck``).

A test's speed can move from one process to the next on unchanged code (the
layout of its heap, what the tests before it left behind): re-measuring in the
same process then confirms a slowdown that was the process's, not the code's.
With ``recheck`` on, a regression the run flags is measured once more by
``python -m pytest NODEID`` in a process of its own, whose JSON report (the
path in :data:`RECHECK_ENV`) gives back the samples; the run judges them against
the same baseline entry (``measure.judge_callable``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_perfbudget.envvars import RECHECK_ENV
from pytest_perfbudget.errors import BaselineError, RecheckError
from pytest_perfbudget.model import Measurement, Status

__all__ = ["RECHECK_ENV", "RECHECK_TIMEOUT", "Rechecker", "child_env", "fresh_measurement"]

#: Seconds a re-checking process may take before it is stopped.
RECHECK_TIMEOUT = 300.0
#: Arguments of every re-checking process: no cache (``--lf`` and ``--sw`` keep the
#: run's), quiet output (it goes to a log file read only when something goes wrong).
RECHECK_ARGS = ("-p", "no:cacheprovider", "-q", "-rN")
#: Variables a re-checking process does without: pytest-xdist's, which tell a worker
#: (the child is none), and GitHub Actions', so that it writes no job summary.
_DROPPED_ENV = ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY")
_DROPPED_PREFIX = "PYTEST_XDIST_"
_TAIL_LINES = 15


@dataclass
class Rechecker:
    """Measures a run's tests in fresh processes, with the run's ``args`` in its
    rootdir ``cwd``. A fresh measurement counts only if it was taken under the tracer
    the run's was (a tracer changes how fast the same code runs): under ``coverage
    run``, a fresh process runs under coverage only when coverage measures
    subprocesses. Once one was not, the run's fresh processes are not either, and
    no more are started."""

    args: tuple[str, ...]
    cwd: Path
    timeout: float = RECHECK_TIMEOUT
    #: Why fresh measurements cannot count in this run, once one did not.
    unusable: str | None = None

    def measure(self, nodeid: str, tracer: str | None) -> Measurement:
        """``nodeid`` measured in a fresh process, which must run under ``tracer``."""
        if self.unusable is not None:
            raise RecheckError(self.unusable)
        fresh = fresh_measurement(nodeid, self.args, cwd=self.cwd, timeout=self.timeout)
        if fresh.tracer != tracer:
            self.unusable = (
                f"fresh processes run under {fresh.tracer or 'no tracer'}, where this one "
                f"has {tracer or 'none'}"
            )
            raise RecheckError(self.unusable)
        return fresh


def child_env(environ: Mapping[str, str], report: Path) -> dict[str, str]:
    """The environment of a re-checking process: ``environ`` with its report's path."""
    env = {
        key: value
        for key, value in environ.items()
        if key not in _DROPPED_ENV and not key.startswith(_DROPPED_PREFIX)
    }
    env[RECHECK_ENV] = str(report)
    return env


def fresh_measurement(
    nodeid: str,
    args: Sequence[str],
    *,
    cwd: Path,
    timeout: float = RECHECK_TIMEOUT,
) -> Measurement:
    """Run ``python -m pytest NODEID ARGS`` in ``cwd`` (the rootdir) and return the
    measurement its report holds for ``nodeid``; :class:`RecheckError` says why not."""
    from pytest_perfbudget.report.json import read_report

    with tempfile.TemporaryDirectory(prefix="perfbudget-recheck-") as folder:
        report = Path(folder) / "report.json"
        log = Path(folder) / "output.txt"
        command = [sys.executable, "-m", "pytest", nodeid, *RECHECK_ARGS, *args]
        _run(command, cwd, child_env(os.environ, report), log, timeout)
        try:
            verdicts = read_report(report) if report.exists() else []
        except BaselineError as exc:
            raise RecheckError(f"its report is unreadable: {exc}") from exc
        verdict = next((v for v in verdicts if v.nodeid == nodeid), None)
        if verdict is None or verdict.measurement is None or not verdict.measurement.n:
            if verdict is None:
                what = "its report holds no verdict on the test"
            elif verdict.status in (Status.FAILED, Status.SKIPPED):
                what = f"the test {verdict.status.value} there"
            else:
                what = "the test was not measured"
            raise RecheckError(f"{what}{_tail(log)}")
        return verdict.measurement


def _run(command: list[str], cwd: Path, env: dict[str, str], log: Path, timeout: float) -> None:
    """Run ``command``, its output into ``log``; stopped after ``timeout`` seconds, and
    when the run is (Ctrl-C)."""
    with log.open("wb") as output:
        try:
            subprocess.run(  # noqa: PLW1510 - its status says nothing: its report does
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise RecheckError(f"pytest took over {timeout:g} s and was stopped") from None
        except OSError as exc:
            raise RecheckError(f"pytest could not be started: {exc}") from exc


def _tail(log: Path) -> str:
    """The last lines of a re-checking process's output, indented, after a colon."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    shown = [line for line in lines[-_TAIL_LINES:] if line.strip()]
    return ":\n" + "\n".join(f"    {line}" for line in shown) if shown else ""
