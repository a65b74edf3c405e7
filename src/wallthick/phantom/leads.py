"""Transvenous device leads and their metal streak artefacts.

A lead is a metal tube (``lead_diameter_mm``, ``lead_hu``) along a smooth
centre line built in the LV frame:

- ``rv``: from above the field of view down the superior vena cava into the
  right atrium, through the tricuspid valve, along the RV side of the septum
  (``lead_septum_gap_mm`` from its epicardium, at short-axis angle
  ``lead_phi_deg``) to the RV apex. With ``streaks="shock"`` its distal 55 mm
  carry a 3 mm shock coil.
- ``ra``: down the vena cava into the right atrium, a J curving up into the
  appendage (anterior, superior).
- ``cs``: through the right atrium into the coronary sinus, around the
  posterior atrioventricular groove to the lateral wall, then down a lateral
  vein on the epicardium.

The image of the metal is integrated over each voxel from sub-samples
(partial volume), blurred by the PSF and composited over the anatomy. Leads
lie outside the myocardium (in blood or epicardial fat), so labels, and hence
the truth, are those of the anatomy. Streaks are drawn in each axial slice:
thin straight bands, dark and bright in turn, radiating from the lead's cross
section and fading with distance; two leads in one slice are also joined by a
dark band (the metal's joint shadow).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree

from wallthick.phantom.lv import LVModel
from wallthick.phantom.spec import PhantomSpec
from wallthick.volume import Geometry

__all__ = ["Lead", "lead_centrelines", "paint_leads", "lead_fraction", "streak_pattern"]

FloatArray = npt.NDArray[np.float64]

_STEP_MM = 0.1  # centre-line sampling (distance error < 0.002 mm at the surface)
_COIL_MM = (3.0, 55.0)  # shock coil diameter and length from the tip
_SVC_MM = 70.0  # how far the leads run up the vena cava above the right atrium
_CLEARANCE_MM = 0.25  # least gap between a lead's surface and the epicardium
_STREAK_LINES = 6  # lines through an ordinary lead (each gives two opposite rays)
_STREAK_SIGMA_MM = 0.7
_STREAK_DECAY_MM = 40.0


@dataclass(frozen=True, eq=False)
class Lead:
    """One lead: its centre line (scanner LPS mm) and radius at each point."""

    kind: str
    points: FloatArray  # (n, 3), tip first
    radius_mm: FloatArray  # (n,)


# -- centre lines (LV frame) -------------------------------------------------------
def lead_centrelines(spec: PhantomSpec, lv: LVModel) -> dict[str, FloatArray]:
    """LV-local control polylines of the leads of ``spec`` (tip first)."""
    ax, ay, _ = lv.axes
    ra = np.array([ax + 0.9 * spec.rv_depth_mm + 16.0, 0.6 * ay, 12.0])  # as in the scene
    up = lv.rotation.T @ np.array([0.0, 0.0, 1.0])  # superior, in the LV frame
    svc = ra + np.array([0.0, 0.0, 24.0]) + 20.0 * up
    out: dict[str, FloatArray] = {}
    for kind in spec.leads:
        if kind == "rv":
            out[kind] = _rv_path(spec, lv, ra, svc, up)
        elif kind == "ra":
            tip = ra + np.array([-6.0, -15.0, 14.0])
            bend = ra + np.array([2.0, -4.0, -14.0])
            mid = ra + np.array([4.0, 3.0, 2.0])
            out[kind] = np.stack([tip, bend, mid, svc + 3.0, svc + _SVC_MM * up + 3.0])
        elif kind == "cs":
            out[kind] = _cs_path(spec, lv, ra, svc, up)
    return out


def _rv_path(
    spec: PhantomSpec, lv: LVModel, ra: FloatArray, svc: FloatArray, up: FloatArray
) -> FloatArray:
    """Along the septum's RV surface from the RV apex to the base, then to the RA."""
    r = 0.5 * max(spec.lead_diameter_mm, _COIL_MM[0] if spec.streaks == "shock" else 0.0)
    phi = spec.lead_phi_deg
    levels = np.linspace(0.2, 1.0, 17)
    keep = [
        h for h in levels if _rv_room(spec, lv, phi, h) >= 2.0 * r + spec.lead_septum_gap_mm + 3
    ]
    h_tip = keep[0] if keep else 0.6
    pts = []
    for h in np.linspace(h_tip, 1.0, 9):
        t = float(lv.thickness(np.array(phi), np.array(h)))
        pts.append(lv.local_point(phi, float(h), t + spec.lead_septum_gap_mm + r))
    top = pts[-1] + np.array([3.0, 0.0, 8.0])  # the tricuspid valve, above the mitral plane
    return np.stack([*pts, top, ra + np.array([-4.0, 0.0, 4.0]), svc, svc + _SVC_MM * up])


