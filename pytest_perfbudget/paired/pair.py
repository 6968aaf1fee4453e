"""A base and a head worker started together, pinned to one CPU, and brought to a test."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_perfbudget.paired.process import Listener, Ready, WorkerError, WorkerProcess
from pytest_perfbudget.paired.protocol import Channel

__all__ = ["CLAIM", "Miss", "Tree", "WorkerPair", "claim_cpu", "forwarded_options"]

#: Worker arguments besides the test files: no cache writes, keep going past a base
#: file that no longer imports, quiet output (it goes to a log file). With pytest's
#: cache plugin on (a folder of each worker's own), paired runs under coverage's
#: subprocess patch read unchanged tests +12 … +13 % slower at the head, confirmed.
WORKER_ARGS = ("-p", "no:cacheprovider", "--continue-on-collection-errors", "-q", "-rN")


def forwarded_options(
    getoption: Callable[[str], Any], has_plugin: Callable[[str], bool], *, benchmark: bool = True
) -> tuple[str, ...]:
    """The options of the user's pytest run (read with ``config.getoption``) that shape
    what its workers collect and how tests run, as worker arguments: ``-W``, ``-p``,
    ``-o``, ``--import-mode``, ``--noconftest``, ``--rootdir`` (each worker runs in the
    rootdir of its tree), and with pytest's doctest plugin loaded (``has_plugin``, the
    plugin manager's) ``--doctest-modules``, ``--doctest-glob``,
    ``--doctest-ignore-import-errors`` and ``--doctest-continue-on-failure``. ``-c`` is
    per tree (see ``Coordinator``); other options reach the workers only through the
    ini file's ``addopts``, as they could change what a worker writes (reports, the
    cache) or selects. With pytest-xdist loaded, ``-n 0``: a worker runs its tests
    itself, whatever ``-n`` the ``addopts`` give. With pytest-benchmark loaded,
    ``--benchmark-disable``: a worker times the test body, in which ``benchmark(fn)``
    then calls ``fn`` once instead of running pytest-benchmark's own measurement
    (a second or more) inside every timed call; not with ``benchmark`` False."""
    args: list[str] = ["-n", "0"] if has_plugin("xdist") else []
    if benchmark and has_plugin("benchmark"):
        args.append("--benchmark-disable")
    for flag, name in (("-W", "pythonwarnings"), ("-p", "plugins"), ("-o", "override_ini")):
        for value in getoption(name) or ():
            args += [flag, str(value)]
    mode = getoption("importmode")
    if mode and mode != "prepend":
        args.append(f"--import-mode={mode}")
    if getoption("noconftest"):
        args.append("--noconftest")
    if getoption("rootdir"):
        args.append("--rootdir=.")
    if has_plugin("doctest"):
        args += [f"--doctest-glob={glob}" for glob in getoption("doctestglob") or ()]
        for flag, name in _DOCTEST_FLAGS:
            if getoption(name):
                args.append(flag)
    return tuple(args)


_DOCTEST_FLAGS = (
    ("--doctest-modules", "doctestmodules"),
    ("--doctest-ignore-import-errors", "doctest_ignore_import_errors"),
    ("--doctest-continue-on-failure", "doctest_continue_on_failure"),
)


@dataclass(frozen=True)
class Tree:
    """Where one worker runs: its folder (the rootdir inside that tree) and environment."""

    role: str
    cwd: Path
    env: Mapping[str, str]
    #: Options after :data:`WORKER_ARGS`: those of the user's run (see :func:`forwarded_options`).
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Miss:
    """Why a worker cannot measure a test: ``missing`` (not collected),
    ``uncollected`` (left out by a collection error: ``text``), ``failed``,
    ``skipped``, ``order`` (already passed it), ``unmeasured`` or ``ended``."""

    reason: str
    text: str = ""


#: The abstract socket (Linux) whose name claims a CPU for a pair: concurrent paired
#: runs on one machine (pytest-xdist workers, parallel jobs) pin their pairs to
#: different CPUs while there are enough, and the kernel drops a claim when the
#: process that made it ends, however it ends.
CLAIM = "\0pytest-perfbudget-cpu-{}"


def claim_cpu(name: str = CLAIM) -> tuple[int | None, socket.socket | None]:
    """The CPU both workers are pinned to, and the socket that claims it (closing it
    gives the CPU back): the last CPU this process may use that no other pair has
    claimed; the last one, unclaimed, when every one is. None without pinning."""
    getter = getattr(os, "sched_getaffinity", None)
    cpus = sorted(getter(0), reverse=True) if getter is not None else []
    if not cpus:
        return None, None
    if sys.platform == "linux":
        for cpu in cpus:
            claim = socket.socket(socket.AF_UNIX)
            try:
                claim.bind(name.format(cpu))
            except OSError:  # claimed by another pair
                claim.close()
                continue
            return cpu, claim
    return cpus[0], None


def _files(selection: Sequence[str], cwd: Path) -> list[str]:
    files = dict.fromkeys(nodeid.split("::", 1)[0] for nodeid in selection)
    return [name for name in files if (cwd / name).exists()]


class WorkerPair:
    """Two workers (``base`` and ``head``); ``base`` is None when no selected file
    exists at the base revision."""

    def __init__(
        self, workers: Mapping[str, WorkerProcess | None], claim: socket.socket | None = None
    ) -> None:
        self.workers = dict(workers)
        self.released: dict[str, set[str]] = {role: set() for role in workers}
        self._claim = claim

    @classmethod
    def start(
        cls,
        trees: Sequence[Tree],
        selection: Sequence[str],
        *,
        listener: Listener,
        folder: Path,
        timeout: float,
    ) -> WorkerPair:
        """Spawn both workers, wait until each has connected and collected."""
        folder.mkdir(parents=True, exist_ok=True)
        chosen = folder / "selection.json"
        chosen.write_text(json.dumps(list(selection)))
        cpu, claim = claim_cpu()
        spawned: dict[str, tuple[WorkerProcess, str]] = {}
        try:
            for tree in trees:
                files = _files(selection, tree.cwd)
                if files:
                    log = folder / f"{tree.role}.log"
                    spawned[tree.role] = WorkerProcess.spawn(
                        tree.role, cwd=tree.cwd, args=[*files, *WORKER_ARGS, *tree.args],
                        env=tree.env, port=listener.port, cpu=cpu, selection=chosen, log=log,
                    )  # fmt: skip
            pair = cls(
                {
                    tree.role: spawned[tree.role][0] if tree.role in spawned else None
                    for tree in trees
                },
                claim,
            )
            for worker, token in spawned.values():
                worker.channel = _accept(listener, worker, token, timeout)
                worker.wait_collected(timeout)
        except BaseException:
            for worker, _ in spawned.values():
                worker.stop()
            if claim is not None:
                claim.close()
            raise
        return pair

    def reach(self, role: str, nodeid: str, timeout: float) -> Ready | Miss:
        """Bring the ``role`` worker to ``nodeid`` (releasing tests it stops at on the way)."""
        worker = self.workers.get(role)
        if worker is None or nodeid not in (worker.collected or ()):
            error = worker.collect_error(nodeid) if worker is not None else None
            return Miss("missing") if error is None else Miss("uncollected", error)
        while True:
            if worker.ready is not None:
                if worker.ready.nodeid == nodeid:
                    return worker.ready
                self.released[role].add(worker.ready.nodeid)
                worker.release()
            miss = self._passed(role, worker, nodeid)
            if miss is not None:
                return miss
            worker.go()
            worker.next_event(timeout)

    def _passed(self, role: str, worker: WorkerProcess, nodeid: str) -> Miss | None:
        if nodeid in self.released[role]:
            return Miss("order")
        if nodeid in worker.reported:
            outcome, text = worker.reported[nodeid]
            return Miss(outcome if outcome in ("failed", "skipped") else "unmeasured", text)
        if worker.finished:
            return Miss("ended", worker.tail())
        return None

    def go(self, timeout: float) -> None:
        """Let both workers start the test they wait at, at once, once each has said
        which (:meth:`reach` then brings each to the test it is to measure)."""
        workers = [worker for worker in self.workers.values() if worker is not None]
        for worker in workers:
            worker.until_waiting(timeout)
        for worker in workers:
            worker.go()

    def release(self) -> None:
        """Let both workers go on past the current test."""
        for worker in self.workers.values():
            if worker is not None:
                worker.release()

    def settle(self, timeout: float) -> None:
        """Wait until both workers have finished the test they were released from. A
        worker that fails meanwhile is found out when it is next reached."""
        for worker in self.workers.values():
            if worker is not None:
                with contextlib.suppress(WorkerError):
                    worker.settle(timeout)

    def stop(self) -> None:
        """End both processes and give their CPU back."""
        for worker in self.workers.values():
            if worker is not None:
                worker.stop()
        if self._claim is not None:
            self._claim.close()
            self._claim = None


def _accept(listener: Listener, worker: WorkerProcess, token: str, timeout: float) -> Channel:
    try:
        return listener.accept(token, worker.proc, timeout)
    except WorkerError as exc:
        raise WorkerError(f"the {worker.role} worker {exc}{worker.tail()}") from None
