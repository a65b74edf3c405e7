"""The ``status`` of a measurement: ``ok`` only when its numbers are usable."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from wallthick.measure.result import (
    CSV_COLUMNS,
    MEASURED_STATUSES,
    SCHEMA_VERSION,
    STATUSES,
    Measurement,
    SegmentStats,
)


def _measurement(**kw: object) -> Measurement:
    segs = tuple(SegmentStats(i, 8.0, 8.0, 9.0, 0.5, 40) for i in range(1, 18))
    base = Measurement(
        septal_thickness_mm=9.0,
        septal_uncertainty_mm=0.3,
        posterior_wall_thickness_mm=8.0,
        posterior_uncertainty_mm=0.3,
        segments=segs,
        lv_cavity_volume_ml=150.0,
        lv_mass_g=140.0,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_statuses_are_documented_and_ordered() -> None:
    assert STATUSES == ("ok", "qc_failed", "failed")
    assert set(MEASURED_STATUSES) == {"ok", "qc_failed"}
    assert SCHEMA_VERSION.split(".")[0] == "1" and SCHEMA_VERSION != "1.0"


def test_clean_measurement_is_ok() -> None:
    m = _measurement()
    assert m.status == "ok" and m.failed_criteria == ()
    row = m.to_row()
    assert row["status"] == "ok" and row["qc_flags"] == ""


@pytest.mark.parametrize("flags", [("cavity_volume_range",), ("fov_clipping", "long_axis")])
def test_qc_flagged_measurement_is_qc_failed(flags: tuple[str, ...]) -> None:
    row = _measurement(qc_flags=flags).to_row()
    assert row["status"] == "qc_failed"
    assert row["qc_flags"].split(";") == list(flags)
    assert row["septal_thickness_mm"] == "9.000"  # the numbers stay, for review


@pytest.mark.parametrize(
    "field",
    [
        "septal_thickness_mm",
        "posterior_wall_thickness_mm",
        "septal_uncertainty_mm",
        "posterior_uncertainty_mm",
    ],
)
def test_missing_wall_value_is_never_ok(field: str) -> None:
    m = _measurement(**{field: math.nan})
    assert m.status == "qc_failed"
    assert m.failed_criteria == ("missing_value",)
    row = m.to_row()
    assert row["status"] == "qc_failed" and row["qc_flags"] == "missing_value"
    assert row[field] == ""


def test_missing_value_does_not_duplicate_an_explaining_criterion() -> None:
    m = _measurement(septal_thickness_mm=math.nan, qc_flags=("segment_coverage",))
    assert m.failed_criteria == ("segment_coverage",)


def test_status_round_trips_through_json() -> None:
    m = _measurement(qc_flags=("wall_thickness_range",))
    d = m.to_dict()
    assert d["status"] == "qc_failed"
    back = Measurement.from_dict(d)
    assert back.status == "qc_failed" and back.qc_flags == ("wall_thickness_range",)
    assert set(m.to_row()) == set(CSV_COLUMNS)
