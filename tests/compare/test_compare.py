from __future__ import annotations

import math
from typing import Any

import pytest

from wallthick.compare import (
    COMPARISON_COLUMNS,
    ComparisonRow,
    compare_measurements,
    compare_pair,
    compare_sets,
    minimal_detectable_change,
)
from wallthick.measure.result import Measurement, SeriesInfo


def row(
    pid: str,
    day: str,
    sept: float | str = 10.0,
    post: float | str = 9.0,
    *,
    time: str = "",
    u: float | str = 0.3,
    uid: str | None = None,
    status: str = "ok",
    qc: str = "",
    error: str = "",
    **extra: Any,
) -> dict[str, str]:
    return {
        "patient_id": pid,
        "study_date": day,
        "study_time": time,
        "study_instance_uid": f"st.{pid}.{day}{time}",
        "series_instance_uid": uid or f"se.{pid}.{day}{time}",
        "septal_thickness_mm": str(sept),
        "posterior_wall_thickness_mm": str(post),
        "septal_uncertainty_mm": str(u),
        "posterior_uncertainty_mm": str(u),
        "status": status,
        "qc_flags": qc,
        "error": error,
        **{k: str(v) for k, v in extra.items()},
    }


def by(rows: list[ComparisonRow], wall: str) -> list[ComparisonRow]:
    return [r for r in rows if r.wall == wall]


# -- MDC arithmetic ---------------------------------------------------------
def test_mdc_is_196_times_combined_sigma() -> None:
    assert minimal_detectable_change(0.3, 0.4) == pytest.approx(1.959964 * 0.5, rel=1e-6)
    assert minimal_detectable_change(0.3, 0.4, confidence=0.90) == pytest.approx(
        1.644854 * 0.5, rel=1e-6
    )
    assert minimal_detectable_change(0.0, 0.0) == 0.0


