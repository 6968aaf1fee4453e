"""All pytest glue: options, the ``budget`` marker, the ``perf`` fixture, hooks.

Nothing below this module sees a pytest object: items, markers and options are
turned into plain values here. Heavy modules (numpy, the engine) are imported
only when a budgeted or measured test runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_perfbudget import spec
from pytest_perfbudget.errors import ConfigError, PerfbudgetError, SpecError
from pytest_perfbudget.model import Budget, Outcome, Status, Verdict
from pytest_perfbudget.settings import Settings, load_table, settings_from_table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_perfbudget.baseline import Baseline
    from pytest_perfbudget.engine.runner import Plan
    from pytest_perfbudget.measure import Judgement, Perf, Reference
    from pytest_perfbudget.model import Change

__all__ = ["PerfbudgetPlugin", "budget_key", "perf", "plugin_key", "verdict_key"]

budget_key = pytest.StashKey["Budget | None"]()
perf_key = pytest.StashKey["Perf"]()
verdict_key = pytest.StashKey[Verdict]()
plugin_key = pytest.StashKey["PerfbudgetPlugin"]()

MARKER_HELP = (
    "budget(p95=200, ...): performance budget of this test. Statistics p50 p75 p90 p95 p99 "
    "p999 median mean max are upper limits (bare number = ms, or '250us', '5ms', '1s'); "
    "memory='64MB' limits peak traced memory of one call; regression='10%' (or False) sets "
    "the allowed slowdown against the baseline; rounds, max_time, warmup, timer='wall'|'cpu', "
    "gc tune the measurement. See https://pytest-perfbudget.readthedocs.io/"
)
XDIST_NOTE = (
    "budgeted tests ran in parallel xdist workers, which compete for the CPU and perturb "
    "timings; run them serially (e.g. `pytest -p no:xdist -m budget`, or put them in one "
    "xdist_group with --dist loadgroup)"
)
_STATUS_WORDS = {
    Status.OVER_BUDGET: "OVER BUDGET",
    Status.REGRESSED: "REGRESSED",
    Status.INCONCLUSIVE: "INCONCLUSIVE",
    Status.NEW: "NEW",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perfbudget", "performance budgets (pytest-perfbudget)")
    group.addoption(
        "--perfbudget-save",
        action="store_true",
        help="write this run's results into the baseline (tests that did not run keep "
        "their entries; failed tests are not written); regressions do not fail in this mode",
    )
    group.addoption("--perfbudget-baseline", metavar="PATH", help="use another baseline file")
    group.addoption("--perfbudget-json", metavar="PATH", help="write the run report as JSON")
    group.addoption(
        "--perfbudget-markdown", metavar="PATH", help="write a Markdown summary (PR comment ready)"
    )
    group.addoption(
        "--perfbudget-disable",
        action="store_true",
        help="run budgeted tests once; measure nothing, enforce nothing",
    )
    group.addoption(
        "--perfbudget-strict",
        action="store_true",
        help="fail budgeted tests that have no baseline entry, and inconclusive verdicts",
    )
    group.addoption(
        "--perfbudget-against",
        metavar="REV",
        help="paired mode: measure each budgeted test on git revision REV and on the working "
        "tree, interleaved, and gate on the paired change",
    )


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_perfbudget import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def _settings(config: pytest.Config) -> Settings:
    inipath = config.inipath
    source = inipath if inipath and inipath.name == "pyproject.toml" else None
    source = source or config.rootpath / "pyproject.toml"
    overrides = {
        "save": config.getoption("perfbudget_save") or None,
        "baseline": config.getoption("perfbudget_baseline"),
        "json": _path(config, "perfbudget_json"),
        "markdown": _path(config, "perfbudget_markdown"),
        "disable": config.getoption("perfbudget_disable") or None,
        "strict": config.getoption("perfbudget_strict") or None,
        "against": config.getoption("perfbudget_against"),
    }
    try:
        table = load_table(source)
        return settings_from_table(
            table, rootdir=config.rootpath, source=source, overrides=overrides
        )
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from exc


def _path(config: pytest.Config, name: str) -> Path | None:
    value = config.getoption(name)
    return Path(value).absolute() if value else None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    plugin = PerfbudgetPlugin(config, _settings(config))
    config.stash[plugin_key] = plugin
    config.pluginmanager.register(plugin, "perfbudget-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.stash.get(plugin_key, None)
    if plugin is not None:
        config.pluginmanager.unregister(plugin)
        del config.stash[plugin_key]


@pytest.fixture
def perf(request: pytest.FixtureRequest) -> Generator[Perf, None, None]:
    """Measure a callable (``perf(fn, *args)``), a block (``with perf.sample():``)
    or an external duration (``perf.record(seconds)``) under the test's budget."""
    from pytest_perfbudget.measure import Perf

    plugin = request.config.stash[plugin_key]
    item = request.node
    budget = plugin.budget_of(item) or Budget(source="none")
    plan = plugin.plan_for(budget)
    measurer = Perf(
        budget,
        plan,
        enabled=not plugin.settings.disable,
        reference=plugin.reference_for(item, budget, plan.timer),
        precise=plugin.settings.save,
    )
    item.stash[perf_key] = measurer
    yield measurer
    measurer.close()


