from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_perfbudget import baseline
from pytest_perfbudget.cli import main
from pytest_perfbudget.envvars import REFRESH_ONLY_ENV
from pytest_perfbudget.model import Budget, Measurement, Status, Verdict
from pytest_perfbudget.regression import learned_slowdown
from pytest_perfbudget.report.json import build_report, write_report
from pytest_perfbudget.stats import summarize

DATA = Path(__file__).parent / "data"
WITH_DATA = DATA / "pytest_benchmark_saved_with_data.json"
WITHOUT_DATA = DATA / "pytest_benchmark_saved_without_data.json"
MACHINE = {"cpu": "Test CPU", "cores": 4, "python_version": "3.11.7", "os": "Linux"}
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def measured(
    nodeid: str, ms: float, *, n: int = 200, status: Status = Status.PASS, **kwargs: Any
) -> Verdict:
    """A verdict whose samples are ``ms`` milliseconds apart by up to 1 %."""
    sample_ns = tuple(round(ms * 1e6 * (1 + (i % 10) / 1000)) for i in range(n))
    meas = Measurement(sample_ns=sample_ns)
    return Verdict(nodeid, status, summary=summarize(meas.seconds), measurement=meas, **kwargs)


def save_baseline(
    path: Path,
    verdicts: Sequence[Verdict],
    commit: str | None = None,
    machine: dict[str, Any] | None = None,
) -> Path:
    entries = [baseline.entry_from_verdict(v, None, machine="abc", commit=commit) for v in verdicts]
    fingerprint = MACHINE if machine is None else machine
    baseline.save(path, entries, machine=fingerprint, generator="pytest-perfbudget 0.1.0")
    return path


def save_report(path: Path, verdicts: Sequence[Verdict]) -> Path:
    doc = build_report(
        verdicts, machine=MACHINE, settings={}, generator="pytest-perfbudget 0.1.0", duration=1.0
    )
    write_report(path, doc)
    return path


