"""GitHub Actions output: error annotations and the job's step summary.

Annotations are workflow commands printed to stdout
(``::error file=…,line=…,title=…::message``); GitHub shows them on the pull
request's diff at the test function. See "Workflow commands for GitHub Actions".
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


def annotation(verdict: Verdict) -> str:
    """One ``::error`` command for ``verdict``, pointing at its test function."""
    props = []
    if verdict.location is not None:
        path, line = verdict.location
        props += [f"file={escape_property(path)}", f"line={int(line)}"]
    props.append(f"title={escape_property(_title(verdict))}")
    message = verdict.messages[0] if verdict.messages else f"{verdict.nodeid}: {_word(verdict)}"
    return f"::error {','.join(props)}::{escape_data(message)}"


def annotations(verdicts: Sequence[Verdict], failing: Callable[[Verdict], bool]) -> list[str]:
    """One annotation line per verdict for which ``failing`` is true, in order."""
    return [annotation(v) for v in verdicts if failing(v)]


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
    return f"perfbudget: {_word(verdict)}"
