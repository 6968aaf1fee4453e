"""All pytest glue: options, the ``budget`` marker, the ``perf`` fixture, hooks.

Nothing below this module sees a pytest object: items, markers and options are
turned into plain values here. Heavy modules (numpy, the engine's runner) are
imported only when a budgeted or measured test runs; the engine's clocks are
imported with this module, so that they are the real ones even when a test
fakes time (freezegun).
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_perfbudget import session, spec
from pytest_perfbudget.engine.clock import clock_for, wall_seconds  # real, before tests fake time
from pytest_perfbudget.errors import ConfigError, PerfbudgetError, RepetitionError, SpecError
from pytest_perfbudget.model import Budget, Change, Measurement, Status, Verdict
from pytest_perfbudget.settings import Settings, load_table, settings_from_table

if TYPE_CHECKING:
    from _pytest.capture import CaptureManager

    from pytest_perfbudget.baseline import Baseline, BaselineEntry
    from pytest_perfbudget.engine.runner import Plan
    from pytest_perfbudget.measure import Judgement, Perf, Reference
    from pytest_perfbudget.paired import PairedMode
    from pytest_perfbudget.recheck import Rechecker

    #: A call to profile when a test fails its budget, and the setup it needs first.
    _Target = tuple[Callable[[], object], Callable[[], object] | None]

__all__ = ["PerfbudgetPlugin", "budget_key", "perf", "plugin_key"]

budget_key = pytest.StashKey["Budget | None"]()
perf_key = pytest.StashKey["Perf"]()
plugin_key = pytest.StashKey["PerfbudgetPlugin"]()
running_key = pytest.StashKey[bool]()
#: The verdict of a test's call and the exception that fails it, until its report is made.
judged_key = pytest.StashKey["tuple[Verdict | None, BaseException | None]"]()
#: A doctest's globals as its own call began: doctest clears them after every run.
doctest_globals_key = pytest.StashKey["dict[str, object]"]()

MARKER_HELP = (
    "budget(p95=200, ...): performance budget of this test. Statistics p50 p75 p90 p95 p99 "
    "p999 median mean max are upper limits (bare number = ms, or '250us', '5ms', '1s'); "
    "memory='64MB' limits peak traced memory of one call; regression='10%' (or False) sets "
    "the allowed slowdown against the baseline; rounds, max_time, warmup, timer='wall'|'cpu', "
    "gc tune the measurement. See https://pytest-perfbudget.readthedocs.io/"
)
#: The key of the node ids an xdist worker deselected, in its ``workeroutput``.
_DESELECTED = "perfbudget_deselected"
#: Times a test's own call (see ``Runner``'s ``warm_call_ns``).
_WALL_NS = clock_for("wall")
XDIST_NOTE = (
    "budgeted tests ran in parallel xdist workers, which compete for the CPU and perturb "
    "timings; run them in a serial step of their own (`pytest -p no:xdist -m budget`)"
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
    group.addoption(
        "--perfbudget-prune",
        action="store_true",
        help="with --perfbudget-save: drop the baseline entries of tests that no longer "
        "exist (not collected from a test file this run collected, or whose file is gone)",
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
        "--perfbudget-recheck",
        action="store_true",
        help="measure each regression this run flags once more in a fresh pytest process "
        "that runs the test alone, and count it only if that process reads it too",
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
        "prune": config.getoption("perfbudget_prune") or None,
        "baseline": _path(config, "perfbudget_baseline"),
        "json": _path(config, "perfbudget_json"),
        "markdown": _path(config, "perfbudget_markdown"),
        "disable": config.getoption("perfbudget_disable") or None,
        "strict": config.getoption("perfbudget_strict") or None,
        "recheck": config.getoption("perfbudget_recheck") or None,
        "against": config.getoption("perfbudget_against"),
    }
    if overrides["prune"] and not overrides["save"]:
        raise pytest.UsageError(
            "--perfbudget-prune drops baseline entries when a run saves: use it with "
            "--perfbudget-save (or perfbudget refresh --perfbudget-prune)"
        )
    try:
        table = load_table(source)
        settings = settings_from_table(
            table, rootdir=config.rootpath, source=source, overrides=overrides
        )
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from exc
    report = _rechecking()
    if report is not None:  # measuring a test again for a run: its report is all it writes
        settings = replace(
            settings, json=report, markdown=None, save=False, recheck=False, against=None
        )
    return settings


def _rechecking() -> Path | None:
    """The report path of this process, when it measures a test again for a run that
    asked for a ``recheck`` (see ``pytest_perfbudget/recheck.py``)."""
    import os

    from pytest_perfbudget.envvars import RECHECK_ENV

    report = os.environ.get(RECHECK_ENV)
    return Path(report) if report else None


def _refresh_only() -> frozenset[str] | None:
    """The node ids ``perfbudget refresh --wide`` runs, when this process is one of its
    runs; a file that cannot be read is a usage error."""
    import json
    import os

    from pytest_perfbudget.envvars import REFRESH_ONLY_ENV

    path = os.environ.get(REFRESH_ONLY_ENV)
    if not path:
        return None
    try:
        nodeids = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise pytest.UsageError(f"{REFRESH_ONLY_ENV}={path}: cannot read it: {exc}") from exc
    if not isinstance(nodeids, list) or not all(isinstance(n, str) for n in nodeids):
        raise pytest.UsageError(f"{REFRESH_ONLY_ENV}={path}: expected a JSON list of node ids")
    return frozenset(nodeids)


def _path(config: pytest.Config, name: str) -> Path | None:
    value = config.getoption(name)
    return Path(value).absolute() if value else None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    plugin = PerfbudgetPlugin(config, _settings(config))
    _configure_paired(config, plugin)  # --perfbudget-against (pytest_perfbudget/paired)
    config.stash[plugin_key] = plugin
    config.pluginmanager.register(plugin, "perfbudget-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.stash.get(plugin_key, None)
    if plugin is not None:
        if plugin.paired is not None:  # --perfbudget-against: stop workers, remove worktree
            plugin.paired.close()
        if plugin._measuring is not None:
            config.pluginmanager.unregister(plugin._measuring)
        config.pluginmanager.unregister(plugin)
        del config.stash[plugin_key]


@pytest.fixture
def perf(request: pytest.FixtureRequest) -> Generator[Perf, None, None]:
    """Measure a callable (``perf(fn, *args)``), a block (``with perf.sample():``)
    or an external duration (``perf.record(seconds)``) under the test's budget."""
    plugin = request.config.stash[plugin_key]
    item = request.node
    measurer = plugin.perf_measurer(item, plugin.budget_of(item) or Budget(source="none"))
    item.stash[perf_key] = measurer
    yield measurer
    measurer.close()
    del item.stash[perf_key]  # its samples and baseline: items live to the end of the run