@pytest.mark.parametrize("command", ["refresh", "compare", "show", "merge", "import-benchmark"])
def test_help_shows_percent_signs_once(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "%%" not in out
    if command == "refresh":
        assert "moved by 5 % or more" in " ".join(out.split())


def test_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == "pytest-perfbudget 0.1.0"


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "required: COMMAND" in capsys.readouterr().err


def test_unknown_arguments_are_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["show", str(tmp_path / "b.json"), "--bogus"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_python_dash_m_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_perfbudget", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "pytest-perfbudget 0.1.0")


# -- show ---------------------------------------------------------------------------


def test_show_prints_the_baseline_as_an_aligned_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = save_baseline(
        tmp_path / "b.json",
        [
            measured(
                "tests/test_b.py::test_slow", 12.0, budget=Budget({"p95": 0.02}, memory=2**26)
            ),
            measured("tests/test_a.py::test_fast", 0.5),
        ],
        commit=COMMIT,
    )
    assert main(["show", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"{path}: 2 tests · pytest-perfbudget 0.1.0 · Test CPU · 4 cores · Python 3.11.7 · Linux"
    )
    assert lines[1].split() == [
        "test",
        "timer",
        "n",
        "min",
        "p50",
        "p95",
        "budget",
        "runs",
        "learned",
        "commit",
    ]
    assert lines[3].split("  ")[0] == "tests/test_a.py::test_fast"
    assert lines[4].startswith(
        "tests/test_b.py::test_slow  wall   200  12.0 ms  12.1 ms  12.1 ms  "
    )
    assert lines[4].endswith("memory 67.1 MB, p95 20.0 ms  1     —        0123456789")
    assert lines[3].index("wall") == lines[4].index("wall")


def test_show_into_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    # More lines than a pipe holds, so the writer meets the closed pipe (`| head -1`).
    verdicts = [measured(f"tests/test_a.py::test_{i:04d}", 0.5, n=20) for i in range(1500)]
    path = save_baseline(tmp_path / "b.json", verdicts)
    command = [sys.executable, "-m", "pytest_perfbudget", "show", str(path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        assert proc.stdout.readline().startswith(str(path).encode())
        proc.stdout.close()
        assert proc.stderr.read() == b""
    assert proc.returncode == 0


def test_show_reads_the_baseline_named_in_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.perfbudget]\nbaseline = "perf/base.json"\n')
    save_baseline(tmp_path / "perf" / "base.json", [measured("t.py::x", 1.0)])
    assert main(["show"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("perf/base.json: 1 test")
    assert "t.py::x  wall   200  1.00 ms" in out


def test_show_defaults_to_the_standard_baseline_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.other]\nx = 1\n")
    save_baseline(
        tmp_path / ".perfbudget" / "baseline.json", [measured("t.py::x", 1.0)], machine={}
    )
    assert main(["show"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == ".perfbudget/baseline.json: 1 test · pytest-perfbudget 0.1.0"


def test_show_of_a_missing_baseline_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["show"]) == 2
    assert capsys.readouterr().err == "perfbudget: error: .perfbudget/baseline.json: no such file\n"


def test_a_truncated_baseline_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = save_baseline(tmp_path / "b.json", [measured("t.py::x", 1.0)])
    path.write_text(path.read_text()[:100])
    assert main(["show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"perfbudget: error: {path}: truncated")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("pyproject", "message"),
    [
        ("[tool.perfbudget\n", "pyproject.toml: not valid TOML"),
        ("[tool.perfbudget]\nbaseline = 3\n", "[tool.perfbudget] baseline = 3 is not valid"),
    ],
)
def test_a_bad_pyproject_is_an_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    pyproject: str,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(pyproject)
    assert main(["show"]) == 2
    assert message in capsys.readouterr().err


# -- compare ------------------------------------------------------------------------


def test_compare_of_baselines_exits_1_on_a_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = save_baseline(
        tmp_path / "base.json",
        [measured("t.py::same", 1.0), measured("t.py::slower", 1.0), measured("t.py::gone", 1.0)],
    )
    head = save_baseline(
        tmp_path / "head.json",
        [measured("t.py::same", 1.0), measured("t.py::slower", 1.5), measured("t.py::added", 1.0)],
    )
    assert main(["compare", str(base), str(head)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines[2:6]] == [
        ["t.py::added", "new"],
        ["t.py::same", "unchanged"],
        ["t.py::slower", "regressed"],
        ["t.py::gone", "removed"],
    ]
    assert lines[4].endswith("  +50 % (min)")
    assert lines[-1] == "perfbudget: 3 compared, 1 regressed, 1 removed"


def test_compare_exits_0_when_nothing_regressed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = save_baseline(tmp_path / "base.json", [measured("t.py::x", 2.0)])
    head = save_baseline(tmp_path / "head.json", [measured("t.py::x", 1.0)])
    assert main(["compare", str(base), str(head)]) == 0
    assert "t.py::x  improved" in capsys.readouterr().out


def test_compare_threshold_is_configurable(tmp_path: Path) -> None:
    base = save_baseline(tmp_path / "base.json", [measured("t.py::x", 1.0)])
    head = save_baseline(tmp_path / "head.json", [measured("t.py::x", 1.2)])
    md = tmp_path / "c.md"
    assert main(["compare", str(base), str(head), "--markdown", str(md)]) == 1
    assert "removed" not in md.read_text(encoding="utf-8")
    assert main(["compare", str(base), str(head), "--threshold", "25%"]) == 0


def test_a_bad_threshold_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["compare", "a.json", "b.json", "--threshold", "ten"])
    assert exc.value.code == 2
    assert "argument --threshold: 'ten' is not a ratio" in capsys.readouterr().err


def test_compare_writes_markdown_and_json(tmp_path: Path) -> None:
    base = save_baseline(tmp_path / "base.json", [measured("t.py::x", 1.0), measured("t.py::y", 1)])
    head = save_baseline(tmp_path / "head.json", [measured("t.py::x", 1.5)])
    md, js = tmp_path / "out" / "c.md", tmp_path / "out" / "c.json"
    assert main(["compare", str(base), str(head), "--markdown", str(md), "--json", str(js)]) == 1
    text = md.read_text(encoding="utf-8")
    assert "⚠️ 1 regressed" in text
    assert f"compared against `{base}`" in text
    assert text.endswith("\nOnly in the base (removed): `t.py::y`\n")
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert doc["schema_version"] == 1
    assert doc["generator"] == "pytest-perfbudget 0.1.0"
    assert doc["threshold"] == 0.1
    assert [(t["nodeid"], t["status"]) for t in doc["tests"]] == [
        ("t.py::x", "regressed"),
        ("t.py::y", "removed"),
    ]
    change = doc["tests"][0]["change"]
    assert (change["stat"], change["threshold"]) == ("min", 0.1)
    assert change["ratio"] == pytest.approx(1.5)
    assert doc["tests"][1]["change"] is None


def test_compare_reads_run_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unmeasured = Verdict("t.py::z", Status.PASS, summary=summarize([0.001, 0.002]))
    base = save_report(tmp_path / "base.json", [measured("t.py::x", 1.0), unmeasured])
    head = save_report(tmp_path / "head.json", [measured("t.py::x", 1.0), unmeasured])
    assert main(["compare", str(base), str(head)]) == 0
    out = capsys.readouterr().out
    assert "t.py::x  unchanged" in out
    assert "t.py::z  inconclusive  1.50 ms   1.50 ms   —" in out


def test_compare_of_a_report_with_a_baseline(tmp_path: Path) -> None:
    base = save_baseline(tmp_path / "base.json", [measured("t.py::x", 1.0)])
    head = save_report(tmp_path / "head.json", [measured("t.py::x", 2.0)])
    assert main(["compare", str(base), str(head)]) == 1


@pytest.mark.parametrize(
    ("head", "why"),
    [
        (
            {"mode": "body"},
            "not compared: the base holds perf(fn)'s samples, the head the timed test body",
        ),
        (
            {"timer": "cpu"},
            "not compared: the base was timed with the wall clock, the head with the cpu clock",
        ),
    ],
    ids=["mode", "clock"],
)
def test_compare_does_not_compare_samples_taken_another_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], head: dict[str, str], why: str
) -> None:
    # as a pytest run does not compare them with a baseline entry: a serial report of
    # pytest-benchmark's samples against one of its function served under -n read
    # +257 … +2,074 % on asgiref's benchmarks
    base = save_baseline(tmp_path / "base.json", [measured("t.py::x", 1.0)])
    slower = measured("t.py::x", 3.0)
    other = dataclasses.replace(slower.measurement, **head)  # type: ignore[type-var]
    report = save_report(tmp_path / "head.json", [dataclasses.replace(slower, measurement=other)])
    js = tmp_path / "c.json"
    assert main(["compare", str(base), str(report), "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "t.py::x  new " in out
    assert f"t.py::x: {why}" in out
    (test,) = json.loads(js.read_text(encoding="utf-8"))["tests"]
    assert (test["status"], test["change"], test["messages"]) == ("new", None, [why])


def test_compare_of_an_unreadable_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = save_baseline(tmp_path / "base.json", [measured("t.py::x", 1.0)])
    assert main(["compare", str(base), str(WITH_DATA)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"perfbudget: error: {WITH_DATA}: missing 'schema_version'")
    assert "perfbudget import-benchmark" in err


# -- merge --------------------------------------------------------------------------


def test_merge_writes_one_baseline_from_shards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = save_baseline(tmp_path / "one.json", [measured("t.py::a", 1.0), measured("t.py::b", 1)])
    two = save_baseline(tmp_path / "two.json", [measured("t.py::b", 1), measured("t.py::c", 2)])
    out = tmp_path / "merged" / "baseline.json"
    assert main(["merge", str(one), str(two), "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"perfbudget: merged 2 files into {out} (3 tests)\n"
    merged = baseline.load(out)
    assert sorted(merged.entries) == ["t.py::a", "t.py::b", "t.py::c"]
    assert merged.entries["t.py::c"].summary.p50 == pytest.approx(0.002, rel=0.01)
    text = out.read_text()
    assert main(["merge", str(one), str(two), "-o", str(out)]) == 0
    assert out.read_text() == text


def test_merge_of_shards_that_differ_needs_their_base(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = save_baseline(tmp_path / "one.json", [measured("t.py::a", 1.0)])
    two = save_baseline(tmp_path / "two.json", [measured("t.py::a", 2.0)])
    out = tmp_path / "out.json"
    assert main(["merge", str(one), str(two), "-o", str(out)]) == 2
    assert capsys.readouterr().err == (
        "perfbudget: error: 1 test has different entries in two or more of the files, none "
        "saved over the others: t.py::a. Pass --base with the baseline the files were saved "
        "over: each test's entry is then taken from the file that changed it\n"
    )
    assert not out.exists()


def test_merge_over_the_base_the_shards_refreshed_lists_their_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sharded refresh: each shard saves over the committed baseline, and the merge
    writes each test's entry from the shard that ran it back into that baseline."""
    names = ["a", "b", "c", "d"]
    base = save_baseline(tmp_path / "baseline.json", [measured(f"t.py::{x}", 1.0) for x in names])
    shards = []
    for number, (group, ms) in enumerate([("ab", 2.0), ("cd", 1.01)]):
        shard = tmp_path / f"shard-{number}.json"
        shard.write_bytes(base.read_bytes())
        old = baseline.load(shard).entries
        entries = [
            baseline.entry_from_verdict(
                measured(f"t.py::{x}", ms), old[f"t.py::{x}"], machine="abc", commit=None
            )
            for x in group
        ]
        baseline.save(shard, entries, machine=MACHINE, generator="pytest-perfbudget 0.1.0")
        shards.append(str(shard))
    before = baseline.load(base).entries
    original = tmp_path / "original.json"
    original.write_bytes(base.read_bytes())
    assert main(["merge", *shards[::-1], "--base", str(base), "-o", str(base)]) == 0
    assert capsys.readouterr().out == (
        f"perfbudget: merged 2 files into {base} over {base} (4 tests)\n"
        f"\nperfbudget: 4 of 4 baseline entries changed in {base}\n"
        "t.py::a  p50 1.00 ms → 2.01 ms (+100 %) · min 1.00 ms → 2.00 ms (+100 %)\n"
        "t.py::b  p50 1.00 ms → 2.01 ms (+100 %) · min 1.00 ms → 2.00 ms (+100 %)\n"
        "perfbudget: 2 more changed, each minimum by less than 5 % "
        "(`perfbudget merge --all` lists them)\n"
    )
    after = baseline.load(base).entries
    for name, shard in zip(names, [0, 0, 1, 1], strict=True):
        assert after[f"t.py::{name}"] == baseline.load(Path(shards[shard])).entries[f"t.py::{name}"]
        assert len(after[f"t.py::{name}"].history) == len(before[f"t.py::{name}"].history) + 1
    text = base.read_text()
    assert main(["merge", *shards, "--base", str(base), "-o", str(base)]) == 0  # run again
    assert f"perfbudget: 0 of 4 baseline entries changed in {base}\n" in capsys.readouterr().out
    assert base.read_text() == text
    out = tmp_path / "all.json"
    assert main(["merge", *shards, "--base", str(original), "-o", str(out), "--all"]) == 0
    assert "t.py::c  p50 1.00 ms → 1.01 ms (+1.0 %)" in capsys.readouterr().out
    assert out.read_text() == text


def test_merge_over_a_base_names_a_test_two_shards_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = save_baseline(tmp_path / "base.json", [measured("t.py::a", 1.0)])
    one = save_baseline(tmp_path / "one.json", [measured("t.py::a", 2.0)])
    two = save_baseline(tmp_path / "two.json", [measured("t.py::a", 3.0)])
    out = tmp_path / "out.json"
    assert main(["merge", str(one), str(two), "--base", str(base), "-o", str(out)]) == 0
    assert capsys.readouterr().out.endswith(
        "perfbudget: 1 test changed in more than one file, each in its own way; kept the "
        "entry of the last file that changed it: t.py::a\n"
    )
    assert baseline.load(out).entries["t.py::a"] == baseline.load(two).entries["t.py::a"]


def test_merge_of_a_baseline_with_a_report_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = save_baseline(tmp_path / "one.json", [measured("t.py::a", 1.0)])
    two = save_report(tmp_path / "two.json", [measured("t.py::a", 1.0)])
    assert main(["merge", str(one), str(two), "-o", str(tmp_path / "out.json")]) == 2
    assert "cannot merge baselines with run reports" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()


# -- import-benchmark ---------------------------------------------------------------


def test_import_benchmark_turns_raw_rounds_into_baseline_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "baseline.json"
    assert main(["import-benchmark", str(WITH_DATA), "-o", str(out)]) == 0
    assert capsys.readouterr().out == (
        f"perfbudget: imported 2 benchmarks from {WITH_DATA} into {out}\n"
    )
    source = {b["fullname"]: b["stats"] for b in json.loads(WITH_DATA.read_text())["benchmarks"]}
    loaded = baseline.load(out)
    assert sorted(loaded.entries) == [
        "test_fix.py::test_sum_once",
        "test_fix.py::test_sum_pedantic",
    ]
    for nodeid, entry in loaded.entries.items():
        stats = source[nodeid]
        assert entry.iterations == stats["iterations"]
        assert entry.seconds == pytest.approx(stats["data"], rel=1e-6)
        assert entry.summary.min == pytest.approx(stats["min"], rel=1e-6)
        assert entry.summary.p50 == pytest.approx(stats["median"], rel=1e-6)
        assert (entry.timer, entry.commit, len(entry.history)) == ("wall", None, 1)
    assert loaded.machine["cpu"] == "AMD EPYC"
    assert loaded.machine["python_version"] == "3.11.7"


def test_import_benchmark_without_raw_data_explains_how_to_save_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "baseline.json"
    assert main(["import-benchmark", str(WITHOUT_DATA), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "skipped test_fix.py::test_sum_pedantic: the file holds no raw timings" in err
    assert "skipped test_fix.py::test_sum_once" in err
    assert "--benchmark-save-data" in err
    assert err.endswith(f"perfbudget: error: nothing to import from {WITHOUT_DATA}\n")
    assert not out.exists()


def test_import_benchmark_keeps_what_it_can_and_extends_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(WITH_DATA.read_text())
    del doc["benchmarks"][1]["stats"]["data"]
    doc["benchmarks"][0]["options"]["timer"] = "time.process_time"
    doc["commit_info"]["id"] = COMMIT
    del doc["machine_info"]
    source = tmp_path / "run.json"
    source.write_text(json.dumps(doc))
    monkeypatch.chdir(tmp_path)
    assert main(["import-benchmark", str(source)]) == 0
    assert main(["import-benchmark", str(source)]) == 0
    assert "skipped test_fix.py::test_sum_once" in capsys.readouterr().err
    loaded = baseline.load(tmp_path / ".perfbudget" / "baseline.json")
    (entry,) = loaded.entries.values()
    assert (entry.timer, entry.commit, len(entry.history)) == ("cpu", COMMIT, 2)
    assert "cpu" in loaded.machine  # this machine's fingerprint


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ('{"benchmarks": {}}', "not a pytest-benchmark saved run"),
        ("[]", "not a pytest-benchmark saved run"),
        (
            '{"benchmarks": [{"fullname": "t::x", "stats": {"data": ["x"]}}]}',
            "benchmark 't::x' has bad 'stats'",
        ),
        (
            '{"benchmarks": [{"fullname": "t::x", "stats": {"data": [-1.0]}}]}',
            "benchmark 't::x' has negative timings",
        ),
    ],
)
def test_import_benchmark_of_a_bad_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    source = tmp_path / "run.json"
    source.write_text(content)
    assert main(["import-benchmark", str(source), "-o", str(tmp_path / "b.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"perfbudget: error: {source}: ")
    assert message in err


def _without_xdist() -> dict[str, str]:
    """pytest-benchmark disables itself when it sees an xdist worker's environment."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}


def test_import_benchmark_reads_a_freshly_saved_run(tmp_path: Path) -> None:
    """The format check against the installed pytest-benchmark, not a stored file."""
    (tmp_path / "test_b.py").write_text(
        "def test_b(benchmark):\n"
        "    benchmark.pedantic(sum, args=(range(50),), rounds=3, iterations=4)\n"
    )
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:perfbudget", "-p", "no:cacheprovider",
         "--benchmark-save=run", "--benchmark-save-data", "test_b.py"],
        cwd=tmp_path, check=True, capture_output=True,
        env=_without_xdist(),
    )  # fmt: skip
    (saved,) = (tmp_path / ".benchmarks").glob("*/0001_run.json")
    out = tmp_path / "baseline.json"
    assert main(["import-benchmark", str(saved), "-o", str(out)]) == 0
    (entry,) = baseline.load(out).entries.values()
    assert (entry.nodeid, entry.iterations, len(entry.sample_ns)) == ("test_b.py::test_b", 4, 3)


# -- refresh ------------------------------------------------------------------------


class FakePytest:
    """Stands in for ``python -m pytest``: saves ``verdicts`` into the baseline (or, with
    ``runs``, the verdicts of the call's turn), under the refresh token it is given."""

    def __init__(
        self,
        path: Path,
        verdicts: Sequence[Verdict],
        returncode: int = 0,
        runs: Sequence[Sequence[Verdict]] = (),
        drop: Sequence[str] = (),
    ) -> None:
        self.path, self.verdicts, self.returncode, self.runs = path, verdicts, returncode, runs
        self.drop = drop
        self.commands: list[list[str]] = []
        self.tokens: list[str | None] = []
        #: Per call, the file of the node ids ``refresh --wide`` runs, and what it holds.
        self.only_files: list[str | None] = []
        self.only: list[list[str] | None] = []

    def __call__(
        self, command: list[str], check: bool, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        self.tokens.append((env or {}).get(baseline.REFRESH_ENV))
        only = (env or {}).get(REFRESH_ONLY_ENV)
        self.only_files.append(only)
        self.only.append(json.loads(Path(only).read_text(encoding="utf-8")) if only else None)
        token = self.tokens[-1] or None  # as the plugin reads it
        verdicts = self.runs[len(self.commands)] if self.runs else self.verdicts
        self.commands.append(command)
        previous = baseline.load(self.path).entries
        entries = [
            baseline.entry_from_verdict(
                v, previous.get(v.nodeid), machine="abc", commit=None, refresh=token
            )
            for v in verdicts
        ]
        baseline.save(
            self.path,
            entries,
            machine=MACHINE,
            generator="pytest-perfbudget 0.1.0",
            drop=self.drop.__contains__,
        )
        return subprocess.CompletedProcess(command, self.returncode)


def test_refresh_runs_pytest_and_prints_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = save_baseline(
        tmp_path / ".perfbudget" / "baseline.json",
        [measured("t.py::kept", 1.0), measured("t.py::gone", 1.0), measured("t.py::slower", 1.2)],
    )
    fake = FakePytest(
        path,
        [measured("t.py::slower", 1.45), measured("t.py::added", 0.5)],
        1,
        drop=["t.py::gone"],  # as --perfbudget-prune does for a test that no longer exists
    )
    monkeypatch.setattr(subprocess, "run", fake)
    assert main(["refresh", "-k", "slower or added", "-x", "tests"]) == 1
    assert fake.commands == [
        [
            sys.executable,
            "-m",
            "pytest",
            "--perfbudget-save",
            "-k",
            "slower or added",
            "-x",
            "tests",
        ]
    ]
    assert capsys.readouterr().out.splitlines()[1:] == [
        "perfbudget: 2 of 3 baseline entries changed in .perfbudget/baseline.json",
        "t.py::added  new  p50 502 µs",
        "t.py::slower  p50 1.21 ms → 1.46 ms (+21 %) · min 1.20 ms → 1.45 ms (+21 %)",
        "perfbudget: 1 baseline entry removed",
        "t.py::gone  removed",
        "perfbudget: 3 of 3 entries hold fewer than 5 saved runs; until they do, their allowed "
        "slowdown is not raised to their run-to-run noise (`perfbudget refresh --runs 5` saves "
        "5 runs at once)",
    ]


@pytest.mark.parametrize(
    ("option", "listed"),
    [
        ([], ["t.py::moved  p50 1.00 ms → 1.06 ms (+6.0 %) · min 1.00 ms → 1.06 ms (+6.0 %)"]),
        (
            ["--all", "--runs", "1"],
            [
                "t.py::moved  p50 1.00 ms → 1.06 ms (+6.0 %) · min 1.00 ms → 1.06 ms (+6.0 %)",
                "t.py::steady  p50 1.00 ms → 1.04 ms (+4.0 %) · min 1.00 ms → 1.04 ms (+4.0 %)",
            ],
        ),
    ],
)
def test_refresh_lists_entries_whose_minimum_moved_5_percent_and_counts_the_others(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    option: list[str],
    listed: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    path = save_baseline(
        tmp_path / ".perfbudget" / "baseline.json",
        [measured("t.py::moved", 1.0), measured("t.py::steady", 1.0)],
    )
    fake = FakePytest(path, [measured("t.py::moved", 1.06), measured("t.py::steady", 1.04)])
    monkeypatch.setattr(subprocess, "run", fake)
    assert main(["refresh", *option, "-x"]) == 0
    assert fake.commands[0][3:] == ["--perfbudget-save", "-x"]
    lines = capsys.readouterr().out.splitlines()[1:-1]
    summary = [] if option else [
        "perfbudget: 1 more changed, each minimum by less than 5 % "
        "(`perfbudget refresh --all` lists them)"
    ]  # fmt: skip
    assert lines == [
        "perfbudget: 2 of 2 baseline entries changed in .perfbudget/baseline.json",
        *listed,
        *summary,
    ]


@pytest.mark.parametrize("form", ["joined", "split"])
def test_refresh_follows_the_baseline_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "other.json"
    fake = FakePytest(path, [measured("t.py::x", 1.0)])
    monkeypatch.setattr(subprocess, "run", fake)
    option = [f"--perfbudget-baseline={path}"] if form == "joined" else [
        "--perfbudget-baseline", str(path)
    ]  # fmt: skip
    assert main(["refresh", *option]) == 0
    assert f"1 of 1 baseline entry changed in {path}" in capsys.readouterr().out


def test_refresh_refuses_an_unreadable_baseline_before_running_pytest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".perfbudget").mkdir()
    (tmp_path / ".perfbudget" / "baseline.json").write_text("{}")
    fake = FakePytest(tmp_path / "unused.json", [])
    monkeypatch.setattr(subprocess, "run", fake)
    assert main(["refresh"]) == 2
    assert "missing 'schema_version'" in capsys.readouterr().err
    assert fake.commands == []


def test_refresh_with_no_change_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / ".perfbudget" / "baseline.json"
    monkeypatch.setattr(subprocess, "run", FakePytest(path, []))
    assert main(["refresh"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "perfbudget: 0 of 0 baseline entries changed in .perfbudget/baseline.json"
    ]


def test_refresh_passes_help_like_options_after_a_path_to_pytest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fake = FakePytest(tmp_path / ".perfbudget" / "baseline.json", [])
    monkeypatch.setattr(subprocess, "run", fake)
    assert main(["refresh", "tests", "--co", "-q"]) == 0
    assert fake.commands[0][4:] == ["tests", "--co", "-q"]


@pytest.mark.parametrize("option", [["--runs", "3"], ["--runs=3"]])
def test_refresh_runs_saves_that_many_runs_each_in_its_own_pytest(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    option: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / ".perfbudget" / "baseline.json"
    fake = FakePytest(path, [measured("t.py::x", 1.0)])
    monkeypatch.setattr(subprocess, "run", fake)
    assert main(["refresh", *option, "-k", "x"]) == 0
    assert [command[3:] for command in fake.commands] == [["--perfbudget-save", "-k", "x"]] * 3
    assert len(baseline.load(path).entries["t.py::x"].history) == 3
    out = capsys.readouterr().out
    assert "perfbudget: refresh run 3 of 3" in out
    assert "1 of 1 entry holds fewer than 5 saved runs" in out


def test_refresh_runs_keep_each_entrys_fastest_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = save_baseline(tmp_path / ".perfbudget" / "baseline.json", [measured("t.py::x", 0.5)])
    runs = [[measured("t.py::x", ms)] for ms in (1.2, 1.0, 1.1)]
    fake = FakePytest(path, [], runs=runs)
    monkeypatch.setattr(subprocess, "run", fake)
    assert main(["refresh", "--runs", "3"]) == 0
    entry = baseline.load(path).entries["t.py::x"]
    # the fastest of the three (1.0 ms), not the older 0.5 ms
    assert list(entry.sample_ns) == list(runs[1][0].measurement.sample_ns)  # type: ignore[union-attr]
    token = fake.tokens[0]
    assert token
    assert fake.tokens == [token] * 3
    assert [run.get("refresh") for run in entry.history] == [None, token, token, token]
    assert [run["min"] for run in entry.history][1:] == [1.2e-3, 1e-3, 1.1e-3]


def test_a_refresh_of_one_run_replaces_the_samples_and_marks_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = save_baseline(tmp_path / ".perfbudget" / "baseline.json", [measured("t.py::x", 0.5)])
    fake = FakePytest(path, [measured("t.py::x", 1.0)])
    monkeypatch.setattr(subprocess, "run", fake)
    assert main(["refresh"]) == 0
    entry = baseline.load(path).entries["t.py::x"]
    assert fake.tokens == [""]  # no token; the save leaves its notes to the refresh
    assert entry.summary.min == pytest.approx(1e-3)
    assert all("refresh" not in run for run in entry.history)


def test_refresh_says_nothing_of_histories_that_hold_enough_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    fake = FakePytest(tmp_path / ".perfbudget" / "baseline.json", [measured("t.py::x", 1.0)])
    monkeypatch.setattr(subprocess, "run", fake)
    assert main(["refresh", "--runs", "5"]) == 0
    assert "saved runs" not in capsys.readouterr().out


def test_refresh_warns_of_entries_whose_runs_spread_wide_and_show_lists_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    path = tmp_path / ".perfbudget" / "baseline.json"
    runs = [
        [measured("t.py::spread", ms), measured("t.py::steady", 1.0)] for ms in (1, 1, 1.6, 1, 1)
    ]
    monkeypatch.setattr(subprocess, "run", FakePytest(path, [], runs=runs))
    assert main(["refresh", "--runs", "5"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "perfbudget: the saved runs of 1 of 2 entries allow a slowdown of +30 % or more by "
        "themselves (its minimums spread that far: a busy machine, or tests that run at two "
        "speeds), so smaller slowdowns of it go unnoticed; `perfbudget show` lists each "
        "entry's, and a refresh on a quiet machine narrows it (`perfbudget refresh --runs 5 "
        "--wide` refreshes only such entries)"
    )
    path.unlink()  # the runs again, each drawing its own hash seed: the note says how to fix it
    monkeypatch.delenv("PYTHONHASHSEED")
    monkeypatch.setattr(subprocess, "run", FakePytest(path, [], runs=runs))
    assert main(["refresh", "--runs", "5"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.endswith(
        "--wide` refreshes only such entries); this save's hash seed was random (PYTHONHASHSEED "
        "unset), and a test that iterates over a set of strings can run at another speed under "
        "each seed: set PYTHONHASHSEED=0 for saves and gates alike"
    )
    assert main(["show"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[3:]}
    # the slowest of the refresh's runs over its fastest; identical runs teach nothing
    assert (rows["t.py::spread"][-3:-1], rows["t.py::steady"][-3:-1]) == (["+60", "%"], ["+0", "%"])


def test_refresh_wide_refreshes_only_the_entries_whose_runs_spread_wide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / ".perfbudget" / "baseline.json"
    spread = [[measured("t.py::spread", ms), measured("t.py::steady", 1.0)] for ms in (1, 1.6, 1)]
    _refresh_runs(monkeypatch, path, spread)
    capsys.readouterr()
    fake = FakePytest(path, [], runs=[[measured("t.py::spread", 1.0)]] * 3)
    monkeypatch.setattr(subprocess, "run", fake)
    assert main(["refresh", "--wide", "--runs", "3", "-q", "tests"]) == 0
    assert fake.only == [["t.py::spread"]] * 3  # pytest deselects the others (test_config.py)
    assert [command[3:] for command in fake.commands] == [["--perfbudget-save", "-q", "tests"]] * 3
    assert fake.only_files[0] is not None
    assert not Path(fake.only_files[0]).exists()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "perfbudget: refreshing the 1 entry of .perfbudget/baseline.json whose saved runs "
        "allow a slowdown of +30 % or more by themselves"
    )
    assert "allow a slowdown" not in out[-1]  # no entry allows +30 % any more
    entries = baseline.load(path).entries
    assert learned_slowdown(entries["t.py::spread"].history, "abc") == pytest.approx(0, abs=0.02)
    assert len(entries["t.py::spread"].history) == 6
    assert len(entries["t.py::steady"].history) == 3  # not refreshed


def test_refresh_wide_runs_nothing_when_no_entry_spreads_wide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / ".perfbudget" / "baseline.json"
    _refresh_runs(monkeypatch, path, [[measured("t.py::steady", 1.0)]] * 3)
    capsys.readouterr()
    monkeypatch.setattr(subprocess, "run", pytest.fail)
    for argv in (["--wide"], ["--wide", "--perfbudget-baseline", "none.json"]):
        assert main(["refresh", *argv]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"perfbudget: no entry of {name} allows a slowdown of +30 % or more by its saved runs alone"
        for name in (".perfbudget/baseline.json", "none.json")
    ]


def _refresh_runs(
    monkeypatch: pytest.MonkeyPatch, path: Path, runs: Sequence[Sequence[Verdict]]
) -> None:
    """``perfbudget refresh --runs N``, its N pytest runs saving ``runs``."""
    monkeypatch.setattr(subprocess, "run", FakePytest(path, [], runs=runs))
    assert main(["refresh", "--runs", str(len(runs))]) == 0


def test_refresh_marks_the_runs_a_test_ran_in_a_slow_stretch_of_the_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run 3 is slow for every test of t.py; u.py::two_speeds is slow alone in runs 2 and 4."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / ".perfbudget" / "baseline.json"
    stretch = (1.0, 1.02, 1.6, 1.0, 1.01)
    runs = [
        [
            *(measured(f"t.py::test_{i}", ms * (1 + i)) for i in range(4)),
            measured("u.py::two_speeds", (1.0, 1.5, 1.0, 1.5, 1.0)[run]),
            *(measured(f"u.py::steady_{i}", 1.0) for i in range(2)),
        ]
        for run, ms in enumerate(stretch)
    ]
    runs[3] = runs[3][1:]  # t.py::test_0 is not saved in run 4: its records do not line up
    _refresh_runs(monkeypatch, path, runs)
    out = capsys.readouterr().out
    assert (
        "perfbudget: 3 runs of 3 entries ran in a slow stretch of the machine (at least half of "
        "the other tests of their class or module were 1.3x their fastest or more in the same "
        "run too); their allowed slowdown leaves those runs out"
    ) in out
    entries = baseline.load(path).entries
    busy = {nodeid: [run.get("busy") for run in entry.history] for nodeid, entry in entries.items()}
    assert busy["t.py::test_1"] == busy["t.py::test_3"] == [None, None, True, None, None]
    assert True not in busy["t.py::test_0"] + busy["u.py::two_speeds"]
    # without run 3, +2 % and the noise floor of the five; with it, it would be +60 %
    assert learned_slowdown(entries["t.py::test_1"].history, "abc") < 0.1
    assert learned_slowdown(entries["u.py::two_speeds"].history, "abc") == pytest.approx(0.5)


def test_refresh_restarts_the_history_of_an_entry_whose_level_it_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two refreshes of 5 runs: between them, one test got 2x slower and one 2x faster."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / ".perfbudget" / "baseline.json"
    levels = {"t.py::slower": 2.0, "t.py::faster": 0.5, "t.py::same": 1.03}
    for moved in (False, True):
        runs = [
            [
                measured(nodeid, (ms if moved else 1.0) * (1 + run / 100))
                for nodeid, ms in levels.items()
            ]
            for run in range(5)
        ]
        _refresh_runs(monkeypatch, path, runs)
    out = capsys.readouterr().out
    assert (
        "perfbudget: 2 entries ran at another level than their earlier saved runs allowed (by "
        "more than 10 % or their run-to-run noise, faster or slower): their history restarts "
        "with this refresh's runs, so the old level does not count as noise"
    ) in out
    entries = baseline.load(path).entries
    assert {nodeid: len(entry.history) for nodeid, entry in entries.items()} == {
        "t.py::faster": 5,
        "t.py::same": 10,
        "t.py::slower": 5,
    }
    # with the runs at 1 ms kept, their noise floor would allow +372 %
    assert learned_slowdown(entries["t.py::slower"].history, "abc") < 0.1


def test_marking_busy_runs_rewrites_only_their_records(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    token = "feed"
    for ms in (1.0, 1.6, 1.0):
        previous = baseline.load(path).entries
        saved = [*(measured(f"t.py::test_{i}", ms) for i in range(3)), measured("u.py::x", 1.0)]
        entries = [
            baseline.entry_from_verdict(
                v, previous.get(v.nodeid), machine="abc", commit=None, refresh=token
            )
            for v in saved
        ]
        baseline.save(path, entries, machine=MACHINE, generator="pytest-perfbudget 0.1.0")
    before = path.read_text().splitlines()
    assert baseline.finish_refresh(path, "another token", 3) == baseline.Refreshed({}, [])
    marked = {f"t.py::test_{i}": [1] for i in range(3)}
    assert baseline.finish_refresh(path, token, 3) == baseline.Refreshed(marked, [])
    after = path.read_text().splitlines()
    assert len(after) == len(before)
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert len(changed) == 3
    for old, new in changed:
        assert new == old.replace('{"commit": null', '{"busy": true, "commit": null')


def test_an_entry_learns_nothing_from_fewer_runs_than_the_noise_floor_needs() -> None:
    verdict = measured("t.py::x", 1.0)
    entry = baseline.entry_from_verdict(verdict, None, machine="abc", commit=None)
    assert learned_slowdown(entry.history, "abc") is None
    for _ in range(4):
        entry = baseline.entry_from_verdict(verdict, entry, machine="abc", commit=None)
    assert learned_slowdown(entry.history, "abc") == 0.0  # five identical runs: no noise
    assert learned_slowdown(entry.history, "another machine") is None


@pytest.mark.parametrize(("returncode", "calls"), [(1, 3), (2, 1), (4, 1), (5, 1)])
def test_refresh_runs_stops_when_pytest_could_not_run_the_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, returncode: int, calls: int
) -> None:
    monkeypatch.chdir(tmp_path)
    fake = FakePytest(tmp_path / ".perfbudget" / "baseline.json", [], returncode)
    monkeypatch.setattr(subprocess, "run", fake)
    assert main(["refresh", "--runs", "3"]) == returncode
    assert len(fake.commands) == calls


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--runs"], "argument --runs: expected one argument"),
        (["--runs", "0"], "argument --runs: '0' is not a whole number of runs (1 or more)"),
        (["--runs=two"], "argument --runs: 'two' is not a whole number of runs (1 or more)"),
    ],
)
def test_refresh_refuses_a_bad_number_of_runs(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.setattr(subprocess, "run", pytest.fail)
    with pytest.raises(SystemExit) as exc:
        main(["refresh", *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_pytest_is_never_imported_by_the_cli() -> None:
    code = (
        "import sys; from pytest_perfbudget import cli; "
        "import pytest_perfbudget.report.markdown, pytest_perfbudget.report.github; "
        "assert 'pytest' not in sys.modules and '_pytest' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


#: ``test_x.py`` of the end-to-end refreshes.
TWO_BUDGETED_TESTS = """
import pytest

@pytest.mark.budget(p50="50ms", max_time="0.1s")
def test_a(perf):
    perf(sum, range(100))

@pytest.mark.budget(p50="50ms", max_time="0.1s")
def test_b(perf):
    perf(sum, range(100))
"""


def test_refresh_end_to_end_saves_and_then_shows_changes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x=TWO_BUDGETED_TESTS)
    command = [sys.executable, "-m", "pytest_perfbudget", "refresh", "-p", "no:cacheprovider"]
    first = pytester.run(*command[:4], "--runs", "2", *command[4:], "-p", "no:asyncio")
    assert first.ret == 0
    first.stdout.fnmatch_lines(
        [
            "perfbudget: refresh run 2 of 2",
            "*",
            "perfbudget: 2 of 2 baseline entries changed in .perfbudget/baseline.json",
            "test_x.py::test_a  new  p50 *",
            "test_x.py::test_b  new  p50 *",
            "perfbudget: 2 of 2 entries hold fewer than 5 saved runs; *",
        ]
    )
    saved = baseline.load(pytester.path / ".perfbudget" / "baseline.json").entries
    assert [len(entry.history) for entry in saved.values()] == [2, 2]
    second = pytester.run(*command[:4], "--all", *command[4:], "-p", "no:asyncio", "-k", "test_b")
    assert second.ret == 0
    second.stdout.fnmatch_lines(
        [
            "perfbudget: 1 of 2 baseline entries changed in .perfbudget/baseline.json",
            "test_x.py::test_b  p50 * → * (*) · min * → * (*)",
        ]
    )
    assert len(baseline.load(pytester.path / ".perfbudget" / "baseline.json").entries) == 2


def test_refresh_wide_end_to_end_runs_only_the_tests_of_wide_entries(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)  # its line comes before pytest's
    pytester.makepyfile(test_x=TWO_BUDGETED_TESTS)
    path = pytester.path / ".perfbudget" / "baseline.json"
    for ms in (1.0, 1.6, 1.0):  # a refresh of 3 runs: test_a 1.6x slower in one
        saved = baseline.load(path).entries
        entries = [
            baseline.entry_from_verdict(
                measured(nodeid, ms if nodeid.endswith("a") else 1.0),
                saved.get(nodeid),
                machine="abc",
                commit=None,
                refresh="token",
            )
            for nodeid in ("test_x.py::test_a", "test_x.py::test_b")
        ]
        baseline.save(path, entries, machine=MACHINE, generator="pytest-perfbudget 0.1.0")
    result = pytester.run(
        sys.executable, "-m", "pytest_perfbudget", "refresh", "--wide",
        "-p", "no:cacheprovider", "-p", "no:asyncio",
    )  # fmt: skip
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "perfbudget: refreshing the 1 entry of .perfbudget/baseline.json whose saved runs "
            "allow a slowdown of +30 % or more by themselves",
            "*1 passed, 1 deselected*",
            "perfbudget: 1 of 2 baseline entries changed in .perfbudget/baseline.json",
        ]
    )
    histories = {n: len(e.history) for n, e in baseline.load(path).entries.items()}
    assert histories == {"test_x.py::test_a": 4, "test_x.py::test_b": 3}
