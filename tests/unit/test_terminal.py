"""The terminal summary table and the counts line."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pytest_perfbudget.model import (
    FRESH_NOT_CONFIRMED,
    Budget,
    Change,
    Check,
    Outcome,
    Status,
    Summary,
    Verdict,
)
from pytest_perfbudget.report.terminal import (
    ATTENTION,
    REASONS_SHOWN,
    counts_line,
    reasons,
    render_table,
)

MS = 1e-3


def _summary(p50: float = 1 * MS, n: int = 40) -> Summary:
    values = dict.fromkeys(("mean", "min", "p75", "p90", "p95", "p99", "p999", "max"), p50)
    return Summary(n=n, stdev=0.0, p50=p50, **values)


def _check(stat: str = "p95", outcome: Outcome = Outcome.PASS, observed: float = 1 * MS) -> Check:
    return Check(stat, 2 * MS, observed, 0.9 * observed, 1.1 * observed, outcome)


def _verdict(name: str, status: Status = Status.PASS, *checks: Check, **kwargs: object) -> Verdict:
    fields: dict[str, object] = {"summary": _summary(), "checks": checks or (_check(),)}
    fields.update(kwargs)
    return Verdict(f"tests/test_x.py::{name}", status, Budget(), **fields)  # type: ignore[arg-type]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("  ") if cell.strip()]


def _names(lines: list[str]) -> list[str]:
    return [line.split()[0].split("::")[1] for line in lines[1:]]


# -- rows and columns -----------------------------------------------------------------


def test_no_verdicts_give_no_table() -> None:
    assert render_table([]) == []


def test_the_table_has_a_header_and_one_row_per_test() -> None:
    lines = render_table([_verdict("test_a")])
    assert _cells(lines[0]) == ["test", "status", "stat", "observed", "budget", "99 % bounds", "n"]
    assert _cells(lines[1]) == [
        "tests/test_x.py::test_a",
        "pass",
        "p95",
        "1.00 ms",
        "2.00 ms",
        "900 µs … 1.10 ms",
        "40",
    ]


def test_baseline_and_change_columns_appear_when_a_test_has_them() -> None:
    verdict = _verdict(
        "test_a",
        Status.REGRESSED,
        baseline=_summary(0.8 * MS),
        change=Change("p95", 1.25, 1.2, 1.3),
    )
    lines = render_table([verdict, _verdict("test_b")])
    assert _cells(lines[0])[-2:] == ["baseline", "change"]
    assert _cells(lines[1])[-2:] == ["800 µs", "+25 %"]
    assert _cells(lines[2])[-2:] == ["–", "–"]


def test_the_baseline_is_of_the_rows_statistic_and_another_changes_is_named() -> None:
    baseline = replace(_summary(0.8 * MS), p95=1.5 * MS)
    verdict = _verdict(
        "test_a", Status.IMPROVED, baseline=baseline, change=Change("min", 0.42, 0.42, 0.42)
    )
    assert _cells(render_table([verdict])[1])[-2:] == ["1.50 ms", "-58 % (min)"]


def test_columns_line_up() -> None:
    lines = render_table([_verdict("test_a"), _verdict("test_long_name_here")])
    starts = {line.index(" p95") for line in lines[1:]}
    assert len(starts) == 1
    assert lines[0].index("stat") < lines[1].index("p95") + len("p95")


def test_numbers_are_right_aligned() -> None:
    checks_a = (_check(observed=1 * MS),)
    checks_b = (_check(observed=100 * MS, outcome=Outcome.FAIL),)
    lines = render_table(
        [
            _verdict("test_a", Status.PASS, *checks_a),
            _verdict("test_b", Status.OVER_BUDGET, *checks_b),
        ]
    )
    ends = {line.index(" ms", line.index("p95")) for line in lines[1:]}
    assert len(ends) == 1


def test_a_memory_row_shows_bytes_and_no_bounds() -> None:
    check = Check("memory", 1e6, 3e6, 3e6, 3e6, Outcome.FAIL)
    lines = render_table([_verdict("test_m", Status.OVER_BUDGET, check)])
    assert _cells(lines[1])[1:6] == [
        "over budget",
        "memory",
        "3.00 MB",
        "1.00 MB",
        "–",
    ]


def test_a_test_without_a_budget_shows_its_median() -> None:
    lines = render_table([_verdict("test_p", checks=(), summary=_summary(3 * MS))])
    assert _cells(lines[1])[1:5] == ["pass", "p50", "3.00 ms", "–"]


def test_a_failed_test_shows_no_statistic() -> None:
    lines = render_table([_verdict("test_f", Status.FAILED, checks=(), summary=None)])
    assert _cells(lines[1])[1:] == ["failed", "–", "–", "–", "–", "–"]


# -- order and verbosity ----------------------------------------------------------------


def test_tests_needing_attention_come_first_then_by_node_id() -> None:
    verdicts = [
        _verdict("test_c"),
        _verdict("test_b", Status.NEW),
        _verdict("test_a"),
        _verdict("test_z", Status.OVER_BUDGET, _check(outcome=Outcome.FAIL)),
        _verdict("test_u", Status.UNCHANGED),
        _verdict("test_i", Status.INCONCLUSIVE, _check(outcome=Outcome.INCONCLUSIVE)),
    ]
    assert _names(render_table(verdicts)) == [
        "test_z",
        "test_i",
        "test_b",
        "test_u",
        "test_a",
        "test_c",
    ]


def test_quiet_shows_only_tests_needing_attention() -> None:
    verdicts = [
        _verdict("test_a"),
        _verdict("test_b", Status.IMPROVED),
        _verdict("test_c", Status.FAILED),
    ]
    assert _names(render_table(verdicts, verbosity=-1)) == ["test_b"]


def test_quiet_shows_nothing_when_nothing_needs_attention() -> None:
    assert (
        render_table([_verdict("test_a"), _verdict("test_b", Status.UNCHANGED)], verbosity=-1) == []
    )


@pytest.mark.parametrize("status", ATTENTION)
def test_every_attention_status_is_shown_when_quiet(status: Status) -> None:
    assert _names(render_table([_verdict("test_a", status)], verbosity=-1)) == ["test_a"]


def test_a_value_just_over_its_budget_is_shown_apart_from_it() -> None:
    check = Check("p95", 2 * MS, 2.0004 * MS, None, None, Outcome.FAIL)
    lines = render_table([_verdict("test_a", Status.OVER_BUDGET, check)])
    assert _cells(lines[1])[3:5] == ["2.0004 ms", "2.00 ms"]


def test_the_default_row_shows_the_failing_check() -> None:
    checks = (_check("p50"), _check("p95", Outcome.INCONCLUSIVE), _check("p99", Outcome.FAIL))
    lines = render_table([_verdict("test_a", Status.OVER_BUDGET, *checks)])
    assert len(lines) == 2
    assert _cells(lines[1])[2] == "p99"


def test_the_default_row_shows_an_undecided_check_when_none_failed() -> None:
    checks = (_check("p50"), _check("p95", Outcome.INCONCLUSIVE))
    lines = render_table([_verdict("test_a", Status.INCONCLUSIVE, *checks)])
    assert _cells(lines[1])[2] == "p95"


def test_the_default_row_shows_the_first_check_when_all_passed() -> None:
    lines = render_table([_verdict("test_a", Status.PASS, _check("p99"), _check("p50"))])
    assert _cells(lines[1])[2] == "p99"


def test_verbose_shows_one_row_per_check() -> None:
    checks = (_check("p50"), _check("p95"), Check("memory", 1e6, 1e5, 1e5, 1e5, Outcome.PASS))
    lines = render_table([_verdict("test_a", Status.PASS, *checks)], verbosity=1)
    assert [_cells(line)[2] for line in lines[1:]] == ["p50", "p95", "memory"]


# -- width --------------------------------------------------------------------------------


def test_a_narrow_terminal_drops_the_bounds_column_but_never_cuts_node_ids() -> None:
    name = "test_" + "x" * 60
    lines = render_table([_verdict(name)], width=80)
    assert "99 % bounds" not in lines[0]
    assert f"tests/test_x.py::{name}" in lines[1]
    assert "…" not in lines[1]


def test_a_wide_terminal_keeps_the_bounds_column() -> None:
    lines = render_table([_verdict("test_" + "x" * 60)], width=200)
    assert "99 % bounds" in lines[0]


def test_lines_have_no_trailing_spaces() -> None:
    lines = render_table([_verdict("test_a"), _verdict("test_bb", checks=(), summary=None)])
    assert all(line == line.rstrip() for line in lines)


# -- counts line ----------------------------------------------------------------------------


def test_the_counts_line_follows_the_tables_order() -> None:
    verdicts = [
        _verdict("a"),
        _verdict("b", Status.OVER_BUDGET),
        _verdict("c"),
        _verdict("d", Status.INCONCLUSIVE),
        _verdict("e", Status.UNCHANGED),
    ]
    assert counts_line(verdicts) == "1 over budget, 1 inconclusive, 1 unchanged, 2 pass"


def test_failed_and_skipped_tests_are_counted_last() -> None:
    verdicts = [_verdict("a", Status.FAILED), _verdict("b"), _verdict("c", Status.SKIPPED)]
    assert counts_line(verdicts).startswith("1 pass, ")
    assert set(counts_line(verdicts).split(", ")[1:]) == {"1 failed", "1 skipped"}


def test_no_verdicts_give_an_empty_counts_line() -> None:
    assert counts_line([]) == ""


# -- why tests are inconclusive ----------------------------------------------------------


def test_each_inconclusive_test_s_messages_are_listed_under_the_table() -> None:
    verdicts = [
        _verdict("b", Status.INCONCLUSIVE, messages=("min cannot be told apart", "not confirmed")),
        _verdict("a", Status.INCONCLUSIVE, messages=("head worker:\n    Error: no",)),
        _verdict("c", Status.REGRESSED, messages=("slower",)),
        _verdict("d", Status.INCONCLUSIVE),  # no message: nothing to say
    ]
    assert reasons(verdicts) == [
        "inconclusive tests:",
        "  tests/test_x.py::a: head worker:",
        "      Error: no",
        "  tests/test_x.py::b: min cannot be told apart; not confirmed",
    ]
    assert reasons(verdicts[2:]) == []


def test_only_the_first_inconclusive_tests_are_listed_without_verbose() -> None:
    verdicts = [
        _verdict(f"t{i:02d}", Status.INCONCLUSIVE, messages=("noisy",))
        for i in range(REASONS_SHOWN + 3)
    ]
    lines = reasons(verdicts)
    assert len(lines) == 1 + REASONS_SHOWN + 1
    assert lines[-1] == (
        "  and 3 more (-v lists them all, --perfbudget-json=PATH writes every message)"
    )
    assert len(reasons(verdicts, verbosity=1)) == 1 + REASONS_SHOWN + 3


def test_regressions_a_fresh_process_did_not_confirm_are_listed_after_the_inconclusive() -> None:
    cleared = f"{FRESH_NOT_CONFIRMED}: this process read min +40 %, a fresh one min +2.0 %"
    verdicts = [
        _verdict("b", Status.UNCHANGED, messages=("min matches its baseline", cleared)),
        _verdict("a", Status.INCONCLUSIVE, messages=("noisy",)),
        _verdict("c", Status.UNCHANGED, messages=("min matches its baseline",)),
    ]
    assert reasons(verdicts) == [
        "inconclusive tests:",
        "  tests/test_x.py::a: noisy",
        "regressions a fresh process did not confirm:",
        f"  tests/test_x.py::b: min matches its baseline; {cleared}",
    ]