def _rv_room(spec: PhantomSpec, lv: LVModel, phi: float, h: float) -> float:
    """RV cavity depth at ``(phi, h)`` (as the scene's RV crescent)."""
    level = float(np.clip((h - 0.15) / 0.35, 0.0, 1.0))
    level = level**3 * (level * (6.0 * level - 15.0) + 10.0)
    g = np.cos(np.radians(1.5 * phi))
    return spec.rv_depth_mm * level * g - (1.0 - level) * spec.rv_wall_mm * 2.0


def _cs_path(
    spec: PhantomSpec, lv: LVModel, ra: FloatArray, svc: FloatArray, up: FloatArray
) -> FloatArray:
    """Lateral vein, the posterior AV groove (coronary sinus), the RA, the vena cava."""
    r = 0.5 * spec.lead_diameter_mm
    h_groove = 1.0 - 3.0 / lv.axes[2]
    pts = []
    for phi, h in ((205.0, 0.45), (203.0, 0.62), (200.0, 0.8), (195.0, h_groove)):
        pts.append(_epicardial_point(lv, phi, h, r))
    for phi in np.arange(175.0, 64.0, -15.0):
        pts.append(_epicardial_point(lv, float(phi), h_groove, r))
    ostium = ra + np.array([-10.0, 8.0, -14.0])
    return np.stack(
        [*pts, ostium, ra + np.array([0.0, 0.0, 6.0]), svc - 3.0, svc - 3.0 + _SVC_MM * up]
    )


def _epicardial_point(lv: LVModel, phi: float, h: float, r: float) -> FloatArray:
    t = float(lv.thickness(np.array(phi), np.array(h)))
    return lv.local_point(phi, h, t + r + 0.6)


def _densify(control: FloatArray, step: float) -> FloatArray:
    """A smooth curve through ``control`` (Catmull-Rom), sampled every ~``step`` mm."""
    p = np.vstack([2 * control[0] - control[1], control, 2 * control[-1] - control[-2]])
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        n = max(int(np.ceil(np.linalg.norm(p2 - p1) / step)), 1)
        s = (np.arange(n) / n)[:, np.newaxis]
        out.append(
            0.5
            * (
                2 * p1
                + (p2 - p0) * s
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * s**2
                + (3 * p1 - p0 - 3 * p2 + p3) * s**3
            )
        )
    out.append(control[-1:])
    return np.vstack(out)


def build_leads(
    spec: PhantomSpec, lv: LVModel, to_world: Callable[[FloatArray], FloatArray]
) -> list[Lead]:
    """The leads of ``spec`` as dense centre lines in scanner coordinates.

    ``to_world`` maps anatomical to scanner coordinates (the patient's pose).
    """
    leads = []
    for kind, control in lead_centrelines(spec, lv).items():
        local = _densify(control, _STEP_MM)
        length = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(local, axis=0), axis=1))])
        radius = np.full(len(local), 0.5 * spec.lead_diameter_mm)
        if kind == "rv" and spec.streaks == "shock":
            radius[length <= _COIL_MM[1]] = 0.5 * _COIL_MM[0]
        local = _off_the_wall(lv, local, radius + _CLEARANCE_MM)
        leads.append(Lead(kind, np.asarray(to_world(lv.to_anatomical(local))), radius))
    return leads


