"""Every discovered CT image series is a row of measurements.csv: broken ones fail with a reason.

The inputs are real DICOM files written by ``write_dicom_series`` and then
damaged the way real exports are (garbage geometry tags, one slice, a zero
RescaleSlope). Only objects that are not CT volumes (other modalities,
localizers) go to ``skipped.csv``.
"""

from __future__ import annotations

import csv
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pydicom
import pytest

from wallthick.batch import BatchOptions, run_batch
from wallthick.errors import InvalidSeriesError
from wallthick.io import discover_series, load_series
from wallthick.io.writer import write_dicom_series
from wallthick.volume import ImageVolume


def _volume() -> ImageVolume:
    rng = np.random.default_rng(3)
    arr = (rng.normal(40.0, 20.0, (6, 24, 24))).astype(np.float32)
    return ImageVolume(arr, (2.0, 0.8, 0.8), (0.0, 0.0, 0.0), np.eye(3))


def _write(root: Path, name: str, **info: str) -> list[Path]:
    return write_dicom_series(_volume(), root / name, info={"patient_id": f"P-{name}", **info})


def _set_raw(files: list[Path], keyword: str, garbage: bytes) -> None:
    """Overwrite the value bytes of ``keyword`` in place (as a broken exporter would)."""
    tag = pydicom.datadict.tag_for_keyword(keyword)
    assert tag is not None
    group, element = tag >> 16, tag & 0xFFFF
    header = struct.pack("<HH", group, element) + b"DS"
    for f in files:
        data = bytearray(f.read_bytes())
        at = data.index(header, 132)
        (length,) = struct.unpack("<H", data[at + 6 : at + 8])
        value = garbage[:length].ljust(length, b" ")
        data[at + 8 : at + 8 + length] = value
        f.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def broken_tree(tmp_path_factory: pytest.TempPathFactory, helpers: SimpleNamespace) -> Path:
    root = tmp_path_factory.mktemp("broken")
    _set_raw(_write(root, "garbage_spacing"), "PixelSpacing", b"abc\\x")
    bad_position = _write(root, "garbage_position")
    _set_raw(bad_position[2:3], "ImagePositionPatient", b"x\\y\\z")
    single = _write(root, "single_slice")
    for f in single[1:]:
        f.unlink()
    helpers.rewrite(_write(root, "zero_slope"), RescaleSlope="0")
    helpers.rewrite(_write(root, "mr"), Modality="MR")
    helpers.rewrite(_write(root, "scout"), ImageType=["ORIGINAL", "PRIMARY", "LOCALIZER"])
    return root


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_broken_ct_series_get_failed_rows_and_only_non_ct_is_skipped(
    broken_tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    summary = run_batch(broken_tree, out, BatchOptions(workers=1, write_qc=False))
    rows = _rows(out / "measurements.csv")
    assert {r["status"] for r in rows} == {"failed"}
    # the file with the broken position is split off its series: a row of its own,
    # naming that file (the rest of the series, noise only, fails in the segmenter)
    position_rows = [r for r in rows if "ImagePositionPatient" in r["error"]]
    assert len(position_rows) == 1
    assert broken_tree.joinpath("garbage_position").as_posix() in position_rows[0]["error"]
    assert position_rows[0]["error"].split(":")[0].endswith(".dcm")
    by_folder = {Path(r["source_path"]).name: r for r in rows if r not in position_rows}
    by_folder["garbage_position"] = position_rows[0]
    assert sorted(by_folder) == [
        "garbage_position",
        "garbage_spacing",
        "single_slice",
        "zero_slope",
    ]
    assert len(rows) == 5
    expected = {
        "garbage_spacing": "PixelSpacing",
        "garbage_position": "ImagePositionPatient",
        "single_slice": "too few slices",
        "zero_slope": "RescaleSlope is 0",
    }
    for folder, words in expected.items():
        error = by_folder[folder]["error"]
        assert words in error, (folder, error)
        assert folder in error, "the reason names where the series is"
    skipped = _rows(out / "skipped.csv")
    assert sorted(Path(s["source_path"]).name for s in skipped) == ["mr", "scout"]
    assert summary.n_failed == 5 and summary.n_ok == 0
    assert summary.exit_code != 0


def test_zero_rescale_slope_is_refused_not_replaced(
    tmp_path: Path, helpers: SimpleNamespace
) -> None:
    files = _write(tmp_path, "s")
    helpers.rewrite(files, RescaleSlope="0")
    desc = discover_series(tmp_path)[0]
    assert desc.skip_reason is not None and "RescaleSlope is 0" in desc.skip_reason
    with pytest.raises(InvalidSeriesError, match="RescaleSlope is 0"):
        load_series(desc)


def test_a_single_zero_slope_file_is_split_off_and_refused(
    tmp_path: Path, helpers: SimpleNamespace
) -> None:
    files = _write(tmp_path, "s")
    helpers.rewrite(files[:1], RescaleSlope="0")
    found = discover_series(tmp_path)
    refused = [d for d in found if d.skip_reason]
    assert len(refused) == 1 and refused[0].files == (files[0],)
    assert refused[0].skip_reason is not None
    assert "RescaleSlope is 0" in refused[0].skip_reason
    assert sum(len(d.files) for d in found) == len(files)
