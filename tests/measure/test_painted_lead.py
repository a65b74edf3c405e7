"""Real CTA with a synthetic RV lead painted along the septum (scripts/paint_lead.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from wallthick.io import load_image
from wallthick.labels import Label
from wallthick.measure import measure_wall_thickness

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

#: a lead without streaks must not change the values (issue 11: within 0.1 mm)
UNCHANGED_MM = 0.1


@pytest.fixture(scope="module")
def clean(shared_data):
    heart = load_image(shared_data / "real" / "chest_cta" / "ct_heart_crop.nii.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return heart, measure_wall_thickness(heart)


def test_lead_is_a_thin_bright_tube_in_the_rv(clean, load_script):
    heart, result = clean
    pl = load_script("paint_lead")
    painted = pl.paint_lead(heart, result, pl.LeadSpec(streaks="none"))
    added = painted.array - heart.array
    changed = np.abs(added) > 50.0
    # a 1.8 mm tube ~60 mm long: volume ~ 150 mm^3, blurred over a few voxels more
    voxel_mm3 = float(np.prod(heart.spacing_mm))
    assert 50.0 < changed.sum() * voxel_mm3 < 1500.0
    assert added.max() > 500.0  # partial volume: a 1.5 mm voxel is not all metal
    rv = result.labels.array == Label.RV_BLOOD_POOL
    assert rv[changed].mean() > 0.5  # in the RV blood pool, not in the septum
    with_streaks = pl.paint_lead(heart, result, pl.LeadSpec(streaks="ordinary"))
    streak = with_streaks.array - painted.array
    assert (streak < -200).sum() > 100 and (streak > 200).sum() > 100  # dark and bright bands


def test_lead_alone_changes_nothing(clean, load_script):
    heart, result = clean
    pl = load_script("paint_lead")
    painted = pl.paint_lead(heart, result, pl.LeadSpec(streaks="none"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = measure_wall_thickness(painted).measurement
    m0 = result.measurement
    assert m.status == "ok"
    assert abs(m.septal_thickness_mm - m0.septal_thickness_mm) <= UNCHANGED_MM
    assert abs(m.posterior_wall_thickness_mm - m0.posterior_wall_thickness_mm) <= UNCHANGED_MM
