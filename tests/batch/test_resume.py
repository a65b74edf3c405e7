"""Killed with SIGKILL mid-way, then resumed: same table as a clean run, nothing redone."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import psutil
import pytest
import SimpleITK as sitk

from wallthick.batch import BatchOptions, run_batch, series_output_dir
from wallthick.cli.main import main


def _completed(out: Path) -> list[Path]:
    done = []
    for record in out.glob("series-*/measurement.json"):
        try:
            if json.loads(record.read_text())["status"] == "ok":
                done.append(record)
        except (OSError, ValueError):
            continue
    return done


def test_killed_batch_resumes_to_the_clean_table(
    batch_tree: Any,
    clean_run: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    helpers: SimpleNamespace,
) -> None:
    out = tmp_path / "out"
    before = helpers.snapshot(batch_tree.root)
    argv = [sys.executable, "-m", "wallthick.cli.main", "batch", str(batch_tree.root)]
    argv += ["--out", str(out), "--workers", "1", "--no-progress", "--no-qc", "--no-dicom-seg"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not _completed(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, "the batch ended before it could be killed"
        children = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, "worker processes outlived the killed batch"
    first = _completed(out)
    assert len(first) == 1
    stamp = first[0].stat().st_mtime_ns

    argv = ["batch", str(batch_tree.root), "--out", str(out), "--resume", "--no-progress"]
    code = main([*argv, "--no-qc", "--no-dicom-seg"])
    assert code == 1  # the corrupt series
    printed = capsys.readouterr().out
    assert "reused from an earlier run" in printed

    assert first[0].stat().st_mtime_ns == stamp  # the completed series was not redone
    assert helpers.read_rows(out / "measurements.csv") == helpers.read_rows(
        clean_run.out / "measurements.csv"
    )
    assert not list(out.rglob(".tmp-*"))
    assert helpers.snapshot(batch_tree.root) == before


def test_a_saved_correction_is_measured_by_the_next_run(
    batch_tree: Any, clean_run: Any, tmp_path: Path, helpers: SimpleNamespace
) -> None:
    out = tmp_path / "out"
    shutil.copytree(clean_run.out, out)
    folder = series_output_dir(out, batch_tree.good_uid)
    auto = sitk.ReadImage(str(folder / "segmentation.nii.gz"))
    sitk.WriteImage(auto, str(folder / "segmentation_corrected.nii.gz"))
    (folder / "correction_provenance.json").write_text(json.dumps({"user": "analyst"}))
    auto_bytes = (folder / "segmentation.nii.gz").read_bytes()

    summary = run_batch(batch_tree.root, out, BatchOptions(workers=1, resume=True))
    assert summary.n_reused == 2  # the hostile series and the corrupt one
    rows = {r["series_instance_uid"]: r for r in helpers.read_rows(out / "measurements.csv")}
    row = rows[batch_tree.good_uid]
    assert (row["status"], row["segmentation_source"]) == ("ok", "corrected")
    record = json.loads((folder / "measurement.json").read_text())
    assert record["corrected"]["provenance"] == {"user": "analyst"}
    assert (folder / "segmentation_corrected_seg.dcm").is_file()
    assert (folder / "segmentation.nii.gz").read_bytes() == auto_bytes  # kept
    clean = {
        r["series_instance_uid"]: r for r in helpers.read_rows(clean_run.out / "measurements.csv")
    }
    same_labels = float(row["septal_thickness_mm"]) - float(
        clean[batch_tree.good_uid]["septal_thickness_mm"]
    )
    assert np.isclose(same_labels, 0.0, atol=0.05)

    again = run_batch(batch_tree.root, out, BatchOptions(workers=1, resume=True))
    assert again.n_reused == 3  # the correction is current: nothing measured again


def test_resume_measures_again_a_series_measured_with_other_options(
    batch_tree: Any, clean_run: Any, tmp_path: Path, helpers: SimpleNamespace
) -> None:
    from wallthick.measure import MeasureOptions

    out = tmp_path / "out"
    shutil.copytree(clean_run.out, out)
    same = run_batch(batch_tree.root, out, BatchOptions(workers=1, resume=True))
    assert same.n_reused == 3  # the same options: nothing measured again
    tuned = BatchOptions(workers=1, resume=True, measure_options=MeasureOptions(grid_mm=1.5))
    summary = run_batch(batch_tree.root, out, tuned)
    assert summary.n_reused == 1  # only the corrupt series (failed before measuring)
    record = json.loads(
        (series_output_dir(out, batch_tree.good_uid) / "measurement.json").read_text()
    )
    assert record["options"]["measure_options"]["grid_mm"] == 1.5
    assert record["measurement"]["options"]["grid_mm"] == 1.5
    again = run_batch(batch_tree.root, out, tuned)
    assert again.n_reused == 3
