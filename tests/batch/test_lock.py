"""Two runs on one results folder cannot interleave; a killed run leaves no stale lock.

The other run is a real process holding the real lock; it is killed with a real
SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from wallthick.batch import BatchOptions, run_batch
from wallthick.batch.lock import LOCK_NAME, output_lock
from wallthick.cli.main import main
from wallthick.errors import OutputInUseError
from wallthick.io.writer import write_dicom_series
from wallthick.volume import ImageVolume

HOLD = """
import sys, time
from wallthick.batch.lock import output_lock
with output_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """An input tree whose only series is an MR one: a run takes a fraction of a second."""
    import numpy as np
    import pydicom

    root = tmp_path / "input"
    arr = np.zeros((4, 16, 16), np.float32)
    files = write_dicom_series(
        ImageVolume(arr, (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), np.eye(3)), root / "mr"
    )
    for f in files:
        ds = pydicom.dcmread(f)
        ds.Modality = "MR"
        ds.save_as(f, enforce_file_format=True)
    return root


def _hold(out: Path) -> subprocess.Popen[str]:
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_is_refused_naming_the_first_then_runs_once_it_is_killed(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    holder = _hold(out)
    try:
        owner = json.loads((out / LOCK_NAME).read_text())
        assert owner["pid"] == holder.pid
        with pytest.raises(OutputInUseError, match=f"process {holder.pid} on host"):
            run_batch(tree, out, BatchOptions(workers=1))
        assert not (out / "measurements.csv").exists(), "the refused run wrote nothing"
        assert main(["batch", str(tree), "--out", str(out), "--no-progress"]) == 2
        assert f"in use by another wallthick run (process {holder.pid}" in capsys.readouterr().err
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        assert holder.stdout is not None
        holder.stdout.close()
    assert holder.returncode == -signal.SIGKILL
    summary = run_batch(tree, out, BatchOptions(workers=1))  # the dead run's lock is gone
    assert len(summary.skipped) == 1
    assert json.loads((out / LOCK_NAME).read_text())["pid"] == os.getpid()


def test_the_lock_is_released_when_the_run_ends(tmp_path: Path) -> None:
    with output_lock(tmp_path):
        with pytest.raises(OutputInUseError):
            # a second open file description in this process conflicts too
            with output_lock(tmp_path):
                pass  # pragma: no cover
    with output_lock(tmp_path) as path:  # taken again at once
        assert json.loads(path.read_text())["pid"] == os.getpid()
