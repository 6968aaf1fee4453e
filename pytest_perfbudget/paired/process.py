"""Worker processes as the coordinator sees them: start, follow, command, stop.

A worker is ``python -m pytest`` on one tree, told by :data:`WORKER_ENV` where
the coordinator listens. It connects, says ``hello``, lists what it collected,
then runs its tests in order: it waits before each one (``waiting``) until
the coordinator lets it go on, and stops at each measured one (``ready``) until
the coordinator releases it. So a worker runs a test only while the user's
pytest waits for it: the head worker and the user's run share the working tree,
and the body of a test that writes a file in it does not run in both at once.
Every wait has a time limit: a worker that hangs is killed, one that crashes is
reported with the tail of its output.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_perfbudget.engine.clock import wall_seconds
from pytest_perfbudget.paired.protocol import (
    WORKER_ENV,
    Channel,
    ChannelClosedError,
    ChannelTimeoutError,
)

__all__ = ["Listener", "Ready", "WorkerError", "WorkerProcess", "worker_command"]

STOP_GRACE = 5.0
EXIT_WAIT = 2.0

#: Linux: turn address-space layout randomization off for this process and what it
#: executes next (personality ADDR_NO_RANDOMIZE; left on where the kernel or a seccomp
#: profile refuses). Two workers with randomized layouts ran the same code up to ~7 %
#: apart for their whole life under CPU load; with the same layout they agreed
#: (benchmarks/RESULTS.md, paired mode detection).
NO_ASLR = """\
import os, sys
try:
    import ctypes
    personality = ctypes.CDLL(None, use_errno=True).personality
    personality.argtypes, personality.restype = [ctypes.c_ulong], ctypes.c_int
    current = personality(0xFFFFFFFF)
    if current != -1:
        personality(current | 0x0040000)
except (ImportError, OSError, AttributeError):
    pass
"""
#: Linux: end with the coordinator, even when it is killed (SIGKILL: a CI job's time
#: limit, say) and cannot stop its workers: one stuck in a test would run on, orphaned.
#: prctl PR_SET_PDEATHSIG, kept across the exec; ``{pid}`` is the coordinator's.
DIE_WITH_COORDINATOR = """\
try:
    import ctypes, signal
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
except (ImportError, OSError, AttributeError):
    pass
if os.getppid() != {pid}:  # the coordinator ended before the call above
    os._exit(1)
"""
#: ... then become ``python -m pytest`` (same process id, same environment).
BECOME_PYTEST = "os.execv(sys.executable, [sys.executable, '-m', 'pytest', *sys.argv[1:]])\n"


def worker_command(args: Sequence[str], platform: str = sys.platform) -> list[str]:
    """The command line of a worker: pytest, started on Linux with ASLR off and to
    end with this process."""
    if platform.startswith("linux"):
        launcher = NO_ASLR + DIE_WITH_COORDINATOR.format(pid=os.getpid()) + BECOME_PYTEST
        return [sys.executable, "-c", launcher, *args]
    return [sys.executable, "-m", "pytest", *args]


class WorkerError(Exception):
    """A worker crashed, hung or broke the protocol; the message says which and how."""


@dataclass(frozen=True)
class Ready:
    """A worker stopped at a measured test and waits for commands."""

    nodeid: str
    kind: str


class Listener:
    """The coordinator's local socket that workers connect to."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.25)
        self.port: int = self._sock.getsockname()[1]
        self._pending: dict[str, Channel] = {}

    def accept(self, token: str, proc: subprocess.Popen[bytes], timeout: float) -> Channel:
        """The connection of the worker holding ``token``, once it says hello."""
        deadline = wall_seconds() + timeout
        while token not in self._pending:
            if proc.poll() is not None:
                raise WorkerError(f"exited with code {proc.returncode} before connecting")
            if wall_seconds() > deadline:
                raise WorkerError(f"did not connect within {timeout:.0f} s")
            self._accept_one()
        return self._pending.pop(token)

    def _accept_one(self) -> None:
        try:
            sock, _ = self._sock.accept()
        except TimeoutError:
            return
        channel = Channel(sock)
        try:
            hello = channel.receive(timeout=10.0)
        except (ChannelClosedError, ChannelTimeoutError, ValueError):
            channel.close()
            return
        self._pending[str(hello.get("token"))] = channel

    def close(self) -> None:
        for channel in self._pending.values():
            channel.close()
        self._sock.close()


