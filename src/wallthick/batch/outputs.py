"""The results folder of ``wallthick measure``/``batch``: names, atomic writes, records.

Layout (see ``docs/output_schema.md``, a public contract)::

    OUT_DIR/
      measurements.csv          one row per measured series (CSV_COLUMNS)
      skipped.csv               series found but not measured, with the reason
      rejected_files.csv        files that are not usable DICOM, with the reason
      batch.json                run manifest (options, versions, counts)
      series-<hash>/            one folder per measured series
        measurement.json        the completed record (written last)
        segmentation.nii.gz     automatic labels (wallthick.labels.Label values)
        segmentation_seg.dcm    the same labels as DICOM SEG
        measurement_sr.dcm      the numbers as DICOM SR (TID 1500), referencing the SEG
        qc.png                  QC picture
        log.txt                 what happened, without patient identifiers

Folder names are a hash of the SeriesInstanceUID, so no tag value (patient
names, ``..``, path separators) ever becomes part of a path.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import logging
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wallthick.measure.result import CSV_COLUMNS, MEASURED_STATUSES, STATUSES, Measurement

__all__ = [
    "CORRECTED_NIFTI",
    "CORRECTION_PROVENANCE",
    "CSV_NAME",
    "MANIFEST_NAME",
    "MEASUREMENT_SR",
    "OUTPUT_SCHEMA_VERSION",
    "RECORD_NAME",
    "SKIPPED_COLUMNS",
    "SKIPPED_NAME",
    "StoredResult",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "load_results",
    "read_record",
    "series_output_dir",
    "sort_rows",
    "write_csv",
]

logger = logging.getLogger(__name__)

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
TMP_PREFIX = ".tmp-"

SKIPPED_COLUMNS: tuple[str, ...] = (
    "series_instance_uid",
    "study_instance_uid",
    "modality",
    "n_files",
    "reason",
    "source_path",
)


def series_output_dir(out_dir: str | os.PathLike[str], series_instance_uid: str) -> Path:
    """The results folder of one series inside ``out_dir`` (not created).

    The name is ``series-`` plus the first 24 hex digits of the SHA-256 of the
    SeriesInstanceUID, so it never contains patient identifiers or path
    characters, whatever the tag holds. For a multiphase study the folder is
    the one of the end-diastolic phase's series (the row's
    ``series_instance_uid``).

    Parameters
    ----------
    out_dir : path
        The results root given to ``wallthick batch --out``.
    series_instance_uid : str
        Non-empty SeriesInstanceUID (or any stable key for non-DICOM input).

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
    if not isinstance(series_instance_uid, str) or not series_instance_uid:
        raise ValueError(
            "Argument 'series_instance_uid' must be a non-empty string, "
            f"got {series_instance_uid!r}."
        )
    digest = hashlib.sha256(series_instance_uid.encode("utf-8", "surrogatepass")).hexdigest()
    return Path(out_dir) / f"{FOLDER_PREFIX}{digest[:24]}"


# -- atomic writes -------------------------------------------------------------
@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; rename it to ``path`` on success.

    The temporary file keeps ``path``'s suffixes (``.nii.gz``, ``.png``) so
    writers that choose the format from the name work. On error it is removed
    and ``path`` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(target.suffixes)
    tmp = target.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}{suffix}"
    with open(tmp, "xb"):  # created with the user's umask, unlike mkstemp's 0600
        pass
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file + ``os.replace``)."""
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON (no NaN) to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=False, sort_keys=False) + "\n")


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files left by a run that was killed mid-write."""
    if folder.is_dir():
        for tmp in folder.glob(f"{TMP_PREFIX}*"):
            with contextlib.suppress(OSError):
                tmp.unlink()