class PerfbudgetPlugin:
    """Session state: settings, budgets, verdicts, and the end-of-run reports."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.verdicts: dict[str, Verdict] = {}
        self.is_worker = hasattr(config, "workerinput")
        self.paired: PairedMode | None = None  # set by _configure_paired
        self.baseline = None if settings.disable else _load_baseline(settings.baseline)
        self._started = wall_seconds()
        self._machine: dict[str, Any] | None = None
        self._notes: list[str] = []
        self._measuring: _MeasuringHooks | None = None
        #: Regressions this process confirmed (see ``measure.SPREAD_REGRESSIONS``).
        self._regressions = 0
        #: This process measures a test again for a run (``recheck``): it confirms a
        #: regression it reads in one block, its verdict is the run's to make.
        self._rechecking = _rechecking() is not None
        #: What measures tests in fresh processes (``recheck``), once one is needed.
        self._rechecker: Rechecker | None = None
        #: Verdicts came from pytest-xdist workers (saved as their ``harness``).
        self._from_workers = False
        #: The call report this process last gave a verdict, and the verdict: the
        #: controller keeps that very object (one copy of its samples), not a decoded one.
        self._attached: tuple[pytest.TestReport, Verdict] | None = None
        #: The ``budget`` mark given to the tests a pattern budgets (no budget of its own).
        self._pattern_mark: pytest.Mark | None = None
        #: The node ids a saving run collected, deselected ones and those of xdist's
        #: workers included: a save drops (``--perfbudget-prune``) or counts the entries
        #: of tests that no longer exist (``session.gone_tests``).
        self._collected: set[str] = set()
        #: The only tests to run, in a run of ``perfbudget refresh --wide``.
        self._only = _refresh_only()

    # -- budgets and baseline entries --------------------------------------------

    def budget_of(self, item: pytest.Item) -> Budget | None:
        """The budget of ``item`` (evaluated once); raises SpecError on bad input."""
        if budget_key not in item.stash:
            item.stash[budget_key] = self._evaluate(item)
        return item.stash[budget_key]

    def _evaluate(self, item: pytest.Item) -> Budget | None:
        markers = [mark for mark in item.iter_markers("budget") if mark is not self._pattern_mark]
        if markers:
            budgets = [spec.budget_from_marker(m.args, m.kwargs) for m in reversed(markers)]
            budget = spec.merge(budgets)
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

    def entry(self, nodeid: str) -> BaselineEntry | None:
        """The baseline entry of ``nodeid``, if the baseline has one.

        Entries are decoded at each lookup; a corrupt one errors that test with a
        message naming the file and the entry (never "no baseline").
        """
        from pytest_perfbudget.errors import BaselineError

        try:
            return self.baseline.entries.get(nodeid) if self.baseline else None
        except BaselineError as exc:
            error = str(exc)
        pytest.fail(error, pytrace=False)

    def perf_measurer(self, item: pytest.Item, budget: Budget, mode: str | None = None) -> Any:
        """What ``perf`` measures ``item`` with under ``budget``: a
        :class:`~pytest_perfbudget.measure.Perf` compared with a baseline entry of
        samples taken in ``mode`` (when None, in the mode the test first uses), or in
        paired mode the worker pair's."""
        from pytest_perfbudget.measure import Perf

        plan = session.plan_for(budget, self.settings)
        if self.paired is not None:  # --perfbudget-against: logic in pytest_perfbudget/paired
            return self.paired.perf(item.nodeid, budget, plan)
        return Perf(
            budget,
            plan,
            enabled=not self.settings.disable,
            reference=self.reference_for(item, budget, plan.timer, mode),
            precise=self.settings.save,
        )

    def benchmark_serving(self, item: pytest.Item) -> contextlib.AbstractContextManager[None]:
        """For a budgeted test whose pytest-benchmark fixture is off: ``benchmark(fn)``
        timed as ``perf(fn)`` (:func:`_served`) in the call and its judging, where the
        fixture would call ``fn`` once and the test body would be timed. Nothing for
        any other test, nor in paired mode (its workers serve the fixture)."""
        fixture = _benchmark_fixture(item)
        if (
            fixture is None
            or perf_key in item.stash
            or self.settings.disable
            or self.paired is not None
            or not _disabled_benchmark(fixture)
            or (budget := self.budget_of(item)) is None
        ):
            return contextlib.nullcontext()
        return _served(item, fixture, self.perf_measurer(item, budget, "perf"))

    def reference_for(
        self, item: pytest.Item, budget: Budget, timer: str, mode: str | None = None
    ) -> Reference | None:
        """The stored comparison for ``item``, when its baseline entry can be compared
        with samples taken in ``mode`` (any, when None). None under a tracer that timing
        would leave running: its timings are not compared (``session.build_verdict``),
        so a slowdown it causes is not re-measured to confirm it."""
        from pytest_perfbudget.engine.tracing import tracer_left_running
        from pytest_perfbudget.measure import SPREAD_REGRESSIONS

        if tracer_left_running():
            return None

        nodeid = item.nodeid

        def estimate(now: Sequence[float], base: Sequence[float]) -> Change:
            result = self.config.hook.pytest_perfbudget_compare(
                config=self.config, nodeid=nodeid, now=now, baseline=base
            )
            return session.checked_change(result, nodeid)

        fresh = self._fresh(nodeid)
        return session.reference_for(
            self.entry(nodeid),
            budget,
            self.settings,
            timer=timer,
            machine_id=self.machine_id(),
            estimate=estimate,
            spread=self._regressions < SPREAD_REGRESSIONS and not self._rechecking,
            mode=mode,
            recheck=fresh if self.settings.recheck else None,
            fresh=fresh,
        )

    def _fresh(self, nodeid: str) -> Callable[[str | None], Measurement] | None:
        """How to measure ``nodeid`` again in a fresh pytest process (made when first
        called), when the run gates on regressions here (not saving, not paired, not
        itself such a process): every flagged regression when the run asks for it
        (``recheck``), and always one flagged on samples the test takes itself."""
        settings = self.settings
        if settings.save or self.paired is not None or self._rechecking:
            return None
        return functools.partial(self._measure_fresh, nodeid)

    def _measure_fresh(self, nodeid: str, tracer: str | None) -> Measurement:
        """``nodeid`` measured in a fresh pytest process (``Rechecker.measure``); the
        first call makes the run's ``Rechecker``, and a folder for what other plugins
        write in those processes, removed when the run ends."""
        if self._rechecker is None:
            import shutil
            import tempfile

            from pytest_perfbudget.recheck import Rechecker

            scratch = Path(tempfile.mkdtemp(prefix="perfbudget-recheck-"))
            self.config.add_cleanup(functools.partial(shutil.rmtree, scratch, ignore_errors=True))
            args = _recheck_args(self.config, self.settings.baseline, scratch)
            self._rechecker = Rechecker(args, self.config.rootpath)
        return self._rechecker.measure(nodeid, tracer)

    @pytest.hookimpl(trylast=True)
    def pytest_perfbudget_compare(
        self, config: pytest.Config, nodeid: str, now: Sequence[float], baseline: Sequence[float]
    ) -> Change:
        from pytest_perfbudget.regression import estimate_change

        return estimate_change(now, baseline)

    @pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """In a run of ``perfbudget refresh --wide``, deselect the tests it does not
        refresh. Mark each test a pattern budgets, and no marker does, ``budget``: ``-m
        budget`` selects every budgeted test. Its budget is still the pattern's
        (``_evaluate``)."""
        if self._only is not None:
            others = [item for item in items if item.nodeid not in self._only]
            if others:
                items[:] = [item for item in items if item.nodeid in self._only]
                self.config.hook.pytest_deselected(items=others)
        patterns = self.settings.patterns
        if not patterns:
            return
        decorator = pytest.mark.budget  # made here: the marker is registered by now
        self._pattern_mark = decorator.mark
        for item in items:
            if (
                item.get_closest_marker("budget") is None
                and spec.match(item.nodeid, patterns) is not None
            ):
                item.add_marker(decorator)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.settings.save:
            self._collected.update(item.nodeid for item in session.items)
        # The per-test hooks cost every test a little; a run with nothing to measure
        # does without them. (An xdist controller collects nothing and needs none.)
        if self._measuring is not None:
            return
        if any(self._needs_measuring(item) for item in session.items):
            self._measuring = _MeasuringHooks(self)
            self.config.pluginmanager.register(self._measuring, "perfbudget-measuring")

    def pytest_deselected(self, items: Sequence[pytest.Item]) -> None:
        if not self.settings.save:
            return
        nodeids = [item.nodeid for item in items]
        self._collected.update(nodeids)
        output = getattr(self.config, "workeroutput", None)
        if output is not None:  # an xdist worker: for the controller (pytest_testnodedown)
            output.setdefault(_DESELECTED, []).extend(nodeids)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: Sequence[str]) -> None:
        if self.settings.save:
            self._collected.update(ids)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        if self.settings.save:
            self._collected.update(getattr(node, "workeroutput", {}).get(_DESELECTED, ()))

    def _needs_measuring(self, item: pytest.Item) -> bool:
        if item.get_closest_marker("budget") is not None:
            return True
        if item.stash.get(budget_key, None) is not None:  # a paired worker's (see below)
            return True
        return _uses_perf(item)

    # -- measuring and judging -----------------------------------------------------

    def _judge_call(
        self, item: pytest.Item, call_ns: int
    ) -> tuple[Verdict | None, BaseException | None]:
        """The verdict on a test whose call passed (in ``call_ns`` wall-clock ns), and
        the exception that fails it."""
        fail = pytest.fail.Exception
        try:
            judged = self._judge(item, call_ns)
        except fail as exc:  # its baseline entry is corrupt (see entry())
            return None, exc
        except RepetitionError as exc:
            return None, fail(
                _repetition_text(item.nodeid, self.budget_of(item), exc), pytrace=False
            )
        except Exception as exc:  # bad perf usage
            text = f"perfbudget could not measure {item.nodeid}: {type(exc).__name__}: {exc}"
            return None, fail(text, pytrace=False)
        if judged is None:
            return None, None
        from pytest_perfbudget.machine import hash_seed

        judgement, target = judged
        self._regressions += judgement.regression == "regressed"
        verdict = session.build_verdict(
            item.nodeid,
            self.budget_of(item) or Budget(source="none"),
            judgement,
            self.entry(item.nodeid),
            machine_id=self.machine_id(),
            expects_entry=self.baseline is not None or self.settings.strict,
            location=_location(item),
            harness=session.harness(judgement.measurement, xdist=self.is_worker),
            hash_seed=hash_seed(),
        )
        if verdict.status in _OFF_BUDGET and judgement.measurement.mode in ("body", "fresh"):
            from pytest_perfbudget.integrations import HYPOTHESIS_NOTE, is_hypothesis_test

            if is_hypothesis_test(getattr(item, "obj", None)):  # timed with all its examples
                verdict = replace(verdict, messages=(*verdict.messages, HYPOTHESIS_NOTE))
        if self.paired is not None:  # --perfbudget-against: logic in pytest_perfbudget/paired
            verdict = self.paired.verdict(item.nodeid, verdict.budget, judgement, verdict.location)
        item.ihook.pytest_perfbudget_verdict(item=item, verdict=verdict)
        if not session.fails(verdict, self.settings):
            return verdict, None
        from pytest_perfbudget.compare import failure_text

        text = failure_text(verdict, machine=self.machine_line())
        if target is not None:
            text += self._hotspots(item.nodeid, *target)
        return verdict, fail(text, pytrace=False)

    def _hotspots(
        self, nodeid: str, call: Callable[[], object], setup: Callable[[], object] | None
    ) -> str:
        """The top functions of one profiled call; the .pstats goes next to the JSON report."""
        from pytest_perfbudget.engine.tracing import warnings_dropped
        from pytest_perfbudget.hotspots import profile_call

        try:
            with warnings_dropped():  # one more call: its warnings were shown already
                if setup is not None:
                    setup()
                hotspots = profile_call(call)
        except _REPEAT_FAILURES as exc:  # profiling is a diagnosis: never an error
            return f"\nhotspots: profiling failed: {type(exc).__name__}: {exc}"
        text = "\nhotspots (one profiled call, by own time):\n" + "\n".join(hotspots.lines)
        if self.settings.json is not None:
            folder = self.settings.json.with_name(self.settings.json.stem + ".profiles")
            text += f"\nprofile saved to {hotspots.dump(folder, nodeid)}"
        return text

    def _judge(self, item: pytest.Item, call_ns: int) -> tuple[Judgement, _Target | None] | None:
        """Judge the test's own samples, pytest-benchmark's, or its timed body (its own
        call took ``call_ns``)."""
        measurer = item.stash.get(perf_key, None)
        budget = self.budget_of(item)
        if measurer is None and budget is None:
            return None  # neither budgeted nor measured: nothing to import, nothing to do
        if self.paired is not None:  # --perfbudget-against: logic in pytest_perfbudget/paired
            return _judge_paired(self, self.paired, item)
        from pytest_perfbudget.measure import judge_samples

        if measurer is not None:
            if measurer.judgement is not None:
                target, judgement = measurer.target, measurer.judgement
                if isinstance(_benchmark_fixture(item), _ServedBenchmark):
                    from pytest_perfbudget.integrations import BENCHMARK_SERVED

                    judgement = replace(judgement, messages=(*judgement.messages, BENCHMARK_SERVED))
                return judgement, None if target is None else (target, measurer.target_setup)
            measurement = measurer.measurement()
            if measurement is not None:
                return judge_samples(measurement, measurer.budget, measurer.reference), None
        return None if budget is None else self._judge_body(item, budget, call_ns)

    def _judge_body(
        self, item: pytest.Item, budget: Budget, call_ns: int
    ) -> tuple[Judgement, _Target | None]:
        """A budgeted test measured by repeating its body, or by pytest-benchmark.

        A body that fails when repeated on the same fixtures is timed again with its
        function-scoped fixtures torn down and set up afresh before each call (untimed):
        a test that changes what its fixtures hold (routes added to a web app fixture,
        say) can be repeated that way. The test's own call (``call_ns``) warmed the body
        up, and stands for a warm-up call (see ``Runner``)."""
        from pytest_perfbudget.engine.tracing import warnings_dropped
        from pytest_perfbudget.integrations import fresh_fixtures_note
        from pytest_perfbudget.measure import judge_samples

        plan = session.plan_for(budget, self.settings)
        fixture = _benchmark_fixture(item)
        body = _body(item)
        if fixture is not None:
            from pytest_perfbudget.integrations import benchmark_measurement

            samples = benchmark_measurement(fixture)
            if samples is not None:
                reference = self.reference_for(item, budget, plan.timer, "benchmark")
                repeat = _benchmark_again(fixture, body)
                return judge_samples(samples, budget, reference, again=repeat), None
        if budget.warmup is None:  # the test's own call has just warmed the body up
            plan = replace(plan, warmup=0.0)
        with warnings_dropped():  # the test's own call showed them once
            judgement, failure = self._time_body(item, body, budget, plan, None, call_ns=call_ns)
            setup = _fixture_refresher(item) if failure is not None and fixture is None else None
            if setup is not None:
                judgement, again = self._time_body(item, body, budget, plan, setup, call_ns=call_ns)
                if judgement is not None:
                    note = fresh_fixtures_note(failure)
                    judgement = replace(judgement, messages=(*judgement.messages, note))
                failure = f"{failure}; and with its fixtures set up afresh for each call: {again}"
        if judgement is None:
            raise RepetitionError(failure)
        if fixture is not None:
            from pytest_perfbudget.integrations import BENCHMARK_FALLBACK

            judgement = replace(judgement, messages=(*judgement.messages, BENCHMARK_FALLBACK))
        return judgement, (body, setup)

    def _time_body(
        self,
        item: pytest.Item,
        body: Callable[[], object],
        budget: Budget,
        plan: Plan,
        setup: Callable[[], object] | None,
        *,
        call_ns: int,
    ) -> tuple[Judgement, None] | tuple[None, str]:
        """Time ``body`` (after ``setup`` each call, when given): the judgement, or
        what a call raised. What the failed call's frames hold is let go of before
        this returns: kept by its traceback to a garbage collection in a later test
        (a file it left open, say), its warnings would be that test's."""

        from pytest_perfbudget.measure import judge_callable

        mode = "body" if setup is None else "fresh"
        reference = self.reference_for(item, budget, plan.timer, mode)
        precise = self.settings.save
        try:
            judgement, _ = judge_callable(
                body,
                budget,
                plan,
                mode=mode,
                reference=reference,
                precise=precise,
                setup=setup,
                warm_call_ns=call_ns,
            )
        except _REPEAT_FAILURES as exc:
            failure = _body_failure(exc, body, setup)
            if failure is None:
                raise  # the plugin's: "could not measure", not the body's failure
        else:
            return judgement, None
        return None, failure

    def _attach(self, item: pytest.Item, report: pytest.TestReport, verdict: Verdict) -> None:
        report.perfbudget = verdict.to_wire()  # type: ignore[attr-defined]
        if not self.is_worker:  # read back by pytest_runtest_logreport, not decoded
            self._attached = (report, verdict)
        if verdict.summary is not None:
            report.sections.append(("perfbudget", session.section(verdict)))

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, str] | None:
        data = getattr(report, "perfbudget", None)
        if report.when != "call" or not report.failed or not data:
            return None
        word = _STATUS_WORDS.get(Status(data["status"]))
        # A plain word: pytest < 8.3 prints a (word, markup) pair raw in the short summary.
        return ("failed", "F", word) if word else None

    # -- collecting and reporting (controller) --------------------------------------

    @pytest.hookimpl(trylast=True)  # in an xdist worker, after xdist has sent the report
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "perfbudget", None)
        attached, self._attached = self._attached, None
        if data and report.when == "call" and self.is_worker:
            data["sample_ns"] = None  # sent; a worker keeps its reports to the end too
        elif data and report.when == "call":
            # A report made in this process brings its verdict along; one from an
            # xdist worker only its wire form. Either way its samples are read now,
            # and pytest keeps the report to the end of the run: drop them from it.
            if attached is not None and attached[0] is report:
                verdict = attached[1]
            else:
                verdict = Verdict.from_dict(data)
            data["sample_ns"] = None
            if verdict.status is Status.FAILED and hasattr(report, "wasxfail"):
                # pytest counts an expected failure as skipped: so do we, not as failed
                note = f"xfailed: {report.wasxfail}" if report.wasxfail else "xfailed"
                verdict = replace(verdict, status=Status.SKIPPED, messages=(note,))
            self.verdicts[report.nodeid] = verdict
            if hasattr(report, "node"):  # from an xdist worker
                self._from_workers = True
                if XDIST_NOTE not in self._notes:
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

    def machine_id(self) -> str:
        """The short id of this machine's fingerprint."""
        from pytest_perfbudget.machine import machine_id

        return machine_id(self.machine())

    def machine_line(self) -> str:
        """The fingerprint in one line, for failure messages."""
        from pytest_perfbudget.machine import describe

        return describe(self.machine())

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for note in self._notes:
            terminalreporter.write_line(f"perfbudget: {note}", yellow=True)
        if not self.verdicts:
            return
        from pytest_perfbudget.report import github
        from pytest_perfbudget.report.terminal import counts_line, reasons, render_table

        verdicts = list(self.verdicts.values())
        width = terminalreporter._tw.fullwidth
        verbosity = self.config.get_verbosity()
        terminalreporter.write_sep("=", "perfbudget: " + counts_line(verdicts))
        for line in render_table(verdicts, verbosity=verbosity, width=width):
            terminalreporter.write_line(line)
        passing = [v for v in verdicts if not session.fails(v, self.settings)]  # failures say why
        for line in reasons(passing, verbosity=verbosity):
            terminalreporter.write_line(line)
        improved = [v for v in verdicts if v.status is Status.IMPROVED]
        if any(v.change is None or v.change.mode != "paired" for v in improved):
            terminalreporter.write_line(
                "improved tests: if the code got faster, tighten their budgets or refresh the "
                "baseline (perfbudget refresh) so later slowdowns are measured from the new "
                "level; if it did not, the save ran them in a slow moment of the machine: "
                "perfbudget refresh --runs 5 keeps each test's fastest of five runs"
            )
        elif improved:  # paired mode has no baseline file to refresh
            terminalreporter.write_line("improved tests: tighten their budgets to keep the gain")
        if github.in_github_actions():
            failing = functools.partial(session.fails, settings=self.settings)
            for line in github.annotations(verdicts, failing, self.config.rootpath):
                terminalreporter.write_line(line)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker or self.settings.disable:
            return
        try:
            self._finish(exitstatus)
        except (PerfbudgetError, OSError) as exc:  # SpecError included: a bad reporter hook
            self._notes.append(f"error: {exc}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _finish(self, exitstatus: int) -> None:
        verdicts = sorted(self.verdicts.values(), key=lambda v: v.nodeid)
        if not self.settings.save:
            self._notes += session.few_runs_regressed(verdicts, self.baseline, self.machine_id())
        if self.settings.save and exitstatus != pytest.ExitCode.INTERRUPTED:
            self._notes += session.save_baseline(
                verdicts,
                self.settings,
                self.baseline,
                machine=self.machine(),
                machine_id=self.machine_id(),
                xdist=self._from_workers,
                gone=session.gone_tests(
                    self._collected, self.config.rootpath, partial=_named_files(self.config)
                ),
            )
        session.write_outputs(
            verdicts,
            self.settings,
            machine=self.machine(),
            machine_line=self.machine_line(),
            duration=wall_seconds() - self._started,
        )
        for writers in self.config.hook.pytest_perfbudget_reporters(config=self.config):
            for writer in writers or ():
                _write_with(writer, verdicts)


def _named_files(config: pytest.Config) -> set[str]:
    """The test files, relative to the rootdir, of the node ids given as arguments
    (``tests/test_a.py::test_b``): the run collects only part of each."""
    named = set()
    rootdir = config.rootpath.resolve()
    for arg in config.args:
        path, sep, _ = arg.partition("::")
        if sep:
            with contextlib.suppress(ValueError):  # outside the rootdir
                file = (config.invocation_params.dir / path).resolve()
                named.add(file.relative_to(rootdir).as_posix())
    return named


class _MeasuringHooks:
    """The per-test hooks, registered once a collected test is budgeted or uses ``perf``."""

    def __init__(self, plugin: PerfbudgetPlugin) -> None:
        self.plugin = plugin
        #: The test in its own call, and whether a subtest of it has failed.
        self._running: pytest.Item | None = None
        self._subtest_failed = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        try:
            budget = self.plugin.budget_of(item)
        except SpecError as exc:
            error = f"invalid budget for {item.nodeid}: {exc}"
        else:
            measured = budget is not None or _uses_perf(item)
            if measured and not self.plugin.settings.disable:
                _import_judging()
            return
        pytest.fail(error, pytrace=False)

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        # The innermost wrapper: the test is judged (its body repeated, if that is how it
        # is measured) while pytest still captures its output and its capsys or capfd
        # fixture works, and a broken budget is raised as the call's exception, so xfail
        # and every other plugin see an ordinary failure. Reports made while the test
        # runs are subtests': only the test's own call report gets the verdict, and a
        # test with a failed subtest has failed: it is not judged.
        plugin = self.plugin
        item.stash[running_key] = True
        self._running, self._subtest_failed = item, False
        doctest_globals = getattr(getattr(item, "dtest", None), "globs", None)
        if isinstance(doctest_globals, dict) and plugin.budget_of(item) is not None:
            item.stash[doctest_globals_key] = dict(doctest_globals)  # a budgeted doctest
        try:
            with plugin.benchmark_serving(item):
                began = _WALL_NS()
                result = yield
                call_ns = _WALL_NS() - began
                self._running = None
                if not plugin.settings.disable and not self._subtest_failed:
                    with _quiet(item), _logs_dropped(item):
                        judged = plugin._judge_call(item, call_ns)
                    item.stash[judged_key] = judged
                    if judged[1] is not None:
                        raise judged[1]
            return result
        finally:
            item.stash[running_key] = False
            self._running = None
            if doctest_globals_key in item.stash:  # the module's names: not kept to the end
                del item.stash[doctest_globals_key]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # pytest 9's subtests, and pytest-subtests', report while their test runs
        running = self._running
        if running is not None and report.failed and report.nodeid == running.nodeid:
            self._subtest_failed = True

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        plugin = self.plugin
        running = item.stash.get(running_key, False)
        ours = call.when == "call" and not running and not plugin.settings.disable
        verdict, failure = item.stash.get(judged_key, (None, None)) if ours else (None, None)
        if ours:
            item.stash[judged_key] = (None, None)
        if call.excinfo is not None and call.excinfo.value is not failure:
            verdict = None  # the test failed, or something after the judging did
        report = yield
        if verdict is not None and failure is None and not report.passed:
            verdict = None  # a unittest.TestCase that failed or skipped itself: it says so late
        if verdict is not None:
            plugin._attach(item, report, verdict)
        elif ours and (budget := item.stash.get(budget_key, None)) is not None:
            status = Status.SKIPPED if report.skipped else Status.FAILED
            plugin._attach(item, report, Verdict(item.nodeid, status, budget))
        return report


#: The modules that measuring and judging a test import on first use.
_JUDGING_MODULES = (
    "numpy.ma",  # numpy imports it on first use, from np.percentile
    "traceback",
    "pytest_perfbudget.compare",
    "pytest_perfbudget.hotspots",
    "pytest_perfbudget.integrations",
    "pytest_perfbudget.lazy",
    "pytest_perfbudget.machine",
    "pytest_perfbudget.measure",
    "pytest_perfbudget.regression",
    "pytest_perfbudget.stats",
)


def _import_judging() -> None:
    """Import what judging a test needs before the test runs: a test that replaces
    ``sys.modules`` for its call (``monkeypatch.setattr(sys, "modules", {})``) would
    make importing them then fail. Once imported, ``import`` finds them without
    ``sys.modules``."""
    import importlib

    for name in _JUDGING_MODULES:
        importlib.import_module(name)


#: The statuses whose message of a budgeted ``@given`` test says what its samples hold.
_OFF_BUDGET = frozenset((Status.OVER_BUDGET, Status.REGRESSED, Status.INCONCLUSIVE))

#: What a repeated call of a test's body can raise that fails the measurement, as
#: pytest fails a test that raises it: any exception (``pytest.exit()``'s too),
#: ``SystemExit`` (code that calls ``sys.exit()`` on an error, as uvicorn does when
#: its socket is taken), and pytest's outcomes, which derive from BaseException
#: (``pytest.fail()``, or ``pytest.raises``/``pytest.warns`` that saw nothing).
#: KeyboardInterrupt still stops the run.
_REPEAT_FAILURES = (
    Exception,
    SystemExit,
    pytest.fail.Exception,
    pytest.skip.Exception,
    pytest.xfail.Exception,
)

#: Fixtures that read the test's output: a test using one keeps its output while its
#: body is repeated, as in its own call.
_CAPTURE_FIXTURES = frozenset(("capsys", "capsysbinary", "capfd", "capfdbinary", "capteesys"))


def _quiet(item: pytest.Item) -> contextlib.AbstractContextManager[None]:
    """Drop the output of the calls the plugin makes to measure and judge ``item``:
    only its own call's output is shown, captured as usual. Not under ``-s``, and
    not for a test that reads its output (capsys, capfd), which would miss it."""
    uses_capture = _CAPTURE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    method = item.config.getoption("capture")
    if uses_capture or method == "no":
        return contextlib.nullcontext()
    capman = item.config.pluginmanager.getplugin("capturemanager")
    if method in {"fd", "sys"} and capman is not None:  # its method is the option's
        return _dropped_from_capture(capman)
    from pytest_perfbudget.engine.tracing import silenced

    return silenced()  # tee-sys would show the calls' output as it comes


@contextlib.contextmanager
def _logs_dropped(item: pytest.Item) -> Iterator[None]:
    """Drop the log records of the calls the plugin makes to measure and judge
    ``item`` from pytest's handlers: its report's "Captured log call" section,
    live logging (``log_cli``) and ``--log-file`` show the test's own call's, not
    the repetitions'. The test's ``caplog`` keeps capturing, for a test that reads
    it (each call starts it empty: ``integrations.caplog_emptied``)."""
    import logging

    from pytest_perfbudget.integrations import caplog_handler

    caplog = caplog_handler(getattr(item, "funcargs", {}))
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if type(handler).__module__ == "_pytest.logging" and handler is not caplog
    ]
    for handler in handlers:
        handler.addFilter(_no_record)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(_no_record)


