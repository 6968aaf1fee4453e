"""The coordinator: the user's pytest process in paired mode.

It validates REV up front (a usage error otherwise), and at the first measured
test checks REV out into a temporary worktree, runs ``against_setup`` there,
and starts the worker pair. Each test is then measured on both trees in
interleaved rounds; a regression counts only when a fresh pair repeats it. Each
pair's two workers share a hash seed, drawn anew for each pair.
Everything it starts is stopped and removed in :meth:`Coordinator.close`
(session end, Ctrl-C, SIGTERM, SIGHUP, or interpreter exit).
"""

from __future__ import annotations

import atexit
import random
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from pytest_perfbudget.engine.runner import Plan
from pytest_perfbudget.integrations import fresh_fixtures_note
from pytest_perfbudget.machine import hash_seed
from pytest_perfbudget.measure import Judgement, Perf
from pytest_perfbudget.model import Budget, Status, Verdict
from pytest_perfbudget.paired import Request, kind_of
from pytest_perfbudget.paired import judgement as judging
from pytest_perfbudget.paired.effect import paired_change
from pytest_perfbudget.paired.judgement import Measured, ProbePerf
from pytest_perfbudget.paired.pair import Miss, Tree, WorkerPair
from pytest_perfbudget.paired.process import Listener, Ready, WorkerError
from pytest_perfbudget.paired.rounds import Settings, run_rounds
from pytest_perfbudget.paired.worktree import (
    Worktree,
    import_roots,
    resolve_revision,
    run_setup,
    worker_env,
)

__all__ = ["Coordinator"]

#: Seconds a worker may take to answer (to start, reach a test, or run one command).
DEFAULT_TIMEOUT = 120.0
TIMEOUT_ENV = "PERFBUDGET_PAIRED_TIMEOUT"
MAX_FAILED_STARTS = 2
HEAD_ONLY_ROUNDS = 40
#: Rounds before sampling may stop on a change either way (a pass may stop at
#: rounds.MIN_ROUNDS).
CHANGE_ROUNDS = 40
STABLE_RATIO = 1.05
#: Signals whose default action ends the process without ``atexit`` (``timeout``, a
#: cancelled CI job, a closed terminal): the coordinator ends the run on them as on Ctrl-C.
ENDING_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
_ORDER = Measured(status=Status.INCONCLUSIVE, messages=("order",))


#: Why a worker may not collect what this run does.
UNCOLLECTED_HINT = (
    "workers get this run's -W, -p, -o, -c, --import-mode, --noconftest, --rootdir "
    "and --doctest-* options and read its ini file; give any other option they need "
    "in the ini file's addopts"
)


