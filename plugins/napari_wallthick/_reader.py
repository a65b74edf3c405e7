"""napari reader: DICOM folders/files, NIfTI/NRRD volumes and wallthick results folders."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from napari_wallthick._convert import image_layer_data, labels_layer_data
from napari_wallthick._results import SeriesResults, is_results_folder, read_results_folder
from wallthick import ImageVolume, WallthickError
from wallthick.io import load_image

__all__ = ["napari_get_reader", "read_path"]

logger = logging.getLogger(__name__)

LayerData = tuple[Any, dict[str, Any], str]
_VOLUME_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")


def napari_get_reader(
    path: str | Sequence[str],
) -> Callable[[str | Sequence[str]], list[LayerData]] | None:
    """Return :func:`read_path` when wallthick can open ``path``, else None."""
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if len(paths) != 1:
        return None  # one scan (or one results folder) at a time
    p = Path(paths[0])
    if p.is_dir():
        return read_path if is_results_folder(p) or _has_dicom(p) else None
    if p.name.lower().endswith(_VOLUME_SUFFIXES) or _is_dicom(p):
        return read_path
    return None


def read_path(path: str | Sequence[str]) -> list[LayerData]:
    """Read one path into napari LayerDataTuples (raises WallthickError on bad input)."""
    p = Path(path if isinstance(path, (str, os.PathLike)) else path[0])
    if is_results_folder(p):
        layers: list[LayerData] = []
        for series in read_results_folder(p):
            layers.extend(series_layers(series))
        if not layers:
            raise WallthickError(f"{p}: the results folder holds no measured series.")
        return layers
    image = load_image(p)
    return [image_layer_data(image, _display_name(image, p))]


def series_layers(series: SeriesResults) -> list[LayerData]:
    """The Image and Labels layers of one series of a results folder."""
    context = {
        "results_folder": str(series.folder.parent),
        "series_folder": str(series.folder),
        "segmentation_source": "corrected" if series.corrected else "auto",
        "measurement": series.measurement.to_dict() if series.measurement else None,
        "provenance": series.provenance,
    }
    tag = series.folder.name
    layers: list[LayerData] = []
    if series.image is not None:
        layers.append(image_layer_data(series.image, f"CT {tag}", context))
    if series.labels is not None:
        kind = "corrected" if series.corrected else "automatic"
        layers.append(
            labels_layer_data(
                series.labels,
                f"segmentation {tag}",
                {**context, "image_name": f"CT {tag}", "source_kind": kind},
            )
        )
    return layers


def _display_name(image: ImageVolume, path: Path) -> str:
    desc = image.metadata.get("series_description")
    if isinstance(desc, str) and desc.strip() and desc != path.name:
        return desc.strip()
    name = path.name
    for suffix in _VOLUME_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _has_dicom(folder: Path, limit: int = 200) -> bool:
    """True when one of the first ``limit`` files below ``folder`` is DICOM."""
    for n, path in enumerate(folder.rglob("*")):
        if n >= limit:
            return False
        if _is_dicom(path):
            return True
    return False


def _is_dicom(path: Path) -> bool:
    if not path.is_file():
        return False
    if path.suffix.lower() in (".dcm", ".dicom", ".ima"):
        return True
    try:
        with open(path, "rb") as fh:
            fh.seek(128)
            return fh.read(4) == b"DICM"
    except OSError:
        return False