def _no_record(record: object) -> bool:
    """A logging filter that lets no record through."""
    return False


@contextlib.contextmanager
def _dropped_from_capture(capman: CaptureManager) -> Iterator[None]:
    """Drop the block's output from pytest's capture, keeping what the test's own call
    wrote. ``sys.stdout`` and ``sys.stderr`` stay the objects the test's call saw, as
    code that compares a stream with them expects; file descriptors 1 and 2 point
    at nothing in the block (C code, child processes)."""
    from pytest_perfbudget.engine.tracing import silenced

    kept = capman.read_global_capture()
    try:
        with silenced(streams=False):
            yield
    finally:
        capman.read_global_capture()
        sys.stdout.write(kept.out)
        sys.stderr.write(kept.err)


def _body_failure(exc: BaseException, *calls: Callable[[], object] | None) -> str | None:
    """What ``exc``, raised while ``calls`` ran, says (:func:`_failure_text`), the frames
    it holds let go of (see ``_time_body``); None when it came from the plugin's own
    code instead (:func:`_raised_in`)."""
    import traceback

    if not _raised_in(exc, *calls):
        return None
    traceback.clear_frames(exc.__traceback__)
    return _failure_text(exc)


def _raised_in(exc: BaseException, *calls: Callable[[], object] | None) -> bool:
    """Whether ``exc`` came out of one of ``calls`` (its traceback passes through the
    frame of one), rather than from the code that called them; true when that
    cannot be told (a call with no code of its own)."""
    codes = [getattr(call, "__code__", None) for call in calls if call is not None]
    if None in codes:
        return True
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code in codes:
            return True
        tb = tb.tb_next
    return False


