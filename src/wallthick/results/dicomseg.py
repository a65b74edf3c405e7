"""Labels as a DICOM Segmentation (highdicom) that references the source CT.

One binary segment per structure, with SNOMED CT coded concepts so viewers
(3D Slicer, OHIF) show meaningful names and colours:

====  ==========================  ==================  =====================
No.   label                       category            type
====  ==========================  ==================  =====================
1     LV cavity (blood pool)      Anatomical struct.  Left ventricle
2     LV myocardium               Anatomical struct.  Myocardium of LV
3     RV cavity (blood pool)      Anatomical struct.  Right ventricle
4     Left atrium                 Anatomical struct.  Left atrium
5     Aorta                       Anatomical struct.  Aorta
====  ==========================  ==================  =====================

Segment numbers equal :class:`wallthick.labels.Label` values. The labels are
passed to highdicom as a :class:`highdicom.Volume`, so the SEG frames carry
their own plane positions: it stays correct even when the loader resampled the
series (gantry tilt, uneven spacing). Frames are written only where a segment
is present: the volume is cut to the slab of slices holding labels (full
in-plane size, so the frames stay pixel-aligned with the CT images, which
viewers such as OHIF expect), and only the CT images within that slab are
referenced as its source images.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from wallthick._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from highdicom.color import CIELabColor
from wallthick.errors import InvalidSeriesError
from wallthick.labels import LABEL_COLORS, LABEL_SNOMED_CODES, Label
from wallthick.volume import LabelVolume

__all__ = ["write_dicom_seg"]

logger = logging.getLogger(__name__)

_SEGMENT_LABELS: dict[Label, str] = {
    Label.LV_BLOOD_POOL: "LV cavity (blood pool)",
    Label.LV_MYOCARDIUM: "LV myocardium",
    Label.RV_BLOOD_POOL: "RV cavity (blood pool)",
    Label.LEFT_ATRIUM: "Left atrium",
    Label.AORTA: "Aorta",
}
#: Label -> (segment label, SNOMED CT code value, code meaning).
_SEGMENTS: dict[Label, tuple[str, str, str]] = {
    lab: (name, *LABEL_SNOMED_CODES[lab]) for lab, name in _SEGMENT_LABELS.items()
}


def _color(label: Label) -> CIELabColor:
    import highdicom as hd

    r, g, b = (int(round(255 * c)) for c in LABEL_COLORS[label][:3])
    return hd.color.CIELabColor.from_rgb(r, g, b)


def write_dicom_seg(
    labels: LabelVolume,
    source_files: Sequence[str | os.PathLike[str]],
    out_path: str | os.PathLike[str],
    *,
    corrected: bool = False,
) -> None:
    """Write ``labels`` as a DICOM SEG referencing the CT files ``source_files``.

    Parameters
    ----------
    labels : LabelVolume
        Labels in patient geometry (any grid in the source's frame of reference).
    source_files : sequence of path
        The DICOM files of the source series (headers are read, not pixels).
    out_path : path
        File to write (the caller makes the write atomic).
    corrected : bool
        The labels were edited by hand: algorithm type ``SEMIAUTOMATIC``.

    Raises
    ------
    InvalidSeriesError
        The source files cannot be read as DICOM images of one series.
    """
    import highdicom as hd
    import pydicom
    from pydicom.sr.codedict import codes

    if not source_files:
        raise InvalidSeriesError("DICOM SEG needs the source DICOM files; none were given.")
    try:
        sources = [pydicom.dcmread(f, stop_before_pixels=True) for f in source_files]
    except (OSError, pydicom.errors.InvalidDicomError) as exc:
        raise InvalidSeriesError(f"cannot read source images for DICOM SEG ({exc}).") from exc
    frame_uid = str(sources[0].get("FrameOfReferenceUID", ""))
    if not frame_uid:
        raise InvalidSeriesError("source images have no FrameOfReferenceUID; no DICOM SEG.")
    numbers = [lab for lab in _SEGMENTS if lab <= int(labels.array.max())]
    algorithm = hd.AlgorithmIdentificationSequence(
        name="wallthick",
        family=codes.cid7162.ArtificialIntelligence,
        version=__version__,
    )
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=int(lab),
            segment_label=_SEGMENTS[lab][0],
            segmented_property_category=codes.SCT.AnatomicalStructure,
            segmented_property_type=hd.sr.CodedConcept(_SEGMENTS[lab][1], "SCT", _SEGMENTS[lab][2]),
            algorithm_type="SEMIAUTOMATIC" if corrected else "AUTOMATIC",
            algorithm_identification=algorithm,
            display_color=_color(lab),
        )
        for lab in numbers
    ]
    array = np.where(labels.array <= max(numbers, default=0), labels.array, 0).astype(np.uint8)
    slab = _labelled_slab(array)
    origin = labels.index_to_world((slab.start, 0, 0))
    affine = labels.affine.copy()
    affine[:3, 3] = origin
    volume = hd.Volume(
        np.ascontiguousarray(array[slab]),
        affine,
        coordinate_system="PATIENT",
        frame_of_reference_uid=frame_uid,
    )
    sources = _sources_in_slab(sources, labels, slab)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # highdicom's checks of the (untrusted) source tags
        seg = _segmentation(sources, volume, descriptions, corrected)
    for w in caught[:10]:
        logger.debug("highdicom: %s", w.message)
    seg.save_as(Path(out_path))


def _labelled_slab(array: npt.NDArray[np.uint8]) -> slice:
    """The slices (array axis 0) holding any label: the SEG has no frame elsewhere."""
    planes = np.flatnonzero(array.reshape(array.shape[0], -1).any(axis=1))
    if planes.size == 0:
        return slice(0, array.shape[0])
    return slice(int(planes[0]), int(planes[-1]) + 1)


def _sources_in_slab(sources: list[Any], labels: LabelVolume, slab: slice) -> list[Any]:
    """The source images whose plane lies within the labelled slab (half a slice
    either side): those the SEG's frames derive from. All of them when the
    positions cannot be read or none falls inside (e.g. a resampled grid)."""
    normal = labels.direction[:, 0]
    lo = float(labels.index_to_world((slab.start - 0.5, 0, 0)) @ normal)
    hi = float(labels.index_to_world((slab.stop - 0.5, 0, 0)) @ normal)
    lo, hi = min(lo, hi), max(lo, hi)
    kept = []
    for ds in sources:
        try:
            depth = float(np.asarray(ds.ImagePositionPatient, dtype=float) @ normal)
        except (AttributeError, TypeError, ValueError):
            return sources
        if lo <= depth <= hi:
            kept.append(ds)
    return kept or sources


def _segmentation(sources: list[Any], volume: Any, descriptions: list[Any], corrected: bool) -> Any:
    import highdicom as hd

    return hd.seg.Segmentation(
        source_images=sources,
        pixel_array=volume,
        segmentation_type="BINARY",
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=9001 if corrected else 9000,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="wallthick",
        manufacturer_model_name="wallthick",
        software_versions=__version__,
        device_serial_number="0",
        series_description="wallthick corrected LV" if corrected else "wallthick LV",
        content_label="WALLTHICK",
        content_description="LV cavity, LV myocardium and RV cavity",
    )
