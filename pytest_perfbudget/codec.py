"""The text of our JSON files: sample encoding, the deterministic writer, schema checks.

Every file we write goes through :func:`dumps` (sorted keys, two-space indent,
values nested four levels deep or more on one line), so a refresh is a readable
diff. :func:`loads_keyed` parses a document but leaves each test's value as its
JSON text, so a load parses only the tests a run uses and a save copies the
tests it does not change byte for byte instead of writing them again.
"""

from __future__ import annotations

import array
import base64
import binascii
import contextlib
import functools
import gc
import json
import math
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from pytest_perfbudget.errors import BaselineError, SchemaVersionError
from pytest_perfbudget.lazy import ArrayValues
from pytest_perfbudget.model import packed_samples

if TYPE_CHECKING:  # numpy is imported when samples are first encoded or decoded
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "MIGRATIONS",
    "SAMPLE_PREFIXES",
    "SCHEMA_VERSION",
    "Encoded",
    "decode_sample_array",
    "decode_samples",
    "document",
    "dumps",
    "dumps_field",
    "dumps_inline",
    "dumps_keyed",
    "dumps_test",
    "encode_samples",
    "loads_keyed",
    "parsed",
    "parsed_tests",
    "paused_collector",
    "read_text",
    "rounded_floats",
    "thin",
    "type_name",
]

SCHEMA_VERSION = 1

#: ``MIGRATIONS[v]`` turns a schema-``v`` document into a schema-``v + 1`` one.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

_ZLIB = "z64:"
_MAX_NS = 2**64 - 1
#: How every encoded sample string starts (``"z64:"``: written by earlier versions).
SAMPLE_PREFIXES = ("d", _ZLIB)
_INLINE_DEPTH = 4
_KEYED = "tests"


# -- samples ----------------------------------------------------------------------