def _write_with(writer: object, verdicts: list[Verdict]) -> None:
    """Run one ``pytest_perfbudget_reporters`` writer; its failures are named, not raised raw."""
    write = getattr(writer, "write", None)
    if not callable(write):
        raise SpecError(
            f"pytest_perfbudget_reporters returned {writer!r}, which has no write(verdicts) method"
        )
    try:
        write(verdicts)
    except Exception as exc:  # another plugin's code: name it, no traceback
        raise SpecError(
            f"the report writer {writer!r} from pytest_perfbudget_reporters "
            f"failed: {type(exc).__name__}: {exc}"
        ) from exc


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


def _body(item: pytest.Item) -> Callable[[], object]:
    """The test body to repeat: ``runtest`` (on the fixtures set up, or on fresh ones,
    see :func:`_fixture_refresher`), for a ``unittest.TestCase`` the test case called
    as pytest calls it, into a private result, and for a doctest ``runtest`` on a
    fresh copy of its globals; each call in a copy of the context. Its subtests are
    not reported, its ``caplog`` capture and syrupy ``snapshot`` start each call
    as the test's own call started, and what it adds with ``request.addfinalizer``
    runs when the call ends. With a pytest-benchmark fixture, each call may
    use it again (it allows one use a test; disabled, as under pytest-xdist and in
    paired workers, it measures nothing and would refuse the second)."""
    import unittest

    from pytest_perfbudget.integrations import (
        benchmark_body,
        caplog_emptied,
        doctest_body,
        finalized_each_call,
        isolated,
        snapshots_unrecorded,
        subtests_unreported,
        takes_request,
        unittest_body,
    )

    case = getattr(item, "instance", None)
    funcargs = getattr(item, "funcargs", {})
    body: Callable[[], object]
    if isinstance(case, unittest.TestCase):
        body = unittest_body(case)
    elif (doctest_globals := item.stash.get(doctest_globals_key, None)) is not None:
        body = doctest_body(item, doctest_globals)
    else:
        body = item.runtest
        if "subtests" in funcargs:
            body = subtests_unreported(item, body)
        if "caplog" in funcargs:
            body = caplog_emptied(item, body)
        if "snapshot" in funcargs:
            body = snapshots_unrecorded(item, body)
        if "request" in funcargs and takes_request(item):
            body = finalized_each_call(item, body)
    fixture = _benchmark_fixture(item)
    return isolated(body) if fixture is None else benchmark_body(fixture, isolated(body))


