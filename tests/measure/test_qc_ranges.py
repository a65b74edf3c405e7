"""QC both ways: valid heart-failure anatomy passes, wrong segmentations are caught.

A dilated, thin-walled LV (cavity ~380 ml, free wall 3.5 mm) measured on its
own labels and image must pass every criterion; the same labels damaged the
way segmenters fail (a partial lobe, a broken ring, the septum lost, a leak
into the atrium, a tiny cavity) must be flagged by the criterion that
describes the failure.
"""

from __future__ import annotations

import numpy as np
import pytest

from wallthick.labels import Label
from wallthick.measure import MeasureOptions, measure_labels
from wallthick.measure.synthetic import AnalyticLV, analytic_lv
from wallthick.volume import LabelVolume

GRID = {"spacing_mm": (1.5, 1.2, 1.2), "grid_rotation_deg": (4.0, -6.0, 10.0)}


@pytest.fixture(scope="module")
def dilated() -> AnalyticLV:
    return analytic_lv(
        **GRID, radius_mm=35.0, length_mm=112.0, septal_mm=5.0, free_wall_mm=3.5,
        psf_fwhm_mm=1.0, noise_hu=15.0, seed=5,
    )  # fmt: skip


def _measure(labels: LabelVolume, lv: AnalyticLV) -> tuple[tuple[str, ...], float]:
    m = measure_labels(labels, lv.image).measurement
    return m.qc_flags, m.lv_cavity_volume_ml


def _level(lv: AnalyticLV) -> np.ndarray:
    """Position of every voxel along the long axis (mm, apex -> base)."""
    idx = np.indices(lv.labels.shape).reshape(3, -1).T
    world = lv.labels.geometry.index_to_world(idx)
    return np.asarray((world @ lv.long_axis).reshape(lv.labels.shape))


def test_dilated_thin_walled_lv_passes(dilated: AnalyticLV) -> None:
    m = measure_labels(dilated.labels, dilated.image).measurement
    assert 350.0 < m.lv_cavity_volume_ml < 430.0
    assert m.qc_flags == ()
    assert m.status == "ok"
    assert m.posterior_wall_thickness_mm == pytest.approx(3.5, abs=0.3)
    assert min(s.mean_mm for s in m.segments) > 3.0


def test_apical_lobe_is_flagged_by_cavity_volume(dilated: AnalyticLV) -> None:
    """Only an apical pocket of the cavity found (the 9-23 ml cavities of failed runs)."""
    lev = _level(dilated)
    lv_mask = np.isin(dilated.labels.array, (Label.LV_BLOOD_POOL, Label.LV_MYOCARDIUM))
    cut = float(np.min(lev[lv_mask])) + 22.0
    arr = np.where(lv_mask & (lev > cut), 0, dilated.labels.array).astype(np.uint8)
    flags, cavity_ml = _measure(dilated.labels.with_array(arr), dilated)
    assert cavity_ml < 30.0
    assert "cavity_volume_range" in flags


def test_broken_ring_is_flagged_by_continuity(dilated: AnalyticLV) -> None:
    """A 20 mm wide gap through the myocardium at mid-ventricle."""
    lev = _level(dilated)
    myo = dilated.labels.array == Label.LV_MYOCARDIUM
    mid = np.median(lev[myo])
    idx = np.indices(dilated.labels.shape).reshape(3, -1).T
    world = dilated.labels.geometry.index_to_world(idx).reshape(*dilated.labels.shape, 3)
    side = world @ np.cross(dilated.long_axis, dilated.septal_direction)
    gap = (
        myo
        & (np.abs(lev - mid) < 40.0)
        & (np.abs(side) < 10.0)
        & (world @ dilated.septal_direction < 0)
    )
    arr = np.where(gap, Label.LV_BLOOD_POOL, dilated.labels.array).astype(np.uint8)
    flags, _ = _measure(dilated.labels.with_array(arr), dilated)
    assert "myocardium_continuity" in flags


def test_lost_rv_is_flagged(dilated: AnalyticLV) -> None:
    arr = np.where(dilated.labels.array == Label.RV_BLOOD_POOL, 0, dilated.labels.array)
    flags, _ = _measure(dilated.labels.with_array(arr.astype(np.uint8)), dilated)
    assert "rv_insertion_not_found" in flags


def test_cavity_leaking_far_beyond_a_dilated_lv_is_flagged() -> None:
    """A cavity of ~600 ml (LV joined to the atrium and aorta) is not a valid LV."""
    big = analytic_lv(
        **GRID, radius_mm=40.0, length_mm=150.0, septal_mm=5.0, free_wall_mm=4.0, seed=6
    )
    flags = measure_labels(big.labels).measurement.qc_flags
    assert "cavity_volume_range" in flags


def test_defaults_cover_the_heart_failure_range() -> None:
    opts = MeasureOptions()
    assert opts.cavity_volume_range_ml[0] <= 30.0 and opts.cavity_volume_range_ml[1] >= 420.0
    assert opts.wall_range_mm[0] <= 3.0


def _with_lead(lv: AnalyticLV, septal_mm: float, radius_mm: float) -> np.ndarray:
    """The image with a 1.8 mm, 3000 HU lead lying on the RV side of the septum.

    The lead runs parallel to the long axis, touching the septum's RV surface,
    from 5 mm below the base to 90 mm towards the apex; its partial volume is
    a linear ramp over one voxel. The labels stay as they are (the lead is RV
    blood, never wall).
    """
    idx = np.indices(lv.labels.shape).reshape(3, -1).T
    world = lv.labels.geometry.index_to_world(idx)
    u, s = lv.long_axis, lv.septal_direction
    in_lv = np.isin(lv.labels.array.reshape(-1), (Label.LV_BLOOD_POOL, Label.LV_MYOCARDIUM))
    rel = world - u * float(np.max((world @ u)[in_lv])) - s * (radius_mm + septal_mm + 0.9)
    z = rel @ u
    dist = np.linalg.norm(rel - np.outer(z, u), axis=1)
    frac = np.clip(0.5 + (0.9 - dist) / 1.2, 0.0, 1.0) * ((z < -5.0) & (z > -90.0))
    return np.asarray(lv.image.array.reshape(-1) + frac * 2700.0).reshape(lv.image.shape)


def test_lead_on_the_septum_passes_and_leaves_it_unchanged(dilated: AnalyticLV) -> None:
    clean = measure_labels(dilated.labels, dilated.image).measurement
    image = dilated.image.with_array(_with_lead(dilated, 5.0, 35.0).astype(np.float32))
    assert float(image.array.max()) > 2000.0
    m = measure_labels(dilated.labels, image).measurement
    assert m.qc_flags == ()
    assert m.septal_thickness_mm == pytest.approx(clean.septal_thickness_mm, abs=0.3)
