"""The session's pure decisions: thresholds, statuses, verdict messages, saving, outputs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pytest_perfbudget import session
from pytest_perfbudget.baseline import REFRESH_ENV, BaselineEntry, load
from pytest_perfbudget.errors import SpecError
from pytest_perfbudget.measure import Judgement
from pytest_perfbudget.model import Budget, Change, Measurement, Status, Verdict
from pytest_perfbudget.settings import Settings
from pytest_perfbudget.stats import summarize

SAMPLES = tuple(1_000_000 + i for i in range(60))


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(rootdir=tmp_path, baseline=tmp_path / "b.json", **overrides)  # type: ignore[arg-type]


def _measurement(tracer: str | None = None) -> Measurement:
    return Measurement(sample_ns=SAMPLES, tracer=tracer)


def _judgement(
    change: Change | None = None, regression: str | None = None, tracer: str | None = None
) -> Judgement:
    meas = _measurement(tracer)
    return Judgement(meas, summarize(meas.seconds), (), change=change, regression=regression)


def _entry(timer: str = "wall", machine: str = "m", runs: int = 0) -> BaselineEntry:
    meas = _measurement()
    history = [{"machine": machine, "min": 0.001}] * runs
    return BaselineEntry(
        nodeid="t::a", timer=timer, iterations=1, sample_ns=SAMPLES,
        summary=summarize(meas.seconds), budget={}, history=history, machine=machine, commit=None,
    )  # fmt: skip


CHANGE = Change("p10", 1.5, 1.4, 1.6, threshold=0.1)


@pytest.mark.parametrize(
    ("regression", "configured", "expected"),
    [(False, 0.1, None), (None, 0.2, 0.2), (True, 0.2, 0.2), (0.05, 0.2, 0.05)],
)
def test_the_threshold_is_the_budgets_then_the_settings(
    tmp_path: Path, regression: float | bool | None, configured: float, expected: float | None
) -> None:
    budget = Budget(regression=regression)
    assert session.threshold(budget, _settings(tmp_path, regression=configured)) == expected


def test_a_baseline_of_another_clock_gives_no_reference(tmp_path: Path) -> None:
    reference = session.reference_for(
        _entry(timer="cpu"), Budget(), _settings(tmp_path),
        timer="wall", machine_id="m", estimate=lambda now, base: CHANGE,
    )  # fmt: skip
    assert reference is None


@pytest.mark.parametrize(
    ("mins", "expected"),
    [
        ([1.0], 0.1),  # one run: the declared 10 %
        ([1.0, 1.05], 1.1 * 1.05 - 1),  # measured from the second-fastest run
        ([1.0, 1.0, 1.0, 1.02, 1.0], 0.1),  # as tight as the runs: the declared 10 %
        ([1.0, 1.5, 1.0, 1.0, 1.0], 0.5),  # at least as slow as its slowest run
    ],
)
def test_the_allowed_slowdown_is_set_by_the_second_fastest_and_slowest_runs_of_a_refresh(
    tmp_path: Path, mins: list[float], expected: float
) -> None:
    history = [{"machine": "m", "min": low * 1e-3, "refresh": "r"} for low in mins]
    entry = replace(_entry(), history=history)
    reference = session.reference_for(
        entry, Budget(), _settings(tmp_path),
        timer="wall", machine_id="m", estimate=lambda now, base: CHANGE,
    )  # fmt: skip
    assert reference is not None
    assert reference.threshold == pytest.approx(expected)


def test_a_compare_hook_that_returns_no_change_is_an_error() -> None:
    with pytest.raises(SpecError, match=r"returned 1\.5 for t::a; it must return a Change"):
        session.checked_change(1.5, "t::a")


def test_an_unpaused_tracer_keeps_the_result_away_from_the_baseline() -> None:
    tracer = "sys.monitoring tool 1 (coverage.py) active, not paused"
    verdict = session.build_verdict(
        "t::a", Budget(), _judgement(CHANGE, "regressed", tracer), _entry(),
        machine_id="m", expects_entry=False, location=None,
    )  # fmt: skip
    assert verdict.status is Status.PASS
    assert verdict.change is None
    assert verdict.messages[0].startswith(tracer)


def test_a_baseline_from_another_machine_is_called_weak() -> None:
    verdict = session.build_verdict(
        "t::a", Budget(), _judgement(CHANGE, "regressed"), _entry(machine="other"),
        machine_id="m", expects_entry=True, location=("t.py", 3),
    )  # fmt: skip
    assert verdict.status is Status.REGRESSED
    assert any("another machine" in message for message in verdict.messages)


@pytest.mark.parametrize(("runs", "hint"), [(1, "1 saved run of"), (4, "4 saved runs of")])
def test_a_regression_judged_before_the_noise_is_learned_says_how_to_learn_it(
    runs: int, hint: str
) -> None:
    verdict = session.build_verdict(
        "t::a", Budget(), _judgement(CHANGE, "regressed"), _entry(runs=runs),
        machine_id="m", expects_entry=True, location=None,
    )  # fmt: skip
    assert verdict.messages[1] == (
        f"the baseline holds {hint} this test on this machine; from 5 on, the allowed "
        "slowdown is raised to the test's run-to-run noise "
        f"(`perfbudget refresh --runs {5 - runs}` adds {5 - runs})"
    )


@pytest.mark.parametrize(("regression", "runs"), [("regressed", 5), ("unchanged", 1)])
def test_no_noise_hint_once_learned_or_without_a_regression(regression: str, runs: int) -> None:
    verdict = session.build_verdict(
        "t::a", Budget(), _judgement(CHANGE, regression), _entry(runs=runs),
        machine_id="m", expects_entry=True, location=None,
    )  # fmt: skip
    assert not any("saved run" in message for message in verdict.messages)


@pytest.mark.parametrize(
    ("saved", "now", "regression", "hint"),
    [
        ("xdist", None, "regressed", "measured under a plain pytest run, but the baseline was "
         "saved under pytest-xdist workers"),
        (None, "tracer", "inconclusive", "measured under a paused tracer (coverage, say), but "
         "the baseline was saved under a plain pytest run"),
        ("xdist", "xdist", "regressed", None),
        (None, None, "regressed", None),
        (None, "xdist", "unchanged", None),  # nothing to explain
    ],
)  # fmt: skip
def test_a_change_against_a_baseline_saved_under_another_harness_says_so(
    saved: str | None, now: str | None, regression: str, hint: str | None
) -> None:
    advice = (
        ": the same code can run at another speed there (environment, call-stack depth); "
        "save the baseline the way this run gates"
    )
    found = _saved_under_hints("harness", saved, regression, harness=now)
    assert found == ([] if hint is None else [hint + advice])


def _saved_under_hints(
    field: str, saved: str | None, regression: str, **now: str | None
) -> list[str]:
    """The "saved under" lines of a verdict against an entry whose latest record holds
    ``saved`` as its ``field``, the run's being ``now``."""
    entry = _entry(runs=5)
    entry = replace(entry, history=[*entry.history[:-1], {**entry.history[-1], field: saved}])
    verdict = session.build_verdict(
        "t::a", Budget(), _judgement(CHANGE, regression), entry,
        machine_id="m", expects_entry=True, location=None, **now,
    )  # fmt: skip
    return [message for message in verdict.messages if "the baseline was saved under" in message]