class PerfbudgetPlugin:
    """Session state: settings, budgets, verdicts, and the end-of-run reports."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.verdicts: dict[str, Verdict] = {}
        self.is_worker = hasattr(config, "workerinput")
        self._started = time.perf_counter()
        self._machine: dict[str, Any] | None = None
        self._machine_id: str | None = None
        self.baseline = None if settings.disable else _load_baseline(settings.baseline)
        self._notes: list[str] = []
        self._saved: list[str] = []

    # -- budgets -----------------------------------------------------------------

    def budget_of(self, item: pytest.Item) -> Budget | None:
        """The budget of ``item`` (evaluated once); raises SpecError on bad input."""
        if budget_key not in item.stash:
            item.stash[budget_key] = self._evaluate(item)
        return item.stash[budget_key]

    def _evaluate(self, item: pytest.Item) -> Budget | None:
        markers = list(item.iter_markers("budget"))
        if markers:
            budget = spec.merge(
                [spec.budget_from_marker(m.args, m.kwargs) for m in reversed(markers)]
            )
        else:
            budget = spec.match(item.nodeid, self.settings.patterns)
        if budget is None:
            return None
        adjusted = item.ihook.pytest_perfbudget_adjust_budget(item=item, budget=budget)
        if adjusted is not None and not isinstance(adjusted, Budget):
            raise SpecError(
                f"pytest_perfbudget_adjust_budget returned {adjusted!r}; "
                "it must return a Budget or None"
            )
        return adjusted or budget

    def plan_for(self, budget: Budget) -> Plan:
        from pytest_perfbudget.engine.runner import Plan

        s = self.settings
        return Plan(
            timer=budget.timer or s.timer,
            max_time=budget.max_time if budget.max_time is not None else s.max_time,
            min_rounds=budget.rounds or s.rounds,
            warmup=budget.warmup if budget.warmup is not None else s.warmup,
            gc=budget.gc if budget.gc is not None else s.gc,
        )

    def reference_for(self, item: pytest.Item, budget: Budget, timer: str) -> Reference | None:
        """The stored comparison for ``item``, when its baseline entry can be compared."""
        entry = self.baseline.entries.get(item.nodeid) if self.baseline else None
        if entry is None or entry.timer != timer:
            return None
        from pytest_perfbudget.measure import Reference
        from pytest_perfbudget.regression import machine_probe, noise_floor

        threshold = self.threshold(budget)
        if threshold is not None:
            floor = noise_floor(entry.history, machine=self.machine_id())
            threshold = max(threshold, floor or 0.0)
        nodeid = item.nodeid

        def estimate(now: Sequence[float], base: Sequence[float]) -> Change:
            return self._estimate(nodeid, now, base)

        return Reference(entry.seconds, threshold, estimate, entry.reference, machine_probe)

    def threshold(self, budget: Budget) -> float | None:
        """The allowed slowdown: the budget's ``regression``, else the configured one."""
        if budget.regression is False:
            return None
        if budget.regression is None or budget.regression is True:
            return self.settings.regression
        return float(budget.regression)

    def _estimate(self, nodeid: str, now: Sequence[float], base: Sequence[float]) -> Change:
        from pytest_perfbudget.model import Change

        change = self.config.hook.pytest_perfbudget_compare(
            config=self.config, nodeid=nodeid, now=now, baseline=base
        )
        if not isinstance(change, Change):
            raise SpecError(
                f"pytest_perfbudget_compare returned {change!r} for {nodeid}; "
                "it must return a Change"
            )
        return change

    @pytest.hookimpl(trylast=True)
    def pytest_perfbudget_compare(
        self, config: pytest.Config, nodeid: str, now: Sequence[float], baseline: Sequence[float]
    ) -> Change:
        from pytest_perfbudget.regression import estimate_change

        return estimate_change(now, baseline)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        try:
            self.budget_of(item)
        except SpecError as exc:
            error = f"invalid budget for {item.nodeid}: {exc}"
        else:
            return
        pytest.fail(error, pytrace=False)

    # -- measuring and judging -----------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when != "call" or self.settings.disable:
            return report
        if report.passed:
            self._judge_into(item, report)
        elif budget_key in item.stash and item.stash[budget_key] is not None:
            status = Status.SKIPPED if report.skipped else Status.FAILED
            self._attach(
                item, report, Verdict(item.nodeid, status, item.stash[budget_key] or Budget())
            )
        return report

    def _judge_into(self, item: pytest.Item, report: pytest.TestReport) -> None:
        try:
            judged = self._judge(item)
        except Exception as exc:  # the body raised when repeated, or bad perf usage
            report.outcome = "failed"
            report.longrepr = (
                f"perfbudget could not measure {item.nodeid}: {type(exc).__name__}: {exc}"
            )
            return
        if judged is None:
            return
        verdict = self._verdict(item, judged[0])
        item.ihook.pytest_perfbudget_verdict(item=item, verdict=verdict)
        self._attach(item, report, verdict)
        if self.fails(verdict):
            from pytest_perfbudget.compare import failure_text

            report.outcome = "failed"
            report.longrepr = failure_text(verdict, machine=self.machine_line())
            if judged[1] is not None:
                report.longrepr += self._hotspots(item.nodeid, judged[1])

    def _hotspots(self, nodeid: str, target: Callable[[], object]) -> str:
        """The top functions of one profiled call; the .pstats goes next to the JSON report."""
        from pytest_perfbudget.hotspots import profile_call

        try:
            hotspots = profile_call(target)
        except Exception as exc:  # profiling is a diagnosis: never turn it into an error
            return f"\nhotspots: profiling failed: {type(exc).__name__}: {exc}"
        text = "\nhotspots (one profiled call, by own time):\n" + "\n".join(hotspots.lines)
        if self.settings.json is not None:
            folder = self.settings.json.with_name(self.settings.json.stem + ".profiles")
            text += f"\nprofile saved to {hotspots.dump(folder, nodeid)}"
        return text

    def _judge(self, item: pytest.Item) -> tuple[Judgement, Callable[[], object] | None] | None:
        from pytest_perfbudget.measure import judge_callable, judge_samples

        measurer = item.stash.get(perf_key, None)
        budget = self.budget_of(item)
        if measurer is not None:
            if measurer.judgement is not None:
                return measurer.judgement, measurer.target
            measurement = measurer.measurement()
            if measurement is not None:
                return judge_samples(measurement, measurer.budget, measurer.reference), None
        if budget is None:
            return None
        plan = self.plan_for(budget)
        reference = self.reference_for(item, budget, plan.timer)
        fixture = getattr(item, "funcargs", {}).get("benchmark")
        if fixture is not None:
            from pytest_perfbudget.integrations import BENCHMARK_FALLBACK, benchmark_measurement

            samples = benchmark_measurement(fixture)
            if samples is not None:
                return judge_samples(samples, budget, reference), None
        judgement, _ = judge_callable(
            item.runtest, budget, plan, mode="body", reference=reference, precise=self.settings.save
        )
        if fixture is not None:
            judgement = replace(judgement, messages=(*judgement.messages, BENCHMARK_FALLBACK))
        return judgement, item.runtest

    def _verdict(self, item: pytest.Item, judgement: Judgement) -> Verdict:
        from pytest_perfbudget.compare import describe_change, describe_check, limit_status
        from pytest_perfbudget.integrations import tracer_unpaused

        budget = self.budget_of(item) or Budget(source="none")
        entry = self.baseline.entries.get(item.nodeid) if self.baseline else None
        messages = [describe_check(c) for c in judgement.checks if c.outcome is not Outcome.PASS]
        if tracer_unpaused(judgement.measurement):
            tracer = judgement.measurement.tracer
            messages.append(f"{tracer}: timings are inflated and not compared with the baseline")
            judgement = replace(judgement, change=None, regression=None)
            entry = None
        status = _status(limit_status(judgement.checks), judgement.regression)
        if judgement.change is not None and entry is not None:
            messages.append(describe_change(judgement.change, entry.summary, judgement.regression))
            if entry.machine != self.machine_id():
                messages.append(
                    "the baseline was measured on another machine; the comparison is weak "
                    "(refresh the baseline on this machine, or use --perfbudget-against)"
                )
        elif status is Status.PASS and self._expects_entry():
            status = Status.NEW
            note = (
                ""
                if entry is None
                else f" (the baseline was measured with the {entry.timer} clock)"
            )
            messages.append(f"no comparable baseline entry{note}; save one with --perfbudget-save")
        messages += judgement.messages
        return Verdict(
            nodeid=item.nodeid,
            status=status,
            budget=budget,
            summary=judgement.summary,
            measurement=judgement.measurement,
            checks=judgement.checks,
            baseline=entry.summary if entry is not None and judgement.change else None,
            change=judgement.change,
            messages=tuple(messages),
            confirmed=judgement.confirmed,
            location=_location(item),
        )

    def _expects_entry(self) -> bool:
        """A missing entry is "new" once a baseline exists (or under --perfbudget-strict)."""
        exists = self.baseline is not None and self.baseline.path is not None
        return exists or self.settings.strict

    def machine_id(self) -> str:
        """The short id of this machine's fingerprint."""
        if self._machine_id is None:
            from pytest_perfbudget.machine import machine_id

            self._machine_id = machine_id(self.machine())
        return self._machine_id

    def fails(self, verdict: Verdict) -> bool:
        """Whether ``verdict`` fails its test under the settings."""
        kind = {
            Status.OVER_BUDGET: "budget",
            Status.REGRESSED: "regression",
            Status.INCONCLUSIVE: "inconclusive",
            Status.NEW: "new",
        }.get(verdict.status)
        return kind is not None and self.settings.fails_on(kind)

    def _attach(self, item: pytest.Item, report: pytest.TestReport, verdict: Verdict) -> None:
        item.stash[verdict_key] = verdict
        report.perfbudget = verdict.to_wire()  # type: ignore[attr-defined]
        if verdict.summary is not None:
            report.sections.append(("perfbudget", _section(verdict)))

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        data = getattr(report, "perfbudget", None)
        if report.when != "call" or not report.failed or not data:
            return None
        word = _STATUS_WORDS.get(Status(data["status"]))
        return ("failed", "F", (word, {"red": True})) if word else None

    # -- collecting and reporting (controller) --------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "perfbudget", None)
        if data and report.when == "call":
            self.verdicts[report.nodeid] = Verdict.from_dict(data)
            if hasattr(report, "node") and XDIST_NOTE not in self._notes:  # sent by an xdist worker
                self._notes.append(XDIST_NOTE)

    def pytest_report_header(self, config: pytest.Config) -> str:
        return f"perfbudget: {self.settings.describe()}"

    def machine(self) -> dict[str, Any]:
        """The machine fingerprint, with what ``pytest_perfbudget_machine_info`` adds."""
        if self._machine is None:
            from pytest_perfbudget.machine import fingerprint

            info: dict[str, Any] = {}
            self.config.hook.pytest_perfbudget_machine_info(config=self.config, info=info)
            self._machine = fingerprint(info)
        return self._machine

    def machine_line(self) -> str:
        from pytest_perfbudget.machine import describe

        return describe(self.machine())

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for line in self._notes:
            terminalreporter.write_line(f"perfbudget: {line}", yellow=True)
        if not self.verdicts:
            return
        from pytest_perfbudget.report.terminal import counts_line, render_table

        verdicts = list(self.verdicts.values())
        width = terminalreporter._tw.fullwidth
        terminalreporter.write_sep("=", "perfbudget: " + counts_line(verdicts))
        for line in render_table(verdicts, verbosity=self.config.get_verbosity(), width=width):
            terminalreporter.write_line(line)
        if any(v.status is Status.IMPROVED for v in verdicts):
            terminalreporter.write_line(
                "improved tests: tighten their budgets, or refresh the baseline "
                "(perfbudget refresh) so later slowdowns are measured from the new level"
            )
        for line in self._saved:
            terminalreporter.write_line(line)
        from pytest_perfbudget.report import github

        if github.in_github_actions():
            for line in github.annotations(verdicts, self.fails):
                terminalreporter.write_line(line)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker or self.settings.disable:
            return
        verdicts = sorted(self.verdicts.values(), key=lambda v: v.nodeid)
        try:
            self._write_reports(verdicts)
            if self.settings.save and exitstatus != pytest.ExitCode.INTERRUPTED:
                self._save(verdicts)
        except (PerfbudgetError, OSError) as exc:  # SpecError included: a bad reporter hook
            self._notes.append(f"error: {exc}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _save(self, verdicts: list[Verdict]) -> None:
        from pytest_perfbudget import __version__
        from pytest_perfbudget.baseline import entry_from_verdict, save
        from pytest_perfbudget.machine import git_commit
        from pytest_perfbudget.regression import machine_probe

        keep = [v for v in verdicts if _savable(v) and not self.fails(v)]
        if not keep:
            return
        current = self.baseline.entries if self.baseline else {}
        commit, probe = git_commit(self.settings.rootdir), machine_probe()
        entries = [
            entry_from_verdict(
                v, current.get(v.nodeid), machine=self.machine_id(), commit=commit, reference=probe
            )
            for v in keep
        ]
        result = save(
            self.settings.baseline,
            entries,
            machine=self.machine(),
            generator=f"pytest-perfbudget {__version__}",
        )
        where = _display(result.path, self.settings.rootdir)
        self._saved.append(f"perfbudget: saved {len(entries)} baseline entries to {where}")

    def _write_reports(self, verdicts: list[Verdict]) -> None:
        from pytest_perfbudget import __version__
        from pytest_perfbudget.report import github
        from pytest_perfbudget.report.markdown import render_markdown

        if self.settings.json is not None:
            from pytest_perfbudget.report.json import build_report, write_report

            report = build_report(
                verdicts,
                machine=self.machine(),
                settings={"description": self.settings.describe()},
                generator=f"pytest-perfbudget {__version__}",
                duration=time.perf_counter() - self._started,
            )
            write_report(self.settings.json, report)
        if not verdicts:
            return
        markdown = render_markdown(
            verdicts, machine=self.machine_line(), against=self.settings.against
        )
        if self.settings.markdown is not None:
            from pytest_perfbudget.baseline import atomic_write

            self.settings.markdown.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.settings.markdown, markdown)
        github.append_step_summary(markdown)
        for writers in self.config.hook.pytest_perfbudget_reporters(config=self.config):
            for writer in writers or ():
                if not callable(getattr(writer, "write", None)):
                    raise SpecError(
                        f"pytest_perfbudget_reporters returned {writer!r}, which has no "
                        "write(verdicts) method"
                    )
                writer.write(verdicts)


