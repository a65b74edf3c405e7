"""Find the LV: bright blood pools on a coarse grid, scored by their myocardial shell.

A candidate is the centre of a large bright region (a maximum of the
distance map of the blood mask on a ~3 mm grid). Rays cast in 3-D from it
through the full-resolution image tell how much of it is wrapped in tissue of
myocardial density of plausible thickness: the LV is wrapped almost all
around (except at the valves), the RV only on its septal side, the atria and
aorta hardly at all. Choosing by the shell, not by position, avoids picking
the descending aorta or the RV.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from skimage.filters import threshold_otsu

from wallthick.errors import SegmentationError
from wallthick.segment.classical._common import (
    ClassicalOptions,
    FloatArray,
    TissueLevels,
    fibonacci_directions,
    first_true,
    sample_world,
)
from wallthick.volume import Geometry, ImageVolume

__all__ = ["Candidate", "coarse_grid", "find_left_ventricle", "candidate_at"]

logger = logging.getLogger(__name__)

_RAY_STEP_MM = 0.5
_RAY_LENGTH_MM = 80.0
_N_DIRECTIONS = 300


@dataclass(frozen=True)
class Candidate:
    """A scored blood-pool candidate."""

    center_mm: FloatArray
    radius_mm: float
    wrap_fraction: float
    cavity_ml: float
    levels: TissueLevels
    endo_points_mm: FloatArray  # (n, 3) endocardial hits of wrapped rays
    open_directions: FloatArray  # (m, 3) unit vectors of rays that leave the cavity freely

    @property
    def score(self) -> float:
        return self.wrap_fraction


def coarse_grid(image: ImageVolume, spacing_mm: float) -> tuple[npt.NDArray[np.float32], Geometry]:
    """Block-mean downsampling of ``image`` to roughly ``spacing_mm``."""
    f = np.maximum(1, np.floor(spacing_mm / image.spacing_mm + 0.5)).astype(int)
    n = np.asarray(image.shape) // f
    if np.any(n < 2):
        f = np.maximum(1, np.asarray(image.shape) // 2)
        n = np.asarray(image.shape) // f
    # no copy of a float32 volume: the block view is reduced directly
    a = np.asarray(image.array[: n[0] * f[0], : n[1] * f[1], : n[2] * f[2]], dtype=np.float32)
    a = a.reshape(n[0], f[0], n[1], f[1], n[2], f[2]).mean(axis=(1, 3, 5), dtype=np.float32)
    spacing = image.spacing_mm * f
    origin = image.index_to_world((f - 1) / 2.0)
    return a, Geometry(tuple(int(x) for x in n), spacing, origin, image.direction)  # type: ignore[arg-type]


def _global_levels(coarse: npt.NDArray[np.float32]) -> tuple[float, float, float]:
    """Blood threshold (Otsu of non-fat tissue), soft-tissue and fat peaks."""
    tissue = coarse[(coarse > -100) & (coarse < 1500)]
    if tissue.size < 100:
        raise SegmentationError("The image holds almost no soft tissue; it cannot be a heart CT.")
    t_blood = float(threshold_otsu(tissue))
    soft = _mode(coarse, -60.0, min(t_blood, 250.0))
    fat = _mode(coarse, -250.0, -30.0)
    return t_blood, soft, fat


def _mode(values: npt.NDArray[np.float32], lo: float, hi: float) -> float:
    v = values[(values > lo) & (values < hi)]
    if v.size < 50:
        return 0.5 * (lo + hi)
    hist, edges = np.histogram(v, bins=max(8, int((hi - lo) / 10)))
    hist = ndimage.gaussian_filter1d(hist.astype(float), 1.5)
    i = int(np.argmax(hist))
    return float(0.5 * (edges[i] + edges[i + 1]))


def _candidates(
    coarse: npt.NDArray[np.float32], geom: Geometry, t_blood: float, opts: ClassicalOptions
) -> tuple[list[tuple[FloatArray, float]], npt.NDArray[np.bool_]]:
    """Points spread through every bright region deep enough to be a cavity.

    Not only the maxima of the distance map: where the LV cavity is joined to
    the atrium or the aortic root through the valves, its distance map can
    rise all the way into the larger pool and have no maximum of its own. So
    the candidates are the voxels at least ``min_cavity_radius_mm`` from the
    pool's edge, taken deepest first and kept when they are at least
    ``candidate_spacing_mm`` from every point kept before (the deepest point of
    every pool comes first; each is scored by its shell afterwards).
    """
    blood = ndimage.binary_opening(coarse > t_blood)
    dist = ndimage.distance_transform_edt(blood, sampling=geom.spacing_mm)
    idx = np.argwhere(dist >= opts.min_cavity_radius_mm)
    if idx.size == 0:
        return [], blood
    depth = dist[tuple(idx.T)]
    order = np.argsort(-depth, kind="stable")
    points = geom.index_to_world(idx[order])
    depth = depth[order]
    kept: list[int] = []
    min_d2 = opts.candidate_spacing_mm**2
    for i in range(points.shape[0]):
        if kept and np.min(np.sum((points[kept] - points[i]) ** 2, axis=1)) < min_d2:
            continue
        kept.append(i)
        if len(kept) >= opts.max_candidates:
            break
    return [(points[i], float(depth[i])) for i in kept], blood


def _same_pool(a: FloatArray, b: FloatArray, blood: npt.NDArray[np.bool_], geom: Geometry) -> bool:
    """True when the straight segment from ``a`` to ``b`` stays in the blood
    mask: two points of one cavity (the wall, septum or papillary muscles
    between two chambers interrupt it)."""
    n = max(2, int(np.linalg.norm(b - a) / (0.5 * float(np.min(geom.spacing_mm)))) + 1)
    pts = a + np.linspace(0.0, 1.0, n)[:, None] * (b - a)
    idx = np.round(geom.world_to_index(pts)).astype(int)
    inside = np.all((idx >= 0) & (idx < np.asarray(blood.shape)), axis=1)
    return bool(np.all(inside) and np.all(blood[tuple(idx.T)]))


def _score(
    image: ImageVolume,
    center: FloatArray,
    radius: float,
    soft: float,
    fat: float,
    opts: ClassicalOptions,
) -> Candidate:
    dirs = fibonacci_directions(_N_DIRECTIONS)
    r = np.arange(0.0, _RAY_LENGTH_MM, _RAY_STEP_MM)
    prof = sample_world(image, center + dirs[:, None, :] * r[None, :, None])
    blood = float(np.median(prof[:, r <= 0.6 * radius]))
    noise = float(1.4826 * np.median(np.abs(prof[:, r <= 0.6 * radius] - blood)))
    myo = soft
    for _ in range(2):  # refine the myocardium level from the shell itself
        levels = TissueLevels(blood, myo, fat, noise)
        wall_start, wall_len, exit_blood = _walls(prof, levels, r)
        wrapped = (wall_len >= opts.min_wall_mm) & (wall_len <= opts.max_wall_mm)
        if wrapped.sum() < 10:
            break
        i0 = np.searchsorted(r, wall_start[wrapped] + 2.0)
        i1 = np.minimum(i0 + 4, r.size - 1)
        shell = np.concatenate(
            [prof[k, a:b] for k, a, b in zip(np.flatnonzero(wrapped), i0, i1, strict=True)]
        )
        myo = float(np.median(shell)) if shell.size else myo
    levels = TissueLevels(blood, myo, fat, noise)
    wall_start, wall_len, _ = _walls(prof, levels, r)
    wrapped = (wall_len >= opts.min_wall_mm) & (wall_len <= opts.max_wall_mm)
    hit = wall_start > 0
    r_endo = np.where(hit, wall_start, _RAY_LENGTH_MM)
    cavity_ml = float(4.0 / 3.0 * np.pi * np.mean(r_endo**3) / 1000.0)
    return Candidate(
        center_mm=center,
        radius_mm=radius,
        wrap_fraction=float(wrapped.mean()),
        cavity_ml=cavity_ml,
        levels=levels,
        endo_points_mm=center + dirs[wrapped] * wall_start[wrapped, None],
        open_directions=dirs[~wrapped & ~(wall_len > opts.max_wall_mm)],
    )


def _walls(
    prof: npt.NDArray[np.float32], levels: TissueLevels, r: FloatArray
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Per ray: where blood ends, how long the myocardial run after it is, and
    whether blood follows the run (else fat/lung or nothing)."""
    t_b, t_f = levels.blood_myo_mid, levels.myo_fat_mid
    start = first_true(prof < t_b)
    n = prof.shape[1]
    after = np.arange(n)[None, :] > start[:, None]
    leave = after & ((prof < t_f) | (prof > t_b))
    stop = first_true(leave)
    stop = np.where(stop < 0, n - 1, stop)
    ok = start > 0
    length = np.where(ok, r[stop] - r[np.maximum(start, 0)], 0.0)
    exit_blood = ok & (prof[np.arange(prof.shape[0]), stop] > t_b)
    return np.where(ok, r[np.maximum(start, 0)], 0.0), length, exit_blood


