"""Provenance of a correction (correction_provenance.json)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from wallthick import Label, Measurement
from wallthick.results import analyst_name, build_provenance, label_changes


def _measurement(septal: float, posterior: float) -> Measurement:
    return Measurement(
        septal_thickness_mm=septal,
        septal_uncertainty_mm=0.3,
        posterior_wall_thickness_mm=posterior,
        posterior_uncertainty_mm=float("nan"),
        segments=(),
        lv_cavity_volume_ml=100.0,
        lv_mass_g=120.0,
    )


def test_label_changes_counts_added_and_removed_per_label() -> None:
    before = np.zeros((4, 5, 6), np.uint8)
    before[1, :, :] = Label.LV_MYOCARDIUM  # 30 voxels
    before[2, :2, :] = Label.LV_BLOOD_POOL  # 12 voxels
    after = before.copy()
    after[0, :, :3] = Label.LV_MYOCARDIUM  # +15 myocardium from background
    after[1, 0, :] = Label.BACKGROUND  # -6 myocardium to background
    after[2, 0, :] = Label.LV_MYOCARDIUM  # 6 blood pool -> myocardium
    changes = label_changes(before, after)
    assert changes == {
        "BACKGROUND": {"added": 6, "removed": 15},
        "LV_BLOOD_POOL": {"added": 0, "removed": 6},
        "LV_MYOCARDIUM": {"added": 21, "removed": 6},
    }
    total_added = sum(c["added"] for c in changes.values())
    assert total_added == np.count_nonzero(before != after)


def test_label_changes_unknown_label_and_no_change() -> None:
    a = np.array([0, 0, 9])
    assert label_changes(a, a) == {}
    assert label_changes(np.zeros(3, int), a) == {
        "BACKGROUND": {"added": 0, "removed": 1},
        "label_9": {"added": 1, "removed": 0},
    }


def test_label_changes_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="same shape, got \\(2,\\) and \\(3,\\)"):
        label_changes(np.zeros(2), np.zeros(3))


def test_analyst_name_falls_back_to_os_user() -> None:
    name, source = analyst_name("")
    assert name and source in ("os_user", "unknown")
    assert analyst_name(" Ada  Lovelace ") == ("Ada Lovelace", "typed")


def test_build_provenance_is_json_with_before_and_after() -> None:
    before = np.zeros((3, 3, 3), np.uint8)
    after = before.copy()
    after[1, 1, :] = Label.LV_MYOCARDIUM
    when = dt.datetime(2026, 11, 26, 9, 30, 5, tzinfo=dt.UTC)
    prov = build_provenance(
        before,
        after,
        _measurement(10.0, 9.0),
        _measurement(10.0, 11.5),
        analyst="A. Analyst",
        versions={"napari": "0.9"},
        now=when,
    )
    assert prov["analyst"] == "A. Analyst" and prov["analyst_source"] == "typed"
    assert prov["saved_at_utc"] == "2026-11-26T09:30:05Z"
    assert prov["voxels_by_label"]["LV_MYOCARDIUM"] == {"added": 3, "removed": 0}
    assert prov["voxels_changed"] == 3
    assert prov["before"]["posterior_wall_thickness_mm"] == 9.0
    assert prov["after"]["posterior_wall_thickness_mm"] == 11.5
    assert prov["after"]["posterior_uncertainty_mm"] is None  # NaN is not JSON
    assert set(prov["software"]) == {"wallthick", "napari"}
    json.dumps(prov, allow_nan=False)
