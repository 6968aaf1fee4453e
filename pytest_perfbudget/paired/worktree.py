"""The base revision as a temporary git worktree, and the import roots of each tree.

``git worktree add --detach`` checks REV out beside the user's repository without
touching the working tree, the index or the current branch; :meth:`Worktree.remove`
takes it away again (``git worktree remove --force`` and ``prune``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_perfbudget.errors import ConfigError

__all__ = ["Worktree", "import_roots", "resolve_revision", "run_setup"]

GIT_TIMEOUT = 120.0


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ConfigError("--perfbudget-against needs git, and no git is on PATH") from exc


def resolve_revision(rootdir: Path, rev: str) -> tuple[Path, str]:
    """The repository's top folder and the commit ``rev`` names; ConfigError otherwise."""
    top = _git(rootdir, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise ConfigError(
            f"--perfbudget-against={rev!r} needs a git repository, and {rootdir} is not "
            "inside one (run pytest from a git checkout, or drop --perfbudget-against)"
        )
    commit = _git(rootdir, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if commit.returncode != 0 or not commit.stdout.strip():
        raise ConfigError(
            f"--perfbudget-against={rev!r}: unknown git revision in {top.stdout.strip()}; "
            "give a branch, tag or commit (e.g. origin/main, or $(git merge-base origin/main "
            "HEAD)); in CI, check out the history (actions/checkout with fetch-depth: 0)"
        )
    return Path(top.stdout.strip()), commit.stdout.strip()


@dataclass
class Worktree:
    """A detached checkout of ``commit`` in a temporary folder."""

    repo: Path
    commit: str
    path: Path | None = None

    def add(self) -> Path:
        """Check the commit out; returns the worktree's top folder."""
        holder = Path(tempfile.mkdtemp(prefix="perfbudget-against-"))
        path = holder / "tree"
        done = _git(self.repo, "worktree", "add", "--detach", str(path), self.commit)
        if done.returncode != 0:
            shutil.rmtree(holder, ignore_errors=True)
            raise ConfigError(f"git worktree add {self.commit[:12]} failed: {done.stderr.strip()}")
        self.path = path
        return path

    def remove(self) -> None:
        """Remove the checkout and git's record of it (idempotent, never raises)."""
        if self.path is None:
            return
        path, self.path = self.path, None
        try:
            _git(self.repo, "worktree", "remove", "--force", str(path))
            _git(self.repo, "worktree", "prune")
        except (ConfigError, OSError, subprocess.SubprocessError):
            pass
        shutil.rmtree(path.parent, ignore_errors=True)


def import_roots(tree: Path, extra: Sequence[str]) -> list[str]:
    """Folders to put first on PYTHONPATH: the tree, its ``src/`` and ``against_paths``."""
    roots = [tree]
    if (tree / "src").is_dir():
        roots.append(tree / "src")
    roots += [tree / entry for entry in extra]
    return [str(root) for root in roots]


def worker_env(base: Mapping[str, str], roots: Sequence[str]) -> dict[str, str]:
    """``base`` with ``roots`` first on PYTHONPATH."""
    env = dict(base)
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join([*roots, *([old] if old else [])])
    return env


def run_setup(
    command: str, cwd: Path, env: Mapping[str, str], timeout: float = 1800.0
) -> str | None:
    """Run ``against_setup`` in the base tree; an error message, or None on success."""
    try:
        done = subprocess.run(
            command,
            shell=True,
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"against_setup {command!r} did not finish within {timeout:.0f} s"
    if done.returncode == 0:
        return None
    tail = (done.stdout + done.stderr).strip().splitlines()[-10:]
    return f"against_setup {command!r} exited with {done.returncode}: " + "\n".join(tail)
