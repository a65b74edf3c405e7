"""A real batch over a tree with good, hostile, corrupt, non-CT and empty series."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import highdicom as hd
import pydicom
import SimpleITK as sitk

from wallthick.batch import load_results, series_output_dir


def test_every_series_is_measured_or_skipped(
    clean_run: Any, batch_tree: Any, helpers: SimpleNamespace
) -> None:
    rows = {
        r["series_instance_uid"]: r for r in helpers.read_rows(clean_run.out / "measurements.csv")
    }
    assert set(rows) == {batch_tree.good_uid, batch_tree.corrupt_uid, batch_tree.hostile_uid}
    assert rows[batch_tree.good_uid]["status"] == "ok"
    assert float(rows[batch_tree.good_uid]["septal_thickness_mm"]) > 3
    assert rows[batch_tree.good_uid]["segmentation_source"] == "auto"
    bad = rows[batch_tree.corrupt_uid]
    assert bad["status"] == "failed" and "truncated" in bad["error"]
    assert bad["septal_thickness_mm"] == "" and bad["patient_id"] == "PAT-C"
    with open(clean_run.out / "skipped.csv", newline="") as fh:
        skipped = list(csv.DictReader(fh))
    assert [(s["series_instance_uid"], s["modality"]) for s in skipped] == [
        (batch_tree.mr_uid, "MR")
    ]
    assert "not CT" in skipped[0]["reason"]
    s = clean_run.summary
    assert (s.n_ok, s.n_failed, len(s.skipped), s.exit_code) == (2, 1, 1, 1)
    assert s.n_rejected_files == 1  # README.txt


def test_series_folders_hold_every_output(clean_run: Any, batch_tree: Any) -> None:
    folder = series_output_dir(clean_run.out, batch_tree.good_uid)
    record = json.loads((folder / "measurement.json").read_text())
    assert record["status"] == "ok" and record["output_schema_version"] == "1.0"
    assert record["measurement"]["series"]["series_instance_uid"] == batch_tree.good_uid
    assert set(record["versions"]) >= {"wallthick", "numpy", "pydicom", "highdicom"}
    assert record["options"]["segmenter"] == "classical"
    for name in ("segmentation.nii.gz", "segmentation_seg.dcm", "qc.png", "log.txt"):
        assert (folder / name).stat().st_size > 0, name
    labels = sitk.ReadImage(str(folder / "segmentation.nii.gz"))
    files = sorted((batch_tree.root / "site1" / "alpha" / "ct").iterdir())
    assert labels.GetSize()[2] == len(files)
    seg = hd.seg.segread(folder / "segmentation_seg.dcm")
    referenced = {
        str(i.ReferencedSOPInstanceUID)
        for s in seg.ReferencedSeriesSequence
        for i in s.ReferencedInstanceSequence
    }
    source = {str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files}
    assert referenced and referenced <= source
    assert seg.SegmentSequence[1].SegmentLabel == "LV myocardium"


def test_hostile_tags_cannot_escape_or_name_files(clean_run: Any, batch_tree: Any) -> None:
    uid = batch_tree.hostile_uid
    folder = series_output_dir(clean_run.out, uid)
    assert folder.parent == clean_run.out and (folder / "measurement.json").is_file()
    names = [p.relative_to(clean_run.out).as_posix() for p in clean_run.out.rglob("*")]
    assert all(".." not in n and "escape" not in n and "Mallory" not in n for n in names)
    assert sorted(p.name for p in clean_run.out.parent.iterdir()) == ["out"]
    assert not Path("/tmp/wt-escape").exists()


def test_nothing_written_into_the_input_tree(
    clean_run: Any, batch_tree: Any, helpers: SimpleNamespace
) -> None:
    assert helpers.snapshot(batch_tree.root) == clean_run.before


def test_no_patient_identifiers_in_logs(clean_run: Any, batch_tree: Any) -> None:
    texts = [p.read_text() for p in clean_run.out.rglob("log.txt")]
    texts.append((clean_run.out / "batch.json").read_text())
    assert len(texts) == 4
    for text in texts:
        for secret in (*batch_tree.secrets, str(batch_tree.root)):
            assert secret not in text


def test_load_results_reads_the_folder_back(clean_run: Any, helpers: SimpleNamespace) -> None:
    results = load_results(clean_run.out)
    rows = helpers.read_rows(clean_run.out / "measurements.csv")
    assert [dict(r.row) for r in results] == rows
    ok = [r for r in results if r.status == "ok"]
    assert len(ok) == 2 and all(r.measurement is not None for r in ok)
    assert all(r.qc_png_path and r.segmentation_path for r in ok)
    good = [r for r in ok if r.row["patient_id"] == "PAT-ALPHA-7731"]
    assert good[0].dicom_seg_path and good[0].folder.name.startswith("series-")
