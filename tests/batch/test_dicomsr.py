"""DICOM SR (TID 1500) beside the SEG: written by ``measure``/``batch``, valid, read back.

One patient, two studies (the sample phantom's baseline and follow-up hearts,
written as DICOM) measured by ``wallthick batch`` from their truth label maps
(``--labels-root``: the SEG and SR are the real outputs, the segmenter is
skipped to keep the tests fast). ``dciodvfy`` (dicom3tools) checks every
object we write; highdicom reads the SRs back.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.sr.codedict import codes

from wallthick.batch import load_measurements_from_sr, load_results
from wallthick.batch.plan import with_time_points
from wallthick.batch.series import SeriesTask
from wallthick.cli.main import main
from wallthick.errors import WallthickError
from wallthick.io import write_dicom_series
from wallthick.measure.result import SeriesInfo
from wallthick.results import CSV_NAME, MEASUREMENT_SR
from wallthick.results.dicomsr import REGIONS, SRContext, tracking_uid, write_measurement_sr

PATIENT = "PAT-SR-0042"
DATES = {"baseline": "20240105", "followup": "20240705"}
DCIODVFY = Path(sys.executable).with_name("dciodvfy")


def _cli(argv: list[str]) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        return main(argv)


@pytest.fixture(scope="module")
def sr_run(tmp_path_factory: pytest.TempPathFactory, helpers: SimpleNamespace) -> SimpleNamespace:
    """``wallthick batch`` over two studies of one patient, labels supplied."""
    base = tmp_path_factory.mktemp("sr_run")
    inp, lab, out = base / "input", base / "labels", base / "out"
    lab.mkdir()
    uids, ct_files = {}, {}
    for visit, date in DATES.items():
        image, labels, _ = helpers.cropped_case(0, 8, visit)
        files = write_dicom_series(
            image,
            inp / visit / "ct",
            info={"patient_id": PATIENT, "study_date": date, "study_time": "093000"},
        )
        uid = str(pydicom.dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID)
        sitk.WriteImage(labels.to_sitk(), str(lab / f"{uid}.nii.gz"), True)
        uids[visit], ct_files[visit] = uid, files
    code = _cli(
        ["batch", str(inp), "--out", str(out), "--labels-root", str(lab),
         "--workers", "1", "--no-progress", "--no-qc"]
    )  # fmt: skip
    results = {r.row["series_instance_uid"]: r for r in load_results(out)}
    return SimpleNamespace(
        out=out, code=code, uids=uids, ct_files=ct_files, labels=lab, results=results
    )


def _result(sr_run: SimpleNamespace, visit: str) -> Any:
    return sr_run.results[sr_run.uids[visit]]


def _dciodvfy(path: Path) -> list[str]:
    if not DCIODVFY.is_file():
        pytest.fail(f"dciodvfy not found next to {sys.executable}: install the dev extra")
    proc = subprocess.run(
        [str(DCIODVFY), "-new", str(path)], capture_output=True, text=True, check=False
    )
    return (proc.stdout + proc.stderr).splitlines()


# -- written by batch, equal to the CSV ----------------------------------------------
def test_batch_writes_an_sr_per_series_equal_to_the_csv(
    sr_run: SimpleNamespace, helpers: SimpleNamespace
) -> None:
    assert sr_run.code == 0
    rows = helpers.read_rows(sr_run.out / CSV_NAME)
    assert len(rows) == 2
    for row in rows:
        stored = sr_run.results[row["series_instance_uid"]]
        assert stored.record.files["dicom_sr"] == MEASUREMENT_SR
        (m,) = load_measurements_from_sr(stored.dicom_sr_path)
        back = m.to_row()
        for wall in ("septal_thickness_mm", "posterior_wall_thickness_mm"):
            assert abs(float(back[wall]) - float(row[wall])) <= 0.01
        for key in row:
            if key != "source_path":
                assert back[key] == row[key], key
        assert back["source_path"] == ""  # no path in the SR


def test_sr_seg_and_ct_pass_dciodvfy(sr_run: SimpleNamespace) -> None:
    stored = _result(sr_run, "followup")
    for path in (stored.dicom_sr_path, stored.dicom_seg_path, sr_run.ct_files["followup"][0]):
        lines = _dciodvfy(path)
        assert lines, path
        errors = [line for line in lines if line.startswith("Error")]
        assert not errors, (path.name, errors)


def test_highdicom_reads_the_sr_back(sr_run: SimpleNamespace) -> None:
    stored = _result(sr_run, "baseline")
    sr = hd.sr.srread(stored.dicom_sr_path)
    seg = pydicom.dcmread(stored.dicom_seg_path, stop_before_pixels=True)
    assert sr.SOPClassUID == pydicom.uid.Comprehensive3DSRStorage
    groups = sr.content.get_volumetric_roi_measurement_groups()
    assert [g.tracking_identifier for g in groups][:3] == [
        "septal wall",
        "posterior wall",
        "AHA segment 1",
    ]
    assert len(groups) == len(REGIONS) == 21
    septal = groups[0]
    ref = septal.referenced_segment
    assert ref.referenced_sop_instance_uid == seg.SOPInstanceUID
    assert ref.referenced_segment_numbers == [2]
    source = ref.source_series_for_segmentation
    assert source.UID == sr_run.uids["baseline"]
    assert septal.finding_sites[0].value.value == "589001"
    (thickness,) = septal.get_measurements(name=codes.DCM.WallThickness)
    assert thickness.unit.value == "mm"
    m = stored.measurement
    assert thickness.value == pytest.approx(m.septal_thickness_mm, abs=1e-9)
    texts = {str(i.TextValue) for i in _walk(sr) if "TextValue" in i}
    assert {"wallthick", "segmenter=labelmap"} <= texts
    device, *person = sr.content.get_observer_contexts()
    assert device.observer_type == codes.DCM.Device and not person


def _walk(ds: Any) -> list[Any]:
    out = []
    for item in ds.get("ContentSequence", []):
        out += [item, *_walk(item)]
    return out


def test_time_points_and_tracking_link_follow_up_to_baseline(sr_run: SimpleNamespace) -> None:
    groups = {}
    for visit in DATES:
        sr = hd.sr.srread(_result(sr_run, visit).dicom_sr_path)
        groups[visit] = sr.content.get_volumetric_roi_measurement_groups()
        items = _walk(sr)
        names = {str(i.ConceptNameCodeSequence[0].CodeMeaning): i for i in items}
        order = names["Time Point Order"].MeasuredValueSequence[0].NumericValue
        assert (names["Time Point"].TextValue, int(order)) == (
            ("baseline", 1) if visit == "baseline" else ("follow-up 1", 2)
        )
        assert PATIENT not in {str(g.tracking_uid) for g in groups[visit]}
    base, follow = groups["baseline"], groups["followup"]
    assert [g.tracking_uid for g in base] == [g.tracking_uid for g in follow]
    assert len({g.tracking_uid for g in base}) == len(REGIONS)
    assert base[0].tracking_uid == tracking_uid(f"patient:{PATIENT}", "septal")


def test_sr_folder_compares_like_the_csv(sr_run: SimpleNamespace, tmp_path: Path) -> None:
    folder = tmp_path / "srs"
    for i, visit in enumerate(DATES):
        (folder / str(i)).mkdir(parents=True)
        shutil.copy(_result(sr_run, visit).dicom_sr_path, folder / str(i) / "report.dcm")
    (folder / "notes.txt").write_text("not DICOM\n")
    assert _cli(["compare", str(sr_run.out / CSV_NAME), "--out", str(tmp_path / "csv.csv")]) == 0
    assert _cli(["compare", str(folder), "--out", str(tmp_path / "sr.csv")]) == 0
    for name in ("{}.csv", "{}_segments.csv"):
        csv_text = (tmp_path / name.format("csv")).read_text()
        assert (tmp_path / name.format("sr")).read_text() == csv_text
    assert "thickened" in csv_text or "thinned" in csv_text or "stable" in csv_text


# -- measure: no time point; a corrected segmentation names its analyst --------------------
def test_measure_writes_sr_without_time_point_and_names_the_corrector(
    sr_run: SimpleNamespace, tmp_path: Path
) -> None:
    series = sr_run.ct_files["baseline"][0].parent
    labels = sr_run.labels / f"{sr_run.uids['baseline']}.nii.gz"
    out = tmp_path / "out"
    argv = ["measure", str(series), "--out", str(out), "--no-qc"]
    assert _cli([*argv, "--labels", str(labels)]) == 0
    (stored,) = load_results(out)
    sr = hd.sr.srread(stored.dicom_sr_path)
    names = {str(i.ConceptNameCodeSequence[0].CodeMeaning) for i in _walk(sr)}
    assert "Time Point" not in names and "Time Point Order" not in names
    shutil.copy(labels, stored.folder / "segmentation_corrected.nii.gz")
    (stored.folder / "correction_provenance.json").write_text('{"analyst": "Doe^Jane"}')
    assert _cli(argv) == 0
    (stored,) = load_results(out)
    assert stored.row["segmentation_source"] == "corrected"
    sr = hd.sr.srread(stored.dicom_sr_path)
    person = [c for c in sr.content.get_observer_contexts() if c.observer_type == codes.DCM.Person]
    assert [str(p.observer_identifying_attributes[0].value) for p in person] == ["Doe^Jane"]
    corrected_seg = pydicom.dcmread(stored.dicom_seg_path, stop_before_pixels=True)
    ref = sr.content.get_volumetric_roi_measurement_groups()[0].referenced_segment
    assert ref.referenced_sop_instance_uid == corrected_seg.SOPInstanceUID
    for path in (stored.dicom_sr_path, stored.dicom_seg_path):  # the corrected SEG's SR
        assert path is not None and "corrected" in str(stored.dicom_seg_path)
        assert not [line for line in _dciodvfy(path) if line.startswith("Error")]
    (m,) = load_measurements_from_sr(stored.dicom_sr_path)
    assert m.segmentation_source == "corrected"
    assert _cli([*argv, "--no-dicom-sr"]) == 0
    (stored,) = load_results(out)
    assert stored.dicom_sr_path is None and stored.record.files["dicom_sr"] is None


# -- honest missing values -----------------------------------------------------------
def test_missing_values_are_unknown_not_zero(sr_run: SimpleNamespace, tmp_path: Path) -> None:
    stored = _result(sr_run, "baseline")
    m = stored.measurement
    m = replace(
        m,
        septal_thickness_mm=math.nan,
        septal_uncertainty_mm=math.nan,
        segments=tuple(s for s in m.segments if s.segment != 17),
        lv_mass_g=math.nan,
        qc_flags=("septal_edge_weak",),
    )
    path = tmp_path / "sr.dcm"
    write_measurement_sr(m, stored.dicom_seg_path, path, context=SRContext(1))
    assert not [line for line in _dciodvfy(path) if line.startswith("Error")]
    (back,) = load_measurements_from_sr(path)
    assert math.isnan(back.septal_thickness_mm) and math.isnan(back.lv_mass_g)
    assert math.isnan(back.segment(17).mean_mm)
    assert back.posterior_wall_thickness_mm == m.posterior_wall_thickness_mm
    assert (back.status, back.qc_flags) == ("qc_failed", ("septal_edge_weak",))
    groups = hd.sr.srread(path).content.get_volumetric_roi_measurement_groups()
    septal, mass = groups[0], groups[REGIONS.index("myocardium")]
    for group in (septal, mass):  # highdicom reads it; no number, an explicit "unknown"
        assert not [m for m in group.get_measurements() if m.name != codes.DCM.TimePointOrder]
        (unknown,) = [e for e in group.get_qualitative_evaluations() if e.value.value == "114010"]
    assert unknown.name == codes.SCT.MassQuantity
    flags = [e.value.meaning for e in septal.get_qualitative_evaluations()]
    assert "septal_edge_weak" in flags


def test_time_points_follow_study_order_within_a_patient() -> None:
    def task(key: str, patient: str, date: str, study: str) -> SeriesTask:
        info = SeriesInfo(patient_id=patient, study_date=date, study_instance_uid=study)
        return SeriesTask(key=key, kind="series", members=(), info=info, folder_uids=(key,))

    tasks = [
        task("a", "P1", "20240301", "s2"),
        task("b", "P1", "20230101", "s1"),
        task("c", "P1", "20240301", "s2"),  # a second series of the same study
        task("d", "P2", "20240101", "s3"),
        task("e", "P3", "", "s4"),  # no study date: no order guessed
        task("f", "P3", "20240101", "s5"),
        task("g", "", "20240101", "s6"),  # no patient
    ]
    order = {t.key: t.time_point for t in with_time_points(tasks)}
    assert order == {"a": 2, "b": 1, "c": 2, "d": 1, "e": 0, "f": 0, "g": 0}


# -- bad input: a clear error naming the file, never a traceback -----------------------
def _other_tool_report(seg: Any) -> Any:
    group = hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier="lesion 1"),
        referenced_segment=hd.sr.ReferencedSegment(
            sop_class_uid=seg.SOPClassUID,
            sop_instance_uid=seg.SOPInstanceUID,
            segment_number=1,
            source_series=hd.sr.SourceSeriesForSegmentation(
                seg.ReferencedSeriesSequence[0].SeriesInstanceUID
            ),
        ),
        algorithm_id=hd.sr.AlgorithmIdentification(name="OtherTool", version="2.0"),
        measurements=[hd.sr.Measurement(codes.SCT.Volume, 12.5, codes.UCUM.CubicMillimeter)],
    )
    return hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(),
        procedure_reported=codes.SCT.ImagingProcedure,
        imaging_measurements=[group],
    )


def _bad_file(kind: str, sr_run: SimpleNamespace, folder: Path) -> Path:
    stored = _result(sr_run, "baseline")
    path = folder / f"{kind}.dcm"
    if kind == "other_tool":
        seg = pydicom.dcmread(stored.dicom_seg_path, stop_before_pixels=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the phantom's one-component patient name
            sr = hd.sr.Comprehensive3DSR(
                evidence=[seg], content=_other_tool_report(seg), series_instance_uid=hd.UID(),
                series_number=1, sop_instance_uid=hd.UID(), instance_number=1,
            )  # fmt: skip
        sr.save_as(path)
    elif kind == "truncated":
        data = stored.dicom_sr_path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "not_sr":
        shutil.copy(stored.dicom_seg_path, path)
    else:
        path.write_bytes(np.random.default_rng(7).bytes(4096))
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("other_tool", "no wallthick wall-thickness measurements"),
        ("truncated", r"incomplete wallthick report \(a truncated file\?\)"),
        ("not_sr", r"not a DICOM Structured Report \(Segmentation Storage\)"),
        ("random", "not a readable DICOM file"),
    ],
)
def test_bad_input_is_refused_naming_the_file(
    kind: str,
    message: str,
    sr_run: SimpleNamespace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _bad_file(kind, sr_run, tmp_path)
    with pytest.raises(WallthickError, match=message) as caught:
        load_measurements_from_sr(path)
    assert str(path) in str(caught.value)
    capsys.readouterr()
    assert _cli(["compare", str(path), "--out", str(tmp_path / "c.csv")]) == 2
    printed = capsys.readouterr()
    assert str(path) in printed.out and message.split(" (")[0].replace("\\", "") in printed.out
    assert "Traceback" not in printed.out + printed.err


def test_folder_with_a_foreign_sr_or_none_is_refused(
    sr_run: SimpleNamespace, tmp_path: Path
) -> None:
    with pytest.raises(WallthickError, match="no DICOM SR found"):
        load_measurements_from_sr(sr_run.labels)
    path = _bad_file("other_tool", sr_run, tmp_path)
    with pytest.raises(WallthickError, match="other_tool.dcm: holds no wallthick"):
        load_measurements_from_sr(tmp_path)
    assert path.is_file()
