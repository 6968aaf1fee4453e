"""Does a doctest's time depend on what the process read before it?

Why: each run of a doctest (``DocTestRunner.run``) starts a debugger whose reset
calls ``linecache.checkcache()``, one ``stat`` of every source file in
``linecache``; a pytest process fills it with the files of its tracebacks and of
``inspect`` calls. A budgeted doctest is timed by repeating its run
(``integrations.doctest_body``), which makes that check a no-op.

Three conditions, interleaved round by round, each the best of ``--calls`` runs
of one small doctest:

- ``empty``: doctest's own run with an empty ``linecache`` (the reference);
- ``full``: doctest's own run with ``--files`` files in ``linecache``;
- ``plugin``: the plugin's repetition (``doctest_body``) with the same files.

Reported: each condition's time per run over the reference's, per round.

Run: ``python benchmarks/doctest_timing.py [--files N] [--rounds R] [--calls C] [--out FILE]``
"""

from __future__ import annotations

import argparse
import doctest
import linecache
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from _common import describe, emit, header, table

from pytest_perfbudget.integrations import doctest_body

MODULE = '''
def double(value):
    """
    >>> double(21)
    42
    >>> [double(x) for x in range(3)]
    [0, 2, 4]
    """
    return 2 * value
'''


def best(run: Callable[[], object], calls: int) -> float:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        globs: dict[str, object] = {}
        exec(compile(MODULE, "double.py", "exec"), globs)
        test = doctest.DocTestParser().get_doctest(
            globs["double"].__doc__, globs, "double", "double.py", 0
        )
        runner = doctest.DocTestRunner()

        def own() -> None:
            test.globs = dict(globs)
            runner.run(test, out=lambda text: None)

        item = SimpleNamespace(dtest=test, runtest=lambda: runner.run(test, out=lambda t: None))
        plugin = doctest_body(item, globs)
        for i in range(args.files):  # what a pytest process may have read lines of
            path = Path(tmp) / f"module_{i}.py"
            path.write_text("x = 1\n" * 50)
            linecache.getlines(str(path))
        files = dict(linecache.cache)
        for run in (own, plugin):  # warm up
            best(run, 50)

        ratios: dict[str, list[float]] = {"full": [], "plugin": []}
        for _ in range(args.rounds):
            linecache.cache.clear()
            reference = best(own, args.calls)
            linecache.cache.update(files)
            ratios["full"].append(best(own, args.calls) / reference)
            ratios["plugin"].append(best(plugin, args.calls) / reference)
        reference_us = reference * 1e6

    text = header("Doctest timing and linecache (doctest_timing.py)", sys.argv)
    text += (
        f"\nOne doctest of two examples; best of {args.calls} runs per condition, "
        f"{args.rounds} rounds; the last round's reference {reference_us:.1f} µs a run. "
        f"Time per run over doctest's own run with an empty linecache, median [IQR] "
        f"(range) of the rounds.\n\n"
    )
    text += table(
        ["condition", f"ratio to the reference ({len(files)} files in linecache)"],
        [
            ["doctest's own run", describe(ratios["full"], "{:.2f}x")],
            ["the plugin's repetition (doctest_body)", describe(ratios["plugin"], "{:.2f}x")],
        ],
    )
    emit(text + "\n", args.out)


if __name__ == "__main__":
    main()
