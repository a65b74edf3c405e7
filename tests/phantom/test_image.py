"""Image formation: edges sit where the truth says, blur and noise are as specified."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from wallthick.phantom import generate_phantom, random_spec
from wallthick.phantom.generate import _Pose
from wallthick.phantom.scene import lv_model_from_spec


def _septal_block(seed: int, **overrides: object):  # type: ignore[no-untyped-def]
    """A small noiseless image centred on the mid septum, and the LV model/pose."""
    spec = random_spec(
        seed,
        rows=48,
        slices=40,
        noise_sd_hu=0.0,
        hu_rv_blood=420.0,
        contrast_mixing=False,
        **overrides,
    )
    lv, pose = lv_model_from_spec(spec), _Pose(spec)
    t = float(lv.thickness(np.array(0.0), np.array(0.5)))
    wall_mid = pose.to_world(lv.to_anatomical(lv.local_point(0.0, 0.5, t / 2)))
    lv_center = pose.to_world(lv.to_anatomical(np.array([0.0, 0.0, -0.35 * lv.axes[2]])))
    spec = spec.replace(fov_offset_mm=tuple(float(v) for v in wall_mid - lv_center))
    return generate_phantom(spec), lv, pose, t


@pytest.mark.parametrize("slice_mm", [1.0, 2.5])
def test_half_maximum_edges_at_true_surfaces(slice_mm: float) -> None:
    case, lv, pose, t = _septal_block(7, slice_spacing_mm=slice_mm)
    spec = case.spec
    q = lv.local_point(0.0, 0.5)
    n = lv.normal(q)
    s = np.arange(-4.0, t + 4.0, 0.02)
    pts = pose.to_world(lv.to_anatomical(q + s[:, None] * n))
    idx = case.image.world_to_index(pts)
    prof = ndimage.map_coordinates(case.image.array, idx.T, order=3)
    endo_level = 0.5 * (spec.hu_lv_blood + spec.hu_myocardium)
    epi_level = 0.5 * (spec.hu_rv_blood + spec.hu_myocardium)
    endo = s[np.argmin(np.abs(np.where(s < t / 2, prof - endo_level, np.inf)))]
    epi = s[np.argmin(np.abs(np.where(s > t / 2, prof - epi_level, np.inf)))]
    assert endo == pytest.approx(0.0, abs=0.15)
    assert epi == pytest.approx(t, abs=0.15)


def test_noise_level_and_plateaus(phantom_case) -> None:  # type: ignore[no-untyped-def]
    spec = phantom_case.spec
    img, lab = phantom_case.image.array, phantom_case.labels.array
    core = ndimage.binary_erosion(lab == 1, iterations=4)
    values = img[core]
    assert np.median(values) == pytest.approx(spec.hu_lv_blood, abs=10.0)
    # robust SD: papillary muscles inside the labelled cavity are outliers here
    robust_sd = 1.4826 * np.median(np.abs(values - np.median(values)))
    assert robust_sd == pytest.approx(spec.noise_sd_hu, rel=0.15)


def test_random_specs_stay_in_documented_ranges() -> None:
    for seed in range(40):
        s = random_spec(seed)
        assert 300 <= s.hu_lv_blood <= 550 and 90 <= s.hu_myocardium <= 140
        assert -120 <= s.hu_fat <= -60 and 15 <= s.noise_sd_hu <= 45
        assert 0.6 <= s.psf_fwhm_mm <= 1.2
        assert s.hu_rv_blood >= s.hu_myocardium + 50
        assert 0 <= s.epi_fat_min_mm <= s.epi_fat_max_mm <= 4.0
