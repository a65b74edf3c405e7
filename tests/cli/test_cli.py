"""Exit codes and usage errors of `wallthick measure` / `wallthick batch`, in-process."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from wallthick.cli.main import main
from wallthick.io import write_dicom_series
from wallthick.volume import ImageVolume


@pytest.fixture
def blank_tree(tmp_path: Path) -> Path:
    """A CT series with no heart in it (measuring it must fail)."""
    root = tmp_path / "in"
    vol = ImageVolume(np.full((12, 48, 48), -800.0, np.float32), (2, 1, 1), (0, 0, 0), np.eye(3))
    write_dicom_series(vol, root / "ct", info={"patient_id": "SECRET-ID-42"})
    return root


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nonsense"],
        ["batch"],
        ["batch", "IN"],
        ["batch", "IN", "--out", "OUT", "--workers", "0"],
        ["batch", "IN", "--out", "OUT", "--workers", "two"],
        ["batch", "IN", "--out", "OUT", "--segmenter", "no-such-segmenter"],
        ["batch", "MISSING", "--out", "OUT"],
        ["batch", "IN", "--out", "IN/results"],
        ["batch", "IN", "--out", "IN"],
        ["measure", "MISSING", "--out", "OUT"],
        ["measure", "IN", "--out", "OUT"],  # a tree of several series: use batch
        ["measure", "IN"],
        ["demo"],
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "IN" / "a").mkdir(parents=True)
    vol = ImageVolume(np.zeros((4, 8, 8), np.float32), (1, 1, 1), (0, 0, 0), np.eye(3))
    write_dicom_series(vol, tmp_path / "IN" / "a")
    write_dicom_series(vol, tmp_path / "IN" / "b")
    argv = [str(tmp_path / a) if a.startswith(("IN", "OUT", "MISSING")) else a for a in argv]
    assert main(argv) == 2
    assert not (tmp_path / "OUT").exists() and not (tmp_path / "IN" / "results").exists()
    captured = capsys.readouterr()
    assert "error" in captured.err or "usage" in captured.err + captured.out


def test_batch_with_a_failing_series_exits_1(
    blank_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["batch", str(blank_tree), "--out", str(out), "--workers", "1"]) == 1
    captured = capsys.readouterr()
    assert "failed          1" in captured.out and "SECRET-ID-42" not in captured.out
    with open(out / "measurements.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["failed"] and rows[0]["error"]


def test_show_phi_prints_the_patient(
    blank_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["measure", str(blank_tree / "ct"), "--out", str(tmp_path / "o"), "--show-phi"])
    assert code == 1
    assert "SECRET-ID-42" in capsys.readouterr().out


def test_nothing_to_measure_exits_1(tmp_path: Path) -> None:
    (tmp_path / "empty" / "folder").mkdir(parents=True)
    assert main(["batch", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 1


def test_measure_a_phantom_series_exits_0(
    phantom_dicom_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["measure", str(phantom_dicom_dir), "--out", str(out), "--no-dicom-seg"]) == 0
    printed = capsys.readouterr().out
    assert "septal" in printed and "measured ok     1" in printed
    with open(out / "measurements.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["status"] == "ok" and float(row["septal_thickness_mm"]) > 3