def _uses_perf(item: pytest.Item) -> bool:
    """Whether the test requests the ``perf`` fixture: measured, budgeted or not."""
    return "perf" in getattr(item, "fixturenames", ())


def _benchmark_fixture(item: pytest.Item) -> Any:
    """The test's pytest-benchmark ``benchmark`` fixture, if it uses one."""
    return getattr(item, "funcargs", {}).get("benchmark")


def _fixture_refresher(item: pytest.Item) -> Callable[[], None] | None:
    """A function that tears down the function-scoped fixtures of ``item`` (the
    finalizers pytest keeps for the test, run last first, as pytest does) and sets
    them up again, as for a new run of the test; None for a test that is not a plain
    ``pytest.Function`` (a ``unittest.TestCase`` sets itself up in every run, a
    doctest has no such fixtures), for a test without function-scoped fixtures, or
    when pytest keeps no setup state for it.

    The finalizer pytest put first, ``item.teardown``, stays for pytest's own
    teardown, which then tears down the fixtures of the last set-up. What a teardown
    deletes from the test's stash is put back: ``tmp_path``'s deletes the outcome
    pytest stashed when the setup passed, and would fail at the next teardown."""
    import unittest

    stack = getattr(getattr(item.session, "_setupstate", None), "stack", None)
    if (
        not isinstance(item, pytest.Function)
        or isinstance(getattr(item, "instance", None), unittest.TestCase)
        or not isinstance(stack, dict)
        or item not in stack
        or not hasattr(item, "_initrequest")
    ):
        return None
    function = item
    kept = stack[item][0]  # the list pytest appends the test's finalizers to
    keep = 1 if kept and kept[0] == item.teardown else 0
    if len(kept) == keep:
        return None  # no function-scoped fixture: nothing to set up afresh
    storage = getattr(item.stash, "_storage", None)
    stashed = dict(storage) if isinstance(storage, dict) else {}

    def refresh() -> None:
        finalizers = stack[function][0]
        failures: list[BaseException] = []
        with _setup_unshown(function.config):
            while len(finalizers) > keep:
                try:
                    finalizers.pop()()
                except _REPEAT_FAILURES as exc:  # the others still run, as in pytest's teardown
                    failures.append(exc)
            for key, value in stashed.items():  # tmp_path's teardown deletes what it reads
                if key not in function.stash:
                    function.stash[key] = value
            if failures:
                raise RepetitionError(f"a fixture's teardown raised {_failure_text(failures[0])}")
            function._initrequest()  # new funcargs, and a new request that fills them
            function.setup()

    return refresh