# -- tables ----------------------------------------------------------------
def sort_rows(rows: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    """Rows in the documented order: patient, study date/time, study, series."""
    return sorted((dict(r) for r in rows), key=_sort_key)


#: Columns that identify a series; also the sort order of measurements.csv.
SERIES_COLUMNS = (
    "patient_id",
    "study_date",
    "study_time",
    "study_instance_uid",
    "series_instance_uid",
    "source_path",
)


def _sort_key(row: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(str(row.get(k, "")) for k in SERIES_COLUMNS)


def write_csv(
    path: str | os.PathLike[str], rows: Iterable[Mapping[str, str]], columns: Sequence[str]
) -> None:
    """Write ``rows`` (restricted to ``columns``) as CSV, atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    atomic_write_text(path, buf.getvalue())


# -- records ---------------------------------------------------------------
def read_record(folder: Path) -> dict[str, Any] | None:
    """The completed record of a series folder, or None (missing or unreadable)."""
    path = folder / RECORD_NAME
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable record %s (%s)", path, exc)
        return None
    if not isinstance(record, dict) or record.get("status") not in STATUSES:
        logger.warning("ignoring incomplete record %s", path)
        return None
    if not isinstance(record.get("row"), dict):
        return None
    return record


@dataclass(frozen=True)
class StoredResult:
    """One series' results read back from a results folder.

    Attributes
    ----------
    folder : Path
        The series folder (``series_output_dir(out_dir, uid)``).
    status : str
        ``"ok"`` or ``"failed"``.
    row : dict
        The ``measurements.csv`` row of this series (strings).
    measurement : Measurement or None
        The full measurement (None when it failed).
    record : dict
        The whole ``measurement.json``.
    """

    folder: Path
    status: str
    row: Mapping[str, str]
    measurement: Measurement | None
    record: Mapping[str, Any]

    def _file(self, name: str) -> Path | None:
        path = self.folder / name
        return path if path.is_file() else None

    @property
    def segmentation_path(self) -> Path | None:
        """The automatic segmentation (NIfTI), if written."""
        return self._file(SEGMENTATION_NIFTI)

    @property
    def corrected_segmentation_path(self) -> Path | None:
        """The analyst's corrected segmentation (NIfTI), if saved."""
        return self._file(CORRECTED_NIFTI)

    @property
    def dicom_seg_path(self) -> Path | None:
        """The DICOM SEG of the labels that were measured, if written."""
        name = CORRECTED_SEG if self.row.get("segmentation_source") == "corrected" else None
        return (self._file(name) if name else None) or self._file(SEGMENTATION_SEG)

    @property
    def dicom_sr_path(self) -> Path | None:
        """The DICOM SR (TID 1500) of the measurement, if written."""
        return self._file(MEASUREMENT_SR)

    @property
    def qc_png_path(self) -> Path | None:
        """The QC picture, if written."""
        return self._file(QC_PNG)

    @property
    def log_path(self) -> Path | None:
        return self._file(LOG_NAME)


def load_results(out_dir: str | os.PathLike[str]) -> list[StoredResult]:
    """Read every completed series record of a results folder.

    Parameters
    ----------
    out_dir : path
        A folder written by ``wallthick batch``/``measure`` (or
        :func:`wallthick.batch.run_batch`).

    Returns
    -------
    list of StoredResult
        One per series folder with a completed ``measurement.json``, in the
        order of ``measurements.csv``.

    Raises
    ------
    FileNotFoundError
        ``out_dir`` is not a folder.
    """
    root = Path(out_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: results folder not found.")
    results = []
    for folder in sorted(root.glob(f"{FOLDER_PREFIX}*")):
        record = read_record(folder)
        if record is None:
            continue
        results.append(_stored(folder, record))
    return sorted(results, key=lambda r: _sort_key(r.row))


def _stored(folder: Path, record: dict[str, Any]) -> StoredResult:
    measurement = None
    if record["status"] in MEASURED_STATUSES and isinstance(record.get("measurement"), dict):
        try:
            measurement = Measurement.from_dict(record["measurement"])
        except (TypeError, ValueError, KeyError) as exc:
            logger.warning("%s: measurement could not be parsed (%s)", folder.name, exc)
    row = {c: str(record["row"].get(c, "")) for c in CSV_COLUMNS}
    return StoredResult(folder, record["status"], row, measurement, record)