def find_left_ventricle(
    image: ImageVolume, opts: ClassicalOptions
) -> tuple[list[Candidate], list[Candidate]]:
    """The acceptable LV candidates (best wrapped first, one per cavity) and all
    scored candidates.

    Raises
    ------
    SegmentationError
        No bright blood pool wrapped in myocardium was found.
    """
    coarse, geom = coarse_grid(image, opts.coarse_spacing_mm)
    t_blood, soft, fat = _global_levels(coarse)
    found, blood = _candidates(coarse, geom, t_blood, opts)
    scored = [_score(image, c, rad, soft, fat, opts) for c, rad in found]
    for c in scored:
        logger.debug(
            "candidate at %s: radius %.1f mm, wrapped %.2f, cavity %.0f ml, blood %.0f, myo %.0f HU",
            np.round(c.center_mm, 1).tolist(),
            c.radius_mm,
            c.wrap_fraction,
            c.cavity_ml,
            c.levels.blood_hu,
            c.levels.myocardium_hu,
        )
    good = [c for c in scored if not _rejections(c, opts)]
    if not good:
        raise SegmentationError(
            "No left ventricle found: no bright blood pool wrapped in myocardium "
            f"({len(scored)} candidate blood pools{_best_refused(scored, opts)}). "
            "Is the heart in the field of view and is this a contrast-enhanced CT?"
        )
    good.sort(key=lambda c: -c.score)
    distinct: list[Candidate] = []
    for c in good:  # the best-wrapped point of each cavity
        if not any(_same_pool(c.center_mm, d.center_mm, blood, geom) for d in distinct):
            distinct.append(c)
    return distinct, scored


