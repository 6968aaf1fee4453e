"""Budgets from marker arguments and pyproject patterns (pure: no pytest here)."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from typing import Any

from pytest_perfbudget.errors import SpecError
from pytest_perfbudget.model import ALIASES, STATISTICS, Budget
from pytest_perfbudget.units import parse_duration, parse_ratio, parse_size

__all__ = [
    "KNOBS",
    "VALID_KEYS",
    "budget_from_kwargs",
    "budget_from_marker",
    "match",
    "merge",
    "parse_knob",
]

TIMERS = ("wall", "cpu")
KNOBS = ("memory", "regression", "rounds", "max_time", "warmup", "timer", "gc")
VALID_KEYS: tuple[str, ...] = (*STATISTICS, *ALIASES, *KNOBS)

_VALID_FORMS = {
    "rounds": "a whole number of samples of at least 1 (e.g. 100)",
    "timer": "'wall' or 'cpu'",
    "gc": "True or False",
    "warmup": "True, False, 0, or a duration such as '50ms'",
}


def _rounds(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise SpecError(f"{value!r} is not valid; expected {_VALID_FORMS['rounds']}")


def _timer(value: object) -> str:
    if value in TIMERS:
        return str(value)
    raise SpecError(f"{value!r} is not valid; expected {_VALID_FORMS['timer']}")


def _gc(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise SpecError(f"{value!r} is not valid; expected {_VALID_FORMS['gc']}")


def _warmup(value: object) -> float | None:
    if value is True:
        return None
    if value is False or (type(value) in (int, float) and value == 0):
        return 0.0
    try:
        return parse_duration(value)
    except SpecError:
        raise SpecError(f"{value!r} is not valid; expected {_VALID_FORMS['warmup']}") from None


def _regression(value: object) -> float | bool:
    ratio = parse_ratio(value)
    return False if ratio is None else ratio


_KNOB_PARSERS = {
    "memory": parse_size,
    "regression": _regression,
    "rounds": _rounds,
    "max_time": parse_duration,
    "warmup": _warmup,
    "timer": _timer,
    "gc": _gc,
}


def parse_knob(key: str, value: object) -> Any:
    """Parse one measurement knob (a name of :data:`KNOBS`)."""
    return _KNOB_PARSERS[key](value)


def _parse_key(key: str, value: object) -> tuple[str, Any]:
    if key in KNOBS:
        return key, parse_knob(key, value)
    return ALIASES.get(key, key), parse_duration(value)


def _check_unique(name: str, kwargs: Mapping[str, object]) -> None:
    """``median`` is ``p50``: a budget may not give both."""
    same = [k for k in kwargs if ALIASES.get(k, k) == name]
    if len(same) > 1:
        alias = next(k for k in same if k in ALIASES)
        stat = next(k for k in same if k not in ALIASES)
        raise SpecError(
            f"{alias}={kwargs[alias]!r} and {stat}={kwargs[stat]!r} budget the same statistic "
            f"({alias} is {stat}); give only one of them"
        )


def budget_from_kwargs(kwargs: Mapping[str, object], *, source: str = "marker") -> Budget:
    """Validate budget keys and values; errors name the key, the value and valid forms."""
    limits: dict[str, float] = {}
    knobs: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key not in VALID_KEYS:
            raise SpecError(
                f"unknown key {key!r} (value {value!r}); valid keys are {', '.join(VALID_KEYS)}"
            )
        try:
            name, parsed = _parse_key(key, value)
        except SpecError as exc:
            raise SpecError(f"{key}={exc}") from None
        if name in STATISTICS:
            _check_unique(name, kwargs)
            limits[name] = parsed
        elif parsed is not None:
            knobs[name] = parsed
    return Budget(limits=limits, source=source, **knobs)


def budget_from_marker(args: Sequence[object], kwargs: Mapping[str, object]) -> Budget:
    """The budget of one ``@pytest.mark.budget(...)``; positional arguments are rejected."""
    if args:
        raise SpecError(
            f"positional arguments are not accepted (got {', '.join(map(repr, args))}); "
            "name the statistic, e.g. budget(p95=200) or budget(p50='2ms')"
        )
    return budget_from_kwargs(kwargs)


def merge(budgets: Sequence[Budget]) -> Budget | None:
    """Combine budgets key by key; a later budget overrides an earlier one."""
    if not budgets:
        return None
    merged = budgets[0]
    for budget in budgets[1:]:
        overrides = {
            f.name: getattr(budget, f.name)
            for f in fields(Budget)
            if f.name not in ("limits", "source") and getattr(budget, f.name) is not None
        }
        limits = {**merged.limits, **budget.limits}
        merged = replace(merged, limits=limits, source=budget.source, **overrides)
    return merged


def match(nodeid: str, patterns: Sequence[tuple[str, Budget | None]]) -> Budget | None:
    """Every pattern whose glob matches ``nodeid``, merged in file order; a pattern
    set to ``false`` (None here) drops what the patterns before it gave.

    A pattern equal to the node id always matches it: the brackets of a parametrized
    id (``test_x[big]``) would otherwise be read as a character class.
    """
    matched: list[Budget] = []
    for glob, budget in patterns:
        if glob == nodeid or fnmatch.fnmatchcase(nodeid, glob):
            if budget is None:
                matched.clear()
            else:
                matched.append(budget)
    return merge(matched)
