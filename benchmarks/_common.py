"""Shared helpers of the benchmark scripts: temp projects, pytest runs, load, statistics.

Every script compares conditions inside one run and reports ratios; absolute
seconds on this shared 2-core machine mean little.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PYTHON = sys.executable
REPO = Path(__file__).resolve().parent.parent

#: Written into every generated project: quiet pytest-asyncio, no cache, no repo config.
PYPROJECT = """\
[tool.pytest.ini_options]
asyncio_default_fixture_loop_scope = "function"

[tool.perfbudget]
{perfbudget}
"""

BUSY_LOOP = "x = 0\nwhile True:\n    x = (x * 31 + 7) % 1_000_003\n"


def reference_workload() -> int:
    """About 1 ms of plain interpreter work: integer arithmetic, a dict and a list (the
    machine probe's workload of earlier versions of the plugin)."""
    total = 0
    table: dict[int, int] = {}
    for i in range(17_000):
        total = (total * 31 + i) % 1_000_003
        table[i % 97] = total
    values = sorted(table.values())
    return total + sum(values[::3])


@dataclass(frozen=True)
class Run:
    """One finished pytest subprocess."""

    seconds: float
    returncode: int
    output: str
    cpu: float = 0.0  # user + system seconds of the subprocess tree


def machine_line() -> str:
    """nproc, CPU model, Python and OS, for RESULTS.md."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    py = platform.python_version()
    return f"nproc={os.cpu_count()}, CPU {model!r}, CPython {py}, {platform.platform()}"


def header(title: str, argv: Sequence[str]) -> str:
    """The heading of a results block: command, date, machine."""
    command = shlex.join(["python", *[_short(a) for a in argv]])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"## {title}\n\n- command: `{command}`\n- date: {now}\n- machine: {machine_line()}\n"
        f"- code: {code_line()}\n- load average at start (1/5/15 min, all users): {load}\n"
    )


def code_line() -> str:
    """The commit measured, and whether the plugin's working tree differs from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "pytest_perfbudget")
    state = "plugin working tree has uncommitted edits by others" if dirty else "clean"
    return f"commit {commit} ({state})"


def _short(arg: str) -> str:
    """An existing path inside the repository as relative to it; anything else as is."""
    path = Path(arg)
    if not path.exists():
        return arg
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(REPO))
    return arg


@contextlib.contextmanager
def project(files: Mapping[str, str], perfbudget: str = "") -> Iterator[Path]:
    """A temporary pytest project holding ``files`` (dedented), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="perfbudget-bench-") as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text(PYPROJECT.format(perfbudget=perfbudget))
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        yield root


def pytest_run(
    root: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    pycache: Path | None = None,
    python: str = PYTHON,
) -> Run:
    """Run ``python -m pytest -q -p no:cacheprovider *args`` in ``root``; time it.

    By default no bytecode is written (a rewritten ``work.py`` is always re-read).
    With ``pycache``, bytecode (pytest's assertion-rewritten modules of plugins
    included) is cached under that folder, as it is in a normal checkout.
    """
    command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    cache = {"PYTHONPYCACHEPREFIX": str(pycache)} if pycache else {"PYTHONDONTWRITEBYTECODE": "1"}
    full_env = {**os.environ, **cache, **(env or {})}
    full_env.pop("GITHUB_ACTIONS", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=root, env=full_env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(seconds, done.returncode, done.stdout + done.stderr, cpu)


def read_json(path: Path) -> Any:
    """A JSON document from ``path``."""
    return json.loads(path.read_text())


@contextlib.contextmanager
def cpu_load(processes: int) -> Iterator[None]:
    """``processes`` background Python busy loops for the duration of the block."""
    procs = [
        subprocess.Popen([PYTHON, "-c", BUSY_LOOP], stdout=subprocess.DEVNULL)
        for _ in range(processes)
    ]
    try:
        time.sleep(0.2)  # let them get scheduled before measuring starts
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(p25, median, p75) of ``values``."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def describe(values: Sequence[float], fmt: str = "{:.3f}") -> str:
    """``median [p25 … p75] (min … max)`` of ``values``."""
    q1, q2, q3 = quartiles(values)
    f = fmt.format
    return f"{f(q2)} [IQR {f(q1)} … {f(q3)}] (range {f(min(values))} … {f(max(values))})"


def pct(value: float) -> str:
    """A ratio as a signed percentage: 1.023 -> '+2.3 %'."""
    return f"{(value - 1) * 100:+.1f} %"


def table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def emit(text: str, out: Path | None) -> None:
    """Print ``text``; also append it to ``out`` when given."""
    print(text, flush=True)
    if out is not None:
        with out.open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")


def median_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval of the median (order statistics of Binomial(n, 1/2))."""
    data = sorted(values)
    n = len(data)
    alpha = (1 - confidence) / 2
    cdf, k = 0.0, 0
    while k < n:
        term = _binom_pmf(n, k)
        if cdf + term > alpha:
            break
        cdf += term
        k += 1
    if k == 0:
        return data[0], data[-1]
    return data[k - 1], data[n - k]


def _binom_pmf(n: int, k: int) -> float:
    from math import comb

    return comb(n, k) / 2**n
