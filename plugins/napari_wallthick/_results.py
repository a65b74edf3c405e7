"""Results folders written by ``wallthick batch``/``measure`` and the plugin's corrections.

No napari import: the reader and the widget call these functions.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wallthick import ImageVolume, LabelVolume, Measurement, WallthickError
from wallthick.batch import CSV_NAME, StoredResult, load_results, series_output_dir
from wallthick.batch.outputs import (
    CORRECTED_NIFTI,
    CORRECTION_PROVENANCE,
    RECORD_NAME,
    SEGMENTATION_NIFTI,
    atomic_write,
    atomic_write_json,
)
from wallthick.io import load_image, load_volume_file

__all__ = [
    "SeriesResults",
    "correction_folder",
    "is_results_folder",
    "read_labels",
    "read_results_folder",
    "series_key",
    "write_correction",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class SeriesResults:
    """One series read back from a results folder.

    ``labels`` is the corrected segmentation when one was saved, else the
    automatic one; ``image`` is None when the source scan is no longer where
    the record says.
    """

    folder: Path
    image: ImageVolume | None
    labels: LabelVolume | None
    corrected: bool
    measurement: Measurement | None
    row: dict[str, str]
    provenance: dict[str, Any] | None


def is_results_folder(path: str | os.PathLike[str]) -> bool:
    """True for a results root (``measurements.csv``) or one series folder of it."""
    p = Path(path)
    return p.is_dir() and (
        (p / CSV_NAME).is_file() or (p / RECORD_NAME).is_file() or (p / CORRECTED_NIFTI).is_file()
    )


def series_key(image: ImageVolume) -> str:
    """The key naming a scan's results folder, as ``wallthick batch`` names it.

    The SeriesInstanceUID for DICOM; ``file:<absolute path>`` for a volume file;
    the sample's own key for the phantom of File > Open Sample.
    """
    meta = image.metadata
    for key in ("series_instance_uid", "SeriesInstanceUID"):
        uid = meta.get(key)
        if isinstance(uid, str) and uid:
            return uid
    source = meta.get("source_path")
    if isinstance(source, str) and source:
        return f"file:{os.path.abspath(source)}"
    sample = meta.get("sample_key")
    if isinstance(sample, str) and sample:
        return sample
    raise WallthickError(
        "This image has neither a SeriesInstanceUID nor a source file, so its results "
        "folder cannot be named; open it from a file or from a results folder."
    )


def correction_folder(results_dir: str | os.PathLike[str], image: ImageVolume) -> Path:
    """The series folder of ``image`` inside a results root (not created)."""
    return series_output_dir(results_dir, series_key(image))


def read_labels(path: str | os.PathLike[str]) -> LabelVolume:
    """A segmentation NIfTI as a :class:`LabelVolume`."""
    vol = load_volume_file(path)
    array = np.asarray(vol.array)
    if not np.issubdtype(array.dtype, np.integer):
        if not np.array_equal(array, np.round(array)):
            raise WallthickError(f"{Path(path).name}: not an integer label map.")
    return LabelVolume.from_geometry(
        array.astype(np.uint8), vol.geometry, {"source_path": str(path)}
    )


def read_results_folder(path: str | os.PathLike[str]) -> list[SeriesResults]:
    """Every measured series of a results root, or the one series of a series folder."""
    p = Path(path)
    if (p / CSV_NAME).is_file():
        return [_from_stored(s) for s in load_results(p) if s.measurement is not None]
    stored = [s for s in load_results(p.parent) if s.folder.resolve() == p.resolve()]
    if stored:
        return [_from_stored(stored[0])]
    return [_from_plugin_folder(p)]


def _from_stored(stored: StoredResult) -> SeriesResults:
    source = stored.row.get("source_path", "")
    corrected_path = stored.corrected_segmentation_path
    labels_path = corrected_path or stored.segmentation_path
    return SeriesResults(
        folder=stored.folder,
        image=_load_source(source, stored.folder),
        labels=read_labels(labels_path) if labels_path else None,
        corrected=corrected_path is not None,
        measurement=stored.measurement,
        row=dict(stored.row),
        provenance=_read_provenance(stored.folder),
    )


def _from_plugin_folder(folder: Path) -> SeriesResults:
    """A series folder holding only a correction saved by this plugin."""
    provenance = _read_provenance(folder) or {}
    source = str(provenance.get("source_path", "")) or str(provenance.get("series_key", ""))
    labels_path = folder / CORRECTED_NIFTI
    if not labels_path.is_file():
        labels_path = folder / SEGMENTATION_NIFTI
    return SeriesResults(
        folder=folder,
        image=_load_source(source, folder),
        labels=read_labels(labels_path) if labels_path.is_file() else None,
        corrected=labels_path.name == CORRECTED_NIFTI,
        measurement=None,
        row={},
        provenance=provenance or None,
    )


def _load_source(source: str, folder: Path) -> ImageVolume | None:
    if source.startswith("phantom:"):
        return _sample_image(source)
    if not source or not Path(source).exists():
        logger.warning("%s: the source scan is not available; showing the labels only", folder.name)
        return None
    return load_image(source)


def _sample_image(key: str) -> ImageVolume | None:
    """The phantom of File > Open Sample, regenerated from its key ``phantom:<seed>:<visit>``."""
    from napari_wallthick._sample_data import sample_image

    try:
        _, seed, visit = key.split(":")
        return sample_image(visit, int(seed))
    except ValueError as exc:
        logger.warning("unknown sample key %r (%s)", key, exc)
        return None


def _read_provenance(folder: Path) -> dict[str, Any] | None:
    path = folder / CORRECTION_PROVENANCE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("%s: unreadable %s (%s)", folder.name, CORRECTION_PROVENANCE, exc)
        return None
    return data if isinstance(data, dict) else None


def write_correction(
    folder: str | os.PathLike[str],
    corrected: LabelVolume,
    automatic: LabelVolume | None,
    provenance: dict[str, Any],
) -> dict[str, Path]:
    """Save a corrected segmentation and its provenance into a series folder.

    Every file is written atomically (temporary file, then rename). The
    automatic ``segmentation.nii.gz`` is never overwritten; it is written
    from ``automatic`` only when the folder does not have one yet.

    Returns
    -------
    dict
        ``{"segmentation_corrected": path, "correction_provenance": path}`` and
        ``"segmentation"`` when it was written now.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    if automatic is not None and not (out / SEGMENTATION_NIFTI).is_file():
        written["segmentation"] = _write_nifti(automatic, out / SEGMENTATION_NIFTI)
    written["segmentation_corrected"] = _write_nifti(corrected, out / CORRECTED_NIFTI)
    atomic_write_json(out / CORRECTION_PROVENANCE, provenance)
    written["correction_provenance"] = out / CORRECTION_PROVENANCE
    return written


def _write_nifti(labels: LabelVolume, path: Path) -> Path:
    import SimpleITK as sitk

    with atomic_write(path) as tmp:
        sitk.WriteImage(labels.to_sitk(), str(tmp), useCompression=True)
    return path
