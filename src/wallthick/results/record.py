"""The per-series record ``measurement.json``: one typed, frozen type, read and written here."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wallthick.measure.result import (
    CSV_COLUMNS,
    MEASURED_STATUSES,
    SERIES_COLUMNS,
    STATUSES,
    Measurement,
)
from wallthick.results.atomic import atomic_write_json
from wallthick.results.layout import (
    CORRECTED_NIFTI,
    CORRECTED_SEG,
    FOLDER_PREFIX,
    LOG_NAME,
    MEASUREMENT_SR,
    OUTPUT_SCHEMA_VERSION,
    QC_PNG,
    RECORD_NAME,
    SEGMENTATION_NIFTI,
    SEGMENTATION_SEG,
)

__all__ = [
    "RecordError",
    "SERIES_COLUMNS",
    "SeriesRecord",
    "StoredResult",
    "find_records",
    "load_results",
    "read_record",
    "sort_rows",
    "write_record",
]

logger = logging.getLogger(__name__)


def sort_rows(rows: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    """Rows in the documented order: patient, study date/time, study, series."""
    return sorted((dict(r) for r in rows), key=_sort_key)


def _sort_key(row: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(str(row.get(k, "")) for k in SERIES_COLUMNS)


@dataclass(frozen=True)
class RecordError:
    """Why a series failed (``measurement.json``'s ``error``)."""

    type: str
    message: str
    message_redacted: str
    criteria: tuple[str, ...] = ()
    retryable: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "message": self.message,
            "message_redacted": self.message_redacted,
            "criteria": list(self.criteria),
            "retryable": self.retryable,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordError:
        return cls(
            type=str(data.get("type", "")),
            message=str(data.get("message", "")),
            message_redacted=str(data.get("message_redacted", "")),
            criteria=tuple(str(c) for c in data.get("criteria") or ()),
            retryable=bool(data.get("retryable", False)),
        )


@dataclass(frozen=True)
class SeriesRecord:
    """What ``measurement.json`` holds (see ``docs/output_schema.md``).

    Attributes
    ----------
    task_key, task_kind : str
        The batch task (``series:<uid>``, ``phases:...``, ``file:<path>``) and its kind.
    folder_uids : tuple of str
        Series keys whose folders may hold this task's results.
    status : str
        One of :data:`wallthick.measure.STATUSES`.
    row : mapping
        The ``measurements.csv`` row (strings, :data:`CSV_COLUMNS`).
    measurement : Measurement or None
        The full measurement; None when the series failed.
    phases : tuple of mapping
        Per-phase cavity volumes of a multiphase study (JSON).
    error : RecordError or None
        Why it failed.
    files : mapping
        Role -> file name in the series folder (None: not written).
    options : mapping
        The segmentation and measure options used.
    labels : tuple of mapping or None
        Supplied segmentations (rule, SHA-256), None when none were asked for.
    versions : mapping
        Software versions.
    warnings : tuple of str
        Warnings raised while measuring (redacted).
    elapsed_s, finished_utc
        Run time and end time.
    corrected : mapping or None
        The analyst's correction that was measured (file, SHA-256, provenance).
    """

    task_key: str
    task_kind: str
    folder_uids: tuple[str, ...]
    status: str
    row: Mapping[str, str]
    measurement: Measurement | None = None
    phases: tuple[Mapping[str, Any], ...] = ()
    error: RecordError | None = None
    files: Mapping[str, str | None] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    labels: tuple[Mapping[str, str], ...] | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    finished_utc: str = ""
    corrected: Mapping[str, Any] | None = None
    output_schema_version: str = OUTPUT_SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"Argument 'status' must be one of {STATUSES}, got {self.status!r}.")

    def to_json(self) -> dict[str, Any]:
        """The JSON document of ``measurement.json``."""
        doc: dict[str, Any] = {
            "output_schema_version": self.output_schema_version,
            "task_key": self.task_key,
            "task_kind": self.task_kind,
            "folder_uids": list(self.folder_uids),
            "options": dict(self.options),
            "labels": None if self.labels is None else [dict(s) for s in self.labels],
            "versions": dict(self.versions),
            "status": self.status,
            "row": dict(self.row),
            "measurement": None if self.measurement is None else self.measurement.to_dict(),
            "phases": [dict(p) for p in self.phases],
            "error": None if self.error is None else self.error.to_json(),
            "files": dict(self.files),
        }
        if self.corrected is not None:
            doc["corrected"] = dict(self.corrected)
        doc.update(
            warnings=list(self.warnings), elapsed_s=self.elapsed_s, finished_utc=self.finished_utc
        )
        return doc

    @classmethod
    def from_json(cls, data: Any, where: str = "record") -> SeriesRecord:
        """Parse a ``measurement.json`` document.

        Raises
        ------
        ValueError
            Not a completed record (no valid ``status`` or ``row``); the
            message starts with ``where``.
        """
        if not isinstance(data, Mapping) or data.get("status") not in STATUSES:
            raise ValueError(f"{where}: not a completed wallthick record (no valid 'status').")
        if not isinstance(data.get("row"), Mapping):
            raise ValueError(f"{where}: not a completed wallthick record (no 'row').")
        labels = data.get("labels")
        return cls(
            task_key=str(data.get("task_key", "")),
            task_kind=str(data.get("task_kind", "")),
            folder_uids=tuple(str(u) for u in data.get("folder_uids") or ()),
            status=str(data["status"]),
            row={c: str(data["row"].get(c, "") or "") for c in CSV_COLUMNS},
            measurement=_measurement(data, where),
            phases=tuple(dict(p) for p in data.get("phases") or ()),
            error=RecordError.from_json(data["error"]) if data.get("error") else None,
            files=dict(data.get("files") or {}),
            options=dict(data.get("options") or {}),
            labels=None if labels is None else tuple(dict(s) for s in labels),
            versions=dict(data.get("versions") or {}),
            warnings=tuple(str(w) for w in data.get("warnings") or ()),
            elapsed_s=float(data.get("elapsed_s", 0.0) or 0.0),
            finished_utc=str(data.get("finished_utc", "")),
            corrected=dict(data["corrected"]) if data.get("corrected") else None,
            output_schema_version=str(data.get("output_schema_version", OUTPUT_SCHEMA_VERSION)),
        )

    @classmethod
    def from_measurement(cls, measurement: Measurement, key: str = "") -> SeriesRecord:
        """A record holding only a measurement (a bare :meth:`Measurement.to_dict` file)."""
        return cls(
            task_key=key,
            task_kind="",
            folder_uids=(),
            status=measurement.status,
            row=measurement.to_row(),
            measurement=measurement,
        )