@pytest.mark.parametrize(
    ("saved", "now", "regression", "hint"),
    [
        ("0", None, "regressed", "measured under a hash seed drawn per process, but the "
         "baseline was saved under PYTHONHASHSEED=0"),
        (None, "0", "improved", "measured under PYTHONHASHSEED=0, but the baseline was saved "
         "under a hash seed drawn per process"),
        ("1", "0", "inconclusive", "measured under PYTHONHASHSEED=0, but the baseline was "
         "saved under PYTHONHASHSEED=1"),
        ("0", "0", "regressed", None),
        (None, None, "regressed", None),
        ("0", None, "unchanged", None),  # nothing to explain
    ],
)  # fmt: skip
def test_a_change_against_a_baseline_saved_under_another_hash_seed_says_so(
    saved: str | None, now: str | None, regression: str, hint: str | None
) -> None:
    advice = (
        ": a test that iterates over a set of strings can run at another speed under another "
        "seed; save and gate under one fixed PYTHONHASHSEED"
    )
    found = _saved_under_hints("hash_seed", saved, regression, hash_seed=now)
    assert found == ([] if hint is None else [hint + advice])


@pytest.mark.parametrize(
    ("tracer", "xdist", "expected"),
    [(None, False, None), (None, True, "xdist"), ("t paused", False, "tracer"),
     ("t paused", True, "xdist+tracer")],
)  # fmt: skip
def test_the_harness_names_what_a_measurement_was_taken_under(
    tracer: str | None, xdist: bool, expected: str | None
) -> None:
    assert session.harness(_measurement(tracer), xdist=xdist) == expected


