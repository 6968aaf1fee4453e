"""The worker side: a pytest process on one tree that measures on the coordinator's command.

When a selected test calls ``perf(fn)``, or its body is to be timed, the worker
sends ``ready`` and executes commands (warm up, time a block of k calls, measure
memory) until ``done``. ``perf.sample()`` / ``perf.record()`` tests are driven a
whole test run at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_perfbudget.engine.clock import clock_for, wall_seconds
from pytest_perfbudget.engine.runner import Plan, TracerPause, peak_memory
from pytest_perfbudget.measure import Judgement, Perf
from pytest_perfbudget.model import Budget, Verdict
from pytest_perfbudget.paired import Request, kind_of
from pytest_perfbudget.paired.protocol import Channel, ChannelClosedError

__all__ = ["ServingPerf", "WorkerClient"]


@contextlib.contextmanager
def pinned(cpu: int | None) -> Iterator[None]:
    """This process pinned to ``cpu`` where the OS allows it, and back on the CPUs it
    had after."""
    getter = getattr(os, "sched_getaffinity", None)
    setter = getattr(os, "sched_setaffinity", None)
    if cpu is None or getter is None or setter is None:
        yield
        return
    before = getter(0)
    with contextlib.suppress(OSError):
        setter(0, {cpu})
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            setter(0, before)


class CallTarget:
    """Times batches of calls of one callable (``perf(fn)`` or the test body), each
    after an untimed ``setup()`` when one is given (a body timed on fresh fixtures)."""

    def __init__(self, fn: Callable[[], object], setup: Callable[[], object] | None = None) -> None:
        self.fn = fn
        self.setup = setup
        self.result: object = None

    def call(self) -> object:
        """One call, after its setup."""
        if self.setup is not None:
            self.setup()
        return self.fn()

    def warmup(self, seconds: float) -> dict[str, Any]:
        until = wall_seconds() + seconds
        self.result = self.call()
        while wall_seconds() < until:
            self.result = self.call()
        return {}

    def time(self, k: int, timer: str) -> dict[str, Any]:
        clock, fn, setup = clock_for(timer), self.fn, self.setup
        with TracerPause():
            if setup is None:
                t0 = clock()
                for _ in range(k):
                    fn()
                ns = clock() - t0
            else:
                ns = 0
                for _ in range(k):
                    setup()
                    t0 = clock()
                    fn()
                    ns += clock() - t0
        return {"ns": ns}

    def memory(self) -> dict[str, Any]:
        if self.setup is not None:
            self.setup()
        peak, self.result = peak_memory(self.fn)
        return {"bytes": peak}


class WholeRunTarget(CallTarget):
    """Runs the whole test body once per block; a block's time is what the test
    recorded during that run (its wall time when it recorded nothing)."""

    def __init__(self, body: Callable[[], object], measurer: Perf) -> None:
        super().__init__(body)
        self.measurer = measurer

    def _recorded(self) -> Sequence[int]:
        measurement = self.measurer.measurement()
        return measurement.sample_ns if measurement is not None else ()

    def time(self, k: int, timer: str) -> dict[str, Any]:
        total, samples, clock = 0, [], clock_for("wall")
        for _ in range(k):
            before = len(self._recorded())
            t0 = clock()
            self.fn()
            wall = clock() - t0
            new = list(self._recorded()[before:])
            samples += new or [wall]
            total += sum(new) if new else wall
        return {"ns": total, "samples": samples}

    def memory(self) -> dict[str, Any]:
        return {"bytes": None}


@dataclass
class ServingPerf(Perf):
    """The ``perf`` fixture in a worker: ``perf(fn)`` serves the coordinator's commands."""

    client: WorkerClient | None = None
    nodeid: str = ""
    kind: str | None = field(default=None, init=False)

    def _measure(self, call: Callable[[], Any], setup: Callable[[], object] | None = None) -> Any:
        self.kind = "perf"
        target = CallTarget(call, setup)
        assert self.client is not None
        self.client.serve(self.nodeid, "perf", target)
        return target.result if target.result is not None else target.call()

    def _claim(self, mode: str) -> None:
        super()._claim(mode)
        self.kind = mode


