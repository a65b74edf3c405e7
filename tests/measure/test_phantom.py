"""The measurement on a phantom's own labels and image, against its exact truth."""

from __future__ import annotations

import pytest

from wallthick.measure import measure_labels
from wallthick.phantom import generate_phantom, random_spec

pytestmark = pytest.mark.slow

# Measurement alone (truth labels, blurred noisy image): MAE ~0.1 mm on the
# validation cohort (docs/validation.md); 0.35 mm bounds one case at 1 mm voxels.
TOL_MM = 0.35


@pytest.fixture(scope="module")
def case():
    spec = random_spec(2, pixel_spacing_mm=1.0, rows=144, slice_spacing_mm=1.25, slices=96)
    return generate_phantom(spec)


@pytest.fixture(scope="module")
def result(case):
    return measure_labels(case.labels, case.image)


def test_truth_labels_match_truth(case, result):
    res = result
    m, truth = res.measurement, case.truth
    assert m.septal_thickness_mm == pytest.approx(truth["septal_thickness_mm"], abs=TOL_MM)
    assert m.posterior_wall_thickness_mm == pytest.approx(
        truth["posterior_wall_thickness_mm"], abs=TOL_MM
    )
    assert m.lv_cavity_volume_ml == pytest.approx(truth["lv_cavity_volume_ml"], rel=0.05)
    assert m.lv_mass_g == pytest.approx(truth["lv_mass_g"], rel=0.05)
    assert m.qc_flags == ()
    for seg in truth["segments"]:
        assert m.segment(seg["segment"]).mean_mm == pytest.approx(seg["mean_mm"], abs=0.6)


def test_frame_matches_phantom_frame(case, result):
    import numpy as np

    res = result
    frame = case.truth["lv_frame"]
    assert float(np.dot(res.frame.long_axis, frame["long_axis"])) > np.cos(np.radians(5))
    assert float(np.dot(res.frame.septal_direction, frame["septal_direction"])) > np.cos(
        np.radians(8)
    )