def test_an_entry_of_another_clock_makes_the_test_new() -> None:
    verdict = session.build_verdict(
        "t::a", Budget(), _judgement(), _entry(timer="cpu"),
        machine_id="m", expects_entry=True, location=None,
    )  # fmt: skip
    assert verdict.status is Status.NEW
    assert "measured with the cpu clock" in verdict.messages[0]


def test_saving_keeps_only_passing_measured_verdicts(tmp_path: Path) -> None:
    settings = _settings(tmp_path, save=True)
    measured = _measurement()
    verdicts = [
        Verdict("t::ok", Status.PASS, measurement=measured, summary=summarize(measured.seconds)),
        Verdict("t::failed", Status.FAILED),
        Verdict("t::over", Status.OVER_BUDGET, measurement=measured),
        Verdict("t::traced", Status.PASS, measurement=_measurement("x active, not paused")),
    ]
    notes = session.save_baseline(verdicts, settings, None, machine={}, machine_id="m")
    assert notes == [
        "saved 1 baseline entry to b.json",
        "1 of 1 entry holds fewer than 5 saved runs; until it does, its allowed slowdown is "
        "not raised to its run-to-run noise (`perfbudget refresh --runs 5` saves 5 runs at "
        "once)",
    ]
    assert list(load(settings.baseline).entries) == ["t::ok"]
    assert "harness" not in load(settings.baseline).entries["t::ok"].history[-1]


@pytest.mark.parametrize(("environ", "recorded"), [("0", "0"), ("random", None), (None, None)])
def test_a_save_records_the_hash_seed_pythonhashseed_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environ: str | None, recorded: str | None
) -> None:
    if environ is None:
        monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    else:
        monkeypatch.setenv("PYTHONHASHSEED", environ)
    settings = _settings(tmp_path, save=True)
    measured = _measurement()
    verdict = Verdict(
        "t::ok", Status.PASS, measurement=measured, summary=summarize(measured.seconds)
    )
    session.save_baseline([verdict], settings, None, machine={}, machine_id="m")
    assert load(settings.baseline).entries["t::ok"].history[-1].get("hash_seed") == recorded


def test_a_save_from_xdist_workers_records_the_harness(tmp_path: Path) -> None:
    settings = _settings(tmp_path, save=True)
    measured = _measurement("sys.settrace tracer paused (coverage.CTracer)")
    verdicts = [
        Verdict("t::ok", Status.PASS, measurement=measured, summary=summarize(measured.seconds))
    ]
    session.save_baseline(verdicts, settings, None, machine={}, machine_id="m", xdist=True)
    assert load(settings.baseline).entries["t::ok"].history[-1]["harness"] == "xdist+tracer"


def test_a_save_counts_the_entries_whose_runs_allow_a_wide_slowdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(REFRESH_ENV, raising=False)
    settings = _settings(tmp_path, save=True)

    def save(scale: float) -> list[str]:
        measured = Measurement(sample_ns=[round(ns * scale) for ns in SAMPLES])
        verdict = Verdict(
            "t::x", Status.PASS, measurement=measured, summary=summarize(measured.seconds)
        )
        return session.save_baseline(
            [verdict], settings, load(settings.baseline), machine={}, machine_id="m"
        )

    # fewer than five runs teach nothing, and a save says so; five 1.0 … 1.8 apart teach
    # a wide noise
    assert [save(scale)[1:] for scale in (1.0, 1.2, 1.4, 1.6)] == [
        [
            "1 of 1 entry holds fewer than 5 saved runs; until it does, its allowed "
            "slowdown is not raised to its run-to-run noise (`perfbudget refresh --runs 5` "
            "saves 5 runs at once)"
        ]
    ] * 4
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    notes = save(1.8)
    assert notes[0] == "saved 1 baseline entry to b.json"
    assert notes[1].startswith("the saved runs of 1 of 1 entry allow a slowdown of +30 % or more")
    assert notes[1].endswith(
        "a refresh on a quiet machine narrows it (`perfbudget refresh --runs 5 --wide` "
        "refreshes only such entries)"
    )
    assert len(notes) == 2
    monkeypatch.setenv("PYTHONHASHSEED", "random")  # and the note says to fix the seed
    assert save(1.8)[1].endswith("set PYTHONHASHSEED=0 for saves and gates alike")
    for token in ("token", ""):  # perfbudget refresh counts after its last run (one: no token)
        monkeypatch.setenv(REFRESH_ENV, token)
        assert len(save(1.8)) == 1


