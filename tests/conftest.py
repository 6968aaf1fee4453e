"""Shared fixtures: a pytester project whose budgeted tests measure for at most 0.2 s."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

# In-process pytester runs drop the modules a run imported. numpy's C extension cannot be
# imported twice in one process, and re-importing hypothesis (its plugin does, at the end
# of every run) costs ~0.7 s a run; importing both here keeps them loaded.
import hypothesis
import pytest

import pytest_perfbudget.stats  # noqa: F401

# Examples have no deadline: these properties are about values, not speed, and on a
# loaded machine an example can take longer than the default 200 ms.
hypothesis.settings.register_profile("perfbudget-tests", deadline=None)
hypothesis.settings.load_profile("perfbudget-tests")

#: pytest-asyncio warns at configure time without this; the warning would be an error.
_INI = """\
[tool.pytest.ini_options]
asyncio_default_fixture_loop_scope = "function"
"""

#: The measuring-time cap every end-to-end project gets unless a test overrides it.
FAST = 'max_time = "0.2s"'

WritePyproject = Callable[..., Path]


@pytest.fixture(autouse=True)
def _no_xdist_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs made by a test must not look like xdist workers when the suite itself runs
    under ``-n`` (pytest-benchmark, for one, disables itself on seeing these)."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def write_pyproject(pytester: pytest.Pytester) -> WritePyproject:
    """Write pyproject.toml: ``perfbudget`` lines go under ``[tool.perfbudget]``,
    ``budgets`` lines under ``[tool.perfbudget.budgets]``, ``extra`` verbatim at the end."""

    def write(perfbudget: str = FAST, *, budgets: str | None = None, extra: str = "") -> Path:
        text = f"{_INI}\n[tool.perfbudget]\n{perfbudget}\n"
        if budgets is not None:
            text += f"\n[tool.perfbudget.budgets]\n{budgets}\n"
        text += extra
        return pytester.makepyprojecttoml(text)

    return write


@pytest.fixture
def project(pytester: pytest.Pytester, write_pyproject: WritePyproject) -> pytest.Pytester:
    """A pytester whose project caps measuring time at 0.2 s per test."""
    write_pyproject()
    return pytester


def _assert_clean(result: pytest.RunResult) -> None:
    for stream in (result.stdout, result.stderr):
        stream.no_fnmatch_line("*Traceback*")
        stream.no_fnmatch_line("*INTERNALERROR*")


@pytest.fixture
def assert_clean() -> Callable[[pytest.RunResult], None]:
    """A check that a run's output holds no traceback and no internal error."""
    return _assert_clean


@pytest.fixture
def instant_spread(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The waits between a flagged regression's re-measurement blocks take no time in
    the next in-process run; ``pytest_perfbudget.measure``, as that run imports it (an
    earlier run may have dropped from ``sys.modules`` the module that
    ``from pytest_perfbudget import measure`` still gives)."""
    measure = importlib.import_module("pytest_perfbudget.measure")
    monkeypatch.setattr(measure, "SPREAD_GAP", 0.0)
    return measure
