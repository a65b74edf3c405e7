"""A small input tree for batch tests, built once per session from the sample phantom.

Layout (every kind of series the batch must cope with)::

    input/
      site1/alpha/ct/        good phantom series
      site1/mallory/ct/      good phantom series with hostile tag values
      site2/corrupt/ct/      headers fine, pixel data truncated -> failed row
      site2/mr/              Modality MR -> skipped
      site3/empty/           a folder without files
      README.txt             not DICOM
"""

from __future__ import annotations

import csv
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pydicom
import pytest

from wallthick.batch import BatchOptions, BatchSummary, run_batch
from wallthick.io import write_dicom_series
from wallthick.measure.result import CSV_COLUMNS
from wallthick.phantom import sample_case
from wallthick.volume import ImageVolume, LabelVolume

GOOD_PATIENT = "PAT-ALPHA-7731"
GOOD_NAME = "Alphason^Alice"
HOSTILE_PATIENT = "../../../../escape-id"
HOSTILE_NAME = "Mallory/../..^Evil"
HOSTILE_SERIES_UID = "../../../../tmp/wt-escape/..\\..\\x"
SECRETS = (GOOD_PATIENT, "Alphason", HOSTILE_PATIENT, "Mallory")


@dataclass(frozen=True)
class Tree:
    root: Path
    good_uid: str
    hostile_uid: str  # as discovery reads it back
    corrupt_uid: str
    mr_uid: str
    secrets: tuple[str, ...] = SECRETS


def cropped_case(
    seed: int = 0, margin: int = 8, visit: str = "baseline"
) -> tuple[ImageVolume, LabelVolume, dict[str, Any]]:
    """A sample phantom cropped to the heart (image, truth labels, truth), which keeps
    the tests fast."""
    case = sample_case(seed, visit)  # type: ignore[arg-type]
    lab = case.labels.array
    idx = np.argwhere(lab > 0)
    lo = np.maximum(idx.min(axis=0) - margin, 0)
    hi = np.minimum(idx.max(axis=0) + margin + 1, lab.shape)
    sl = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    img = case.image
    origin = img.index_to_world(lo.astype(float))
    image = ImageVolume(np.ascontiguousarray(img.array[sl]), img.spacing_mm, origin, img.direction)
    labels = LabelVolume.from_geometry(np.ascontiguousarray(lab[sl]), image.geometry)
    return image, labels, case.truth


def cropped_phantom(seed: int = 0, margin: int = 8) -> ImageVolume:
    """The sample phantom (the one of the shared ``phantom_case`` fixture) cropped to the
    heart, which keeps the tests fast."""
    return cropped_case(seed, margin)[0]


def _rewrite(files: list[Path], **tags: object) -> None:
    for f in files:
        ds = pydicom.dcmread(f)
        for key, value in tags.items():
            setattr(ds, key, value)
        ds.save_as(f, enforce_file_format=True)


def build_tree(root: Path) -> Tree:
    image = cropped_phantom()
    base = {"study_date": "20240105", "study_time": "101500"}
    good = write_dicom_series(
        image,
        root / "site1" / "alpha" / "ct",
        info={**base, "patient_id": GOOD_PATIENT, "patient_name": GOOD_NAME},
    )
    hostile_dir = root / "site1" / "mallory" / "ct"
    hostile = write_dicom_series(image, hostile_dir, info={**base, "study_date": "20240210"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the invalid UI value on purpose
        _rewrite(
            hostile,
            PatientID=HOSTILE_PATIENT,
            PatientName=HOSTILE_NAME,
            SeriesInstanceUID=HOSTILE_SERIES_UID,
            SeriesDescription="../../../etc/passwd",
        )
    corrupt = write_dicom_series(
        image, root / "site2" / "corrupt" / "ct", info={**base, "patient_id": "PAT-C"}
    )
    for f in corrupt:
        size = f.stat().st_size
        with open(f, "r+b") as fh:
            fh.truncate(size - 4000)
    mr_dir = root / "site2" / "mr"
    mr_dir.mkdir(parents=True)
    for f in good[:12]:
        shutil.copy(f, mr_dir / f.name)
    mr_files = sorted(mr_dir.iterdir())
    mr_uid = pydicom.uid.generate_uid()
    _rewrite(mr_files, Modality="MR", SeriesInstanceUID=mr_uid, PatientID="PAT-MR")
    (root / "site3" / "empty").mkdir(parents=True)
    (root / "README.txt").write_text("not a DICOM file\n")
    from wallthick.io import discover_series

    (hostile_uid,) = [
        d.series_instance_uid for d in discover_series(hostile_dir) if d.files[0] in hostile
    ]
    return Tree(root, _uid(good[0]), hostile_uid, _uid(corrupt[0]), mr_uid)


def _uid(path: Path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the hostile series' invalid UID
        return str(pydicom.dcmread(path, stop_before_pixels=True).SeriesInstanceUID)


@pytest.fixture(scope="session")
def batch_tree(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    """The input tree (read-only for tests: copy it before changing anything)."""
    root = tmp_path_factory.mktemp("batch_tree") / "input"
    return build_tree(root)


@dataclass(frozen=True)
class Run:
    out: Path
    summary: BatchSummary
    before: dict[str, tuple[int, int]]


@pytest.fixture(scope="session")
def clean_run(batch_tree: Tree, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The reference: one uninterrupted batch with 2 local worker processes."""
    before = snapshot(batch_tree.root)
    out = tmp_path_factory.mktemp("clean") / "out"
    summary = run_batch(batch_tree.root, out, BatchOptions(workers=2))
    return Run(out, summary, before)


def read_rows(path: Path) -> list[dict[str, str]]:
    """measurements.csv as dicts, checking the header is CSV_COLUMNS."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        return list(reader)


@pytest.fixture(scope="session")
def helpers() -> SimpleNamespace:
    """Helper functions for the test modules (conftest is not importable)."""
    return SimpleNamespace(
        read_rows=read_rows, snapshot=snapshot, cropped_case=cropped_case, rewrite=_rewrite
    )


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size and mtime (ns)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.stat()
            out[str(p.relative_to(root))] = (st.st_size if p.is_file() else 0, st.st_mtime_ns)
    return out
