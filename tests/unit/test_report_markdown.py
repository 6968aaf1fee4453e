from __future__ import annotations

from pytest_perfbudget.model import Budget, Change, Check, Outcome, Status, Summary, Verdict
from pytest_perfbudget.report.markdown import headline, render_markdown


def summary(median: float = 0.001, **bounds: tuple[float | None, float | None]) -> Summary:
    p50 = median
    return Summary(
        n=100,
        mean=p50,
        stdev=p50 / 10,
        min=p50 * 0.9,
        p50=p50,
        p75=p50 * 1.1,
        p90=p50 * 1.2,
        p95=p50 * 1.3,
        p99=p50 * 1.5,
        p999=p50 * 1.6,
        max=p50 * 2,
        bounds=bounds,
    )


def verdict(nodeid: str, status: Status, **kwargs: object) -> Verdict:
    kwargs.setdefault("summary", summary())
    return Verdict(nodeid=nodeid, status=status, **kwargs)  # type: ignore[arg-type]


def over_budget() -> Verdict:
    return verdict(
        "tests/test_api.py::test_search",
        Status.OVER_BUDGET,
        budget=Budget(limits={"p95": 0.2}),
        summary=summary(0.18),
        checks=(Check("p95", 0.2, 0.231, 0.22, 0.24, Outcome.FAIL),),
        baseline=summary(0.14),
        change=Change("p95", 1.28, 1.21, 1.35),
    )


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| `")]


def test_headline_counts_each_status_in_severity_order() -> None:
    verdicts = [
        verdict("a", Status.PASS),
        verdict("b", Status.NEW),
        verdict("c", Status.PASS),
        verdict("d", Status.REGRESSED),
        verdict("e", Status.OVER_BUDGET),
    ]
    assert headline(verdicts) == "❌ 1 over budget · ⚠️ 1 regressed · 🆕 1 new · ✅ 2 passed"


def test_an_empty_run_says_so() -> None:
    text = render_markdown([])
    assert text == "## Performance budgets\n\nNo budgeted tests ran.\n"


def test_a_failing_check_shows_observed_bounds_budget_baseline_and_change() -> None:
    (row,) = table_rows(render_markdown([over_budget()]))
    assert row == (
        "| `tests/test_api.py::test_search` | ❌ over budget | p95 | 231 ms (99 %: 220 ms … 240 ms)"
        " | 200 ms | 182 ms | +28 % [+21 % … +35 %] |"
    )


def test_tests_needing_attention_come_first_and_the_rest_is_collapsed() -> None:
    text = render_markdown(
        [
            verdict("z_pass", Status.PASS),
            verdict("a_improved", Status.IMPROVED),
            verdict("m_regressed", Status.REGRESSED),
            verdict("b_unchanged", Status.UNCHANGED),
        ]
    )
    rows = [row.split(" | ")[0] for row in table_rows(text)]
    assert rows == ["| `m_regressed`", "| `a_improved`", "| `z_pass`", "| `b_unchanged`"]
    before, after = text.split("<details><summary>2 more tests</summary>")
    assert "m_regressed" in before
    assert "z_pass" in after
    assert "tighten their budgets, or run `perfbudget refresh`" in before


def test_only_quiet_tests_are_all_in_the_collapsed_block() -> None:
    text = render_markdown([verdict("only", Status.PASS)])
    assert "<details><summary>1 test</summary>" in text
    assert "refresh" not in text


def test_pipes_and_backticks_in_node_ids_are_escaped() -> None:
    text = render_markdown(
        [verdict("t.py::test[a|b]", Status.NEW), verdict("t.py::x[`]", Status.NEW)]
    )
    rows = table_rows(text) + [line for line in text.splitlines() if line.startswith("| ``")]
    assert rows[0].startswith("| `t.py::test[a\\|b]` | 🆕 new | p50 | 1.00 ms |")
    assert rows[1].startswith("| `` t.py::x[`] `` |")


