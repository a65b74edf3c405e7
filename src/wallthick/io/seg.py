"""Reading DICOM Segmentation (SEG) objects: segments, their codes and their grid.

A SEG is read into a :class:`~wallthick.volume.LabelVolume` of *segment
numbers* on the SEG's own LPS grid (highdicom ``get_volume``), with the
description of every segment (number, label, segmented property type code)
and the series it references. Mapping segments to wallthick labels and
resampling onto an image grid happen in :mod:`wallthick.segment.labelmap`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wallthick.errors import MissingDependencyError, SegmentationError
from wallthick.volume import Geometry, LabelVolume

__all__ = [
    "SEG_SOP_CLASS_UID",
    "DicomSeg",
    "SegSegment",
    "is_dicom_seg",
    "read_dicom_seg",
    "referenced_series_uids",
]

logger = logging.getLogger(__name__)

#: SOP Class UID of the DICOM Segmentation Storage object.
SEG_SOP_CLASS_UID = "1.2.840.10008.5.1.4.1.1.66.4"


@dataclass(frozen=True)
class SegSegment:
    """One segment of a DICOM SEG.

    Attributes
    ----------
    number : int
        SegmentNumber (the value of the segment in :attr:`DicomSeg.labels`).
    label : str
        SegmentLabel as written by the producer (e.g. ``"LV myocardium"``).
    property_type : str
        SegmentedPropertyTypeCodeSequence as ``"SCHEME:VALUE"``
        (e.g. ``"SCT:49848007"``), empty when absent.
    property_meaning : str
        The code's meaning (e.g. ``"Myocardium of left ventricle"``).
    """

    number: int
    label: str
    property_type: str = ""
    property_meaning: str = ""


@dataclass(frozen=True)
class DicomSeg:
    """A DICOM SEG read into segment numbers on its own grid."""

    labels: LabelVolume
    segments: tuple[SegSegment, ...]
    referenced_series_uids: tuple[str, ...]


def _read_header(path: Path) -> Any:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(
            path,
            stop_before_pixels=True,
            specific_tags=["SOPClassUID", "Modality", "ReferencedSeriesSequence"],
        )
    except (InvalidDicomError, OSError, ValueError, AttributeError, KeyError) as exc:
        raise SegmentationError(f"{path}: cannot read the DICOM header ({exc}).") from exc


def _has_preamble(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(132)[128:132] == b"DICM"
    except OSError:
        return False


def is_dicom_seg(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a DICOM file whose SOP class (or modality) is SEG.

    Reads only the header; any unreadable file is simply not a SEG.
    """
    p = Path(path)
    if not p.is_file() or not _has_preamble(p):
        return False
    try:
        ds = _read_header(p)
    except SegmentationError:
        return False
    sop = str(getattr(ds, "SOPClassUID", "") or "")
    return sop == SEG_SOP_CLASS_UID or str(getattr(ds, "Modality", "")).upper() == "SEG"


def referenced_series_uids(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """SeriesInstanceUIDs named by a SEG's ReferencedSeriesSequence (header only).

    Raises
    ------
    SegmentationError
        The file cannot be read as DICOM.
    """
    ds = _read_header(Path(path))
    uids = [
        str(item.get("SeriesInstanceUID", "")) for item in ds.get("ReferencedSeriesSequence", [])
    ]
    return tuple(dict.fromkeys(u for u in uids if u))


def read_dicom_seg(path: str | os.PathLike[str]) -> DicomSeg:
    """Read a DICOM SEG: segment numbers on its LPS grid, segments and references.

    Parameters
    ----------
    path : path
        A DICOM Segmentation file (binary or fractional; fractional segments
        are thresholded at 0.5 by highdicom).

    Returns
    -------
    DicomSeg

    Raises
    ------
    MissingDependencyError
        highdicom is not installed.
    SegmentationError
        The file is not a readable 3-D SEG (the message names the file).
    """
    p = Path(path)
    try:
        import highdicom as hd
    except ImportError as exc:
        raise MissingDependencyError("Reading DICOM SEG label maps", "highdicom") from exc
    if not p.is_file():
        raise SegmentationError(f"{p}: DICOM SEG not found.")
    try:
        seg = hd.seg.segread(str(p))
        volume = seg.get_volume(combine_segments=True, relabel=False, skip_overlap_checks=True)
    except (ValueError, RuntimeError, AttributeError, KeyError, TypeError, OSError) as exc:
        raise SegmentationError(f"{p}: cannot read it as a 3-D DICOM SEG ({exc}).") from exc
    if volume is None:
        raise SegmentationError(f"{p}: the DICOM SEG holds no frames.")
    affine = np.asarray(volume.affine, dtype=np.float64)
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    geometry = Geometry(volume.spatial_shape, spacing, affine[:3, 3], affine[:3, :3] / spacing)
    array = np.asarray(volume.array)
    if array.ndim != 3:
        raise SegmentationError(f"{p}: expected a 3-D DICOM SEG, got {array.ndim}-D frames.")
    labels = LabelVolume.from_geometry(array.astype(np.uint16), geometry)
    segments = tuple(_segment(item) for item in seg.SegmentSequence)
    refs = [str(r.get("SeriesInstanceUID", "")) for r in seg.get("ReferencedSeriesSequence", [])]
    return DicomSeg(labels, segments, tuple(dict.fromkeys(u for u in refs if u)))


def _segment(item: Any) -> SegSegment:
    code = ""
    meaning = ""
    types = item.get("SegmentedPropertyTypeCodeSequence", [])
    if types:
        first = types[0]
        code = f"{first.get('CodingSchemeDesignator', '')}:{first.get('CodeValue', '')}"
        meaning = str(first.get("CodeMeaning", ""))
    return SegSegment(int(item.SegmentNumber), str(item.get("SegmentLabel", "")), code, meaning)
