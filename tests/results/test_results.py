"""wallthick.results: series keys, records, label maps and headless corrections."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from wallthick import Geometry, ImageVolume, Label, LabelVolume, WallthickError
from wallthick.io import discover_series, load_series, write_dicom_series
from wallthick.measure.result import SeriesInfo, failed_row
from wallthick.measure.synthetic import analytic_lv
from wallthick.results import (
    CORRECTED_NIFTI,
    SEGMENTATION_NIFTI,
    RecordError,
    SeriesRecord,
    find_series_folder,
    image_series_key,
    read_labels,
    read_record,
    save_correction,
    series_keys,
    series_output_dir,
    write_correction,
    write_labels,
    write_record,
)

UID = "1.2.826.0.1.3680043.8.498.424242"


@pytest.fixture
def split_uid(tmp_path: Path) -> Path:
    """One folder, one SeriesInstanceUID, two geometries: discovery makes two series."""
    root = tmp_path / "in" / "ct"
    for shape, spacing in (((6, 20, 24), (2.0, 0.8, 0.8)), ((6, 16, 16), (2.0, 1.0, 1.0))):
        vol = ImageVolume(np.zeros(shape, np.float32), spacing, (0, 0, 0), np.eye(3))
        write_dicom_series(vol, root, info={"series_instance_uid": UID})
    return root


def test_series_keys_number_a_split_uid_by_first_file(split_uid: Path) -> None:
    found = list(discover_series(split_uid))
    keys = series_keys(found)
    assert sorted(keys) == [f"{UID}#1", f"{UID}#2"]
    first = min(range(2), key=lambda i: str(found[i].files[0]))
    assert keys[first] == f"{UID}#1"


def test_a_scan_of_a_split_uid_finds_its_own_folder(split_uid: Path, tmp_path: Path) -> None:
    found = list(discover_series(split_uid))
    keys = series_keys(found)
    out = tmp_path / "results"
    for desc, key in zip(found, keys, strict=True):
        image = load_series(desc)
        # no records yet: the key is computed as the batch computes it
        assert find_series_folder(out, image) == series_output_dir(out, key)
    for desc, key in zip(found, keys, strict=True):  # records and their segmentations
        folder = series_output_dir(out, key)
        image = load_series(desc)
        write_labels(
            LabelVolume.from_geometry(np.zeros(image.shape, np.uint8), image.geometry),
            folder / SEGMENTATION_NIFTI,
        )
        row = {"series_instance_uid": UID, "status": "failed"}
        write_record(folder, SeriesRecord(f"series:{key}", "series", (key,), "failed", row))
    for desc, key in zip(found, keys, strict=True):
        assert find_series_folder(out, load_series(desc)) == series_output_dir(out, key)


def test_image_series_key_uses_uid_then_file(tmp_path: Path) -> None:
    g = Geometry((2, 3, 4), (1.0, 1.0, 1.0), (0, 0, 0), np.eye(3))
    dicom_like = ImageVolume.from_geometry(np.zeros(g.shape), g, {"series_instance_uid": "1.2.3"})
    assert image_series_key(dicom_like) == "1.2.3"
    path = tmp_path / "scan.nii.gz"
    from_file = ImageVolume.from_geometry(np.zeros(g.shape), g, {"source_path": str(path)})
    assert image_series_key(from_file) == f"file:{path}"
    with pytest.raises(WallthickError, match="cannot be named"):
        image_series_key(ImageVolume.from_geometry(np.zeros(g.shape), g))


def test_record_round_trips_through_json(tmp_path: Path) -> None:
    error = RecordError("InvalidSeriesError", "x: broken", "x: broken", ("c",), True)
    row = failed_row(SeriesInfo(series_instance_uid="1.2"), "x: broken")
    record = SeriesRecord(
        "series:1.2", "series", ("1.2",), "failed", row, error=error,
        labels=({"rule": "uid", "sha256": "ab"},), options={"segmenter": "classical"},
        warnings=("UserWarning: w",), elapsed_s=1.5, finished_utc="2026-12-08T00:00:00+00:00",
    )  # fmt: skip
    write_record(tmp_path, record)
    back = read_record(tmp_path)
    assert back is not None and back.to_json() == record.to_json()
    assert back.error == error and back.labels == record.labels
    (tmp_path / "measurement.json").write_text(json.dumps({"status": "running", "row": {}}))
    assert read_record(tmp_path) is None  # incomplete: never reused
    with pytest.raises(ValueError, match="status"):
        SeriesRecord("k", "series", (), "done", {})


def test_read_labels_checks_the_file(tmp_path: Path) -> None:
    g = Geometry((3, 4, 5), (2.0, 0.7, 0.7), (1.0, 2.0, 3.0), np.eye(3))
    labels = LabelVolume.from_geometry(np.arange(60, dtype=np.uint8).reshape(g.shape) % 6, g)
    back = read_labels(write_labels(labels, tmp_path / "ok.nii.gz"))
    assert back.geometry.same_grid(g) and np.array_equal(back.array, labels.array)
    for name, array in (("float", np.full(g.shape, 1.5)), ("big", np.full(g.shape, 300.0))):
        sitk.WriteImage(
            ImageVolume.from_geometry(array, g).to_sitk(), str(tmp_path / f"{name}.nii.gz")
        )
    with pytest.raises(WallthickError, match=r"float\.nii\.gz: not an integer label map"):
        read_labels(tmp_path / "float.nii.gz")
    with pytest.raises(WallthickError, match=r"big\.nii\.gz: label values must lie in 0-255"):
        read_labels(tmp_path / "big.nii.gz")
    (tmp_path / "junk.nii.gz").write_bytes(b"not an image")
    with pytest.raises(WallthickError, match=r"junk\.nii\.gz: the label map cannot be read"):
        read_labels(tmp_path / "junk.nii.gz")
    with pytest.raises(WallthickError, match="not found"):
        read_labels(tmp_path / "missing.nii.gz")


def test_save_correction_headless_measures_and_records_provenance(tmp_path: Path) -> None:
    lv = analytic_lv(spacing_mm=(1.5, 1.2, 1.2))
    myo = lv.labels.array == Label.LV_MYOCARDIUM
    grown = ndimage.binary_dilation(myo) & (lv.labels.array == Label.BACKGROUND)
    fixed = lv.labels.array.copy()
    fixed[grown] = Label.LV_MYOCARDIUM  # the analyst thickens every outer wall by one voxel
    corrected = LabelVolume.from_geometry(fixed, lv.labels.geometry)
    folder = tmp_path / "results" / "series-x"
    image = lv.image.with_array(lv.image.array, source_path=str(tmp_path / "scan"))

    saved = save_correction(folder, corrected, image, automatic=lv.labels, analyst="A. Analyst")

    assert set(saved.files) == {"segmentation", "segmentation_corrected", "correction_provenance"}
    assert np.array_equal(read_labels(folder / CORRECTED_NIFTI).array, fixed)
    prov = json.loads((folder / "correction_provenance.json").read_text())
    assert prov["analyst"] == "A. Analyst" and prov["voxels_changed"] == int(grown.sum())
    assert prov["voxels_by_label"]["LV_MYOCARDIUM"] == {"added": int(grown.sum()), "removed": 0}
    before, after = prov["before"], prov["after"]
    assert before["posterior_wall_thickness_mm"] == pytest.approx(lv.free_wall_mm, abs=0.3)
    # the CT is unchanged, so edge refinement pulls the grown edge back by up to half a voxel
    assert after["posterior_wall_thickness_mm"] > before["posterior_wall_thickness_mm"] + 0.2
    assert prov["source_path"] == str(tmp_path / "scan")
    assert saved.result.measurement.segmentation_source == "corrected"
    with pytest.raises(WallthickError, match="identical to the automatic"):
        save_correction(folder, lv.labels, image)  # the folder's automatic labels are found
    again = write_correction(folder, corrected, lv.labels, prov)
    assert "segmentation" not in again  # the automatic segmentation is never overwritten
