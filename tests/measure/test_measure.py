"""measure_labels / measure_wall_thickness: aggregation, uncertainty, QC, phases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from wallthick.errors import MeasurementError, QualityControlError, SegmentationError
from wallthick.labels import Label
from wallthick.measure import (
    MeasureOptions,
    measure_labels,
    measure_wall_thickness,
    select_end_diastole,
)
from wallthick.measure.synthetic import analytic_lv
from wallthick.volume import ImageVolume, LabelVolume

COARSE = {"spacing_mm": (1.25, 1.0, 1.0), "grid_rotation_deg": (5.0, -10.0, 15.0)}
# where only QC or bookkeeping is tested, a coarser grid keeps the suite fast
FAST = {"spacing_mm": (1.6, 1.5, 1.5), "grid_rotation_deg": (5.0, -10.0, 15.0)}


@pytest.fixture(scope="module")
def lv():
    return analytic_lv(**COARSE, psf_fwhm_mm=1.0, noise_hu=15.0, seed=7)


@pytest.fixture(scope="module")
def result(lv):
    return measure_labels(lv.labels, lv.image)


def _weighted(m, segments):
    stats = [m.segment(s) for s in segments]
    return sum(s.mean_mm * s.n_points for s in stats) / sum(s.n_points for s in stats)


def test_septal_posterior_are_area_weighted_means_of_their_segments(result):
    m = result.measurement
    assert m.septal_thickness_mm == pytest.approx(_weighted(m, (2, 3, 8, 9)), rel=1e-9)
    assert m.posterior_wall_thickness_mm == pytest.approx(_weighted(m, (5, 11)), rel=1e-9)


def test_uncertainty_present_and_positive(result):
    m = result.measurement
    for u in (m.septal_uncertainty_mm, m.posterior_uncertainty_mm):
        assert math.isfinite(u) and 0.02 < u < 1.0
    parts = m.details["septal_uncertainty_parts"]
    assert set(parts) >= {
        "spread_mm",
        "reference_mm",
        "disagreement_mm",
        "label_edge_mm",
        "method_mm",
        "n_eff",
    }


def test_result_contract(result, lv):
    m = result.measurement
    row = m.to_row()
    assert row["septal_thickness_mm"] and row["status"] == "ok"
    assert m.lv_cavity_volume_ml > 30 and m.lv_mass_g > 50
    assert result.aha_segments.shape == lv.labels.shape
    assert set(np.unique(result.aha_segments)) <= set(range(18))
    assert result.probes["septal"].shape[1:] == (2, 3)
    # probe length = the thickness it shows (within the refinement)
    lengths = np.linalg.norm(result.probes["septal"][:, 1] - result.probes["septal"][:, 0], axis=1)
    assert np.median(lengths) == pytest.approx(lv.septal_mm, abs=0.6)


def test_maps_on_the_lv_box_expand_to_the_whole_grid(result, lv):
    """The maps are kept on the LV crop's box; the whole-grid maps hold every
    myocardial voxel's value and nothing outside the myocardium."""
    assert result.box_thickness_mm.shape != lv.labels.shape  # a real crop
    myo = lv.labels.array == Label.LV_MYOCARDIUM
    assert myo[result.box].sum() == myo.sum()  # every myocardial voxel in the box
    full = result.thickness_mm
    assert full.shape == lv.labels.shape and full.dtype == np.float32
    np.testing.assert_array_equal(full[result.box], result.box_thickness_mm)
    assert np.isnan(full[~myo]).all() and np.isfinite(full[myo]).mean() > 0.9
    assert result.aha_segments[~myo].max() == 0
    assert result.aha_segments[myo].min() >= 0 and result.aha_segments[myo].max() == 17


def test_maps_outside_the_label_grid_are_refused(result):
    from dataclasses import replace

    with pytest.raises(ValueError, match="must be one 3-D box of the label grid"):
        replace(result, box_start=tuple(n - 1 for n in result.labels.shape))
    with pytest.raises(ValueError, match="must be one 3-D box of the label grid"):
        replace(result, box_segments=result.box_segments[:-1])


def test_weak_rv_contrast_widens_septal_uncertainty(lv, result):
    weak = analytic_lv(
        **COARSE, psf_fwhm_mm=1.0, noise_hu=15.0, seed=7, hu=(420.0, 120.0, 150.0, -90.0)
    )
    m_weak = measure_labels(weak.labels, weak.image).measurement
    assert m_weak.septal_uncertainty_mm > result.measurement.septal_uncertainty_mm
    assert m_weak.septal_thickness_mm == pytest.approx(weak.septal_mm, abs=0.3)


