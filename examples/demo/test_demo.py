"""The demo suite: three budgets that hold and one that breaks on purpose."""

from __future__ import annotations

import random

import inventory
import pytest

DATA = random.Random(42).sample(range(100_000), 10_000)


@pytest.mark.budget(p95=50)  # a bare number is milliseconds
def test_sort_is_fast(perf):
    result = perf(sorted, DATA)  # called many times; returns one call's result
    assert result[0] == min(DATA)


def test_json_roundtrip():
    # No marker and no perf fixture: the pattern "test_demo.py::test_json_*" in
    # pyproject.toml gives this test a budget, so the plugin times its body.
    assert inventory.from_json(inventory.to_json(inventory.ITEMS)) == inventory.ITEMS


@pytest.mark.budget(p95="20ms", p50="5ms")
def test_request_loop(perf):
    for n in range(200):
        number = n * 7 % 500
        with perf.sample():  # one sample per block, for loops the test drives
            item = inventory.handle_request(f"SKU-{number:05d}")
        assert item["price"] == number % 97


@pytest.mark.budget(p95="2ms")  # deliberately broken: each call sleeps ~20 ms
def test_slow_lookup_is_over_budget(perf):
    item = perf(inventory.slow_lookup, "SKU-00042")
    assert item["sku"] == "SKU-00042"
