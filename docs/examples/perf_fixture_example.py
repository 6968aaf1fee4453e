"""The three ways to measure with the ``perf`` fixture: all three tests pass."""

import time

import pytest


def search(index, word):
    return [key for key in index if word in key]


INDEX = {f"item {n} {'blue' if n % 3 else 'red'}": n for n in range(2_000)}


@pytest.mark.budget(p95="20ms")
def test_search(perf):
    hits = perf(search, INDEX, "blue")  # perf(fn, *args, **kwargs)
    assert hits


@pytest.mark.budget(p95="5ms")
def test_request_loop(perf):
    for n in range(200):
        request = f"item {n}"  # fresh input, prepared outside the timed block
        with perf.sample():  # one sample per block
            hits = search(INDEX, request)
        assert hits


@pytest.mark.budget(p95="50ms")
def test_external_job(perf):
    for _ in range(20):
        started = time.perf_counter()
        sum(range(10_000))  # stands for a subprocess or a remote call
        perf.record(time.perf_counter() - started)  # a duration in seconds