def encode_samples(sample_ns: Sequence[int]) -> str:
    """Nanosecond samples as one short string: ``"d<width>:<min>:" + base64(planes)``.

    ``min`` is the smallest sample, in decimal; every sample minus ``min`` is a
    little-endian unsigned integer of ``width`` bytes (1 … 8, as few as the
    largest difference needs), stored byte plane by byte plane (all lowest bytes,
    then all second bytes, …). Similar timings differ in few bytes, so this is
    about as short as compressing the samples, and several times faster to write
    and read.
    """
    import numpy as np

    try:
        if isinstance(sample_ns, ArrayValues) and sample_ns.array.dtype == np.uint64:
            values = sample_ns.array  # as decoded: no copy through Python ints
        else:  # a measurement's array('Q') without a copy
            values = np.frombuffer(packed_samples(sample_ns), dtype=np.uint64)
    except (OverflowError, TypeError) as exc:
        raise ValueError(f"samples must be integers in 0 … 2**64-1: {exc}") from exc
    if not len(values):
        return "d1:0:"
    low = values.min()
    deltas = values - low
    if sys.byteorder == "big":  # pragma: no cover - no big-endian CI
        deltas = deltas.astype("<u8")
    width = max(1, (int(deltas.max()).bit_length() + 7) // 8)
    planes = deltas.view(np.uint8).reshape(-1, 8)[:, :width].T.tobytes()
    return f"d{width}:{low}:{base64.b64encode(planes).decode('ascii')}"


def decode_samples(text: str) -> list[int]:
    """Inverse of :func:`encode_samples`, which also reads the ``"z64:"`` strings of
    earlier versions; :class:`BaselineError` says what is wrong."""
    return decode_sample_array(text).tolist()  # type: ignore[no-any-return]


def decode_sample_array(text: str) -> npt.NDArray[np.uint64]:
    """:func:`decode_samples` as a numpy array."""
    import numpy as np

    if isinstance(text, str) and text.startswith(_ZLIB):
        return np.array(_decode_zlib(text), dtype=np.uint64)
    if not isinstance(text, str) or not text.startswith("d"):
        shown = text[:20] if isinstance(text, str) else text
        raise BaselineError(f"samples must be a string starting with 'd<width>:', got {shown!r}")
    head, _, rest = text.partition(":")
    low_text, _, body = rest.partition(":")
    width = int(head[1:]) if head[1:].isdecimal() else 0
    low = int(low_text) if low_text.isdecimal() else -1
    if not 1 <= width <= 8 or not 0 <= low <= _MAX_NS:
        raise BaselineError(f"samples have a bad header {text[: len(head) + len(low_text) + 2]!r}")
    try:
        planes = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BaselineError(f"samples are not valid base64 ({exc})") from exc
    if len(planes) % width:
        raise BaselineError(f"samples hold {len(planes)} bytes, not a multiple of {width}")
    count = len(planes) // width
    raw = bytearray(8 * count)  # each sample's 8 bytes, little-endian, the high ones zero
    for plane in range(width):  # strided byte copies: fewer steps than numpy for 200 samples
        raw[plane::8] = planes[plane * count : (plane + 1) * count]
    deltas: npt.NDArray[np.uint64] = np.frombuffer(raw, dtype="<u8")
    if low + (1 << 8 * width) - 1 > _MAX_NS and count and low + int(np.max(deltas)) > _MAX_NS:
        raise BaselineError("samples are larger than 2**64-1")
    values: npt.NDArray[np.uint64] = deltas + np.uint64(low)
    return values


def _decode_zlib(text: str) -> list[int]:
    """The samples of a ``"z64:"`` string: base64 of a zlib stream of the samples as
    unsigned 64-bit little-endian integers, byte plane by byte plane."""
    try:
        planes = zlib.decompress(base64.b64decode(text[len(_ZLIB) :], validate=True))
    except (binascii.Error, ValueError) as exc:
        raise BaselineError(f"samples are not valid base64 ({exc})") from exc
    except zlib.error as exc:
        raise BaselineError(f"samples are not valid compressed data ({exc})") from exc
    if len(planes) % 8:
        raise BaselineError(f"samples hold {len(planes)} bytes, not a multiple of 8")
    count = len(planes) // 8
    raw = bytearray(len(planes))
    for i in range(8):
        raw[i::8] = planes[i * count : (i + 1) * count]
    values = array.array("Q")
    values.frombytes(bytes(raw))
    if sys.byteorder == "big":  # pragma: no cover - no big-endian CI
        values.byteswap()
    return values.tolist()


def thin(values: Sequence[int], limit: int) -> tuple[int, ...]:
    """At most ``limit`` values at evenly spaced positions, in order, first and last kept.

    The positions are numpy's ``rint(linspace(0, n - 1, limit))``, computed the
    same way in plain Python.
    """
    if limit < 1:
        raise ValueError(f"thin() limit={limit!r} is not valid; expected an integer >= 1")
    count = len(values)
    if count <= limit:
        return tuple(int(v) for v in values)
    if limit == 1:
        return (int(values[0]),)
    step = (count - 1) / (limit - 1)
    picks = [round(i * step) for i in range(limit - 1)]
    return (*(int(values[i]) for i in picks), int(values[-1]))


# -- writing ----------------------------------------------------------------------

_INLINE = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
_inline_py = _INLINE.encode
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)


def _make_inline() -> Callable[[Any], str]:
    """``_inline_py``, calling the C encoder directly where there is one.

    ``JSONEncoder.encode`` builds a new C encoder on every call, which costs
    more than encoding a history record; this one is built once (same options).
    """
    if _c_make_encoder is None:  # pragma: no cover - CPython always has it
        return _inline_py
    chunks = _c_make_encoder(
        None, _INLINE.default, json.encoder.encode_basestring,
        None, ": ", ", ", True, False, True,
    )  # fmt: skip

    def inline(value: Any) -> str:
        if type(value) is str:
            return json.encoder.encode_basestring(value)
        return "".join(chunks(value, 0))

    return inline


_inline = _make_inline()


def dumps_inline(value: Any) -> str:
    """``value`` on one line, as :func:`dumps` writes values nested four levels deep."""
    return _scalar(value)


class Encoded(str):
    """JSON text :func:`dumps` writes as it is, laid out for where it goes."""

    __slots__ = ()


@functools.lru_cache(maxsize=1024)
def _key(name: str) -> str:
    return _inline(name)


#: Written by :func:`_scalar` (checked before a call to :func:`_encode`, which costs more).
_SCALARS = frozenset((str, int, float, bool, type(None)))


def _scalar(value: Any) -> str:
    """``_inline(value)`` for a plain value, without building an encoder for the common ones."""
    kind = type(value)
    if kind is str:
        return _inline(value)
    if kind is int or (kind is float and math.isfinite(value)):
        return repr(value)
    if value is None:
        return "null"
    return _inline(value)


#: A float's ``%.6g`` text that is an integer, so not the float's JSON text.
_INTEGRAL = re.compile(r"\|-?\d+\|")