def _measurement(data: Mapping[str, Any], where: str) -> Measurement | None:
    doc = data.get("measurement")
    if data.get("status") not in MEASURED_STATUSES or not isinstance(doc, Mapping):
        return None
    try:
        return Measurement.from_dict(doc)
    except (TypeError, ValueError, KeyError) as exc:
        logger.warning("%s: measurement could not be parsed (%s)", where, exc)
        return None


def write_record(folder: str | os.PathLike[str], record: SeriesRecord) -> Path:
    """Write ``record`` as the folder's ``measurement.json`` (atomically; marks it complete)."""
    path = Path(folder) / RECORD_NAME
    atomic_write_json(path, record.to_json())
    return path


def read_record(folder: str | os.PathLike[str]) -> SeriesRecord | None:
    """The completed record of a series folder, or None (missing, unreadable, incomplete)."""
    path = Path(folder) / RECORD_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SeriesRecord.from_json(data, where=str(path))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable or incomplete record %s (%s)", path, exc)
        return None


@dataclass(frozen=True)
class StoredResult:
    """One series' results read back from a results folder.

    Attributes
    ----------
    folder : Path
        The series folder.
    record : SeriesRecord
        Its ``measurement.json``.
    """

    folder: Path
    record: SeriesRecord

    @property
    def status(self) -> str:
        """``"ok"``, ``"qc_failed"`` or ``"failed"``."""
        return self.record.status

    @property
    def row(self) -> Mapping[str, str]:
        """The ``measurements.csv`` row of this series (strings)."""
        return self.record.row

    @property
    def measurement(self) -> Measurement | None:
        """The full measurement (None when it failed)."""
        return self.record.measurement

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
        """The series' ``log.txt``, if written."""
        return self._file(LOG_NAME)


def load_results(out_dir: str | os.PathLike[str]) -> list[StoredResult]:
    """Read every completed series record of a results folder.

    Parameters
    ----------
    out_dir : path
        A folder written by ``wallthick batch``/``measure``.

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
        if record is not None:
            results.append(StoredResult(folder, record))
    return sorted(results, key=lambda r: _sort_key(r.row))


def find_records(root: str | os.PathLike[str]) -> list[StoredResult]:
    """Every ``measurement.json`` anywhere below ``root``, in path order.

    Besides the records of the batch layout this accepts a bare
    :meth:`Measurement.to_dict` document. Unreadable files are logged and skipped.
    """
    out: list[StoredResult] = []
    for path in sorted(Path(root).rglob(RECORD_NAME)):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            record = _record_or_measurement(data, path)
        except (OSError, ValueError) as exc:
            logger.warning("skipping unreadable record %s (%s)", path, exc)
            continue
        out.append(StoredResult(path.parent, record))
    return out


def _record_or_measurement(data: Any, path: Path) -> SeriesRecord:
    if isinstance(data, Mapping) and "row" in data:
        return SeriesRecord.from_json(data, where=str(path))
    if isinstance(data, Mapping) and "septal_thickness_mm" in data:
        try:
            return SeriesRecord.from_measurement(Measurement.from_dict(data))
        except (TypeError, KeyError) as exc:
            raise ValueError(f"{path}: measurement could not be parsed ({exc})") from exc
    raise ValueError(f"{path}: not a wallthick measurement record (no 'row' and no measurement).")
