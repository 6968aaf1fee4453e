#!/usr/bin/env python3
"""Developer entry point: two commands, nothing to install first but Python 3.10+.

    python3 dev.py demo    run the example suite in examples/demo under its budgets
    python3 dev.py test    run every gate (tox: lint, type, py, lowest, docs, build)

Each command makes its own virtual environment with the standard library's
``venv`` (``.venv-demo/``, ``.venv-dev/``), installs what it needs with pip, and
reuses it on the next run. Arguments after ``test`` go to ``tox run``
(``python3 dev.py test -e lint``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEMO_DIR = ROOT / "examples" / "demo"
DEMO_REPORT = ROOT / ".perfbudget-demo" / "report.json"
TOX_REQUIREMENT = "tox>=4.14"
PIP_QUIET = ["--quiet", "--disable-pip-version-check", "--no-input"]
#: The demo's test that breaks its budget on purpose, and the status it must get.
DEMO_FAILING_TEST = "test_demo.py::test_slow_lookup_is_over_budget"
FAILING_STATUSES = {"over_budget", "regressed", "failed"}

DEMO_INTRO = """\
pytest-perfbudget demo
======================
examples/demo is a small test suite with performance budgets:
  - test_sort_is_fast            @pytest.mark.budget(p95=50), measured with perf(sorted, data)
  - test_json_roundtrip          no marker: budgeted by a [tool.perfbudget.budgets]
                                 pattern in examples/demo/pyproject.toml, its body is timed
  - test_request_loop            the test drives the loop, one sample per `with perf.sample()`
  - test_slow_lookup_is_over_budget
                                 sleeps ~20 ms against p95="2ms": it FAILS on purpose
Watch for the perfbudget summary table at the end of the run. pytest exits 1
because of the deliberate failure; this script checks that it was the only one.
"""


def fail(message: str) -> int:
    print(f"\ndev.py: error: {message}", file=sys.stderr)
    return 1


def venv_python(venv: Path) -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return venv / scripts / ("python.exe" if os.name == "nt" else "python")


def run(command: Sequence[str | Path], cwd: Path = ROOT, env: dict[str, str] | None = None) -> int:
    """Run a command, echoing it first; return its exit status."""
    print("$ " + " ".join(str(part) for part in command), flush=True)
    return subprocess.run([str(part) for part in command], cwd=cwd, env=env, check=False).returncode


def ensure_venv(venv: Path, requirements: Sequence[str], fingerprint: str) -> Path:
    """Create ``venv`` if needed and pip-install ``requirements`` unless already done.

    The fingerprint is stored in the venv: when it changes (say pyproject.toml
    was edited), the requirements are installed again.
    """
    python = venv_python(venv)
    if not python.exists():
        print(f"Creating a virtual environment in {venv.relative_to(ROOT)}/ ...", flush=True)
        if run([sys.executable, "-m", "venv", venv]) != 0:
            raise SystemExit(fail("could not create a venv; on Debian/Ubuntu install python3-venv"))
    stamp = venv / ".dev-py-installed"
    if stamp.exists() and stamp.read_text(encoding="utf-8") == fingerprint:
        return python
    print(f"Installing {' '.join(requirements)} into {venv.relative_to(ROOT)}/ ...", flush=True)
    if run([python, "-m", "pip", "install", *PIP_QUIET, *requirements]) != 0:
        raise SystemExit(fail("pip install failed (see above)"))
    stamp.write_text(fingerprint, encoding="utf-8")
    return python


def project_fingerprint(*extra: str) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    for item in (sys.version, *extra):
        digest.update(item.encode())
    return digest.hexdigest()


def demo_failures(report_path: Path) -> tuple[list[str], str | None]:
    """Return the node ids that failed in the JSON report, and the demo test's status."""
    report = json.loads(report_path.read_text(encoding="utf-8"))
    failing, expected_status = [], None
    for entry in report.get("tests", []):
        nodeid, status = entry.get("nodeid", ""), entry.get("status")
        if nodeid.endswith(DEMO_FAILING_TEST):
            expected_status = status
        elif status in FAILING_STATUSES:
            failing.append(f"{nodeid} ({status})")
    return failing, expected_status


def check_demo(exit_code: int, report_path: Path) -> int:
    if exit_code != 1:
        return fail(
            f"pytest exited {exit_code}, expected 1 (one deliberately failing budget). "
            "0 means the over-budget test was not caught; 2-5 mean an interrupted run, "
            "an internal error, a usage error or no tests collected."
        )
    if not report_path.exists():
        return fail(f"pytest wrote no JSON report at {report_path}")
    others, status = demo_failures(report_path)
    if status != "over_budget":
        return fail(f"{DEMO_FAILING_TEST} has status {status!r} in the report, not 'over_budget'")
    if others:
        return fail("tests failed that should pass: " + ", ".join(others))
    print(
        f"\nDemo OK: pytest exited 1 because {DEMO_FAILING_TEST} broke its budget,"
        " as intended; no other test failed.\n"
        f"JSON run report: {report_path.relative_to(ROOT)}"
        " (format: docs/reference/report-format.md)"
    )
    return 0


def demo() -> int:
    python = ensure_venv(
        ROOT / ".venv-demo", ["--editable", str(ROOT)], project_fingerprint("demo")
    )
    print("\n" + DEMO_INTRO, flush=True)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    DEMO_REPORT.parent.mkdir(exist_ok=True)
    DEMO_REPORT.unlink(missing_ok=True)
    exit_code = run(
        [python, "-m", "pytest", "-p", "no:cacheprovider", f"--perfbudget-json={DEMO_REPORT}"],
        cwd=DEMO_DIR,
        env=env,
    )
    return check_demo(exit_code, DEMO_REPORT)


def test(tox_args: Sequence[str]) -> int:
    python = ensure_venv(
        ROOT / ".venv-dev", [TOX_REQUIREMENT], project_fingerprint(TOX_REQUIREMENT)
    )
    exit_code = run([python, "-m", "tox", "run", *tox_args], cwd=ROOT)
    if exit_code != 0:
        print(f"\ndev.py: tox exited {exit_code}", file=sys.stderr)
    return exit_code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dev.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["demo", "test"])
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        if rest:
            parser.error(f"demo takes no arguments, got {' '.join(rest)}")
        return demo()
    return test(rest)


if __name__ == "__main__":
    sys.exit(main())
