"""Settings from ``[tool.perfbudget]`` in pyproject.toml plus command-line overrides."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_perfbudget.errors import ConfigError, SpecError
from pytest_perfbudget.model import Budget
from pytest_perfbudget.spec import KNOBS, budget_from_kwargs, parse_knob
from pytest_perfbudget.units import format_duration, parse_ratio

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["FAIL_ON", "Settings", "load_table", "settings_from_table"]

FAIL_ON = ("budget", "regression", "inconclusive", "new")
DEFAULT_BASELINE = ".perfbudget/baseline.json"


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one pytest session."""

    rootdir: Path
    baseline: Path
    regression: float | None = 0.10
    timer: str = "wall"
    max_time: float = 1.0
    warmup: float = 0.01
    rounds: int = 1
    gc: bool = True
    fail_on: frozenset[str] = frozenset({"budget", "regression"})
    patterns: tuple[tuple[str, Budget | None], ...] = ()
    source: Path | None = None
    save: bool = False
    prune: bool = False
    json: Path | None = None
    markdown: Path | None = None
    disable: bool = False
    strict: bool = False
    recheck: bool = False
    against: str | None = None
    against_paths: tuple[str, ...] = ()
    against_setup: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def fails_on(self, kind: str) -> bool:
        """Whether verdicts of ``kind`` (a :data:`FAIL_ON` name) fail their test.

        Saving refreshes the baseline: a regression or a missing entry is what it is
        there to record, so neither fails then; absolute budgets still do.
        """
        if self.save and kind in ("regression", "new"):
            return False
        if self.strict and kind in ("inconclusive", "new"):
            return True
        return kind in self.fail_on

    def describe(self) -> str:
        """The one-line summary shown in pytest's report header."""
        regression = "off" if self.regression is None else f"{self.regression * 100:g}%"
        parts = [
            f"timer={self.timer}",
            f"max_time={format_duration(self.max_time)}",
            f"regression={regression}",
            f"baseline={_display(self.baseline, self.rootdir)}",
        ]
        flags = ("save", "prune", "strict", "recheck", "disable")
        parts += [name for name in flags if getattr(self, name)]
        if self.against:
            parts.append(f"against={self.against}")
        return ", ".join(parts)


def _display(path: Path, rootdir: Path) -> str:
    try:
        return str(path.relative_to(rootdir))
    except ValueError:
        return str(path)


def load_table(path: Path) -> dict[str, Any]:
    """The ``[tool.perfbudget]`` table of a pyproject.toml ({} when absent)."""
    try:
        with path.open("rb") as stream:
            document = tomllib.load(stream)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read [tool.perfbudget]: {exc}") from exc
    table = document.get("tool", {}).get("perfbudget", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.perfbudget] must be a table, got {table!r}")
    return table


def _fail_on(value: object) -> frozenset[str]:
    if isinstance(value, list) and all(item in FAIL_ON for item in value):
        return frozenset(value)
    raise SpecError(f"{value!r} is not valid; expected a list drawn from {list(FAIL_ON)}")


def _patterns(value: object) -> tuple[tuple[str, Budget | None], ...]:
    """Each glob with its budget; None for ``false``, which unbudgets what it matches."""
    if not isinstance(value, dict):
        raise SpecError(f"{value!r} is not valid; expected a table of glob = {{ p95 = '200ms' }}")
    out: list[tuple[str, Budget | None]] = []
    for glob, spec in value.items():
        if spec is False:
            out.append((glob, None))
            continue
        if not isinstance(spec, dict):
            raise SpecError(
                f"{glob!r} = {spec!r}: expected an inline table such as {{ p95 = 200 }}, "
                "or false to leave the tests it matches unbudgeted"
            )
        try:
            out.append((glob, budget_from_kwargs(spec, source=f"pattern {glob}")))
        except SpecError as exc:
            raise SpecError(f"{glob!r} = {spec!r}: {exc}") from None
    return tuple(out)


def _baseline(value: object) -> str:
    if isinstance(value, str) and value:
        return value
    raise SpecError(f"{value!r} is not valid; expected a path string")


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise SpecError(f"{value!r} is not valid; expected true or false")


_PARSERS: dict[str, Callable[[object], Any]] = {
    "regression": parse_ratio,
    "fail_on": _fail_on,
    "budgets": _patterns,
    "baseline": _baseline,
    "recheck": _flag,
}


def _parse_setting(key: str, value: object) -> Any:
    parser = _PARSERS.get(key)
    if parser is not None:
        return parser(value)
    if key in ("against_paths", "against_setup"):
        return _against(key, value)
    return parse_knob(key, value)


def _against(key: str, value: object) -> Any:
    """``against_paths``: folders for the base worker's imports; ``against_setup``: a command."""
    if key == "against_setup":
        if isinstance(value, str) and value.strip():
            return value
        raise SpecError(f"{value!r} is not valid; expected a shell command string")
    if isinstance(value, list) and all(isinstance(item, str) and item for item in value):
        return tuple(value)
    raise SpecError(f"{value!r} is not valid; expected a list of folder paths such as ['lib']")


_KEYS = (
    "baseline",
    "regression",
    "fail_on",
    "budgets",
    "recheck",
    "against_paths",
    "against_setup",
    *(k for k in KNOBS if k != "memory"),
)


def _parse_table(table: Mapping[str, Any], source: Path) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            raise ConfigError(
                f"{source}: [tool.perfbudget] unknown key {key!r}; "
                f"valid keys are {', '.join(_KEYS)}"
            )
        try:
            parsed[key] = _parse_setting(key, value)
        except SpecError as exc:
            where = (
                "[tool.perfbudget.budgets]" if key == "budgets" else f"[tool.perfbudget] {key} ="
            )
            shown = "" if key == "budgets" else f" {value!r}:"
            raise ConfigError(f"{source}: {where}{shown} {exc}") from None
    return parsed


def settings_from_table(
    table: Mapping[str, Any],
    *,
    rootdir: Path,
    source: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Resolve settings: pyproject values, then command-line ``overrides`` (None = unset)."""
    parsed = _parse_table(table, source or rootdir / "pyproject.toml")
    patterns = parsed.pop("budgets", ())
    baseline = Path(parsed.pop("baseline", DEFAULT_BASELINE))
    for name in ("warmup", "timer", "rounds", "max_time", "gc"):
        if parsed.get(name, 0) is None:
            parsed.pop(name)
    cli = {key: value for key, value in (overrides or {}).items() if value is not None}
    if "baseline" in cli:
        baseline = Path(cli.pop("baseline"))
    return Settings(
        rootdir=rootdir,
        baseline=baseline if baseline.is_absolute() else rootdir / baseline,
        patterns=patterns,
        source=source,
        **parsed,
        **cli,
    )
