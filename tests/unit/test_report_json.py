"""The JSON run report: built from verdicts, written deterministically, read back."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_perfbudget.baseline import SAMPLE_LIMIT, decode_samples, dumps
from pytest_perfbudget.errors import BaselineError, SchemaVersionError
from pytest_perfbudget.model import (
    Budget,
    Change,
    Check,
    Measurement,
    Outcome,
    Status,
    Verdict,
)
from pytest_perfbudget.report.json import build_report, read_report, write_report
from pytest_perfbudget.stats import summarize

FP = {"cpu": "AMD EPYC", "cores": 2}


def measured(nodeid: str, status: Status, seed: int = 0, n: int = 300) -> Verdict:
    rng = np.random.default_rng(seed)
    sample_ns = tuple(int(x) for x in rng.lognormal(np.log(2e6), 0.2, n))
    meas = Measurement(sample_ns, iterations=2, timer="cpu", elapsed=0.5, memory_peak=4096)
    summary = summarize(meas.seconds)
    return Verdict(
        nodeid=nodeid,
        status=status,
        budget=Budget(limits={"p95": 0.0015}, memory=10_000),
        summary=summary,
        measurement=meas,
        checks=(Check("p95", 0.0015, summary.p95, 0.001, 0.0012, Outcome.PASS),),
        baseline=summary,
        change=Change("p10", 1.3, 1.2, 1.4, threshold=0.1),
        messages=("p95 is fine",),
        confirmed=True,
        location=("tests/test_x.py", 12),
    )


VERDICTS = [
    measured("tests/test_x.py::test_b", Status.REGRESSED, seed=1),
    measured("tests/test_x.py::test_a", Status.PASS, seed=2),
    Verdict("tests/test_x.py::test_skip", Status.SKIPPED),
]


def report(**kwargs: Any) -> dict[str, Any]:
    return build_report(
        VERDICTS,
        machine=FP,
        settings={"baseline": Path("b.json"), "regression": 0.1},
        generator="pytest-perfbudget 0.1.0",
        duration=2.5,
        **kwargs,
    )


def test_report_has_the_documented_shape() -> None:
    doc = report()
    assert doc["schema_version"] == 1
    assert doc["generator"] == "pytest-perfbudget 0.1.0"
    assert doc["machine"] == FP
    assert doc["settings"] == {"baseline": "b.json", "regression": 0.1}
    assert doc["duration"] == 2.5
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["created"])
    assert doc["summary"]["pass"] == 1
    assert doc["summary"]["regressed"] == 1
    assert doc["summary"]["skipped"] == 1
    assert doc["summary"]["over_budget"] == 0
    assert [t["nodeid"] for t in doc["tests"]] == sorted(v.nodeid for v in VERDICTS)
    assert json.loads(dumps(doc)) == doc


def test_each_test_carries_its_samples() -> None:
    first, _, skipped = report()["tests"]
    assert decode_samples(first["samples"]) == list(VERDICTS[1].measurement.sample_ns)  # type: ignore[union-attr]
    assert skipped["samples"] is None
    assert first["stats"]["p95"] == VERDICTS[1].summary.p95  # type: ignore[union-attr]


def test_report_samples_are_thinned() -> None:
    doc = build_report(
        [measured("t::big", Status.PASS, n=SAMPLE_LIMIT + 500)],
        machine=FP,
        settings={},
        generator="g",
        duration=0.0,
    )
    assert len(decode_samples(doc["tests"][0]["samples"])) == SAMPLE_LIMIT


def test_write_then_read_round_trips_the_verdicts(tmp_path: Path) -> None:
    path = tmp_path / "out" / "report.json"
    write_report(path, report())
    assert read_report(path) == sorted(VERDICTS, key=lambda v: v.nodeid)


def test_the_wire_form_round_trips_the_verdicts_as_text() -> None:
    """What a worker ships to the controller: JSON types only, samples as text."""
    for verdict in VERDICTS:
        wire = verdict.to_wire()
        assert json.loads(json.dumps(wire)) == wire
        if verdict.measurement is not None:
            assert isinstance(wire["sample_ns"], str)
        assert Verdict.from_dict(wire) == verdict


def test_samples_are_kept_as_unsigned_64_bit_integers() -> None:
    meas = Measurement([0, 7, 2**64 - 1])
    assert (meas.sample_ns.typecode, list(meas.sample_ns)) == ("Q", [0, 7, 2**64 - 1])
    assert list(meas.extended(Measurement((5,))).sample_ns) == [0, 7, 2**64 - 1, 5]
    with pytest.raises(OverflowError):
        Measurement((-1,))


def test_write_is_deterministic(tmp_path: Path) -> None:
    one, two = tmp_path / "1.json", tmp_path / "2.json"
    write_report(one, report(created="2024-01-01T00:00:00Z"))
    write_report(two, report(created="2024-01-01T00:00:00Z"))
    assert one.read_bytes() == two.read_bytes()
    assert one.read_text(encoding="utf-8").endswith("\n")


def written(tmp_path: Path, change: Any) -> Path:
    doc = report()
    change(doc)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(tests={}), "'tests' must be a list, got dict .*looks like a baseline"),
        (lambda d: d.update(tests=[1]), "test #0 must be an object"),
        (lambda d: d["tests"][0].pop("nodeid"), "test #0 .*missing 'nodeid'"),
        (lambda d: d["tests"][0].pop("status"), "test #0 .*missing 'status'"),
        (lambda d: d["tests"][0].update(status="great"), "'great' is not a valid Status"),
        (lambda d: d["tests"][0].update(samples="z64:!"), "bad 'samples'"),
        (lambda d: d["tests"][0].update(location=["x"]), "bad value"),
        (lambda d: d.pop("tests"), "missing 'tests'"),
    ],
)
def test_an_unreadable_report_is_an_error_naming_the_file(
    tmp_path: Path, change: Any, message: str
) -> None:
    path = written(tmp_path, change)
    with pytest.raises(BaselineError, match=message) as info:
        read_report(path)
    assert str(info.value).startswith(str(path))


def test_a_newer_report_schema_asks_for_an_upgrade(tmp_path: Path) -> None:
    path = written(tmp_path, lambda d: d.update(schema_version=7))
    with pytest.raises(SchemaVersionError, match="schema 7"):
        read_report(path)


def test_reading_a_missing_report_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="no such file"):
        read_report(tmp_path / "missing.json")
