"""``measure_labels``: LV frame, AHA segments, thickness and QC from a label map."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from wallthick.errors import QualityControlError
from wallthick.labels import Label
from wallthick.measure.aha import aha_segments
from wallthick.measure.frame import FrameGeometry, compute_frame
from wallthick.measure.grid import LVCrop, crop_lv
from wallthick.measure.laplace import midwall_points, solve_laplace, wall_distances
from wallthick.measure.options import MeasureOptions
from wallthick.measure.qc import SEVERE, border_contact_mm2, quality_flags
from wallthick.measure.result import (
    AHA_SEGMENTS,
    POSTERIOR_SEGMENTS,
    SEPTAL_SEGMENTS,
    LVFrame,
    Measurement,
    MeasurementResult,
    SegmentStats,
    SeriesInfo,
)
from wallthick.measure.thickness import (
    References,
    WallProfiles,
    measure_profiles,
    tissue_references,
)
from wallthick.measure.uncertainty import region_uncertainty
from wallthick.volume import ImageVolume, LabelVolume

__all__ = ["measure_labels"]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

_N_PROBES = 12


def measure_labels(
    labels: LabelVolume,
    image: ImageVolume | None = None,
    options: MeasureOptions | None = None,
    *,
    series: SeriesInfo | None = None,
    segmentation_source: str = "auto",
) -> MeasurementResult:
    """Measure LV wall thickness from a label map (and its image).

    Parameters
    ----------
    labels : LabelVolume
        LV blood pool (with papillary muscles and trabeculae), LV myocardium
        and, for the septum direction, RV blood pool (``wallthick.labels.Label``).
    image : ImageVolume, optional
        The CT the labels were drawn on; with it each wall edge is placed at
        sub-voxel precision within half a voxel of the label edge.
    options : MeasureOptions, optional
    series : SeriesInfo, optional
        Provenance copied into the result.
    segmentation_source : {"auto", "corrected"}
        Whether the labels come straight from a segmenter or were edited.

    Returns
    -------
    MeasurementResult

    Raises
    ------
    MeasurementError
        No LV cavity/myocardium in the labels.
    QualityControlError
        A severe QC criterion failed and ``options.on_qc_failure == "raise"``.
    """
    if not isinstance(labels, LabelVolume):
        raise TypeError(f"Argument 'labels' must be a LabelVolume, got {type(labels).__name__}.")
    if image is not None and not isinstance(image, ImageVolume):
        raise TypeError(
            f"Argument 'image' must be an ImageVolume or None, got {type(image).__name__}."
        )
    if segmentation_source not in ("auto", "corrected"):
        raise ValueError(
            f"Argument 'segmentation_source' must be 'auto' or 'corrected', got {segmentation_source!r}."
        )
    opts = options or MeasureOptions()
    series = series or _series_from(image, labels)
    an = analyse(labels, image, opts)
    crop, frame, refs, prof, seg, points = an.crop, an.frame, an.refs, an.prof, an.seg, an.points
    noise = refs.noise_hu if refs is not None else 0.0
    stats = tuple(_segment_stats(prof.thickness_mm, seg, s) for s in AHA_SEGMENTS)
    named: dict[str, float] = {}
    details: dict[str, Any] = {}
    for key, segs in (("septal", SEPTAL_SEGMENTS), ("posterior", POSTERIOR_SEGMENTS)):
        sel = np.isin(seg, segs)
        named[key] = float(np.mean(prof.thickness_mm[sel])) if sel.any() else math.nan
        unc, parts = region_uncertainty(
            prof, sel, crop.step, float(crop.spacing.max()), noise, opts.uncertainty_scale
        )
        named[f"{key}_unc"] = unc
        details[f"{key}_uncertainty_parts"] = parts
        details[f"{key}_label_mm"] = (
            float(np.mean(prof.label_thickness_mm[sel])) if sel.any() else math.nan
        )
    cavity_ml, myo_ml = _volumes(crop, prof, seg > 0)
    named["cavity_ml"] = cavity_ml
    flags = quality_flags(
        crop=crop,
        full_shape=labels.shape,
        frame=frame,
        values=named,
        segment_counts={s.segment: s.n_points for s in stats},
        segment_means={s.segment: s.mean_mm for s in stats},
        options=opts,
    )
    details.update(_details(crop, prof, refs, frame))
    details["border_contact_mm2"] = round(border_contact_mm2(crop, labels.shape), 1)
    severe = [f for f in flags if f in SEVERE]
    if severe and opts.on_qc_failure == "raise":
        raise QualityControlError(
            f"{series.source_path or series.series_description or 'label map'}: "
            f"measurement failed quality control ({', '.join(severe)}); "
            "inspect the segmentation or measure with on_qc_failure='flag'.",
            criteria=severe,
        )
    measurement = Measurement(
        septal_thickness_mm=named["septal"],
        septal_uncertainty_mm=named["septal_unc"],
        posterior_wall_thickness_mm=named["posterior"],
        posterior_uncertainty_mm=named["posterior_unc"],
        segments=stats,
        lv_cavity_volume_ml=cavity_ml,
        lv_mass_g=myo_ml * opts.myocardial_density_g_per_ml,
        qc_flags=flags,
        phase=str((image.metadata if image is not None else labels.metadata).get("phase", "")),
        segmentation_source=segmentation_source,
        segmenter=str(labels.metadata.get("segmenter", "")),
        series=series,
        options=opts.to_dict(),
        details=details,
    )
    thick_map, seg_map = _maps(labels, crop, points, prof, seg)
    return MeasurementResult(
        measurement=measurement,
        image=image,
        labels=labels,
        thickness_mm=thick_map,
        aha_segments=seg_map,
        frame=_lv_frame(crop, frame),
        probes=_probes(crop, prof, seg),
    )


@dataclass(frozen=True, eq=False)
class Analysis:
    """Intermediate state of one measurement (for validation and debugging)."""

    crop: LVCrop
    frame: FrameGeometry
    refs: References | None
    prof: WallProfiles
    seg: npt.NDArray[np.uint8]
    points: FloatArray


def analyse(labels: LabelVolume, image: ImageVolume | None, opts: MeasureOptions) -> Analysis:
    """Crop, frame, Laplace directions, wall lines and their AHA segments."""
    crop = crop_lv(labels, image, opts.grid_mm)
    d_cav, d_out = wall_distances(crop.myo, crop.cav, crop.step)
    frame = compute_frame(crop, d_cav > d_out)
    psi = solve_laplace(
        crop.myo, crop.cav, insulated=_above_base(crop, frame),
        initial=d_cav / np.maximum(d_cav + d_out, 1e-6),
    )  # fmt: skip
    points, dirs = midwall_points(psi, crop.myo, crop.step)
    refs = tissue_references(crop, psi, d_cav, d_out) if image is not None else None
    depth = float(np.max(np.minimum(d_cav, d_out)[crop.myo]))
    prof = measure_profiles(crop, points, dirs, refs, opts, depth)
    seg = aha_segments(
        frame.level(prof.endo_mm), frame.angle_deg(prof.endo_mm), frame.anterior_insertion_deg,
        opts.apical_cap_fraction,
    )  # fmt: skip
    seg = np.where(prof.valid, seg, 0).astype(np.uint8)
    return Analysis(crop, frame, refs, prof, seg, points)


def _above_base(crop: LVCrop, frame: FrameGeometry) -> npt.NDArray[np.bool_]:
    """Outside voxels sitting on the basal cut of the wall (zero-flux boundary).

    A voxel is on the cut when the voxel 1.5 voxels apical of it (along the
    long axis) belongs to the LV and it lies near or above the basal ring.
    """
    lv = crop.myo | crop.cav
    shift = np.rint(1.5 * frame.long_axis).astype(int)
    below = np.zeros_like(lv)
    src = tuple(slice(max(0, -k), n - max(0, k)) for k, n in zip(shift, lv.shape, strict=True))
    dst = tuple(slice(max(0, k), n - max(0, -k)) for k, n in zip(shift, lv.shape, strict=True))
    below[dst] = lv[src]
    axes = [np.arange(n) * crop.step for n in lv.shape]
    u, b = frame.long_axis, frame.base_center
    axial = (
        (axes[0][:, None, None] - b[0]) * u[0]
        + (axes[1][None, :, None] - b[1]) * u[1]
        + (axes[2][None, None, :] - b[2]) * u[2]
    )
    return np.asarray(below & ~lv & (axial > frame.level_base - 5.0))


def _segment_stats(thick: FloatArray, seg: npt.NDArray[np.uint8], number: int) -> SegmentStats:
    t = thick[seg == number]
    if t.size == 0:
        return SegmentStats(number, math.nan, math.nan, math.nan, math.nan, 0)
    std = float(np.std(t, ddof=1)) if t.size > 1 else 0.0
    return SegmentStats(
        number, float(t.mean()), float(np.median(t)), float(t.max()), std, int(t.size)
    )


def _volumes(crop: LVCrop, prof: WallProfiles, used: npt.NDArray[np.bool_]) -> tuple[float, float]:
    """Cavity and myocardial volumes (ml) with the refined edges.

    Label volumes corrected by the edge moves times the area of each line's
    patch of wall (``step**2``).
    """
    vox = float(np.prod(crop.spacing)) / 1000.0
    cav = float(np.count_nonzero(crop.labels == Label.LV_BLOOD_POOL)) * vox
    myo = float(np.count_nonzero(crop.labels == Label.LV_MYOCARDIUM)) * vox
    area_ml = crop.step**2 / 1000.0
    d_endo = float(np.sum(prof.shift_endo_mm[used])) * area_ml
    d_epi = float(np.sum(prof.shift_epi_mm[used])) * area_ml
    return cav - d_endo, myo + d_endo + d_epi


def _maps(
    labels: LabelVolume,
    crop: LVCrop,
    points: FloatArray,
    prof: WallProfiles,
    seg: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8]]:
    """Thickness and segment of every myocardial voxel = those of its nearest line."""
    thick = np.full(labels.shape, np.nan, dtype=np.float32)
    segs = np.zeros(labels.shape, dtype=np.uint8)
    ok = np.flatnonzero(prof.valid & (seg > 0))
    if ok.size == 0:
        return thick, segs
    owner = np.full(crop.myo.shape, -1, dtype=np.int64)
    cell = np.clip(
        np.rint(points[ok] / crop.step).astype(np.int64), 0, np.asarray(crop.myo.shape) - 1
    )
    owner[tuple(cell.T)] = ok
    _, near = ndimage.distance_transform_edt(owner < 0, return_indices=True)
    myo_idx = np.argwhere(crop.labels == Label.LV_MYOCARDIUM)
    iso = np.rint(myo_idx * crop.spacing / crop.step).astype(np.int64)
    iso = np.clip(iso, 0, np.asarray(crop.myo.shape) - 1)
    nearest = near[:, iso[:, 0], iso[:, 1], iso[:, 2]]
    line = owner[tuple(nearest)]
    full = tuple((myo_idx + np.asarray(crop.start)).T)
    thick[full] = prof.thickness_mm[line].astype(np.float32)
    segs[full] = seg[line]
    return thick, segs


def _lv_frame(crop: LVCrop, frame: FrameGeometry) -> LVFrame:
    return LVFrame(
        apex_mm=crop.to_world(frame.apex),
        base_center_mm=crop.to_world(frame.base_center),
        long_axis=crop.vector_to_world(frame.long_axis),
        septal_direction=crop.vector_to_world(frame.septal),
        rv_insertion_points_mm=crop.to_world(frame.insertion_points),
    )


def _probes(crop: LVCrop, prof: WallProfiles, seg: npt.NDArray[np.uint8]) -> dict[str, FloatArray]:
    out: dict[str, FloatArray] = {}
    for key, segs in (("septal", SEPTAL_SEGMENTS), ("posterior", POSTERIOR_SEGMENTS)):
        idx = np.flatnonzero(np.isin(seg, segs) & prof.valid)
        if idx.size == 0:
            out[key] = np.zeros((0, 2, 3))
            continue
        pick = idx[np.linspace(0, idx.size - 1, min(_N_PROBES, idx.size)).astype(int)]
        out[key] = np.stack(
            [crop.to_world(prof.endo_mm[pick]), crop.to_world(prof.epi_mm[pick])], axis=1
        )
    return out


def _details(crop: LVCrop, prof: WallProfiles, refs: Any, frame: FrameGeometry) -> dict[str, Any]:
    d: dict[str, Any] = {
        "n_lines": int(prof.valid.size),
        "n_valid_lines": int(prof.valid.sum()),
        "grid_mm": crop.step,
        "long_axis_length_mm": float(np.linalg.norm(frame.base_center - frame.apex)),
        "fraction_uncertain_endo": float(np.mean(prof.uncertain_endo[prof.valid]))
        if prof.valid.any()
        else math.nan,
        "fraction_uncertain_epi": float(np.mean(prof.uncertain_epi[prof.valid]))
        if prof.valid.any()
        else math.nan,
    }
    if refs is not None:
        d["noise_hu"] = refs.noise_hu
        d["fat_hu"] = refs.fat_hu
    return d


def _series_from(image: ImageVolume | None, labels: LabelVolume) -> SeriesInfo:
    return series_info(image.metadata if image is not None else labels.metadata)


def series_info(meta: Mapping[str, Any]) -> SeriesInfo:
    """Provenance of a volume from its metadata (missing keys stay empty)."""
    names = SeriesInfo.__dataclass_fields__
    return SeriesInfo(**{k: str(meta[k]) for k in names if meta.get(k) is not None})
