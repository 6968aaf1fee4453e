"""Choosing CPUs for re-measurements and pinning to one: the OS calls are faked."""

from __future__ import annotations

import os

import pytest

from pytest_perfbudget.engine import affinity


@pytest.fixture
def cpu_set(monkeypatch: pytest.MonkeyPatch) -> list[set[int]]:
    """The thread's CPU set, as a one-item list the fakes read and write."""
    state = [{0, 1, 2, 3, 4, 5}]
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(state[0]), raising=False)

    def set_affinity(pid: int, cpus: set[int]) -> None:
        state[0] = set(cpus)

    monkeypatch.setattr(os, "sched_setaffinity", set_affinity, raising=False)
    return state


def test_up_to_the_limit_of_the_allowed_cpus_are_chosen_once_each(cpu_set: list[set[int]]) -> None:
    chosen = affinity.confirmation_cpus(limit=4)
    assert len(chosen) == 4
    assert len(set(chosen)) == 4
    assert set(chosen) <= cpu_set[0]
    assert set(affinity.confirmation_cpus(limit=10)) == cpu_set[0]


def test_one_allowed_cpu_means_one_unpinned_re_measurement(cpu_set: list[set[int]]) -> None:
    cpu_set[0] = {3}
    assert affinity.confirmation_cpus() == (None,)


def test_without_cpu_affinity_the_re_measurement_is_unpinned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert affinity.confirmation_cpus() == (None,)


def test_an_unreadable_cpu_set_means_an_unpinned_re_measurement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(pid: int) -> set[int]:
        raise PermissionError("not allowed")

    monkeypatch.setattr(os, "sched_getaffinity", refuse, raising=False)
    assert affinity.confirmation_cpus() == (None,)


def test_pinned_runs_the_block_on_one_cpu_and_restores_the_set(cpu_set: list[set[int]]) -> None:
    before = set(cpu_set[0])
    with affinity.pinned(2):
        assert cpu_set[0] == {2}
    assert cpu_set[0] == before


def test_pinned_restores_the_set_when_the_block_raises(cpu_set: list[set[int]]) -> None:
    before = set(cpu_set[0])
    with pytest.raises(RuntimeError), affinity.pinned(2):
        raise RuntimeError("boom")
    assert cpu_set[0] == before


def test_pinned_to_none_changes_nothing(cpu_set: list[set[int]]) -> None:
    before = set(cpu_set[0])
    with affinity.pinned(None):
        assert cpu_set[0] == before


def test_a_cpu_that_cannot_be_pinned_leaves_the_block_unpinned(
    cpu_set: list[set[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(pid: int, cpus: set[int]) -> None:
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(os, "sched_setaffinity", refuse, raising=False)
    before = set(cpu_set[0])
    with affinity.pinned(99):
        assert cpu_set[0] == before
    assert cpu_set[0] == before


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux only")
def test_pinning_for_real_keeps_the_thread_on_that_cpu() -> None:
    before = os.sched_getaffinity(0)
    cpu = min(before)
    with affinity.pinned(cpu):
        assert os.sched_getaffinity(0) == {cpu}
    assert os.sched_getaffinity(0) == before