def test_painted_band_raises_thickness_by_its_width(lv, result):
    """An analyst paints a 2 mm band on the epicardium: +2 mm, not snapped back."""
    arr = lv.labels.array.copy()
    myo = arr == Label.LV_MYOCARDIUM
    dist = ndimage.distance_transform_edt(~myo, sampling=lv.labels.spacing_mm)
    arr[(arr == Label.BACKGROUND) & (dist <= 2.0)] = Label.LV_MYOCARDIUM
    edited = lv.labels.with_array(arr)
    after = measure_labels(edited, lv.image, segmentation_source="corrected").measurement
    before = result.measurement
    rise = after.posterior_wall_thickness_mm - before.posterior_wall_thickness_mm
    label_rise = after.details["posterior_label_mm"] - before.details["posterior_label_mm"]
    # the voxelised 2 mm band moves the label edge by ~1.7 mm on average
    assert label_rise == pytest.approx(2.0, abs=0.5)
    assert rise == pytest.approx(label_rise, abs=0.25)
    assert after.segmentation_source == "corrected"


def test_labels_without_image(lv):
    m = measure_labels(lv.labels).measurement
    assert m.septal_thickness_mm == pytest.approx(lv.septal_mm, abs=0.3)
    assert m.septal_uncertainty_mm > 0


def test_no_myocardium_is_a_measurement_error(lv):
    arr = np.where(lv.labels.array == Label.LV_MYOCARDIUM, 0, lv.labels.array).astype(np.uint8)
    with pytest.raises(MeasurementError, match="no LV myocardium"):
        measure_labels(lv.labels.with_array(arr))