@contextlib.contextmanager
def _setup_unshown(config: pytest.Config) -> Iterator[None]:
    """``--setup-show`` off in the block: the fixtures set up afresh for each timed call
    are not listed, thousands of lines; the test's own set-up and pytest's teardown
    of the last set are."""
    shown = getattr(config.option, "setupshow", False)
    config.option.setupshow = False
    try:
        yield
    finally:
        config.option.setupshow = shown


def _benchmark_again(fixture: Any, body: Callable[[], object]) -> Callable[[], Measurement] | None:
    """How to take pytest-benchmark's measurement of a test again, to confirm a broken
    budget (:func:`~pytest_perfbudget.integrations.benchmark_again`): the test body run
    once more, its warnings dropped. None when its fixture is not pytest-benchmark's."""
    from pytest_perfbudget.integrations import benchmark_again, benchmark_repeatable

    if not benchmark_repeatable(fixture):
        return None

    def again() -> Measurement:
        from pytest_perfbudget.engine.tracing import warnings_dropped

        try:
            with warnings_dropped():  # the test's own call showed them once
                taken = benchmark_again(fixture, body)
        except _REPEAT_FAILURES as exc:
            failure = _body_failure(exc, body)
            if failure is None:
                raise  # the plugin's: "could not measure", not the body's failure
            raise RepetitionError(f"the test failed when run again: {failure}") from None
        if taken is None:
            raise RepetitionError("pytest-benchmark measured nothing when the test ran again")
        return taken

    return again


