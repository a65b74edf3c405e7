"""Segmentations made elsewhere, measured from the command line (``--labels``, ``--labels-root``).

One cohort (built once per session) of phantom DICOM series whose truth label
maps are given in every supported way: a TotalSegmentator-valued NIfTI named
after the SeriesInstanceUID, a TotalSegmentator mask folder at the series'
relative path, a DICOM SEG written by our SEG writer, an NRRD listed in a
manifest CSV; plus the series that must fail with a documented message.
The anatomies are the sample phantom's baseline and follow-up visits (two
different hearts, each written as two series).
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from wallthick.batch import series_output_dir
from wallthick.cli.main import main
from wallthick.io import write_dicom_series
from wallthick.labels import Label
from wallthick.results.dicomseg import write_dicom_seg
from wallthick.volume import Geometry, LabelVolume

pytestmark = pytest.mark.slow

#: wallthick label -> TotalSegmentator ``heartchambers_highres`` value.
_TS_VALUE = {Label.LV_BLOOD_POOL: 3, Label.LV_MYOCARDIUM: 1, Label.RV_BLOOD_POOL: 5}
_TS_FILE = {
    Label.LV_BLOOD_POOL: "heart_ventricle_left",
    Label.LV_MYOCARDIUM: "heart_myocardium",
    Label.RV_BLOOD_POOL: "heart_ventricle_right",
}
_GOOD = ("by_uid", "ts_folder", "dicom_seg", "manifest")


@dataclass(frozen=True)
class Cohort:
    input: Path
    labels: Path
    uids: dict[str, str]  # series name -> SeriesInstanceUID
    truth: dict[str, dict[str, Any]]  # series name -> phantom truth
    files: dict[str, Path]  # series name -> its supplied segmentation


def _ts_values(labels: LabelVolume) -> np.ndarray:
    out = np.zeros(labels.shape, np.uint8)
    for lab, value in _TS_VALUE.items():
        out[labels.array == lab] = value
    return out


def _write(path: Path, values: np.ndarray, geometry: Geometry) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(LabelVolume.from_geometry(values, geometry).to_sitk(), str(path), True)
    return path


def _series(root: Path, rel: str, image: Any, patient: str) -> tuple[str, list[Path]]:
    files = write_dicom_series(image, root / rel, info={"patient_id": patient})
    uid = str(pydicom.dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID)
    return uid, files


@pytest.fixture(scope="session")
def labels_cohort(tmp_path_factory: pytest.TempPathFactory, helpers: SimpleNamespace) -> Cohort:
    base = tmp_path_factory.mktemp("labels_cohort")
    inp, lab = base / "input", base / "labels"
    cases = {v: helpers.cropped_case(0, 8, v) for v in ("baseline", "followup")}
    plan = {
        "by_uid": "baseline",
        "ts_folder": "followup",
        "dicom_seg": "baseline",
        "manifest": "followup",
        "no_match": "baseline",
        "misplaced": "baseline",
        "wrong_mapping": "baseline",
        "two_segs": "followup",
    }
    uids, files, truth, dicoms = {}, {}, {}, {}
    for i, (name, visit) in enumerate(plan.items()):
        image, _, t = cases[visit]
        uids[name], dicoms[name] = _series(inp, f"site/{name}/ct", image, f"P{i}")
        truth[name] = t
    geom = cases["baseline"][1].geometry

    def labels_of(name: str) -> LabelVolume:
        return cases[plan[name]][1]

    files["by_uid"] = _write(
        lab / f"{uids['by_uid']}.nii.gz", _ts_values(labels_of("by_uid")), geom
    )
    folder = lab / "site" / "ts_folder" / "ct"
    for label, stem in _TS_FILE.items():
        mask = (labels_of("ts_folder").array == label).astype(np.uint8)
        _write(folder / f"{stem}.nii.gz", mask, labels_of("ts_folder").geometry)
    _write(folder / "heart_atrium_right.nii.gz", np.zeros(geom.shape, np.uint8), geom)
    files["ts_folder"] = folder
    files["dicom_seg"] = lab / "from_pacs" / "seg.dcm"
    files["dicom_seg"].parent.mkdir(parents=True)
    write_dicom_seg(labels_of("dicom_seg"), dicoms["dicom_seg"], files["dicom_seg"])
    files["manifest"] = _write(
        lab / "other" / "m.nrrd", _ts_values(labels_of("manifest")), labels_of("manifest").geometry
    )
    (lab / "manifest.csv").write_text(
        f"series_instance_uid,path\n{uids['manifest']},other/m.nrrd\n", encoding="utf-8"
    )
    far = Geometry(geom.shape, geom.spacing_mm, geom.origin_mm + 400.0, geom.direction)
    files["misplaced"] = _write(
        lab / f"{uids['misplaced']}.nii.gz", _ts_values(labels_of("misplaced")), far
    )
    manual = labels_of("wrong_mapping").array.astype(np.uint8) + 10
    manual[labels_of("wrong_mapping").array == 0] = 0
    files["wrong_mapping"] = _write(lab / f"{uids['wrong_mapping']}.nii.gz", manual, geom)
    for copy in ("a", "b"):
        write_dicom_seg(labels_of("two_segs"), dicoms["two_segs"], lab / f"two_{copy}.dcm")
    return Cohort(inp, lab, uids, truth, files)


def _run(argv: list[str]) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        return main(argv)


@pytest.fixture(scope="session")
def labels_run(labels_cohort: Cohort, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    out = tmp_path_factory.mktemp("labels_run") / "out"
    code = _run(
        [
            "batch", str(labels_cohort.input), "--out", str(out),
            "--labels-root", str(labels_cohort.labels), "--label-mapping", "totalsegmentator",
            "--workers", "2", "--no-progress", "--no-qc", "--no-dicom-seg",
        ]
    )  # fmt: skip
    return SimpleNamespace(out=out, code=code)


def _rows(out: Path, helpers: SimpleNamespace) -> dict[str, dict[str, str]]:
    return {r["series_instance_uid"]: r for r in helpers.read_rows(out / "measurements.csv")}


def _record(out: Path, uid: str) -> dict[str, Any]:
    path = series_output_dir(out, uid) / "measurement.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def test_cohort_truth_label_accuracy(
    labels_cohort: Cohort, labels_run: SimpleNamespace, helpers: SimpleNamespace
) -> None:
    rows = _rows(labels_run.out, helpers)
    assert labels_run.code == 1  # the problem series below fail
    errors = []
    for name, rule in zip(
        _GOOD, ("series-uid", "relative-path", "dicom-seg", "manifest"), strict=True
    ):
        row = rows[labels_cohort.uids[name]]
        assert row["status"] == "ok", (name, row["error"])
        assert (row["segmentation_source"], row["segmenter"]) == ("labels", "labelmap")
        record = _record(labels_run.out, labels_cohort.uids[name])
        assert [s["rule"] for s in record["labels"]] == [rule]
        assert record["options"]["label_mapping"] == "totalsegmentator"
        truth = labels_cohort.truth[name]
        errors += [
            float(row["septal_thickness_mm"]) - truth["septal_thickness_mm"],
            float(row["posterior_wall_thickness_mm"]) - truth["posterior_wall_thickness_mm"],
        ]
    assert np.mean(np.abs(errors)) <= 0.1, errors


def test_problem_series_rows(
    labels_cohort: Cohort, labels_run: SimpleNamespace, helpers: SimpleNamespace
) -> None:
    rows = _rows(labels_run.out, helpers)
    uids = labels_cohort.uids
    expected = {
        "no_match": ("none", r"no segmentation under the labels root .* matches this series"),
        "misplaced": (
            "labels",
            re.escape(labels_cohort.files["misplaced"].name)
            + r" does not overlap \S*misplaced\S* in "
            r"patient space: 0 % of its LV myocardium",
        ),
        "wrong_mapping": (
            "labels",
            r"no LV_MYOCARDIUM and no LV_BLOOD_POOL under the label mapping 'totalsegmentator' "
            r"\(found values: 11, 12, 13",
        ),
        "two_segs": ("none", r"2 DICOM SEGs under the labels root reference"),
    }
    for name, (source, message) in expected.items():
        row = rows[uids[name]]
        assert row["status"] == "failed", name
        assert row["segmentation_source"] == source, name
        assert re.search(message, row["error"]), (name, row["error"])
    record = _record(labels_run.out, uids["wrong_mapping"])
    warned = [w for w in record["warnings"] if re.search(r"values 11, 12, 13\b.* not in the", w)]
    assert warned, record["warnings"]
    assert (
        "Traceback"
        not in (series_output_dir(labels_run.out, uids["misplaced"]) / "log.txt").read_text()
    )


def test_resume_measures_again_when_a_segmentation_changes(
    labels_cohort: Cohort, labels_run: SimpleNamespace, tmp_path: Path, helpers: SimpleNamespace
) -> None:
    out = tmp_path / "out"
    shutil.copytree(labels_run.out, out)
    changed = labels_cohort.files["by_uid"]
    img = sitk.ReadImage(str(changed))
    arr = sitk.GetArrayFromImage(img)
    arr[0, 0, 0] = 5  # one RV voxel more: a new file
    new = sitk.GetImageFromArray(arr)
    new.CopyInformation(img)
    labels = tmp_path / "labels"
    shutil.copytree(labels_cohort.labels, labels)
    sitk.WriteImage(new, str(labels / changed.name), True)
    code = _run(
        [
            "batch", str(labels_cohort.input), "--out", str(out), "--resume",
            "--labels-root", str(labels), "--label-mapping", "totalsegmentator",
            "--workers", "1", "--no-progress", "--no-qc", "--no-dicom-seg",
        ]
    )  # fmt: skip
    assert code == 1
    manifest = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    assert manifest["n_reused"] == len(labels_cohort.uids) - 1
    row = _rows(out, helpers)[labels_cohort.uids["by_uid"]]
    assert row["status"] == "ok"
    record = _record(out, labels_cohort.uids["by_uid"])
    assert (
        record["labels"][0]["sha256"]
        != _record(labels_run.out, labels_cohort.uids["by_uid"])["labels"][0]["sha256"]
    )


def test_fallback_segments_the_unmatched_series(
    labels_cohort: Cohort, tmp_path: Path, helpers: SimpleNamespace
) -> None:
    inp = tmp_path / "input"
    shutil.copytree(labels_cohort.input / "site" / "no_match", inp / "site" / "no_match")
    out = tmp_path / "out"
    code = _run(
        [
            "batch", str(inp), "--out", str(out), "--labels-root", str(labels_cohort.labels),
            "--fallback", "classical", "--workers", "1", "--no-progress", "--no-qc",
            "--no-dicom-seg",
        ]
    )  # fmt: skip
    row = _rows(out, helpers)[labels_cohort.uids["no_match"]]
    assert code == 0, row["error"]
    assert (row["status"], row["segmentation_source"], row["segmenter"]) == (
        "ok",
        "fallback",
        "classical",
    )


def test_own_segmentation_reproduces_the_classical_run(
    batch_tree: Any, clean_run: Any, tmp_path: Path, helpers: SimpleNamespace
) -> None:
    seg = series_output_dir(clean_run.out, batch_tree.good_uid) / "segmentation.nii.gz"
    out = tmp_path / "out"
    code = _run(
        [
            "measure", str(batch_tree.root / "site1" / "alpha" / "ct"), "--labels", str(seg),
            "--out", str(out), "--no-qc", "--no-dicom-seg",
        ]
    )  # fmt: skip
    assert code == 0
    (again,) = helpers.read_rows(out / "measurements.csv")
    first = _rows(clean_run.out, helpers)[batch_tree.good_uid]
    assert (again["segmentation_source"], again["segmenter"]) == ("labels", "labelmap")
    columns = [c for c in first if c.endswith("_mm") and first[c]]
    assert "septal_thickness_mm" in columns and "aha_5_mm" in columns
    for column in columns:
        assert float(again[column]) == pytest.approx(float(first[column]), abs=0.05), column


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["measure", "IN", "--segmenter", "labelmap"], "give 'labels'"),
        (["batch", "IN", "--fallback", "classical"], "'fallback' needs 'labels_root'"),
        (["measure", "IN", "--label-mapping", "nnunet"], "neither a preset"),
        (["measure", "IN", "--labels", "missing.nii.gz"], "'labels' must be an existing file"),
    ],
)
def test_usage_errors(
    argv: list[str], message: str, batch_tree: Any, tmp_path: Path, capsys: Any
) -> None:
    series = str(batch_tree.root / "site1" / "alpha" / "ct")
    argv = [series if a == "IN" else a for a in argv]
    argv = [str(tmp_path / a) if a == "missing.nii.gz" else a for a in argv]
    assert _run([*argv, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
