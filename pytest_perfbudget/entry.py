"""One test's baseline entry: the value, its JSON form and the checks on reading it.

Reading is split so that a big file loads fast: :func:`checked` reads every
entry's fields at load and checks their types (history records: objects, kept as
text); :func:`from_doc` does the rest (samples decoded, checks across fields)
when an entry is looked up through :class:`LazyEntries`. An entry's JSON text is
decoded with typed msgspec Structs; one they refuse is parsed and checked field
by field, which gives the error messages.
"""

from __future__ import annotations

import functools
import json
import operator
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from pytest_perfbudget.codec import (
    SAMPLE_PREFIXES,
    Encoded,
    decode_sample_array,
    dumps_field,
    dumps_inline,
    encode_samples,
    parsed,
    rounded_floats,
    thin,
    type_name,
)
from pytest_perfbudget.errors import BaselineError
from pytest_perfbudget.lazy import ArrayValues, LazyList, seconds_of
from pytest_perfbudget.model import Summary

__all__ = [
    "SAMPLE_LIMIT",
    "BaselineEntry",
    "Current",
    "History",
    "LazyEntries",
    "appended",
    "checked",
    "entry_text",
    "from_doc",
    "latest_harness",
    "latest_hash_seed",
    "latest_refresh",
    "marked_busy",
    "mins",
    "read_current",
    "refresh_mins",
    "rounded",
    "thin_samples",
    "to_doc",
    "usable_mins",
]

SAMPLE_LIMIT = 10_000

_REQUIRED = ("timer", "iterations", "samples", "stats")
_REQUIRED_KEYS = frozenset(_REQUIRED)
#: Stand-ins for a missing optional field (never changed).
_NO_LIST: list[Any] = []
_NO_DICT: dict[str, Any] = {}
_STR_OR_NONE = (str, type(None))
_LEAVES = frozenset((str, int, bool, type(None)))
_NUMBER_OR_NONE = (int, float, type(None))
_REQUIRED_STATS = frozenset(("n", "mean", "stdev", "min", "p50", "p75", "p90", "p95", "p99", "max"))


def thin_samples(sample_ns: Sequence[int], limit: int = SAMPLE_LIMIT) -> Sequence[int]:
    """At most ``limit`` samples, picked uniformly in time order (first and last kept),
    as an ``array('Q')``: a measurement's own when it holds no more (no copy; as
    Python ints, a save's entries took 36 bytes a sample)."""
    if type(sample_ns) is array and sample_ns.typecode == "Q" and len(sample_ns) <= limit:
        return sample_ns
    return array("Q", thin(sample_ns, limit))


# -- values ----------------------------------------------------------------------


@dataclass(frozen=True)
class BaselineEntry:
    """What the baseline keeps about one test."""

    nodeid: str
    timer: str
    iterations: int
    sample_ns: Sequence[int]
    summary: Summary
    budget: Mapping[str, Any]
    history: Sequence[Mapping[str, Any]]
    machine: str
    commit: str | None
    reference: float | None = None

    @property
    def seconds(self) -> Sequence[float]:
        """Per-call durations in seconds, in the order taken (made at each read, not
        kept with the entry: a run reads this once per lookup)."""
        return seconds_of(self.sample_ns, self.iterations)


class _Run(msgspec.Struct, gc=False):
    """What the noise floor reads of a history record (any JSON values)."""

    machine: Any = None
    min: Any = None
    refresh: Any = None
    harness: Any = None
    busy: Any = None
    mode: Any = None
    hash_seed: Any = None


_runs = msgspec.json.Decoder(list[_Run]).decode
_rows = msgspec.json.Decoder(list[msgspec.Raw]).decode