def _off_the_wall(lv: LVModel, local: FloatArray, clearance: FloatArray) -> FloatArray:
    """Move centre-line points out along the LV normal to ``clearance`` beyond the
    epicardium (the curve between control points may cut into a convex wall)."""
    q, d = lv.nearest_endocardium(local)
    phi, h = lv.angle_level(q)
    gap = d - lv.thickness(phi, np.minimum(h, 1.0))
    push = np.where((gap < clearance) & (d > 0) & (local[:, 2] < clearance), clearance - gap, 0.0)
    return np.asarray(local + push[:, np.newaxis] * lv.normal(q))


# -- image -----------------------------------------------------------------------------
def lead_fraction(leads: list[Lead], geometry: Geometry) -> npt.NDArray[np.float32]:
    """Fraction of every voxel's volume inside the metal (sub-sampled partial volume)."""
    frac = np.zeros(geometry.shape, np.float32)
    if not leads:
        return frac
    pts = np.vstack([lead.points for lead in leads])
    radius = np.concatenate([lead.radius_mm for lead in leads])
    spacing = geometry.spacing_mm
    reach = float(radius.max()) + 0.5 * float(np.linalg.norm(spacing))
    idx = np.rint(geometry.world_to_index(pts)).astype(np.int64)
    half = np.ceil(reach / spacing).astype(np.int64)
    offsets = np.stack(
        np.meshgrid(*[np.arange(-k, k + 1) for k in half], indexing="ij"), -1
    ).reshape(-1, 3)
    shape = np.asarray(geometry.shape)
    voxels = np.unique(
        np.vstack([idx[i : i + 2000, np.newaxis, :] + offsets for i in range(0, len(idx), 2000)])
        .reshape(-1, 3)
        .clip(-1, shape),
        axis=0,
    )
    voxels = voxels[np.all((voxels >= 0) & (voxels < shape), axis=1)]
    tree = cKDTree(pts)
    n_sub = np.clip(np.ceil(spacing / 0.3), 3, 10).astype(int)
    sub = np.stack(
        np.meshgrid(*[(np.arange(n) + 0.5) / n - 0.5 for n in n_sub], indexing="ij"), -1
    ).reshape(-1, 3)
    inside = np.zeros(len(voxels))
    for off in sub:
        dist, nearest = tree.query(
            geometry.index_to_world(voxels + off), distance_upper_bound=reach
        )
        hit = np.isfinite(dist)
        inside[hit] += dist[hit] <= radius[nearest[hit]]
    frac[tuple(voxels.T)] = inside / len(sub)
    return frac


