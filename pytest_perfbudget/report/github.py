"""GitHub Actions output: error annotations and the job's step summary.

Annotations are workflow commands printed to stdout
(``::error file=…,line=…,title=…::message``); GitHub shows them on the pull
request's diff at the test function. See "Workflow commands for GitHub Actions".
GitHub reads an annotation's ``file`` relative to the repository's root
(``$GITHUB_WORKSPACE``), which need not be pytest's rootdir.
"""

# No ``from __future__ import annotations``: it would clash with the public
# ``annotations()`` below, and everything here is valid at runtime on 3.10.
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pytest_perfbudget.model import Verdict

__all__ = [
    "annotation",
    "annotations",
    "append_step_summary",
    "escape_data",
    "escape_property",
    "in_github_actions",
    "step_summary_path",
]


def in_github_actions(environ: Mapping[str, str] = os.environ) -> bool:
    """True when running as a GitHub Actions step."""
    return environ.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    """Escape the message part of a workflow command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (``file=``, ``title=``) of a workflow command."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    verdict: Verdict, root: Path | None = None, environ: Mapping[str, str] = os.environ
) -> str:
    """One ``::error`` command for ``verdict``, pointing at its test function.

    The test's file is given relative to ``root`` (pytest's rootdir); it is written
    relative to ``$GITHUB_WORKSPACE`` when that holds it.
    """
    props = []
    if verdict.location is not None:
        path, line = verdict.location
        path = _workspace_path(path, root, environ)
        props += [f"file={escape_property(path)}", f"line={int(line)}"]
    props.append(f"title={escape_property(_title(verdict))}")
    message = verdict.messages[0] if verdict.messages else f"{verdict.nodeid}: {_word(verdict)}"
    return f"::error {','.join(props)}::{escape_data(message)}"


def annotations(
    verdicts: Sequence[Verdict],
    failing: Callable[[Verdict], bool],
    root: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> list[str]:
    """One annotation line per verdict for which ``failing`` is true, in order."""
    return [annotation(v, root, environ) for v in verdicts if failing(v)]


def step_summary_path(environ: Mapping[str, str] = os.environ) -> Path | None:
    """``$GITHUB_STEP_SUMMARY``, the file a step's Markdown summary is appended to; None
    if unset."""
    target = environ.get("GITHUB_STEP_SUMMARY")
    return Path(target) if target else None


def append_step_summary(markdown: str, environ: Mapping[str, str] = os.environ) -> Path | None:
    """Append ``markdown`` to ``$GITHUB_STEP_SUMMARY``; return that path, or None if unset."""
    path = step_summary_path(environ)
    if path is None:
        return None
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    with path.open("a", encoding="utf-8") as stream:
        stream.write(text)
    return path


def _word(verdict: Verdict) -> str:
    return verdict.status.value.replace("_", " ")


def _title(verdict: Verdict) -> str:
    """``perfbudget: <test> <status>``, the test named without its file (``file=`` gives
    it), so that the cases of a parametrized test, which share a line, tell apart."""
    _, separator, name = verdict.nodeid.partition("::")
    return f"perfbudget: {name if separator else verdict.nodeid} {_word(verdict)}"


def _workspace_path(path: str, root: Path | None, environ: Mapping[str, str]) -> str:
    """``path`` (relative to ``root``) relative to ``$GITHUB_WORKSPACE``, with forward
    slashes; as it is when either is unknown or the workspace does not hold it."""
    workspace = environ.get("GITHUB_WORKSPACE")
    if root is None or not workspace:
        return path
    try:
        relative = os.path.relpath(os.path.abspath(root / path), os.path.abspath(workspace))
    except ValueError:  # pragma: no cover - Windows: another drive
        return path
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return path
    return Path(relative).as_posix()