class History(LazyList[Mapping[str, Any]]):
    """A test's history records, oldest first, each kept as its one-line JSON text.

    A history read from a file stays the text of its list: a save writes its
    records back as they are, the noise floor reads two fields of each
    (:func:`mins`), and the records are parsed only when looked at.
    """

    __slots__ = ("_parsed", "_rows", "_runs", "_text")

    def __init__(self, rows: Iterable[str] = (), *, text: msgspec.Raw | None = None) -> None:
        """The history of one-line ``rows``, or of a list's JSON ``text`` (then a
        ``msgspec.ValidationError`` unless it is a list of objects)."""
        self._text = text
        self._runs: list[_Run] | None = None if text is None else _runs(text)
        self._rows = None if text is not None else tuple(map(Encoded, rows))
        self._parsed: list[Any] | None = None

    @classmethod
    def of(cls, records: Iterable[Mapping[str, Any]]) -> History:
        """The history of records (dicts), each written on one line."""
        return cls(dumps_inline(dict(record)) for record in records)

    @property
    def rows(self) -> tuple[Encoded, ...]:
        """Each record's JSON text on one line, as a save writes it."""
        if self._rows is None:
            rows = (str(row, "utf-8") for row in _rows(self._text or b"[]"))
            self._rows = tuple(
                Encoded(dumps_inline(json.loads(row)) if "\n" in row else row) for row in rows
            )
        return self._rows

    def _values(self) -> list[Any]:
        if self._parsed is None:
            if self._text is not None:
                self._parsed = json.loads(bytes(self._text))
            else:
                self._parsed = [json.loads(row) for row in self.rows]
        return self._parsed

    def __len__(self) -> int:
        return len(self._runs) if self._runs is not None else len(self.rows)


# -- the JSON form ----------------------------------------------------------------


def rounded(value: Any) -> Any:
    """Floats rounded to 6 significant digits, so refresh diffs stay readable.

    ``float(f"{x:.6g}")`` keeps an infinity or NaN as it is.
    """
    kind = type(value)
    if kind is float:
        return float(f"{value:.6g}")
    if kind is dict:  # the common leaves handled inline: a call per value costs more
        return {
            key: float(f"{item:.6g}")
            if type(item) is float
            else item
            if type(item) in _LEAVES
            else rounded(item)
            for key, item in value.items()
        }
    if kind is list or kind is tuple:
        return [
            float(f"{item:.6g}")
            if type(item) is float
            else item
            if type(item) in _LEAVES
            else rounded(item)
            for item in value
        ]
    plain: Any = {float: float, dict: dict, list: list, tuple: list}
    for abstract in (float, Mapping, list, tuple):  # subclasses: numpy floats, named tuples
        if isinstance(value, abstract):
            return rounded(plain.get(abstract, dict)(value))
    return value


def _samples(entry: BaselineEntry) -> tuple[str, int]:
    """The entry's samples, encoded as written (thinned to :data:`SAMPLE_LIMIT`), and
    their number."""
    samples = entry.sample_ns
    try:  # the common case, without copying every sample through int()
        if len(samples) > SAMPLE_LIMIT:
            raise ValueError("too many samples")
        return encode_samples(samples), len(samples)
    except ValueError:
        samples = thin_samples(samples)
        return encode_samples(samples), len(samples)


def to_doc(entry: BaselineEntry) -> dict[str, Any]:
    """The entry's JSON value (:func:`entry_text` writes it)."""
    encoded, count = _samples(entry)
    return {
        "timer": entry.timer,
        "iterations": entry.iterations,
        "samples": encoded,
        "n": count,
        "stats": _stats_json(entry.summary),
        "budget": rounded(entry.budget),
        "history": list(_history(entry.history).rows),  # rounded when each record was made
        "machine": entry.machine,
        "commit": entry.commit,
        "reference": rounded(entry.reference),
    }


#: The keys of an entry's value, sorted.
_ENTRY_KEYS = (
    "budget",
    "commit",
    "history",
    "iterations",
    "machine",
    "n",
    "reference",
    "samples",
    "stats",
    "timer",
)
#: An entry's text as :func:`~pytest_perfbudget.codec.dumps_test` lays out
#: :func:`to_doc`: its keys sorted, one a line.
_ENTRY_TEXT = "{\n      " + ",\n      ".join(f'"{key}": %s' for key in _ENTRY_KEYS) + "\n    }"


def entry_text(entry: BaselineEntry) -> str:
    """``dumps_test(to_doc(entry))``, filled into a template: a full refresh writes
    every entry of the file, and the generic writer costs more than all else it does."""
    encoded, count = _samples(entry)
    rows = _history(entry.history).rows
    stats = _stats_json(entry.summary)
    return _ENTRY_TEXT % (
        _budget_text(entry.budget),
        dumps_inline(entry.commit),
        "[\n        " + ",\n        ".join(rows) + "\n      ]" if rows else "[]",
        dumps_inline(entry.iterations),
        dumps_inline(entry.machine),
        count,
        dumps_inline(rounded(entry.reference)),
        dumps_inline(encoded),
        stats if type(stats) is Encoded else dumps_field(stats),
        dumps_inline(entry.timer),
    )


#: The text of each budget a save wrote, by its ``repr`` (see :func:`_budget_text`).
_BUDGET_TEXTS: dict[str, str] = {}