def _rejections(c: Candidate, opts: ClassicalOptions) -> list[str]:
    """Why candidate ``c`` is not an LV (empty: it is acceptable)."""
    why = []
    if c.wrap_fraction < opts.min_wrap_fraction:
        why.append(f"wrapped fraction {c.wrap_fraction:.2f} < {opts.min_wrap_fraction}")
    if not opts.min_cavity_ml <= c.cavity_ml <= opts.max_cavity_ml:
        why.append(
            f"cavity {c.cavity_ml:.0f} ml outside {opts.min_cavity_ml:g}-{opts.max_cavity_ml:g} ml"
        )
    needed = max(4.0 * c.levels.noise_hu, 60.0)
    if not c.levels.contrast_hu > needed:
        why.append(f"blood-myocardium contrast {c.levels.contrast_hu:.0f} HU <= {needed:.0f} HU")
    return why


def _best_refused(scored: list[Candidate], opts: ClassicalOptions) -> str:
    """The best-wrapped candidate and every test it failed, for the error message."""
    if not scored:
        return ""
    best = max(scored, key=lambda c: c.wrap_fraction)
    return "; the best wrapped one failed: " + ", ".join(_rejections(best, opts))


def candidate_at(image: ImageVolume, point_mm: npt.ArrayLike, opts: ClassicalOptions) -> Candidate:
    """Score a given point inside the LV cavity (the user's seed) like a candidate.

    Raises
    ------
    SegmentationError
        The point is not inside a bright pool wrapped in myocardium.
    """
    center = np.asarray(point_mm, dtype=np.float64)
    coarse, _ = coarse_grid(image, opts.coarse_spacing_mm)
    _, soft, fat = _global_levels(coarse)
    cand = _score(image, center, opts.min_cavity_radius_mm, soft, fat, opts)
    if cand.endo_points_mm.shape[0] >= 10:  # rescore with the cavity's own radius
        radius = 0.8 * float(np.median(np.linalg.norm(cand.endo_points_mm - center, axis=1)))
        cand = _score(image, center, max(radius, opts.min_cavity_radius_mm), soft, fat, opts)
    if not (
        cand.wrap_fraction >= opts.min_wrap_fraction
        and cand.levels.contrast_hu > max(4.0 * cand.levels.noise_hu, 60.0)
    ):
        raise SegmentationError(
            f"the LV seed point {np.round(center, 1).tolist()} (LPS mm) is not inside a bright "
            f"blood pool wrapped in myocardium (wrapped fraction {cand.wrap_fraction:.2f}, "
            f"blood-myocardium contrast {cand.levels.contrast_hu:.0f} HU)."
        )
    return cand