def streak_pattern(
    leads: list[Lead], geometry: Geometry, spec: PhantomSpec, lv_center: FloatArray
) -> npt.NDArray[np.float32]:
    """Additive streaks (HU) in every axial slice crossed by a lead."""
    out = np.zeros(geometry.shape, np.float32)
    if spec.streaks == "none" or not leads:
        return out
    n_slices, rows, cols = geometry.shape
    jj, ii = np.meshgrid(np.arange(cols), np.arange(rows))
    rng = np.random.default_rng([spec.seed, 23])
    lines = int(round(_STREAK_LINES * (1.5 if spec.streaks == "shock" else 1.0)))
    # per lead: half the lines point at the LV (they cross the septum), half anywhere
    angles = [
        np.concatenate(
            [rng.uniform(-0.45, 0.45, lines // 2), rng.uniform(0, np.pi, lines - lines // 2)]
        )
        for _ in leads
    ]
    gains = [rng.uniform(0.6, 1.0, lines) for _ in leads]
    half = 0.5 * geometry.spacing_mm[0]
    for k in range(n_slices):
        plane = np.stack([np.full(ii.shape, float(k)), ii, jj], -1).astype(np.float64)
        xy = geometry.index_to_world(plane)[..., :2]
        z = float(geometry.index_to_world(np.array([k, 0.0, 0.0]))[2])
        centres: list[FloatArray] = []
        for n, lead in enumerate(leads):
            for run in _cross_sections(lead, z, half):
                c = lead.points[run, :2].mean(axis=0)
                centres.append(c)
                r_max = float(lead.radius_mm[run].max())
                amp = spec.streak_hu * (2.5 if r_max > 0.5 * spec.lead_diameter_mm else 1.0)
                amp *= float(np.clip(_STEP_MM * len(run) / (2 * half + 2 * r_max), 1.0, 2.0))
                to_lv = np.arctan2(lv_center[1] - c[1], lv_center[0] - c[0])
                drift = np.radians(0.3) * z
                for j, (a, g) in enumerate(zip(angles[n], gains[n], strict=True)):
                    base = to_lv if j < lines // 2 else 0.0
                    sign = -1.0 if j % 2 == 0 else 1.0
                    out[k] += sign * g * amp * _band(xy, c, base + a + drift, r_max)
        for a_i in range(len(centres)):  # the joint shadow of two leads in one slice
            for b_i in range(a_i + 1, len(centres)):
                out[k] -= 0.7 * spec.streak_hu * _bridge(xy, centres[a_i], centres[b_i])
    return out


def _cross_sections(lead: Lead, z: float, half: float) -> list[npt.NDArray[np.intp]]:
    """Runs of consecutive centre-line points within the slab ``z +- half`` (+ radius)."""
    near = np.flatnonzero(np.abs(lead.points[:, 2] - z) <= half + lead.radius_mm)
    if near.size == 0:
        return []
    return np.split(near, np.flatnonzero(np.diff(near) > 1) + 1)


def _band(xy: FloatArray, c: FloatArray, angle: float, r_lead: float) -> FloatArray:
    """A thin straight band through ``c`` at ``angle``, fading away from ``c``."""
    d = xy - c
    r = np.hypot(d[..., 0], d[..., 1])
    perp = np.abs(d[..., 0] * np.sin(angle) - d[..., 1] * np.cos(angle))
    start = np.clip((r - r_lead) / 1.0, 0.0, 1.0)
    return np.asarray(
        np.exp(-0.5 * (perp / _STREAK_SIGMA_MM) ** 2) * np.exp(-r / _STREAK_DECAY_MM) * start
    )


def _bridge(xy: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray:
    """A dark band on the segment between two metal cross sections."""
    ab = b - a
    length = float(np.linalg.norm(ab))
    if length < 1e-6:
        return np.zeros(xy.shape[:-1])
    u = ab / length
    d = xy - a
    along = d[..., 0] * u[0] + d[..., 1] * u[1]
    perp = np.abs(d[..., 0] * u[1] - d[..., 1] * u[0])
    inside = np.clip(np.minimum(along, length - along) / 2.0 + 1.0, 0.0, 1.0)
    return np.asarray(np.exp(-0.5 * (perp / (1.5 * _STREAK_SIGMA_MM)) ** 2) * inside)


def paint_leads(
    image: npt.NDArray[np.float32],
    leads: list[Lead],
    geometry: Geometry,
    spec: PhantomSpec,
    lv_center: FloatArray,
) -> None:
    """Composite the leads (partial volume, PSF) and their streaks into ``image`` in place."""
    frac = lead_fraction(leads, geometry)
    sigma_psf = spec.psf_fwhm_mm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    frac = gaussian_filter(frac, sigma_psf / geometry.spacing_mm, mode="constant")
    image += frac * (np.float32(spec.lead_hu) - image)
    image += streak_pattern(leads, geometry, spec, lv_center)