@pytest.mark.parametrize(
    ("follow", "u", "floor", "flag", "threshold"),
    [
        (11.0, 0.3, 0.5, "thickened", 1.959964 * math.sqrt(0.18)),  # 1.0 > 0.8315
        (10.8, 0.3, 0.5, "stable", 1.959964 * math.sqrt(0.18)),
        (9.0, 0.3, 0.5, "thinned", 1.959964 * math.sqrt(0.18)),
        (10.4, 0.05, 0.5, "stable", 0.5),  # MDC 0.139 < floor
        (10.6, 0.05, 0.5, "thickened", 0.5),
        (11.0, 0.05, 1.5, "stable", 1.5),
    ],
)
def test_flag_and_threshold(
    follow: float, u: float, floor: float, flag: str, threshold: float
) -> None:
    out = compare_pair(
        row("A", "20240101", 10.0, u=u), row("A", "20240201", follow, u=u), floor_mm=floor
    )
    sept = by(out, "septal")[0]
    assert sept.flag == flag
    assert sept.threshold_mm == pytest.approx(threshold, rel=1e-5)
    assert sept.delta_mm == pytest.approx(follow - 10.0)
    assert sept.z == pytest.approx((follow - 10.0) / math.hypot(u, u))
    assert sept.floor_mm == floor and sept.confidence == 0.95
    assert sept.reason == ""


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="Argument 'confidence' must be in"):
        compare_measurements([row("A", "20240101")], confidence=1.5)
    with pytest.raises(ValueError, match="Argument 'floor_mm' must be a finite number"):
        compare_measurements([row("A", "20240101")], floor_mm=-1)
    with pytest.raises(ValueError, match="Argument 'key' must be a column"):
        compare_measurements([row("A", "20240101")], key="nope")
    with pytest.raises(TypeError, match="Rows must be mappings"):
        compare_measurements([3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="Uncertainties must be >= 0"):
        minimal_detectable_change(-1, 0)


# -- pairing and ordering ---------------------------------------------------
def test_pairs_earliest_with_each_later_by_date_and_time() -> None:
    rows = [
        row("A", "20240301", 12.0),
        row("A", "20240101", 10.0, time="153000"),
        row("A", "20240101", 10.5, time="090000"),  # same day, earlier time: baseline
        row("B", "20240105", 8.0),
        row("B", "20240205", 8.1),
    ]
    out = compare_measurements(rows)
    sept = by(out, "septal")
    assert [(r.patient_id, r.baseline_series_uid, r.followup_series_uid) for r in sept] == [
        ("A", "se.A.20240101090000", "se.A.20240101153000"),
        ("A", "se.A.20240101090000", "se.A.20240301"),
        ("B", "se.B.20240105", "se.B.20240205"),
    ]
    assert [r.flag for r in sept] == ["stable", "thickened", "stable"]
    assert sept[0].interval_days == pytest.approx(6.5 / 24)
    assert sept[1].baseline_time == "090000" and sept[1].baseline_date == "20240101"
    assert len(by(out, "posterior")) == 3


def test_single_study_is_reported_not_dropped() -> None:
    out = compare_measurements([row("A", "20240101")])
    assert [(r.wall, r.flag, r.reason) for r in out] == [
        ("septal", "not_compared", "no follow-up study"),
        ("posterior", "not_compared", "no follow-up study"),
    ]


@pytest.mark.parametrize(
    ("base_kw", "follow_kw", "reason"),
    [
        (
            {"status": "failed", "error": "no LV found"},
            {},
            "baseline measurement failed (series se.A.20240101): no LV found",
        ),
        ({}, {"status": "failed", "error": "decode"}, "follow-up measurement failed"),
        (
            {"qc": "wall_thickness_range;lv_coverage"},
            {},
            "baseline measurement QC-failed (series se.A.20240101): wall_thickness_range, lv_coverage",
        ),
        ({}, {"qc": "lv_coverage"}, "follow-up measurement QC-failed"),
    ],
)
def test_failed_and_qc_flagged_are_not_compared(
    base_kw: dict[str, str], follow_kw: dict[str, str], reason: str
) -> None:
    out = compare_measurements([row("A", "20240101", **base_kw), row("A", "20240601", **follow_kw)])
    assert len(out) == 2
    for r in out:
        assert r.flag == "not_compared"
        assert r.reason.startswith(reason)
        assert math.isnan(r.threshold_mm)


def test_missing_value_and_uncertainty() -> None:
    out = compare_measurements(
        [row("A", "20240101", sept=""), row("A", "20240601", post=9.0, u="")]
    )
    sept, post = by(out, "septal")[0], by(out, "posterior")[0]
    assert sept.flag == post.flag == "not_compared"
    assert "baseline septal_thickness_mm" in sept.reason
    assert "follow-up posterior_uncertainty_mm" in post.reason


def test_undated_study_is_reported() -> None:
    out = compare_measurements([row("A", "20240101"), row("A", ""), row("A", "20240601")])
    reasons = sorted({r.reason for r in out})
    assert reasons == ["", "missing study date: cannot order the study"]


def test_empty_key_rows_are_reported() -> None:
    out = compare_measurements([row("", "20240101"), row("A", "20240101"), row("A", "20240201")])
    assert [r.reason for r in out if r.patient_id == ""] == ["empty patient_id"] * 2


# -- options ----------------------------------------------------------------
def test_key_option_groups_by_another_column() -> None:
    rows = [
        row("A", "20240101", 10.0, subject="S1"),
        row("B", "20240601", 12.0, subject="S1"),  # same subject, re-registered ID
    ]
    assert {r.reason for r in compare_measurements(rows)} == {"no follow-up study"}
    out = compare_measurements(rows, key="subject")
    assert [r.flag for r in by(out, "septal")] == ["thickened"]
    assert out[0].key == "subject" and out[0].group == "S1"


@pytest.mark.parametrize("choice", ["se.A.20240301", "st.A.20240301", "20240301", "2024-03-01"])
def test_explicit_baseline(choice: str) -> None:
    rows = [row("A", "20240101", 9.0), row("A", "20240301", 10.0), row("A", "20240601", 12.0)]
    out = compare_measurements(rows, baseline=choice)
    sept = by(out, "septal")
    assert [(r.followup_date, r.flag, r.reason) for r in sept] == [
        ("20240101", "not_compared", "study precedes the chosen baseline"),
        ("20240601", "thickened", ""),
    ]
    assert all(r.baseline_date == "20240301" for r in sept)


def test_explicit_baseline_missing() -> None:
    rows = [row("A", "20240101"), row("A", "20240601"), row("B", "20240301"), row("B", "20240401")]
    out = compare_measurements(rows, baseline="20240301")
    a = [r for r in out if r.patient_id == "A"]
    assert len(a) == 4 and all(r.reason.startswith("missing baseline") for r in a)
    b = by([r for r in out if r.patient_id == "B"], "septal")
    assert [r.flag for r in b] == ["stable"]


def test_compare_sets_and_measurement_objects() -> None:
    m1 = Measurement(10.0, 0.2, 9.0, 0.2, (), 100.0, 150.0, series=SeriesInfo("A", "20240101"))
    m2 = Measurement(11.5, 0.2, 9.1, 0.2, (), 100.0, 150.0, series=SeriesInfo("Z", "20230101"))
    out = compare_sets([m1], [m2])  # one each: compared as given
    assert [r.flag for r in out] == ["thickened", "stable"]
    assert out[0].interval_days < 0
    base = [row("A", "20240101"), row("B", "20240101")]
    follow = [row("A", "20240601", 11.0), row("C", "20240601")]
    out = compare_sets(base, follow)
    assert [(r.patient_id, r.flag) for r in by(out, "septal")] == [
        ("A", "thickened"),
        ("C", "not_compared"),
    ]
    assert by(out, "septal")[1].reason.startswith("missing baseline")


def test_row_round_trip() -> None:
    out = compare_measurements(
        [row("A", "20240101"), row("A", "20240601", 11.0), row("B", "20240101")]
    )
    for r in out:
        text = r.to_row()
        assert tuple(text) == COMPARISON_COLUMNS
        back = ComparisonRow.from_row(text)
        for name in COMPARISON_COLUMNS:
            a, b = getattr(r, name), getattr(back, name)
            if isinstance(a, float):
                assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-4)
            else:
                assert a == b


