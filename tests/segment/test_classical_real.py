"""The classical segmenter on the real CTA (two crops of one scan) and a scan with no heart.

There is no manual truth for the real CT: the checks are plausibility (adult
ranges, a closed myocardial ring) and truth-free invariance (the two crops,
and a copy rotated and resampled to 1.2 x 1.2 x 2 mm, give the same LV).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from wallthick.errors import SegmentationError
from wallthick.labels import Label
from wallthick.segment import segment_heart
from wallthick.segment.labelmap import resample_labels
from wallthick.volume import ImageVolume, LabelVolume

pytestmark = pytest.mark.realdata

MYOCARDIUM_DENSITY_G_PER_ML = 1.05


def _load(shared_data: Path, name: str) -> ImageVolume:
    path = shared_data / "real" / "chest_cta" / name
    return ImageVolume.from_sitk(sitk.ReadImage(str(path)), {"source_path": str(path)})


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(1, a.sum() + b.sum()))


@pytest.fixture(scope="module")
def heart(shared_data: Path) -> tuple[ImageVolume, LabelVolume]:
    image = _load(shared_data, "ct_heart_crop.nii.gz")
    return image, segment_heart(image)


def _rotated_copy(image: ImageVolume, angles_deg: tuple[float, float, float]) -> ImageVolume:
    """``image`` rotated a few degrees and resampled to 1.2 x 1.2 x 2 mm (linear)."""
    from scipy.spatial.transform import Rotation

    src = sitk.Cast(image.to_sitk(), sitk.sitkFloat32)
    spacing = np.array([1.2, 1.2, 2.0])  # ITK order x, y, z
    size = np.ceil(np.array(src.GetSize()) * np.array(src.GetSpacing()) / spacing).astype(int)
    direction = Rotation.from_euler("xyz", angles_deg, degrees=True).as_matrix()
    centre = np.array(
        src.TransformContinuousIndexToPhysicalPoint([(s - 1) / 2 for s in src.GetSize()])
    )
    ref = sitk.Image([int(s) for s in size], sitk.sitkFloat32)
    ref.SetSpacing(tuple(float(s) for s in spacing))
    ref.SetDirection(tuple(direction.ravel()))
    ref.SetOrigin(tuple(centre - direction @ ((size - 1) / 2 * spacing)))
    out = sitk.Resample(src, ref, sitk.Transform(), sitk.sitkLinear, -1000.0)
    return ImageVolume.from_sitk(out)


def test_lv_found_with_plausible_volumes(heart: tuple[ImageVolume, LabelVolume]) -> None:
    image, labels = heart
    assert labels.geometry.same_grid(image.geometry)
    assert labels.array.dtype == np.uint8
    cavity_ml = labels.volume_ml(Label.LV_BLOOD_POOL)
    mass_g = labels.volume_ml(Label.LV_MYOCARDIUM) * MYOCARDIUM_DENSITY_G_PER_ML
    assert 60 < cavity_ml < 250  # adult LV cavity
    assert 70 < mass_g < 250  # adult LV myocardial mass
    assert labels.volume_ml(Label.RV_BLOOD_POOL) > 40
    meta = labels.metadata
    assert meta["segmenter"] == "classical"
    assert meta["blood_hu"] - meta["myocardium_hu"] > 200
    assert meta["rv_contrast_hu"] > 150 and not meta["warnings"]


def test_ring_closed_at_mid_ventricle(heart: tuple[ImageVolume, LabelVolume]) -> None:
    """On short-axis sections through the middle of the LV the myocardium
    surrounds the cavity completely."""
    from scipy import ndimage

    image, labels = heart
    axis = np.asarray(labels.metadata["long_axis"])
    cavity = np.argwhere(labels.array == Label.LV_BLOOD_POOL)
    pts = image.index_to_world(cavity)
    h = (pts - pts.mean(axis=0)) @ axis
    myo_pts = image.index_to_world(np.argwhere(labels.array == Label.LV_MYOCARDIUM))
    h_myo = (myo_pts - pts.mean(axis=0)) @ axis
    for level in np.linspace(np.percentile(h, 30), np.percentile(h, 70), 3):
        # cavity voxels in the slab must not touch background/other labels in-plane
        slab_cav = np.zeros(labels.shape, bool)
        sel = np.abs(h - level) < 1.0
        slab_cav[tuple(cavity[sel].T)] = True
        slab_myo = np.zeros(labels.shape, bool)
        selm = np.abs(h_myo - level) < 3.0
        slab_myo[tuple(np.argwhere(labels.array == Label.LV_MYOCARDIUM)[selm].T)] = True
        outside = ~(ndimage.binary_dilation(slab_cav) & ~slab_cav)
        ring = ndimage.binary_dilation(slab_cav) & ~slab_cav
        assert outside.any()
        enclosed = (labels.array[ring] == Label.LV_MYOCARDIUM) | (
            labels.array[ring] == Label.LV_BLOOD_POOL
        )
        assert enclosed.mean() > 0.97


def test_two_crops_agree(shared_data: Path, heart: tuple[ImageVolume, LabelVolume]) -> None:
    image, labels = heart
    other = segment_heart(_load(shared_data, "ct_aorta_crop.nii.gz"))
    mapped = resample_labels(other, image.geometry)
    for lab in (Label.LV_BLOOD_POOL, Label.LV_MYOCARDIUM):
        assert _dice(mapped == lab, labels.array == lab) > 0.93
        assert other.volume_ml(lab) == pytest.approx(labels.volume_ml(lab), rel=0.07)


def test_rotated_resampled_copy_agrees(heart: tuple[ImageVolume, LabelVolume]) -> None:
    image, labels = heart
    rotated = _rotated_copy(image, (4.0, -3.0, 5.0))
    other = segment_heart(rotated)
    mapped = resample_labels(other, image.geometry)
    assert _dice(mapped == Label.LV_BLOOD_POOL, labels.array == Label.LV_BLOOD_POOL) > 0.93
    assert _dice(mapped == Label.LV_MYOCARDIUM, labels.array == Label.LV_MYOCARDIUM) > 0.88
    for lab in (Label.LV_BLOOD_POOL, Label.LV_MYOCARDIUM):
        assert other.volume_ml(lab) == pytest.approx(labels.volume_ml(lab), rel=0.08)


def test_abdomen_without_heart_is_refused(shared_data: Path) -> None:
    from wallthick.io import load_image

    image = load_image(shared_data / "real" / "abdomen_ct_dicom" / "series")
    with pytest.raises(
        SegmentationError,
        match=r"series: No left ventricle found.*the best wrapped one failed: "
        r"wrapped fraction 0\.\d\d < 0\.45.*heart in the field of view",
    ):
        segment_heart(image)