def _failure_text(exc: BaseException) -> str:
    """What a repeated call raised: the exception's type and text."""
    return str(exc) if isinstance(exc, RepetitionError) else f"{type(exc).__name__}: {exc}"


def _repetition_text(nodeid: str, budget: Budget | None, exc: RepetitionError) -> str:
    """Why a test that passed failed its budget check, and what to do about it."""
    text = (
        f"perfbudget could not measure {nodeid}: the test passed, then failed when its body "
        f"was run again to time it: {exc}\nA budgeted test that does not use the perf "
        "fixture has its body run many times: make the body repeatable, or time a "
        "repeatable part of it with the perf fixture"
    )
    if budget is not None and budget.source.startswith("pattern"):
        key = json.dumps(nodeid)  # a TOML basic string
        text += f", or leave it unbudgeted: {key} = false under [tool.perfbudget.budgets]"
    return text + "."


def _location(item: pytest.Item) -> tuple[str, int] | None:
    path, line, _ = item.location
    return (path, line + 1) if line is not None else None


# -- paired mode (--perfbudget-against): glue only; the logic is in pytest_perfbudget/paired --


def _configure_paired(config: pytest.Config, plugin: PerfbudgetPlugin) -> None:
    """Make this process the paired coordinator, or a paired worker (its env var)."""
    import os

    from pytest_perfbudget.envvars import WORKER_ENV

    settings = plugin.settings
    if settings.disable or (not settings.against and not os.environ.get(WORKER_ENV)):
        return
    from pytest_perfbudget.paired import start
    from pytest_perfbudget.paired.pair import forwarded_options

    try:
        plugin.paired = start(
            against=settings.against,
            rootdir=config.rootpath,
            paths=settings.against_paths,
            setup=settings.against_setup,
            environ=os.environ,
            options=forwarded_options(config.getoption, config.pluginmanager.hasplugin),
            config_file=config.inipath if config.getoption("inifilename") else None,
        )
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from exc
    if os.environ.get(WORKER_ENV):
        plugin.is_worker = True  # a worker writes no reports and no baseline
        config.pluginmanager.register(_PairedWorkerHooks(plugin.paired), "perfbudget-paired-worker")


def _recheck_args(config: pytest.Config, baseline: Path, scratch: Path) -> tuple[str, ...]:
    """The options of a process that measures a test again (``recheck``): those a paired
    worker gets (``pair.forwarded_options``) but with pytest-benchmark on or off as it
    is here (so that it measures the test as this process did) and its files written
    into ``scratch`` (:func:`_benchmark_files`), this run's baseline file (its entry
    sets how long the test is sampled), the ini file given with ``-c``, and a JUnit
    XML file of its own when this run writes one."""
    import os

    from pytest_perfbudget.paired.pair import forwarded_options

    args = forwarded_options(config.getoption, config.pluginmanager.hasplugin, benchmark=False)
    benchmarks = getattr(config, "_benchmarksession", None)  # pytest-benchmark's state
    if benchmarks is not None:  # off under --benchmark-disable, and in xdist's workers
        args += ("--benchmark-disable",) if benchmarks.disabled else ("--benchmark-enable",)
        args += _benchmark_files(benchmarks, scratch)
    args += (f"--perfbudget-baseline={baseline}",)
    if config.getoption("inifilename") and config.inipath is not None:
        args += ("-c", str(config.inipath))
    if getattr(config.option, "xmlpath", None):  # from addopts too: not over this run's
        args += (f"--junitxml={os.devnull}",)
    return args