class WorkerClient:
    """This process's link to the coordinator."""

    def __init__(
        self, channel: Channel, role: str, selection: Sequence[str], cpu: int | None = None
    ) -> None:
        self.channel = channel
        self.role = role
        self.selection = frozenset(selection)
        self._cpu = cpu

    @classmethod
    def connect(cls, spec: dict[str, Any]) -> WorkerClient:
        """Connect as described by the coordinator's ``spec``."""
        selection = json.loads(Path(spec["selection"]).read_text())
        channel = Channel.connect("127.0.0.1", int(spec["port"]))
        channel.send({"event": "hello", "token": spec["token"], "pid": os.getpid()})
        return cls(channel, str(spec.get("role")), selection, spec.get("cpu"))

    # -- what the plugin calls --------------------------------------------------------

    def perf(self, nodeid: str, budget: Budget, plan: Plan) -> Perf:
        """The ``perf`` fixture's object for test ``nodeid``."""
        return ServingPerf(budget, plan, client=self, nodeid=nodeid)

    def verdict(
        self, nodeid: str, budget: Budget, judgement: Judgement, location: tuple[str, int] | None
    ) -> Verdict:
        from pytest_perfbudget.paired.judgement import verdict

        return verdict(nodeid, budget, judgement, location)

    def close(self) -> None:
        self.channel.close()

    def judge(self, request: Request) -> None:
        """Serve a timed body or whole test runs (``perf(fn)`` was served in the call)."""
        kind = kind_of(request.measurer)
        if kind == "perf":
            return
        if kind == "body" or request.measurer is None:
            if request.refresh is not None and not _repeats(request.body):
                self.serve(request.nodeid, "fresh", CallTarget(request.body, request.refresh))
            else:
                self.serve(request.nodeid, "body", CallTarget(request.body))
        else:
            self.serve(request.nodeid, kind, WholeRunTarget(request.body, request.measurer))

    def selected(self, nodeids: Sequence[str]) -> list[bool]:
        """Which collected tests the coordinator asked for."""
        return [nodeid in self.selection for nodeid in nodeids]

    def collected(self, nodeids: Sequence[str], errors: Mapping[str, str]) -> None:
        """What the worker collected, and the collection errors (text by node id of the
        file or folder that failed) that left tests out."""
        errors = {nodeid: text[-3000:] for nodeid, text in errors.items()}
        self._event({"event": "collected", "nodeids": list(nodeids), "errors": errors})

    def report(self, nodeid: str, when: str, outcome: str, text: str) -> None:
        self._event(
            {
                "event": "report",
                "nodeid": nodeid,
                "when": when,
                "outcome": outcome,
                "text": text[-3000:],
            }
        )

    def wait_turn(self, nodeid: str) -> None:
        """Say ``waiting`` before test ``nodeid`` starts, and wait for ``go``: the
        coordinator lets a worker run a test only while the user's run waits for it."""
        self._event({"event": "waiting", "nodeid": nodeid})
        while self._command().get("op") != "go":
            pass

    def left(self, nodeid: str) -> None:
        """Test ``nodeid`` is over, its teardown included."""
        self._event({"event": "left", "nodeid": nodeid})

    def finished(self) -> None:
        self._event({"event": "finished"})
        self.channel.close()

    # -- serving -------------------------------------------------------------------

    def serve(self, nodeid: str, kind: str, target: CallTarget) -> None:
        """Say ``ready``, then run commands until ``done``, pinned to the shared CPU: both
        workers start up, and set up and tear down each test, in parallel."""
        with pinned(self._cpu):
            self._event({"event": "ready", "nodeid": nodeid, "kind": kind})
            while (command := self._command()).get("op") != "done":
                self._event(_execute(target, command))

    def _command(self) -> dict[str, Any]:
        """The coordinator's next command; this process ends when the coordinator is gone
        (nothing is left to serve)."""
        try:
            return self.channel.receive()
        except ChannelClosedError:
            os._exit(0)

    def _event(self, message: dict[str, Any]) -> None:
        try:
            self.channel.send(message)
        except ChannelClosedError:
            os._exit(0)


def _repeats(body: Callable[[], object]) -> bool:
    """Whether ``body`` runs again after the test's own call without raising. Its
    frames are let go of at once, with its warnings dropped (see plugin.py)."""
    import traceback

    from pytest_perfbudget.engine.tracing import warnings_dropped

    with warnings_dropped():
        try:
            body()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # pytest's outcomes (pytest.fail()) too
            traceback.clear_frames(exc.__traceback__)
            return False
    return True


def _execute(target: CallTarget, command: dict[str, Any]) -> dict[str, Any]:
    op = command.get("op")
    try:
        if op == "warmup":
            reply = target.warmup(float(command["seconds"]))
        elif op == "time":
            reply = target.time(int(command["k"]), str(command.get("timer", "wall")))
        elif op == "memory":
            reply = target.memory()
        else:
            reply = {"error": f"unknown command {op!r}"}
    except Exception as exc:  # the test's code raised; the coordinator reports it
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    return {"reply": op, **reply}
