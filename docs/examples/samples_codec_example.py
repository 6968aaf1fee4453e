"""Decode and encode the "z64:" sample strings of baselines and run reports.

Standard library only. The tests check both functions against pytest-perfbudget's
own codec; all three pass.
"""

import base64
import random
import zlib

from pytest_perfbudget.codec import decode_samples as plugin_decode
from pytest_perfbudget.codec import encode_samples as plugin_encode


def decode_samples(text: str) -> list[int]:
    """Nanoseconds per sample, in the order taken, from a "z64:" string."""
    if not text.startswith("z64:"):
        raise ValueError("not a z64 sample string")
    planes = zlib.decompress(base64.b64decode(text[4:], validate=True))
    n = len(planes) // 8
    return [int.from_bytes(planes[i::n], "little") for i in range(n)]


def encode_samples(sample_ns: list[int]) -> str:
    """The "z64:" string of nanosecond samples, as the plugin writes it."""
    raw = b"".join(ns.to_bytes(8, "little") for ns in sample_ns)
    planes = b"".join(raw[i::8] for i in range(8))
    # zlib level 6; a window just large enough for the data, and memLevel = window - 7
    window = min(15, max(9, (len(planes) - 1).bit_length()))
    deflate = zlib.compressobj(6, zlib.DEFLATED, window, window - 7)
    return "z64:" + base64.b64encode(deflate.compress(planes) + deflate.flush()).decode("ascii")


def test_two_samples():
    assert encode_samples([1000, 1200]) == "z64:GJV7sYGZhQEJAAAZPgGg"
    assert decode_samples("z64:GJV7sYGZhQEJAAAZPgGg") == [1000, 1200]


def test_same_as_the_plugin():
    rng = random.Random(5)
    for n in (0, 1, 2, 109, 10_000):
        sample_ns = [rng.randrange(2**64) for _ in range(n)]
        assert encode_samples(sample_ns) == plugin_encode(sample_ns)
        assert decode_samples(plugin_encode(sample_ns)) == sample_ns


def test_timings_as_the_plugin_sees_them():
    sample_ns = [330_102 + 17 * k for k in range(500)]
    assert plugin_decode(encode_samples(sample_ns)) == sample_ns
