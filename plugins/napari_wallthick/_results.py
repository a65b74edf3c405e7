"""Results folders written by ``wallthick batch``/``measure`` and the plugin's corrections.

No napari import: the reader and the widget call these functions.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wallthick import ImageVolume, LabelVolume, Measurement
from wallthick.io import load_image
from wallthick.results import (
    CORRECTED_NIFTI,
    CSV_NAME,
    RECORD_NAME,
    SEGMENTATION_NIFTI,
    StoredResult,
    find_series_folder,
    load_results,
    read_labels,
    read_provenance,
)

__all__ = [
    "SeriesResults",
    "correction_folder",
    "is_results_folder",
    "read_results_folder",
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


def correction_folder(results_dir: str | os.PathLike[str], image: ImageVolume) -> Path:
    """The series folder of ``image`` inside a results root, as ``wallthick batch``
    names it (also for a UID discovery split, ``UID#n``); not created."""
    return find_series_folder(results_dir, image)


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
        provenance=read_provenance(stored.folder),
    )


def _from_plugin_folder(folder: Path) -> SeriesResults:
    """A series folder holding only a correction saved by this plugin."""
    provenance = read_provenance(folder) or {}
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
