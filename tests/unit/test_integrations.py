"""Taking pytest-benchmark's measurement again, on a stand-in for its fixture."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_perfbudget.integrations import benchmark_again, benchmark_repeatable


def _metadata(seconds: list[float], iterations: int = 1) -> SimpleNamespace:
    """What pytest-benchmark's ``Metadata`` holds that the plugin reads."""
    return SimpleNamespace(stats=SimpleNamespace(data=seconds), iterations=iterations)


class _Fixture:
    """pytest-benchmark's fixture as far as the plugin touches it: used once already."""

    def __init__(self) -> None:
        self.listed: list[Any] = []
        self.stats = _metadata([0.001] * 5)
        self._mode: str | None = "benchmark(...)"
        self._add_stats: Callable[[Any], None] = self.listed.append
        self.has_error = False

    def __call__(self, seconds: float) -> None:
        """One use, as ``benchmark(fn)``: it refuses a second, as pytest-benchmark does."""
        if self._mode:
            raise RuntimeError("Fixture can only be used once.")
        self._mode = "benchmark(...)"
        metadata = _metadata([seconds] * 3, iterations=2)
        self._add_stats(metadata)
        self.stats = metadata


def test_the_measurement_is_taken_again_and_the_fixture_left_as_it_was() -> None:
    fixture = _Fixture()
    first = fixture.stats
    again = benchmark_again(fixture, lambda: fixture(0.002))
    assert again is not None
    assert (again.n, again.iterations, again.mode) == (3, 2, "benchmark")
    assert list(again.seconds) == pytest.approx([0.002] * 3)
    assert fixture.stats is first
    assert fixture._mode == "benchmark(...)"
    assert fixture.listed == []  # pytest-benchmark's session lists the first only
    assert fixture._add_stats == fixture.listed.append


def test_a_body_that_does_not_use_the_fixture_gives_nothing() -> None:
    fixture = _Fixture()
    assert benchmark_again(fixture, lambda: None) is None


def test_a_body_that_raises_leaves_the_fixture_as_it_was() -> None:
    fixture = _Fixture()
    first = fixture.stats

    def body() -> None:
        fixture.has_error = True
        raise AssertionError("run again")

    with pytest.raises(AssertionError, match="run again"):
        benchmark_again(fixture, body)
    assert (fixture.stats, fixture._mode, fixture.has_error) == (first, "benchmark(...)", False)


def test_only_a_fixture_with_pytest_benchmark_s_state_is_repeatable() -> None:
    assert benchmark_repeatable(_Fixture())
    assert not benchmark_repeatable(SimpleNamespace(stats=None))
