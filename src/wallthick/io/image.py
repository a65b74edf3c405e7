"""``load_image``: one entry point for a DICOM folder/file or a volume file."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from wallthick.errors import InvalidSeriesError
from wallthick.volume import ImageVolume

__all__ = ["load_image", "load_volume_file"]

logger = logging.getLogger(__name__)

VOLUME_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")


def load_volume_file(path: str | os.PathLike[str]) -> ImageVolume:
    """Load a NIfTI/NRRD/MetaImage volume through SimpleITK (geometry in LPS)."""
    import SimpleITK as sitk

    p = Path(path)
    try:
        img = sitk.ReadImage(str(p))
    except RuntimeError as exc:
        raise InvalidSeriesError(f"{p}: cannot read volume file ({exc}).") from exc
    return ImageVolume.from_sitk(img, {"source_path": str(p)})


def load_image(path: str | os.PathLike[str]) -> ImageVolume:
    """Load a DICOM folder, one file of a DICOM series, or a volume file."""
    p = Path(path)
    if p.is_dir():
        return _load_folder(p, None)
    if p.name.lower().endswith(VOLUME_SUFFIXES):
        return load_volume_file(p)
    try:
        ds = pydicom.dcmread(p, stop_before_pixels=True)
    except (InvalidDicomError, OSError) as exc:
        raise InvalidSeriesError(f"{p}: neither DICOM nor a volume file ({exc}).") from exc
    return _load_folder(p.parent, str(ds.get("SeriesInstanceUID", "")))


def _load_folder(folder: Path, series_uid: str | None) -> ImageVolume:
    slices = []
    for f in sorted(folder.iterdir()):
        if not f.is_file() or f.name.startswith("."):
            continue
        try:
            ds = pydicom.dcmread(f)
        except (InvalidDicomError, OSError):
            continue
        if "PixelData" not in ds or "ImagePositionPatient" not in ds:
            continue
        if series_uid is None:
            series_uid = str(ds.SeriesInstanceUID)
        if str(ds.get("SeriesInstanceUID", "")) == series_uid:
            slices.append(ds)
    if not slices:
        raise InvalidSeriesError(f"{folder}: no DICOM image slices found.")
    iop = np.asarray(slices[0].ImageOrientationPatient, dtype=float)
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    slices.sort(key=lambda d: float(np.dot(np.asarray(d.ImagePositionPatient, float), normal)))
    pos = np.array([np.asarray(d.ImagePositionPatient, float) for d in slices])
    dz = float(np.median(np.diff(pos @ normal))) if len(slices) > 1 else 1.0
    arr = np.empty((len(slices), slices[0].Rows, slices[0].Columns), np.float32)
    for i, d in enumerate(slices):
        arr[i] = d.pixel_array * float(d.get("RescaleSlope", 1)) + float(
            d.get("RescaleIntercept", 0)
        )
    ps = [float(v) for v in slices[0].PixelSpacing]
    direction = np.stack([normal, col, row], axis=1)
    return ImageVolume(
        arr, np.array([dz, ps[0], ps[1]]), pos[0], direction, {"source_path": str(folder)}
    )
