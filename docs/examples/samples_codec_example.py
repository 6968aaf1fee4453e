"""Decode and encode the sample strings of baselines and run reports.

Standard library only. The tests check these functions against pytest-perfbudget's
own codec; all pass.
"""

import base64
import random
import zlib

from pytest_perfbudget.codec import decode_samples as plugin_decode
from pytest_perfbudget.codec import encode_samples as plugin_encode


def decode_samples(text: str) -> list[int]:
    """Nanoseconds per sample, in the order taken, from a "d<width>:<min>:" string."""
    if text.startswith("z64:"):  # as development versions before this format wrote them
        return decode_z64(text)
    head, low, body = text.split(":", 2)
    width = int(head.removeprefix("d"))
    planes = base64.b64decode(body, validate=True)
    n = len(planes) // width
    return [int(low) + int.from_bytes(planes[i::n], "little") for i in range(n)]


def encode_samples(sample_ns: list[int]) -> str:
    """The "d<width>:<min>:" string of nanosecond samples, as the plugin writes it."""
    low = min(sample_ns, default=0)
    width = max(1, ((max(sample_ns, default=0) - low).bit_length() + 7) // 8)
    raw = b"".join((ns - low).to_bytes(width, "little") for ns in sample_ns)
    planes = b"".join(raw[i::width] for i in range(width))
    return f"d{width}:{low}:" + base64.b64encode(planes).decode("ascii")


def decode_z64(text: str) -> list[int]:
    """The samples of a "z64:" string: zlib-compressed 8-byte planes."""
    planes = zlib.decompress(base64.b64decode(text[4:], validate=True))
    n = len(planes) // 8
    return [int.from_bytes(planes[i::n], "little") for i in range(n)]


def test_two_samples():
    assert encode_samples([1000, 1200]) == "d1:1000:AMg="
    assert decode_samples("d1:1000:AMg=") == [1000, 1200]
    assert decode_samples("z64:GJV7sYGZhQEJAAAZPgGg") == [1000, 1200]


def test_same_as_the_plugin():
    rng = random.Random(5)
    for n in (0, 1, 2, 109, 10_000):
        for top in (2**8, 2**20, 2**64):
            sample_ns = [rng.randrange(top) for _ in range(n)]
            assert encode_samples(sample_ns) == plugin_encode(sample_ns)
            assert decode_samples(plugin_encode(sample_ns)) == sample_ns


def test_timings_as_the_plugin_sees_them():
    sample_ns = [330_102 + 17 * k for k in range(500)]
    assert plugin_decode(encode_samples(sample_ns)) == sample_ns
