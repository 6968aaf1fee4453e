"""The terminal summary table (plain text; the plugin writes it with pytest's reporter)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pytest_perfbudget.compare import amounts, formatter
from pytest_perfbudget.model import FRESH_NOT_CONFIRMED, Check, Outcome, Status, Summary, Verdict
from pytest_perfbudget.units import format_change

__all__ = ["ATTENTION", "REASONS_SHOWN", "counts_line", "reasons", "render_table"]

#: Statuses listed first and shown even under ``-q``.
ATTENTION = (
    Status.OVER_BUDGET,
    Status.REGRESSED,
    Status.INCONCLUSIVE,
    Status.NEW,
    Status.IMPROVED,
)
_ORDER = {status: rank for rank, status in enumerate((*ATTENTION, Status.UNCHANGED, Status.PASS))}
_HEADERS = (
    "test",
    "status",
    "stat",
    "observed",
    "budget",
    "99 % bounds",
    "n",
    "baseline",
    "change",
)


def _amount(stat: str, value: float | None) -> str:
    return "–" if value is None else formatter(stat)(value)


def _main_check(verdict: Verdict) -> Check | None:
    """The check a one-row view shows: a failing one, else an undecided one, else the first."""
    for outcome in (Outcome.FAIL, Outcome.INCONCLUSIVE):
        for check in verdict.checks:
            if check.outcome is outcome:
                return check
    return verdict.checks[0] if verdict.checks else None


def _row(verdict: Verdict, check: Check | None) -> tuple[str, ...]:
    summary = verdict.summary
    if check is not None:
        stat = check.stat
        observed, budget = amounts(stat, check.observed, check.limit)
        bounds = f"{_amount(stat, check.low)} … {_amount(stat, check.high)}"
    else:  # no budget: the median when measured; nothing when the test failed or skipped
        stat, budget, bounds = ("p50" if summary else "–"), "–", "–"
        observed = _amount(stat, summary.p50 if summary else None)
    change = verdict.change
    changed = format_change(change.ratio) if change else "–"
    if change is not None and change.stat != stat:  # the minimum, against a p95 budget say
        changed += f" ({change.stat})"
    return (
        verdict.nodeid,
        verdict.status.value.replace("_", " "),
        stat,
        observed,
        budget,
        bounds if stat != "memory" else "–",
        str(summary.n) if summary else "–",
        _amount(stat, stat_value(verdict.baseline, stat)),
        changed,
    )


def stat_value(summary: Summary | None, stat: str) -> float | None:
    """``stat`` of ``summary``; None when there is none (no summary, or ``memory``)."""
    if summary is None:
        return None
    try:
        return summary.value(stat)
    except AttributeError:
        return None


def _rows(verdicts: Sequence[Verdict], verbosity: int) -> list[tuple[str, ...]]:
    ordered = sorted(verdicts, key=lambda v: (_ORDER.get(v.status, 99), v.nodeid))
    if verbosity < 0:
        ordered = [v for v in ordered if v.status in ATTENTION]
    rows: list[tuple[str, ...]] = []
    for verdict in ordered:
        checks = verdict.checks if verbosity > 0 and verdict.checks else [_main_check(verdict)]
        rows.extend(_row(verdict, check) for check in checks)
    return rows


_BOUNDS = _HEADERS.index("99 % bounds")


def _columns(rows: Sequence[tuple[str, ...]], width: int) -> list[int]:
    """Columns to show: empty baseline/change columns go; bounds go when it is too narrow."""
    keep = [i for i in range(len(_HEADERS)) if i < 7 or any(row[i] != "–" for row in rows)]
    widths = {i: max(len(row[i]) for row in [_HEADERS, *rows]) for i in keep}
    if sum(widths.values()) + 2 * (len(keep) - 1) > width:
        keep.remove(_BOUNDS)
    return keep


def render_table(verdicts: Sequence[Verdict], *, verbosity: int = 0, width: int = 120) -> list[str]:
    """Aligned lines of the summary table. Node ids are never cut: on a narrow
    terminal the bounds column is left out, and long lines may still wrap."""
    rows = _rows(verdicts, verbosity)
    if not rows:
        return []
    keep = _columns(rows, width)
    table = [tuple(row[i] for i in keep) for row in [_HEADERS, *rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(keep))]
    lines = []
    for row in table:
        cells = [
            cell.rjust(w) if i > 1 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


#: Inconclusive tests whose reasons :func:`reasons` lists without ``-v``.
REASONS_SHOWN = 10


def reasons(verdicts: Sequence[Verdict], *, verbosity: int = 0) -> list[str]:
    """Why each ``inconclusive`` test of ``verdicts`` is, and each regression a fresh
    process did not confirm (``recheck``), one test to a line (a message of several
    lines goes on, indented): their messages, which a passing test shows nowhere else
    in the terminal. The first :data:`REASONS_SHOWN` of each under the default
    verbosity, all with ``-v``."""
    undecided = [v for v in verdicts if v.status is Status.INCONCLUSIVE and v.messages]
    cleared = [
        v
        for v in verdicts
        if v.status is not Status.INCONCLUSIVE
        and any(m.startswith(FRESH_NOT_CONFIRMED) for m in v.messages)
    ]
    return [
        *_listed("inconclusive tests:", undecided, verbosity),
        *_listed("regressions a fresh process did not confirm:", cleared, verbosity),
    ]


def _listed(title: str, verdicts: Sequence[Verdict], verbosity: int) -> list[str]:
    if not verdicts:
        return []
    ordered = sorted(verdicts, key=lambda v: v.nodeid)
    shown = ordered if verbosity > 0 else ordered[:REASONS_SHOWN]
    lines = [title]
    for verdict in shown:
        first, *rest = "; ".join(verdict.messages).splitlines()
        lines += [f"  {verdict.nodeid}: {first}", *(f"  {line}" for line in rest)]
    if len(shown) < len(ordered):
        lines.append(
            f"  and {len(ordered) - len(shown)} more (-v lists them all, "
            "--perfbudget-json=PATH writes every message)"
        )
    return lines


def counts_line(verdicts: Sequence[Verdict]) -> str:
    """``"1 over budget, 3 pass"`` in the table's order."""
    counts = Counter(v.status for v in verdicts)
    ordered = sorted(counts, key=lambda s: _ORDER.get(s, 99))
    return ", ".join(f"{counts[s]} {s.value.replace('_', ' ')}" for s in ordered)
