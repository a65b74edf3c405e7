"""The reader without a viewer: DICOM folders/files, volume files, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import SimpleITK as sitk
from scipy.spatial.transform import Rotation

from napari_wallthick._convert import META_KEY, napari_affine
from napari_wallthick._reader import napari_get_reader
from wallthick import Geometry, ImageVolume
from wallthick.io import write_dicom_series


def _oblique_ct() -> ImageVolume:
    """A small oblique CT (rows/columns tilted 20 degrees, as in a gantry-free oblique recon)."""
    rot = Rotation.from_euler("x", 20.0, degrees=True).as_matrix()
    direction = rot @ np.eye(3)[:, [2, 1, 0]]  # slice ~ S, row ~ P, column ~ L
    g = Geometry((6, 16, 20), (2.0, 0.8, 0.7), (-30.0, -20.0, 100.0), direction)
    rng = np.random.default_rng(7)
    return ImageVolume.from_geometry(rng.integers(-100, 400, g.shape).astype(np.float32), g)


@pytest.fixture
def dicom_series(tmp_path: Path) -> tuple[Path, ImageVolume]:
    image = _oblique_ct()
    write_dicom_series(image, tmp_path / "series", info={"series_description": "oblique test"})
    return tmp_path / "series", image


def _read(path: Path) -> list[tuple[Any, dict[str, Any], str]]:
    reader = napari_get_reader(str(path))
    assert reader is not None, f"the reader refused {path}"
    return reader(str(path))


def test_dicom_folder_and_single_file_keep_the_oblique_geometry(
    dicom_series: tuple[Path, ImageVolume],
) -> None:
    folder, image = dicom_series
    one_file = sorted(folder.iterdir())[0]
    for path in (folder, one_file):
        ((data, kwargs, kind),) = _read(path)
        assert kind == "image" and np.shape(data) == image.shape
        np.testing.assert_allclose(kwargs["affine"], napari_affine(image.geometry), atol=1e-4)
        meta = kwargs["metadata"][META_KEY]
        assert meta["source"]["series_description"] == "oblique test"
        assert kwargs["name"] == "oblique test"
        np.testing.assert_allclose(np.asarray(data), image.array, atol=0.5)


def test_nifti_file(tmp_path: Path) -> None:
    image = _oblique_ct()
    path = tmp_path / "scan.nii.gz"
    sitk.WriteImage(image.to_sitk(), str(path))
    ((_, kwargs, _),) = _read(path)
    assert kwargs["name"] == "scan"
    np.testing.assert_allclose(kwargs["affine"], napari_affine(image.geometry), atol=1e-4)


def test_reader_declines_what_it_cannot_open(tmp_path: Path) -> None:
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n")
    (tmp_path / "pictures").mkdir()
    (tmp_path / "pictures" / "a.png").write_bytes(b"\x89PNG\r\n")
    assert napari_get_reader(str(tmp_path / "photo.png")) is None
    assert napari_get_reader(str(tmp_path / "pictures")) is None
    assert napari_get_reader([str(tmp_path / "photo.png"), str(tmp_path / "pictures")]) is None
