"""Analytic shells of known thickness on oblique, anisotropic grids."""

from __future__ import annotations

import numpy as np
import pytest

from wallthick.measure import MeasureOptions, measure_labels
from wallthick.measure.synthetic import analytic_lv

# Tolerance: the label edge of a voxelised wall is within half a voxel of the
# true edge, but averaged over a segment's thousands of lines the thickness
# error of the method alone is < 0.15 mm (docs/validation.md); 0.25 mm leaves
# room for the discretisation of the basal cut and the AHA boundaries.
TOL_MM = 0.25


@pytest.mark.parametrize(
    ("spacing", "rotation"),
    [((1.0, 0.9, 0.9), (0.0, 0.0, 0.0)), ((1.5, 0.8, 0.8), (20.0, -15.0, 30.0))],
)
def test_shell_thickness_labels_only(spacing, rotation):
    lv = analytic_lv(spacing_mm=spacing, grid_rotation_deg=rotation)
    m = measure_labels(lv.labels).measurement
    assert m.septal_thickness_mm == pytest.approx(lv.septal_mm, abs=TOL_MM)
    assert m.posterior_wall_thickness_mm == pytest.approx(lv.free_wall_mm, abs=TOL_MM)
    for s in (8, 9, 11, 12):
        assert m.segment(s).n_points > 100


def test_shell_thickness_blur_noise_refined():
    lv = analytic_lv(
        spacing_mm=(1.25, 0.8, 0.8), grid_rotation_deg=(20.0, -15.0, 30.0),
        psf_fwhm_mm=1.0, noise_hu=20.0, seed=3,
    )  # fmt: skip
    res = measure_labels(lv.labels, lv.image, MeasureOptions())
    m = res.measurement
    assert m.septal_thickness_mm == pytest.approx(lv.septal_mm, abs=TOL_MM)
    assert m.posterior_wall_thickness_mm == pytest.approx(lv.free_wall_mm, abs=TOL_MM)
    assert 0 < m.septal_uncertainty_mm < 1.0
    assert 0 < m.posterior_uncertainty_mm < 1.0
    assert m.qc_flags == ()
    # frame: septum direction within 10 degrees
    assert float(np.dot(res.frame.septal_direction, lv.septal_direction)) > np.cos(np.radians(10))
    assert float(np.dot(res.frame.long_axis, lv.long_axis)) > np.cos(np.radians(10))
    # thickness map on the label grid, NaN off the wall
    myo = lv.labels.array == 2
    assert np.isfinite(res.thickness_mm[myo]).mean() > 0.9
    assert np.isnan(res.thickness_mm[~myo]).all()
