"""The measurement on a phantom's own labels and image, against its exact truth."""

from __future__ import annotations

import numpy as np
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


def test_insertions_equally_anterior():
    """A heart whose two RV insertion points are equally anterior (they differ
    only along the patient's head-feet axis): the anterior one is still told
    from the inferior one (anterior *and* superior), so the segments are not
    mirrored about the septum and the posterior wall is AHA 5/11."""
    spec = random_spec(
        4007, septal_mm=14.86, pixel_spacing_mm=0.9, rows=160, slice_spacing_mm=1.5, slices=80
    )
    case = generate_phantom(spec)
    ins = [np.asarray(p) for p in case.truth["lv_frame"]["rv_insertion_points_mm"]]
    assert abs(ins[0][1] - ins[1][1]) < 1.0  # equally anterior (LPS y)
    m = measure_labels(case.labels, case.image).measurement
    truth = {d["segment"]: d["mean_mm"] for d in case.truth["segments"]}
    assert m.posterior_wall_thickness_mm == pytest.approx(
        case.truth["posterior_wall_thickness_mm"], abs=0.3
    )
    for seg in m.segments:
        assert seg.mean_mm == pytest.approx(truth[seg.segment], abs=0.5), seg.segment
