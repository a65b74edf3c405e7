"""Exit codes and usage errors of `wallthick measure` / `wallthick batch`, in-process."""

from __future__ import annotations

import csv
import json
import re
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


@pytest.mark.parametrize("command", ["measure", "batch"])
@pytest.mark.parametrize(
    ("extra", "config", "expected"),
    [
        (["--option", "grid=1"], None, r"Unknown measure option 'grid'; known options: .*grid_mm"),
        (["--option", "grid_mm=9"], None, r"'grid_mm' must be in \[0.3, 3\]"),
        (["--option", "on_qc_failure=ignore"], None, r"'on_qc_failure' must be 'flag' or 'raise'"),
        (["--option", "refine_boundaries=yes"], None, r"'refine_boundaries' must be true or false"),
        ([], '{"wall_range_mm": 5}', r"--config .*'wall_range_mm' must be \[low, high\]"),
        ([], "[1, 2]", r"--config .*expected a JSON object"),
        ([], "{not json", r"--config .*cannot read the JSON file"),
    ],
)
def test_bad_measure_options_are_usage_errors_naming_the_key(
    command: str,
    extra: list[str],
    config: str | None,
    expected: str,
    blank_tree: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [command, str(blank_tree / "ct" if command == "measure" else blank_tree)]
    argv += ["--out", str(tmp_path / "out"), *extra]
    if config is not None:
        (tmp_path / "options.json").write_text(config)
        argv += ["--config", str(tmp_path / "options.json")]
    assert main(argv) == 2
    assert re.search(expected, capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def test_measure_options_reach_the_record(phantom_dicom_dir: Path, tmp_path: Path) -> None:
    """--config then --option (which wins) arrive in the series record and the measurement."""
    (tmp_path / "options.json").write_text('{"grid_mm": 0.7, "wall_range_mm": [2, 25]}')
    runs = {}
    for name, extra in {
        "default": [],
        "tuned": ["--config", str(tmp_path / "options.json"), "--option", "grid_mm=1.5"],
    }.items():
        out = tmp_path / name
        argv = ["measure", str(phantom_dicom_dir), "--out", str(out), "--no-dicom-seg", "--no-qc"]
        assert main([*argv, *extra]) == 0
        (record,) = [json.loads(p.read_text()) for p in out.glob("series-*/measurement.json")]
        runs[name] = record
    used = runs["tuned"]["options"]["measure_options"]
    assert used["grid_mm"] == 1.5 and used["wall_range_mm"] == [2.0, 25.0]
    assert runs["default"]["options"]["measure_options"]["grid_mm"] == 1.0
    assert runs["tuned"]["measurement"]["options"]["grid_mm"] == 1.5
