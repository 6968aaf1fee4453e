"""``Rechecker``: a fresh measurement counts only under the run's tracer (no process is
started here: ``fresh_measurement`` is replaced)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_perfbudget import recheck
from pytest_perfbudget.errors import RecheckError
from pytest_perfbudget.model import Measurement
from pytest_perfbudget.recheck import Rechecker

COVERAGE = "sys.settrace tracer paused (coverage.CTracer)"


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The node ids fresh processes were started for; each measures under no tracer."""
    nodeids: list[str] = []

    def fresh(nodeid: str, args: tuple[str, ...], **kwargs: Any) -> Measurement:
        nodeids.append(nodeid)
        return Measurement([1_000_000] * 10)

    monkeypatch.setattr(recheck, "fresh_measurement", fresh)
    return nodeids


def test_a_fresh_measurement_under_the_run_s_tracer_counts(started: list[str]) -> None:
    rechecker = Rechecker(("-q",), Path())
    assert rechecker.measure("test_a.py::test_one", None).n == 10
    assert rechecker.measure("test_a.py::test_two", None).n == 10
    assert started == ["test_a.py::test_one", "test_a.py::test_two"]


def test_once_a_fresh_process_ran_under_another_tracer_no_more_are_started(
    started: list[str],
) -> None:
    rechecker = Rechecker(("-q",), Path())
    reason = f"fresh processes run under no tracer, where this one has {COVERAGE}"
    for nodeid in ("test_a.py::test_one", "test_a.py::test_two"):
        with pytest.raises(RecheckError) as info:
            rechecker.measure(nodeid, COVERAGE)
        assert str(info.value) == reason
    assert started == ["test_a.py::test_one"]
