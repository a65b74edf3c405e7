"""Real CTA (../shared/data/real/chest_cta): range, crop agreement, re-gridding."""

from __future__ import annotations

import warnings

import pytest

from wallthick.errors import SegmentationError
from wallthick.io import load_image
from wallthick.measure import measure_wall_thickness

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

ADULT_RANGE_MM = (6.0, 13.0)
AGREEMENT_MM = 0.5


def _measure(image):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # loader/segmenter notes are not under test here
        return measure_wall_thickness(image).measurement


@pytest.fixture(scope="module")
def cta(shared_data, load_script):
    folder = shared_data / "real" / "chest_cta"
    heart = load_image(folder / "ct_heart_crop.nii.gz")
    aorta = load_image(folder / "ct_aorta_crop.nii.gz")
    rotated = load_script("validate_real_ct").rotated_copy(heart, (4.0, -3.0, 5.0), (2.0, 1.2, 1.2))
    return {"heart": _measure(heart), "aorta": _measure(aorta), "rotated": _measure(rotated)}


@pytest.mark.parametrize("crop", ["heart", "aorta"])
def test_adult_range(cta, crop):
    m = cta[crop]
    lo, hi = ADULT_RANGE_MM
    assert lo <= m.septal_thickness_mm <= hi
    assert lo <= m.posterior_wall_thickness_mm <= hi
    assert 0 < m.septal_uncertainty_mm < 1.5 and 0 < m.posterior_uncertainty_mm < 1.5
    assert 50 < m.lv_cavity_volume_ml < 250 and 60 < m.lv_mass_g < 250


def test_two_crops_agree(cta):
    a, b = cta["heart"], cta["aorta"]
    assert abs(a.septal_thickness_mm - b.septal_thickness_mm) <= AGREEMENT_MM
    assert abs(a.posterior_wall_thickness_mm - b.posterior_wall_thickness_mm) <= AGREEMENT_MM


def test_rotated_resampled_copy_agrees(cta):
    a, b = cta["heart"], cta["rotated"]
    assert abs(a.septal_thickness_mm - b.septal_thickness_mm) <= AGREEMENT_MM
    assert abs(a.posterior_wall_thickness_mm - b.posterior_wall_thickness_mm) <= AGREEMENT_MM


def test_abdomen_without_heart_fails_clearly(shared_data):
    series = shared_data / "real" / "abdomen_ct_dicom" / "series"
    with pytest.raises(SegmentationError, match="series"):
        _measure(series)