def test_fov_clipping_refused(lv):
    # cut the volume through the LV: the heart touches the image border
    n = lv.labels.shape[1]
    sl = (slice(None), slice(n // 2, None), slice(None))
    arr = np.ascontiguousarray(lv.labels.array[sl])
    origin = lv.labels.geometry.index_to_world([0, n // 2, 0])
    cut = LabelVolume(arr, lv.labels.spacing_mm, origin, lv.labels.direction)
    with pytest.raises(QualityControlError, match="fov_clipping") as info:
        measure_labels(cut, options=MeasureOptions(on_qc_failure="raise"))
    assert "fov_clipping" in info.value.criteria
    flagged = measure_labels(cut).measurement
    assert "fov_clipping" in flagged.qc_flags
    assert flagged.details["border_contact_mm2"] > 1000.0


def test_tangential_border_touch_is_not_clipping(lv):
    """A few LV voxels on the image border (the wall grazing the edge of the
    field of view) do not change the measurement and are not flagged; the
    contact area is reported."""
    arr = lv.labels.array
    myo = arr == Label.LV_MYOCARDIUM
    # the array axis along which the LV's outermost slice holds the fewest voxels
    touch: list[tuple[int, int, int]] = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        first = int(np.flatnonzero(np.any(myo, axis=other))[0])
        touch.append((int(np.count_nonzero(np.take(myo, first, axis=axis))), axis, first))
    _, axis, first = min(touch)
    sl = tuple(slice(first, None) if a == axis else slice(None) for a in range(3))
    origin = lv.labels.geometry.index_to_world([first if a == axis else 0 for a in range(3)])
    cut = np.ascontiguousarray(arr[sl])
    border = np.moveaxis(cut, axis, 0)[0]  # a view: the slice on the image border
    pts = np.argwhere(border == Label.LV_MYOCARDIUM)
    far = np.argsort(np.linalg.norm(pts - pts.mean(axis=0), axis=1))[10:]
    border[tuple(pts[far].T)] = 0  # keep a small patch of ten voxels on the border
    touching = 10
    grazed = LabelVolume(cut, lv.labels.spacing_mm, origin, lv.labels.direction)
    face = float(np.prod(np.delete(lv.labels.spacing_mm, axis)))
    assert 0 < touching * face <= MeasureOptions().max_border_contact_mm2
    result = measure_labels(grazed).measurement
    assert "fov_clipping" not in result.qc_flags
    assert result.details["border_contact_mm2"] == pytest.approx(touching * face, abs=0.1)
    strict = measure_labels(grazed, options=MeasureOptions(max_border_contact_mm2=0.0))
    assert "fov_clipping" in strict.measurement.qc_flags


def test_implausible_wall_refused():
    thin = analytic_lv(**FAST, septal_mm=2.5, free_wall_mm=2.5)
    with pytest.raises(QualityControlError, match="wall_thickness_range"):
        measure_labels(thin.labels, options=MeasureOptions(on_qc_failure="raise"))


def test_small_cavity_refused():
    small = analytic_lv(**FAST, radius_mm=9.0, length_mm=35.0, septal_mm=6.0, free_wall_mm=6.0)
    with pytest.raises(QualityControlError, match="cavity_volume_range"):
        measure_labels(small.labels, options=MeasureOptions(on_qc_failure="raise"))


class _KnownLabels:
    """A test segmenter returning the labels built with each image, found by
    the image's phase (the pipeline hands the segmenter a derived volume: the
    same voxels with its metal report in the metadata)."""

    name = "known"

    def __init__(self, pairs):
        self._by_phase = {img.metadata["phase"]: lab for img, lab in pairs}

    def segment(self, image: ImageVolume) -> LabelVolume:
        return self._by_phase[image.metadata["phase"]]


def test_multiphase_picks_end_diastole():
    phases = []
    for k, radius in enumerate((20.0, 24.0, 22.0)):
        a = analytic_lv(**FAST, radius_mm=radius, psf_fwhm_mm=1.0, noise_hu=10.0, seed=k)
        img = a.image.with_array(a.image.array, phase=f"{20 * k}%")
        phases.append((img, a.labels))
    res = measure_wall_thickness([p[0] for p in phases], segmenter=_KnownLabels(phases))
    m = res.measurement
    assert m.phase == "20%"
    assert [p.chosen for p in m.phases] == [False, True, False]
    vols = [p.lv_cavity_volume_ml for p in m.phases]
    assert vols[1] == max(vols)
    assert m.segmenter == "known"


def test_select_end_diastole_orders_by_cavity_volume(lv):
    small = analytic_lv(**FAST, radius_mm=18.0)
    best, infos = select_end_diastole([small.labels, lv.labels], [small.image, lv.image])
    assert best == 1 and infos[1].chosen and not infos[0].chosen


class _NoHeart:
    name = "noheart"

    def segment(self, image: ImageVolume) -> LabelVolume:
        raise SegmentationError("no left ventricle found in the field of view")


def test_segmentation_error_names_the_series(lv):
    img = lv.image.with_array(lv.image.array, source_path="/data/abdomen/series1")
    with pytest.raises(SegmentationError, match="/data/abdomen/series1: no left ventricle"):
        measure_wall_thickness(img, segmenter=_NoHeart())


def test_bad_arguments(lv):
    with pytest.raises(TypeError, match="'labels' must be a LabelVolume"):
        measure_labels(lv.image)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="segmentation_source"):
        measure_labels(lv.labels, segmentation_source="manual")
    with pytest.raises(TypeError, match="'source' must be a path"):
        measure_wall_thickness(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="on_qc_failure"):
        MeasureOptions(on_qc_failure="ignore")  # type: ignore[arg-type]


class _FailsOnSecond(_KnownLabels):
    name = "fails-on-second"

    def __init__(self, pairs):
        super().__init__(pairs)
        self._bad = pairs[1][0].metadata["phase"]

    def segment(self, image: ImageVolume) -> LabelVolume:
        if image.metadata["phase"] == self._bad:
            raise SegmentationError("no left ventricle found")
        return super().segment(image)


def test_multiphase_skips_a_phase_that_cannot_be_segmented():
    phases = []
    for k, radius in enumerate((20.0, 17.0, 22.0)):
        a = analytic_lv(**FAST, radius_mm=radius)
        phases.append((a.image.with_array(a.image.array, phase=f"{20 * k}%"), a.labels))
    res = measure_wall_thickness([p[0] for p in phases], segmenter=_FailsOnSecond(phases))
    m = res.measurement
    assert m.phase == "40%"
    assert [p.chosen for p in m.phases] == [False, False, True]
    assert math.isnan(m.phases[1].lv_cavity_volume_ml)


def test_every_segment_has_its_own_uncertainty(result):
    m = result.measurement
    row = m.to_row()
    for s in m.segments:
        assert s.n_points > 0 and math.isfinite(s.uncertainty_mm) and s.uncertainty_mm > 0
        assert row[f"aha_{s.segment}_uncertainty_mm"] == f"{s.uncertainty_mm:.3f}"
    # the same model on fewer lines: a segment is known about as well as its wall or worse
    for wall_u, segs in (
        (m.septal_uncertainty_mm, (2, 3, 8, 9)),
        (m.posterior_uncertainty_mm, (5, 11)),
    ):
        assert min(m.segment(s).uncertainty_mm for s in segs) > 0.8 * wall_u
    back = type(m).from_dict(m.to_dict())
    assert back.segment(9).uncertainty_mm == pytest.approx(m.segment(9).uncertainty_mm)
