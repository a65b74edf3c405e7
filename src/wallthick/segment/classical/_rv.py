"""RV blood pool next to the LV, and the RV-myocardium contrast.

The RV is found on a 1 mm grid aligned with the LV short axis, restricted to
the levels of the ventricles: blood brighter than the half-way level between
myocardium and RV blood, outside the LV, in the component that touches the
LV's outer wall the most. Its HU is measured first from beyond the septum
(rays whose wall ended in blood) or, when the RV is weakly enhanced and no ray
ended there, from tissue clearly brighter than myocardium next to the LV.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from wallthick.labels import Label
from wallthick.segment.classical._common import TissueLevels
from wallthick.segment.classical._raster import frame_coordinates
from wallthick.segment.classical._shortaxis import LVModel
from wallthick.volume import Geometry, ImageVolume

__all__ = ["RVResult", "estimate_rv", "rasterize_rv", "rv_blood_level"]

_GRID_MM = 1.0
_HALF_MM = 75.0
_WEAK_RV_CONTRAST_HU = 150.0


@dataclass
class RVResult:
    """RV mask on the short-axis grid and its intensity diagnostics."""

    mask: npt.NDArray[np.bool_] | None
    h0_mm: float
    blood_hu: float | None
    contrast_hu: float | None
    warnings: list[str] = field(default_factory=list)


def _grid(model: LVModel) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    h0 = float(model.levels_mm[0]) - 5.0
    h1 = float(model.levels_mm[-1])
    hs = np.arange(h0, h1 + 0.5 * _GRID_MM, _GRID_MM)
    g = np.arange(-_HALF_MM, _HALF_MM + 0.5 * _GRID_MM, _GRID_MM)
    return hs, g, h0


def _lv_outer(
    model: LVModel,
    hs: npt.NDArray[np.float64],
    g: npt.NDArray[np.float64],
    margin: float,
    inner: bool = False,
    typical_wall_mm: float | None = None,
) -> npt.NDArray[np.bool_]:
    """Voxels of the SA grid inside the LV epicardium (+ margin); inside the
    endocardium shrunk by 2 mm when ``inner``; inside the endocardium plus a
    typical wall when ``typical_wall_mm`` is given."""
    uu, vv = np.meshgrid(g, g, indexing="ij")
    out = np.zeros((hs.size, g.size, g.size), bool)
    n_ang = model.angles.size
    for i, h in enumerate(hs):
        li = int(np.argmin(np.abs(model.levels_mm - h)))
        if abs(model.levels_mm[li] - h) > 1.0:
            continue
        du, dv = uu - model.centers_uv[li, 0], vv - model.centers_uv[li, 1]
        a = (np.mod(np.arctan2(dv, du), 2 * np.pi) / (2 * np.pi) * n_ang).astype(int) % n_ang
        if inner:
            radius = model.r_endo[li][a] - 2.0
        elif typical_wall_mm is not None:
            radius = np.minimum(model.r_endo[li][a] + typical_wall_mm, model.r_epi[li][a]) + margin
        else:
            radius = model.r_epi[li][a] + margin
        out[i] = np.hypot(du, dv) < radius
    return out


def _sa_volume(
    image: ImageVolume, model: LVModel
) -> tuple[npt.NDArray[np.float32], float, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    hs, g, h0 = _grid(model)
    vol = model.frame.sample(image, hs[:, None, None], g[None, :, None], g[None, None, :])
    return vol, h0, hs, g


def rv_blood_level(image: ImageVolume, model: LVModel, levels: TissueLevels) -> float | None:
    """HU of the RV blood, found even when it is weakly enhanced.

    Within 20 mm outside an LV of typical wall thickness (so that a septum that
    swallowed a weak RV does not hide it), the smoothed image's histogram
    between myocardium and LV blood has a peak for the RV blood. The peak
    counts only if its region touches the LV over a real volume. ``None``
    when there is no such peak (RV not distinguishable from myocardium).
    """
    vol, _, hs, g = _sa_volume(image, model)
    smooth = ndimage.gaussian_filter(vol, 1.5 / _GRID_MM)
    cav = slice(model.levels_mm.size - model.n_cavity_levels, None)
    wall = float(np.clip(np.median(model.r_epi[cav] - model.r_endo[cav]), 5.0, 12.0))
    lv = _lv_outer(model, hs, g, 1.0, typical_wall_mm=wall)
    near = ndimage.binary_dilation(lv, iterations=int(20 / _GRID_MM)) & ~lv
    lo = levels.myocardium_hu + 15.0
    hi = levels.blood_hu + 150.0 + 3.0 * max(levels.noise_hu, 10.0)
    values = smooth[near]
    hist, edges = np.histogram(values, bins=np.arange(lo, hi + 10.0, 10.0))
    if hist.size < 4:
        return None
    hist_s = ndimage.gaussian_filter1d(hist.astype(float), 1.0)
    inner = (hist_s[1:-1] >= hist_s[:-2]) & (hist_s[1:-1] >= hist_s[2:])
    peaks = np.flatnonzero(inner) + 1
    if peaks.size == 0:
        return None
    k = int(peaks[np.argmax(hist_s[peaks])])
    peak_hu = float(0.5 * (edges[k] + edges[k + 1]))
    cand = ~lv & (smooth > 0.5 * (levels.myocardium_hu + peak_hu)) & (smooth < hi + 200.0)
    # touching the LV as tracked (its epicardium): a hypertrophied septum keeps
    # the RV further from the LV than a typical wall would
    comp = _touching_component(cand, lv, reach=_lv_outer(model, hs, g, 1.0))
    if comp is None or comp.sum() * _GRID_MM**3 < 5000.0:
        return None
    core = ndimage.binary_erosion(comp, iterations=2)
    return float(np.median(vol[core if core.sum() > 500 else comp]))


def detection_level(levels: TissueLevels) -> float:
    """Level at which the wall ends in blood before the RV HU is known."""
    return levels.blood_myo_mid


def estimate_rv(
    image: ImageVolume, model: LVModel, levels: TissueLevels, rv_hu: float | None
) -> RVResult:
    """Find the RV blood pool on an SA-aligned grid; ``rv_hu`` from :func:`rv_blood_level`."""
    vol, h0, hs, g = _sa_volume(image, model)
    vol = ndimage.gaussian_filter(vol, 0.7)
    outside = ~_lv_outer(model, hs, g, 1.5)
    warnings: list[str] = []
    if rv_hu is None:
        return RVResult(
            None,
            h0,
            None,
            None,
            [
                "RV blood not distinguishable from myocardium beyond the septum; the septal "
                "thickness comes from the thickness prior of neighbouring walls."
            ],
        )
    contrast = rv_hu - levels.myocardium_hu
    if contrast < _WEAK_RV_CONTRAST_HU:
        warnings.append(
            f"weak RV enhancement: RV-myocardium contrast {contrast:.0f} HU; the right "
            "septal edge is uncertain."
        )
    t_rv = levels.myocardium_hu + 0.5 * contrast
    mask = _touching_component(outside & (vol > t_rv) & (vol < levels.blood_hu + 400), ~outside)
    if mask is None:
        warnings.append("RV blood pool not found next to the LV.")
    return RVResult(mask, h0, rv_hu, contrast, warnings)


def _touching_component(
    cand: npt.NDArray[np.bool_],
    lv: npt.NDArray[np.bool_],
    reach: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.bool_] | None:
    """The component of ``cand`` touching ``lv`` the most in the middle 60 % of
    the LV's levels (axis 0), where only the RV lies next to the septum (the
    atrium and aortic root touch the LV near the base). With ``reach`` (a
    mask containing ``lv``), touching means lying within 3 mm of ``reach``
    outside ``lv``."""
    lab, n = ndimage.label(cand)
    if n == 0:
        return None
    shell = ndimage.binary_dilation(lv if reach is None else reach | lv, iterations=3) & ~lv
    levels = np.flatnonzero(lv.any(axis=(1, 2)))
    if levels.size >= 5:
        lo, hi = np.percentile(levels, [20, 80])
        keep = np.zeros(lv.shape[0], bool)
        keep[int(lo) : int(hi) + 1] = True
        shell &= keep[:, None, None]
    touch = np.bincount(lab[shell], minlength=n + 1)
    touch[0] = 0
    if touch.max() == 0:
        return None
    return np.asarray(lab == int(np.argmax(touch)))


def rasterize_rv(
    rv: RVResult, model: LVModel, geometry: Geometry, out: npt.NDArray[np.uint8]
) -> None:
    """Nearest-neighbour copy of the SA-grid RV mask onto ``geometry`` (in place)."""
    if rv.mask is None or not rv.mask.any():
        return
    idx = np.argwhere(rv.mask)
    pts = model.frame.to_world(
        rv.h0_mm + idx[:, 0] * _GRID_MM,
        idx[:, 1] * _GRID_MM - _HALF_MM,
        idx[:, 2] * _GRID_MM - _HALF_MM,
    )
    box = geometry.world_to_index(pts)
    lo = np.maximum(np.floor(box.min(axis=0)).astype(int) - 1, 0)
    hi = np.minimum(np.ceil(box.max(axis=0)).astype(int) + 2, np.asarray(geometry.shape))
    if np.any(hi <= lo):
        return
    jj, kk = np.meshgrid(np.arange(lo[1], hi[1]), np.arange(lo[2], hi[2]), indexing="ij")
    shape = np.asarray(rv.mask.shape)
    for i in range(lo[0], hi[0]):
        h, u, v = frame_coordinates(model.frame, geometry, i, jj, kk)
        ia = np.rint(np.stack([(h - rv.h0_mm), u + _HALF_MM, v + _HALF_MM]) / _GRID_MM).astype(int)
        ok = np.all((ia >= 0) & (ia < shape[:, None, None]), axis=0)
        hit = np.zeros(jj.shape, bool)
        hit[ok] = rv.mask[ia[0][ok], ia[1][ok], ia[2][ok]]
        out[i, lo[1] : hi[1], lo[2] : hi[2]][hit] = int(Label.RV_BLOOD_POOL)
