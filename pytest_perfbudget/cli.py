"""The ``perfbudget`` console command: refresh, compare, show, merge, import-benchmark.

It never imports pytest: ``refresh`` runs ``python -m pytest`` in a subprocess.
Every expected failure (an unreadable file, a bad value) prints one line
``perfbudget: error: …`` and exits 2, like a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_perfbudget import __version__
from pytest_perfbudget.envvars import REFRESH_ONLY_ENV
from pytest_perfbudget.errors import BaselineError, ConfigError, PerfbudgetError, SpecError
from pytest_perfbudget.model import NOISE_RUNS, WIDE_LEARNED, Change, Status, Summary, Verdict
from pytest_perfbudget.units import (
    counted,
    format_change,
    format_duration,
    format_size,
    parse_ratio,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:
    from pytest_perfbudget.baseline import BaselineEntry, Sampled

__all__ = ["DEFAULT_BASELINE", "baseline_from_args", "default_baseline", "main"]

GENERATOR = f"pytest-perfbudget {__version__}"
DEFAULT_BASELINE = Path(".perfbudget/baseline.json")
COMPARE_SCHEMA_VERSION = 1
#: ``perfbudget refresh`` lists an entry whose minimum moved by at least this much
#: either way (and every new one); ``--all`` lists every entry that changed.
LISTED_CHANGE = 0.05
_BASELINE_FLAG = "--perfbudget-baseline"
_NONE = "—"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "refresh":
        # Everything after "refresh" (and its own options) goes to pytest untouched, in order.
        args.pytest_args = _pytest_args(args, argv[argv.index("refresh") + 1 :])
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except BrokenPipeError:  # the reader stopped early (`perfbudget show | head`): not an error
        # Python would report the failed flush of stdout at exit; point it at devnull.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (PerfbudgetError, OSError) as exc:
        print(f"perfbudget: error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfbudget",
        description="Performance budgets for pytest: refresh, compare and inspect baselines.",
    )
    parser.add_argument("--version", action="version", version=GENERATOR)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmd = commands.add_parser(
        "refresh",
        help="run pytest with --perfbudget-save, then print what changed in the baseline",
        description="Run `python -m pytest --perfbudget-save PYTEST_ARGS…`, then print "
        f"old → new for each baseline entry that is new or whose minimum moved by "
        f"{LISTED_CHANGE * 100:.0f} % or more, and how many others changed, and each "
        "entry removed (pytest's --perfbudget-prune drops those of tests that no longer "
        "exist). Exits with pytest's status (with --runs, the first run's that is not 0).",
    )
    cmd.add_argument(
        "--runs",
        type=_runs,
        default=1,
        metavar="N",
        help="save N runs, each a pytest process of its own (default 1), so each entry's "
        f"history holds enough runs ({NOISE_RUNS}) to learn its run-to-run noise at once, "
        "and each entry keeps the samples of its fastest run (by the minimum); "
        "it must come before the pytest arguments",
    )
    cmd.add_argument(
        "--all",
        action="store_true",
        help=f"list every entry that changed, not only those new or whose minimum moved by "
        f"{LISTED_CHANGE * 100:.0f} %% or more; it must come before the pytest arguments",
    )
    cmd.add_argument(
        "--wide",
        action="store_true",
        help=f"refresh only the entries whose saved runs allow a slowdown of "
        f"+{WIDE_LEARNED * 100:.0f} %% or more by themselves (`show`'s learned column), of "
        "the tests the pytest arguments select; it must come before them",
    )
    cmd.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="PYTEST_ARGS")
    cmd.set_defaults(handler=refresh)
    _add_file_commands(commands)
    return parser


def _add_file_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser(
        "compare", help="compare two run reports or baselines; exit 1 if anything regressed"
    )
    cmd.add_argument("base", type=Path, metavar="BASE")
    cmd.add_argument("head", type=Path, metavar="HEAD")
    cmd.add_argument("--markdown", type=Path, metavar="FILE", help="write a Markdown summary")
    cmd.add_argument("--json", type=Path, metavar="FILE", help="write the comparison as JSON")
    cmd.add_argument(
        "--threshold", type=_ratio, default=0.10, help="allowed slowdown (default: 10%%)"
    )
    cmd.set_defaults(handler=compare)
    cmd = commands.add_parser("show", help="print a baseline as a table")
    cmd.add_argument("path", type=Path, nargs="?", metavar="PATH")
    cmd.set_defaults(handler=show)
    cmd = commands.add_parser("merge", help="merge shard baselines (or shard run reports)")
    cmd.add_argument("paths", type=Path, nargs="+", metavar="FILE")
    cmd.add_argument("-o", "--output", type=Path, required=True, metavar="OUT")
    cmd.add_argument(
        "--base",
        type=Path,
        metavar="BASE",
        help="the baseline the shards saved over: each test's entry is taken from the "
        "file that changed it, and the changes are listed as a refresh lists them",
    )
    cmd.add_argument("--all", action="store_true", help="with --base, list every changed entry")
    cmd.set_defaults(handler=merge)
    cmd = commands.add_parser(
        "import-benchmark",
        help="turn a pytest-benchmark run saved with --benchmark-save-data into a baseline",
    )
    cmd.add_argument("file", type=Path, metavar="FILE")
    cmd.add_argument("-o", "--output", type=Path, metavar="OUT", help="default: the baseline")
    cmd.set_defaults(handler=import_benchmark)


def _runs(text: str) -> int:
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of runs (1 or more)")
    return int(text)


def _pytest_args(args: argparse.Namespace, rest: list[str]) -> list[str]:
    """The arguments after ``refresh`` but its own options (``--runs N``, ``--runs=N``,
    ``--all``, ``--wide``), which count only before them (argparse has checked their values)."""
    args.runs, args.all, args.wide = 1, False, False
    while rest:
        if rest[0] == "--runs" and len(rest) > 1:
            args.runs, rest = _runs(rest[1]), rest[2:]
        elif rest[0].startswith("--runs="):
            args.runs, rest = _runs(rest[0].partition("=")[2]), rest[1:]
        elif rest[0] in ("--all", "--wide"):
            setattr(args, rest[0][2:], True)
            rest = rest[1:]
        else:
            break
    return rest


def _ratio(text: str) -> float:
    try:
        value = parse_ratio(text)
    except SpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    assert value is not None  # only False parses to None, never a string
    return value


# -- paths --------------------------------------------------------------------------


def default_baseline(pyproject: Path = Path("pyproject.toml")) -> Path:
    """``[tool.perfbudget] baseline`` of ``pyproject``, else ``.perfbudget/baseline.json``."""
    try:
        with pyproject.open("rb") as stream:
            document = tomllib.load(stream)
    except FileNotFoundError:
        return DEFAULT_BASELINE
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from exc
    value = document.get("tool", {}).get("perfbudget", {}).get("baseline")
    if value is None:
        return DEFAULT_BASELINE
    if not isinstance(value, str) or not value:
        raise ConfigError(
            f"{pyproject}: [tool.perfbudget] baseline = {value!r} is not valid; expected a path"
        )
    return Path(value)


def baseline_from_args(pytest_args: Sequence[str]) -> Path:
    """The baseline pytest will use: the last ``--perfbudget-baseline`` given, else the default."""
    found: str | None = None
    for index, arg in enumerate(pytest_args):
        if arg == _BASELINE_FLAG and index + 1 < len(pytest_args):
            found = pytest_args[index + 1]
        elif arg.startswith(_BASELINE_FLAG + "="):
            found = arg.partition("=")[2]
    return Path(found) if found else default_baseline()


# -- refresh ------------------------------------------------------------------------


def refresh(args: argparse.Namespace) -> int:
    """``perfbudget refresh``: save a new baseline through pytest, then list the changes."""
    from pytest_perfbudget import baseline

    path = baseline_from_args(args.pytest_args)
    before = baseline.load(path).entries
    command = [sys.executable, "-m", "pytest", "--perfbudget-save", *args.pytest_args]
    # several runs measure the same code: under one token each entry keeps the fastest.
    # Set even for one run (empty: no token), it tells each save that this refresh
    # prints the notes about the whole file below.
    token = secrets.token_hex(6) if args.runs > 1 else ""
    env = {**os.environ, baseline.REFRESH_ENV: token}
    if not args.wide:
        status, saved = _save_runs(command, env, args.runs)
    else:
        wide = _wide(before)
        allowing = f"a slowdown of +{WIDE_LEARNED * 100:.0f} % or more by"
        if not wide:
            print(f"perfbudget: no entry of {path} allows {allowing} its saved runs alone")
            return 0
        what = f"the {counted(len(wide), 'entry')} of {path}"
        print(
            f"perfbudget: refreshing {what} whose saved runs allow {allowing} themselves",
            flush=True,
        )
        with tempfile.TemporaryDirectory(prefix="perfbudget-refresh-") as folder:
            only = Path(folder, "only.json")
            only.write_text(json.dumps(wide), encoding="utf-8")
            status, saved = _save_runs(command, {**env, REFRESH_ONLY_ENV: str(only)}, args.runs)
    refreshed = baseline.finish_refresh(path, token, saved) if saved > 1 else None
    after = baseline.load(path).entries
    runs = _print_changes(path, before, after, listing_all=args.all, command="refresh")
    from pytest_perfbudget.machine import hash_seed
    from pytest_perfbudget.regression import busy_note, restarted_note, saved_notes

    few_runs, widened = saved_notes(runs, hash_seed() is None)  # the runs' environment is ours
    notes = [few_runs]
    if refreshed:
        notes += [busy_note(refreshed.busy), restarted_note(len(refreshed.restarted))]
    notes.append(widened)
    for note in notes:
        if note:
            print(f"perfbudget: {note}")
    return status


def _save_runs(command: list[str], env: Mapping[str, str], runs: int) -> tuple[int, int]:
    """Run ``command`` (pytest in save mode) ``runs`` times; its status (the first that is
    not 0) and how many runs saved, stopping at the first that could not save."""
    status = saved = 0
    for run in range(runs):
        if runs > 1:
            print(f"perfbudget: refresh run {run + 1} of {runs}", flush=True)
        code = subprocess.run(command, check=False, env=env).returncode
        status = status or code
        if code not in (0, 1):  # interrupted, an internal or usage error, no tests: stop
            break
        saved += 1
    return status, saved


def _wide(entries: Mapping[str, BaselineEntry]) -> list[str]:
    """The node ids of the entries whose saved runs allow :data:`WIDE_LEARNED` or more by
    themselves (``refresh --wide``), sorted."""
    from pytest_perfbudget.regression import is_wide, learned_slowdown

    return [
        nodeid
        for nodeid, entry in sorted(entries.items())
        if is_wide(learned_slowdown(entry.history, entry.machine))
    ]


def _print_changes(
    path: Path,
    before: Mapping[str, BaselineEntry],
    after: Mapping[str, BaselineEntry],
    *,
    listing_all: bool,
    command: str,
) -> list[tuple[Sequence[Mapping[str, Any]], str]]:
    """Print what a refresh (or a merge, ``command``) changed: the entries new, moved
    (all with ``listing_all``) and removed; each entry's history and machine after it,
    read in the one pass that decodes the entry."""
    changed = []
    runs = []
    for nodeid, entry in sorted(after.items()):
        runs.append((entry.history, entry.machine))
        if before.get(nodeid) != entry:
            changed.append((nodeid, before.get(nodeid), entry))
    entries = counted(len(after), "baseline entry")
    print(f"\nperfbudget: {len(changed)} of {entries} changed in {path}")
    listed = [item for item in changed if listing_all or _listed(item[1], item[2])]
    for nodeid, old, new in listed:
        print(_entry_change(nodeid, old, new))
    if len(listed) < len(changed):
        print(
            f"perfbudget: {len(changed) - len(listed)} more changed, each minimum by less than "
            f"{LISTED_CHANGE * 100:.0f} % (`perfbudget {command} --all` lists them)"
        )
    removed = sorted(set(before).difference(after))
    if removed:
        print(f"perfbudget: {counted(len(removed), 'baseline entry')} removed")
        for nodeid in removed:
            print(f"{nodeid}  removed")
    return runs


def _listed(old: BaselineEntry | None, new: BaselineEntry) -> bool:
    """Whether a refresh lists the change of an entry: new, or its minimum moved by at
    least :data:`LISTED_CHANGE` either way."""
    if old is None or old.summary.min <= 0:
        return True
    ratio = new.summary.min / old.summary.min
    return not 1 / (1 + LISTED_CHANGE) < ratio < 1 + LISTED_CHANGE


def _entry_change(nodeid: str, old: BaselineEntry | None, new: BaselineEntry) -> str:
    if old is None:
        return f"{nodeid}  new  p50 {format_duration(new.summary.p50)}"
    parts = [_stat_change(stat, old.summary, new.summary) for stat in ("p50", "min")]
    return f"{nodeid}  " + " · ".join(parts)


def _stat_change(stat: str, old: Summary, new: Summary) -> str:
    before, after = old.value(stat), new.value(stat)
    ratio = f" ({format_change(after / before)})" if before > 0 else ""
    return f"{stat} {format_duration(before)} → {format_duration(after)}{ratio}"


# -- compare ------------------------------------------------------------------------


def compare_samples(
    base: Mapping[str, Sampled], head: Mapping[str, Sampled], threshold: float
) -> tuple[list[Verdict], list[str]]:
    """Verdicts for the tests of ``head`` by node id, and the node ids only in ``base``."""
    from pytest_perfbudget.regression import classify, estimate_change

    verdicts = []
    for nodeid, now in sorted(head.items()):
        before = base.get(nodeid)
        status, change = Status.NEW, None
        messages: tuple[str, ...] = ()
        apart = None if before is None else _taken_apart(before, now)
        if apart is not None:
            messages = (f"not compared: {apart}",)
        elif before is not None and now.seconds and before.seconds:
            change = replace(estimate_change(now.seconds, before.seconds), threshold=threshold)
            status = Status(classify(change, threshold))
        elif before is not None:
            status = Status.INCONCLUSIVE  # a side kept no raw samples to compare
        verdicts.append(
            Verdict(
                nodeid,
                status,
                summary=now.summary,
                baseline=before.summary if before else None,
                change=change,
                messages=messages,
            )
        )
    return verdicts, sorted(set(base) - set(head))


def _taken_apart(base: Sampled, head: Sampled) -> str | None:
    """Why the two sides' samples of a test do not compare (as a pytest run does not
    compare them with a baseline entry): another clock, or another mode."""
    from pytest_perfbudget.session import held_words

    if base.timer and head.timer and base.timer != head.timer:
        return (
            f"the base was timed with the {base.timer} clock, the head with the {head.timer} clock"
        )
    if base.mode and head.mode and base.mode != head.mode:
        return f"the base holds {held_words(base.mode)}, the head {held_words(head.mode)}"
    return None


def compare(args: argparse.Namespace) -> int:
    """``perfbudget compare BASE HEAD``: exit 1 if any test regressed."""
    from pytest_perfbudget.baseline import load_samples

    base, head = load_samples(args.base), load_samples(args.head)
    verdicts, removed = compare_samples(base, head, args.threshold)
    rows = [_compare_row(v) for v in verdicts] + [[n, "removed", *[_NONE] * 3] for n in removed]
    print(_table(["test", "status", "base p50", "head p50", "change"], rows))
    for verdict in verdicts:
        for message in verdict.messages:
            print(f"{verdict.nodeid}: {message}")
    if args.markdown:
        _write(args.markdown, _compare_markdown(verdicts, removed, args.base))
    if args.json:
        _write(args.json, _compare_json(verdicts, removed, args))
    regressed = sum(v.status is Status.REGRESSED for v in verdicts)
    print(f"\nperfbudget: {len(verdicts)} compared, {regressed} regressed, {len(removed)} removed")
    return 1 if regressed else 0


def _compare_row(verdict: Verdict) -> list[str]:
    return [
        verdict.nodeid,
        verdict.status.value,
        _maybe(verdict.baseline, lambda s: format_duration(s.p50)),
        _maybe(verdict.summary, lambda s: format_duration(s.p50)),
        _maybe(verdict.change, _change_text),
    ]


def _change_text(change: Change) -> str:
    return f"{change.text} ({change.stat})"


def _compare_markdown(verdicts: Sequence[Verdict], removed: Sequence[str], base: Path) -> str:
    from pytest_perfbudget.report.markdown import render_markdown

    text = render_markdown(verdicts, against=str(base))
    if removed:
        names = ", ".join(f"`{name.replace('`', '')}`" for name in removed)
        text += f"\nOnly in the base (removed): {names}\n"
    return text


def _compare_json(
    verdicts: Sequence[Verdict], removed: Sequence[str], args: argparse.Namespace
) -> str:
    from pytest_perfbudget.baseline import dumps

    tests = [
        {
            "nodeid": v.nodeid,
            "status": v.status.value,
            "change": _maybe_dict(v.change),
            "messages": list(v.messages),
        }
        for v in verdicts
    ] + [{"nodeid": name, "status": "removed", "change": None, "messages": []} for name in removed]
    tests.sort(key=lambda test: str(test["nodeid"]))
    document = {
        "schema_version": COMPARE_SCHEMA_VERSION,
        "generator": GENERATOR,
        "base": str(args.base),
        "head": str(args.head),
        "threshold": args.threshold,
        "tests": tests,
    }
    return dumps(document)


def _maybe_dict(change: Change | None) -> dict[str, Any] | None:
    return None if change is None else change.to_dict()


# -- show ---------------------------------------------------------------------------


def show(args: argparse.Namespace) -> int:
    """``perfbudget show [PATH]``: the baseline as an aligned table."""
    from pytest_perfbudget import baseline
    from pytest_perfbudget.machine import describe

    path: Path = args.path or default_baseline()
    loaded = baseline.load(path)
    if loaded.path is None:
        raise BaselineError(f"{path}: no such file")
    about = [f"{path}: {counted(len(loaded.entries), 'test')}", loaded.generator]
    if loaded.machine:
        about.append(describe(loaded.machine))
    print(" · ".join(part for part in about if part))
    header = ["test", "timer", "n", "min", "p50", "p95", "budget", "runs", "learned", "commit"]
    rows = [_show_row(entry) for _, entry in sorted(loaded.entries.items())]
    print(_table(header, rows))
    return 0


def _show_row(entry: BaselineEntry) -> list[str]:
    from pytest_perfbudget.regression import learned_slowdown

    summary = entry.summary
    learned = learned_slowdown(entry.history, entry.machine)
    return [
        entry.nodeid,
        entry.timer,
        str(summary.n),
        format_duration(summary.min),
        format_duration(summary.p50),
        format_duration(summary.p95),
        _budget_text(entry.budget),
        str(len(entry.history)),
        _NONE if learned is None else f"+{learned * 100:.0f} %",
        (entry.commit or _NONE)[:10],
    ]


def _budget_text(budget: Mapping[str, Any]) -> str:
    parts = [
        f"{stat} {format_size(value) if stat == 'memory' else format_duration(value)}"
        for stat, value in sorted(budget.items())
        if isinstance(value, (int, float))
    ]
    return ", ".join(parts) or _NONE


# -- merge --------------------------------------------------------------------------


def merge(args: argparse.Namespace) -> int:
    """``perfbudget merge A B… -o OUT [--base BASE]``: one baseline (or run report) from
    shards."""
    from pytest_perfbudget import baseline

    merged = baseline.merge(args.paths, base=args.base)
    before = baseline.load(args.base).entries if args.base else None  # OUT may be BASE
    baseline.atomic_write(args.output, baseline.dumps(merged.document))
    count = len(merged.document.get("tests") or ())
    files, tests = counted(len(args.paths), "file"), counted(count, "test")
    over = f" over {args.base}" if args.base else ""
    print(f"perfbudget: merged {files} into {args.output}{over} ({tests})")
    if before is not None:
        after = baseline.load(args.output).entries
        _print_changes(args.output, before, after, listing_all=args.all, command="merge")
    if merged.conflicts:
        print(
            f"perfbudget: {counted(len(merged.conflicts), 'test')} changed in more than one "
            "file, each in its own way; kept the entry of the last file that changed it: "
            + ", ".join(merged.conflicts)
        )
    return 0


# -- import-benchmark ---------------------------------------------------------------


def import_benchmark(args: argparse.Namespace) -> int:
    """``perfbudget import-benchmark FILE``: baseline entries from a pytest-benchmark run."""
    from pytest_perfbudget import baseline
    from pytest_perfbudget.importer import read_benchmark_run

    output: Path = args.output or default_baseline()
    previous = baseline.load(output).entries
    entries, missing, fingerprint = read_benchmark_run(args.file, previous)
    for name in missing:
        print(f"perfbudget: skipped {name}: the file holds no raw timings for it", file=sys.stderr)
    if missing:
        print(
            "perfbudget: save pytest-benchmark runs with `--benchmark-save=NAME "
            "--benchmark-save-data` to keep every round's timing",
            file=sys.stderr,
        )
    if not entries:
        print(f"perfbudget: error: nothing to import from {args.file}", file=sys.stderr)
        return 1
    baseline.save(output, entries, machine=fingerprint, generator=GENERATOR)
    print(
        f"perfbudget: imported {counted(len(entries), 'benchmark')} from {args.file} into {output}"
    )
    return 0


# -- helpers ------------------------------------------------------------------------


def _maybe(value: Any, fmt: Callable[[Any], str]) -> str:
    return _NONE if value is None else fmt(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Rows as left-aligned columns two spaces apart, under an underlined header."""
    table = [list(header), ["-" * len(name) for name in header], *(list(row) for row in rows)]
    widths = [max(len(row[col]) for row in table) for col in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    )


def _write(path: Path, text: str) -> None:
    from pytest_perfbudget.baseline import atomic_write

    atomic_write(path, text)
