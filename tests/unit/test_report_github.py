from __future__ import annotations

from pathlib import Path

from pytest_perfbudget.model import Status, Verdict
from pytest_perfbudget.report import github
from pytest_perfbudget.report.github import (
    annotation,
    append_step_summary,
    escape_data,
    escape_property,
    in_github_actions,
)


def failing(v: Verdict) -> bool:
    return v.status in {Status.OVER_BUDGET, Status.REGRESSED}


def test_an_annotation_points_at_the_test_function() -> None:
    v = Verdict(
        "tests/test_a.py::test_x",
        Status.OVER_BUDGET,
        messages=("p95 231 ms is over its 200 ms budget", "second"),
        location=("tests/test_a.py", 12),
    )
    assert annotation(v) == (
        "::error file=tests/test_a.py,line=12,title=perfbudget%3A test_x over budget"
        "::p95 231 ms is over its 200 ms budget"
    )


def test_only_failing_verdicts_are_annotated_in_order() -> None:
    verdicts = [
        Verdict("a", Status.REGRESSED, messages=("slower",)),
        Verdict("b", Status.PASS),
        Verdict("c", Status.OVER_BUDGET, messages=("over",)),
    ]
    assert github.annotations(verdicts, failing) == [
        "::error title=perfbudget%3A a regressed::slower",
        "::error title=perfbudget%3A c over budget::over",
    ]


def test_a_verdict_without_messages_names_the_test() -> None:
    assert annotation(Verdict("t.py::x", Status.REGRESSED)) == (
        "::error title=perfbudget%3A x regressed::t.py::x: regressed"
    )


def test_messages_and_properties_are_escaped() -> None:
    v = Verdict(
        "t",
        Status.OVER_BUDGET,
        messages=("100% over\r\nsecond line: a, b",),
        location=("dir,1/a:b%.py", 3),
    )
    assert annotation(v) == (
        "::error file=dir%2C1/a%3Ab%25.py,line=3,title=perfbudget%3A t over budget"
        "::100%25 over%0D%0Asecond line: a, b"
    )


def test_the_title_names_the_test_without_its_file() -> None:
    line = annotation(Verdict("t.py::TestA::test_b[x, y]", Status.REGRESSED, messages=("m",)))
    assert line == "::error title=perfbudget%3A TestA%3A%3Atest_b[x%2C y] regressed::m"


def test_the_file_is_given_relative_to_the_github_workspace(tmp_path: Path) -> None:
    root = tmp_path / "repo" / "python"
    v = Verdict("tests/t.py::x", Status.REGRESSED, messages=("m",), location=("tests/t.py", 4))

    def file_of(root: Path | None, workspace: str | None) -> str:
        env = {} if workspace is None else {"GITHUB_WORKSPACE": workspace}
        return annotation(v, root, env).split(",")[0]

    assert file_of(root, str(tmp_path / "repo")) == "::error file=python/tests/t.py"
    assert file_of(root, str(root)) == "::error file=tests/t.py"
    assert file_of(root, str(tmp_path / "elsewhere")) == "::error file=tests/t.py"
    assert file_of(root, None) == "::error file=tests/t.py"
    assert file_of(None, str(tmp_path)) == "::error file=tests/t.py"


def test_escaping_rules() -> None:
    assert escape_data("a%b\r\nc:d,e") == "a%25b%0D%0Ac:d,e"
    assert escape_property("a%b\r\nc:d,e") == "a%25b%0D%0Ac%3Ad%2Ce"


def test_step_summary_is_appended_with_a_trailing_newline(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    target.write_text("earlier\n", encoding="utf-8")
    env = {"GITHUB_STEP_SUMMARY": str(target)}
    assert append_step_summary("## One", env) == target
    assert append_step_summary("## Two\n", env) == target
    assert target.read_text(encoding="utf-8") == "earlier\n## One\n## Two\n"


def test_step_summary_is_skipped_outside_github() -> None:
    assert append_step_summary("## x", {}) is None
    assert append_step_summary("## x", {"GITHUB_STEP_SUMMARY": ""}) is None


def test_github_actions_is_detected_from_the_environment() -> None:
    assert in_github_actions({"GITHUB_ACTIONS": "true"})
    assert not in_github_actions({"GITHUB_ACTIONS": "false"})
    assert not in_github_actions({})