@dataclass
class WorkerProcess:
    """One running worker and what it has told the coordinator so far."""

    role: str
    proc: subprocess.Popen[bytes]
    log: Path
    channel: Channel | None = None
    collected: list[str] | None = None
    #: Collection errors: their text by node id of the file or folder that failed.
    collect_errors: dict[str, str] = field(default_factory=dict)
    #: The test the worker waits to start (``go`` lets it).
    waiting: str | None = None
    ready: Ready | None = None
    #: The test the worker was released from and has not left yet (its teardown runs).
    leaving: str | None = None
    reported: dict[str, tuple[str, str]] = field(default_factory=dict)
    finished: bool = False

    @classmethod
    def spawn(
        cls,
        role: str,
        *,
        cwd: Path,
        args: Sequence[str],
        env: Mapping[str, str],
        port: int,
        cpu: int | None,
        selection: Path,
        log: Path,
    ) -> tuple[WorkerProcess, str]:
        """Start pytest with ``args`` in ``cwd`` (see :func:`worker_command`); returns it
        and its token."""
        token = secrets.token_hex(8)
        spec = {"port": port, "token": token, "role": role, "cpu": cpu, "selection": str(selection)}
        full_env = {**env, WORKER_ENV: json.dumps(spec)}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                worker_command(args),
                cwd=cwd,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        return cls(role, proc, log), token

    # -- events ----------------------------------------------------------------------

    def next_event(self, timeout: float) -> dict[str, Any]:
        """The next event, with the state it changes applied."""
        event = self._receive(timeout)
        kind = event.get("event")
        if kind == "collected":
            self.collected = [str(n) for n in event.get("nodeids", [])]
            self.collect_errors = {str(k): str(v) for k, v in event.get("errors", {}).items()}
        elif kind == "waiting":
            self.waiting = str(event["nodeid"])
        elif kind == "ready":
            self.ready = Ready(str(event["nodeid"]), str(event["kind"]))
        elif kind == "left":
            if self.leaving == event.get("nodeid"):
                self.leaving = None
        elif kind == "report":
            self.reported[str(event["nodeid"])] = (
                str(event["outcome"]),
                str(event.get("text", "")),
            )
        elif kind == "finished":
            self.finished = True
        return event

    def collect_error(self, nodeid: str) -> str | None:
        """The text of the collection error that left ``nodeid`` out, if one did: the
        error of its file, of a folder above it, or of the rootdir (node id ``""``)."""
        for failed, text in self.collect_errors.items():
            if (
                failed in ("", ".")
                or nodeid == failed
                or nodeid.startswith((f"{failed}::", f"{failed.rstrip('/')}/"))
            ):
                return text
        return None

    def wait_collected(self, timeout: float) -> list[str]:
        """The node ids the worker collected (waits for its ``collected`` event)."""
        while self.collected is None:
            if self.finished:
                return []
            self.next_event(timeout)
        return self.collected

    # -- commands --------------------------------------------------------------------

    def command(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send a command to a ready worker and return its reply."""
        assert self.channel is not None
        try:
            self.channel.send(message)
        except ChannelClosedError as exc:
            raise self._error(f"closed the connection ({exc})") from None
        reply = self._receive(timeout)
        if "error" in reply:
            raise WorkerError(f"the test raised while measured: {reply['error']}")
        return reply

    def until_waiting(self, timeout: float) -> None:
        """Read events until the worker waits for ``go`` at a test, has stopped at one
        (``ready``) or has ended."""
        while self.waiting is None and self.ready is None and not self.finished:
            self.next_event(timeout)

    def go(self) -> None:
        """Let a waiting worker start its test (``go``)."""
        if self.waiting is not None and self.channel is not None:
            self.waiting = None
            with contextlib.suppress(ChannelClosedError):
                self.channel.send({"op": "go"})

    def release(self) -> None:
        """Let a ready worker go on with its test (``done``)."""
        if self.ready is not None and self.channel is not None:
            self.leaving, self.ready = self.ready.nodeid, None
            with contextlib.suppress(ChannelClosedError):
                self.channel.send({"op": "done"})

    def settle(self, timeout: float) -> None:
        """Wait until the worker has left the test it was released from (its teardown
        has run), or has ended."""
        while self.leaving is not None and not self.finished:
            self.next_event(timeout)

    def _receive(self, timeout: float) -> dict[str, Any]:
        if self.channel is None:
            raise self._error("is not connected")
        try:
            return self.channel.receive(timeout)
        except ChannelTimeoutError:
            self.kill()
            raise self._error(f"did not answer within {timeout:.0f} s and was stopped") from None
        except (ChannelClosedError, ValueError):
            code = self._exit_code()
            how = "closed the connection" if code is None else f"exited with code {code}"
            raise self._error(how) from None

    def _exit_code(self) -> int | None:
        """The exit code of a worker that closed its connection (None: it had not exited)."""
        try:
            return self.proc.wait(timeout=EXIT_WAIT)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def _error(self, what: str) -> WorkerError:
        return WorkerError(f"the {self.role} worker {what}{self.tail()}")

    def tail(self, lines: int = 12) -> str:
        """The last lines of the worker's output, indented, for error messages."""
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            return ""
        return ("; its last output:\n    " + "\n    ".join(text)) if text else ""

    # -- stopping --------------------------------------------------------------------

    def kill(self) -> None:
        """Stop the process now."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        """Close the connection and end the process (terminate, then kill)."""
        if self.channel is not None:
            self.channel.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=STOP_GRACE)
        self.kill()
