"""The classical segmenter against the phantom's truth labels.

``sample_case(0)`` is a hard case: weakly enhanced RV (about 60 HU above
myocardium), liver of myocardial density under the inferior wall, papillary
muscles and trabeculae. The second case is anisotropic (0.6 mm pixels, 2.5 mm
slices). The third (the demo cohort's subject 3 near end-diastole) has an LV
cavity whose distance map rises through the valve into the larger atrial and
aortic pool without a maximum of its own: the LV must still be found. The
fourth has a 17 mm septum: the RV lies further from the LV than a typical
wall and must still be found (else the septum has no right edge).
"""

from __future__ import annotations

import numpy as np
import pytest

from wallthick.errors import SegmentationError
from wallthick.labels import Label
from wallthick.phantom import PhantomCase, generate_phantom, random_spec, sample_case
from wallthick.segment import segment_heart
from wallthick.volume import LabelVolume


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(1, a.sum() + b.sum()))


@pytest.fixture(
    scope="module",
    params=["weak-rv", "anisotropic", "lv-joined-to-atrium", "hypertrophied-septum"],
)
def segmented(request: pytest.FixtureRequest) -> tuple[PhantomCase, LabelVolume]:
    if request.param == "weak-rv":
        case = sample_case(0)
    elif request.param == "hypertrophied-septum":
        case = generate_phantom(random_spec(12, septal_mm=17.0))
    elif request.param == "lv-joined-to-atrium":
        case = generate_phantom(random_spec(2026002, systolic_fraction=0.05))
    else:
        spec = random_spec(7, slice_spacing_mm=2.5, slices=48, pixel_spacing_mm=0.6, rows=240)
        case = generate_phantom(spec)
    return case, segment_heart(case.image)


def test_dice_against_truth(segmented: tuple[PhantomCase, LabelVolume]) -> None:
    case, labels = segmented
    truth = case.labels.array
    assert labels.geometry.same_grid(case.image.geometry)
    assert _dice(labels.array == Label.LV_BLOOD_POOL, truth == Label.LV_BLOOD_POOL) > 0.97
    assert _dice(labels.array == Label.LV_MYOCARDIUM, truth == Label.LV_MYOCARDIUM) > 0.9
    assert _dice(labels.array == Label.RV_BLOOD_POOL, truth == Label.RV_BLOOD_POOL) > 0.6


def test_volumes_no_leak(segmented: tuple[PhantomCase, LabelVolume]) -> None:
    """No leak into the liver (or the RV): myocardial volume close to the truth."""
    case, labels = segmented
    for lab, rel in ((Label.LV_BLOOD_POOL, 0.03), (Label.LV_MYOCARDIUM, 0.10)):
        assert labels.volume_ml(lab) == pytest.approx(case.labels.volume_ml(lab), rel=rel)


def test_papillary_muscles_and_trabeculae_in_cavity(
    segmented: tuple[PhantomCase, LabelVolume],
) -> None:
    """Voxels darker than the blood/myocardium mid-level inside the true cavity
    (papillary muscles, trabeculae) are labelled cavity, not myocardium."""
    case, labels = segmented
    meta = labels.metadata
    mid = 0.5 * (meta["blood_hu"] + meta["myocardium_hu"])
    from scipy import ndimage

    core = ndimage.binary_erosion(case.labels.array == Label.LV_BLOOD_POOL, iterations=3)
    dark = core & (ndimage.gaussian_filter(case.image.array, 1.0) < mid)
    assert dark.sum() > 50  # the phantom has papillary muscles
    assert np.mean(labels.array[dark] == Label.LV_BLOOD_POOL) > 0.97


def test_diagnostics(segmented: tuple[PhantomCase, LabelVolume]) -> None:
    case, labels = segmented
    meta = labels.metadata
    spec = case.spec
    assert meta["segmenter"] == "classical"
    assert meta["blood_hu"] == pytest.approx(spec.hu_lv_blood, abs=40)
    assert meta["myocardium_hu"] == pytest.approx(spec.hu_myocardium, abs=30)
    contrast = spec.hu_rv_blood - spec.hu_myocardium
    assert meta["rv_contrast_hu"] == pytest.approx(contrast, abs=35)
    weak = any("weak RV enhancement" in w for w in meta["warnings"])
    assert weak == (contrast < 150)


def test_lv_seed_point_gives_the_same_segmentation(
    segmented: tuple[PhantomCase, LabelVolume],
) -> None:
    """Started from a point inside the LV (as an analyst would click), the
    segmenter skips its search and finds the same LV; a point in the lung is
    refused with a message naming it."""
    case, auto = segmented
    truth = case.labels.array == Label.LV_BLOOD_POOL
    inside = case.image.index_to_world(np.argwhere(truth).mean(axis=0))
    seeded = segment_heart(case.image, lv_seed_mm=tuple(inside))
    assert seeded.metadata["lv_seed_mm"] == pytest.approx(list(inside))
    lv = seeded.array == Label.LV_BLOOD_POOL
    assert _dice(lv, auto.array == Label.LV_BLOOD_POOL) > 0.97
    corner = case.image.index_to_world(np.zeros(3))
    with pytest.raises(SegmentationError, match="seed point"):
        segment_heart(case.image, lv_seed_mm=tuple(corner))
