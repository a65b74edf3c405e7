"""Reading measurement tables and writing comparison tables (files only here).

Inputs accepted wherever "measurements" are read:

* a ``measurements.csv`` (the batch table, :data:`~wallthick.measure.result.CSV_COLUMNS`);
* a results folder (its ``measurements.csv``);
* a single ``measurement.json`` written by ``wallthick measure``/``batch``
  (its ``row``, or a bare :meth:`Measurement.to_dict` document).
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from wallthick.compare import COMPARISON_COLUMNS, ComparisonRow
from wallthick.errors import WallthickError
from wallthick.measure.result import CSV_COLUMNS, SCHEMA_VERSION, Measurement
from wallthick.regional import SEGMENT_COMPARISON_COLUMNS, SegmentChange
from wallthick.results import CSV_NAME, write_csv

__all__ = [
    "read_comparison_csv",
    "read_measurements",
    "read_segment_comparison_csv",
    "segment_comparison_path",
    "write_comparison_csv",
    "write_segment_comparison_csv",
]

logger = logging.getLogger(__name__)


def read_measurements(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Measurement rows (strings keyed by column) from a CSV, folder or JSON.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist, or a folder has no ``measurements.csv``.
    WallthickError
        The file cannot be parsed as a measurements table or record.
    """
    p = Path(path)
    if p.is_dir():
        p = p / CSV_NAME
    if not p.is_file():
        raise FileNotFoundError(f"{p}: measurements file not found.")
    if p.suffix.lower() == ".json":
        rows = [_row_from_json(p)]
    else:
        rows = _read_csv(p, required=("series_instance_uid", "septal_thickness_mm"))
    _check_schema(rows, p)
    return rows


def write_comparison_csv(rows: Iterable[ComparisonRow], path: str | os.PathLike[str]) -> None:
    """Write comparison rows as CSV (:data:`~wallthick.compare.COMPARISON_COLUMNS`),
    atomically (temporary file in the same folder, then rename)."""
    _write_table((r.to_row() for r in rows), COMPARISON_COLUMNS, Path(path))


def read_comparison_csv(path: str | os.PathLike[str]) -> list[ComparisonRow]:
    """Inverse of :func:`write_comparison_csv`."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: comparison file not found.")
    return [ComparisonRow.from_row(r) for r in _read_csv(p, required=("wall", "flag"))]


def segment_comparison_path(comparison_csv: str | os.PathLike[str]) -> Path:
    """Where the per-segment table of a comparison CSV goes: ``<stem>_segments.csv``."""
    p = Path(comparison_csv)
    return p.with_name(p.stem + "_segments.csv")


def write_segment_comparison_csv(
    rows: Iterable[SegmentChange], path: str | os.PathLike[str]
) -> None:
    """Write per-segment comparison rows (:data:`~wallthick.regional.SEGMENT_COMPARISON_COLUMNS`),
    atomically."""
    _write_table((r.to_row() for r in rows), SEGMENT_COMPARISON_COLUMNS, Path(path))


def read_segment_comparison_csv(path: str | os.PathLike[str]) -> list[SegmentChange]:
    """Inverse of :func:`write_segment_comparison_csv`."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: segment comparison file not found.")
    return [SegmentChange.from_row(r) for r in _read_csv(p, required=("segment", "flag"))]


def _check_schema(rows: list[dict[str, str]], path: Path) -> None:
    """Refuse rows of another major schema version (docs/output_schema.md)."""
    major = SCHEMA_VERSION.split(".")[0]
    other = {r.get("schema_version", "") for r in rows} - {"", SCHEMA_VERSION}
    bad = sorted(v for v in other if v.split(".")[0] != major)
    if bad:
        raise WallthickError(
            f"{path}: schema_version {', '.join(bad)} is not supported by this wallthick "
            f"(reads {major}.x); re-run 'wallthick batch' or upgrade wallthick."
        )


# -- helpers ----------------------------------------------------------------
def _write_table(rows: Iterable[dict[str, str]], columns: tuple[str, ...], path: Path) -> None:
    write_csv(path, rows, columns)


def _read_csv(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            rows = [{k: (v or "") for k, v in r.items() if k is not None} for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise WallthickError(f"{path}: cannot read the CSV table ({exc}).") from exc
    missing = [c for c in required if c not in header]
    if missing:
        raise WallthickError(
            f"{path}: not a wallthick table, columns {', '.join(missing)} are missing."
        )
    return rows


def _row_from_json(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WallthickError(f"{path}: cannot read the measurement record ({exc}).") from exc
    return _row_from_record(data, path)


def _row_from_record(data: Any, path: Path) -> dict[str, str]:
    """The row of a record, or of a bare :meth:`Measurement.to_dict` document."""
    if isinstance(data, dict) and isinstance(data.get("row"), dict):
        return {c: str(data["row"].get(c, "") or "") for c in CSV_COLUMNS}
    doc = data.get("measurement") if isinstance(data, dict) else None
    doc = doc if isinstance(doc, dict) else data
    if not isinstance(doc, dict) or "septal_thickness_mm" not in doc:
        raise WallthickError(
            f"{path}: not a wallthick measurement record (no 'row' and no measurement)."
        )
    try:
        return Measurement.from_dict(doc).to_row()
    except (TypeError, ValueError, KeyError) as exc:
        raise WallthickError(f"{path}: the measurement cannot be parsed ({exc}).") from exc
