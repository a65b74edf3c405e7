"""load_series on synthetic series with known answers."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

from wallthick.errors import DecodeError, InvalidSeriesError, WallthickError
from wallthick.io import discover_series, load_image, load_phases, load_series, read_pixels
from wallthick.volume import ImageVolume


def _only(root: Path) -> Any:
    found = discover_series(root)
    assert len(found) == 1, [d.label for d in found]
    return found[0]


def test_order_comes_from_positions_not_instance_numbers(
    tmp_path: Path, write_series: Any, h: Any
) -> None:
    vol = h.linear_hu((6, 8, 9), (1.5, 0.7, 0.6))
    paths = write_series(vol)
    for i, p in enumerate(paths):  # reverse the instance numbers and shuffle names
        h.edit(p, InstanceNumber=str(100 - i))
        p.rename(p.with_name(f"x{(i * 7) % 6}_{i}"))
    back = load_series(_only(tmp_path / "series"))
    np.testing.assert_array_equal(back.array, vol.array)
    np.testing.assert_allclose(back.affine, vol.affine, atol=1e-6)
    assert back.array.dtype == np.float32


def test_rescale_is_applied_per_slice(tmp_path: Path, write_series: Any, h: Any) -> None:
    vol = h.linear_hu((4, 8, 8), (2.0, 1.0, 1.0))
    paths = write_series(vol)
    ds = pydicom.dcmread(paths[2])
    stored = ds.pixel_array.astype(np.int32)
    ds.PixelData = ((stored + 1000) // 2).astype(np.int16).tobytes()  # exact for even values
    ds.RescaleSlope, ds.RescaleIntercept = "2", "-2000"
    ds.save_as(paths[2], enforce_file_format=True)
    back = load_series(_only(tmp_path / "series"))
    expected = vol.array.copy()
    expected[2] = ((stored + 1000) // 2) * 2 - 2000
    np.testing.assert_array_equal(back.array, expected)


def test_metadata_keys(write_series: Any, h: Any, tmp_path: Path) -> None:
    info = {"patient_id": "P7", "series_description": "Cardiac 70%", "study_date": "20240102"}
    write_series(h.linear_hu((3, 4, 4), (1, 1, 1)), info=info)
    back = load_series(_only(tmp_path / "series"))
    meta = back.metadata
    assert {k: meta[k] for k in ("patient_id", "study_date", "phase", "modality")} == {
        "patient_id": "P7",
        "study_date": "20240102",
        "phase": "70%",
        "modality": "CT",
    }
    for key in ("study_time", "study_instance_uid", "series_instance_uid", "series_description"):
        assert key in meta
    assert meta["source_path"] == str(tmp_path / "series")


def test_slight_spacing_jitter_is_warned_and_kept(
    tmp_path: Path, write_series: Any, h: Any
) -> None:
    vol = h.linear_hu((5, 6, 6), (2.0, 1.0, 1.0))
    paths = write_series(vol)
    pos = pydicom.dcmread(paths[2]).ImagePositionPatient
    h.edit(paths[2], ImagePositionPatient=[pos[0], pos[1], float(pos[2]) + 0.1])
    with pytest.warns(UserWarning, match="varies slightly"):
        back = load_series(_only(tmp_path / "series"))
    assert back.shape == vol.shape
    np.testing.assert_allclose(back.spacing_mm, vol.spacing_mm)


def test_uneven_spacing_is_resampled_onto_the_median_gap(
    tmp_path: Path, write_series: Any, h: Any
) -> None:
    vol = h.linear_hu((8, 6, 7), (2.0, 1.0, 1.0))
    paths = write_series(vol)
    paths[3].unlink()  # a missing slice: one 4 mm gap among 2 mm gaps
    with pytest.warns(UserWarning, match="uneven slice spacing"):
        back = load_series(_only(tmp_path / "series"))
    assert back.shape == vol.shape and back.metadata["resampled"]
    np.testing.assert_allclose(back.affine, vol.affine, atol=1e-6)
    # the function is linear, so interpolation across the gap is exact (within rounding)
    np.testing.assert_allclose(back.array, vol.array, atol=1.0)


def test_large_gap_is_refused(tmp_path: Path, write_series: Any, h: Any) -> None:
    paths = write_series(h.linear_hu((10, 4, 4), (1.0, 1.0, 1.0)))
    for p in paths[3:9]:
        p.unlink()
    with pytest.raises(InvalidSeriesError, match="gap of 7.00 mm"):
        load_series(_only(tmp_path / "series"))


def test_gantry_tilt_is_resampled_onto_an_orthogonal_grid(
    tmp_path: Path, write_series: Any, h: Any
) -> None:
    vol = h.linear_hu((12, 10, 10), (2.0, 1.0, 1.0))
    paths = write_series(vol)
    shift = np.tan(np.radians(15.0)) * 2.0  # slices drift along the column direction
    for k, p in enumerate(
        sorted(paths, key=lambda q: float(pydicom.dcmread(q).ImagePositionPatient[2]))
    ):
        pos = [float(v) for v in pydicom.dcmread(p).ImagePositionPatient]
        h.edit(p, ImagePositionPatient=[pos[0], pos[1] + k * shift, pos[2]])
    # the stored values were computed at untilted positions: recompute at tilted ones
    for k, p in enumerate(
        sorted(paths, key=lambda q: float(pydicom.dcmread(q).ImagePositionPatient[2]))
    ):
        ds = pydicom.dcmread(p)
        ds.PixelData = (ds.pixel_array + np.int16(round(3 * k * shift))).astype(np.int16).tobytes()
        ds.save_as(p, enforce_file_format=True)
    with pytest.warns(UserWarning, match="gantry tilt of 15.00 degrees"):
        back = load_series(_only(tmp_path / "series"))
    axis = back.direction[:, 0]
    expected_axis = np.array([0.0, shift, 2.0]) / np.hypot(shift, 2.0)
    np.testing.assert_allclose(axis, expected_axis, atol=1e-6)
    assert abs(back.direction[:, 2] @ np.array([1.0, 0, 0])) > 0.999  # rows stay along x
    inside = back.array > -1024
    idx = np.argwhere(inside)
    err = np.abs(back.array[inside] - h.hu_at(back.index_to_world(idx)))
    assert inside.sum() > 0.5 * back.array.size and err.max() <= 1.5


def test_identical_duplicates_are_dropped_conflicting_ones_refused(
    tmp_path: Path, write_series: Any, h: Any
) -> None:
    vol = h.linear_hu((4, 5, 5), (1.0, 1.0, 1.0))
    paths = write_series(vol)
    copy = paths[1].with_name("copy.dcm")
    ds = pydicom.dcmread(paths[1])
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(copy, enforce_file_format=True)
    with pytest.warns(UserWarning, match="dropped 1 duplicate"):
        back = load_series(_only(tmp_path / "series"))
    np.testing.assert_array_equal(back.array, vol.array)
    ds.PixelData = (ds.pixel_array + 1).astype(np.int16).tobytes()
    ds.save_as(copy, enforce_file_format=True)
    with pytest.raises(InvalidSeriesError, match="two different images at the same position"):
        load_series(_only(tmp_path / "series"))


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"Modality": "MR"}, "modality MR is not CT"),
        ({"ImageType": ["ORIGINAL", "PRIMARY", "LOCALIZER"]}, "localizer/scout"),
        ({"ImageOrientationPatient": None}, "no valid ImageOrientationPatient"),
    ],
)
def test_refusals_name_the_problem(
    tmp_path: Path, write_series: Any, h: Any, attributes: dict[str, Any], message: str
) -> None:
    for p in write_series(h.linear_hu((3, 4, 4), (1, 1, 1))):
        h.edit(p, **attributes)
    desc = _only(tmp_path / "series")
    assert message in (desc.skip_reason or "")
    with pytest.raises(InvalidSeriesError, match=message):
        load_series(desc)


def test_too_few_slices(tmp_path: Path, write_series: Any, h: Any) -> None:
    write_series(h.linear_hu((2, 4, 4), (1, 1, 1)))
    desc = _only(tmp_path / "series")
    with pytest.raises(InvalidSeriesError, match=r"too few slices \(2 < 3\)"):
        load_series(desc)
    assert load_series(desc, min_slices=2).shape == (2, 4, 4)


def test_truncated_file_raises_decode_error(tmp_path: Path, write_series: Any, h: Any) -> None:
    paths = write_series(h.linear_hu((3, 16, 16), (1, 1, 1)))
    desc = _only(tmp_path / "series")
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[:-100])
    with pytest.raises(WallthickError, match=paths[1].name):
        load_series(desc)


def test_file_changed_after_discovery(tmp_path: Path, write_series: Any, h: Any) -> None:
    paths = write_series(h.linear_hu((3, 4, 4), (1, 1, 1)))
    desc = _only(tmp_path / "series")
    h.edit(paths[0], ImagePositionPatient=[0, 0, 99])
    with pytest.raises(InvalidSeriesError, match="changed since discovery"):
        load_series(desc)


def test_missing_decoder_names_the_package(
    tmp_path: Path, write_series: Any, h: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydicom.pixels.decoders.base import Decoder

    write_series(h.linear_hu((3, 32, 32), (1, 1, 1)), transfer_syntax="jpeg2000-lossless")
    monkeypatch.setattr(Decoder, "is_available", property(lambda self: False))
    with pytest.raises(DecodeError, match="pip install pylibjpeg-openjpeg"):
        load_series(_only(tmp_path / "series"))


def test_parallel_decoding_gives_the_same_volume(tmp_path: Path, write_series: Any, h: Any) -> None:
    vol = h.linear_hu((8, 32, 32), (1, 1, 1))
    write_series(vol, transfer_syntax="rle")
    desc = _only(tmp_path / "series")
    np.testing.assert_array_equal(load_series(desc, workers=2).array, vol.array)


def test_multiframe_phases(tmp_path: Path, h: Any) -> None:
    """An enhanced CT with two temporal positions loads phase by phase."""

    path = _enhanced_ct(tmp_path / "mf.dcm")
    desc = _only(path)
    assert desc.multiframe and desc.temporal_positions == 2
    with pytest.raises(InvalidSeriesError, match="load_phases"):
        load_series(desc)
    phases = load_phases(desc)
    assert [v.metadata["phase"] for v in phases] == ["40%", "75%"]
    for value, v in zip((40.0, 75.0), phases, strict=True):
        assert v.shape == (3, 4, 5)
        np.testing.assert_allclose(v.spacing_mm, [2.5, 0.5, 0.6])
        np.testing.assert_array_equal(v.array, value - 1000)


def _enhanced_ct(path: Path) -> Path:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2.1"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.ImageType = "CT", ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Rows, ds.Columns, ds.NumberOfFrames = 4, 5, 6
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    shared = Dataset()
    orient, measures, transform = Dataset(), Dataset(), Dataset()
    orient.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    measures.PixelSpacing, measures.SliceThickness = [0.5, 0.6], 2.5
    transform.RescaleSlope, transform.RescaleIntercept = 1, -1000
    shared.PlaneOrientationSequence = Sequence([orient])
    shared.PixelMeasuresSequence = Sequence([measures])
    shared.PixelValueTransformationSequence = Sequence([transform])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames, pixels = [], []
    for i in range(6):
        phase, z = (75.0, 40.0)[i % 2], (i // 2) * 2.5
        item, pos, card = Dataset(), Dataset(), Dataset()
        pos.ImagePositionPatient = [0, 0, 10 - z]
        card.NominalPercentageOfCardiacPhase = phase
        item.PlanePositionSequence = Sequence([pos])
        item.CardiacSynchronizationSequence = Sequence([card])
        frames.append(item)
        pixels.append(np.full((4, 5), phase, np.int16))
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    ds.PixelData = np.stack(pixels).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def test_read_pixels_and_load_image_on_a_file(tmp_path: Path, write_series: Any, h: Any) -> None:
    vol = h.linear_hu((3, 4, 4), (1, 1, 1))
    paths = write_series(vol)
    assert read_pixels(paths[0]).shape == (1, 4, 4)
    back = load_image(paths[1])
    np.testing.assert_array_equal(back.array, vol.array)


def test_load_image_refuses_ambiguous_folders(tmp_path: Path, write_series: Any, h: Any) -> None:
    write_series(h.linear_hu((3, 4, 4), (1, 1, 1)), name="a")
    write_series(h.linear_hu((3, 4, 4), (1, 1, 1)), name="b")
    with pytest.raises(InvalidSeriesError, match="2 CT series found"):
        load_image(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidSeriesError, match="no loadable CT series"):
        load_image(tmp_path / "empty")


def test_load_volume_file_round_trip(tmp_path: Path, h: Any) -> None:
    import SimpleITK as sitk

    vol = h.linear_hu((3, 4, 5), (2.0, 0.5, 0.7))
    sitk.WriteImage(vol.to_sitk(), str(tmp_path / "v.nii.gz"))
    back = load_image(tmp_path / "v.nii.gz")
    np.testing.assert_array_equal(back.array, vol.array)
    np.testing.assert_allclose(back.affine, vol.affine, atol=1e-5)
    (tmp_path / "bad.nrrd").write_text("not a volume")
    with pytest.raises(InvalidSeriesError, match="bad.nrrd"):
        load_image(tmp_path / "bad.nrrd")


def test_no_warning_for_a_clean_series(tmp_path: Path, write_series: Any, h: Any) -> None:
    write_series(h.linear_hu((3, 4, 4), (1, 1, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(load_series(_only(tmp_path / "series")), ImageVolume)
