"""A disk that fills up while a batch writes: earlier results stay, the series fails.

The results folder lives on a real, tiny tmpfs (mounting one needs root; the
test is skipped with the reason otherwise), filled with a file until the next
series' outputs no longer fit. A second test limits the file size of a real
``wallthick batch`` subprocess (RLIMIT_FSIZE), so its writes fail with EFBIG.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import SimpleITK as sitk

from wallthick.batch import BatchOptions, run_batch
from wallthick.io import write_dicom_series
from wallthick.results import TMP_PREFIX, load_results

_FS_BYTES = 16 * 2**20


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs mounted for this test only."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={_FS_BYTES}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _write_series(root: Path, patient: str, helpers: SimpleNamespace) -> None:
    image = helpers.cropped_case(0, 8)[0]
    info = {"study_date": "20240105", "study_time": "101500", "patient_id": patient}
    write_dicom_series(image, root / patient / "ct", info=info)


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _fill(mount: Path, leave_bytes: int) -> None:
    free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
    with open(mount / "filler", "wb") as fh:
        fh.write(b"\0" * max(free - leave_bytes, 0))


def _readable(path: Path) -> None:
    """Each final file is complete: JSON parses, NIfTI and PNG decode, DICOM reads
    to its end (the SEG's frames decode; the SR, which has no pixels, parses whole)."""
    if path.suffix == ".json":
        json.loads(path.read_text())
    elif path.name.endswith(".nii.gz") or path.suffix == ".png":
        sitk.ReadImage(str(path))
    elif path.suffix == ".dcm":
        import pydicom

        ds = pydicom.dcmread(path)
        if "PixelData" in ds:
            ds.pixel_array  # noqa: B018
        else:
            assert ds.SOPClassUID.name.endswith("SR Storage"), path
            assert len(ds.ContentSequence) > 0, path


def test_full_disk_fails_the_series_and_keeps_earlier_results(
    tiny_fs: Path, tmp_path: Path, helpers: SimpleNamespace
) -> None:
    root = tmp_path / "in"
    _write_series(root, "PAT-A", helpers)
    out = tiny_fs / "out"
    first = run_batch(root, out, BatchOptions(workers=1))
    assert (first.n_ok, first.n_failed) == (1, 0)
    (done,) = load_results(out)
    before = _digests(done.folder)
    (row_before,) = helpers.read_rows(out / "measurements.csv")
    largest = max(p.stat().st_size for p in done.folder.iterdir())
    assert largest > 160 * 1024, "outputs too small to overflow the disk in between"
    _write_series(root, "PAT-B", helpers)  # a new series arrives
    _fill(tiny_fs, leave_bytes=128 * 1024)  # the tables and records fit, the images do not

    full = run_batch(root, out, BatchOptions(workers=1, resume=True))

    assert (full.n_ok, full.n_failed, full.n_reused) == (1, 1, 1)
    rows = {r["patient_id"]: r for r in helpers.read_rows(out / "measurements.csv")}
    assert rows["PAT-A"]["status"] == "ok"
    assert rows["PAT-B"]["status"] == "failed"
    assert "No space left on device" in rows["PAT-B"]["error"]
    (failed,) = [r for r in load_results(out) if r.status == "failed"]
    assert failed.record.error is not None and failed.record.error.retryable, failed.record.error
    assert _digests(done.folder) == before  # the earlier series' files, byte for byte
    assert rows["PAT-A"] == row_before
    assert not [p for p in out.rglob(f"{TMP_PREFIX}*")], "a temporary file was left behind"
    for path in out.rglob("*"):
        if path.is_file():
            _readable(path)

    (tiny_fs / "filler").unlink()  # space again: --resume measures the failed series
    freed = run_batch(root, out, BatchOptions(workers=1, resume=True))
    assert (freed.n_ok, freed.n_failed, freed.n_reused) == (2, 0, 1)


def _no_big_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_file_size_limit_in_a_real_batch_process(tmp_path: Path, helpers: SimpleNamespace) -> None:
    root = tmp_path / "in"
    _write_series(root, "PAT-A", helpers)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "wallthick.cli.main", "batch", str(root), "--out", str(out)]
    done = subprocess.run(
        [*argv, "--workers", "1", "--no-progress"],
        preexec_fn=_no_big_files,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    (row,) = helpers.read_rows(out / "measurements.csv")
    assert row["status"] == "failed" and "File too large" in row["error"]
    assert not [p for p in out.rglob(f"{TMP_PREFIX}*")]
    for path in out.rglob("*"):
        if path.is_file():
            assert path.stat().st_size <= 64 * 1024
            _readable(path)
