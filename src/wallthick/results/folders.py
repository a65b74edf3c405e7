"""Which series folder of a results root belongs to a loaded scan.

``wallthick batch`` names a folder by the series key of :func:`series_keys`,
which carries a ``#n`` suffix when discovery split one SeriesInstanceUID into
several series. A scan opened on its own (in napari, or loaded by a script)
knows only its UID, so :func:`find_series_folder` looks for the folder among
the records of the results root, and else discovers the scan's folder again
to number the split series as the batch does.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from wallthick.errors import WallthickError
from wallthick.results.layout import SEGMENTATION_NIFTI, series_keys, series_output_dir
from wallthick.results.record import load_results
from wallthick.volume import Geometry, ImageVolume

if TYPE_CHECKING:  # pragma: no cover
    from wallthick.io import SeriesDescriptor

__all__ = ["find_series_folder", "image_series_key"]

logger = logging.getLogger(__name__)


def image_series_key(image: ImageVolume) -> str:
    """The unsplit key of a loaded scan: its SeriesInstanceUID, else its file.

    ``file:<absolute path>`` for a volume file (as ``wallthick measure``
    names it); the sample's own key for a generated sample image.

    Raises
    ------
    WallthickError
        The image has neither a UID nor a source file.
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


def find_series_folder(results_dir: str | os.PathLike[str], image: ImageVolume) -> Path:
    """The folder of ``image``'s series inside a results root (not created).

    An existing folder whose record names the image's series (``UID`` or
    ``UID#n``) is used; among split series, the one whose segmentation lies
    on the image's grid. Without such a record the key is computed as
    ``wallthick batch`` computes it for the image's source folder.

    Raises
    ------
    WallthickError
        The image has no key (see :func:`image_series_key`).
    """
    root = Path(results_dir)
    key = image_series_key(image)
    if key.startswith(("file:", "phantom:")):
        return series_output_dir(root, key)
    recorded = _recorded_folders(root, key)
    if len(recorded) == 1:
        return recorded[0]
    on_grid = [f for f in recorded if _segmentation_on_grid(f, image.geometry)]
    if len(on_grid) == 1:
        return on_grid[0]
    return series_output_dir(root, _discovered_key(image, key))


def _recorded_folders(root: Path, uid: str) -> list[Path]:
    if not root.is_dir():
        return []
    found = []
    for stored in load_results(root):
        for key in stored.record.folder_uids:
            if key == uid or key.startswith(f"{uid}#"):
                folder = series_output_dir(root, key)
                if folder == stored.folder:
                    found.append(folder)
    return found


def _segmentation_on_grid(folder: Path, grid: Geometry) -> bool:
    import SimpleITK as sitk

    path = folder / SEGMENTATION_NIFTI
    if not path.is_file():
        return False
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return False
    shape = tuple(int(n) for n in reader.GetSize()[::-1])
    spacing = np.asarray(reader.GetSpacing()[::-1])
    origin = np.asarray(reader.GetOrigin())
    return (
        shape == grid.shape
        and np.allclose(spacing, grid.spacing_mm, atol=1e-3)
        and np.allclose(origin, grid.origin_mm, atol=1e-3)
    )


def _discovered_key(image: ImageVolume, uid: str) -> str:
    """The batch's key of ``image``'s series among the series of its source folder."""
    from wallthick.io import discover_series

    source = image.metadata.get("source_path")
    if not isinstance(source, str) or not source or not Path(source).exists():
        return uid
    folder = Path(source) if Path(source).is_dir() else Path(source).parent
    found = list(discover_series(folder))
    same = [i for i, d in enumerate(found) if d.series_instance_uid == uid]
    if len(same) < 2:
        return uid
    keys = series_keys(found)
    match = [i for i in same if _plane_matches(found[i], image.geometry)]
    if len(match) > 1:
        match = [i for i in match if found[i].slice_count == image.geometry.shape[0]] or match
    if len(match) != 1:
        logger.warning(
            "series split by discovery; its folder is ambiguous, using %s", keys[same[0]]
        )
        return keys[same[0]]
    return keys[match[0]]


def _plane_matches(desc: SeriesDescriptor, grid: Geometry) -> bool:
    """The descriptor's image plane (size, pixel spacing, orientation) is the grid's."""
    if (desc.rows, desc.columns) != grid.shape[1:]:
        return False
    if desc.pixel_spacing is not None and not np.allclose(
        desc.pixel_spacing, grid.spacing_mm[1:], atol=1e-3
    ):
        return False
    if desc.orientation is None:
        return True
    along_row, along_column = np.asarray(desc.orientation[:3]), np.asarray(desc.orientation[3:])
    return bool(
        np.allclose(along_row, grid.direction[:, 2], atol=1e-2)
        and np.allclose(along_column, grid.direction[:, 1], atol=1e-2)
    )
