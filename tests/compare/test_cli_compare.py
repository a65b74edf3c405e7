from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from wallthick.cli.main import main
from wallthick.compare import COMPARISON_COLUMNS
from wallthick.errors import WallthickError
from wallthick.measure.result import CSV_COLUMNS, Measurement, SeriesInfo
from wallthick.report.tables import read_comparison_csv, read_measurements


def _m(pid: str, day: str, sept: float, post: float, uid: str) -> Measurement:
    return Measurement(
        sept,
        0.25,
        post,
        0.3,
        (),
        110.0,
        140.0,
        series=SeriesInfo(
            patient_id=pid, study_date=day, study_time="101500", series_instance_uid=uid
        ),
    )


def _write_table(path: Path, measurements: list[Measurement]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS))
        w.writeheader()
        for m in measurements:
            w.writerow(m.to_row())


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "measurements.csv"
    _write_table(
        path,
        [
            _m("A", "20240101", 10.0, 9.0, "1.1"),
            _m("A", "20240401", 12.0, 9.1, "1.2"),
            _m("B", "20240101", 8.0, 8.0, "2.1"),
            _m("B", "20240701", 6.5, 8.2, "2.2"),
        ],
    )
    return path


def test_compare_cli_writes_table(
    table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "comparison.csv"
    assert main(["compare", str(table), "--out", str(out)]) == 0
    with out.open() as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == COMPARISON_COLUMNS
    rows = read_comparison_csv(out)
    assert [(r.patient_id, r.wall, r.flag) for r in rows] == [
        ("A", "septal", "thickened"),
        ("A", "posterior", "stable"),
        ("B", "septal", "thinned"),
        ("B", "posterior", "stable"),
    ]
    assert "2 pair(s), 4 wall comparison(s)" in capsys.readouterr().out


def test_compare_cli_folder_and_options(table: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.csv"
    # folder input, a floor above every change: all stable
    assert main(["compare", str(table.parent), "-o", str(out), "--floor-mm", "3"]) == 0
    assert {r.flag for r in read_comparison_csv(out)} == {"stable"}
    assert {r.threshold_mm for r in read_comparison_csv(out)} == {3.0}
    # explicit baseline found only for patient A -> B not compared, exit 1
    assert main(["compare", str(table), "-o", str(out), "--baseline", "1.2"]) == 1
    reasons = {r.patient_id: r.reason for r in read_comparison_csv(out)}
    assert reasons["B"].startswith("missing baseline")


def test_compare_cli_two_json_records(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_m("A", "20240101", 10.0, 9.0, "1.1").to_dict()))
    m = _m("A", "20240601", 11.5, 9.0, "1.2")
    b.write_text(json.dumps({"status": "ok", "row": m.to_row(), "measurement": m.to_dict()}))
    assert read_measurements(b)[0]["series_instance_uid"] == "1.2"
    out = tmp_path / "pair.csv"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0
    assert [r.flag for r in read_comparison_csv(out)] == ["thickened", "stable"]


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "missing.csv", "--out", "x.csv"],
        ["compare", "a.csv", "--out", "x.csv", "--floor-mm", "-1"],
        ["compare", "a.csv", "--out", "x.csv", "--confidence", "2"],
        ["compare", "a.csv", "b.csv", "c.csv", "--out", "x.csv"],
    ],
)
def test_compare_cli_usage_errors(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.csv").write_text("x\n1\n")
    (tmp_path / "c.csv").write_text("x\n1\n")
    assert main(argv) == 2
    assert not (tmp_path / "x.csv").exists()


def test_not_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    assert main(["compare", str(tmp_path / "a.csv"), "--out", str(tmp_path / "x.csv")]) == 2
    assert "columns series_instance_uid, septal_thickness_mm are missing" in capsys.readouterr().out


def test_other_major_schema_is_refused(tmp_path: Path) -> None:
    m = _m("A", "20240101", 10.0, 9.0, "1.1").to_row()
    m["schema_version"] = "2.0"
    path = tmp_path / "measurements.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS))
        w.writeheader()
        w.writerow(m)
    with pytest.raises(WallthickError, match="schema_version 2.0 is not supported"):
        read_measurements(path)


def test_compare_cli_include_qc_failed(tmp_path: Path) -> None:
    from dataclasses import replace

    path = tmp_path / "measurements.csv"
    flagged = replace(_m("A", "20240401", 12.0, 9.1, "1.2"), qc_flags=("long_axis",))
    _write_table(path, [_m("A", "20240101", 10.0, 9.0, "1.1"), flagged])
    out = tmp_path / "c.csv"
    assert main(["compare", str(path), "--out", str(out)]) == 1
    assert {r.flag for r in read_comparison_csv(out)} == {"not_compared"}
    assert main(["compare", str(path), "--out", str(out), "--include-qc-failed"]) == 0
    rows = read_comparison_csv(out)
    assert [r.flag for r in rows if r.wall == "septal"] == ["thickened"]
    assert all("compared on request" in r.note for r in rows)


def test_compare_cli_writes_the_segment_table(table: Path, tmp_path: Path) -> None:
    from wallthick.report.tables import read_segment_comparison_csv

    out = tmp_path / "comparison.csv"
    assert main(["compare", str(table), "--out", str(out)]) == 0
    segs = read_segment_comparison_csv(tmp_path / "comparison_segments.csv")
    assert len(segs) == 2 * 17  # two pairs; these rows have no segment values
    assert {c.flag for c in segs} == {"not_compared"}
    assert all(c.reason.startswith("missing value: baseline aha_") for c in segs)
    custom = tmp_path / "elsewhere.csv"
    assert main(["compare", str(table), "--out", str(out), "--segments-out", str(custom)]) == 0
    assert len(read_segment_comparison_csv(custom)) == 34
