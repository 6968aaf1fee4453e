"""A budget that breaks: this test fails as "over budget"."""

import time

import pytest


def slow_lookup(sku):
    time.sleep(0.02)  # about 20 ms a call
    return {"sku": sku}


@pytest.mark.budget(p95="2ms")
def test_lookup_is_fast(perf):
    item = perf(slow_lookup, "SKU-00042")
    assert item["sku"] == "SKU-00042"
