"""Label maps of a results folder: the one reader (with its checks) and the one writer."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from wallthick.errors import WallthickError
from wallthick.results.atomic import atomic_write
from wallthick.volume import LabelVolume

if TYPE_CHECKING:  # pragma: no cover
    import SimpleITK as sitk

__all__ = ["read_labels", "write_labels"]


def read_labels(path: str | os.PathLike[str]) -> LabelVolume:
    """A label map written by wallthick (``segmentation*.nii.gz``) as a :class:`LabelVolume`.

    Parameters
    ----------
    path : path
        NIfTI (or NRRD/MHA) label image on its own grid.

    Returns
    -------
    LabelVolume
        ``uint8`` values, ``metadata["source_path"]`` the file.

    Raises
    ------
    WallthickError
        The file is missing or unreadable, not a 3-D scalar image, holds
        non-integer values, or values outside 0-255. The message names the file.
    """
    p = Path(path)
    image = _read_image(p)
    import SimpleITK as sitk

    array = sitk.GetArrayViewFromImage(image)
    if not np.issubdtype(array.dtype, np.integer) and not np.array_equal(array, np.round(array)):
        raise WallthickError(f"{p}: not an integer label map (dtype {array.dtype}).")
    if array.size and (array.min() < 0 or array.max() > 255):
        raise WallthickError(
            f"{p}: label values must lie in 0-255, found {array.min():g} to {array.max():g}."
        )
    try:
        labels = LabelVolume.from_sitk(sitk.Cast(image, sitk.sitkUInt8), {"source_path": str(p)})
    except ValueError as exc:
        raise WallthickError(f"{p}: not a 3-D label map ({exc}).") from exc
    return labels


def _read_image(path: Path) -> sitk.Image:
    import SimpleITK as sitk

    if not path.is_file():
        raise WallthickError(f"{path}: label map not found.")
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise WallthickError(f"{path}: the label map cannot be read ({first}).") from exc
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise WallthickError(
            f"{path}: a label map must be a 3-D scalar image, got {image.GetDimension()}-D "
            f"with {image.GetNumberOfComponentsPerPixel()} component(s)."
        )
    return image


def write_labels(labels: LabelVolume, path: str | os.PathLike[str]) -> Path:
    """Write ``labels`` as a compressed NIfTI (or the format of ``path``'s suffix), atomically.

    Returns
    -------
    Path
        ``path``.
    """
    import SimpleITK as sitk

    target = Path(path)
    with atomic_write(target) as tmp:
        sitk.WriteImage(labels.to_sitk(), str(tmp), useCompression=True)
    return target
