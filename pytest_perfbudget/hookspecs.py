"""Hooks that other plugins and conftest.py files can implement (``pytest_perfbudget_*``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_perfbudget.model import Budget, Change, Verdict


def pytest_perfbudget_machine_info(config: pytest.Config, info: dict[str, Any]) -> None:
    """Add fields to the machine fingerprint, in place.

    The fingerprint is stored in baselines and reports; a baseline made on a
    machine with another fingerprint is compared with a warning. Values must be
    JSON types. Example: ``info["runner"] = os.environ["RUNNER_NAME"]``.
    """


@pytest.hookspec(firstresult=True)
def pytest_perfbudget_adjust_budget(item: pytest.Item, budget: Budget) -> Budget | None:
    """Return a replacement budget for ``item``, or None to keep ``budget``.

    Called once per budgeted test at setup, after the marker or pyproject pattern
    was read. Use :meth:`Budget.with_limits` to scale limits, e.g. on slow runners.
    The first non-None result wins; it must be a ``Budget``.
    """


@pytest.hookspec(firstresult=True)
def pytest_perfbudget_compare(
    config: pytest.Config,
    nodeid: str,
    now: Sequence[float],
    baseline: Sequence[float],
) -> Change | None:
    """Estimate the change of ``now`` against ``baseline`` (per-call seconds, in the
    order taken: read-only sequences, whose ``numpy.asarray()`` is their array,
    without a copy).

    Return a ``Change`` whose ``ratio`` is now / baseline with its ``low`` and
    ``high`` interval bounds, or None to let the next implementation decide. The
    plugin's own rule (STATISTICS.md rule 2) is the last implementation.
    """


def pytest_perfbudget_verdict(item: pytest.Item, verdict: Verdict) -> None:
    """Observe the verdict on ``item`` (called in the process that measured it)."""


def pytest_perfbudget_reporters(config: pytest.Config) -> list[Any] | None:
    """Return extra report writers: objects with ``write(verdicts: list[Verdict]) -> None``.

    Called once at the end of the session on the controller; each writer gets
    every verdict of the run.
    """
