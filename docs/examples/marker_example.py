"""Budgets with the ``budget`` marker: both tests pass."""

import json

import pytest

DATA = list(range(10_000, 0, -1))
DOCUMENT = json.dumps({"items": [{"sku": f"SKU-{n:05d}", "price": n} for n in range(200)]})


@pytest.mark.budget(p95=50)  # 95 % of calls within 50 ms (a bare number is milliseconds)
def test_sort_is_fast(perf):
    result = perf(sorted, DATA)  # called many times; returns one call's result
    assert result[0] == 1


@pytest.mark.budget(p50="2ms", p99="15ms", memory="8MB")  # strings carry a unit
def test_parse_is_fast():
    # No perf fixture: the plugin repeats this test's body and times it.
    assert len(json.loads(DOCUMENT)["items"]) == 200
