"""What runs around a measured call: tracers to pause, memory to trace, output and
warnings to drop."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TextIO

__all__ = [
    "TracerPause",
    "peak_memory",
    "silenced",
    "tracer_left_running",
    "warnings_dropped",
    "warnings_once",
]

#: The file descriptors of standard output and standard error.
_STD_FDS = (1, 2)


def peak_memory(fn: Callable[[], object]) -> tuple[int, object]:
    """Call ``fn`` once under tracemalloc; return its peak traced bytes and its result.

    Starts tracemalloc if needed (and stops it again); when it was already tracing,
    the peak is reset and measured relative to the traced size at the start.
    """
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if started:
            tracemalloc.stop()
    return max(0, peak - base), result


@contextlib.contextmanager
def silenced(*, streams: bool = True) -> Iterator[None]:
    """Drop what the block writes to file descriptors 1 and 2 (C code, child
    processes) and, with ``streams``, through ``sys.stdout`` and ``sys.stderr``, which
    are then other objects in the block.

    Everything is restored afterwards, whatever it was (a capture, a terminal).
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or odd stream: nothing to flush
            stream.flush()
    with open(os.devnull, "w", encoding="utf-8") as null, contextlib.ExitStack() as stack:
        for fd in _STD_FDS:
            stack.enter_context(_pointed_at(fd, null.fileno()))
        if streams:
            stack.enter_context(contextlib.redirect_stdout(null))
            stack.enter_context(contextlib.redirect_stderr(null))
        yield


@contextlib.contextmanager
def warnings_dropped() -> Iterator[None]:
    """Drop the warnings the block issues once the filters have let them through, and
    the errors Python can only report: an exception in a ``__del__`` ("Exception
    ignored in", a ``ResourceWarning`` for a file left open under ``-W error``, say)
    and one that ends a thread.

    pytest lists every warning its capture sees, so a test body repeated 50,000
    times to time it would list a deprecation 50,000 times, and it turns each of
    those errors into a warning of the test that is running when Python reports
    them, which under ``-W error`` fails it. The filters stay as they are (``-W
    error`` still raises) and a ``pytest.warns`` inside the block still records: it
    installs its own recorder.
    """
    hooks = sys.unraisablehook, threading.excepthook
    sys.unraisablehook = threading.excepthook = _drop
    try:
        # restores the filters and showwarning after; the module named, not looked up in
        # sys.modules, which the test may have replaced
        with warnings.catch_warnings(module=warnings):
            warnings.showwarning = _drop
            yield
    finally:
        sys.unraisablehook, threading.excepthook = hooks


def _drop(*args: object, **kwargs: object) -> None:
    """A ``warnings.showwarning`` (or an unraisable or thread exception hook) that
    shows nothing."""


@contextlib.contextmanager
def warnings_once() -> Iterator[None]:
    """Issue each distinct warning of the block once, when it ends (or raises).

    For a function called thousands of times to time it: the filters apply to
    every call as usual, and what they let through is shown once per message,
    category and place, as Python's ``"default"`` action would.
    """
    seen: dict[tuple[str, type[Warning], str, int], Warning | str] = {}

    def keep(  # noqa: PLR0917 - warnings.showwarning's signature
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        seen.setdefault((str(message), category, filename, lineno), message)

    try:
        with warnings.catch_warnings(module=warnings):
            warnings.showwarning = keep
            yield
    finally:
        for (_, category, filename, lineno), message in seen.items():
            warnings.warn_explicit(message, category, filename, lineno)


@contextlib.contextmanager
def _pointed_at(fd: int, target: int) -> Iterator[None]:
    """File descriptor ``fd`` made a copy of ``target`` in the block (left alone if
    it is not open)."""
    try:
        saved = os.dup(fd)
    except OSError:
        yield
        return
    try:
        os.dup2(target, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _name(hook: object) -> str:
    target = getattr(hook, "__func__", hook)
    if not hasattr(target, "__qualname__"):
        target = type(hook)
    module = getattr(target, "__module__", None)
    qualname: str = getattr(target, "__qualname__", repr(target))
    return f"{module}.{qualname}" if module else qualname


def _monitoring_tools() -> list[str]:
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is None:  # Python < 3.12
        return []
    tools = ((tool, monitoring.get_tool(tool)) for tool in range(6))
    return [f"sys.monitoring tool {tool} ({name})" for tool, name in tools if name]


def _settable(hook: object) -> bool:
    """Whether a ``sys.settrace`` / ``sys.setprofile`` hook can be set again once removed:
    Python calls it. cProfile's profiler before Python 3.12 cannot: ``sys.getprofile()``
    gives the profiler object, not the C function it runs."""
    return callable(hook)


def tracer_left_running() -> bool:
    """Whether what is timed now would run under a hook :class:`TracerPause` leaves
    running (its ``unpausable``): a ``sys.monitoring`` tool, or a hook that cannot be
    set again."""
    hooks = (sys.gettrace(), sys.getprofile())
    return bool(_monitoring_tools()) or not all(hook is None or _settable(hook) for hook in hooks)


class TracerPause:
    """Pause ``sys.settrace`` / ``sys.setprofile`` hooks of this thread while in the block.

    The hooks ``threading.settrace`` / ``threading.setprofile`` install in new
    threads are paused with them, so threads the block starts run untraced too
    (threads already running stay as they are). Reported in ``unpausable``, and
    left running: ``sys.monitoring`` tools (Python 3.12+), and a hook that could not
    be set again once removed (see :func:`_settable`). With ``pause=False`` hooks
    are only described, and left running.
    """

    def __init__(self, *, pause: bool = True) -> None:
        self.pause = pause
        self.paused = False
        self.description: str | None = None
        self.unpausable: str | None = None
        self._hooks: tuple[object, object] = (None, None)
        self._paused: tuple[bool, bool] = (False, False)
        self._thread_hooks: tuple[object, object] = (None, None)

    def __enter__(self) -> TracerPause:
        self._hooks = (sys.gettrace(), sys.getprofile())
        self._paused = (
            self.pause and _settable(self._hooks[0]),
            self.pause and _settable(self._hooks[1]),
        )
        parts, unpausable = [], []
        kinds = (("settrace", "tracer"), ("setprofile", "profiler"))
        for (setter, kind), hook, paused in zip(kinds, self._hooks, self._paused, strict=True):
            if hook is not None:
                state = "paused" if paused else "active, not paused"
                parts.append(f"sys.{setter} {kind} {state} ({_name(hook)})")
                if self.pause and not paused:
                    unpausable.append(parts[-1])
        tools = _monitoring_tools()
        if tools:
            unpausable.append("; ".join(tools) + " active, not paused")
            parts.append(unpausable[-1])
        self.unpausable = "; ".join(unpausable) or None
        self.description = "; ".join(parts) or None
        self._thread_hooks = (threading.gettrace(), threading.getprofile())
        threads = self.pause and any(hook is not None for hook in self._thread_hooks)
        self.paused = any(self._paused) or threads
        if self.paused:
            self._set(None, None, None, None)
        return self

    def _set(
        self, trace: object, profile: object, thread_trace: object, thread_profile: object
    ) -> None:
        """Set the hooks this pause pauses (the thread hooks always)."""
        if self._paused[0]:
            sys.settrace(trace)  # type: ignore[arg-type]
        if self._paused[1]:
            sys.setprofile(profile)  # type: ignore[arg-type]
        threading.settrace(thread_trace)  # type: ignore[arg-type]
        threading.setprofile(thread_profile)  # type: ignore[arg-type]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.paused:
            self._set(*self._hooks, *self._thread_hooks)
