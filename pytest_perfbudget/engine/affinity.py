"""Running a re-measurement on one CPU at a time.

On a shared VM one vCPU can run a given piece of code a fifth slower than another
for minutes on end, while a different workload runs equally fast on both (a busy
sibling hyperthread on the host competes for some execution units, not all). A
process the scheduler happens to keep on that vCPU reads a slowdown its code does
not have, and a re-measurement on the same vCPU repeats it. Re-measuring on each
CPU in turn, and counting a slowdown only when every CPU shows it, tells the two
apart. Linux only: elsewhere the re-measurement runs wherever the scheduler puts it.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

__all__ = ["CONFIRM_CPUS", "confirmation_cpus", "pinned"]

#: The most CPUs a failure is re-measured on.
CONFIRM_CPUS = 4


def confirmation_cpus(limit: int = CONFIRM_CPUS) -> tuple[int | None, ...]:
    """The CPUs to re-measure on, in turn: up to ``limit`` of those this process may
    use, in random order (so that xdist workers do not queue on the same one).

    ``(None,)`` — one re-measurement wherever the scheduler puts it — where CPU
    affinity cannot be read or only one CPU is allowed.
    """
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None:
        return (None,)
    try:
        allowed = sorted(getter(0))
    except OSError:
        return (None,)
    if len(allowed) < 2:
        return (None,)
    return tuple(random.sample(allowed, min(limit, len(allowed))))


@contextlib.contextmanager
def pinned(cpu: int | None) -> Iterator[None]:
    """Run the block with this thread on ``cpu`` alone, then restore its CPU set.

    With ``cpu=None``, or where the CPU set cannot be changed, the block runs unpinned.
    """
    before: set[int] | None = None
    if cpu is not None:
        try:
            before = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {cpu})
        except (AttributeError, OSError):
            before = None
    try:
        yield
    finally:
        if before is not None:
            os.sched_setaffinity(0, before)