def test_a_verdict_without_checks_shows_p50_and_names_the_change_statistic() -> None:
    v = verdict(
        "t",
        Status.REGRESSED,
        summary=summary(0.002, p50=(0.0019, 0.0021)),
        baseline=summary(0.001),
        change=Change("p10", 2.0, 1.9, 2.1, mode="paired"),
    )
    (row,) = table_rows(render_markdown([v]))
    assert row == (
        "| `t` | ⚠️ regressed | p50 | 2.00 ms (99 %: 1.90 ms … 2.10 ms) | — | 1.00 ms"
        " | +100 % [+90 % … +110 %] (p10, paired) |"
    )


def test_a_change_without_an_interval_shows_the_ratio_alone() -> None:
    v = verdict("t", Status.REGRESSED, summary=None, change=Change("min", 1.5, 1.5, 1.5))
    (row,) = table_rows(render_markdown([v]))
    assert row == "| `t` | ⚠️ regressed | min | — | — | — | +50 % |"


def test_a_change_without_a_summary_shows_its_own_statistic() -> None:
    v = verdict("t", Status.INCONCLUSIVE, summary=None, change=Change("p10", 1.1, 0.9, 1.3))
    (row,) = table_rows(render_markdown([v]))
    assert row == "| `t` | ❔ inconclusive | p10 | — | — | — | +10 % [-10 % … +30 %] |"


def test_a_change_on_another_statistic_is_named() -> None:
    v = verdict(
        "t",
        Status.UNCHANGED,
        checks=(Check("p95", 0.01, 0.0013, None, 0.0014, Outcome.PASS),),
        baseline=summary(),
        change=Change("min", 1.02, 0.99, 1.05),
    )
    (row,) = table_rows(render_markdown([v]))
    assert (
        "| p95 | 1.30 ms (99 %: — … 1.40 ms) | 10.0 ms | 1.30 ms | +2.0 % [-1.0 % … +5.0 %] (min) |"
        in row
    )


def test_memory_checks_use_sizes_and_have_no_baseline() -> None:
    v = verdict(
        "t",
        Status.OVER_BUDGET,
        checks=(
            Check("p50", 0.01, 0.001, None, None, Outcome.PASS),
            Check("memory", 1_000_000, 3_000_000, None, None, Outcome.FAIL),
        ),
        baseline=summary(),
    )
    (row,) = table_rows(render_markdown([v]))
    assert "| memory | 3.00 MB | 1.00 MB | — | — |" in row


def test_an_inconclusive_check_is_shown_before_a_passing_one() -> None:
    v = verdict(
        "t",
        Status.INCONCLUSIVE,
        checks=(
            Check("p50", 0.01, 0.001, None, None, Outcome.PASS),
            Check("p99", 0.002, 0.0019, 0.0015, None, Outcome.INCONCLUSIVE),
        ),
    )
    (row,) = table_rows(render_markdown([v]))
    assert "| p99 | 1.90 ms (99 %: 1.50 ms … —) | 2.00 ms |" in row


def test_failed_and_skipped_tests_have_empty_cells() -> None:
    text = render_markdown([verdict("t", Status.FAILED, summary=None)])
    assert "| `t` | 💥 failed | — | — | — | — | — |" in text


def test_machine_and_revision_are_named_under_the_headline() -> None:
    text = render_markdown([], title="Perf", machine="linux-x86_64", against="main")
    assert text.splitlines()[:5] == [
        "## Perf",
        "",
        "No budgeted tests ran.",
        "",
        "<sub>machine: `linux-x86_64` · compared against `main`</sub>",
    ]


def test_rendering_does_not_depend_on_input_order() -> None:
    verdicts = [over_budget(), verdict("b", Status.PASS), verdict("a", Status.PASS)]
    assert render_markdown(verdicts) == render_markdown(list(reversed(verdicts)))
