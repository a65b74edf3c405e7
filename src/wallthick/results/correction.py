"""Saving an analyst's corrected segmentation with its provenance (headless or from napari).

A correction is ``segmentation_corrected.nii.gz`` plus
``correction_provenance.json`` in the series' folder; the next ``wallthick
batch`` run measures it instead of segmenting (``segmentation_source`` is
``corrected``).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wallthick.errors import WallthickError
from wallthick.measure.result import Measurement, MeasurementResult
from wallthick.results.atomic import atomic_write_json
from wallthick.results.labelmaps import read_labels, write_labels
from wallthick.results.layout import CORRECTED_NIFTI, CORRECTION_PROVENANCE, SEGMENTATION_NIFTI
from wallthick.results.provenance import build_provenance
from wallthick.volume import ImageVolume, LabelVolume

__all__ = [
    "SavedCorrection",
    "check_correction",
    "read_provenance",
    "save_correction",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class SavedCorrection:
    """What :func:`save_correction` wrote, and the two measurements it compared."""

    files: Mapping[str, Path]
    provenance: Mapping[str, Any]
    result: MeasurementResult
    automatic: LabelVolume
    automatic_measurement: Measurement


def check_correction(folder: Path, corrected: LabelVolume, reference: LabelVolume | None) -> None:
    """Refuse a correction that cannot be compared with its automatic segmentation.

    Raises
    ------
    WallthickError
        No automatic segmentation, one on another grid, or no voxel changed.
    """
    if reference is None:
        raise WallthickError(
            f"{folder.name}: no automatic segmentation to compare the correction with; "
            "segment the scan first."
        )
    if not reference.geometry.same_grid(corrected.geometry, atol=1e-3):
        raise WallthickError(
            f"{folder.name}: the automatic segmentation is on another grid than the "
            "corrected labels; reopen the results folder."
        )
    if np.array_equal(reference.array, corrected.array):
        raise WallthickError(
            "The labels are identical to the automatic segmentation; nothing to save."
        )


def save_correction(
    folder: str | os.PathLike[str],
    corrected: LabelVolume,
    image: ImageVolume | None,
    *,
    automatic: LabelVolume | None = None,
    reference: LabelVolume | None = None,
    source_image: ImageVolume | None = None,
    analyst: str = "",
    versions: Mapping[str, str] | None = None,
    result: MeasurementResult | None = None,
    automatic_measurement: Measurement | None = None,
    extra: Mapping[str, Any] | None = None,
) -> SavedCorrection:
    """Measure a corrected segmentation and save it, with provenance, into a series folder.

    Parameters
    ----------
    folder : path
        The series folder (:func:`~wallthick.results.find_series_folder`); created.
    corrected : LabelVolume
        The corrected labels, on the grid of ``image`` (the scan's own grid,
        or a grid the scan was resampled onto, such as the short axis).
    image : ImageVolume or None
        The CT on ``corrected``'s grid (None measures without edge refinement).
    automatic : LabelVolume, optional
        The automatic segmentation on the scan's own grid; default the
        folder's ``segmentation.nii.gz``. Written when the folder has none.
    reference : LabelVolume, optional
        The automatic segmentation on ``corrected``'s grid, for the voxel
        counts of the provenance; default ``automatic``.
    source_image : ImageVolume, optional
        The CT on its own grid when ``image`` was resampled; default ``image``.
    analyst : str
        Name of the analyst (the OS user when empty).
    versions : mapping, optional
        Extra software versions to record (napari, plugin).
    result, automatic_measurement : optional
        The measurements of the corrected and automatic labels when already
        made (measured here otherwise).
    extra : mapping, optional
        More provenance entries (e.g. per-segment changes of a short-axis edit).

    Returns
    -------
    SavedCorrection

    Raises
    ------
    WallthickError
        See :func:`check_correction`; or the labels cannot be measured.
    """
    from wallthick.measure import measure_labels

    out = Path(folder)
    scan = source_image if source_image is not None else image
    auto = automatic if automatic is not None else _folder_automatic(out)
    ref = reference if reference is not None else auto
    check_correction(out, corrected, ref)
    assert auto is not None and ref is not None
    if result is None:
        result = measure_labels(corrected, image, segmentation_source="corrected")
    before = automatic_measurement
    if before is None:
        before = measure_labels(auto, scan, segmentation_source="auto").measurement
    prov = build_provenance(
        ref.array,
        corrected.array,
        before,
        result.measurement,
        analyst=analyst,
        versions=versions,
        files={"automatic": SEGMENTATION_NIFTI, "corrected": CORRECTED_NIFTI},
    )
    prov.update(extra or {})
    prov["source_path"] = "" if scan is None else str(scan.metadata.get("source_path", ""))
    prov["series_key"] = _key_or_empty(scan)
    files = write_correction(out, corrected, auto, prov)
    return SavedCorrection(files, prov, result, auto, before)


def write_correction(
    folder: str | os.PathLike[str],
    corrected: LabelVolume,
    automatic: LabelVolume | None,
    provenance: Mapping[str, Any],
) -> dict[str, Path]:
    """Write a corrected segmentation and its provenance into a series folder.

    Every file is written atomically. The automatic ``segmentation.nii.gz``
    is never overwritten; it is written from ``automatic`` only when the
    folder does not have one yet.

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
        written["segmentation"] = write_labels(automatic, out / SEGMENTATION_NIFTI)
    written["segmentation_corrected"] = write_labels(corrected, out / CORRECTED_NIFTI)
    atomic_write_json(out / CORRECTION_PROVENANCE, dict(provenance))
    written["correction_provenance"] = out / CORRECTION_PROVENANCE
    return written


def read_provenance(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The folder's ``correction_provenance.json``, or None (missing or unreadable, logged)."""
    path = Path(folder) / CORRECTION_PROVENANCE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("%s: unreadable %s (%s)", Path(folder).name, CORRECTION_PROVENANCE, exc)
        return None
    return data if isinstance(data, dict) else None


def _folder_automatic(folder: Path) -> LabelVolume | None:
    path = folder / SEGMENTATION_NIFTI
    return read_labels(path) if path.is_file() else None


def _key_or_empty(image: ImageVolume | None) -> str:
    from wallthick.results.folders import image_series_key

    try:
        return "" if image is None else image_series_key(image)
    except WallthickError:
        return ""
