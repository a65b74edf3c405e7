"""Plausibility checks of one measurement.

Each failed criterion is a short machine-readable name:

``wall_thickness_range``
    septal or posterior thickness, or a segment mean, outside the range.
``cavity_volume_range``
    LV cavity volume outside the plausible range.
``myocardium_continuity``
    the mid-ventricular myocardium is not a closed ring, or the myocardium
    is in pieces.
``segment_coverage``
    an AHA segment 1-16 has too few wall points (or the septal/posterior
    value or its uncertainty could not be formed).
``fov_clipping``
    the LV touches the border of the image over more than
    ``options.max_border_contact_mm2`` (heart cut by the field of view).
``long_axis``
    apex-to-base length implausible (< 30 mm or > 150 mm).
``rv_insertion_not_found``
    no RV contact arc: the septum direction is a default guess, so the
    septal and posterior values are not trustworthy.

Any failed criterion makes the measurement's status ``qc_failed``
(:attr:`wallthick.measure.result.Measurement.status`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from wallthick.labels import Label
from wallthick.measure.frame import FrameGeometry
from wallthick.measure.grid import LVCrop
from wallthick.measure.options import MeasureOptions
from wallthick.measure.result import SegmentStats

__all__ = ["SEVERE", "QCValues", "border_contact_mm2", "quality_flags"]

#: criteria that make the septal/posterior values untrustworthy
SEVERE = (
    "wall_thickness_range",
    "cavity_volume_range",
    "myocardium_continuity",
    "segment_coverage",
    "fov_clipping",
    "long_axis",
    "rv_insertion_not_found",
)


@dataclass(frozen=True)
class QCValues:
    """The measured values whose plausibility QC checks."""

    septal_mm: float
    posterior_mm: float
    cavity_ml: float
    segments: tuple[SegmentStats, ...]
    septal_uncertainty_mm: float = 0.0
    posterior_uncertainty_mm: float = 0.0


def quality_flags(
    *,
    crop: LVCrop,
    full_shape: Sequence[int],
    frame: FrameGeometry,
    values: QCValues,
    options: MeasureOptions,
) -> tuple[str, ...]:
    """Names of the failed criteria (empty when everything is plausible)."""
    flags: list[str] = []
    lo, hi = options.wall_range_mm
    named = [values.septal_mm, values.posterior_mm]
    seg_vals = [s.mean_mm for s in values.segments if math.isfinite(s.mean_mm)]
    if any(math.isfinite(v) and not lo <= v <= hi for v in named + seg_vals):
        flags.append("wall_thickness_range")
    vlo, vhi = options.cavity_volume_range_ml
    if not vlo <= values.cavity_ml <= vhi:
        flags.append("cavity_volume_range")
    if not _ring_closed(crop, frame):
        flags.append("myocardium_continuity")
    counts = {s.segment: s.n_points for s in values.segments}
    low = [s for s in range(1, 17) if counts.get(s, 0) < options.min_segment_points]
    uncertainties = [values.septal_uncertainty_mm, values.posterior_uncertainty_mm]
    if low or not all(math.isfinite(v) for v in named + uncertainties):
        flags.append("segment_coverage")
    if border_contact_mm2(crop, full_shape) > options.max_border_contact_mm2:
        flags.append("fov_clipping")
    length = float(np.linalg.norm(frame.base_center - frame.apex))
    if not 30.0 <= length <= 150.0:
        flags.append("long_axis")
    flags.extend(f for f in frame.flags if f not in flags)
    return tuple(flags)


def _ring_closed(crop: LVCrop, frame: FrameGeometry) -> bool:
    """Myocardium in one piece and closed all around at mid-ventricle."""
    lab, n = ndimage.label(crop.myo)
    if n > 1:
        sizes = np.bincount(lab.ravel())[1:]
        if np.sort(sizes)[-2] > 0.05 * sizes.sum():
            return False
    pts = crop.iso_points(crop.myo)
    lev = frame.level(pts)
    ang = frame.angle_deg(pts[(lev > 0.4) & (lev < 0.6)])
    if ang.size < 20:
        return False
    hist = np.bincount(((ang % 360.0) // 10.0).astype(int), minlength=36)
    return bool(np.all(hist[:36] > 0))


def border_contact_mm2(crop: LVCrop, full_shape: Sequence[int]) -> float:
    """Area (mm²) of the LV's voxel faces lying on the border of the image."""
    lv = (crop.labels == Label.LV_MYOCARDIUM) | (crop.labels == Label.LV_BLOOD_POOL)
    spacing = np.asarray(crop.spacing, dtype=np.float64)
    area = 0.0
    for axis in range(3):
        n = crop.labels.shape[axis]
        face = float(np.prod(np.delete(spacing, axis)))
        if crop.start[axis] == 0:
            area += face * int(np.count_nonzero(np.take(lv, 0, axis=axis)))
        if crop.start[axis] + n == full_shape[axis]:
            area += face * int(np.count_nonzero(np.take(lv, n - 1, axis=axis)))
    return area
