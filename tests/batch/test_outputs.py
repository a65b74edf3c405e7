"""Results-folder primitives: hashed names, atomic writes, CSV, DICOM SEG."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest

from wallthick.io import load_image, write_dicom_series
from wallthick.labels import Label
from wallthick.measure.result import CSV_COLUMNS
from wallthick.results import (
    atomic_write,
    atomic_write_json,
    series_output_dir,
    sort_rows,
    write_csv,
)
from wallthick.results.dicomseg import write_dicom_seg
from wallthick.volume import ImageVolume, LabelVolume

AXIAL = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]).T


@pytest.mark.parametrize(
    "uid", ["1.2.3", "../../etc/passwd", "a/b\\c", "..", "/abs/path", "Doe^John", "x" * 500]
)
def test_series_folder_is_a_hash_inside_out_dir(tmp_path: Path, uid: str) -> None:
    folder = series_output_dir(tmp_path, uid)
    assert folder.parent == tmp_path
    assert folder.name.startswith("series-") and len(folder.name) == 31
    assert all(c in "0123456789abcdef" for c in folder.name[7:])
    assert series_output_dir(tmp_path, uid) == folder  # stable


def test_series_folder_rejects_empty_uid(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="series_key"):
        series_output_dir(tmp_path, "")


def test_atomic_write_leaves_old_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    atomic_write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == '{\n  "v": 1\n}\n'
    assert sorted(os.listdir(tmp_path)) == ["a.json"]


def test_atomic_write_keeps_suffixes(tmp_path: Path) -> None:
    with atomic_write(tmp_path / "seg.nii.gz") as tmp:
        assert tmp.name.endswith(".nii.gz") and tmp.parent == tmp_path
        tmp.write_bytes(b"x")
    assert (tmp_path / "seg.nii.gz").read_bytes() == b"x"


def test_csv_has_the_schema_columns_in_order(tmp_path: Path) -> None:
    rows = [
        {"patient_id": "B", "study_date": "20200101", "status": "ok"},
        {"patient_id": "A", "study_date": "20210101", "status": "failed", "error": 'a, "b"\nc'},
    ]
    write_csv(tmp_path / "m.csv", sort_rows(rows), CSV_COLUMNS)
    with open(tmp_path / "m.csv", newline="") as fh:
        back = list(csv.DictReader(fh))
    assert tuple(back[0]) == CSV_COLUMNS
    assert [r["patient_id"] for r in back] == ["A", "B"]
    assert back[0]["error"] == 'a, "b"\nc'


def test_dicom_seg_references_the_source_images(tmp_path: Path) -> None:
    vol = ImageVolume(np.zeros((12, 40, 40), np.float32), (2.0, 0.7, 0.7), (-5, 20, 30), AXIAL)
    files = write_dicom_series(vol, tmp_path / "ct")
    img = load_image(tmp_path / "ct")
    lab = np.zeros(img.shape, np.uint8)
    lab[3:9, 10:30, 10:30] = Label.LV_MYOCARDIUM
    lab[4:8, 14:26, 14:26] = Label.LV_BLOOD_POOL
    lab[3:6, 30:38, 10:20] = Label.RV_BLOOD_POOL
    labels = LabelVolume(lab, img.spacing_mm, img.origin_mm, img.direction)
    write_dicom_seg(labels, files, tmp_path / "seg.dcm")
    seg = hd.seg.segread(tmp_path / "seg.dcm")
    assert [d.SegmentLabel for d in seg.SegmentSequence] == [
        "LV cavity (blood pool)",
        "LV myocardium",
        "RV cavity (blood pool)",
    ]
    myo = seg.SegmentSequence[1].SegmentedPropertyTypeCodeSequence[0]
    assert (myo.CodeValue, myo.CodingSchemeDesignator) == ("49848007", "SCT")
    import pydicom

    headers = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    slab = [  # the images of slices 3-8, where the labels are: the SEG's only frames
        str(h.SOPInstanceUID)
        for h in headers
        if 3 <= int(round(img.world_to_index(np.asarray(h.ImagePositionPatient, float))[0])) <= 8
    ]
    referenced = {
        str(i.ReferencedSOPInstanceUID)
        for s in seg.ReferencedSeriesSequence
        for i in s.ReferencedInstanceSequence
    }
    assert len(slab) == 6 and referenced == set(slab)
    positions = {
        tuple(f.PlanePositionSequence[0].ImagePositionPatient)
        for f in seg.PerFrameFunctionalGroupsSequence
    }
    assert len(positions) == 6  # no empty frame
    assert (seg.Rows, seg.Columns) == (40, 40)  # pixel-aligned with the CT images
    volume = seg.get_volume(combine_segments=True)
    assert int((volume.array == Label.LV_MYOCARDIUM).sum()) == int(
        (lab == Label.LV_MYOCARDIUM).sum()
    )