@pytest.mark.parametrize(("runs", "expected"), [(1, 1), (4, 1), (5, 0)])
def test_a_gate_counts_the_regressed_tests_judged_before_their_noise_is_learned(
    tmp_path: Path, runs: int, expected: int
) -> None:
    settings = _settings(tmp_path, save=True)
    measured = _measurement()
    for _ in range(runs):
        verdict = Verdict(
            "t::a", Status.PASS, measurement=measured, summary=summarize(measured.seconds)
        )
        current = load(settings.baseline)
        session.save_baseline([verdict], settings, current, machine={}, machine_id="m")
    verdicts = [
        Verdict("t::a", Status.REGRESSED),
        Verdict("t::b", Status.REGRESSED),  # no entry
        Verdict("t::c", Status.PASS),
    ]
    note = (
        "the regressed test was judged at its declared allowed slowdown alone: the baseline "
        "holds fewer than 5 saved runs of it on this machine, too few to learn its run-to-run "
        "noise from (`perfbudget refresh --runs 5` saves 5 runs at once)"
    )
    notes = session.few_runs_regressed(verdicts, load(settings.baseline), "m")
    assert notes == [note] * expected
    assert session.few_runs_regressed(verdicts, None, "m") == []


def test_nothing_to_save_writes_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path, save=True)
    assert session.save_baseline([], settings, None, machine={}, machine_id="m") == []
    assert not settings.baseline.exists()


def test_outputs_without_verdicts_write_only_the_json_report(tmp_path: Path) -> None:
    settings = _settings(tmp_path, json=tmp_path / "r.json", markdown=tmp_path / "r.md")
    session.write_outputs([], settings, machine={}, machine_line="m", duration=0.0)
    assert (tmp_path / "r.json").exists()
    assert not (tmp_path / "r.md").exists()


def test_the_markdown_summary_is_rendered_only_when_it_goes_somewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_perfbudget.report import markdown

    rendered: list[object] = []
    monkeypatch.setattr(markdown, "render_markdown", lambda *a, **k: rendered.append(a) or "# x")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    verdicts = [Verdict("t::a", Status.FAILED)]
    session.write_outputs(verdicts, _settings(tmp_path), machine={}, machine_line="m", duration=0)
    assert rendered == []
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step.md"))
    session.write_outputs(verdicts, _settings(tmp_path), machine={}, machine_line="m", duration=0)
    assert len(rendered) == 1
    assert (tmp_path / "step.md").read_text() == "# x\n"


def test_an_unmeasured_verdict_has_no_section() -> None:
    assert session.section(Verdict("t::a", Status.FAILED)) == ""


def test_paths_outside_the_rootdir_are_shown_whole(tmp_path: Path) -> None:
    assert session.display(Path("/elsewhere/b.json"), tmp_path) == "/elsewhere/b.json"


def test_gone_tests_are_those_not_collected_from_a_collected_file_or_whose_file_is_gone(
    tmp_path: Path,
) -> None:
    for name in ("test_a.py", "test_b.py", "test_c.py"):
        (tmp_path / name).touch()
    collected = {"test_a.py::test_x", "test_c.py::test_y[a::b]"}
    gone = session.gone_tests(collected, tmp_path, partial={"test_c.py"})
    assert not gone("test_a.py::test_x")
    assert gone("test_a.py::test_renamed")  # its file was collected
    assert not gone("test_b.py::test_z")  # a file the run did not collect
    assert not gone("test_c.py::test_other")  # a file collected in part
    assert gone("test_deleted.py::test_w")  # its file is gone
