"""write_dicom_series: attributes and exact round trips through load_image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from wallthick.io import TRANSFER_SYNTAXES, load_image, write_dicom_series
from wallthick.volume import ImageVolume

AXIAL = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]).T  # slice S, row P, col L


def _volume(shape: tuple[int, int, int] = (4, 33, 34)) -> ImageVolume:
    rng = np.random.default_rng(7)
    array = rng.integers(-1024, 2000, shape).astype(np.float32)
    return ImageVolume(array, (2.5, 0.7, 0.8), (-10.0, 20.0, 30.0), AXIAL)


@pytest.mark.parametrize("syntax", sorted(TRANSFER_SYNTAXES))
def test_round_trip_every_transfer_syntax(tmp_path: Path, syntax: str) -> None:
    vol = _volume()
    paths = write_dicom_series(vol, tmp_path, transfer_syntax=syntax)
    assert len(paths) == 4
    back = load_image(tmp_path)
    np.testing.assert_array_equal(back.array, vol.array)
    np.testing.assert_allclose(back.affine, vol.affine, atol=1e-6)


def test_attributes(tmp_path: Path) -> None:
    vol = _volume()
    info = {"patient_id": "P1", "series_description": "BestDiast 75%", "phase_percent": "75"}
    paths = write_dicom_series(vol, tmp_path, info=info, file_names="instance", start_instance=3)
    assert [p.name for p in paths] == ["IM00003.dcm", "IM00004.dcm", "IM00005.dcm", "IM00006.dcm"]
    ds = pydicom.dcmread(paths[1])
    assert ds.Modality == "CT" and list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert [float(v) for v in ds.PixelSpacing] == [0.7, 0.8]  # (row spacing, column spacing)
    assert [float(v) for v in ds.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
    assert [float(v) for v in ds.ImagePositionPatient] == [-10.0, 20.0, 32.5]
    assert float(ds.SpacingBetweenSlices) == 2.5 and float(ds.SliceThickness) == 2.5
    assert ds.NominalPercentageOfCardiacPhase == 75.0 and ds.PatientID == "P1"
    assert ds.InstanceNumber == 4


def test_values_beyond_int16_use_a_rescale_slope(tmp_path: Path) -> None:
    array = np.linspace(-1e5, 1e6, 48).reshape(3, 4, 4)
    vol = ImageVolume(array, (2, 1, 1), (0, 0, 0), AXIAL)
    write_dicom_series(vol, tmp_path)
    back = load_image(tmp_path)
    np.testing.assert_allclose(back.array, array, atol=20.0)


def test_bad_arguments(tmp_path: Path) -> None:
    vol = _volume()
    with pytest.raises(ValueError, match="unknown keys"):
        write_dicom_series(vol, tmp_path, info={"patient_nam": "x"})
    with pytest.raises(ValueError, match="transfer_syntax"):
        write_dicom_series(vol, tmp_path, transfer_syntax="jpeg-lossy")
    write_dicom_series(vol, tmp_path, file_names="instance")
    with pytest.raises(FileExistsError, match="overwrite"):
        write_dicom_series(vol, tmp_path, file_names="instance")
    small = ImageVolume(np.zeros((2, 8, 8)), (1, 1, 1), (0, 0, 0), AXIAL)
    with pytest.raises(ValueError, match="32x32"):
        write_dicom_series(small, tmp_path / "j2k", transfer_syntax="jpeg2000-lossless")