def rounded_floats(values: Sequence[float]) -> list[str]:
    """The JSON text of each float rounded to 6 significant digits, as :func:`dumps`
    writes ``float(f"{value:.6g}")``, with all of them formatted in one call."""
    text = ("%.6g|" * len(values)) % tuple(values)
    texts = text.split("|")
    texts.pop()
    # The text is what repr() gives, except for an integer, an exponent of 6 or more,
    # NaN, inf, and denormals (e-3xx: fewer digits than 6 tell them apart).
    if "+" in text or "n" in text or "i" in text or "e-3" in text or _INTEGRAL.search("|" + text):
        return [_scalar(float(item)) for item in texts]
    return texts


def dumps(doc: Mapping[str, Any]) -> str:
    """The one serialisation of every file we write: sorted keys, indented, newline.

    Like ``json.dumps(doc, sort_keys=True, indent=2)``, except that a list or
    object nested four levels deep or more (a history record, a check, the
    bounds of a summary) stays on one line, so a refresh diff shows one line per
    history record instead of ten.
    """
    return _encode(doc, 0) + "\n"


def _encode(value: Any, depth: int) -> str:
    kind = type(value)
    if kind is Encoded:
        return value  # type: ignore[no-any-return]
    if kind is dict or (kind is not list and isinstance(value, Mapping)):
        if not value or depth >= _INLINE_DEPTH:
            return _inline(value if kind is dict else dict(value))
        pad = "\n" + "  " * (depth + 1)
        body = ("," + pad).join(
            f"{_key(str(key))}: {_scalar(v) if type(v) in _SCALARS else _encode(v, depth + 1)}"
            for key, v in sorted(value.items())
        )
        opening, closing = "{", "}"
    elif kind is list or kind is tuple or isinstance(value, (list, tuple)):
        if not value or depth >= _INLINE_DEPTH:
            return _inline(value)
        pad = "\n" + "  " * (depth + 1)
        rows = _inline_rows(value, pad) if depth == _INLINE_DEPTH - 1 else None
        body = rows or ("," + pad).join(_encode(item, depth + 1) for item in value)
        opening, closing = "[", "]"
    else:
        return _scalar(value)
    return opening + pad + body + "\n" + "  " * depth + closing


def _inline_rows(rows: Sequence[Any], pad: str) -> str | None:
    """The items of a list of objects (a test's history), one a line, from one encoder
    call; None when ``"}, {"`` also occurs inside an item (then each is encoded alone).

    The list is encoded inline and split where one object ends and the next begins.
    """
    if not all(type(row) is dict for row in rows):
        return None
    text = _inline(rows)
    if text.count("}, {") != len(rows) - 1:
        return None
    return text[1:-1].replace("}, {", "}," + pad + "{")


def dumps_test(value: Any) -> str:
    """The text :func:`dumps` gives a value of a document's ``tests`` object."""
    return _encode(value, 2)


def dumps_field(value: Any) -> str:
    """The text :func:`dumps` gives a field of a value of a document's ``tests`` object."""
    return _encode(value, 3)


def dumps_keyed(
    doc: Mapping[str, Any], tests: Iterable[tuple[str, bytes | msgspec.Raw]]
) -> list[bytes | msgspec.Raw]:
    """:func:`dumps` of ``doc`` with a ``tests`` object of ``(nodeid, text of the value)``,
    encoded in UTF-8, in parts to write one after the other (joined, a big
    baseline's text costs the time of a copy and its memory again).

    The texts (UTF-8, see :func:`dumps_test`) are written as they are, sorted by
    node id: a save copies the text of every entry it keeps without decoding it.
    """
    if any(key > _KEYED for key in doc):
        raise ValueError(f"{_KEYED!r} must sort last among the document's keys")
    head = dumps({**doc, _KEYED: {}})
    opening = f'\n  "{_KEYED}": {{'
    parts: list[bytes | msgspec.Raw] = [
        head[: -len(f"{opening}}}\n}}\n")].encode(),
        opening.encode(),
    ]
    for index, (nodeid, text) in enumerate(sorted(tests, key=lambda pair: pair[0])):
        parts += (f"{',' if index else ''}\n    {_inline(nodeid)}: ".encode(), text)
    parts.append(b"\n  }\n}\n" if len(parts) > 2 else b"}\n}\n")
    return parts


# -- reading ----------------------------------------------------------------------

#: A document's top level, or its ``tests`` object: each value still JSON text.
_members = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode


