"""One test's baseline entry: the value, its JSON form and the checks on reading it.

Reading is split so that a big file loads fast: :func:`plausible` is the cheap
check of every field's type, run on every entry at load; :func:`from_doc` is the
full check (samples decoded, stats converted), run when an entry is first used
through :class:`LazyEntries`. Both decode an entry's JSON text with typed msgspec
Structs and fall back to checking the parsed value field by field, which gives
the error messages.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from pytest_perfbudget.codec import (
    SAMPLE_PREFIXES,
    decode_samples,
    encode_samples,
    parsed,
    thin,
    type_name,
)
from pytest_perfbudget.errors import BaselineError
from pytest_perfbudget.model import Summary

__all__ = [
    "SAMPLE_LIMIT",
    "BaselineEntry",
    "LazyEntries",
    "from_doc",
    "plausible",
    "rounded",
    "thin_samples",
    "to_doc",
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


def thin_samples(sample_ns: Sequence[int], limit: int = SAMPLE_LIMIT) -> tuple[int, ...]:
    """At most ``limit`` samples, picked uniformly in time order (first and last kept)."""
    return thin(sample_ns, limit)


# -- values ----------------------------------------------------------------------


@dataclass(frozen=True)
class BaselineEntry:
    """What the baseline keeps about one test."""

    nodeid: str
    timer: str
    iterations: int
    sample_ns: tuple[int, ...]
    summary: Summary
    budget: Mapping[str, Any]
    history: tuple[Mapping[str, Any], ...]
    machine: str
    commit: str | None
    reference: float | None = None

    @property
    def seconds(self) -> list[float]:
        """Per-call durations in seconds, in the order taken."""
        scale = 1e-9 / self.iterations
        return [ns * scale for ns in self.sample_ns]


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


def to_doc(entry: BaselineEntry) -> dict[str, Any]:
    samples = entry.sample_ns
    try:  # the common case, without copying every sample through int()
        if len(samples) > SAMPLE_LIMIT:
            raise ValueError("too many samples")
        encoded = encode_samples(samples)
    except ValueError:
        samples = thin_samples(samples)
        encoded = encode_samples(samples)
    return {
        "timer": entry.timer,
        "iterations": entry.iterations,
        "samples": encoded,
        "n": len(samples),
        "stats": rounded(entry.summary.to_dict()),
        "budget": rounded(entry.budget),
        "history": list(entry.history),  # rounded when each record was made
        "machine": entry.machine,
        "commit": entry.commit,
        "reference": rounded(entry.reference),
    }


# -- reading ----------------------------------------------------------------------


class _Object(msgspec.Struct, gc=False):
    """Any JSON object (its members are skipped)."""


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


class _Checked(_Common, gc=False, kw_only=True):
    """What a load checks of every entry: history records are objects, left unread."""

    stats: Summary
    history: list[_Object] = []


class _Fields(_Common, gc=False, kw_only=True):
    """What an entry is built from when its test uses it."""

    stats: Summary
    history: list[dict[str, Any]] = []


_checked = msgspec.json.Decoder(_Checked).decode
_fields = msgspec.json.Decoder(_Fields).decode


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
        try:
            fields = _fields(data)
        except msgspec.DecodeError:  # a ValidationError, mostly
            data = parsed(data)
        else:
            return _entry(path, nodeid, fields, fields.stats, fields.history)
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
    return _entry(path, nodeid, common, summary, history)


def _entry(
    path: Path, nodeid: str, fields: _Common, summary: Summary, history: list[dict[str, Any]]
) -> BaselineEntry:
    """The entry of type-checked fields: samples decoded, the checks across fields made."""
    where = f"{path}: test {nodeid!r}"
    try:
        samples = decode_samples(fields.samples)
    except BaselineError as exc:
        raise BaselineError(f"{where}: bad 'samples': {exc}") from exc
    if fields.n is not msgspec.UNSET and fields.n != len(samples):
        raise BaselineError(f"{where}: 'n' is {fields.n!r} but 'samples' holds {len(samples)}")
    if fields.iterations < 1:
        raise BaselineError(f"{where}: 'iterations' has a bad value {fields.iterations!r}")
    return BaselineEntry(
        nodeid=nodeid,
        timer=fields.timer,
        iterations=fields.iterations,
        sample_ns=tuple(samples),
        summary=summary,
        budget=fields.budget,
        history=tuple(history),
        machine=fields.machine,
        commit=fields.commit,
        reference=fields.reference,
    )


def plausible(data: object) -> bool:
    """The cheap part of :func:`from_doc`'s checks: every field present and of its type
    (history: a list of objects); samples are decoded when the entry is used."""
    if type(data) is msgspec.Raw:
        try:
            checked = _checked(data)
        except msgspec.DecodeError:  # a ValidationError, mostly
            return plausible(parsed(data))
        return checked.iterations >= 1 and checked.samples.startswith(SAMPLE_PREFIXES)
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
    """The entries of a read file, each validated in full and decoded when first used."""

    def __init__(self, path: Path, tests: Mapping[str, Any]) -> None:
        self._path = path
        self._tests = tests
        self._built: dict[str, BaselineEntry] = {}

    def __getitem__(self, nodeid: str) -> BaselineEntry:
        entry = self._built.get(nodeid)
        if entry is None:
            entry = from_doc(self._path, nodeid, self._tests[nodeid])
            self._built[nodeid] = entry
        return entry

    def __contains__(self, nodeid: object) -> bool:
        return nodeid in self._tests

    def __iter__(self) -> Iterator[str]:
        return iter(self._tests)

    def __len__(self) -> int:
        return len(self._tests)
