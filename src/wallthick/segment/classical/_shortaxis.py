"""Short-axis tracking of the LV cavity and wall.

Along a provisional long axis, each short-axis level is reformatted from the
image. The cavity of a level is the **convex envelope** of the blood found
inside the previous level's cavity (dilated by a few mm): papillary muscles
and trabeculae inside the cavity are filled instead of splitting it, and the
RV beyond the septum is never reached. Edges are placed at the half-way level
between the adjacent tissues, with sub-pixel contours. Rays cast outwards from
the cavity find the epicardium: the first crossing to fat/lung or to blood
(RV) after the wall. The ventricle ends at the base where its cavity stops
being wrapped in myocardium (the mitral/aortic valve plane), and at the apex
where the cavity vanishes, followed by the apical cap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError
from skimage import measure

from wallthick.segment.classical._common import (
    ClassicalOptions,
    FloatArray,
    TissueLevels,
    first_true,
    sample_affine,
)
from wallthick.volume import ImageVolume

__all__ = ["LVModel", "SAFrame", "make_frame", "track_ventricle"]

logger = logging.getLogger(__name__)

_RAY_STEP_MM = 0.25
_TRACK_DILATION_MM = 4.0
_MAX_CAP_MM = 25.0
_OPEN_RAY_MM = 2.0


@dataclass(frozen=True)
class SAFrame:
    """Short-axis frame: ``origin + h * axis + u * e1 + v * e2`` (LPS mm).

    ``axis`` points from the apex towards the base.
    """

    origin_mm: FloatArray
    axis: FloatArray
    e1: FloatArray
    e2: FloatArray

    def to_world(self, h: npt.ArrayLike, u: npt.ArrayLike, v: npt.ArrayLike) -> FloatArray:
        h, u, v = (np.asarray(x, dtype=np.float64)[..., None] for x in (h, u, v))
        return self.origin_mm + h * self.axis + u * self.e1 + v * self.e2  # type: ignore[no-any-return]

    def sample(
        self, image: ImageVolume, h: npt.ArrayLike, u: npt.ArrayLike, v: npt.ArrayLike
    ) -> npt.NDArray[np.float32]:
        """Trilinear image samples at frame coordinates ``(h, u, v)``."""
        axes = np.stack([self.axis, self.e1, self.e2])
        return sample_affine(image, self.origin_mm, axes, (h, u, v))

    def from_world(self, points_mm: npt.ArrayLike) -> FloatArray:
        d = np.asarray(points_mm, dtype=np.float64) - self.origin_mm
        return np.stack([d @ self.axis, d @ self.e1, d @ self.e2], axis=-1)


def make_frame(origin_mm: FloatArray, axis: FloatArray) -> SAFrame:
    """A right-handed short-axis frame around ``axis`` (normalised here)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    ref = np.array([0.0, -1.0, 0.0])  # anterior in LPS
    if abs(ref @ a) > 0.9:
        ref = np.array([1.0, 0.0, 0.0])
    e1 = ref - (ref @ a) * a
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(a, e1)
    return SAFrame(np.asarray(origin_mm, dtype=np.float64), a, e1, e2)


@dataclass
class LVModel:
    """Per-level cavity/epicardium radii around per-level centres.

    ``r_endo[l, a]`` is 0 in the apical cap; NaN radii never remain after
    :func:`track_ventricle`. ``exit_kind`` is 1 where the wall ends in fat or
    lung, 2 where it ends in blood (RV), 0 where no edge was found (e.g. liver).
    """

    frame: SAFrame
    levels_mm: FloatArray
    centers_uv: FloatArray
    angles: FloatArray
    r_endo: FloatArray
    r_epi: FloatArray
    exit_kind: npt.NDArray[np.int8]
    wrap_fraction: FloatArray
    n_cavity_levels: int
    repaired_fraction: float = 0.0
    rv_blood_hu: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def cavity_levels_mm(self) -> FloatArray:
        return self.levels_mm[: self.n_cavity_levels]