def test_note_on_provenance_differences() -> None:
    out = compare_pair(
        row("A", "20240101", wallthick_version="0.1.0", segmentation_source="auto"),
        row("A", "20240601", wallthick_version="0.2.0", segmentation_source="corrected"),
    )
    assert out[0].note == (
        "wallthick version differs (0.1.0 vs 0.2.0); segmentation source differs (auto vs corrected)"
    )
    same = compare_pair(row("A", "20240101", segmenter="x"), row("A", "20240601", segmenter="x"))
    assert same[0].note == ""


def test_usable_baseline_option() -> None:
    rows = [
        row("A", "20240101", 3.0, qc="wall_thickness_range"),
        row("A", "20240201", 10.0),
        row("A", "20240601", 12.0),
    ]
    strict = compare_measurements(rows)
    assert {r.flag for r in strict} == {"not_compared"}
    out = compare_measurements(rows, usable_baseline=True)
    sept = by(out, "septal")
    assert [(r.followup_date, r.flag) for r in sept] == [
        ("20240101", "not_compared"),
        ("20240601", "thickened"),
    ]
    assert sept[0].reason.startswith(
        "study before the earliest usable baseline; study measurement QC-failed"
    )
    assert sept[1].baseline_date == "20240201"
    assert sept[1].note == "baseline is the earliest usable study"
    # nothing changes when the earliest study is usable
    good = [row("A", "20240101"), row("A", "20240601")]
    assert compare_measurements(good, usable_baseline=True) == compare_measurements(good)


# -- status qc_failed ---------------------------------------------------------
def test_qc_failed_status_is_not_compared_by_default() -> None:
    rows = [row("A", "20240101"), row("A", "20240601", 12.0, status="qc_failed", qc="fov_clipping")]
    out = compare_measurements(rows)
    assert [r.flag for r in out] == ["not_compared", "not_compared"]
    assert all(r.reason.startswith("follow-up measurement QC-failed") for r in out)
    assert all("fov_clipping" in r.reason and not r.note for r in out)


def test_qc_failed_status_without_flags_still_counts() -> None:
    rows = [row("A", "20240101", status="qc_failed"), row("A", "20240601")]
    out = compare_measurements(rows)
    assert all(r.reason.endswith("status qc_failed") for r in out)


def test_qc_failed_compared_on_request_with_a_note() -> None:
    rows = [row("A", "20240101"), row("A", "20240601", 12.0, status="qc_failed", qc="long_axis")]
    out = compare_measurements(rows, include_qc_failed=True)
    sept = by(out, "septal")[0]
    assert sept.flag == "thickened" and sept.reason == ""
    assert "follow-up QC-failed (long_axis), compared on request" in sept.note
    pair = compare_pair(rows[0], rows[1], include_qc_failed=True)
    assert by(pair, "septal")[0].flag == "thickened"
    sets = compare_sets([rows[0]], [rows[1]], include_qc_failed=True)
    assert by(sets, "septal")[0].flag == "thickened"


def test_include_qc_failed_never_compares_failed_or_missing_values() -> None:
    rows = [
        row("A", "20240101"),
        row("A", "20240601", status="failed", error="no LV found"),
        row("B", "20240101"),
        row("B", "20240601", "", status="qc_failed", qc="missing_value"),
    ]
    out = compare_measurements(rows, include_qc_failed=True)
    a = [r for r in out if r.group == "A"]
    assert all(r.flag == "not_compared" and "measurement failed" in r.reason for r in a)
    b_sept = by([r for r in out if r.group == "B"], "septal")[0]
    assert b_sept.flag == "not_compared" and b_sept.reason.startswith("missing value")
    assert by([r for r in out if r.group == "B"], "posterior")[0].flag == "stable"


def test_usable_baseline_skips_a_qc_failed_baseline() -> None:
    rows = [
        row("A", "20240101", status="qc_failed", qc="cavity_volume_range"),
        row("A", "20240301"),
        row("A", "20240601", 12.0),
    ]
    out = compare_measurements(rows, usable_baseline=True)
    compared = [r for r in out if r.compared]
    assert {r.baseline_date for r in compared} == {"20240301"}
    early = [r for r in out if r.followup_date == "20240101"]
    assert all("QC-failed" in r.reason for r in early)
