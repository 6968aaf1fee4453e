"""Paired mode (``--perfbudget-against=REV``): the base revision in a temporary git
worktree, two pinned worker processes (base and head), interleaved rounds.

The plugin talks to this package through :func:`start` and the object it returns:
a :class:`~pytest_perfbudget.paired.coordinator.Coordinator` in the user's pytest
process, a :class:`~pytest_perfbudget.paired.worker.WorkerClient` inside a worker.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pytest_perfbudget.paired.protocol import WORKER_ENV

if TYPE_CHECKING:
    from pytest_perfbudget.engine.runner import Plan
    from pytest_perfbudget.measure import Judgement, Perf
    from pytest_perfbudget.model import Budget, Verdict
    from pytest_perfbudget.paired.coordinator import Coordinator
    from pytest_perfbudget.paired.worker import WorkerClient

__all__ = ["WORKER_ENV", "PairedMode", "Request", "kind_of", "start"]


@dataclass(frozen=True)
class Request:
    """One test to judge in paired mode, as plain values from the plugin."""

    nodeid: str
    budget: Budget | None
    plan: Plan
    threshold: float | None
    body: Callable[[], object]
    #: Tears down the test's function-scoped fixtures and sets them up again (None:
    #: it has none, or is not a plain test function), for a body that cannot be
    #: repeated on one set.
    refresh: Callable[[], object] | None
    measurer: Perf | None
    selection: Callable[[], Sequence[str]]
    #: Whether a flagged regression is measured again by a fresh pair: not once the
    #: run has confirmed ``measure.SPREAD_REGRESSIONS`` (it fails then), as a stored
    #: comparison's ``spread`` is cut short.
    fresh_pair: bool = True


class PairedMode(Protocol):
    """What the plugin calls in paired mode (coordinator or worker)."""

    def perf(self, nodeid: str, budget: Budget, plan: Plan) -> Perf:
        """The ``perf`` fixture's object for test ``nodeid``."""

    def judge(self, request: Request) -> Judgement | None:
        """Measure one test (None: no verdict from this process)."""

    def verdict(
        self, nodeid: str, budget: Budget, judgement: Judgement, location: tuple[str, int] | None
    ) -> Verdict:
        """The verdict of a paired judgement."""

    def close(self) -> None:
        """Stop everything this mode started."""


def kind_of(measurer: Perf | None) -> str:
    """How the test measures: ``perf``, ``sample``, ``record``, or ``body`` (timed body)."""
    kind = getattr(measurer, "kind", None)
    return str(kind) if kind else "body"


def start(
    *,
    against: str | None,
    rootdir: Path,
    paths: Sequence[str] = (),
    setup: str | None = None,
    environ: Mapping[str, str],
    options: Sequence[str] = (),
    config_file: Path | None = None,
) -> Coordinator | WorkerClient | None:
    """The paired role of this pytest process: worker (the env var), coordinator
    (``against`` set), or None. Raises ConfigError for a bad revision."""
    spec = environ.get(WORKER_ENV)
    if spec:
        from pytest_perfbudget.paired.worker import WorkerClient

        return WorkerClient.connect(json.loads(spec))
    if not against:
        return None
    from pytest_perfbudget.paired.coordinator import Coordinator

    return Coordinator(
        against,
        rootdir,
        paths=tuple(paths),
        setup=setup,
        environ=environ,
        options=options,
        config_file=config_file,
    )