def _savable(verdict: Verdict) -> bool:
    from pytest_perfbudget.integrations import tracer_unpaused

    meas = verdict.measurement
    if verdict.status in (Status.FAILED, Status.SKIPPED) or tracer_unpaused(meas):
        return False
    return bool(meas and meas.sample_ns)


def _display(path: Path, rootdir: Path) -> str:
    try:
        return str(path.relative_to(rootdir))
    except ValueError:
        return str(path)


_REGRESSION_STATUS = {
    "regressed": Status.REGRESSED,
    "improved": Status.IMPROVED,
    "unchanged": Status.UNCHANGED,
    "inconclusive": Status.INCONCLUSIVE,
}


def _status(limits: Status, regression: str | None) -> Status:
    """Over budget beats regressed, which beats inconclusive; then the change decides."""
    change = _REGRESSION_STATUS.get(regression or "")
    if limits is Status.OVER_BUDGET or change is None:
        return limits
    if change is Status.REGRESSED or limits is Status.INCONCLUSIVE:
        return change if change is Status.REGRESSED else limits
    return change


def _load_baseline(path: Path) -> Baseline | None:
    """The baseline at ``path`` (None when there is none); unreadable is a usage error."""
    if not path.exists():
        return None
    from pytest_perfbudget.baseline import load
    from pytest_perfbudget.errors import BaselineError

    try:
        return load(path)
    except BaselineError as exc:
        raise pytest.UsageError(str(exc)) from exc


def _location(item: pytest.Item) -> tuple[str, int] | None:
    path, line, _ = item.location
    return (path, line + 1) if line is not None else None


def _section(verdict: Verdict) -> str:
    from pytest_perfbudget.units import format_duration

    summary = verdict.summary
    assert summary is not None
    meas = verdict.measurement
    stats = "  ".join(
        f"{name} {format_duration(summary.value(name))}"
        for name in ("min", "p50", "p95", "p99", "mean", "max")
    )
    how = f"{meas.mode}, {meas.timer} clock, {meas.iterations} call(s)/sample" if meas else ""
    return f"n={summary.n} ({how})\n{stats}"
