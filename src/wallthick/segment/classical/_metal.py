"""Device leads and their metal streaks: find them, suppress the streaks.

A transvenous lead is metal, 1.6-3 mm across, far brighter than contrast
blood or most bone. What breaks a segmentation is not the lead but the streak
artefacts it throws in the acquisition (axial) plane: thin, straight, dark or
bright bands radiating from the metal's cross-section in every slice, across
the septum and the cavity. They meet every intensity threshold and every
"wrapped in myocardium" test.

1. **Lead finder** (:func:`find_leads`). Components of voxels brighter than
   ``halo_hu`` that hold a core brighter than ``core_hu``, are thin (largest
   inscribed radius at most ``max_radius_mm`` plus half a voxel) and long
   (at least ``min_length_mm`` along their principal axis), with the
   cross-section of a wire, not of a sheet. Contrast-filled veins (thick),
   bone (thick blocks, or short pieces) and calcium (short) are rejected.
2. **Streak suppression** (:func:`suppress_metal`). In each slice through a
   lead, the image is sampled in polar coordinates around each of the lead's
   cross-sections. The background at every radius is the median along the arc
   within ``arc_window_mm`` (a band a few mm wide does not move it); the
   residual is the image minus that background. A streak is a run of residual
   of one sign, significant against the slice's residual noise after a median
   along the ray, that **starts at the metal** and runs straight outwards for
   at least ``min_streak_mm`` while staying thin. Only such runs (grown into
   their weaker flanks) are corrected: there the image is replaced by the
   background, i.e. the band is inpainted from both sides. Anatomy does not
   radiate from the metal in straight thin bands, so it is left alone. The
   metal itself is replaced by the median of the tissue around it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from wallthick.volume import ImageVolume

__all__ = ["Lead", "MetalOptions", "MetalReport", "find_leads", "suppress_metal"]

logger = logging.getLogger(__name__)

#: Metadata key set on an image whose metal was handled (the report's dict).
METAL_KEY = "metal_suppression"

FloatArray = npt.NDArray[np.float64]

_N_THETA = 360
_R_START_MM = 1.0
_R_STEP_MM = 1.0
#: sections of a lead probed before all are processed
_PROBES = 6
#: a streak's partner on the other side of the metal may be this many degrees off
_PAIR_TOLERANCE = 3
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class MetalOptions:
    """Tuning of the lead finder and the streak suppression (HU and mm).

    The HU levels are physical: metal is far above iodinated blood (150-600 HU)
    and above most cortical bone; they are not fitted to any scan.
    """

    core_hu: float = 2000.0
    halo_hu: float = 1200.0
    max_radius_mm: float = 2.0
    min_length_mm: float = 15.0
    max_section_mm2: float = 30.0
    max_radius_out_mm: float = 70.0
    arc_window_mm: float = 4.0
    ray_median_mm: float = 5.0
    significance: float = 3.0
    weak_significance: float = 1.0
    max_start_mm: float = 6.0
    min_streak_mm: float = 12.0
    max_band_mm: float = 6.0
    min_streak_sections: float = 0.6
    min_surround_hu: float = -50.0
    passes: int = 3


@dataclass(frozen=True)
class Lead:
    """A thin, long, very bright component (a device lead)."""

    n_voxels: int
    length_mm: float
    radius_mm: float
    section_mm2: float
    peak_hu: float
    center_mm: tuple[float, float, float]


@dataclass
class MetalReport:
    """What was found and corrected (``image.metadata[METAL_KEY]``)."""

    leads: list[Lead] = field(default_factory=list)
    n_slices: int = 0
    n_streaking: int = 0
    n_streaks: int = 0
    max_streak_hu: float = 0.0
    corrected_voxels: int = 0
    metal_voxels: int = 0

    def as_metadata(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "n_leads": len(self.leads),
            "n_streaking_leads": self.n_streaking,
            "lead_length_mm": [round(x.length_mm, 1) for x in self.leads],
            "lead_radius_mm": [round(x.radius_mm, 2) for x in self.leads],
            "n_slices": self.n_slices,
            "n_streaks": self.n_streaks,
            "max_streak_hu": round(self.max_streak_hu, 1),
            "corrected_voxels": self.corrected_voxels,
            "metal_voxels": self.metal_voxels,
        }


def find_leads(
    image: ImageVolume, options: MetalOptions | None = None
) -> tuple[list[Lead], npt.NDArray[np.int32]]:
    """Device leads in ``image``: the accepted components and their label map
    (0 background, ``k + 1`` for lead ``k``).

    Examples
    --------
    >>> a = np.zeros((40, 20, 20), np.float32)
    >>> a[5:35, 10, 10] = 3000.0  # a 30 mm wire
    >>> leads, _ = find_leads(ImageVolume(a, (1, 1, 1), (0, 0, 0), np.eye(3)))
    >>> len(leads), round(leads[0].length_mm)
    (1, 30)
    """
    if not isinstance(image, ImageVolume):
        raise TypeError(f"Argument 'image' must be an ImageVolume, got {type(image).__name__}.")
    opts = options or MetalOptions()
    out = np.zeros(image.shape, np.int32)
    leads: list[Lead] = []
    # from the lowest level (the whole wire) up: near a strong coil the bands
    # next to the metal can exceed the lower level and join the wire to them
    for level in (opts.halo_hu, 0.5 * (opts.halo_hu + opts.core_hu), opts.core_hu):
        bright = np.asarray(image.array > level) & (out == 0)
        if not bright.any():
            continue
        lab, _ = ndimage.label(bright, np.ones((3, 3, 3), bool))
        for i, sl in enumerate(ndimage.find_objects(lab)):
            if sl is None:
                continue
            comp = lab[sl] == i + 1
            lead = _as_lead(image, sl, comp, opts)
            if lead is not None:
                leads.append(lead)
                out[sl][comp] = len(leads)
    return leads, out


def _as_lead(
    image: ImageVolume, sl: tuple[slice, ...], comp: BoolArray, opts: MetalOptions
) -> Lead | None:
    """The component as a lead, or None when it is not thin, long and metal-bright."""
    spacing = np.asarray(image.spacing_mm, dtype=np.float64)
    n = int(comp.sum())
    voxel_mm3 = float(np.prod(spacing))
    if n < 3 or n * voxel_mm3 < 3.0:
        return None
    values = np.asarray(image.array[sl])[comp]
    peak = float(values.max())
    if peak < opts.core_hu:
        return None
    radius = float(ndimage.distance_transform_edt(np.pad(comp, 1), sampling=spacing).max())
    if radius > opts.max_radius_mm + 0.5 * float(spacing.max()):
        return None
    pts = np.argwhere(comp) * spacing
    centred = pts - pts.mean(axis=0)
    _, vecs = np.linalg.eigh(np.cov(centred.T))
    along = centred @ vecs[:, -1]
    length = float(along.max() - along.min()) + float(spacing.min())
    if length < opts.min_length_mm:
        return None
    section = n * voxel_mm3 / length
    if section > opts.max_section_mm2 or _surround_hu(image, sl, comp) < opts.min_surround_hu:
        return None
    first = np.array([s.start for s in sl], dtype=np.float64)
    center = image.index_to_world(first + np.argwhere(comp).mean(axis=0))
    return Lead(n, length, radius, section, peak, tuple(float(c) for c in center))  # type: ignore[arg-type]


def _surround_hu(image: ImageVolume, sl: tuple[slice, ...], comp: BoolArray) -> float:
    """Median HU 2-5 mm around the component (blood or tissue for a lead in a
    chamber or vein; fat or lung around a piece of rib)."""
    spacing = np.asarray(image.spacing_mm, dtype=np.float64)
    pad = np.ceil(5.0 / spacing).astype(int)
    lo = [max(s.start - p, 0) for s, p in zip(sl, pad, strict=True)]
    hi = [min(s.stop + p, n) for s, p, n in zip(sl, pad, image.shape, strict=True)]
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    inside = np.zeros([b - a for a, b in zip(lo, hi, strict=True)], bool)
    inner = tuple(slice(s.start - a, s.stop - a) for s, a in zip(sl, lo, strict=True))
    inside[inner] = comp
    dist = ndimage.distance_transform_edt(~inside, sampling=spacing)
    shell = (dist > 2.0) & (dist <= 5.0)
    return float(np.median(np.asarray(image.array[box])[shell])) if shell.any() else -1000.0


def suppress_metal(
    image: ImageVolume, options: MetalOptions | None = None
) -> tuple[ImageVolume, MetalReport]:
    """``image`` with the streaks of its device leads suppressed and their
    metal replaced by the surrounding tissue, and a report of what was done.

    Without a lead the voxels are left as they are (the same array, no copy).
    The result carries ``metadata[METAL_KEY]`` (the report) either way, so that
    it is not processed twice.
    """
    if not isinstance(image, ImageVolume):
        raise TypeError(f"Argument 'image' must be an ImageVolume, got {type(image).__name__}.")
    opts = options or MetalOptions()
    leads, lab = find_leads(image, opts)
    report = MetalReport(leads=leads)
    out = np.array(image.array, dtype=np.float32, copy=True) if leads else image.array
    spacing = np.asarray(image.spacing_mm[1:], dtype=np.float64)
    for k in range(len(leads)):
        found = _lead_streaks(image, lab == k + 1, spacing, opts)
        with_streaks = sum(1 for f in found if f.n_streaks > 0)
        if not found or with_streaks < opts.min_streak_sections * len(found):
            continue  # no systematic streaks: bone, calcium or a quiet lead
        report.n_streaking += 1
        for f in found:
            report.n_streaks += f.n_streaks
            report.max_streak_hu = max(report.max_streak_hu, f.max_hu)
            if f.correction is not None:
                report.corrected_voxels += _apply_polar(
                    out[f.slice], f.correction, f.centre, spacing, _polar_grid(opts)[1]
                )
        for z in sorted({f.slice for f in found}):
            _inpaint_metal(out[z], lab[z] == k + 1, report)
            report.n_slices += 1
    if report.n_streaking:
        logger.info(
            "%d lead(s) with streaks; %d streak(s) suppressed in %d slices (largest %.0f HU)",
            report.n_streaking,
            report.n_streaks,
            report.n_slices,
            report.max_streak_hu,
        )
    return image.with_array(out, **{METAL_KEY: report.as_metadata()}), report


@dataclass(frozen=True)
class _SliceStreaks:
    slice: int
    centre: FloatArray
    n_streaks: int
    max_hu: float
    correction: FloatArray | None


def _lead_streaks(
    image: ImageVolume, lead: BoolArray, spacing: FloatArray, opts: MetalOptions
) -> list[_SliceStreaks]:
    """Streaks around each cross-section of one lead, slice by slice (not
    applied). A few sections spread along the lead are probed first (one
    pass): a piece of bone without systematic streaks costs only those."""
    sections: list[tuple[int, FloatArray]] = []
    for z in np.flatnonzero(lead.reshape(lead.shape[0], -1).any(axis=1)):
        parts, n_parts = ndimage.label(lead[z], np.ones((3, 3), bool))
        sections += [(int(z), np.argwhere(parts == p).mean(axis=0)) for p in range(1, n_parts + 1)]
    probes = np.unique(np.linspace(0, len(sections) - 1, min(_PROBES, len(sections))).round())
    hits = sum(
        _detect(
            image.array[sections[int(i)][0]], *sections[int(i)], lead, spacing, opts, 1
        ).n_streaks
        > 0
        for i in probes
    )
    if hits < opts.min_streak_sections * probes.size:
        return []
    return [
        _detect(image.array[z], z, centre, lead, spacing, opts, opts.passes)
        for z, centre in sections
    ]


def _polar_grid(opts: MetalOptions) -> tuple[FloatArray, FloatArray]:
    theta = np.arange(_N_THETA, dtype=np.float64) * (2 * np.pi / _N_THETA)
    r = np.arange(_R_START_MM, opts.max_radius_out_mm, _R_STEP_MM, dtype=np.float64)
    return theta, r


def _detect(
    slice_hu: npt.NDArray[Any],
    z: int,
    centre: FloatArray,
    lead: BoolArray,
    spacing: FloatArray,
    opts: MetalOptions,
    passes: int,
) -> _SliceStreaks:
    """Streaks radiating from ``centre`` (row, col) of one slice, and the polar
    correction (theta, r) that removes them."""
    theta, r = _polar_grid(opts)
    rows = centre[0] + np.outer(np.cos(theta), r) / spacing[0]
    cols = centre[1] + np.outer(np.sin(theta), r) / spacing[1]
    polar = ndimage.map_coordinates(
        np.asarray(slice_hu, dtype=np.float32), [rows, cols], order=1, mode="nearest"
    ).astype(np.float64)
    metal_p = ndimage.map_coordinates(lead[z].astype(np.float32), [rows, cols], order=1) > 0.0
    corr = np.zeros_like(polar)
    n_first, max_hu = 0, 0.0
    # a few passes: once the strongest bands are gone, bands next to them
    # (whose flanks they spoilt) stand out against a clean background
    for i in range(passes):
        resid = np.where(metal_p, 0.0, polar - _flank_background(polar, r, opts.arc_window_mm))
        mask, n, strongest = _streak_mask(resid, r, opts)
        if i == 0:
            n_first, max_hu = n, strongest
        if n == 0 or n_first == 0:
            break
        step = np.where(mask, resid, 0.0)
        corr += step
        polar -= step
    return _SliceStreaks(z, centre, n_first, max_hu, corr if n_first else None)


def _flank_background(polar: FloatArray, r: FloatArray, window_mm: float) -> FloatArray:
    """Per sample, the mean of the two flanks of the arc at its radius: from
    ``window_mm / 2`` to ``window_mm`` either side (the band between them, where
    a streak would be, is left out): the band inpainted from both sides."""
    n = polar.shape[0]
    dtheta = 2 * np.pi / n
    gap = np.minimum(np.ceil(0.5 * window_mm / (r * dtheta)), n // 8).astype(int)
    wide = np.minimum(np.ceil(window_mm / (r * dtheta)), n // 4).astype(int)
    wide = np.maximum(wide, gap + 1)
    cs = np.concatenate([np.zeros((1, r.size)), np.cumsum(np.vstack([polar] * 3), axis=0)])
    i = np.arange(n)[:, None] + n
    cols = np.arange(r.size)[None, :]
    count = wide - gap + 1
    left = (cs[i - gap + 1, cols] - cs[i - wide, cols]) / count
    right = (cs[i + wide + 1, cols] - cs[i + gap, cols]) / count
    return 0.5 * (left + right)  # type: ignore[no-any-return]


def _streak_mask(
    resid: FloatArray, r: FloatArray, opts: MetalOptions
) -> tuple[BoolArray, int, float]:
    """Polar mask of streak bands (rays whose same-sign residual starts at the
    metal and runs straight out, in thin groups with a partner group on the
    opposite side: a streak is a line through the metal), grown into their
    weaker flanks; the number of streak rays' groups and the largest residual."""
    n_r = max(3, int(round(opts.ray_median_mm / _R_STEP_MM)) | 1)
    along = ndimage.median_filter(resid, size=(1, n_r), mode="nearest")
    noise = max(float(1.4826 * np.median(np.abs(resid - np.median(resid)))), 5.0)
    keep = np.zeros(resid.shape, bool)
    n_streaks, max_hu = 0, 0.0
    for sign in (1.0, -1.0):
        runs = _ray_runs(sign * along > opts.significance * noise, r, opts)
        groups = _thin_groups(np.asarray(runs.any(axis=1)), opts)
        rays = groups > 0
        partner = np.roll(ndimage.binary_dilation(rays, iterations=_PAIR_TOLERANCE), rays.size // 2)
        weak = sign * along > opts.weak_significance * noise
        for g in range(1, int(groups.max()) + 1):
            members = groups == g
            if not np.any(partner & members):
                continue
            # a streak ray: its residual of that sign all along it is streak
            keep[members] |= runs[members] | weak[members]
            n_streaks += 1
            max_hu = max(max_hu, float(np.abs(along[members][runs[members]]).max()))
        keep |= ndimage.binary_propagation(keep & weak, mask=weak & _near_band(keep, r))
    return keep, n_streaks, max_hu


def _ray_runs(strong: BoolArray, r: FloatArray, opts: MetalOptions) -> BoolArray:
    """Per ray, the run of ``strong`` that starts within ``max_start_mm`` of
    the metal, kept when it goes on for at least ``min_streak_mm``."""
    near = r <= opts.max_start_mm
    out = np.zeros_like(strong)
    for t in np.flatnonzero(strong[:, near].any(axis=1)):
        j0 = int(np.argmax(strong[t, near]))
        n = int(np.logical_and.accumulate(strong[t, j0:]).sum())
        if n * _R_STEP_MM >= opts.min_streak_mm:
            out[t, j0 : j0 + n] = True
    return out


def _thin_groups(rays: BoolArray, opts: MetalOptions) -> npt.NDArray[np.intp]:
    """Groups of neighbouring streak rays (around the circle) no wider than a
    thin band at ``min_streak_mm`` from the metal; 0 elsewhere."""
    lab, n = ndimage.label(rays)
    if n > 1 and rays[0] and rays[-1]:  # a group across angle 0
        lab[lab == n] = 1
    dtheta = 2 * np.pi / rays.size
    out = np.zeros(rays.size, np.intp)
    kept = 0
    for g in np.unique(lab[lab > 0]):
        members = lab == g
        if members.sum() * dtheta * opts.min_streak_mm <= opts.max_band_mm:
            kept += 1
            out[members] = kept
    return out


def _near_band(keep: BoolArray, r: FloatArray) -> BoolArray:
    """``keep`` widened along the arc by about 2 mm at every radius."""
    dtheta = 2 * np.pi / keep.shape[0]
    out = np.zeros_like(keep)
    for j, rad in enumerate(r):
        if keep[:, j].any():
            size = 2 * int(np.ceil(2.0 / (rad * dtheta))) + 1
            out[:, j] = ndimage.maximum_filter1d(keep[:, j], size, mode="wrap")
    return out


def _apply_polar(
    out: npt.NDArray[np.float32],
    corr: FloatArray,
    centre: FloatArray,
    spacing: FloatArray,
    r: FloatArray,
) -> int:
    """Subtract the polar correction ``corr`` (theta, r) from the slice ``out``;
    the number of pixels changed."""
    rad_px = r[-1] / spacing
    r0 = max(int(np.floor(centre[0] - rad_px[0])), 0)
    r1 = min(int(np.ceil(centre[0] + rad_px[0])) + 1, out.shape[0])
    c0 = max(int(np.floor(centre[1] - rad_px[1])), 0)
    c1 = min(int(np.ceil(centre[1] + rad_px[1])) + 1, out.shape[1])
    dy = (np.arange(r0, r1)[:, None] - centre[0]) * spacing[0]
    dx = (np.arange(c0, c1)[None, :] - centre[1]) * spacing[1]
    ti = np.mod(np.arctan2(dx, dy), 2 * np.pi) / (2 * np.pi / corr.shape[0])
    ri = (np.hypot(dy, dx) - r[0]) / (r[1] - r[0])
    wrapped = np.vstack([corr, corr[:1]])
    vals = ndimage.map_coordinates(wrapped, [ti, ri], order=1, mode="constant", cval=0.0)
    vals = np.where((ri >= 0) & (ri <= r.size - 1), vals, 0.0)
    out[r0:r1, c0:c1] -= vals.astype(np.float32)
    return int(np.count_nonzero(vals))


def _inpaint_metal(out: npt.NDArray[np.float32], metal: BoolArray, report: MetalReport) -> None:
    """Replace the metal (grown by one pixel) by the median of the ring around it."""
    grown = ndimage.binary_dilation(metal, np.ones((3, 3), bool))
    ring = ndimage.binary_dilation(grown, np.ones((3, 3), bool), iterations=2) & ~grown
    if not ring.any():
        return
    out[grown] = float(np.median(out[ring]))
    report.metal_voxels += int(grown.sum())
