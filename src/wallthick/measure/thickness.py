"""Wall thickness along the Laplace directions, with sub-voxel edges.

For every mid-wall point a straight line is cast along the local Laplace
direction. Its two label edges (where the linearly interpolated myocardium
indicator crosses 1/2) give the label thickness. With an image, each edge
is then moved by the integral of the fractional myocardium membership

    m(t) = (I(t) - X) / (M - X)

across a window ``t in [-w_in, w_out]`` around the label edge (``t`` away
from the wall; ``M`` the local myocardium reference, ``X`` that of the tissue
beyond: LV blood, RV blood or the outer tissue). For a blurred step of any
symmetric blur, ``-w_in + integral(m)`` is exactly the edge position. The
move is limited to +-half a voxel ``h`` (the voxel projected on the line);
an intensity edge further than ``h`` from the label edge is tapered back to
the label edge (fully at ``1.5 h``), so edited labels are never snapped back
to the old intensity edge. Edges whose contrast is below ``min_contrast_hu``
keep the label position; both kinds count as "uncertain".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from wallthick.labels import Label
from wallthick.measure.grid import LVCrop
from wallthick.measure.options import MeasureOptions

__all__ = ["WallProfiles", "References", "measure_profiles", "tissue_references"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_REACH_MM = 17.0  # half-length of each line (walls > 30 mm fail QC anyway)
_SIGMA_MM = 10.0  # smoothing of the local reference intensities
_CLIP = 0.3  # membership clipped to [-_CLIP, 1 + _CLIP]

BEYOND_OUTER, BEYOND_RV, BEYOND_INVALID = 0, 1, 2


@dataclass(frozen=True, eq=False)
class References:
    """Local reference intensities (fields on the isotropic grid)."""

    blood: npt.NDArray[np.float32]
    myo: npt.NDArray[np.float32]
    rv: npt.NDArray[np.float32]
    outer: npt.NDArray[np.float32]
    noise_hu: float
    fat_hu: float
    step: float  # grid spacing of the fields (crop mm, from crop voxel 0)


@dataclass(frozen=True, eq=False)
class WallProfiles:
    """Per-line results (arrays of length n)."""

    valid: BoolArray
    thickness_mm: FloatArray
    label_thickness_mm: FloatArray
    endo_mm: FloatArray  # (n, 3) crop-mm endocardial edge
    epi_mm: FloatArray  # (n, 3) crop-mm epicardial edge
    shift_endo_mm: FloatArray  # outward move of each edge vs the label edge
    shift_epi_mm: FloatArray
    half_voxel_mm: FloatArray
    window_mm: FloatArray  # integration window of one edge, w_in + w_out
    beyond: npt.NDArray[np.int8]
    uncertain_endo: BoolArray  # label edge kept (no contrast / disagreement)
    uncertain_epi: BoolArray
    contrast_endo: FloatArray
    contrast_epi: FloatArray
    # where the image puts each edge relative to the label edge (outward, mm),
    # before the move is limited to +-h (0 where the contrast is too weak):
    # offset - shift is the labels' disagreement with the image that the
    # refinement did not follow
    offset_endo_mm: FloatArray
    offset_epi_mm: FloatArray


def measure_profiles(
    crop: LVCrop,
    points: FloatArray,
    dirs: FloatArray,
    refs: References | None,
    options: MeasureOptions,
    max_depth_mm: float = _REACH_MM,
) -> WallProfiles:
    """Thickness of the wall along each line ``points + s * dirs``.

    ``max_depth_mm`` (largest distance of a wall voxel to the wall's
    surface) bounds how far the lines are followed.
    """
    edges = _label_edges(crop, points, dirs, max_depth_mm)
    if refs is None or crop.image is None or not options.refine_boundaries:
        return _label_profiles(points, dirs, edges)
    return _refined_profiles(crop, points, dirs, edges, refs, options)


@dataclass(frozen=True, eq=False)
class _LabelEdges:
    """Where each line crosses the myocardium label's edges (arrays of length n)."""

    s_endo: FloatArray  # position of the endocardial crossing along the line (mm)
    s_epi: FloatArray  # position of the epicardial crossing
    half: FloatArray  # half a voxel, projected on the line
    valid: BoolArray  # LV blood inside, no LV label outside
    beyond: npt.NDArray[np.int8]  # BEYOND_OUTER / BEYOND_RV / BEYOND_INVALID


