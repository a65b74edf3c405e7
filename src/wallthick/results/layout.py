"""The results folder's layout: file names and the key naming each series' folder.

Layout (see ``docs/output_schema.md``, a public contract)::

    OUT_DIR/
      measurements.csv          one row per CT image series (CSV_COLUMNS)
      skipped.csv               series found but not measured, with the reason
      rejected_files.csv        files that are not usable DICOM, with the reason
      batch.json                run manifest (options, versions, counts)
      series-<hash>/            one folder per series
        measurement.json        the completed record (written last)
        segmentation.nii.gz     automatic labels (wallthick.labels.Label values)
        segmentation_seg.dcm    the same labels as DICOM SEG
        measurement_sr.dcm      the numbers as DICOM SR (TID 1500), referencing the SEG
        segmentation_corrected.nii.gz, correction_provenance.json
                                an analyst's correction and who made it
        qc.png                  QC picture
        log.txt                 what happened, without patient identifiers

Folder names are a hash of the series key (the SeriesInstanceUID, suffixed
``#n`` when discovery split one UID into several series), so no tag value
(patient names, ``..``, path separators) ever becomes part of a path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from wallthick.io import SeriesDescriptor

__all__ = [
    "CORRECTED_NIFTI",
    "CORRECTED_SEG",
    "CORRECTION_PROVENANCE",
    "CSV_NAME",
    "FOLDER_PREFIX",
    "LOG_NAME",
    "MANIFEST_NAME",
    "MEASUREMENT_SR",
    "OUTPUT_SCHEMA_VERSION",
    "QC_PNG",
    "RECORD_NAME",
    "REJECTED_NAME",
    "SEGMENTATION_NIFTI",
    "SEGMENTATION_SEG",
    "SKIPPED_COLUMNS",
    "SKIPPED_NAME",
    "TMP_PREFIX",
    "remove_stale_temporaries",
    "series_keys",
    "series_output_dir",
    "source_folder",
]

#: Version of the folder/JSON layout described in docs/output_schema.md.
OUTPUT_SCHEMA_VERSION = "1.0"

CSV_NAME = "measurements.csv"
SKIPPED_NAME = "skipped.csv"
REJECTED_NAME = "rejected_files.csv"
MANIFEST_NAME = "batch.json"
RECORD_NAME = "measurement.json"
SEGMENTATION_NIFTI = "segmentation.nii.gz"
SEGMENTATION_SEG = "segmentation_seg.dcm"
CORRECTED_NIFTI = "segmentation_corrected.nii.gz"
CORRECTED_SEG = "segmentation_corrected_seg.dcm"
CORRECTION_PROVENANCE = "correction_provenance.json"
MEASUREMENT_SR = "measurement_sr.dcm"
QC_PNG = "qc.png"
LOG_NAME = "log.txt"
FOLDER_PREFIX = "series-"
#: Columns of skipped.csv.
SKIPPED_COLUMNS: tuple[str, ...] = (
    "series_instance_uid",
    "study_instance_uid",
    "modality",
    "n_files",
    "reason",
    "source_path",
)
#: Prefix of the temporary files of atomic writes (never a final name).
TMP_PREFIX = ".tmp-"


def series_output_dir(out_dir: str | os.PathLike[str], series_key: str) -> Path:
    """The results folder of one series inside ``out_dir`` (not created).

    The name is ``series-`` plus the first 24 hex digits of the SHA-256 of the
    series key, so it never contains patient identifiers or path
    characters, whatever the tag holds. For a multiphase study the folder is
    the one of the end-diastolic phase's series (the row's
    ``series_instance_uid``).

    Parameters
    ----------
    out_dir : path
        The results root given to ``wallthick batch --out``.
    series_key : str
        Non-empty key from :func:`series_keys` (the SeriesInstanceUID of a
        series discovery did not split), or any stable key for non-DICOM input.

    Returns
    -------
    Path
        ``out_dir / "series-<hash>"``.

    Examples
    --------
    >>> series_output_dir("out", "1.2.3").name
    'series-c47f5b18b8a430e698b9fe15'
    >>> series_output_dir("out", "../../etc").parent.name
    'out'
    """
    if not isinstance(series_key, str) or not series_key:
        raise ValueError(f"Argument 'series_key' must be a non-empty string, got {series_key!r}.")
    digest = hashlib.sha256(series_key.encode("utf-8", "surrogatepass")).hexdigest()
    return Path(out_dir) / f"{FOLDER_PREFIX}{digest[:24]}"


def source_folder(desc: SeriesDescriptor) -> str:
    """The folder holding a series' files (their common parent)."""
    parents = {str(f.parent) for f in desc.files}
    if not parents:
        return ""
    return parents.pop() if len(parents) == 1 else os.path.commonpath(sorted(parents))


def series_keys(descriptors: Sequence[SeriesDescriptor]) -> list[str]:
    """One distinct key per descriptor, in the order given: the key of its folder.

    The key is the SeriesInstanceUID. When discovery split one UID into
    several series (two geometries under one UID), each gets ``UID#n``,
    numbered in the order of their first file; a series without a UID gets
    ``nouid:<folder>#n``.

    Examples
    --------
    >>> from types import SimpleNamespace as D
    >>> a = D(series_instance_uid="1.2", files=(Path("x/1.dcm"),))
    >>> b = D(series_instance_uid="1.2", files=(Path("x/0.dcm"),))
    >>> c = D(series_instance_uid="1.3", files=(Path("x/2.dcm"),))
    >>> series_keys([a, b, c])
    ['1.2#2', '1.2#1', '1.3']
    """
    counts = Counter(d.series_instance_uid for d in descriptors)
    seen: Counter[str] = Counter()
    keys: dict[int, str] = {}
    order = sorted(
        range(len(descriptors)),
        key=lambda i: (
            descriptors[i].series_instance_uid,
            [str(f) for f in descriptors[i].files[:1]],
        ),
    )
    for i in order:
        uid = descriptors[i].series_instance_uid
        key = uid or f"nouid:{source_folder(descriptors[i])}"
        if counts[uid] > 1 or not uid:
            seen[key] += 1
            key = f"{key}#{seen[key]}"
        keys[i] = key
    return [keys[i] for i in range(len(descriptors))]


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files left by a run that was killed mid-write."""
    if folder.is_dir():
        for tmp in folder.glob(f"{TMP_PREFIX}*"):
            with contextlib.suppress(OSError):
                tmp.unlink()
