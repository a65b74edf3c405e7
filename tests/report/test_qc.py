from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from wallthick.labels import Label
from wallthick.measure.result import LVFrame, MeasurementResult
from wallthick.report import render_qc_picture
from wallthick.report._planes import project_segments, sample_plane, short_axis_plane
from wallthick.report.qc import qc_figure


def test_render_qc_picture_writes_png(synthetic_result: MeasurementResult, tmp_path: Path) -> None:
    out = tmp_path / "qc.png"
    render_qc_picture(synthetic_result, out)
    img = imread(out)
    assert img.shape[0] > 300 and img.shape[1] > 900
    assert img[..., :3].std() > 0.05  # not blank
    assert [p.name for p in tmp_path.iterdir()] == ["qc.png"]  # no temporary left


def test_title_has_values_and_uncertainty(synthetic_result: MeasurementResult) -> None:
    fig = qc_figure(synthetic_result)
    title = fig.get_suptitle()
    assert "Septal 10.0 ± 0.4 mm" in title
    assert "Posterior 10.0 ± 0.5 mm" in title
    assert "P001" not in title  # no patient ID in pictures


def test_short_axis_reformat_is_a_ring_with_septum_left(
    synthetic_result: MeasurementResult,
) -> None:
    r = synthetic_result
    mid = r.frame.base_center_mm - 35.0 * r.frame.long_axis
    plane = short_axis_plane(r.frame, mid, 50.0, 0.5)
    lab = sample_plane(r.labels.array, r.labels.geometry, plane, order=0, cval=0)
    n = plane.size
    row = lab[n // 2]
    myo_cols = np.flatnonzero(row == Label.LV_MYOCARDIUM)
    # wall thickness along the centre row: 2 walls of 10 mm at 0.5 mm pixels
    assert abs(len(myo_cols) * 0.5 - 20.0) <= 2.0
    assert lab[n // 2, n // 2] == Label.LV_BLOOD_POOL
    rv_cols = np.flatnonzero(row == Label.RV_BLOOD_POOL)
    assert rv_cols.size and rv_cols.mean() < n / 2  # RV (septal side) on the left
    xy, dist = project_segments(r.probes["septal"], plane)
    assert dist[0] < 1e-6 and xy[0, 0, 0] < 0 and xy[0, 1, 0] < xy[0, 0, 0]
    assert np.allclose(xy[0, :, 1], 0.0, atol=1e-9)


def test_without_image_and_without_probes(
    make_synthetic: Callable[..., MeasurementResult], tmp_path: Path
) -> None:
    r = make_synthetic(1, with_image=False)
    r = MeasurementResult(
        r.measurement, None, r.labels, r.box_thickness_mm, r.box_segments, r.frame, probes={}
    )
    render_qc_picture(r, tmp_path / "qc.png")
    assert (tmp_path / "qc.png").stat().st_size > 1000


def test_bad_arguments(synthetic_result: MeasurementResult, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="Argument 'result' must be a MeasurementResult"):
        render_qc_picture("x", tmp_path / "a.png")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        render_qc_picture(synthetic_result, tmp_path / "missing" / "a.png")


def test_qc_picture_of_a_real_measurement(tmp_path: Path) -> None:
    """measure_labels on an analytic oblique LV: the septal probes project to the
    septal (left) side of the short-axis view, the posterior ones to the right."""
    from wallthick.measure import measure_labels
    from wallthick.measure.synthetic import analytic_lv

    lv = analytic_lv(spacing_mm=(1.5, 1.2, 1.2), grid_rotation_deg=(10.0, -5.0, 15.0))
    result = measure_labels(lv.labels, lv.image)
    center = result.frame.base_center_mm - 30.0 * result.frame.long_axis
    plane = short_axis_plane(result.frame, center, 60.0, 1.0)
    septal_xy, _ = project_segments(result.probes["septal"], plane)
    posterior_xy, _ = project_segments(result.probes["posterior"], plane)
    assert np.median(septal_xy[..., 0]) < -10.0  # septum on the left
    assert np.median(posterior_xy[..., 0]) > 10.0  # inferolateral wall on the right...
    assert np.median(posterior_xy[..., 1]) > 0.0  # ...and below the centre (inferior)
    render_qc_picture(result, tmp_path / "qc.png")
    assert imread(tmp_path / "qc.png").shape[1] > 900


def _frame_along(long_axis: tuple[float, float, float]) -> LVFrame:
    """An LV frame with the given long axis (for reformatting planes)."""
    return LVFrame(
        apex_mm=np.zeros(3),
        base_center_mm=np.asarray(long_axis) * 30.0,
        long_axis=np.asarray(long_axis),
        septal_direction=np.array([1.0, 0.0, 0.0]),
        rv_insertion_points_mm=np.zeros((0, 3)),
    )


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("center", [(20.0, 14.0, 9.0), (2.0, -3.0, 30.0), (500.0, 0.0, 0.0)])
def test_sample_plane_reads_a_box_with_the_values_of_the_whole_volume(
    order: int, center: tuple[float, float, float]
) -> None:
    """Oblique planes inside, across the edge of and beyond an anisotropic,
    rotated int16 volume: the samples equal those of the whole float64 volume."""
    from scipy import ndimage
    from scipy.spatial.transform import Rotation

    from wallthick.volume import Geometry

    rng = np.random.default_rng(7)
    array = rng.integers(-1000, 1500, (30, 41, 37)).astype(np.int16)
    direction = Rotation.from_euler("xyz", [20, -35, 50], degrees=True).as_matrix()
    geom = Geometry(array.shape, (1.3, 0.7, 0.9), (-5.0, 3.0, 1.0), direction)
    plane = short_axis_plane(_frame_along((0.3, 0.5, 0.8)), center, 25.0, 0.6)
    coords = np.moveaxis(geom.world_to_index(plane.world_points()), -1, 0)
    whole = ndimage.map_coordinates(
        array.astype(np.float64), coords, order=order, mode="constant", cval=-7.0
    )
    got = sample_plane(array, geom, plane, order=order, cval=-7.0)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, whole)
    if center[0] < 100:
        assert np.any(got != -7.0)


def test_sample_plane_of_a_box_equals_that_of_the_whole_grid() -> None:
    """A map held on a box of the grid (``start``) whose outer voxels hold
    ``cval`` (as the LV box's margin does) samples like the whole map."""
    from wallthick.volume import Geometry

    rng = np.random.default_rng(3)
    whole = np.full((20, 30, 25), -1.0)
    whole[5:14, 7:21, 4:19] = rng.uniform(5.0, 15.0, (9, 14, 15))
    geom = Geometry(whole.shape, (1.1, 0.8, 0.9), (0.0, 0.0, 0.0), np.eye(3))
    plane = short_axis_plane(_frame_along((0.2, 0.3, 0.9)), (7.0, 10.0, 10.0), 18.0, 0.4)
    box = whole[4:15, 6:22, 3:20].copy()
    got = sample_plane(box, geom, plane, order=0, cval=-1.0, start=(4, 6, 3))
    np.testing.assert_array_equal(got, sample_plane(whole, geom, plane, order=0, cval=-1.0))
    assert np.any(got > 0) and np.any(got == -1.0)