def _budget_text(budget: Mapping[str, Any]) -> str:
    """``dumps_field(rounded(budget))``, made once for each budget: the tests of a
    folder share theirs. A JSON value's ``repr`` tells it from every other one
    (``1`` from ``1.0`` and ``True``, ``0.0`` from ``-0.0``)."""
    if type(budget) is not dict:
        return dumps_field(rounded(budget))
    key = repr(budget)
    text = _BUDGET_TEXTS.get(key)
    if text is None:
        text = dumps_field(rounded(budget))
        if len(_BUDGET_TEXTS) < 1024:
            _BUDGET_TEXTS[key] = text
    return text


#: The float fields of a summary, sorted.
_FLOAT_STATS = ("max", "mean", "min", "p50", "p75", "p90", "p95", "p99", "p999", "stdev")
_float_stats = operator.attrgetter(*_FLOAT_STATS)
_FLOATS = (float,) * len(_FLOAT_STATS)
_BOUND_TYPES = frozenset((float, type(None)))


@functools.lru_cache(maxsize=256)
def _stats_template(stats: tuple[str, ...], types: tuple[type, ...], number: str) -> str | None:
    """A summary as :func:`~pytest_perfbudget.codec.dumps` lays it out in an entry, with
    ``number`` (a ``%`` format) for each float and ``%s`` for ``n``, bounds first
    (``tests/unit/test_entry.py`` checks it).

    ``stats`` are the names of the bounded statistics, sorted, and ``types`` those
    of their low and high bounds, in turn; a None bound is written ``null``. None
    when the bounds are not pairs of floats or None.
    """
    if len(types) != 2 * len(stats) or not _BOUND_TYPES.issuperset(types):
        return None
    values = iter("null" if kind is type(None) else number for kind in types)
    pairs = ", ".join(
        f"{dumps_inline(stat).replace('%', '%%')}: [{next(values)}, {next(values)}]"
        for stat in stats
    )
    names = ("bounds", *_FLOAT_STATS[:3], "n", *_FLOAT_STATS[3:])  # sorted: n after min
    fields = {"bounds": "{" + pairs + "}", "n": "%s"}
    body = ",\n        ".join(f'"{name}": {fields.get(name, number)}' for name in names)
    return "{\n        " + body + "\n      }"


#: Below this a float's ``%.6g`` text rounds to no integer (``%.6g`` of 0.9999995 is "1").
_BELOW_ONE = 0.999999


def _stats_json(summary: Summary) -> Any:
    """``rounded(summary.to_dict())`` as the text it is written as, in a template made
    once for each shape of bounds.

    Timings are fractions of a second: then every float's ``%.6g`` text is its JSON
    text after rounding, and the template formats them all in one operation. Any
    other float (a second or more, zero, a subnormal, NaN) takes
    :func:`~pytest_perfbudget.codec.rounded_floats`.
    """
    bounds = sorted(summary.bounds.items())
    flat = [value for _, pair in bounds for value in pair]
    stats = _float_stats(summary)
    names, types = tuple(stat for stat, _ in bounds), tuple(map(type, flat))
    if type(summary.n) is not int or tuple(map(type, stats)) != _FLOATS:
        return rounded(summary.to_dict())
    values = [*(value for value in flat if value is not None), *stats]
    # min() and max() can miss a NaN, the sum's test does not
    timings = min(values) >= 1e-300 and max(values) < _BELOW_ONE and sum(values) < len(values)
    template = _stats_template(names, types, "%.6g" if timings else "%s")
    if template is None:
        return rounded(summary.to_dict())
    texts = values if timings else rounded_floats(values)
    cut = len(values) - len(_FLOAT_STATS) + 3  # n goes after min
    return Encoded(template % (*texts[:cut], summary.n, *texts[cut:]))


def _runs_of(history: Sequence[Mapping[str, Any]]) -> list[_Run]:
    """The fields the noise floor reads of each record. A :class:`History` keeps them:
    read from a file, it has them without parsing its records; made of records (a
    save's), they are made at the first call, not at each (a save's notes read every
    entry's several times)."""
    runs = history._runs if isinstance(history, History) else None
    if runs is None:
        runs = [_Run(*map(run.get, _Run.__struct_fields__)) for run in history]
        if isinstance(history, History):
            history._runs = runs
    return runs


def mins(history: Sequence[Mapping[str, Any]], machine: str | None = None) -> list[Any]:
    """The ``min`` of each record taken on ``machine`` (default: that of the latest
    record), whatever its JSON type."""
    runs = _runs_of(history)
    if machine is None and runs:
        machine = runs[-1].machine
    return [run.min for run in runs if run.machine == machine]