def _label_edges(
    crop: LVCrop, points: FloatArray, dirs: FloatArray, max_depth_mm: float
) -> _LabelEdges:
    """Label edges: where the interpolated myocardium indicator crosses 1/2 on each side."""
    spacing = crop.spacing
    ds = float(min(0.5, 0.4 * spacing.min()))
    reach = min(_REACH_MM, 1.5 * max_depth_mm + 3.0)
    s = np.arange(-reach, reach + ds / 2, ds)
    centre = int(np.argmin(np.abs(s)))
    myo_f = (crop.labels == Label.LV_MYOCARDIUM).astype(np.float32)
    lam = _sample(myo_f, points, dirs, s, spacing, order=1)
    out = lam < 0.5
    out[:, centre] = False
    k_pos = centre + np.argmax(out[:, centre:], axis=1)
    k_neg = centre - np.argmax(out[:, centre::-1], axis=1)
    rows = np.arange(len(points))
    valid = out[rows, k_pos] & out[rows, k_neg] & (k_pos > centre) & (k_neg < centre)
    s_b = _crossing(lam, rows, k_pos, k_pos - 1, s)
    s_a = _crossing(lam, rows, k_neg, k_neg + 1, s)
    half = 0.5 * np.abs(dirs) @ spacing
    lab_in = _label_at(crop, points + (s_a - half)[:, None] * dirs)
    valid &= lab_in == Label.LV_BLOOD_POOL
    beyond, valid = _beyond_epicardium(crop, points, dirs, s_b + half, valid)
    return _LabelEdges(s_a, s_b, half, valid, beyond)


def _beyond_epicardium(
    crop: LVCrop, points: FloatArray, dirs: FloatArray, s_out: FloatArray, valid: BoolArray
) -> tuple[npt.NDArray[np.int8], BoolArray]:
    """What lies beyond the epicardial edge (read at ``s_out``), and the lines still valid.

    RV blood counts when it is within 2.5 mm beyond the edge (segmentations
    often leave a partial-volume gap between the septum and the RV label); LV
    labels beyond the edge make the line invalid.
    """
    lab_out = _label_at(crop, points + s_out[:, None] * dirs)
    near_rv = lab_out == Label.RV_BLOOD_POOL
    for extra in (0.5, 1.0, 1.5, 2.0, 2.5):
        near_rv |= _label_at(crop, points + (s_out + extra)[:, None] * dirs) == Label.RV_BLOOD_POOL
    beyond = np.where(near_rv, BEYOND_RV, BEYOND_OUTER).astype(np.int8)
    bad_out = (lab_out == Label.LV_BLOOD_POOL) | (lab_out == Label.LV_MYOCARDIUM)
    valid = valid & ~bad_out
    beyond[~valid] = BEYOND_INVALID
    return beyond, valid


def _label_profiles(points: FloatArray, dirs: FloatArray, edges: _LabelEdges) -> WallProfiles:
    """Profiles from the label edges alone (no image, or refinement switched off)."""
    t_label = edges.s_epi - edges.s_endo
    zeros = np.zeros(len(points))
    ones = np.ones(len(points), dtype=bool)
    return WallProfiles(
        edges.valid, t_label, t_label, points + edges.s_endo[:, None] * dirs,
        points + edges.s_epi[:, None] * dirs, zeros, zeros, edges.half, zeros, edges.beyond,
        ones, ones, zeros, zeros, zeros, zeros,
    )  # fmt: skip


