"""A run killed while saving never leaves a half-written baseline or loses a saved entry."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pytest_perfbudget.baseline import load

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

#: Saves one entry with a big sample list at a time, printing each node id once
#: its save has returned.
SAVER = textwrap.dedent(
    """
    import random, sys
    from pathlib import Path
    from pytest_perfbudget.baseline import BaselineEntry, save
    from pytest_perfbudget.model import Summary

    path, prefix = Path(sys.argv[1]), sys.argv[2]
    rng = random.Random(prefix)
    stats = dict(n=1, mean=1e-3, stdev=0.0, min=1e-3, p50=1e-3, p75=1e-3, p90=1e-3,
                 p95=1e-3, p99=1e-3, p999=1e-3, max=1e-3)
    print("ready", flush=True)
    for i in range(10_000):
        samples = tuple(rng.randrange(900_000, 1_100_000) for _ in range(10_000))
        entry = BaselineEntry(
            nodeid=f"{prefix}::{i}", timer="wall", iterations=1, sample_ns=samples,
            summary=Summary(**stats), budget={}, history=(), machine="m", commit=None,
        )
        save(path, [entry], machine={}, generator="kill-test")
        print(entry.nodeid, flush=True)
    """
)


def run_and_kill(path: Path, prefix: str, delay: float, sig: signal.Signals) -> list[str]:
    """Start a saver, send ``sig`` ``delay`` s after its first save; the node ids it reported saved.

    Waiting for the first save keeps the trial meaningful however slow the
    machine is (a loaded runner, or coverage tracing the saver).
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(path), prefix],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    first = proc.stdout.readline().strip()
    time.sleep(delay)
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        # A KeyboardInterrupt that lands in a finaliser is printed and ignored by
        # CPython; a user presses Ctrl-C again, so does this test, then gives up.
        proc.send_signal(sig)
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    return [first, *out.split()]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_a_killed_save_keeps_every_completed_entry(tmp_path: Path, sig: signal.Signals) -> None:
    rng = random.Random(20240501 + sig)
    path = tmp_path / ".perfbudget" / "baseline.json"
    saved: set[str] = set()
    for trial in range(10 if sig == signal.SIGKILL else 4):
        saved.update(run_and_kill(path, f"t{trial}", rng.uniform(0.02, 0.3), sig))
        assert saved <= set(load(path).entries)