@dataclass(frozen=True)
class WallEdge:
    """How the wall's outer edge against blood (the RV) is found: the level
    (half-way myocardium/RV blood), the smoothing along rays and how long the
    profile must stay above the level (both larger when the RV is weak)."""

    t_rv: float
    ray_sigma_mm: float = 0.5
    sustain_mm: float = 2.0


@dataclass
class _Level:
    h: float
    center: FloatArray
    r_endo: FloatArray
    r_epi: FloatArray
    exit_kind: npt.NDArray[np.int8]
    wrap: float


def _polar_radius(radii: FloatArray, theta: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Radius of a star-shaped contour (``radii`` at equally spaced angles) at ``theta``."""
    n = radii.size
    x = np.mod(theta, 2 * np.pi) / (2 * np.pi) * n
    return np.interp(x, np.arange(n + 1), np.append(radii, radii[0]))  # type: ignore[no-any-return]


def _region(
    s: npt.NDArray[np.float32],
    t_b: float,
    offset_uv: FloatArray,
    prev: _Level | None,
    seed_radius: float,
    pix: float,
) -> npt.NDArray[np.bool_]:
    """Blood of this level that belongs to the cavity being tracked.

    Without a previous level: the blood component at the frame origin. Otherwise: blood inside the previous cavity grown
    by a few mm (so the RV beyond the septum is never reached).
    """
    blood = s > t_b
    uu = offset_uv[0] + pix * np.arange(s.shape[0])[:, None]
    vv = offset_uv[1] + pix * np.arange(s.shape[1])[None, :]
    if prev is None:
        rr = np.hypot(uu, vv)
        lab, _ = ndimage.label(blood)
        near = lab[(rr <= 5.0) & (lab > 0)]
        if near.size == 0:
            return np.zeros_like(blood)
        return np.asarray(lab == np.bincount(near).argmax())
    du, dv = uu - prev.center[0], vv - prev.center[1]
    allowed = np.hypot(du, dv) < _polar_radius(prev.r_endo, np.arctan2(dv, du)) + _TRACK_DILATION_MM
    region = blood & allowed
    lab, n = ndimage.label(region)
    if n == 0:
        return region
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    keep = sizes * pix * pix >= max(2.0, 0.02 * sizes.max() * pix * pix)
    return np.asarray(keep[lab])


def _hull(
    s: npt.NDArray[np.float32], region: npt.NDArray[np.bool_], t_b: float
) -> FloatArray | None:
    """Sub-pixel convex envelope (polygon vertices, pixel units) of ``region``.

    Contours are traced in the bounding box of the dilated region plus one
    pixel only: everything beyond it is the fill value below ``t_b``, where no
    contour runs, so the polygon is that of the whole slab.
    """
    near = ndimage.binary_dilation(region)
    rows, cols = np.flatnonzero(near.any(axis=1)), np.flatnonzero(near.any(axis=0))
    if rows.size == 0:
        return None
    r0, r1 = max(int(rows[0]) - 1, 0), min(int(rows[-1]) + 2, s.shape[0])
    c0, c1 = max(int(cols[0]) - 1, 0), min(int(cols[-1]) + 2, s.shape[1])
    fill = min(float(s.min()), t_b) - 1.0
    masked = np.where(near[r0:r1, c0:c1], s[r0:r1, c0:c1], fill)
    masked = np.pad(masked, 1, constant_values=t_b - 1.0)
    contours = measure.find_contours(masked, t_b)
    if not contours:
        return None
    pts = np.concatenate(contours) + np.array([r0 - 1.0, c0 - 1.0])
    try:
        hull = ConvexHull(pts)
    except (QhullError, ValueError):
        return None
    return pts[hull.vertices]


def _polygon_radii(poly: FloatArray, center: FloatArray, angles: FloatArray) -> FloatArray:
    """Distance from ``center`` to a convex polygon along each angle."""
    d = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    a = poly - center
    b = np.roll(a, -1, axis=0) - a
    # solve t*d = a + s*b  ->  per (angle, edge)
    den = d[:, None, 0] * b[None, :, 1] - d[:, None, 1] * b[None, :, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (a[None, :, 0] * b[None, :, 1] - a[None, :, 1] * b[None, :, 0]) / den
        s = (a[None, :, 0] * d[:, None, 1] - a[None, :, 1] * d[:, None, 0]) / den
    valid = (s >= -1e-9) & (s <= 1 + 1e-9) & (t > 0) & np.isfinite(t)
    t = np.where(valid, t, np.inf)
    return t.min(axis=1)  # type: ignore[no-any-return]


def _poly_centroid(poly: FloatArray) -> FloatArray:
    x, y = poly[:, 0], poly[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    area = cross.sum() / 2.0
    if abs(area) < 1e-9:
        return poly.mean(axis=0)  # type: ignore[no-any-return]
    return np.array([((x + xn) * cross).sum(), ((y + yn) * cross).sum()]) / (6.0 * area)


def _wall_rays(
    image: ImageVolume,
    frame: SAFrame,
    h: float,
    center_uv: FloatArray,
    r_endo: FloatArray,
    angles: FloatArray,
    levels: TissueLevels,
    edge: WallEdge,
    opts: ClassicalOptions,
) -> tuple[FloatArray, npt.NDArray[np.int8], FloatArray]:
    """Epicardial radius along each angle (NaN: no edge within the plausible wall),
    the kind of tissue beyond it, and the wall length up to fat or LV-level blood."""
    r = np.arange(0.0, opts.max_wall_mm + 2.0, _RAY_STEP_MM)
    rr = r_endo[:, None] + r[None, :]
    u = center_uv[0] + rr * np.cos(angles)[:, None]
    v = center_uv[1] + rr * np.sin(angles)[:, None]
    prof = frame.sample(image, h, u, v)
    prof = ndimage.gaussian_filter1d(prof, edge.ray_sigma_mm / _RAY_STEP_MM, axis=1)
    t_rv = edge.t_rv
    t_b, t_f = levels.blood_myo_mid, levels.myo_fat_mid
    inwall = first_true(prof < t_b)
    started = np.arange(r.size)[None, :] > np.where(inwall < 0, r.size, inwall)[:, None]
    to_fat = first_true(started & (prof < t_f))
    # blood beyond the wall (RV): above the level and staying there for a while,
    # so that noise in a weakly enhanced case does not end the wall early
    k = max(1, int(round(edge.sustain_mm / _RAY_STEP_MM)))
    ahead = ndimage.uniform_filter1d(prof, k, axis=1, origin=-(k // 2), mode="nearest")
    in_myo = first_true(started & (prof < t_rv))
    after_myo = np.arange(r.size)[None, :] > np.where(in_myo < 0, r.size, in_myo)[:, None]
    to_rv = first_true(after_myo & (prof > t_rv) & (ahead > t_rv))
    to_lv_level = first_true(started & (prof > t_b) & (ahead > t_b))  # e.g. a thin valve
    to_blood = np.where(
        (to_rv > 0) & ((to_lv_level < 0) | (to_rv < to_lv_level)), to_rv, to_lv_level
    )
    r_epi, kind = _first_exit(prof, r_endo, to_fat, to_blood, to_rv, (t_f, t_rv, t_b))
    # the wall as seen by the robust exits only (fat/lung, LV-level blood such as
    # the atrium or aortic root): this decides whether the level is wrapped
    robust = np.where(to_lv_level > 0, to_lv_level, r.size)
    robust = np.minimum(robust, np.where(to_fat > 0, to_fat, r.size))
    robust_wall = np.where(robust < r.size, robust * _RAY_STEP_MM, np.nan)
    # a ray that stays in blood beyond the cavity edge is not wrapped at all
    open_ray = (inwall < 0) | (inwall * _RAY_STEP_MM > _OPEN_RAY_MM)
    robust_wall[open_ray] = 0.0
    r_epi[open_ray] = np.nan
    return r_epi, kind, robust_wall


def _first_exit(
    prof: npt.NDArray[np.float32],
    r_endo: FloatArray,
    to_fat: npt.NDArray[np.intp],
    to_blood: npt.NDArray[np.intp],
    to_rv: npt.NDArray[np.intp],
    thresholds: tuple[float, float, float],
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    """Per ray, the nearer of the exits to fat (kind 1) and to blood (kind 2;
    the fat exit wins a tie at the same sample when its level is not higher),
    placed between samples at its level: radius (NaN without exit) and kind."""
    t_f, t_rv, t_b = thresholds
    t_exit = np.where(to_blood == to_rv, t_rv, t_b)
    fat_ok, blood_ok = to_fat > 0, to_blood > 0
    use_fat = fat_ok & (~blood_ok | (to_fat < to_blood) | ((to_fat == to_blood) & (t_f <= t_exit)))
    found = fat_ok | blood_ok
    i = np.where(use_fat, to_fat, to_blood)[found]
    level = np.where(use_fat, t_f, t_exit)[found]
    rows = np.flatnonzero(found)
    a = prof[rows, i - 1].astype(np.float64)
    b = prof[rows, i].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(a == b, 0.5, np.clip((level - a) / (b - a), 0.0, 1.0))
    r_epi = np.full(prof.shape[0], np.nan)
    r_epi[rows] = r_endo[rows] + (i - 1 + frac) * _RAY_STEP_MM
    kind = np.zeros(prof.shape[0], np.int8)
    kind[rows] = np.where(use_fat[rows], 1, 2)
    return r_epi, kind


def _process_level(
    image: ImageVolume,
    frame: SAFrame,
    h: float,
    prev: _Level | None,
    seed_radius: float,
    levels: TissueLevels,
    edge: WallEdge,
    angles: FloatArray,
    opts: ClassicalOptions,
) -> _Level | None:
    pix = opts.sa_pixel_mm
    if prev is None:
        center0, half = np.zeros(2), max(2.5 * seed_radius, 45.0)
    else:
        center0, half = prev.center, float(prev.r_endo.max()) + _TRACK_DILATION_MM + 2.0
    g = np.arange(-half, half + 0.5 * pix, pix)
    s = frame.sample(image, h, center0[0] + g[:, None], center0[1] + g[None, :])
    offset = center0 - half
    region = _region(s, levels.blood_myo_mid, offset, prev, seed_radius, pix)
    if region.sum() * pix * pix < 3.0:
        return None
    poly = _hull(s, region, levels.blood_myo_mid)
    if poly is None or len(poly) < 3:
        return None
    center_px = _poly_centroid(poly)
    r_endo = _polygon_radii(poly, center_px, angles) * pix
    if not np.all(np.isfinite(r_endo)):
        return None
    center = center_px * pix + offset
    r_epi, kind, wall = _wall_rays(image, frame, h, center, r_endo, angles, levels, edge, opts)
    wrapped = np.where(np.isnan(wall), True, wall >= opts.min_wall_mm)
    return _Level(h, center, r_endo, r_epi, kind, float(wrapped.mean()))


def _widens(base: list[_Level], lev: _Level) -> bool:
    """True when the cavity widens again towards the base after narrowing:
    the section has passed the annulus into the atrium or the aortic root."""
    if len(base) < 5:
        return False
    radii = np.array([float(np.mean(b.r_endo)) for b in base])
    k = int(np.argmax(radii))
    if k >= radii.size - 1:
        return False
    narrowest = float(radii[k:].min())
    return float(np.mean(lev.r_endo)) > 1.08 * narrowest and narrowest < 0.9 * radii[k]


def _cap_level(
    image: ImageVolume,
    frame: SAFrame,
    h: float,
    center: FloatArray,
    levels: TissueLevels,
    angles: FloatArray,
    opts: ClassicalOptions,
) -> _Level | None:
    """Apical cap: solid myocardium, edge where it ends in fat/lung."""
    r = np.arange(0.0, 40.0, _RAY_STEP_MM)
    u = center[0] + r[None, :] * np.cos(angles)[:, None]
    v = center[1] + r[None, :] * np.sin(angles)[:, None]
    prof = frame.sample(image, h, u, v)
    t_f = levels.myo_fat_mid
    if float(np.median(prof[:, :8])) < t_f:
        return None
    out = first_true(prof < t_f)
    r_epi = np.where(out > 0, r[np.maximum(out, 0)], np.nan)
    if np.isnan(r_epi).mean() > 0.5:
        return None
    kind = np.where(out > 0, 1, 0).astype(np.int8)
    return _Level(h, center, np.zeros(angles.size), r_epi, kind, 1.0)


def track_ventricle(
    image: ImageVolume,
    frame: SAFrame,
    levels: TissueLevels,
    seed_radius_mm: float,
    opts: ClassicalOptions,
    t_rv: float | None = None,
    ray_sigma_mm: float = 0.5,
    sustain_mm: float = 2.0,
) -> LVModel | None:
    """Track the cavity from the frame origin to the base and to the apex."""
    angles = np.linspace(0.0, 2 * np.pi, opts.n_angles, endpoint=False)
    edge = WallEdge(levels.blood_myo_mid if t_rv is None else t_rv, ray_sigma_mm, sustain_mm)
    step = opts.sa_level_mm
    start = _process_level(image, frame, 0.0, None, seed_radius_mm, levels, edge, angles, opts)
    if start is None:
        return None
    base: list[_Level] = []
    prev = start
    for i in range(1, int(80 / step)):
        lev = _process_level(
            image, frame, i * step, prev, seed_radius_mm, levels, edge, angles, opts
        )
        if lev is None or _widens(base, lev):
            break
        base.append(lev)
        prev = lev
        # the base: the first of two levels in a row not wrapped all around
        if len(base) >= 2 and max(base[-1].wrap, base[-2].wrap) < opts.base_wrap_fraction:
            del base[-2:]
            break
    apex: list[_Level] = []
    prev = start
    for i in range(1, int(120 / step)):
        lev = _process_level(
            image, frame, -i * step, prev, seed_radius_mm, levels, edge, angles, opts
        )
        if lev is None:
            break
        apex.append(lev)
        prev = lev
    neighbour = base[0] if base else (apex[0] if apex else None)
    if neighbour is not None:  # redo the seed level like the others (no seed disk)
        redo = _process_level(
            image, frame, 0.0, neighbour, seed_radius_mm, levels, edge, angles, opts
        )
        start = redo if redo is not None else start
    cavity = [*reversed(apex), start, *base]
    cap: list[_Level] = []
    h = cavity[0].h
    for i in range(1, int(_MAX_CAP_MM / step)):
        lev = _cap_level(image, frame, h - i * step, cavity[0].center, levels, angles, opts)
        if lev is None:
            break
        cap.append(lev)
    return _assemble(frame, [*reversed(cap), *cavity], len(cap), angles, opts)


def probe_axis(
    image: ImageVolume,
    frame: SAFrame,
    levels: TissueLevels,
    seed_radius_mm: float,
    opts: ClassicalOptions,
    step_mm: float = 3.0,
) -> tuple[int, float, float]:
    """Coarse tracking both ways along ``frame.axis`` with the wrap rule on both
    sides: (number of wrapped levels, end radius towards +axis, towards -axis).

    Along the true long axis many consecutive short-axis sections are wrapped
    in myocardium all around; the side where the cavity ends small is the apex.
    """
    angles = np.linspace(0.0, 2 * np.pi, max(16, opts.n_angles // 3), endpoint=False)
    edge = WallEdge(levels.blood_myo_mid)
    start = _process_level(image, frame, 0.0, None, seed_radius_mm, levels, edge, angles, opts)
    if start is None:
        return 0, 0.0, 0.0
    count, ends = int(start.wrap >= opts.base_wrap_fraction), []
    for sign in (1.0, -1.0):
        prev, end = start, float(np.mean(start.r_endo))
        for i in range(1, int(100 / step_mm)):
            lev = _process_level(
                image, frame, sign * i * step_mm, prev, seed_radius_mm, levels, edge, angles, opts
            )
            if lev is None:
                end = 0.0
                break
            if lev.wrap < opts.base_wrap_fraction:
                break
            count += 1
            prev, end = lev, float(np.mean(lev.r_endo))
        ends.append(end)
    return count, ends[0], ends[1]


def _assemble(
    frame: SAFrame, lv: list[_Level], n_cap: int, angles: FloatArray, opts: ClassicalOptions
) -> LVModel:
    r_endo = np.stack([x.r_endo for x in lv])
    r_epi = np.stack([x.r_epi for x in lv])
    kinds = np.stack([x.exit_kind for x in lv])
    thick = _repair_thickness(r_epi - r_endo, opts, kinds)
    repaired = float(np.mean(np.abs(np.nan_to_num(r_epi - r_endo, nan=-1e3) - thick) > 1e-6))
    return LVModel(
        frame=frame,
        levels_mm=np.array([x.h for x in lv]),
        centers_uv=np.stack([x.center for x in lv]),
        angles=angles,
        r_endo=r_endo,
        r_epi=r_endo + thick,
        exit_kind=np.stack([x.exit_kind for x in lv]),
        wrap_fraction=np.array([x.wrap for x in lv]),
        n_cavity_levels=len(lv) - n_cap,
        repaired_fraction=repaired,
    )


def _repair_thickness(
    thick: FloatArray, opts: ClassicalOptions, kinds: npt.NDArray[np.int8] | None = None
) -> FloatArray:
    """Replace missing and implausible wall thickness by a smooth prior from
    neighbouring angular sectors and levels (e.g. where the wall touches the
    liver and no edge exists).

    Walls that do not end in blood (kinds 0/1) and are far thicker than the
    median of a +-45 deg sector are treated as missing first: tissue of
    myocardial density beyond the wall (liver, diaphragm, a vessel wall)
    with no fat between. Walls ending in RV blood are kept (septal
    hypertrophy is real)."""
    t = thick.copy()
    t[(t < 0.5) | (t > opts.max_wall_mm)] = np.nan
    n_ang = t.shape[1]
    if kinds is not None:
        ww = max(3, n_ang // 4) | 1
        pad = np.pad(
            np.nan_to_num(t, nan=np.nanmedian(t) if np.isfinite(t).any() else 0.0),
            ((0, 0), (ww, ww)),
            mode="wrap",
        )
        wide = ndimage.median_filter(pad, size=(5, ww), mode="nearest")[:, ww:-ww]
        thick_out = (t > 1.6 * wide) & (t > wide + 4.0) & (kinds != 2)
        t[thick_out] = np.nan
    x = np.arange(n_ang)
    for row in t:
        ok = np.isfinite(row)
        if ok.sum() >= max(3, n_ang // 10):
            row[~ok] = np.interp(x[~ok], x[ok], row[ok], period=n_ang)
    lv_med = np.nanmedian(t) if np.isfinite(t).any() else opts.min_wall_mm * 2
    bad_rows = ~np.isfinite(t).all(axis=1)
    t[bad_rows] = np.where(np.isfinite(t[bad_rows]), t[bad_rows], lv_med)
    wa = max(3, n_ang // 12) | 1
    padded = np.pad(t, ((0, 0), (wa, wa)), mode="wrap")
    ref = ndimage.median_filter(padded, size=(5, wa), mode="nearest")[:, wa:-wa]
    out = np.abs(t - ref) > np.maximum(2.0, 0.35 * ref)
    t[out] = ref[out]
    return t
