"""``inspect.stack()`` below the runner's stack padding: the padding as it is (a
function of a module file, ``engine/_pad.py``) against the same function compiled
from a string, which the runner used before 7d5f238.

For a frame whose code has no file, ``inspect.getmodule()`` goes through every
loaded module at each call, so code that walks the stack (a logger finding its
caller) ran slower in the repetitions than in the test's own call.

Rounds interleave the two paddings at 0, 8 and 15 frames (the runner samples from
16 depths); each cell is the median per call of ``inspect.stack()`` over the rounds,
and the ratio is string-compiled over file, per round.

Run: ``python benchmarks/stack_walk.py [--quick] [--out FILE]``
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _common import emit, header, table

from pytest_perfbudget.engine import _pad

DEPTHS = (0, 8, 15)


def _string_pad() -> Callable[..., object]:
    """The module's ``pad``, compiled from its text with no file, as before 7d5f238."""
    scope: dict[str, object] = {"__name__": "padding"}
    exec(compile(Path(_pad.__file__).read_text(), "<string>", "exec"), scope)  # our own file
    return scope["pad"]  # type: ignore[return-value]


def _per_call(pad: Callable[..., object], depth: int, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        pad(depth, inspect.stack)
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 9")
    parser.add_argument("--out", type=Path, help="append the Markdown results to this file")
    opts = parser.parse_args()
    for name in ("email.mime.text", "http.client", "json", "numpy"):  # a test process's
        importlib.import_module(name)

    rounds, calls = (3, 10) if opts.quick else (9, 20)
    pads = {"file (as it is)": _pad.pad, "compiled from a string": _string_pad()}
    seconds: dict[tuple[str, int], list[float]] = {}
    for _ in range(rounds):
        for depth in DEPTHS:
            for name, pad in pads.items():
                seconds.setdefault((name, depth), []).append(_per_call(pad, depth, calls))
    rows = []
    for depth in DEPTHS:
        file_s, string_s = (seconds[name, depth] for name in pads)
        ratios = [s / f for s, f in zip(string_s, file_s, strict=True)]
        rows.append(
            [
                depth,
                f"{statistics.median(file_s) * 1e3:.2f}",
                f"{statistics.median(string_s) * 1e3:.2f}",
                f"{statistics.median(ratios):.2f}x",
            ]
        )
    text = "\n".join(
        [
            header("inspect.stack() below the stack padding (stack_walk.py)", sys.argv),
            f"{len(sys.modules)} modules loaded; {rounds} rounds of {calls} calls; "
            "ms per call, median over the rounds.\n",
            table(["padding frames", "file (as it is)", "from a string", "ratio"], rows),
            "",
        ]
    )
    emit(text, opts.out)


if __name__ == "__main__":
    main()