def _refined_profiles(
    crop: LVCrop,
    points: FloatArray,
    dirs: FloatArray,
    edges: _LabelEdges,
    refs: References,
    options: MeasureOptions,
) -> WallProfiles:
    """Profiles with both edges moved to the image's sub-voxel edge."""
    half = edges.half
    t_label = edges.s_epi - edges.s_endo
    w = options.edge_window_mm or max(1.5, float(crop.spacing.max()))
    windows = (np.minimum(half + w, 0.45 * t_label), half + w, half)
    p_a = points + edges.s_endo[:, None] * dirs
    p_b = points + edges.s_epi[:, None] * dirs
    ref_myo, ref_blood, ref_outer, floor = _edge_references(refs, p_a, p_b, edges.beyond)
    no_floor = np.full(len(points), -np.inf)
    d_a, unc_a, c_a, o_a = _edge_shift(
        crop, (p_a, -dirs), windows, (ref_myo, ref_blood, no_floor), refs.noise_hu, options
    )
    d_b, unc_b, c_b, o_b = _edge_shift(
        crop, (p_b, dirs), windows, (ref_myo, ref_outer, floor), refs.noise_hu, options
    )
    return WallProfiles(
        valid=edges.valid,
        thickness_mm=t_label + d_a + d_b,
        label_thickness_mm=t_label,
        endo_mm=p_a - d_a[:, None] * dirs,
        epi_mm=p_b + d_b[:, None] * dirs,
        shift_endo_mm=d_a,
        shift_epi_mm=d_b,
        half_voxel_mm=half,
        window_mm=windows[0] + windows[1],
        beyond=edges.beyond,
        uncertain_endo=unc_a,
        uncertain_epi=unc_b,
        contrast_endo=c_a,
        contrast_epi=c_b,
        offset_endo_mm=o_a,
        offset_epi_mm=o_b,
    )


