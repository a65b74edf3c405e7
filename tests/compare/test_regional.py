"""Per-segment change flags with Holm family-wise control."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest

from wallthick.compare import compare_measurements
from wallthick.regional import (
    SEGMENT_COMPARISON_COLUMNS,
    SegmentChange,
    compare_segment_pair,
    compare_segments,
    holm_adjust,
)


def scan(
    pid: str,
    day: str,
    seg_mm: dict[int, float] | None = None,
    u: float = 0.3,
    **extra: Any,
) -> dict[str, str]:
    values = {s: 9.0 for s in range(1, 18)} | (seg_mm or {})
    row = {
        "patient_id": pid,
        "study_date": day,
        "study_time": "100000",
        "study_instance_uid": f"st.{pid}.{day}",
        "series_instance_uid": f"se.{pid}.{day}",
        "septal_thickness_mm": "10.0",
        "posterior_wall_thickness_mm": "9.0",
        "septal_uncertainty_mm": "0.3",
        "posterior_uncertainty_mm": "0.3",
        "status": "ok",
        "qc_flags": "",
        **{f"aha_{s}_mm": str(v) for s, v in values.items()},
        **{f"aha_{s}_uncertainty_mm": str(u) for s in values},
    }
    row.update({k: str(v) for k, v in extra.items()})
    return row


def test_holm_matches_the_step_down_definition() -> None:
    rng = np.random.default_rng(11)
    for _ in range(50):
        p = list(rng.uniform(0, 0.2, 17))
        adj = holm_adjust(p)
        order = np.argsort(p)
        for alpha in (0.01, 0.05):
            rejected = set()
            for k, i in enumerate(order):  # step down: stop at the first acceptance
                if p[i] > alpha / (17 - k):
                    break
                rejected.add(int(i))
            assert {i for i, a in enumerate(adj) if a <= alpha} == rejected
    assert math.isnan(holm_adjust([0.01, math.nan])[1])
    with pytest.raises(ValueError, match="p_values"):
        holm_adjust([1.5])


def test_regional_change_flagged_only_where_it_is() -> None:
    base = scan("A", "20240101")
    follow = scan("A", "20240601", {5: 11.0, 11: 11.0, 6: 10.0})
    out = compare_segment_pair(base, follow)
    assert [c.segment for c in out] == list(range(1, 18))
    flags = {c.segment: c.flag for c in out}
    assert flags[5] == flags[11] == "thickened"
    # 1 mm with sigma 0.42: z 2.36, p 0.018 > 0.05/15 -> not beyond error with Holm
    assert flags[6] == "stable"
    assert {f for s, f in flags.items() if s not in (5, 11)} == {"stable"}
    c5 = out[4]
    assert c5.delta_mm == pytest.approx(2.0)
    assert c5.z == pytest.approx(2.0 / math.hypot(0.3, 0.3))
    assert c5.p_value == pytest.approx(2 * NormalDist().cdf(-c5.z))
    assert c5.n_tested == 17 and c5.p_holm <= 0.05


def test_unadjusted_level_would_flag_what_holm_does_not() -> None:
    base = scan("A", "20240101")
    follow = scan("A", "20240601", {6: 10.0})
    c6 = compare_segment_pair(base, follow)[5]
    assert c6.p_value < 0.05 and c6.p_holm > 0.05 and c6.flag == "stable"


def test_thinning_and_floor() -> None:
    base = scan("A", "20240101", u=0.05)
    follow = scan("A", "20240601", {3: 7.0, 9: 8.6}, u=0.05)
    out = {c.segment: c for c in compare_segment_pair(base, follow, floor_mm=0.5)}
    assert out[3].flag == "thinned"
    assert out[9].p_holm < 0.05 and out[9].flag == "stable"  # |0.4| <= floor


def test_missing_segment_is_not_compared_and_leaves_the_family() -> None:
    base = scan("A", "20240101")
    follow = scan("A", "20240601", {5: 11.0})
    follow["aha_17_mm"] = ""
    base["aha_16_uncertainty_mm"] = ""
    out = {c.segment: c for c in compare_segment_pair(base, follow)}
    assert out[17].flag == "not_compared" and "follow-up aha_17_mm" in out[17].reason
    assert out[16].flag == "not_compared" and "baseline aha_16_uncertainty_mm" in out[16].reason
    assert out[5].n_tested == 15 and out[5].flag == "thickened"


def test_compare_segments_follows_the_wall_pairing() -> None:
    rows = [
        scan("A", "20240101"),
        scan("A", "20240601", {2: 12.0}),
        scan("B", "20240101"),
        scan("B", "20240601", status="qc_failed", qc_flags="long_axis"),
        scan("C", "20240101"),
    ]
    walls = compare_measurements(rows)
    segs = compare_segments(rows, walls)
    by_group: dict[str, list[SegmentChange]] = {}
    for c in segs:
        by_group.setdefault(c.group, []).append(c)
    assert len(by_group["A"]) == 17
    assert [c.segment for c in by_group["A"] if c.changed] == [2]
    assert all(c.flag == "not_compared" and "QC-failed" in c.reason for c in by_group["B"])
    assert all(c.reason == "no follow-up study" for c in by_group["C"])
    opted = compare_segments(rows, compare_measurements(rows, include_qc_failed=True))
    assert {c.flag for c in opted if c.group == "B"} == {"stable"}


def test_segment_rows_round_trip() -> None:
    out = compare_segment_pair(scan("A", "20240101"), scan("A", "20240601", {5: 12.0}))
    for c in out:
        row = c.to_row()
        assert tuple(row) == SEGMENT_COMPARISON_COLUMNS
        back = SegmentChange.from_row(row)
        assert back.segment == c.segment and back.flag == c.flag
        assert back.delta_mm == pytest.approx(c.delta_mm, abs=1e-4)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="confidence"):
        compare_segment_pair(scan("A", "1"), scan("A", "2"), confidence=1.0)
    with pytest.raises(ValueError, match="floor_mm"):
        compare_segment_pair(scan("A", "1"), scan("A", "2"), floor_mm=-1.0)
    with pytest.raises(TypeError, match="Rows must be"):
        compare_segment_pair(3, scan("A", "2"))  # type: ignore[arg-type]


def test_compare_command_summary_names_the_segments_beyond_error(tmp_path: Any) -> None:
    from wallthick.cli.compare import _segment_summary

    rows = [scan("P1", "20250101"), scan("P1", "20250601", {8: 11.0, 9: 11.2, 12: 7.0})]
    segments = compare_segments(rows, compare_measurements(rows))
    text = _segment_summary(segments, tmp_path / "comparison_segments.csv")
    assert "3 in 1 pair(s)" in text
    assert (
        "P1 20250101 -> 20250601: thickened 8 (+2.0 mm), 9 (+2.2 mm); thinned 12 (-2.0 mm)" in text
    )
