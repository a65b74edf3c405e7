"""The truth in truth.json is what the generated labels actually contain."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from wallthick.labels import Label
from wallthick.phantom import PhantomCase, random_spec, render_labels
from wallthick.phantom.generate import _Pose
from wallthick.phantom.lv import aha_segment
from wallthick.phantom.scene import lv_model_from_spec
from wallthick.volume import Geometry

FINE_MM = 0.3
SEPTAL, POSTERIOR = (2, 3, 8, 9), (5, 11)


def _fine_block(spec, center_anat, half_mm=12.0):  # type: ignore[no-untyped-def]
    """A fine axial block of noiseless labels centred on an anatomical point."""
    pose = _Pose(spec)
    n = int(round(2 * half_mm / FINE_MM)) + 1
    origin = pose.to_world(center_anat) - half_mm
    geom = Geometry((n, n, n), (FINE_MM,) * 3, origin, np.eye(3))
    return render_labels(spec, geom), pose


def _perpendicular_thickness(labels, pose, lv, q_local):  # type: ignore[no-untyped-def]
    """Median distance to the cavity over the epicardial boundary voxels near the
    normal through ``q_local``: a thickness measured perpendicular from the labels."""
    lab = labels.array
    myo = lab == Label.LV_MYOCARDIUM
    cavity = lab == Label.LV_BLOOD_POOL
    dist = ndimage.distance_transform_edt(~cavity, sampling=labels.spacing_mm)
    outer = myo & ndimage.binary_dilation(~(myo | cavity))
    idx = np.argwhere(outer)
    world = labels.geometry.index_to_world(idx)
    local = lv.to_local(pose.to_anatomical(world))
    n = lv.normal(q_local)
    rel = local - q_local
    along = rel @ n
    lateral = np.linalg.norm(rel - along[:, None] * n, axis=1)
    near = lateral < 2.0
    assert near.sum() > 20
    return float(np.median(dist[tuple(idx[near].T)]))


@pytest.mark.parametrize(
    ("seed", "phi", "h", "group"),
    [
        (0, 0.0, 0.5, "septal"),
        (4, -35.0, 0.8, "septal"),
        (0, 150.0, 0.5, "posterior"),
        (4, 135.0, 0.85, "posterior"),
        (-4, 160.0, 0.55, "posterior"),  # negative seed: re-positioned patient (see below)
    ],
)
def test_wall_measured_perpendicular_matches_truth(seed, phi, h, group) -> None:  # type: ignore[no-untyped-def]
    spec = random_spec(abs(seed))
    if seed < 0:
        spec = spec.replace(
            patient_shift_mm=(4.0, -3.0, 5.0), patient_rotation_deg=(3.0, -2.0, 2.5)
        )
    lv = lv_model_from_spec(spec)
    q = lv.local_point(phi, h)
    t = float(lv.thickness(np.array(phi), np.array(h)))
    center = lv.to_anatomical(lv.local_point(phi, h, depth_mm=t / 2))
    labels, pose = _fine_block(spec, center)
    measured = _perpendicular_thickness(labels, pose, lv, q)
    from wallthick.phantom import phantom_truth

    truth = phantom_truth(spec)
    expected = (
        truth["septal_thickness_mm"] if group == "septal" else truth["posterior_wall_thickness_mm"]
    )
    assert t == pytest.approx(expected, abs=1e-6)
    assert measured == pytest.approx(expected, abs=FINE_MM / 2)


def test_segment_truth_is_consistent(phantom_case: PhantomCase) -> None:
    truth = phantom_case.truth
    seg = {s["segment"]: s for s in truth["segments"]}
    assert sorted(seg) == list(range(1, 18))
    for number in SEPTAL:
        assert seg[number]["min_mm"] == seg[number]["max_mm"] == truth["septal_thickness_mm"]
    for number in POSTERIOR:
        assert (
            seg[number]["min_mm"] == seg[number]["max_mm"] == truth["posterior_wall_thickness_mm"]
        )
    for s in seg.values():
        assert s["min_mm"] <= s["mean_mm"] <= s["max_mm"]
    # independent check of the area-weighted means: Monte Carlo over the surface
    lv = lv_model_from_spec(phantom_case.spec)
    rng = np.random.default_rng(1)
    eta = rng.uniform(0.0, np.pi / 2, 400_000)
    psi = rng.uniform(0.0, 2 * np.pi, eta.size)
    d = 1e-6
    q = lv.surface(eta, psi)
    q_eta = (lv.surface(eta + d, psi) - q) / d
    q_psi = (lv.surface(eta, psi + d) - q) / d
    weight = np.linalg.norm(np.cross(q_eta, q_psi), axis=1)
    phi, h = lv.angle_level(q)
    t = lv.thickness(phi, h)
    segs = aha_segment(phi, h)
    for number in (1, 4, 6, 10, 13, 14, 16, 17):
        sel = segs == number
        mc = np.sum(weight[sel] * t[sel]) / np.sum(weight[sel])
        assert mc == pytest.approx(seg[number]["mean_mm"], abs=0.03)


def test_volumes_match_label_counts(phantom_case: PhantomCase) -> None:
    truth, labels = phantom_case.truth, phantom_case.labels
    myo_ml = labels.volume_ml(Label.LV_MYOCARDIUM)
    cavity_ml = labels.volume_ml(Label.LV_BLOOD_POOL)
    assert myo_ml == pytest.approx(truth["lv_myocardium_volume_ml"], rel=0.02)
    assert cavity_ml == pytest.approx(truth["lv_cavity_volume_ml"], rel=0.02)
    assert truth["lv_mass_g"] == pytest.approx(1.05 * truth["lv_myocardium_volume_ml"], rel=1e-3)


def test_papillary_muscles_are_cavity_and_myocardium_dense(phantom_case: PhantomCase) -> None:
    """Myocardium-dense voxels inside the cavity exist (papillary muscles, trabeculae)."""
    img, lab = phantom_case.image.array, phantom_case.labels.array
    cavity = lab == Label.LV_BLOOD_POOL
    deep = ndimage.binary_erosion(cavity, iterations=2)
    spec = phantom_case.spec
    smooth = ndimage.gaussian_filter(img, 1.0)
    dense = deep & (smooth < 0.5 * (spec.hu_lv_blood + spec.hu_myocardium))
    assert dense.sum() * phantom_case.labels.geometry.voxel_volume_mm3 > 500.0  # > 0.5 ml
