"""The machine fingerprint, its id, its one-line description, and the git commit."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_perfbudget import machine
from pytest_perfbudget.machine import (
    describe,
    fingerprint,
    git_commit,
    hash_seed,
    machine_id,
)

FP = {
    "cpu": "AMD EPYC",
    "cores": 2,
    "python_implementation": "CPython",
    "python_version": "3.11.7",
    "python_build": "main",
    "python_abiflags": "",
    "os": "Linux",
    "os_release": "6.1.0",
}


def test_fingerprint_describes_this_interpreter_in_json_types(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PERFBUDGET_RUNNER", raising=False)
    fp = fingerprint()
    for key in ("cpu", "cores", "os", "python_implementation", "python_version"):
        assert fp[key], key
    assert "runner" not in fp
    assert json.loads(json.dumps(fp)) == fp


def test_fingerprint_carries_the_runner_label(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFBUDGET_RUNNER", " gha-4core ")
    assert fingerprint()["runner"] == "gha-4core"


def test_fingerprint_merges_extra_info_as_json_types() -> None:
    fp = fingerprint({"gpu": Path("/dev/gpu0"), "cores": 64, "tags": ("a", {"b": 1.5})})
    assert fp["gpu"] == str(Path("/dev/gpu0"))
    assert fp["cores"] == 64
    assert fp["tags"] == ["a", {"b": 1.5}]


def test_cpu_model_is_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t:  Intel(R)   Xeon(R) CPU\n")
    assert machine._cpu_model(cpuinfo) == "Intel(R) Xeon(R) CPU"


def test_cpu_model_falls_back_to_platform_without_cpuinfo(tmp_path: Path) -> None:
    assert machine._cpu_model(tmp_path / "missing")


def test_machine_id_is_short_and_stable() -> None:
    assert re.fullmatch(r"[0-9a-f]{12}", machine_id(FP))
    assert machine_id(FP) == machine_id(dict(FP))


def test_machine_id_ignores_os_release_and_build_tag() -> None:
    assert machine_id({**FP, "os_release": "6.2", "python_build": "other"}) == machine_id(FP)


@pytest.mark.parametrize(
    ("key", "value"),
    [("cpu", "Intel"), ("cores", 4), ("python_version", "3.12.1"), ("runner", "big")],
)
def test_machine_id_changes_with_what_matters(key: str, value: object) -> None:
    assert machine_id({**FP, key: value}) != machine_id(FP)


def test_describe_is_one_short_line() -> None:
    assert describe(FP) == "AMD EPYC · 2 cores · CPython 3.11.7 · Linux"


def test_describe_names_one_core_and_the_runner() -> None:
    text = describe({**FP, "cores": 1, "runner": "gha", "python_abiflags": "t"})
    assert text == "AMD EPYC · 1 core · CPython 3.11.7t · Linux · runner gha"


def test_describe_copes_with_an_empty_fingerprint() -> None:
    assert describe({}) == "unknown CPU · ? cores · Python ? · unknown OS"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_reads_head(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git(
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    commit = git_commit(tmp_path)
    assert commit is not None
    assert re.fullmatch(r"[0-9a-f]{40}", commit)


def test_git_commit_is_none_outside_a_repository(tmp_path: Path) -> None:
    assert git_commit(tmp_path / "missing-folder") is None


@pytest.mark.parametrize("error", [OSError("no git"), subprocess.TimeoutExpired("git", 5)])
def test_git_commit_is_none_when_git_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, error: Exception
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(subprocess, "run", fail)
    assert git_commit(tmp_path) is None


def test_git_commit_is_none_for_odd_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    done = subprocess.CompletedProcess(["git"], 0, stdout="HEAD\n", stderr="")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: done)
    assert git_commit(tmp_path) is None


@pytest.mark.parametrize(
    ("environ", "seed"),
    [({}, None), ({"PYTHONHASHSEED": ""}, None), ({"PYTHONHASHSEED": "random"}, None),
     ({"PYTHONHASHSEED": "0"}, "0"), ({"PYTHONHASHSEED": "123"}, "123")],
)  # fmt: skip
def test_the_hash_seed_is_the_one_pythonhashseed_fixes_or_none_when_drawn(
    environ: dict[str, str], seed: str | None
) -> None:
    assert hash_seed(environ) == seed
