"""A fixed input to gate, and a property timed example by example: both tests pass."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def normalize(words):
    return [" ".join(word.split()).casefold() for word in words]


WORDS = [f"  Word {n}\tNumber {n}  " for n in range(1_000)]


@pytest.mark.budget(p95="20ms")
def test_normalize_is_fast(perf):
    result = perf(normalize, WORDS)  # the same input in every run: the one to gate on
    assert result[0] == "word 0 number 0"


@pytest.mark.budget(p95="1ms")
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], derandomize=True)
@given(st.lists(st.text(max_size=20), max_size=50))
def test_normalize_is_fast_for_any_words(perf, words):
    with perf.sample():  # one sample per example: the code under test only
        result = normalize(words)
    assert len(result) == len(words)
