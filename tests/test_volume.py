from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from scipy.spatial.transform import Rotation

from wallthick import Geometry, ImageVolume, Label, LabelVolume


def _oblique(seed: int) -> np.ndarray:
    return Rotation.random(random_state=seed).as_matrix()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sitk_round_trip_is_exact(seed: int) -> None:
    rng = np.random.default_rng(seed)
    arr = rng.integers(-1024, 2000, size=(5, 7, 9)).astype(np.int16)
    vol = ImageVolume(arr, (2.5, 0.7, 0.4), rng.normal(size=3) * 100, _oblique(seed))
    img = vol.to_sitk()
    assert img.GetSize() == (9, 7, 5)  # ITK is (x=column, y=row, z=slice)
    assert img.GetSpacing() == pytest.approx((0.4, 0.7, 2.5))
    back = ImageVolume.from_sitk(img)
    np.testing.assert_array_equal(back.array, arr)
    np.testing.assert_allclose(back.affine, vol.affine, atol=1e-12)
    # the same voxel maps to the same world point in ITK and in wallthick
    idx = (3, 2, 4)
    itk_pt = img.TransformIndexToPhysicalPoint((idx[2], idx[1], idx[0]))
    np.testing.assert_allclose(vol.index_to_world(idx), itk_pt, atol=1e-9)


def test_world_index_inverse() -> None:
    g = Geometry((4, 5, 6), (1.5, 0.5, 0.8), (10, -20, 30), _oblique(3))
    idx = np.array([[1.2, 3.3, 0.5], [0, 0, 0]])
    np.testing.assert_allclose(g.world_to_index(g.index_to_world(idx)), idx, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"spacing_mm": (1, 0, 1)}, "spacing_mm.*> 0"),
        ({"spacing_mm": (1, 1)}, "spacing_mm.*3 elements"),
        ({"direction": np.ones((3, 3))}, "orthonormal"),
        ({"origin_mm": (0, np.nan, 0)}, "origin_mm.*finite"),
    ],
)
def test_invalid_geometry_is_refused(kwargs: dict, match: str) -> None:
    args = {"spacing_mm": (1, 1, 1), "origin_mm": (0, 0, 0), "direction": np.eye(3)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ImageVolume(np.zeros((2, 2, 2)), **args)


def test_array_must_be_3d() -> None:
    with pytest.raises(ValueError, match="3-D"):
        ImageVolume(np.zeros((2, 2)), (1, 1, 1), (0, 0, 0), np.eye(3))


def test_labels_need_integers_and_measure_volume() -> None:
    with pytest.raises(TypeError, match="integers"):
        LabelVolume(np.zeros((2, 2, 2)), (1, 1, 1), (0, 0, 0), np.eye(3))
    arr = np.zeros((10, 10, 10), np.uint8)
    arr[:5] = Label.LV_BLOOD_POOL
    lab = LabelVolume(arr, (2, 1, 1), (0, 0, 0), np.eye(3))
    assert lab.volume_ml(Label.LV_BLOOD_POOL) == pytest.approx(500 * 2 / 1000)
    back = LabelVolume.from_sitk(lab.to_sitk())
    np.testing.assert_array_equal(back.array, arr)


def test_sitk_lps_from_nifti_convention(tmp_path) -> None:
    """A NIfTI written by ITK reloads with the same LPS geometry."""
    vol = ImageVolume(
        np.arange(24, dtype=np.int16).reshape(2, 3, 4), (2, 1, 0.5), (5, 6, 7), _oblique(9)
    )
    path = str(tmp_path / "v.nii.gz")
    sitk.WriteImage(vol.to_sitk(), path)
    back = ImageVolume.from_sitk(sitk.ReadImage(path))
    np.testing.assert_allclose(back.affine, vol.affine, atol=1e-5)
    np.testing.assert_array_equal(back.array, vol.array)
