"""Short-axis grids, reformatting, and measuring labels on an oblique SAX grid."""

from __future__ import annotations

import numpy as np
import pytest

from wallthick import Geometry, ImageVolume, Label, LabelVolume
from wallthick.measure import (
    LVFrame,
    MeasureOptions,
    long_axis_planes,
    measure_labels,
    reformat,
    short_axis_axes,
    short_axis_grid,
)
from wallthick.measure.synthetic import analytic_lv

# same budget as tests/measure/test_shell.py: method error < 0.15 mm plus the
# discretisation of the basal cut and the AHA boundaries
TOL_MM = 0.25


@pytest.fixture(scope="module")
def shell():
    lv = analytic_lv(
        spacing_mm=(1.5, 1.0, 1.0), grid_rotation_deg=(10.0, -5.0, 15.0),
        psf_fwhm_mm=1.0, noise_hu=20.0, seed=11,
    )  # fmt: skip
    return lv, measure_labels(lv.labels, lv.image, MeasureOptions())


def test_short_axis_axes_follow_the_lv_frame(shell):
    lv, result = shell
    axes = short_axis_axes(result.frame)
    np.testing.assert_allclose(axes.T @ axes, np.eye(3), atol=1e-9)
    # slices run base -> apex, rows anterior -> inferior, columns septum -> lateral
    assert axes[:, 0] @ -lv.long_axis > 0.99
    assert axes[:, 1] @ -lv.anterior_direction > 0.97
    assert axes[:, 2] @ -lv.septal_direction > 0.97


def test_short_axis_grid_covers_the_lv_with_its_margin(shell):
    lv, result = shell
    grid = short_axis_grid(result.frame, lv.labels, slice_mm=2.0, margin_mm=10.0)
    assert grid.spacing_mm.tolist() == [2.0, 1.0, 1.0]
    lv_idx = np.argwhere(np.isin(lv.labels.array, (Label.LV_BLOOD_POOL, Label.LV_MYOCARDIUM)))
    inside = grid.world_to_index(lv.labels.index_to_world(lv_idx))
    margin_vox = 10.0 / grid.spacing_mm
    assert np.all(inside >= margin_vox - 1.0)
    assert np.all(inside <= np.asarray(grid.shape) - 1 - margin_vox + 1.0)


def test_measure_labels_on_the_oblique_sax_grid_matches_the_truth(shell):
    lv, result = shell
    grid = short_axis_grid(result.frame, lv.labels, slice_mm=1.5)
    sax_labels = reformat(lv.labels, grid)
    assert not np.allclose(np.abs(sax_labels.direction), np.eye(3), atol=0.1)  # truly oblique
    sax = measure_labels(sax_labels, lv.image).measurement  # image on its own grid
    same = measure_labels(sax_labels, reformat(lv.image, grid)).measurement
    for m in (sax, same):
        assert m.septal_thickness_mm == pytest.approx(lv.septal_mm, abs=TOL_MM)
        assert m.posterior_wall_thickness_mm == pytest.approx(lv.free_wall_mm, abs=TOL_MM)
    assert same.septal_thickness_mm == pytest.approx(sax.septal_thickness_mm, abs=0.05)
    axial = result.measurement
    assert sax.septal_thickness_mm == pytest.approx(axial.septal_thickness_mm, abs=TOL_MM)
    assert "rv_insertion_not_found" not in sax.qc_flags


def test_reformat_onto_its_own_grid_is_the_identity(shell):
    lv, _ = shell
    g = lv.labels.geometry
    np.testing.assert_array_equal(reformat(lv.labels, g).array, lv.labels.array)
    np.testing.assert_allclose(reformat(lv.image, g).array, lv.image.array, atol=1e-3)


def test_reformat_there_and_back_keeps_the_labels():
    lv = analytic_lv(spacing_mm=(1.5, 1.2, 1.2))
    rot = Geometry(lv.labels.shape, lv.labels.spacing_mm, lv.labels.origin_mm, np.eye(3))
    there = reformat(lv.labels, rot)
    back = reformat(there, lv.labels.geometry)
    agree = np.mean(back.array[lv.labels.array > 0] == lv.labels.array[lv.labels.array > 0])
    assert agree > 0.97


def test_reformat_fills_outside_the_volume():
    img = ImageVolume(np.full((4, 4, 4), 100.0, np.float32), (1, 1, 1), (0, 0, 0), np.eye(3))
    far = Geometry((2, 2, 2), (1, 1, 1), (50, 50, 50), np.eye(3))
    assert reformat(img, far, fill=-1024.0).array.tolist() == np.full((2, 2, 2), -1024.0).tolist()
    lab = LabelVolume(np.ones((4, 4, 4), np.uint8), (1, 1, 1), (0, 0, 0), np.eye(3))
    assert not reformat(lab, far).array.any()


def test_long_axis_planes_contain_the_long_axis(shell):
    lv, result = shell
    grid = short_axis_grid(result.frame, lv.labels)
    planes = long_axis_planes(result.frame, grid)
    assert set(planes) == {"four_chamber", "two_chamber"}
    for name, across in (
        ("four_chamber", -lv.septal_direction),
        ("two_chamber", lv.anterior_direction),
    ):
        p = planes[name]
        assert p.shape[0] == 1
        assert p.direction[:, 1] @ lv.long_axis > 0.99  # rows: apex -> base
        assert p.direction[:, 2] @ across > 0.97
        # the long axis lies in the plane
        idx = p.world_to_index(np.stack([result.frame.apex_mm, result.frame.base_center_mm]))
        np.testing.assert_allclose(idx[:, 0], 0.0, atol=1e-6)
    # a SAX slice is one row of a LAX plane
    rows = planes["four_chamber"].world_to_index(grid.index_to_world([[10, 0, 0], [10, 50, 70]]))
    assert rows[0, 1] == pytest.approx(rows[1, 1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"slice_mm": 0.0}, "'slice_mm' must be between"),
        ({"margin_mm": -1.0}, "'margin_mm' must be between"),
        ({"in_plane_mm": 50.0}, "'in_plane_mm' must be between"),
    ],
)
def test_short_axis_grid_rejects_bad_arguments(shell, kwargs, match):
    lv, result = shell
    with pytest.raises(ValueError, match=match):
        short_axis_grid(result.frame, lv.labels, **kwargs)


def test_short_axis_grid_needs_a_frame_and_an_lv(shell):
    lv, result = shell
    with pytest.raises(TypeError, match="'frame' must be an LVFrame"):
        short_axis_grid(None, lv.labels)  # type: ignore[arg-type]
    empty = lv.labels.with_array(np.zeros_like(lv.labels.array))
    with pytest.raises(ValueError, match="no LV blood pool or myocardium"):
        short_axis_grid(result.frame, empty)
    flat = LVFrame(
        np.zeros(3), np.ones(3), np.array([0, 0, 1.0]), np.array([0, 0, 1.0]), np.zeros((2, 3))
    )
    with pytest.raises(ValueError, match="septal direction perpendicular"):
        short_axis_axes(flat)
    with pytest.raises(TypeError, match="'volume' must be an ImageVolume or LabelVolume"):
        reformat(np.zeros((2, 2, 2)), lv.labels.geometry)  # type: ignore[type-var]