def _edge_references(
    refs: References, p_endo: FloatArray, p_epi: FloatArray, beyond: npt.NDArray[np.int8]
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per line: myocardium, LV blood and outer-tissue references, and the outer floor.

    Beyond the epicardium the reference is the RV blood, or the local outer
    tissue when it is not fat (liver, muscle...), else the fat level. The
    outer edge is placed against fat, never against lung: intensities below
    the fat level (the floor; none towards the RV) read as fat.
    """
    ref_myo = _field_at(refs.myo, refs.step, 0.5 * (p_endo + p_epi))
    ref_blood = _field_at(refs.blood, refs.step, p_endo)
    band = _field_at(refs.outer, refs.step, p_epi)
    not_fat = band > refs.fat_hu + 0.5 * (ref_myo - refs.fat_hu)
    ref_outer = np.where(
        beyond == BEYOND_RV,
        _field_at(refs.rv, refs.step, p_epi),
        np.where(not_fat, band, refs.fat_hu),
    )
    floor = np.where(beyond == BEYOND_RV, -np.inf, refs.fat_hu)
    return ref_myo, ref_blood, ref_outer, floor


def _edge_shift(
    crop: LVCrop,
    line: tuple[FloatArray, FloatArray],
    windows: tuple[FloatArray, FloatArray, FloatArray],
    refs: tuple[FloatArray, FloatArray, FloatArray],
    noise_hu: float,
    options: MeasureOptions,
) -> tuple[FloatArray, BoolArray, FloatArray, FloatArray]:
    """Outward move of one edge per line, 'uncertain' mask, contrast and image offset.

    ``line`` = (edge points, outward unit vectors); ``windows`` = (w_in,
    w_out, half voxel); ``refs`` = (myocardium, other tissue, intensity
    floor) per line.
    """
    assert crop.image is not None
    edge, outward = line
    w_in, w_out, half = windows
    ref_myo, ref_other, floor = refs
    u = np.arange(0.0, 1.0 + 1e-9, 0.1 / float(np.max(w_in + w_out)))
    t = -w_in[:, None] + u[None, :] * (w_in + w_out)[:, None]
    pos = edge[:, None, :] + t[..., None] * outward[:, None, :]
    idx = (pos / crop.spacing).reshape(-1, 3).T
    vals = ndimage.map_coordinates(crop.image, idx, order=1, mode="nearest").reshape(t.shape)
    other = np.maximum(ref_other, floor)
    # lung beyond a thin fat layer reads as fat (minus one noise SD: keeps noise unbiased)
    vals = np.maximum(vals, (floor - noise_hu)[:, None])
    contrast = ref_myo - other
    safe = np.where(np.abs(contrast) < 1e-3, 1e-3, contrast)
    m = np.clip((vals - other[:, None]) / safe[:, None], -_CLIP, 1.0 + _CLIP)
    # beyond the edge, once the profile has reached the other tissue, a later
    # return to myocardium-like values is another structure (a trabecula, a
    # papillary muscle, the RV wall): it belongs to the other tissue
    beyond = t > 0
    crossed = np.cumsum(beyond & (m < 0.5), axis=1) > 0
    returned = np.cumsum(crossed & (m > 0.5), axis=1) > 0
    m = np.where(returned, 0.0, m)
    raw = -w_in + np.trapezoid(m, t, axis=1)
    # an intensity edge more than half a voxel from the label edge is not
    # followed: tapered back to the label edge between 1 and 1.5 half-voxels
    # (edited labels are kept; the image never snaps them back)
    trust = np.clip((1.5 * half - np.abs(raw)) / (0.5 * half), 0.0, 1.0)
    weak = np.abs(contrast) < options.min_contrast_hu
    unc = (trust < 0.5) | weak
    shift = np.where(weak, 0.0, np.clip(raw, -half, half) * trust)
    return shift, unc, contrast, np.where(weak, 0.0, raw)


def _sample(
    arr: npt.NDArray[np.float32],
    points: FloatArray,
    dirs: FloatArray,
    s: FloatArray,
    spacing: FloatArray,
    order: int,
) -> npt.NDArray[np.float32]:
    pos = points[:, None, :] + s[None, :, None] * dirs[:, None, :]
    idx = (pos / spacing).reshape(-1, 3).T
    out = ndimage.map_coordinates(arr, idx, order=order, mode="constant", cval=0.0)
    return np.asarray(out.reshape(len(points), len(s)), dtype=np.float32)


def _crossing(
    lam: npt.NDArray[np.float32], rows: npt.NDArray[np.intp], k_out: npt.NDArray[np.intp],
    k_in: npt.NDArray[np.intp], s: FloatArray,
) -> FloatArray:  # fmt: skip
    """Position where lam crosses 1/2 between samples k_in (>= 1/2) and k_out (< 1/2)."""
    l_in = lam[rows, np.clip(k_in, 0, lam.shape[1] - 1)].astype(np.float64)
    l_out = lam[rows, k_out].astype(np.float64)
    frac = np.clip((l_in - 0.5) / np.maximum(l_in - l_out, 1e-6), 0.0, 1.0)
    return np.asarray(
        s[np.clip(k_in, 0, len(s) - 1)] + frac * (s[k_out] - s[np.clip(k_in, 0, len(s) - 1)])
    )


def _label_at(crop: LVCrop, pos: FloatArray) -> npt.NDArray[np.integer]:
    idx = np.rint(pos / crop.spacing).astype(np.int64)
    inside = np.all((idx >= 0) & (idx < np.asarray(crop.labels.shape)), axis=1)
    out = np.full(len(pos), int(Label.BACKGROUND), dtype=np.int64)
    out[inside] = crop.labels[tuple(idx[inside].T)]
    return out


def _field_at(field: npt.NDArray[np.float32], step: float, pos: FloatArray) -> FloatArray:
    idx = (pos / step).T
    return np.asarray(
        ndimage.map_coordinates(field, idx, order=1, mode="nearest"), dtype=np.float64
    )


def tissue_references(
    crop: LVCrop, psi: FloatArray, d_cav: FloatArray, d_out: FloatArray
) -> References | None:
    """Local blood / myocardium / RV / outer-tissue reference intensities.

    Smooth fields (Gaussian-weighted local means, sigma 10 mm) on a grid of
    about 2 mm: blood from the cavity core (papillary muscles excluded by
    intensity), myocardium from the wall core, RV blood from the RV core and
    the outer tissue from a band 0-2.5 mm beyond the wall margin, with
    intensities below the fat level raised to it (lung reads as fat).
    """
    if crop.image_iso is None:
        return None
    d_out_lv = ndimage.distance_transform_edt(~(crop.myo | crop.cav), sampling=crop.step)
    k = max(1, int(round(2.0 / crop.step)))
    sl = (slice(None, None, k),) * 3
    img = crop.image_iso[sl]
    step = crop.step * k
    myo, cav, rv, la = crop.myo[sl], crop.cav[sl], crop.rv[sl], crop.la[sl]
    margin = max(1.5, 0.75 * float(crop.spacing.max()) + 0.5)
    depth = np.minimum(d_cav, d_out)[sl]
    myo_core = myo & (depth >= margin)
    if myo_core.sum() < 20:
        myo_core = myo & (np.abs(psi[sl] - 0.5) < 0.2)
    m0 = float(np.median(img[myo_core]))
    spread = 1.4826 * float(np.median(np.abs(img[myo_core] - m0)))
    myo_core &= np.abs(img - m0) < 3.0 * max(spread, 5.0)  # edited/mislabelled voxels out
    cav_core = cav & (ndimage.distance_transform_edt(cav, sampling=step) >= margin + 0.5)
    if cav_core.sum() < 20:
        cav_core = cav
    b0 = float(np.median(img[cav_core]))
    cav_core &= img > m0 + 0.75 * (b0 - m0)  # no papillary muscles / trabeculae
    rv_core = rv & (ndimage.distance_transform_edt(rv, sampling=step) >= margin)
    if rv_core.any():  # RV trabeculae / moderator band out, as for the LV cavity
        r0 = float(np.median(img[rv_core]))
        rv_core &= img > m0 + 0.75 * (r0 - m0)
    dist_lv = d_out_lv[sl]
    band = ~(myo | cav | rv | la) & (dist_lv > margin - 0.5) & (dist_lv <= margin + 2.5)
    band &= ndimage.distance_transform_edt(~(rv | la), sampling=step) > 1.5
    outside = ~(crop.myo | crop.cav | crop.rv | crop.la)
    fat = _fat_level(crop, outside & (d_out_lv > 5.0) & (d_out_lv <= 12.0))
    sig = _SIGMA_MM / step
    return References(
        blood=_local_mean(img, cav_core, b0, sig),
        myo=_local_mean(img, myo_core, m0, sig),
        rv=_local_mean(img, rv_core, b0, sig),
        outer=_local_mean(np.maximum(img, fat), band, fat, sig),
        noise_hu=_noise(crop, cav_core, step),
        fat_hu=fat,
        step=step,
    )


def _fat_level(crop: LVCrop, near_lv: BoolArray) -> float:
    """Fat intensity: histogram mode of unlabelled voxels near the LV in [-200, -30] HU.

    ``near_lv`` (isotropic grid) marks the band just outside the wall; the
    mode ignores the partial-volume tails towards myocardium and lung.
    """
    assert crop.image_iso is not None
    img = crop.image_iso
    vals = img[near_lv & (img > -200.0) & (img < -30.0)]
    if vals.size < 100:
        return -100.0
    hist, edges = np.histogram(vals, bins=34, range=(-200.0, -30.0))
    centres = 0.5 * (edges[:-1] + edges[1:])
    smooth = ndimage.gaussian_filter1d(hist.astype(np.float64), 2.0)
    k = int(np.argmax(smooth))
    # Gaussian (parabola in log counts) fitted to the peak and its lower flank:
    # the upper flank carries the partial-volume tail towards soft tissue
    use = (smooth > 0.3 * smooth[k]) & (centres <= centres[k] + 10.0)
    if use.sum() >= 3:
        a, b, _ = np.polyfit(centres[use], np.log(smooth[use]), 2)
        if a < 0:
            return float(np.clip(-b / (2 * a), -200.0, -30.0))
    return float(centres[k])


def _noise(crop: LVCrop, core: BoolArray, step: float) -> float:
    """Noise SD (HU) on the original grid: robust spread of the cavity core.

    ``core`` marks cavity-core voxels of a grid of spacing ``step`` (crop
    mm); the image is read at the nearest original voxels (no interpolation,
    which would lower the noise).
    """
    assert crop.image is not None
    pts = np.argwhere(core) * step
    idx = np.rint(pts / crop.spacing).astype(np.int64)
    idx = np.clip(idx, 0, np.asarray(crop.image.shape) - 1)
    vals = crop.image[tuple(idx.T)]
    if vals.size < 20:
        return 20.0
    return max(1.4826 * float(np.median(np.abs(vals - np.median(vals)))), 1.0)


def _local_mean(
    values: npt.NDArray[np.float32], mask: BoolArray, default: float, sigma: float
) -> npt.NDArray[np.float32]:
    """Gaussian-weighted mean of ``values`` over ``mask`` (normalised convolution)."""
    if not mask.any():
        return np.full(values.shape, default, dtype=np.float32)
    w = mask.astype(np.float32)
    num = ndimage.gaussian_filter(values * w, sigma, mode="constant", truncate=2.5)
    den = ndimage.gaussian_filter(w, sigma, mode="constant", truncate=2.5)
    out = np.where(den > 1e-3, num / np.maximum(den, 1e-6), default)
    return np.asarray(out, dtype=np.float32)