def _benchmark_files(benchmarks: Any, scratch: Path) -> tuple[str, ...]:
    """pytest-benchmark's options that write files, pointed into ``scratch`` for each
    one this run (``benchmarks``, its session) writes, from the ini file's ``addopts``
    too: a process that measures a test again saves no run into the run's storage
    (``--benchmark-autosave``), and writes over none of its files."""
    args = []
    if benchmarks.save or benchmarks.autosave:
        args.append(f"--benchmark-storage=file://{scratch / 'storage'}")
    for name in ("json", "histogram", "cprofile_dump"):
        if getattr(benchmarks, name, None):
            args.append(f"--benchmark-{name.replace('_', '-')}={scratch / name}")
    return tuple(args)


def _judge_paired(
    plugin: PerfbudgetPlugin, paired: PairedMode, item: pytest.Item
) -> tuple[Judgement, None] | None:
    from pytest_perfbudget.measure import SPREAD_REGRESSIONS
    from pytest_perfbudget.paired import Request

    budget = plugin.budget_of(item)
    request = Request(
        nodeid=item.nodeid,
        budget=budget,
        plan=session.plan_for(budget or Budget(source="none"), plugin.settings),
        threshold=session.threshold(budget or Budget(source="none"), plugin.settings),
        body=_body(item),
        refresh=_fixture_refresher(item),
        measurer=item.stash.get(perf_key, None),
        selection=lambda: _measured_ids(plugin, item.session.items),
        fresh_pair=plugin._regressions < SPREAD_REGRESSIONS,
    )
    judgement = paired.judge(request)
    return None if judgement is None else (judgement, None)


def _measured_ids(plugin: PerfbudgetPlugin, items: Sequence[pytest.Item]) -> list[str]:
    """Node ids of the tests paired mode measures: budgeted, or using ``perf``."""
    out = []
    for item in items:
        try:
            budget = plugin.budget_of(item)
        except SpecError:
            continue
        if budget is not None or _uses_perf(item):
            out.append(item.nodeid)
    return out


#: The budget of every test a paired worker runs (see ``_PairedWorkerHooks``).
_WORKER_BUDGET = Budget(source="none")


class _ServedBenchmark:
    """pytest-benchmark's ``benchmark`` fixture where pytest-benchmark is off (in a
    paired worker, in pytest-xdist's workers, under ``--benchmark-disable``):
    ``benchmark(fn, *args, **kwargs)`` has ``measurer`` time ``fn(*args, **kwargs)`` as
    ``perf(fn)`` does (in a paired worker, the coordinator in both trees), rather than
    the whole test body, whose setup (an object built before the call, say) would
    drown a slowdown of ``fn``. So is ``pedantic(fn, args, kwargs)`` (its rounds and
    iterations are the fixture's to count: ``perf`` decides its own); with a ``setup``
    or ``teardown``, each call is timed after its setup and torn down after it, both
    untimed (:class:`~pytest_perfbudget.integrations.PedanticRounds`). A test that
    does not call the fixture has its body timed."""

    def __init__(self, fixture: Any, measurer: Any) -> None:
        object.__setattr__(self, "_fixture", fixture)
        object.__setattr__(self, "_measurer", measurer)

    def __call__(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self._used("benchmark(...)")
        return self._measurer(fn, *args, **kwargs)

    def _used(self, mode: str) -> None:
        if getattr(self._fixture, "_mode", "") is None:  # used, as its own call marks it:
            self._fixture._mode = mode  # unused, it warns at the teardown

    def pedantic(
        self,
        target: Callable[..., Any],
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        setup: Callable[[], Any] | None = None,
        teardown: Callable[..., Any] | None = None,
        **rounds: Any,
    ) -> Any:
        if setup is None and teardown is None:
            return self(target, *args, **(kwargs or {}))
        from pytest_perfbudget.integrations import PedanticRounds

        self._used("benchmark.pedantic(...)")  # first, as the fixture's own checks come after
        calls = PedanticRounds(
            target,
            args,
            kwargs,
            setup=setup,
            teardown=teardown,
            iterations=rounds.get("iterations", 1),
        )
        try:
            return self._measurer._rounds(calls)
        finally:
            calls.close()  # pytest-benchmark tears the last round down before it returns

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fixture, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._fixture, name, value)


@contextlib.contextmanager
def _served(item: pytest.Item, fixture: Any, measurer: Any) -> Iterator[None]:
    """``item``'s ``benchmark`` fixture served by ``measurer`` (:class:`_ServedBenchmark`,
    and in the stash as ``perf``'s measurer is), until the block ends."""
    item.stash[perf_key] = measurer
    item.funcargs["benchmark"] = _ServedBenchmark(fixture, measurer)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        item.funcargs["benchmark"] = fixture  # type: ignore[attr-defined]
        del item.stash[perf_key]
        measurer.close()


def _disabled_benchmark(fixture: Any) -> bool:
    """Whether ``fixture`` is pytest-benchmark's, switched off: under pytest-xdist (in
    its workers, from pytest-benchmark 5.3) or ``--benchmark-disable``, where
    ``benchmark(fn)`` calls ``fn`` once."""
    module = sys.modules.get("pytest_benchmark.fixture")
    kind = getattr(module, "BenchmarkFixture", None)
    return kind is not None and isinstance(fixture, kind) and fixture.disabled is True


class _PairedWorkerHooks:
    """Registered only in a paired worker: run the selected tests, report to the coordinator."""

    def __init__(self, worker: Any) -> None:
        self.worker = worker
        self.errors: dict[str, str] = {}
        self._calling = False

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        keep = self.worker.selected([item.nodeid for item in items])
        dropped = [item for item, kept in zip(items, keep, strict=True) if not kept]
        items[:] = [item for item, kept in zip(items, keep, strict=True) if kept]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        # The coordinator selected the tests it measures, and judges them with its own
        # budgets: a worker times each of them whatever its tree budgets (at a base
        # revision from before a test was budgeted, nothing).
        for item in items:
            item.stash[budget_key] = _WORKER_BUDGET

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors[report.nodeid] = report.longreprtext

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.worker.collected([item.nodeid for item in session.items], self.errors)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        self.worker.wait_turn(item.nodeid)  # then pytest runs the test as usual

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.worker.left(nodeid)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        self._calling = True
        fixture = _benchmark_fixture(item)
        serving: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if fixture is not None and perf_key not in item.stash:
            plugin = item.config.stash[plugin_key]
            plan = session.plan_for(_WORKER_BUDGET, plugin.settings)
            serving = _served(item, fixture, self.worker.perf(item.nodeid, _WORKER_BUDGET, plan))
        try:
            with serving:  # until the judging (inside this wrapper) is done
                return (yield)
        finally:
            self._calling = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self._calling:
            return  # a subtest's: the test's own report comes after its call
        if report.failed or report.skipped or report.when == "call":
            self.worker.report(report.nodeid, report.when, report.outcome, report.longreprtext)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.worker.finished()
