"""A Markdown summary of a run, ready to paste as a pull-request comment.

Tests that need attention come first in their own table; the rest sit in a
collapsed ``<details>`` block. The output depends only on the verdicts, so the
same run always renders the same text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from pytest_perfbudget.compare import amounts, formatter
from pytest_perfbudget.model import Check, Outcome, Status, Summary, Verdict
from pytest_perfbudget.report.terminal import ATTENTION, stat_value  # statuses, values
from pytest_perfbudget.units import format_duration

__all__ = ["ATTENTION", "LABELS", "render_markdown"]

#: Emoji and words for each status, in headline order.
LABELS: dict[Status, tuple[str, str]] = {
    Status.OVER_BUDGET: ("❌", "over budget"),
    Status.REGRESSED: ("⚠️", "regressed"),
    Status.INCONCLUSIVE: ("❔", "inconclusive"),
    Status.NEW: ("🆕", "new"),
    Status.IMPROVED: ("🚀", "improved"),
    Status.PASS: ("✅", "passed"),
    Status.UNCHANGED: ("✅", "unchanged"),
    Status.FAILED: ("💥", "failed"),
    Status.SKIPPED: ("⏭️", "skipped"),
}
_ORDER = {status: rank for rank, status in enumerate(LABELS)}
_HEADER = (
    "| test | status | statistic | observed | budget | baseline | change |",
    "|---|---|---|---|---|---|---|",
)
_NONE = "—"
_Format = Callable[[float], str]


def render_markdown(
    verdicts: Sequence[Verdict],
    *,
    title: str = "Performance budgets",
    machine: str | None = None,
    against: str | None = None,
) -> str:
    """Render ``verdicts`` as a Markdown summary ending with a newline."""
    lines = [f"## {title}", "", headline(verdicts)]
    context = _context(machine, against)
    if context:
        lines += ["", context]
    ordered = sorted(verdicts, key=lambda v: (_ORDER[v.status], v.nodeid))
    attention = [v for v in ordered if v.status in ATTENTION]
    rest = [v for v in ordered if v.status not in ATTENTION]
    if attention:
        lines += ["", *_table(attention)]
    if any(v.status is Status.IMPROVED for v in verdicts):
        lines += ["", _IMPROVED_HINT]
    if rest:
        lines += ["", *_details(rest, collapsed_only=not attention)]
    return "\n".join(lines) + "\n"


_IMPROVED_HINT = (
    "🚀 Some tests got faster: tighten their budgets, or run `perfbudget refresh` "
    "to record the new baseline."
)


def headline(verdicts: Sequence[Verdict]) -> str:
    """Counts per status: ``"❌ 1 over budget · ✅ 5 passed"``."""
    if not verdicts:
        return "No budgeted tests ran."
    counts = Counter(v.status for v in verdicts)
    parts = [
        f"{emoji} {counts[status]} {word}"
        for status, (emoji, word) in LABELS.items()
        if counts[status]
    ]
    return " · ".join(parts)


def _context(machine: str | None, against: str | None) -> str:
    parts = []
    if machine:
        parts.append(f"machine: {_code(machine)}")
    if against:
        parts.append(f"compared against {_code(against)}")
    return f"<sub>{' · '.join(parts)}</sub>" if parts else ""


def _details(verdicts: Sequence[Verdict], *, collapsed_only: bool) -> list[str]:
    noun = "test" if len(verdicts) == 1 else "tests"
    more = "" if collapsed_only else " more"
    return [
        f"<details><summary>{len(verdicts)}{more} {noun}</summary>",
        "",
        *_table(verdicts),
        "",
        "</details>",
    ]


def _table(verdicts: Sequence[Verdict]) -> list[str]:
    return [*_HEADER, *(_row(v) for v in verdicts)]


def _row(verdict: Verdict) -> str:
    emoji, word = LABELS[verdict.status]
    check = _headline_check(verdict)
    stat = check.stat if check else _headline_stat(verdict)
    cells = [
        _code(verdict.nodeid),
        f"{emoji} {word}",
        stat or _NONE,
        _observed(verdict, check, stat),
        _limit(check),
        _baseline(verdict.baseline, stat),
        _change(verdict, stat),
    ]
    return "| " + " | ".join(cells) + " |"


def _headline_check(verdict: Verdict) -> Check | None:
    """The check that explains the verdict best: a failing one, else an open one."""
    for outcome in (Outcome.FAIL, Outcome.INCONCLUSIVE, Outcome.PASS):
        for check in verdict.checks:
            if check.outcome is outcome:
                return check
    return None


def _headline_stat(verdict: Verdict) -> str | None:
    if verdict.summary is not None or verdict.change is None:
        return "p50" if verdict.summary is not None else None
    return verdict.change.stat


def _observed(verdict: Verdict, check: Check | None, stat: str | None) -> str:
    if check is not None:
        observed, _ = amounts(check.stat, check.observed, check.limit)
        return observed + _bounds(check.low, check.high, formatter(check.stat))
    value = _value(verdict.summary, stat)
    if value is None or verdict.summary is None or stat is None:
        return _NONE
    low, high = verdict.summary.bound(stat)
    return format_duration(value) + _bounds(low, high, format_duration)


def _value(summary: Summary | None, stat: str | None) -> float | None:
    """``stat`` of ``summary``, or None when missing (a summary has no p10, for one)."""
    return None if stat is None else stat_value(summary, stat)


def _bounds(low: float | None, high: float | None, fmt: _Format) -> str:
    if low is None and high is None:
        return ""
    left = _NONE if low is None else fmt(low)
    right = _NONE if high is None else fmt(high)
    return f" (99 %: {left} … {right})"


def _limit(check: Check | None) -> str:
    if check is None:
        return _NONE
    return formatter(check.stat)(check.limit)


def _baseline(baseline: Summary | None, stat: str | None) -> str:
    value = _value(baseline, stat)
    return _NONE if value is None else format_duration(value)


def _change(verdict: Verdict, stat: str | None) -> str:
    change = verdict.change
    if change is None:
        return _NONE
    text = change.text
    notes = [change.stat] if change.stat != stat else []
    if change.mode == "paired":
        notes.append("paired")
    return f"{text} ({', '.join(notes)})" if notes else text


def _code(text: str) -> str:
    """``text`` as an inline code span that is safe inside a table cell."""
    text = " ".join(text.splitlines()).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"
