"""One grammar for durations, sizes, ratios and counts, in both directions.

Parsing: a bare number is milliseconds (durations), bytes (sizes) or a fraction
(ratios); a string carries its unit: ``"250us"``, ``"5 ms"``, ``"64MB"``,
``"1.5 GiB"``, ``"10%"``. Formatting turns numbers back into short, readable text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from pytest_perfbudget.errors import SpecError

__all__ = [
    "DURATION_FORMS",
    "RATIO_FORMS",
    "SIZE_FORMS",
    "counted",
    "format_change",
    "format_duration",
    "format_size",
    "named",
    "parse_duration",
    "parse_ratio",
    "parse_size",
]

_NUMBER = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_QUANTITY = re.compile(rf"^\s*(?P<number>{_NUMBER})\s*(?P<unit>[A-Za-zµμ%]*)\s*$")

_TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0}
_SIZE_UNITS = {
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
}

DURATION_FORMS = (
    "a number of milliseconds (200, 0.5) or a string with a unit: ns, us, µs, ms, s "
    "('250us', '5ms', '1.5s')"
)
SIZE_FORMS = (
    "a number of bytes (65536) or a string with a unit: B, KB, MB, GB, KiB, MiB, GiB "
    "('64MB', '1.5 GiB')"
)
RATIO_FORMS = "a percentage ('10%'), a fraction (0.1), or False for no regression gate"


def _split(text: str) -> tuple[float, str] | None:
    match = _QUANTITY.match(text)
    if match is None:
        return None
    return float(match["number"]), match["unit"]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _positive(number: float, value: object, forms: str) -> float:
    if not math.isfinite(number) or number <= 0:
        raise SpecError(f"{value!r} must be greater than zero; expected {forms}")
    return number


def parse_duration(value: object) -> float:
    """Return a duration in seconds; a bare number is milliseconds."""
    if _is_number(value):
        return _positive(float(value), value, DURATION_FORMS) * 1e-3  # type: ignore[arg-type]
    if isinstance(value, str) and (parts := _split(value)) and parts[1] in _TIME_UNITS:
        return _positive(parts[0], value, DURATION_FORMS) * _TIME_UNITS[parts[1]]
    raise SpecError(f"{value!r} is not a duration; expected {DURATION_FORMS}")


def parse_size(value: object) -> int:
    """Return a size in bytes; a bare integer is bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return int(_positive(value, value, SIZE_FORMS))
    if isinstance(value, str) and (parts := _split(value)) and parts[1] in _SIZE_UNITS:
        return math.ceil(_positive(parts[0], value, SIZE_FORMS) * _SIZE_UNITS[parts[1]])
    raise SpecError(f"{value!r} is not a size; expected {SIZE_FORMS}")


def parse_ratio(value: object) -> float | None:
    """Return an allowed slowdown as a fraction (``"10%"`` -> 0.1), or None for False."""
    if value is False:
        return None
    if _is_number(value):
        return _positive(float(value), value, RATIO_FORMS)  # type: ignore[arg-type]
    if isinstance(value, str) and (parts := _split(value)) and parts[1] == "%":
        return _positive(parts[0], value, RATIO_FORMS) / 100
    raise SpecError(f"{value!r} is not a ratio; expected {RATIO_FORMS}")


#: A value this close under a unit prints as 1.00 of it, not as 1000 of the smaller one.
_ROUNDS_UP = 0.9995


def _significant(number: float, digits: int) -> str:
    whole = 3 if number >= 100 else 2 if number >= 10 else 1
    return f"{number:.{max(0, digits - whole)}f}"


def format_duration(seconds: float, digits: int = 3) -> str:
    """Format seconds with a unit chosen so that 1 <= number < 1000, to ``digits``
    significant digits (at least the whole number): ``"231 ms"``, ``"231.4 ms"``."""
    if not math.isfinite(seconds):
        return "∞"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale * _ROUNDS_UP:
            return f"{_significant(seconds / scale, digits)} {unit}"
    return f"{_significant(seconds / 1e-9, digits)} ns"


def format_size(size: float, digits: int = 3) -> str:
    """Format bytes with a decimal unit, as budgets are usually written: ``"64.0 MB"``."""
    for unit, scale in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if abs(size) >= scale * _ROUNDS_UP:
            return f"{_significant(size / scale, digits)} {unit}"
    return f"{size:.0f} B"


def format_change(ratio: float) -> str:
    """Format a ratio of new to old as a signed percentage: 1.28 -> ``"+28 %"``."""
    percent = (ratio - 1) * 100
    if abs(percent) < 0.05:
        return "+0.0 %"
    if abs(percent) < 9.95:
        return f"{percent:+.1f} %"
    return f"{percent:+.0f} %"


def counted(count: int, noun: str) -> str:
    """``count`` and ``noun`` agreeing with it, as pytest counts: ``"1 test"``, ``"0 tests"``,
    ``"2 baseline entries"`` (a consonant and ``y`` make ``ies``; every other noun takes ``s``)."""
    if count == 1:
        return f"{count} {noun}"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return f"{count} {noun[:-1]}ies"
    return f"{count} {noun}s"


def named(names: Sequence[str], limit: int) -> str:
    """The first ``limit`` of ``names``, and how many more: ``"a, b and 3 more"``."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
