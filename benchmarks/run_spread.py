"""What any stored-baseline rule could achieve on this machine, on one timeline.

Why: the detection study (``detection.py``) measures the plugin's verdicts; when
they miss a target, this script says whether *any* rule that compares one run's
statistic with a saved run's could have met it on the same machine in the same
hour. It runs each workload in separate processes, unchanged (factor 1.0) and
slowed (factor 1.3: 30 % more real work), alternating in a random order per
round. Each process measures for ``--seconds`` (the plugin's default
``max_time``, 1 s), then measures again in ``--blocks`` short blocks (the
re-measurement a flagged regression gets: the first block at once, the others
``--gap`` seconds apart); between samples it times the machine probe's workload
(``_common.reference_workload``, about 1 ms a call), one call per about
1 ms of samples, so that a reading of the machine is interleaved with the test.

Every unchanged run's first measurement serves as a baseline; every other run
from another round is compared with it. For each statistic (glitch-filtered
minimum and p10) and each way of using the probe, in hindsight:

- **catch at 0 FA**: the smallest threshold no unchanged pair exceeds, and the
  share of 30 % slowdowns above it: what a rule with a perfectly chosen
  threshold catches with zero false alarms;
- **FA at 90 % catch**: the threshold that catches 90 % of 30 % slowdowns,
  and the share of unchanged pairs above it.

Probe use: *raw* (no probe), *veto* (the ratio divided by the machine's slowdown
when the probe reads slower, the plugin's rule, here with the best possible
reading: interleaved), *divide* (divided either way). Check: *once* (the first
measurement alone), *confirmed* (it and the first block, right after it, must
both be over the threshold: the smaller ratio counts, as the plugin's confirming
re-measurement does), *spread* (it and every block: a slow state has to last
through all of them to cause a false alarm).

Ratios only: absolute times mean little on a shared machine.

Run: ``python benchmarks/run_spread.py [--rounds N] [--seconds S] [--blocks K]
[--block S] [--gap S] [--log FILE] [--out FILE]``
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from _common import PYTHON, REPO, emit, header, table

FACTORS = (1.0, 1.3)
#: Loop iterations of the detection study's workloads (``detection.WORKLOADS``),
#: and a list sort, which is not like the probe's workload.
WORKLOADS = {"1ms": ("spin", 25_000), "20us": ("spin", 500), "sort": ("sort", 3_000)}
STATS = ("min", "p10")
PROBE_USES = ("raw", "veto", "divide")
#: How many of a run's measurements each check uses: the first alone, the first and
#: the re-measurement right after it, the first and every re-measurement block.
CHECKS = {"once": 1, "confirmed": 2, "spread": None}

CHILD = """\
import json, random, sys, time
sys.path.insert(0, "benchmarks")
from _common import reference_workload
from pytest_perfbudget.regression import low_quantile

kind, n, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
blocks, block, gap = int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
data = [random.Random(i).random() for i in range(n)]

def spin():
    total = 0
    for i in range(n):
        total += i * i
    return total

def sort():
    return sorted(data)

fn = spin if kind == "spin" else sort
clock = time.perf_counter_ns

def measure(length):
    times, probes, since, end = [], [], 0, clock() + length * 1e9
    while clock() < end:
        start = clock()
        fn()
        took = clock() - start
        times.append(took)
        since += took
        if since >= 1_000_000:
            start = clock()
            reference_workload()
            probes.append(clock() - start)
            since = 0
    return {
        "min": low_quantile(times, 0.0), "p10": low_quantile(times, 0.10),
        "p50": low_quantile(times, 0.50), "probe": low_quantile(probes, 0.10),
        "n": len(times),
    }

out = [measure(seconds)]  # the measurement
for i in range(blocks):  # the re-measurement: short blocks, spread out in time
    time.sleep(gap if i else 0)
    out.append(measure(block))
