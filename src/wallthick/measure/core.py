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
from wallthick.measure.aha import (
    AHA_SEGMENTS,
    POSTERIOR_SEGMENTS,
    SEPTAL_SEGMENTS,
    aha_segments,
)
from wallthick.measure.frame import FrameGeometry, compute_frame
from wallthick.measure.grid import LVCrop, crop_lv
from wallthick.measure.laplace import midwall_points, solve_laplace, wall_distances
from wallthick.measure.options import MeasureOptions
from wallthick.measure.qc import SEVERE, QCValues, border_contact_mm2, quality_flags
from wallthick.measure.result import (
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
    _check_arguments(labels, image, segmentation_source)
    opts = options or MeasureOptions()
    series = series or _series_from(image, labels)
    an = analyse_wall(labels, _edge_image(labels, image), opts)
    seg_regions = {s: _region_value(an, (s,), opts) for s in AHA_SEGMENTS}
    stats = tuple(_segment_stats(an, s, seg_regions[s]) for s in AHA_SEGMENTS)
    septal = _region_value(an, SEPTAL_SEGMENTS, opts)
    posterior = _region_value(an, POSTERIOR_SEGMENTS, opts)
    cavity_ml, myo_ml = _refined_volumes_ml(an.crop, an.prof, an.seg > 0)
    flags = quality_flags(
        crop=an.crop,
        full_shape=labels.shape,
        frame=an.frame,
        values=QCValues(
            septal.thickness_mm,
            posterior.thickness_mm,
            cavity_ml,
            stats,
            septal_uncertainty_mm=septal.uncertainty_mm,
            posterior_uncertainty_mm=posterior.uncertainty_mm,
        ),
        options=opts,
    )
    _raise_on_severe(flags, series, opts)
    details: dict[str, Any] = {}
    for key, region in (("septal", septal), ("posterior", posterior)):
        details[f"{key}_uncertainty_parts"] = region.uncertainty_parts
        details[f"{key}_label_mm"] = region.label_thickness_mm
    details["segment_uncertainty_parts"] = {s: r.uncertainty_parts for s, r in seg_regions.items()}
    details.update(_details(an.crop, an.prof, an.refs, an.frame))
    details["border_contact_mm2"] = round(border_contact_mm2(an.crop, labels.shape), 1)
    if (labels.metadata.get("metal") or {}).get("n_streaking_leads"):
        details["metal"] = dict(labels.metadata["metal"])  # streaks were suppressed
    measurement = Measurement(
        septal_thickness_mm=septal.thickness_mm,
        septal_uncertainty_mm=septal.uncertainty_mm,
        posterior_wall_thickness_mm=posterior.thickness_mm,
        posterior_uncertainty_mm=posterior.uncertainty_mm,
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
    return _result(measurement, an, labels, image)


def _edge_image(labels: LabelVolume, image: ImageVolume | None) -> ImageVolume | None:
    """The image the edges are refined on: with the metal streaks suppressed
    when the segmenter corrected streaking leads and the image is still raw."""
    metal = labels.metadata.get("metal") or {}
    if image is None or not metal.get("n_streaking_leads"):
        return image
    from wallthick.segment.classical import METAL_KEY, suppress_metal

    return image if METAL_KEY in image.metadata else suppress_metal(image)[0]


def _check_arguments(
    labels: LabelVolume, image: ImageVolume | None, segmentation_source: str
) -> None:
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


@dataclass(frozen=True, eq=False)
class WallAnalysis:
    """Intermediate state of one measurement (for validation and debugging)."""

    crop: LVCrop
    frame: FrameGeometry
    refs: References | None
    prof: WallProfiles
    seg: npt.NDArray[np.uint8]
    points: FloatArray


@dataclass(frozen=True)
class RegionValue:
    """Mean thickness of a group of AHA segments (septum or posterior wall)."""

    thickness_mm: float
    uncertainty_mm: float
    uncertainty_parts: dict[str, float]
    label_thickness_mm: float  # the same mean from the label edges alone


def analyse_wall(
    labels: LabelVolume, image: ImageVolume | None, opts: MeasureOptions
) -> WallAnalysis:
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
    return WallAnalysis(crop, frame, refs, prof, seg, points)


def _region_value(an: WallAnalysis, segments: tuple[int, ...], opts: MeasureOptions) -> RegionValue:
    """Mean thickness over ``segments``, its 1-sigma uncertainty and its label-only value."""
    prof, crop = an.prof, an.crop
    sel = np.isin(an.seg, segments)
    unc, parts = region_uncertainty(
        prof, sel, crop.step, float(crop.spacing.max()), opts.uncertainty_scale,
        opts.min_contrast_hu,
    )  # fmt: skip
    if not sel.any():
        return RegionValue(math.nan, unc, parts, math.nan)
    return RegionValue(
        float(np.mean(prof.thickness_mm[sel])), unc, parts,
        float(np.mean(prof.label_thickness_mm[sel])),
    )  # fmt: skip


def _raise_on_severe(flags: tuple[str, ...], series: SeriesInfo, opts: MeasureOptions) -> None:
    severe = [f for f in flags if f in SEVERE]
    if severe and opts.on_qc_failure == "raise":
        raise QualityControlError(
            f"{series.source_path or series.series_description or 'label map'}: "
            f"measurement failed quality control ({', '.join(severe)}); "
            "inspect the segmentation or measure with on_qc_failure='flag'.",
            criteria=severe,
        )


def _result(
    measurement: Measurement, an: WallAnalysis, labels: LabelVolume, image: ImageVolume | None
) -> MeasurementResult:
    """The measurement with its thickness and segment maps, LV frame and probes."""
    thick_map, seg_map = _maps(an.crop, an.points, an.prof, an.seg)
    return MeasurementResult(
        measurement=measurement,
        image=image,
        labels=labels,
        box_thickness_mm=thick_map,
        box_segments=seg_map,
        frame=_lv_frame(an.crop, an.frame),
        probes=_probes(an.crop, an.prof, an.seg),
        box_start=an.crop.start,
    )


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


def _segment_stats(an: WallAnalysis, number: int, region: RegionValue) -> SegmentStats:
    """Statistics of one AHA segment; its uncertainty from the same model as the walls."""
    t = an.prof.thickness_mm[an.seg == number]
    if t.size == 0:
        return SegmentStats(number, math.nan, math.nan, math.nan, math.nan, 0)
    std = float(np.std(t, ddof=1)) if t.size > 1 else 0.0
    unc = region.uncertainty_mm
    return SegmentStats(
        number, float(t.mean()), float(np.median(t)), float(t.max()), std, int(t.size), unc
    )


def _refined_volumes_ml(
    crop: LVCrop, prof: WallProfiles, used: npt.NDArray[np.bool_]
) -> tuple[float, float]:
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
    crop: LVCrop,
    points: FloatArray,
    prof: WallProfiles,
    seg: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8]]:
    """Thickness and segment of every myocardial voxel of the crop = those of its
    nearest line (maps on the crop's box of the label grid)."""
    thick = np.full(crop.labels.shape, np.nan, dtype=np.float32)
    segs = np.zeros(crop.labels.shape, dtype=np.uint8)
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
    where = tuple(myo_idx.T)
    thick[where] = prof.thickness_mm[line].astype(np.float32)
    segs[where] = seg[line]
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
