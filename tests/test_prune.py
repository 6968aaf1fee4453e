"""Entries of tests that no longer exist: counted by a save, dropped with --perfbudget-prune."""

from __future__ import annotations

import json

import pytest

# No regression gate: a save never fails on one, and these runs only save.
TEST = """
@pytest.mark.budget(p95="200ms", regression=False)
def test_{name}():
    pass
"""


def _tests(pytester: pytest.Pytester, module: str, *names: str) -> None:
    pytester.makepyfile(**{module: "import pytest\n" + "".join(TEST.format(name=n) for n in names)})


def _saved(pytester: pytest.Pytester) -> list[str]:
    path = pytester.path / ".perfbudget" / "baseline.json"
    return sorted(json.loads(path.read_text(encoding="utf-8"))["tests"])


@pytest.fixture
def saved(project: pytest.Pytester) -> pytest.Pytester:
    """Five saved entries in three files; then one test and one file removed."""
    _tests(project, "test_a", "kept", "gone")
    _tests(project, "test_b", "b")
    _tests(project, "test_c", "c1", "c2")
    project.runpytest("--perfbudget-save").assert_outcomes(passed=5)
    _tests(project, "test_a", "kept")
    (project.path / "test_b.py").unlink()
    return project


ALL = [
    "test_a.py::test_gone",
    "test_a.py::test_kept",
    "test_b.py::test_b",
    "test_c.py::test_c1",
    "test_c.py::test_c2",
]


def test_a_save_keeps_the_entries_of_removed_tests_and_counts_them(
    saved: pytest.Pytester,
) -> None:
    result = saved.runpytest("--perfbudget-save")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*2 baseline entries belong to tests that no longer exist (not collected from a "
            "test file this run collected, or whose file is gone: test_a.py::test_gone, "
            "test_b.py::test_b); --perfbudget-prune drops them*"
        ]
    )
    assert _saved(saved) == ALL


def test_prune_drops_the_entries_of_removed_tests_and_files(saved: pytest.Pytester) -> None:
    result = saved.runpytest("--perfbudget-save", "--perfbudget-prune")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*saved 3 baseline entries to .perfbudget/baseline.json*",
            "*dropped 2 baseline entries of tests that no longer exist: test_a.py::test_gone, "
            "test_b.py::test_b*",
        ]
    )
    result.stdout.no_fnmatch_line("*belong to tests that no longer exist*")
    assert _saved(saved) == ["test_a.py::test_kept", "test_c.py::test_c1", "test_c.py::test_c2"]


@pytest.mark.parametrize(
    "selection",
    [
        pytest.param(["test_a.py"], id="another file not collected"),
        pytest.param(["-k", "kept or c1"], id="deselected"),
        pytest.param(["test_a.py::test_kept", "test_c.py::test_c1"], id="node ids"),
    ],
)
def test_prune_keeps_the_entries_of_tests_the_run_did_not_select(
    saved: pytest.Pytester, selection: list[str]
) -> None:
    saved.runpytest("--perfbudget-save", "--perfbudget-prune", *selection)
    kept = set(_saved(saved))
    assert "test_b.py::test_b" not in kept  # its file is gone
    assert {"test_a.py::test_kept", "test_c.py::test_c1", "test_c.py::test_c2"} <= kept


def test_prune_drops_a_removed_test_of_a_file_named_by_a_path(saved: pytest.Pytester) -> None:
    saved.runpytest("--perfbudget-save", "--perfbudget-prune", "test_a.py")
    assert _saved(saved) == ["test_a.py::test_kept", "test_c.py::test_c1", "test_c.py::test_c2"]


def test_prune_without_anything_to_save_still_drops(saved: pytest.Pytester) -> None:
    result = saved.runpytest("--perfbudget-save", "--perfbudget-prune", "-k", "nothing")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(["*dropped 2 baseline entries of tests that no longer exist*"])
    assert len(_saved(saved)) == 3


def test_prune_under_xdist_keeps_what_workers_deselected(saved: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    result = saved.runpytest_subprocess(
        "-n", "2", "--perfbudget-save", "--perfbudget-prune", "-k", "not c2"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*dropped 2 baseline entries of tests that no longer exist*"])
    assert _saved(saved) == ["test_a.py::test_kept", "test_c.py::test_c1", "test_c.py::test_c2"]


def test_prune_without_save_is_a_usage_error(project: pytest.Pytester) -> None:
    _tests(project, "test_a", "a")
    result = project.runpytest("--perfbudget-prune")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--perfbudget-prune drops baseline entries when a run saves: use it with "
         "--perfbudget-save (or perfbudget refresh --perfbudget-prune)*"]
    )  # fmt: skip


def test_prune_drops_nothing_when_it_would_drop_every_entry(saved: pytest.Pytester) -> None:
    """A run from another rootdir: no entry's node id names a test it can find."""
    other = saved.mkdir("other")
    (other / "test_d.py").write_text("import pytest\n" + TEST.format(name="d"), encoding="utf-8")
    baseline = saved.path / ".perfbudget" / "baseline.json"
    result = saved.runpytest(
        "--rootdir=other",
        "other",
        f"--perfbudget-baseline={baseline}",
        "--perfbudget-save",
        "--perfbudget-prune",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*--perfbudget-prune dropped nothing: it would drop every entry of the baseline "
            "(5), as it does when the run's rootdir (*other) is not the one the baseline was "
            "saved from (node ids are relative to it); to start the baseline afresh, delete "
            "the file*"
        ]
    )
    result.stdout.no_fnmatch_line("*dropped 5*")
    assert _saved(saved) == sorted([*ALL, "test_d.py::test_d"])
