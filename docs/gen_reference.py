"""MkDocs hook: pages generated from the code so that they cannot go stale.

- ``reference/options.md``: the perfbudget group of ``pytest --help``, run with
  the Python that runs MkDocs (the docs env has the package installed);
- ``reference/hooks.md``: the ``pytest_perfbudget_*`` specs and their
  docstrings, read with ``ast`` from ``pytest_perfbudget/hookspecs.py``;
- ``reference/cli.md``: ``perfbudget --help`` and each subcommand's ``--help``,
  run as ``python -m pytest_perfbudget`` with the Python that runs MkDocs, under
  a short introduction per command written here;
- ``changelog.md``: a copy of ``CHANGELOG.md``.

Pages also include the example files of ``docs/examples/`` (which
``tests/test_docs_examples.py`` runs through pytest): a line of its own
``--8<-- "examples/NAME"`` becomes a code block of the file's text, fenced with
the language of its suffix. (``pymdownx.snippets`` puts the same line inside a
fence, where ruff would format it as Python.) A missing file is a warning (a
failure under ``--strict``).

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
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.gen_reference")

OPTION_PREFIX = "--perfbudget-"
HOOK_PREFIX = "pytest_perfbudget_"
_SECTION = re.compile(r"^\S.*:$")
_OPTION = re.compile(r"^  (-\S.*?)(?:\s{2,}(\S.*))?$")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_REST_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_LANGUAGES = {".py": "python", ".toml": "toml"}
_SNIPPET = re.compile(r'^([ \t]*)--8<-- "([^"]+)"[ \t]*$', re.MULTILINE)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated pages to the site."""
    root = Path(config.config_file_path).parent
    package = root / "pytest_perfbudget"
    pages = {
        "reference/options.md": options_page(package),
        "reference/hooks.md": hooks_page(package / "hookspecs.py"),
        "reference/cli.md": cli_page(),
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


# --- the perfbudget command ---------------------------------------------------

#: Each command of ``perfbudget`` with the introduction its section opens with.
CLI_COMMANDS: dict[str, str] = {
    "": (
        "`perfbudget` (also `python -m pytest_perfbudget`) works on baselines and run "
        "reports outside a test run. It never imports pytest except to run it "
        "(`refresh`). An expected failure — a file that is missing, unreadable or of the "
        "wrong kind, a bad value — prints one line `perfbudget: error: …` and exits with "
        "status 2, without a traceback."
    ),
    "refresh": (
        "Re-measure and record: runs `python -m pytest --perfbudget-save` with every "
        "argument after `refresh` passed to pytest unchanged and in order, then prints "
        "old → new (p50 and min) for each baseline entry that is new or whose minimum "
        "moved by 5 % or more either way, then how many others changed (`--all` lists "
        "every entry that changed; like `--runs`, it comes before the pytest arguments). "
        "The baseline is "
        "the one pytest uses: the last `--perfbudget-baseline` among the arguments, else "
        "`baseline` in `[tool.perfbudget]` of `./pyproject.toml`, else "
        "`.perfbudget/baseline.json`, relative to the current folder. Exits with pytest's "
        "status. `perfbudget refresh -k search` refreshes some tests and keeps the others. "
        "With `--runs N` the N runs measure the same code, so each entry keeps the samples "
        "of its fastest run (the lowest minimum) while its history gains a record of every "
        "run: the baseline does not depend on which run the machine happened to be slow "
        "in. The runs share a token, which each of their history records holds as `refresh`. "
        "After the last run, the runs a test ran in a slow stretch of the machine (it and at "
        "least half of the other tests of its class or module were 1.3x their fastest or "
        'more in that run) are marked `"busy": true` in their records, and a line says '
        "how many: the allowed slowdown leaves them out. "
        "A last line counts the entries whose saved runs allow a slowdown of +30 % or more "
        "by themselves (see `show`'s `learned`): smaller slowdowns of them go unnoticed. "
        "When `PYTHONHASHSEED` is unset, so that each run drew its own hash seed, the line "
        "says to set it for refreshes and gates alike (a test that iterates over a set of "
        "strings can run at another speed under each seed). "
        "`perfbudget refresh --runs 5 --wide` refreshes only those entries, of the tests "
        "the pytest arguments select: pytest collects as usual and deselects the others "
        "(an entry of a test that no longer exists is passed over). It says how many it "
        "refreshes, and when there are none it runs nothing and exits with status 0. Run "
        "it when the machine is quiet, to narrow what a slow stretch during the refresh "
        "widened."
    ),
    "compare": (
        "Compare two run reports (`--perfbudget-json`) or baselines offline, test by test "
        "on the node id, with the change estimate of a pytest run: the ratio of the "
        "glitch-filtered minimums of the per-call times, classified against "
        "`--threshold` as `regressed`, `improved` or `unchanged` (there is nothing to "
        "re-measure offline, so no confirmation). A test only in `HEAD` is "
        "`new`, one only in `BASE` is `removed`. A test timed another way on the two "
        "sides (another clock, or another `mode`: pytest-benchmark's samples, `perf(fn)`'s, "
        "the test body, ...) is not compared, as a pytest run does not compare it with "
        "a baseline entry: it is `new`, and a line under the table (and its `messages` in "
        "`--json`) says which two they were. Exits 1 when any test regressed, else 0."
    ),
    "show": (
        "Print a baseline as a table: per test the clock, the number of samples, min, "
        "p50 and p95, the budget, how many runs its history holds, what they allow by "
        "themselves (`learned`: the slowdown their run-to-run noise and the spread of the "
        "latest refresh's runs allow on the machine of the latest save, `—` until the "
        "history holds 5 runs or 2 of one refresh; a run allows the larger of it and the "
        "test's `regression`, widened by that spread), and the commit it was measured at. "
        "`PATH` defaults to the configured baseline."
    ),
    "merge": (
        "Merge the baselines, or the run reports, of the shards of a split CI run into one "
        "file. All files must be of the same kind. Of baselines, each test's newest entry "
        "is kept: the one a file changed from `BASE` (the baseline the shards saved over), "
        "or without `--base` the one saved over the others (its history holds their latest "
        "record, and more); entries of one test that none of these tell apart are an error "
        "without `--base`, and the last file's is kept with it. With `--base` the changed "
        "entries are listed as `perfbudget refresh` lists them. Of run reports, a later "
        "file wins for a node id it shares with an earlier one. The output is written "
        "atomically. See [Split CI jobs](../how-to/baselines.md#split-ci-jobs)."
    ),
    "import-benchmark": (
        "Turn a pytest-benchmark run saved with `--benchmark-save-data` into baseline "
        "entries keyed by each benchmark's node id, merged into the configured baseline "
        "(or `-o OUT`). Benchmarks saved without their raw data are skipped with a "
        "message; exits 1 when nothing could be imported."
    ),
}


def cli_help(command: str) -> str:
    """``perfbudget [COMMAND] --help`` as a user sees it, at a fixed width."""
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "PYTHON_COLORS": "0"}
    argv = [sys.executable, "-m", "pytest_perfbudget", *([command] if command else []), "--help"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0 or not done.stdout.startswith("usage: perfbudget"):
        log.warning("%s failed (exit %s):\n%s", " ".join(argv[1:]), done.returncode, done.stderr)
    return done.stdout.rstrip()


def cli_page() -> str:
    parts = [
        "# The `perfbudget` command\n",
        "Generated from `perfbudget --help` and each command's `--help` when the "
        "documentation is built. The file formats it reads and writes are described "
        "in [Baseline file](baseline-format.md) and [JSON run report](report-format.md).\n",
    ]
    for command, intro in CLI_COMMANDS.items():
        title = f"## `perfbudget {command}`" if command else "## Usage"
        parts.append(f"{title}\n\n{intro}\n\n```text\n{cli_help(command)}\n```\n")
    return "\n".join(parts)


# --- example files ------------------------------------------------------------


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replace each ``--8<-- "examples/NAME"`` line with the text of that file."""
    docs = Path(config.docs_dir)

    def include(match: re.Match[str]) -> str:
        indent, name = match[1], match[2]
        try:
            text = (docs / name).read_text(encoding="utf-8").rstrip("\n")
        except OSError as exc:
            log.warning("%s: cannot include %s: %s", page.file.src_uri, name, exc)
            return match[0]
        fence = "```" + _LANGUAGES.get(Path(name).suffix, "text")
        lines = [fence, *text.splitlines(), "```"]
        return "\n".join(indent + line if line else line for line in lines)

    return _SNIPPET.sub(include, markdown)
