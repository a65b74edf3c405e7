"""``load_image`` and ``load_study``: one entry point for a DICOM folder/file or a volume file."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wallthick.errors import InvalidSeriesError
from wallthick.io.dicom import MAX_VOLUME_BYTES, load_phases, load_series
from wallthick.io.discover import SeriesDescriptor, discover_series, find_phase_groups
from wallthick.volume import ImageVolume

__all__ = ["load_image", "load_study", "load_volume_file", "VOLUME_SUFFIXES"]

logger = logging.getLogger(__name__)

#: File name endings read through SimpleITK.
VOLUME_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")


def load_volume_file(path: str | os.PathLike[str]) -> ImageVolume:
    """Load a NIfTI, NRRD or MetaImage volume through SimpleITK.

    ITK reports geometry in LPS whatever the file's convention (NIfTI's RAS is
    converted), so the result is in the same patient frame as DICOM series.
    Values are returned as ``float32`` (HU for CT).

    Raises
    ------
    InvalidSeriesError
        The file cannot be read, is not a 3-D scalar volume, or is too large.
    """
    import SimpleITK as sitk

    p = Path(path)
    if not p.is_file():
        raise InvalidSeriesError(f"{p}: no such volume file.")
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(p))
    try:
        reader.ReadImageInformation()
        size = reader.GetSize()
        components = reader.GetNumberOfComponents()
    except RuntimeError as exc:
        raise InvalidSeriesError(f"{p}: cannot read volume file ({_first_line(exc)}).") from exc
    if len(size) != 3 or components != 1:
        raise InvalidSeriesError(
            f"{p}: expected a 3-D scalar volume, got {len(size)}-D with {components} component(s)."
        )
    if int(np.prod(size)) * 4 > MAX_VOLUME_BYTES:
        raise InvalidSeriesError(f"{p}: volume of {size} voxels is larger than the loading limit.")
    try:
        image = sitk.Cast(reader.Execute(), sitk.sitkFloat32)
    except RuntimeError as exc:
        raise InvalidSeriesError(f"{p}: cannot read volume file ({_first_line(exc)}).") from exc
    try:
        return ImageVolume.from_sitk(image, _file_metadata(p))
    except ValueError as exc:  # e.g. a degenerate direction matrix
        raise InvalidSeriesError(f"{p}: invalid geometry ({exc}).") from exc


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1][:200] if lines else type(exc).__name__


def _file_metadata(path: Path) -> dict[str, Any]:
    return {
        "patient_id": "",
        "study_date": "",
        "study_time": "",
        "study_instance_uid": "",
        "series_instance_uid": "",
        "series_description": path.name,
        "modality": "",
        "phase": "",
        "source_path": str(path),
    }


def load_image(path: str | os.PathLike[str]) -> ImageVolume:
    """Load a CT volume from a DICOM folder, one file of a DICOM series, or a volume file.

    * a folder: the single usable CT series found in it (refused, listing the
      candidates, when there are several or none);
    * a NIfTI/NRRD/MetaImage file: :func:`load_volume_file`;
    * any other file: the DICOM series it belongs to, found among the files of
      its folder.

    Raises
    ------
    InvalidSeriesError
        Nothing loadable, or several candidate series.
    """
    p = Path(path)
    if p.is_dir():
        return _load_folder(p)
    if not p.is_file():
        raise InvalidSeriesError(f"{p}: no such file or folder.")
    if p.name.lower().endswith(VOLUME_SUFFIXES):
        return load_volume_file(p)
    return _load_file(p)


def load_study(
    source: str | os.PathLike[str] | SeriesDescriptor | Sequence[SeriesDescriptor],
) -> list[ImageVolume]:
    """Every volume of one study to measure: one, or one per cardiac phase.

    Parameters
    ----------
    source : path, SeriesDescriptor or sequence of SeriesDescriptor
        A DICOM folder or file, or a volume file (:func:`load_image`; a folder
        holding exactly one multiphase acquisition gives its phases); a series
        from :func:`discover_series` (a multi-frame series with several
        temporal positions gives one volume per position); or a phase group
        from :func:`find_phase_groups`.

    Returns
    -------
    list of ImageVolume
        Ordered by phase.

    Raises
    ------
    InvalidSeriesError, DecodeError
        As :func:`load_image` and :func:`load_phases`.
    """
    if isinstance(source, SeriesDescriptor):
        return load_phases(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            groups = find_phase_groups(discover_series(path).usable)
            if len(groups) == 1:
                return load_phases(groups[0])
        return [load_image(path)]
    group = list(source)
    if not group or not all(isinstance(d, SeriesDescriptor) for d in group):
        raise TypeError(
            "Argument 'source' must be a path, a SeriesDescriptor or a non-empty sequence "
            f"of SeriesDescriptor, got {type(source).__name__}."
        )
    return load_phases(group)


def _load_folder(folder: Path) -> ImageVolume:
    found = discover_series(folder)
    usable = found.usable
    if len(usable) == 1:
        return load_series(usable[0])
    if not usable:
        reasons = "; ".join(f"{d.label}: {d.skip_reason}" for d in found[:5]) or "no DICOM images"
        raise InvalidSeriesError(f"{folder}: no loadable CT series ({reasons}).")
    names = "; ".join(d.label for d in usable[:5])
    raise InvalidSeriesError(
        f"{folder}: {len(usable)} CT series found ({names}); pick one with "
        "wallthick.io.discover_series() and load_series()."
    )


def _load_file(path: Path) -> ImageVolume:
    found = discover_series(path.parent) if path.parent.is_dir() else discover_series(path)
    resolved = path.resolve()
    mine: list[SeriesDescriptor] = [
        d for d in found if any(f.resolve() == resolved for f in d.files)
    ]
    if not mine:
        reason = next((r.reason for r in found.rejected if r.path.resolve() == resolved), "")
        raise InvalidSeriesError(reason or f"{path}: not part of a DICOM image series.")
    return load_series(mine[0])
