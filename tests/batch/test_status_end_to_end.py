"""``status`` end to end: a QC-flagged series, or one with a wall value missing,
never says ``ok`` in the batch's records, its summary or ``measurements.csv``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from wallthick.batch import BatchOptions, run_batch
from wallthick.io import write_dicom_series
from wallthick.labels import Label
from wallthick.results import RECORD_NAME
from wallthick.volume import LabelVolume

pytestmark = pytest.mark.slow

_WALLS = (
    "septal_thickness_mm",
    "septal_uncertainty_mm",
    "posterior_wall_thickness_mm",
    "posterior_uncertainty_mm",
)


def _tiny_cavity(labels: LabelVolume) -> LabelVolume:
    """The truth labels with the LV cavity cut down to a 12 mm ball around its
    centre (a lobe of the cavity, as a failed segmentation gives)."""
    a = labels.array.copy()
    cav = np.argwhere(a == Label.LV_BLOOD_POOL)
    world = labels.index_to_world(cav)
    far = np.linalg.norm(world - world.mean(axis=0), axis=1) > 6.0
    a[tuple(cav[far].T)] = Label.BACKGROUND
    return LabelVolume.from_geometry(a, labels.geometry)


def _records(out: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in out.glob(f"*/{RECORD_NAME}")]


def test_flagged_and_incomplete_rows_are_never_ok(tmp_path: Path, helpers: SimpleNamespace) -> None:
    image, labels, _ = helpers.cropped_case(0, 8, "baseline")
    inp, lab_root, out = tmp_path / "in", tmp_path / "labels", tmp_path / "out"
    uids = {}
    for name, lab in (("good", labels), ("broken", _tiny_cavity(labels))):
        files = write_dicom_series(image, inp / name, info={"patient_id": name.upper()})
        uid = str(pydicom.dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID)
        uids[name] = uid
        lab_root.mkdir(exist_ok=True)
        sitk.WriteImage(lab.to_sitk(), str(lab_root / f"{uid}.nii.gz"), True)
    opts = BatchOptions(workers=1, write_qc=False, write_dicom_seg=False, labels_root=str(lab_root))
    summary = run_batch(inp, out, opts)
    rows = helpers.read_rows(out / "measurements.csv")
    by_uid = {r["series_instance_uid"]: r for r in rows}
    assert set(by_uid) == set(uids.values())
    for row in rows:  # the contract, for every row
        present = all(row[c] != "" and math.isfinite(float(row[c])) for c in _WALLS)
        if row["status"] == "ok":
            assert present and row["qc_flags"] == ""
        else:
            assert row["qc_flags"] or row["error"]
    assert by_uid[uids["good"]]["status"] == "ok"
    broken = by_uid[uids["broken"]]
    assert broken["status"] in ("qc_failed", "failed")  # refused, one way or the other
    assert summary.n_ok == 1 and summary.exit_code == 1
    records = {r["row"]["series_instance_uid"]: r for r in _records(out)}
    for uid, row in by_uid.items():  # the record and the CSV say the same
        assert records[uid]["status"] == row["status"]
