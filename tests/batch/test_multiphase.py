"""A multiphase study is one task and one row: the end-diastolic phase, with its phase."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pydicom
from pydicom.uid import generate_uid

from wallthick.batch import BatchOptions, measure_to_folder, series_output_dir


def _phase_copy(src: Path, dst: Path, percent: int, series_uid: str) -> None:
    dst.mkdir(parents=True)
    for f in sorted(src.iterdir()):
        ds = pydicom.dcmread(f)
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.NominalPercentageOfCardiacPhase = percent
        ds.SeriesDescription = f"Cardiac {percent}%"
        ds.save_as(dst / f.name, enforce_file_format=True)


def test_phases_give_one_row_at_end_diastole(
    batch_tree: Any, tmp_path: Path, helpers: SimpleNamespace
) -> None:
    study = tmp_path / "study"
    uids = {0: generate_uid(), 70: generate_uid()}
    for percent, uid in uids.items():
        _phase_copy(batch_tree.root / "site1" / "alpha" / "ct", study / f"p{percent}", percent, uid)
    out = tmp_path / "out"
    summary = measure_to_folder(study, out, BatchOptions(write_qc=False, write_dicom_seg=False))
    assert (summary.n_ok, summary.n_failed) == (1, 0)
    (row,) = helpers.read_rows(out / "measurements.csv")
    record = json.loads(
        (series_output_dir(out, row["series_instance_uid"]) / "measurement.json").read_text()
    )
    phases = record["phases"]
    assert {p["series_instance_uid"] for p in phases} == set(uids.values())
    (chosen,) = [p for p in phases if p["chosen"]]
    assert row["series_instance_uid"] == chosen["series_instance_uid"]
    assert row["phase"] == chosen["phase"] in ("0%", "70%")
    assert chosen["lv_cavity_volume_ml"] == max(p["lv_cavity_volume_ml"] for p in phases)
    assert record["task_kind"] == "phases"
