"""MkDocs hook: pages generated from the code so that they cannot go stale.

- ``reference/options.md``: the perfbudget group of ``pytest --help``, run with
  the Python that runs MkDocs (the docs env has the package installed);
- ``reference/hooks.md``: the ``pytest_perfbudget_*`` specs and their
  docstrings, read with ``ast`` from ``pytest_perfbudget/hookspecs.py``;
- ``changelog.md``: a copy of ``CHANGELOG.md``.

While the plugin has no options or no hookspecs module yet, the page says so.
Once the source declares them, missing output is a warning (a failure under
``mkdocs build --strict``).
"""

from __future__ import annotations

import ast
import inspect
import logging
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.gen_reference")

OPTION_PREFIX = "--perfbudget-"
HOOK_PREFIX = "pytest_perfbudget_"
_SECTION = re.compile(r"^\S.*:$")
_OPTION = re.compile(r"^  (-\S.*?)(?:\s{2,}(\S.*))?$")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_REST_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated pages to the site."""
    root = Path(config.config_file_path).parent
    package = root / "pytest_perfbudget"
    pages = {
        "reference/options.md": options_page(package),
        "reference/hooks.md": hooks_page(package / "hookspecs.py"),
        "changelog.md": (root / "CHANGELOG.md").read_text(encoding="utf-8"),
    }
    for src_uri, content in pages.items():
        files.append(File.generated(config, src_uri, content=content))
    return files


# --- command-line options ---------------------------------------------------


def pytest_help() -> str:
    """``pytest --help`` as a user sees it, outside any project configuration."""
    env = {**os.environ, "COLUMNS": "100", "PY_COLORS": "0"}
    for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        env.pop(name, None)
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
            capture_output=True,
            text=True,
            cwd=scratch,
            env=env,
            check=False,
        )
    if done.returncode != 0:
        log.warning("pytest --help failed (exit %s):\n%s", done.returncode, done.stderr)
    return done.stdout


def help_sections(text: str) -> dict[str, list[str]]:
    """Split ``--help`` output into its titled sections."""
    sections: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in text.splitlines():
        if _SECTION.match(line):
            lines = sections.setdefault(line[:-1], [])
        else:
            lines.append(line)
    return sections


def parse_options(lines: list[str]) -> list[tuple[str, str]]:
    """Pairs of (option forms, description) from one help section."""
    options: list[tuple[str, str]] = []
    for line in lines:
        match = _OPTION.match(line)
        if match:
            options.append((match[1], match[2] or ""))
        elif line.strip() and options:
            forms, text = options[-1]
            options[-1] = (forms, f"{text} {line.strip()}".strip())
    return options


def escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def options_table(options: list[tuple[str, str]]) -> str:
    rows = [f"| `{forms}` | {escape(text)} |" for forms, text in options]
    return "\n".join(["| option | meaning |", "|---|---|", *rows])


def options_page(package: Path) -> str:
    head = (
        "# Command-line options\n\n"
        "Generated from `pytest --help` when the documentation is built.\n\n"
    )
    sections = help_sections(pytest_help())
    found = {
        title: opts
        for title, lines in sections.items()
        if (opts := parse_options(lines)) and any(OPTION_PREFIX in f for f, _ in opts)
    }
    if not found:
        declared = any(
            OPTION_PREFIX in path.read_text(encoding="utf-8") for path in package.glob("*.py")
        )
        report = log.warning if declared else log.info
        report("no %s options in the output of pytest --help", OPTION_PREFIX)
        return head + "The plugin declares no command-line options yet.\n"
    body = [f"## {title}\n\n{options_table(opts)}\n" for title, opts in found.items()]
    return head + "\n".join(body)


# --- plugin hooks -------------------------------------------------------------


def hook_signature(node: ast.FunctionDef) -> str:
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"def {node.name}({ast.unparse(node.args)}){returns}: ..."


def is_firstresult(node: ast.FunctionDef) -> bool:
    return any(
        keyword.arg == "firstresult"
        and isinstance(keyword.value, ast.Constant)
        and keyword.value.value is True
        for decorator in node.decorator_list
        if isinstance(decorator, ast.Call)
        for keyword in decorator.keywords
    )


def rest_to_markdown(text: str) -> str:
    """Docstrings use reST literals and roles; show both as Markdown code."""
    return _REST_ROLE.sub(r"`\1`", inspect.cleandoc(text).replace("``", "`"))


def hook_section(node: ast.FunctionDef) -> str:
    parts = [f"## `{node.name}`", f"```python\n{hook_signature(node)}\n```"]
    if is_firstresult(node):
        parts.append("*firstresult*: the first implementation that returns a value wins.")
    parts.append(rest_to_markdown(ast.get_docstring(node) or "(not documented)"))
    return "\n\n".join(parts) + "\n"


def hooks_page(path: Path) -> str:
    head = "# Plugin hooks\n\nGenerated from `pytest_perfbudget/hookspecs.py`.\n\n"
    if not path.exists():
        log.info("%s does not exist yet: the hooks page is a placeholder", path)
        return head + "The hook specifications are not published yet.\n"
    module = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    hooks = [
        node
        for node in module.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith(HOOK_PREFIX)
    ]
    if not hooks:
        log.warning("%s defines no %s* functions", path, HOOK_PREFIX)
    intro = ast.get_docstring(module)
    body = [rest_to_markdown(intro) + "\n"] if intro else []
    return head + "\n".join([*body, *(hook_section(node) for node in hooks)])