class Coordinator:
    """Paired mode in the user's pytest process."""

    def __init__(
        self,
        against: str,
        rootdir: Path,
        *,
        paths: Sequence[str] = (),
        setup: str | None = None,
        environ: Mapping[str, str],
        options: Sequence[str] = (),
        config_file: Path | None = None,
    ) -> None:
        """``options`` go to both workers (see ``pair.forwarded_options``); ``config_file``
        is the ini file the user named with ``-c``, which each worker reads in its tree."""
        self.against = against
        self.options, self.config_file = tuple(options), config_file
        self.top, self.commit = resolve_revision(rootdir, against)
        self.rootdir, self.paths, self.setup = rootdir, tuple(paths), setup
        self.environ = dict(environ)
        self.timeout = float(environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT)
        self._worktree = Worktree(self.top, self.commit)
        self._folder: Path | None = None
        self._listener: Listener | None = None
        self._trees: list[Tree] | None = None
        self._pair: WorkerPair | None = None
        self._broken: str | None = None
        self._failed_starts = 0
        self._judged: set[str] = set()
        self._caught: list[int] = []
        atexit.register(self.close)

    # -- what the plugin calls ---------------------------------------------------------

    def perf(self, nodeid: str, budget: Budget, plan: Plan) -> Perf:
        """The ``perf`` fixture's object here: runs the code once; the workers measure."""
        return ProbePerf(budget, plan, enabled=False)

    def judge(self, request: Request) -> Judgement | None:
        """Measure ``request`` on both trees; None when the test measures nothing."""
        if request.budget is None and request.measurer is None:
            return None
        self._judged.add(request.nodeid)
        measured = self._measured(request)  # a benchmark(fn) call is timed as perf(fn) is
        kind = measured.kind or kind_of(request.measurer)
        return judging.build(measured, request.budget, request.plan, kind)

    def verdict(
        self, nodeid: str, budget: Budget, judgement: Judgement, location: tuple[str, int] | None
    ) -> Verdict:
        return judging.verdict(nodeid, budget, judgement, location)

    def close(self) -> None:
        """Stop the workers, remove the worktree and temporary files (idempotent)."""
        for signum in self._caught:
            if signal.getsignal(signum) is _interrupt:
                signal.signal(signum, signal.SIG_DFL)
        self._caught = []
        if self._pair is not None:
            self._pair.stop()
            self._pair = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._worktree.remove()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    # -- measuring -----------------------------------------------------------------

    def _measured(self, request: Request) -> Measured:
        try:
            first = self._measure(self._main(request), request)
            if first is _ORDER:
                first = self._fresh_measure(request)
            if first.verdict not in judging.CONFIRMED:
                return first
            if first.verdict == "regressed" and not request.fresh_pair:
                return judging.unconfirmed(first)
            second = self._fresh_measure(request)
            return judging.confirm(first, second, against=self.against, threshold=request.threshold)
        except WorkerError as exc:
            self._drop_pair()
            return self._problem(str(exc))

    def _problem(self, text: str) -> Measured:
        return Measured(
            status=Status.INCONCLUSIVE, messages=(f"paired against {self.against}: {text}",)
        )

    def _measure(self, pair: WorkerPair, request: Request) -> Measured:
        try:
            measured = self._measure_reached(pair, request)
        finally:
            pair.release()
        pair.settle(self.timeout)  # the run goes on once the workers have finished the test
        return measured

    def _measure_reached(self, pair: WorkerPair, request: Request) -> Measured:
        nodeid, timeout = request.nodeid, self.timeout
        pair.go(timeout)  # both set the test up at the same time
        head = pair.reach("head", nodeid, timeout)
        if isinstance(head, Miss):
            return _ORDER if head.reason == "order" else self._problem(_head_miss(head))
        base = pair.reach("base", nodeid, timeout)
        if isinstance(base, Miss):
            return _ORDER if base.reason == "order" else self._alone(pair, request, head, base)
        if base.kind != head.kind:
            return self._problem(f"measured as {base.kind} at the base, {head.kind} now")
        return self._rounds(pair, request, head.kind, paired=True)

    def _rounds(self, pair: WorkerPair, request: Request, kind: str, *, paired: bool) -> Measured:
        head = pair.workers["head"]
        assert head is not None
        settings = Settings(
            timer=request.plan.timer,
            max_time=request.plan.max_time,
            warmup=request.plan.warmup,
            whole_runs=kind in ("sample", "record"),
            timeout=self.timeout,
        )
        threshold = request.threshold

        def decide(base_ns: list[int], head_ns: list[int]) -> bool:
            if not base_ns:
                return len(head_ns) >= HEAD_ONLY_ROUNDS
            change = paired_change(base_ns, head_ns, against=self.against, threshold=threshold)
            if threshold is None:
                return change.high / change.low < STABLE_RATIO
            verdict = judging.classify(change, threshold)
            # Looking again at every checkpoint inflates the error of an early stop;
            # a change either way must hold over more rounds than a pass needs.
            if verdict in ("regressed", "improved"):
                return len(head_ns) >= CHANGE_ROUNDS
            return verdict != "inconclusive"

        rounds = run_rounds(pair.workers["base"] if paired else None, head, settings, decide)
        memory = None
        if request.budget is not None and request.budget.memory is not None:
            memory = head.command({"op": "memory"}, self.timeout).get("bytes")
        notes = (fresh_fixtures_note(),) if kind == "fresh" else ()
        if not paired:
            return Measured(rounds, None, None, None, notes, memory, kind=kind)
        change = judging.change_of(rounds, against=self.against, threshold=threshold)
        verdict = judging.classify(change, threshold)
        return Measured(rounds, change, verdict, None, notes, memory, kind=kind)

    def _alone(self, pair: WorkerPair, request: Request, head: Ready, miss: Miss) -> Measured:
        """No base to compare with: measure the head alone for its absolute budgets."""
        measured = self._rounds(pair, request, head.kind, paired=False)
        if miss.reason == "missing":
            note = (
                f"new: not collected at {self.against}; absolute budgets checked on the head alone"
            )
            return replace(measured, status=Status.NEW, messages=(note,))
        what = {
            "failed": "the test fails at the base revision",
            "uncollected": "the test does not collect at the base revision",
            "skipped": "the test is skipped at the base revision",
            "ended": "the base worker ended before reaching the test",
        }.get(miss.reason, "the test measured nothing at the base revision")
        note = f"paired against {self.against}: {what}; no comparison{_indent(miss.text)}"
        return replace(measured, status=Status.INCONCLUSIVE, messages=(note,))

    # -- workers -------------------------------------------------------------------

    def _main(self, request: Request) -> WorkerPair:
        """The long-lived pair, started (for the tests not judged yet) when needed."""
        if self._broken is not None:
            raise WorkerError(self._broken)
        if self._pair is None:
            left = [n for n in request.selection() if n not in self._judged or n == request.nodeid]
            self._pair = self._start(left or [request.nodeid])
        return self._pair

    def _fresh_measure(self, request: Request) -> Measured:
        with self._fresh([request.nodeid]) as pair:
            measured = self._measure(pair, request)
        return (
            self._problem("the test could not be reached in order")
            if measured is _ORDER
            else measured
        )

    @contextmanager
    def _fresh(self, selection: list[str]) -> Iterator[WorkerPair]:
        pair = self._start(selection)
        try:
            yield pair
        finally:
            pair.stop()

    def _start(self, selection: list[str]) -> WorkerPair:
        trees, listener, folder = self._prepare()
        seed = {"PYTHONHASHSEED": _pair_seed(self.environ)}
        trees = [replace(tree, env={**tree.env, **seed}) for tree in trees]
        try:
            return WorkerPair.start(
                trees, selection, listener=listener, folder=folder, timeout=self.timeout
            )
        except WorkerError as exc:
            self._failed_starts += 1
            if self._failed_starts >= MAX_FAILED_STARTS:
                self._broken = f"the workers could not be started: {exc}"
            raise

    def _drop_pair(self) -> None:
        if self._pair is not None:
            self._pair.stop()
            self._pair = None

    def _prepare(self) -> tuple[list[Tree], Listener, Path]:
        """The worktree, the listener and the two trees (made once)."""
        if self._trees is None:
            self._catch_ending_signals()
            self._folder = Path(tempfile.mkdtemp(prefix="perfbudget-paired-"))
            base_top = self._worktree.add()
            self._trees = self._make_trees(base_top)
            if self.setup:
                error = run_setup(self.setup, self._trees[0].cwd, self._trees[0].env)
                if error is not None:
                    self._broken = error
                    raise WorkerError(error)
            self._listener = Listener()
        assert self._listener is not None
        assert self._folder is not None
        return self._trees, self._listener, self._folder

    def _catch_ending_signals(self) -> None:
        """Make :data:`ENDING_SIGNALS` left at their default action end the run as Ctrl-C
        does, with its clean-up: by default they end the process at once and leave the
        worktree, a full checkout listed by ``git worktree list``."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in ENDING_SIGNALS:
            if signal.getsignal(signum) == signal.SIG_DFL:
                signal.signal(signum, _interrupt)
                self._caught.append(signum)

    def _make_trees(self, base_top: Path) -> list[Tree]:
        inside = self.rootdir.resolve().relative_to(self.top.resolve())
        trees = []
        for role, top in (("base", base_top), ("head", self.top)):
            cwd = top / inside
            env = worker_env(self.environ, import_roots(cwd, self.paths))
            args = self.options
            if self.config_file is not None:
                args = (*args, "-c", str(in_tree(self.config_file, self.top, top)))
            trees.append(Tree(role, cwd, env, args))
        return trees


class Terminated(KeyboardInterrupt):
    """The run was told to end by a signal (see ``Coordinator._catch_ending_signals``)."""


def _interrupt(signum: int, frame: object) -> None:
    raise Terminated(f"ended by {signal.Signals(signum).name}")


def _pair_seed(environ: Mapping[str, str]) -> str:
    """The ``PYTHONHASHSEED`` of a new pair's two workers: the run's, when it fixes one
    (its tests may depend on it), else a new one for each pair.

    How fast a process runs a test can depend on its hash seed and the paths it was
    started with: with ASLR off they set its memory layout. Base and head differ in
    paths, so under one seed a pair could read an unchanged test +14 % slower on one
    side for its whole life, and so did the fresh pair that was to confirm it; under
    a new seed it mostly did not (``benchmarks/RESULTS.md``).
    """
    return hash_seed(environ) or str(random.SystemRandom().randrange(2**32))


def in_tree(path: Path, top: Path, tree: Path) -> Path:
    """``path`` of the working tree at ``top`` as the same file in ``tree`` (itself when
    it lies outside the working tree)."""
    try:
        return tree / path.resolve().relative_to(top.resolve())
    except ValueError:
        return path


def _head_miss(miss: Miss) -> str:
    if miss.reason == "missing":
        return f"the head worker did not collect the test ({UNCOLLECTED_HINT})"
    if miss.reason == "uncollected":
        return (
            f"the head worker could not collect the test ({UNCOLLECTED_HINT}); "
            f"its collection error:{_indent(miss.text)}"
        )
    return f"the head worker could not measure the test ({miss.reason}){_indent(miss.text)}"


def _indent(text: str) -> str:
    lines = text.strip().splitlines()[-12:]
    return ("\n    " + "\n    ".join(lines)) if lines else ""