print(json.dumps(out))
"""


def measure(workload: str, factor: float, opts: argparse.Namespace) -> list[dict[str, float]]:
    """The measurement, then each re-measurement block, of one process."""
    kind, n = WORKLOADS[workload]
    args = (round(n * factor), opts.seconds, opts.blocks, opts.block, opts.gap)
    done = subprocess.run(
        [PYTHON, "-c", CHILD, kind, *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def ratio(base: dict[str, float], now: dict[str, float], stat: str, use: str) -> float:
    change = now[stat] / base[stat]
    speed = now["probe"] / base["probe"]
    if use == "veto":
        return change / max(speed, 1.0)
    if use == "divide":
        return change / speed
    return change


def pairs(
    runs: Sequence[dict[str, object]], workload: str, stat: str, use: str, check: str
) -> tuple[list[float], list[float]]:
    """The ratios of unchanged runs and of slowed runs against every unchanged baseline
    from another round; a check by re-measurement counts the smallest ratio."""
    unchanged, slowed = [], []
    mine = [r for r in runs if r["workload"] == workload]
    bases = [r for r in mine if r["factor"] == 1.0]
    for base, run in itertools.product(bases, mine):
        if base["round"] == run["round"]:
            continue
        b, measured = base["m"][0], run["m"]  # type: ignore[index]
        value = min(ratio(b, m, stat, use) for m in measured[: CHECKS[check]])
        (unchanged if run["factor"] == 1.0 else slowed).append(value)
    return unchanged, slowed


def tradeoff(unchanged: list[float], slowed: list[float]) -> tuple[float, float, float, float]:
    """(zero-FA threshold, catch there, 90 %-catch threshold, FA there)."""
    zero_fa = max(unchanged)
    catch = sum(v > zero_fa for v in slowed) / len(slowed)
    ninety = sorted(slowed)[len(slowed) // 10]
    fa = sum(v >= ninety for v in unchanged) / len(unchanged)
    return zero_fa, catch, ninety, fa


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=1.0, help="each measurement's length")
    parser.add_argument("--blocks", type=int, default=5, help="re-measurement blocks")
    parser.add_argument("--block", type=float, default=0.2, help="each block's length, s")
    parser.add_argument("--gap", type=float, default=0.5, help="sleep between blocks, s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log", type=Path, help="write every run's statistics (JSON lines)")
    parser.add_argument("--out", type=Path, help="append the Markdown results to this file")
    opts = parser.parse_args()
    rng = random.Random(opts.seed)
    head = header("What any stored rule could achieve (run_spread.py)", sys.argv)
    runs: list[dict[str, object]] = []
    started = time.perf_counter()
    for index in range(opts.rounds):
        order = list(itertools.product(WORKLOADS, FACTORS))
        rng.shuffle(order)
        for workload, factor in order:
            m = measure(workload, factor, opts)
            runs.append({"round": index, "workload": workload, "factor": factor, "m": m})
        print(f"  round {index + 1}/{opts.rounds} done", flush=True)
    if opts.log:
        opts.log.write_text("".join(json.dumps(run) + "\n" for run in runs))
    minutes = (time.perf_counter() - started) / 60
    rows = []
    for workload in WORKLOADS:
        for stat, use, check in itertools.product(STATS, PROBE_USES, CHECKS):
            unchanged, slowed = pairs(runs, workload, stat, use, check)
            zero_fa, catch, ninety, fa = tradeoff(unchanged, slowed)
            rows.append(
                [
                    workload,
                    stat,
                    use,
                    check,
                    f"{zero_fa:.2f}x",
                    f"{100 * catch:.0f} %",
                    f"{ninety:.2f}x",
                    f"{100 * fa:.1f} %",
                ]
            )
    counts = len(pairs(runs, next(iter(WORKLOADS)), "min", "raw", "once")[0])
    emit(
        "\n".join(
            [
                head,
                f"{opts.rounds} rounds, each running every workload unchanged and 30 % slower "
                f"in separate processes in a random order; a {opts.seconds:g} s measurement, then "
                f"{opts.blocks} re-measurement blocks of {opts.block:g} s, the first at once, "
                f"the others {opts.gap:g} s apart. {counts} unchanged and as many slowed pairs per "
                f"workload (every unchanged run as a baseline for every run of another round). "
                f"Total {minutes:.1f} min.\n",
                table(
                    [
                        "workload",
                        "statistic",
                        "probe use",
                        "check",
                        "zero-FA threshold",
                        "30 % caught at it",
                        "90 %-catch threshold",
                        "false alarms at it",
                    ],
                    rows,
                ),
                "",
            ]
        ),
        opts.out,
    )


if __name__ == "__main__":
    main()