def loads_keyed(text: str | bytes) -> Any:
    """``json.loads(text)``, leaving the values of its ``tests`` object as JSON text.

    When the document is an object whose ``tests`` is an object, ``doc["tests"]``
    maps each node id to its value's text (a :class:`msgspec.Raw`: valid JSON,
    parsed when used); else the document is parsed in full. Errors are those of
    ``json.loads``, which also reads what msgspec refuses (``NaN``, lone surrogates).
    """
    try:
        members = _members(text)
        raws = _members(members[_KEYED])
    except (msgspec.MsgspecError, KeyError):  # another shape, or not strict JSON
        return json.loads(text)
    doc = {key: json.loads(bytes(value)) for key, value in members.items() if key != _KEYED}
    doc[_KEYED] = raws
    return doc


def parsed(value: Any) -> Any:
    """``value`` parsed when it is a test's JSON text from :func:`loads_keyed`."""
    return json.loads(bytes(value)) if type(value) is msgspec.Raw else value


@contextlib.contextmanager
def paused_collector() -> Iterator[None]:
    """Pause the cyclic garbage collector while a big document is parsed or written.

    Both build many objects, none in a cycle; the collections they would trigger
    cost more than the parse or the writing itself.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def type_name(value: object) -> str:
    """How an error message names the JSON type of ``value``."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), "null" if value is None else "a number")


def read_text(path: Path) -> str | bytes | None:
    """The file's text, None when it does not exist. An ASCII file (the usual
    baseline) is returned as its bytes, which parse as they are: decoding 50 MB
    to a ``str`` first costs a tenth of a load."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read: {exc}") from exc
    if data.isascii():
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BaselineError(f"{path}: cannot read: {exc}") from exc


def _parse(path: Path, text: str | bytes) -> dict[str, Any]:
    if not text or text.isspace():
        raise BaselineError(f"{path}: the file is empty (truncated?)")
    try:
        doc = loads_keyed(text)
    except json.JSONDecodeError as exc:
        ends_early = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated")
        what = "truncated: the JSON ends early" if ends_early else "not valid JSON"
        where = f"line {exc.lineno}, column {exc.colno}"  # after a colon, as json puts it
        raise BaselineError(f"{path}: {what} ({exc.msg}: {where})") from exc
    if not isinstance(doc, dict):
        raise BaselineError(
            f"{path}: expected a JSON object with 'schema_version' and 'tests', "
            f"got {type_name(doc)}"
        )
    return doc


def _migrate(path: Path, doc: dict[str, Any]) -> dict[str, Any]:
    version = doc.get("schema_version")
    if version is None:
        hint = ""
        if "benchmarks" in doc:
            hint = (
                "; it looks like a pytest-benchmark file: "
                "convert it with `perfbudget import-benchmark`"
            )
        raise BaselineError(f"{path}: missing 'schema_version', not a pytest-perfbudget file{hint}")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise BaselineError(f"{path}: 'schema_version' must be a whole number, got {version!r}")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path} was written by a newer pytest-perfbudget (schema {version}, "
            f"this version reads ≤ {SCHEMA_VERSION}); upgrade pytest-perfbudget"
        )
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise BaselineError(
                f"{path}: schema {version} is too old for this version of pytest-perfbudget; "
                "write the file again (refresh the baseline)"
            )
        version += 1
        doc = {**step(parsed_tests(doc)), "schema_version": version}
    return doc


def parsed_tests(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with each test's value parsed (see :func:`loads_keyed`)."""
    tests = doc.get(_KEYED)
    if type(tests) is not dict or not any(type(v) is msgspec.Raw for v in tests.values()):
        return doc
    return {**doc, _KEYED: {nodeid: parsed(value) for nodeid, value in tests.items()}}


def document(path: Path, text: str | bytes) -> dict[str, Any]:
    """Parse and migrate a baseline or run report.

    A baseline's tests keep their values as JSON text (see :func:`loads_keyed`),
    unless the document was migrated; :func:`parsed_tests` parses them. Any
    problem is a :class:`BaselineError` whose message starts with the path.
    """
    doc = _migrate(path, _parse(path, text))
    if "tests" not in doc:
        raise BaselineError(f"{path}: missing 'tests'")
    if not isinstance(doc.get("machine", {}), dict):
        raise BaselineError(f"{path}: 'machine' must be an object, got {type_name(doc['machine'])}")
    return doc