def usable_mins(history: Sequence[Mapping[str, Any]], machine: str | None = None) -> list[Any]:
    """The :func:`mins` that are positive numbers: the saved runs the noise floor
    learns from."""
    return [low for low in mins(history, machine) if _positive(low)]


def refresh_mins(history: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The positive ``min`` of each run of the latest record's refresh (the records
    holding its ``refresh`` token, whatever their machine: one refresh runs on one)
    that the refresh did not mark as run in a slow stretch of the machine
    (``"busy": true``); none when the latest record holds no token."""
    runs = _runs_of(history)
    token = runs[-1].refresh if runs else None
    return [] if token is None else _refresh_lows(runs, token)


def refresh_levels(history: Sequence[Mapping[str, Any]], token: str) -> tuple[list[Any], list[Any]]:
    """The :func:`refresh_mins` of refresh ``token``, and those of the refresh before it
    (or the positive ``min`` of the latest earlier record, when that is not a refresh's)."""
    runs = _runs_of(history)
    earlier = [run for run in runs if run.refresh != token]
    before = earlier[-1].refresh if earlier else None
    if before is None:
        level = [run.min for run in earlier[-1:] if _positive(run.min)]
    else:
        level = _refresh_lows(earlier, before)
    return _refresh_lows(runs, token), level


def _refresh_lows(runs: Sequence[_Run], token: str) -> list[Any]:
    return [
        run.min
        for run in runs
        if run.refresh == token and run.busy is not True and _positive(run.min)
    ]


def latest_harness(history: Sequence[Mapping[str, Any]]) -> Any:
    """The ``harness`` of the latest record (None: a plain pytest run, or no record)."""
    runs = _runs_of(history)
    return runs[-1].harness if runs else None


def latest_hash_seed(history: Sequence[Mapping[str, Any]]) -> Any:
    """The ``hash_seed`` of the latest record (None: drawn per process, or no record)."""
    runs = _runs_of(history)
    return runs[-1].hash_seed if runs else None


def latest_mode(history: Sequence[Mapping[str, Any]]) -> Any:
    """The ``mode`` of the latest record: how its samples were taken (None: a record
    of a version that did not write it, or no record)."""
    runs = _runs_of(history)
    return runs[-1].mode if runs else None


def same_kind(entry: BaselineEntry, timer: str, mode: str | None) -> bool:
    """Whether samples taken with ``timer`` in ``mode`` measure what ``entry``'s do: the
    same clock, and the same mode. Each mode times another thing: pytest-benchmark's
    loop, perfbudget's own calls of a function (``perf``, or the function a test gives
    pytest-benchmark where that is off), the test body, the body on fixtures set up
    afresh for each call, the test's own samples. A mode not known (None, or a record
    written before the mode was) compares with any."""
    if entry.timer != timer:
        return False
    saved = latest_mode(entry.history)
    return mode is None or saved is None or saved == mode


def latest_refresh(history: Sequence[Mapping[str, Any]]) -> Any:
    """The ``refresh`` token of the latest record (None: not a refresh's, or no record)."""
    runs = _runs_of(history)
    return runs[-1].refresh if runs else None


def marked_busy(history: Sequence[Mapping[str, Any]], token: str, runs: Iterable[int]) -> History:
    """``history`` with ``"busy": true`` added to the records of refresh ``token``
    whose places among that refresh's records are ``runs`` (0: its first run)."""
    marked = set(runs)
    rows = []
    place = 0
    for row, run in zip(_history(history).rows, _runs_of(history), strict=True):
        busy = run.refresh == token and place in marked
        place += run.refresh == token
        rows.append(Encoded(dumps_inline({**json.loads(row), "busy": True})) if busy else row)
    return History(rows)


def split_at_refresh(history: Sequence[Mapping[str, Any]], token: str) -> tuple[History, History]:
    """``history``'s records of other runs than refresh ``token``'s, and that refresh's."""
    others: list[str] = []
    its: list[str] = []
    for row, run in zip(_history(history).rows, _runs_of(history), strict=True):
        (its if run.refresh == token else others).append(row)
    return History(others), History(its)


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and value > 0


def _history(history: Sequence[Mapping[str, Any]]) -> History:
    return history if isinstance(history, History) else History.of(history)


def appended(
    history: Sequence[Mapping[str, Any]], record: Mapping[str, Any], limit: int
) -> History:
    """``history`` with ``record`` added, the oldest records dropped beyond ``limit``
    (the kept records as they were written)."""
    return History((*_history(history).rows, dumps_inline(dict(record)))[-limit:])


# -- reading ----------------------------------------------------------------------


class _Common(msgspec.Struct, gc=False):
    """An entry's fields, typed as :func:`from_doc` reads them.

    Decoding with these types reads a valid entry several times faster than
    parsing it and checking the result; an entry they refuse (one :func:`from_doc`
    would read differently, a stat written as a string, say, or a bad one) is
    parsed and read by :func:`from_doc`, which accepts it or says what is wrong.
    """

    timer: str
    iterations: int
    samples: str
    n: int | msgspec.UnsetType = msgspec.UNSET
    budget: dict[str, Any] = {}
    machine: str = ""
    commit: str | None = None
    reference: float | None = None


_NO_HISTORY = msgspec.Raw(b"[]")


class _Fields(_Common, gc=False, kw_only=True):
    """What an entry is built from (the history as its text)."""

    stats: Summary
    history: msgspec.Raw = _NO_HISTORY


_fields = msgspec.json.Decoder(_Fields).decode


class _Ready(NamedTuple):
    """An entry's fields as :func:`checked` read them, to build the entry from."""

    fields: _Fields
    history: History


def _field(where: str, data: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise BaselineError(f"{where}: {key!r} has a bad value {value!r}")
    return value


def from_doc(path: Path, nodeid: str, data: object) -> BaselineEntry:
    """The entry of a test's value in a baseline: parsed, or still JSON text (a
    :class:`msgspec.Raw`); a :class:`BaselineError` names the file, the test and
    what is wrong."""
    if type(data) is msgspec.Raw:
        data = _ready(path, nodeid, data)
    if type(data) is _Ready:
        return _entry(path, nodeid, data.fields, data.fields.stats, data.history)
    where = f"{path}: test {nodeid!r}"
    if not isinstance(data, dict):
        raise BaselineError(f"{where} must be an object, got {type_name(data)}")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise BaselineError(f"{where} is missing {', '.join(map(repr, missing))}")
    try:
        summary = Summary.from_dict(_field(where, data, "stats", dict))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise BaselineError(f"{where}: bad 'stats' ({type(exc).__name__}: {exc})") from exc
    history = _field(where, {"history": [], **data}, "history", list)
    if not all(isinstance(run, dict) for run in history):
        raise BaselineError(f"{where}: 'history' must be a list of objects")
    reference = _field(where, {"reference": None, **data}, "reference", (int, float, type(None)))
    common = _Common(
        timer=_field(where, data, "timer", str),
        iterations=_field(where, data, "iterations", int),
        samples=data["samples"],
        n=data.get("n", msgspec.UNSET),
        budget=_field(where, {"budget": {}, **data}, "budget", dict),
        machine=_field(where, {"machine": "", **data}, "machine", str),
        commit=_field(where, {"commit": None, **data}, "commit", (str, type(None))),
        reference=None if reference is None else float(reference),
    )
    return _entry(path, nodeid, common, summary, tuple(history))


def _entry(
    path: Path,
    nodeid: str,
    fields: _Common,
    summary: Summary,
    history: Sequence[Mapping[str, Any]],
) -> BaselineEntry:
    """The entry of type-checked fields: samples decoded, the checks across fields made."""
    try:
        samples = decode_sample_array(fields.samples)
    except BaselineError as exc:
        raise BaselineError(f"{path}: test {nodeid!r}: bad 'samples': {exc}") from exc
    if fields.n is not msgspec.UNSET and fields.n != len(samples):
        raise BaselineError(
            f"{path}: test {nodeid!r}: 'n' is {fields.n!r} but 'samples' holds {len(samples)}"
        )
    if fields.iterations < 1:
        raise BaselineError(
            f"{path}: test {nodeid!r}: 'iterations' has a bad value {fields.iterations!r}"
        )
    return BaselineEntry(
        nodeid=nodeid,
        timer=fields.timer,
        iterations=fields.iterations,
        sample_ns=ArrayValues(samples),
        summary=summary,
        budget=fields.budget,
        history=history,
        machine=fields.machine,
        commit=fields.commit,
        reference=fields.reference,
    )


def _ready(path: Path, nodeid: str, text: msgspec.Raw) -> object:
    """The fields of an entry's JSON text, as the typed Structs read them; the parsed
    value when they refuse it (then :func:`from_doc` checks it field by field)."""
    try:
        fields = _fields(text)
    except msgspec.DecodeError:  # a ValidationError, mostly
        return parsed(text)
    try:
        return _Ready(fields, History(text=fields.history))
    except msgspec.ValidationError:
        raise BaselineError(
            f"{path}: test {nodeid!r}: 'history' must be a list of objects"
        ) from None


class _Document(msgspec.Struct, gc=False):
    """A baseline of the current schema, as :func:`read_current` reads it."""

    schema_version: int
    tests: dict[str, _Fields]
    machine: dict[str, Any] = {}
    generator: Any = ""


_document = msgspec.json.Decoder(_Document).decode


class Current(NamedTuple):
    """A baseline file read by :func:`read_current`."""

    machine: dict[str, Any]
    generator: Any
    tests: dict[str, _Ready]


def read_current(text: str | bytes, schema_version: int) -> Current | None:
    """A valid baseline of ``schema_version``, read in one typed decode of the whole
    document (a third faster than a decode per entry); None for any other text,
    which the checking path (:func:`checked`) then reads and names what is wrong
    with."""
    try:
        doc = _document(text)
        if doc.schema_version != schema_version:
            return None
        tests = {
            nodeid: _Ready(fields, History(text=fields.history))
            for nodeid, fields in doc.tests.items()
        }
    except msgspec.DecodeError:  # a ValidationError too
        return None
    if not all(_sound(ready.fields) for ready in tests.values()):
        return None
    return Current(doc.machine, doc.generator, tests)


def _sound(fields: _Common) -> bool:
    """The checks of typed fields their types leave: iterations at least 1, samples
    in a known encoding (the rest is checked when the entry is used)."""
    return fields.iterations >= 1 and fields.samples.startswith(SAMPLE_PREFIXES)


def checked(path: Path, nodeid: str, data: object) -> object:
    """What a load makes of every entry, to build it from when its test uses it: its
    fields read and their types checked; samples are decoded when the entry is used.
    A :class:`BaselineError` names the file, the test and what is wrong."""
    if type(data) is msgspec.Raw:
        data = _ready(path, nodeid, data)
    if type(data) is _Ready:
        if not _sound(data.fields):
            from_doc(path, nodeid, data)  # raises the precise error
    elif not _plausible(data):
        from_doc(path, nodeid, data)  # raises the precise error, if any
    return data


def _plausible(data: object) -> bool:
    """The cheap part of :func:`from_doc`'s checks of a parsed entry: every field present
    and of its type (history: a list of objects)."""
    if type(data) is not dict or not data.keys() >= _REQUIRED_KEYS:
        return False
    get = data.get
    history = get("history", _NO_LIST)
    return (
        type(data["timer"]) is str
        and type(data["iterations"]) is int
        and data["iterations"] >= 1
        and type(data["samples"]) is str
        and data["samples"].startswith(SAMPLE_PREFIXES)
        and type(data["stats"]) is dict
        and data["stats"].keys() >= _REQUIRED_STATS
        and type(get("n", 0)) is int
        and type(get("budget", _NO_DICT)) is dict
        and type(history) is list
        and all(type(run) is dict for run in history)
        and type(get("machine", "")) is str
        and type(get("commit")) in _STR_OR_NONE
        and type(get("reference")) in _NUMBER_OR_NONE
    )


class LazyEntries(Mapping[str, BaselineEntry]):
    """The entries of a read file (see :func:`checked`), each validated in full and
    decoded when it is looked up.

    A lookup builds the entry again rather than keeping it: a run looks each entry
    up a few times (about 15 µs each for 200 samples), while keeping the decoded
    samples of every entry it used to the end of the run grew its memory by up
    to 80 KB a test (an entry of 10,000 samples).
    """

    def __init__(self, path: Path, tests: Mapping[str, Any]) -> None:
        self._path = path
        self._tests = tests

    def __getitem__(self, nodeid: str) -> BaselineEntry:
        return from_doc(self._path, nodeid, self._tests[nodeid])

    def history(self, nodeid: str) -> Sequence[Mapping[str, Any]]:
        """The history of an entry, without decoding its samples when the file is of
        the current schema."""
        data = self._tests[nodeid]
        return data.history if type(data) is _Ready else self[nodeid].history

    def __contains__(self, nodeid: object) -> bool:
        return nodeid in self._tests

    def __iter__(self) -> Iterator[str]:
        return iter(self._tests)

    def __len__(self) -> int:
        return len(self._tests)
