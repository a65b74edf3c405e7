"""The loader on real files from ../shared/data (skipped when absent)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from wallthick.errors import DecodeError, InvalidSeriesError
from wallthick.io import discover_series, load_image, load_series, read_pixels

pytestmark = pytest.mark.realdata

LOSSLESS = ["J2KR", "JLSL", "JPLL", "RLE"]
LOSSY = ["J2KI", "JLSN"]


def _load_one(path: Path) -> np.ndarray:
    found = discover_series(path)
    assert len(found) == 1
    return load_series(found[0], min_slices=1).array


@pytest.mark.parametrize("image", ["CT1", "CT2"])
@pytest.mark.parametrize("syntax", LOSSLESS)
def test_nema_lossless_is_pixel_identical(shared_data: Path, image: str, syntax: str) -> None:
    root = shared_data / "dicom" / "nema_wg04"
    ref = _load_one(root / "REF" / f"{image}_UNC")
    np.testing.assert_array_equal(_load_one(root / syntax / f"{image}_{syntax}"), ref)


@pytest.mark.parametrize("image", ["CT1", "CT2"])
@pytest.mark.parametrize("syntax", LOSSY)
def test_nema_lossy_is_close(shared_data: Path, image: str, syntax: str) -> None:
    root = shared_data / "dicom" / "nema_wg04"
    ref = _load_one(root / "REF" / f"{image}_UNC")
    diff = _load_one(root / syntax / f"{image}_{syntax}") - ref
    assert np.sqrt(np.mean(diff**2)) < 0.1 * ref.std()
    if syntax == "JLSN":  # near-lossless JPEG-LS bounds every pixel error
        assert np.abs(diff).max() <= 10


def test_nema_one_series_uid_in_many_encodings_is_refused_not_mixed(shared_data: Path) -> None:
    """CT1 in every syntax shares one SeriesInstanceUID: same positions, lossy ones
    differ, so stacking must refuse rather than silently pick one."""
    found = discover_series(shared_data / "dicom" / "nema_wg04")
    ct1 = [d for d in found if d.usable and d.slice_count > 1]
    assert ct1
    for d in ct1:
        with pytest.raises(InvalidSeriesError, match="same position"):
            load_series(d)


def test_ge_tilted_unevenly_spaced_head_ct(shared_data: Path) -> None:
    root = shared_data / "dicom" / "dcm_qa_ct"
    found = discover_series(root / "In" / "GE")
    assert len(found) == 1 and found[0].usable
    desc = found[0]
    sidecar = json.loads((root / "Ref" / "_2.json").read_text())
    assert desc.modality == sidecar["Modality"] and desc.series_number == sidecar["SeriesNumber"]
    np.testing.assert_allclose(desc.orientation, sidecar["ImageOrientationPatientDICOM"], atol=1e-5)
    assert desc.slice_thickness_mm == sidecar["SliceThickness"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vol = load_series(desc)
    messages = " ".join(str(w.message) for w in caught)
    assert "gantry tilt of 18.50 degrees" in messages and "uneven slice spacing" in messages
    # regular orthogonal grid: rows keep the DICOM row direction, slices follow the table
    np.testing.assert_allclose(
        vol.direction[:, 2], sidecar["ImageOrientationPatientDICOM"][:3], atol=1e-6
    )
    np.testing.assert_allclose(vol.direction[:, 0], [0, 0, 1], atol=1e-6)
    np.testing.assert_allclose(vol.direction.T @ vol.direction, np.eye(3), atol=1e-9)
    # extent: first to last slice position (5.836 .. 157.776 mm), median gap 4.22 mm
    z0, z1 = vol.index_to_world([[0, 0, 0], [vol.shape[0] - 1, 0, 0]])[:, 2]
    assert z0 == pytest.approx(5.836, abs=0.01) and z1 == pytest.approx(157.776, abs=4.22)
    assert vol.spacing_mm[0] == pytest.approx(4.22, abs=0.01)
    # the in-plane field of view (512 x 0.488 mm) projected on the axial plane
    assert vol.shape[2] == 512 and vol.shape[1] == pytest.approx(512 * 0.948, abs=2)
    assert vol.array.max() > 1000  # skull


def test_philips_mixed_sizes_never_stacked(shared_data: Path) -> None:
    root = shared_data / "dicom" / "dcm_qa_ct" / "In" / "Philips"
    found = discover_series(root)
    sizes = [(d.rows, d.columns) for d in found]
    assert len(sizes) == len(set(sizes)) + 1  # the localizer and a capture share 256x512
    for d in found:
        assert d.skip_reason is not None  # localizer and secondary captures only
        with pytest.raises(InvalidSeriesError):
            load_series(d)
    by_folder = [d for d in found if d.files[0].parent.name == "S4010"]
    assert sorted(d.slice_count for d in by_folder) == [3, 3]
    with pytest.raises(InvalidSeriesError, match="no loadable CT series"):
        load_image(root / "S21570" / "S4010")


def test_enhanced_multiframe_ct(shared_data: Path) -> None:
    path = shared_data / "dicom" / "pydicom_data" / "eCT_Supplemental.dcm"
    [desc] = discover_series(path)
    assert desc.multiframe and desc.slice_count == 2 and desc.modality == "CT"
    vol = load_series(desc, min_slices=2)
    assert vol.shape == (2, 512, 512)
    np.testing.assert_allclose(vol.spacing_mm, [10.0, 0.388672, 0.388672])
    np.testing.assert_allclose(vol.direction[:, 2], [-1, 0, 0])
    assert vol.array.min() >= -1024 and vol.array.max() > 0


def test_real_abdomen_series_spacing_from_positions(shared_data: Path) -> None:
    series = shared_data / "real" / "abdomen_ct_dicom" / "series"
    [desc] = discover_series(series)
    assert desc.slice_thickness_mm == 3.0 and desc.slice_count == 20
    vol = load_series(desc)
    assert vol.shape == (20, 512, 512)
    np.testing.assert_allclose(vol.spacing_mm, [2.0, 0.9765625, 0.9765625], atol=1e-4)
    assert vol.metadata["slice_thickness_mm"] == 3.0
    assert vol.array.min() == -1024 and 1000 < vol.array.max() < 3100


def test_real_nifti(shared_data: Path) -> None:
    vol = load_image(shared_data / "real" / "chest_cta" / "ct_heart_crop.nii.gz")
    assert vol.shape == (112, 102, 122)
    np.testing.assert_allclose(vol.spacing_mm, [1.5, 1.5, 1.5])


def test_odd_pydicom_files(shared_data: Path) -> None:
    root = shared_data / "dicom" / "pydicom_data"
    assert read_pixels(root / "explicit_VR-UN.dcm").shape == (1, 512, 512)
    assert read_pixels(root / "bad_sequence.dcm").shape == (1, 512, 512)
    with pytest.raises(InvalidSeriesError, match="emri_small"):
        read_pixels(root / "emri_small_jpeg_2k_lossless_too_short.dcm")
    segs = [d for d in discover_series(root) if "Liver" in d.series_description]
    assert segs and all(d.skip_reason == "segmentation object, not a CT image" for d in segs)


def test_decode_error_type_for_corrupt_compressed_data(tmp_path: Path, shared_data: Path) -> None:
    data = bytearray((shared_data / "dicom" / "nema_wg04" / "J2KR" / "CT1_J2KR").read_bytes())
    start = data.index(b"\xff\x4f\xff\x51")  # J2K codestream: keep the DICOM structure
    data[start : start + 400] = bytes(range(200)) * 2
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(bytes(data))
    with pytest.raises(DecodeError, match="broken.dcm"):
        read_pixels(broken)


def test_direct_native_pixels_match_pydicom(shared_data: Path) -> None:
    """The 16-bit shortcut gives exactly pydicom's pixels wherever it applies."""
    from pydicom.pixels import get_decoder

    from wallthick.io._headers import read_full
    from wallthick.io.dicom import _native_frame

    folders = ["dicom/dcm_qa_ct/In/GE", "dicom/nema_wg04/REF"]
    used = 0
    for path in [p for f in folders for p in sorted((shared_data / f).iterdir())]:
        ds = read_full(path)
        shape = (int(ds.Rows), int(ds.Columns))
        direct = _native_frame(ds, None, shape)
        if direct is None:
            continue
        used += 1
        expected, _ = get_decoder(ds.file_meta.TransferSyntaxUID).as_array(ds, as_rgb=False)
        np.testing.assert_array_equal(direct, expected)
    assert used > 0
