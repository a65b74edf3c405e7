"""The phantom's anatomy as a tree of nested regions with distance-like fields.

Each node is a region (field < 0 inside), an intensity and a label; a child
lies inside its parent (enforced by ``max(child, parent)``) and siblings are
disjoint. The image is ``sum((HU_node - HU_parent) * occupancy(node))`` and the
label of a point is that of the deepest node containing it. Coordinates are
anatomical LPS mm (before the patient positioning transform).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from wallthick.labels import Label
from wallthick.phantom.lv import LVModel, smootherstep
from wallthick.phantom.shapes import BIG, capsule_field, ellipse_field, ellipsoid_field
from wallthick.phantom.spec import PhantomSpec
from wallthick.phantom.truth import match_wall_volume, surface_integrals

__all__ = ["Node", "Scene", "build_scene", "contraction_scale", "lv_model_from_spec"]

FloatArray = npt.NDArray[np.float64]

_BODY_AXES = (150.0, 110.0)  # body outline semi-axes (x, y), centred at (0, 5)
_BODY_CENTER_Y = 5.0
_SUBCUT_FAT_MM = 12.0
_CHEST_WALL_MM = 24.0  # skin to pleura
_PERICARDIUM_MM = 1.2
_RV_TOP_MM = 15.0  # RV ends this far above the mitral plane
_LV_MARGIN_MM = 55.0  # beyond the endocardium: wall + RV + fat + pericardium


@dataclass(frozen=True)
class Node:
    """One region of the scene tree."""

    name: str
    parent: str | None
    hu: float
    label: Label = Label.BACKGROUND


@dataclass(frozen=True, eq=False)
class Capsule:
    a: FloatArray
    b: FloatArray
    r_a: float
    r_b: float

    def bbox(self) -> tuple[FloatArray, FloatArray]:
        r = max(self.r_a, self.r_b) + 3.0
        return np.minimum(self.a, self.b) - r, np.maximum(self.a, self.b) + r


@dataclass(frozen=True, eq=False)
class Scene:
    """All structures of one phantom, in anatomical coordinates."""

    spec: PhantomSpec
    lv: LVModel
    nodes: tuple[Node, ...]
    muscles: tuple[Capsule, ...]  # papillary muscles and chordae (LV-local)
    trabeculae: tuple[Capsule, ...]  # LV-local
    dome: tuple[float, float, float, float]  # x0, y0, radius, z_top
    fat_phase: tuple[float, float] = (0.0, 0.0)
    la: tuple[FloatArray, FloatArray] = field(default=(np.zeros(3), np.ones(3)))
    aorta: tuple[FloatArray, FloatArray, float] = field(default=(np.zeros(3), np.ones(3), 12.0))

    def fields(self, points: FloatArray) -> dict[str, FloatArray]:
        """Raw (not yet nested) fields of every node at anatomical ``points``."""
        out: dict[str, FloatArray] = {}
        shape = points.shape[:-1]
        local = self.lv.to_local(points)
        heart = _heart_fields(self, local)
        out.update(heart)
        out.update(_body_fields(self, points, heart["pericardium"], shape))
        return out

    def hu_offsets(self, points: FloatArray) -> dict[str, FloatArray]:
        """Smooth, spatially varying HU added to some blood pools (contrast mixing).

        Right-heart blood mixes opacified and unopacified blood: +-15 % of its
        contrast above myocardium, in blobs of ~4-6 cm; left-heart blood varies
        by +-12 HU. Slowly varying, so the partial-volume formula still holds.
        """
        spec = self.spec
        if not spec.contrast_mixing:
            return {}
        rng = np.random.default_rng([spec.seed, 13])
        out: dict[str, FloatArray] = {}
        right = 0.15 * (spec.hu_rv_blood - spec.hu_myocardium)
        for names, amplitude in (
            (("rv_blood", "ra_blood"), right),
            (("lv_cavity", "la_blood"), 12.0),
        ):
            k1, k2 = (rng.normal(size=3) for _ in range(2))
            k1 *= 2 * np.pi / 50.0 / np.linalg.norm(k1)
            k2 *= 2 * np.pi / 60.0 / np.linalg.norm(k2)
            p1, p2 = rng.uniform(0, 2 * np.pi, 2)
            pattern = amplitude * np.sin(points @ k1 + p1) * np.cos(points @ k2 + p2)
            out.update({name: pattern for name in names})
        return out


def lv_model_from_spec(spec: PhantomSpec) -> LVModel:
    """The LV of ``spec`` (axes and thickness adjusted for the cardiac phase)."""
    az, el, roll = np.radians(
        [spec.long_axis_azimuth_deg, spec.long_axis_elevation_deg, spec.roll_deg]
    )
    apex_dir = np.array([np.cos(az) * np.cos(el), -np.sin(az) * np.cos(el), -np.sin(el)])
    z_l = -apex_dir
    x0 = np.array([-np.sin(az), -np.cos(az), 0.0])
    x0 = x0 - (x0 @ z_l) * z_l
    x0 /= np.linalg.norm(x0)
    y0 = np.cross(z_l, x0)
    if y0[2] > 0:  # the inferior wall faces the feet (-z in LPS)
        y0 = -y0
    x_l = np.cos(roll) * x0 + np.sin(roll) * y0
    y_l = -np.sin(roll) * x0 + np.cos(roll) * y0
    s = spec.systolic_fraction
    if spec.ejection_fraction is not None:
        s *= contraction_scale(spec.ejection_fraction)
    axes = np.array(
        [
            spec.endo_radius_mm * (1.0 - 0.3 * s),
            spec.endo_radius_mm * spec.endo_ellipticity * (1.0 - 0.3 * s),
            spec.cavity_length_mm * (1.0 - 0.12 * s),
        ]
    )
    wall = np.array(
        [
            spec.septal_mm,
            spec.posterior_mm,
            spec.inferior_mm,
            spec.lateral_mm,
            spec.anterior_mm,
            spec.apex_mm,
        ]
    )
    lv = LVModel(np.asarray(spec.base_center_mm, float), np.stack([x_l, y_l, z_l], 1), axes, wall)
    if spec.thin_patch_mm > 0:
        patch = (spec.thin_patch_mm, spec.thin_patch_phi_deg, spec.thin_patch_h)
        lv = dataclasses.replace(lv, thin_patch=patch)
    if s > 0:  # systole: smaller cavity, same myocardial volume -> thicker wall
        ed = lv_model_from_spec(spec.replace(systolic_fraction=0.0))
        lv = match_wall_volume(lv, float(surface_integrals(ed, 60, 120)["volume"].sum()))
    return lv


def contraction_scale(ejection_fraction: float) -> float:
    """Scale of ``systolic_fraction`` giving ``ejection_fraction`` at end-systole.

    The cavity's semi-axes shrink by ``0.3 k`` (short axis) and ``0.12 k`` (long
    axis) at full contraction; ``k = 1`` is the default law (EF 56.9 %).

    Examples
    --------
    >>> k = contraction_scale(0.25)
    >>> round(1.0 - (1.0 - 0.3 * k) ** 2 * (1.0 - 0.12 * k), 6)
    0.25
    """
    lo, hi = 0.0, 3.0
    for _ in range(60):
        k = 0.5 * (lo + hi)
        ef = 1.0 - (1.0 - 0.3 * k) ** 2 * (1.0 - 0.12 * k)
        lo, hi = (k, hi) if ef < ejection_fraction else (lo, k)
    return 0.5 * (lo + hi)


def build_scene(spec: PhantomSpec, lv: LVModel | None = None) -> Scene:
    """Assemble every structure of ``spec`` (deterministic given ``spec.seed``)."""
    lv = lv_model_from_spec(spec) if lv is None else lv
    rng = np.random.default_rng([spec.seed, 7])
    muscles = _papillary_muscles(spec, lv, rng) if spec.papillary_muscles else ()
    trabeculae = _trabeculae(spec, lv, rng) if spec.trabeculation else ()
    ax, ay, c = lv.axes
    la_center = np.array([-0.15 * ax, 0.05 * ay, 14.0])
    la_axes = np.array([ax + 6.0, ay + 5.0, 24.0])
    ao_start = np.array([0.45 * ax, -0.3 * ay, -2.0])
    ao_dir = np.array([0.45, -0.3, 1.0])
    ao_dir /= np.linalg.norm(ao_dir)
    scene = Scene(
        spec=spec,
        lv=lv,
        nodes=_nodes(spec),
        muscles=muscles,
        trabeculae=trabeculae,
        dome=(0.0, 0.0, 1.0, 0.0),
        fat_phase=(float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0, 2 * np.pi))),
        la=(la_center, la_axes),
        aorta=(ao_start, ao_dir, 12.5),
    )
    return _place_dome(scene)


def _nodes(spec: PhantomSpec) -> tuple[Node, ...]:
    blood, myo, fat = spec.hu_lv_blood, spec.hu_myocardium, spec.hu_fat
    thorax_hu = spec.hu_lung if spec.lungs else fat
    return (
        Node("body", None, fat),
        Node("body_inner", "body", spec.hu_muscle),
        Node("ribs", "body_inner", spec.hu_bone_cortical),
        Node("rib_marrow", "ribs", spec.hu_bone_marrow),
        Node("arch", "body_inner", spec.hu_bone_cortical),
        Node("canal", "arch", 20.0),
        Node("thorax", "body_inner", thorax_hu),
        Node("abdomen", "body_inner", spec.hu_muscle),
        Node("liver", "abdomen", spec.hu_liver),
        Node("mediastinum", "thorax", fat),
        Node("spine", "mediastinum", spec.hu_bone_cortical),
        Node("spine_marrow", "spine", spec.hu_bone_marrow),
        Node("disc", "spine", 90.0),
        Node("dao_wall", "mediastinum", 45.0),
        Node("dao", "dao_wall", 0.95 * blood, Label.AORTA),
        Node("pericardium", "mediastinum", 25.0),
        Node("epi_fat", "pericardium", fat),
        Node("lv_outer", "epi_fat", myo, Label.LV_MYOCARDIUM),
        Node("lv_cavity", "lv_outer", blood, Label.LV_BLOOD_POOL),
        Node("lv_muscle", "lv_cavity", myo, Label.LV_BLOOD_POOL),
        Node("rv_outer", "epi_fat", myo),
        Node("rv_blood", "rv_outer", spec.hu_rv_blood, Label.RV_BLOOD_POOL),
        Node("la_outer", "epi_fat", 0.5 * (myo + spec.hu_muscle)),
        Node("la_blood", "la_outer", 0.97 * blood, Label.LEFT_ATRIUM),
        Node("ra_outer", "epi_fat", 0.5 * (myo + spec.hu_muscle)),
        Node("ra_blood", "ra_outer", spec.hu_rv_blood),
        Node("ao_outer", "epi_fat", 0.5 * (myo + spec.hu_muscle)),
        Node("ao_blood", "ao_outer", blood, Label.AORTA),
    )


# -- heart ------------------------------------------------------------------
def _heart_fields(scene: Scene, local: FloatArray) -> dict[str, FloatArray]:
    spec, lv = scene.spec, scene.lv
    shape = local.shape[:-1]
    ax, ay, c = lv.axes
    near = (
        (np.abs(local[..., 0]) < ax + _LV_MARGIN_MM)
        & (np.abs(local[..., 1]) < ay + _LV_MARGIN_MM)
        & (local[..., 2] > -c - _LV_MARGIN_MM)
        & (local[..., 2] < _RV_TOP_MM + 25.0)
    )
    # keep only points the LV, RV, fat and pericardium can reach; the approximate
    # ellipsoid distance never exceeds the true one outside, so this is safe
    approx = np.full(shape, BIG)
    approx[near] = ellipsoid_field(local[near], lv.axes)
    box = near.copy()
    near &= approx < _reach(scene, local)
    pts = local[near]
    q, d = _nearest_where_needed(scene, pts, approx[near])
    phi, h = lv.angle_level(q)
    t = lv.thickness(phi, np.minimum(h, 1.0))
    z = pts[:, 2]
    cav = np.maximum(d, z)
    outer = np.maximum(d - t, z)
    out = {
        k: np.full(shape, BIG)
        for k in ("lv_cavity", "lv_outer", "lv_muscle", "rv_outer", "rv_blood")
    }
    out["lv_cavity"][near] = cav
    out["lv_outer"][near] = outer
    out["lv_muscle"][near] = _muscle_field(scene, pts, cav, d)
    ao_outer, ao_blood = _aorta_fields(scene, local)
    la_outer, la_blood = _atrium_fields(scene, local, ao_outer)
    not_rv = np.minimum(la_outer, ao_outer)[near] - 0.5
    if spec.right_ventricle:
        w = _rv_depth(spec, phi, h)
        d_epi = d - t
        top = z - _RV_TOP_MM
        out["rv_blood"][near] = np.maximum.reduce([-d_epi, d_epi - w, top, -not_rv])
        out["rv_outer"][near] = np.maximum.reduce(
            [-d_epi, d_epi - w - spec.rv_wall_mm, top - spec.rv_wall_mm, -not_rv]
        )
    out.update(la_outer=la_outer, la_blood=la_blood, ao_outer=ao_outer, ao_blood=ao_blood)
    others = np.minimum.reduce([out["lv_outer"], out["rv_outer"], la_outer, ao_outer])
    out["ra_outer"], out["ra_blood"] = _right_atrium_fields(scene, local, others)
    envelope = np.minimum(others, out["ra_outer"])
    fat = np.full(shape, 0.6 * spec.epi_fat_max_mm)
    far = box & ~near  # around the atria and aorta: the same pattern by position
    far_pts = local[far]
    far_phi = np.degrees(np.arctan2(far_pts[:, 1], far_pts[:, 0]))
    fat[far] = _epi_fat_thickness(scene, far_phi, (far_pts[:, 2] + c) / c, far_pts[:, 2])
    fat[near] = _epi_fat_thickness(scene, phi, h, z)
    if not spec.epicardial_fat:
        fat[:] = 0.0
    out["epi_fat"] = envelope - fat
    out["pericardium"] = envelope - fat - _PERICARDIUM_MM
    return out


def _reach(scene: Scene, local: FloatArray) -> FloatArray:
    """Distance from the endocardium beyond which no LV/RV/fat field is near 0."""
    spec, lv = scene.spec, scene.lv
    reach = float(lv.wall_mm.max()) + spec.epi_fat_max_mm + 12.0
    phi_p = np.degrees(np.arctan2(local[..., 1], local[..., 0]))
    rv = reach + spec.rv_depth_mm + spec.rv_wall_mm
    return np.asarray(np.where(np.abs(phi_p) < 85.0, rv, reach))


def _nearest_where_needed(
    scene: Scene, pts: FloatArray, approx: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Exact nearest endocardial point where it matters, a radial guess elsewhere.

    Deep in the cavity the approximate ellipsoid distance is enough: every
    field there is far from 0.
    """
    lv = scene.lv
    exact = approx > -12.0
    k0 = np.sqrt(np.sum((pts / lv.axes) ** 2, axis=1))
    q = pts / np.maximum(k0, 1e-9)[:, np.newaxis]
    d = approx.copy()
    q[exact], d[exact] = lv.nearest_endocardium(pts[exact])
    return q, d


def _rv_depth(spec: PhantomSpec, phi: FloatArray, h: FloatArray) -> FloatArray:
    """RV cavity depth beyond the septal epicardium: a crescent ending at +-60 deg."""
    g = np.where(np.abs(phi) <= 120.0, np.cos(np.radians(1.5 * phi)), -1.0)
    level = smootherstep((h - 0.15) / 0.35)
    return np.asarray(spec.rv_depth_mm * level * g - (1.0 - level) * spec.rv_wall_mm * 2.0)


def _epi_fat_thickness(scene: Scene, phi: FloatArray, h: FloatArray, z: FloatArray) -> FloatArray:
    spec = scene.spec
    p1, p2 = scene.fat_phase
    rad = np.radians(phi)
    pattern = 0.35 + 0.3 * np.cos(2 * rad + p1) * np.cos(np.pi * h + p2)
    pattern += 0.6 * np.exp(-(((np.abs(phi) - 60.0) / 18.0) ** 2))  # interventricular grooves
    pattern += 0.7 * np.exp(-((z / 10.0) ** 2))  # atrioventricular groove
    pattern *= 1.0 - 0.9 * np.exp(-(((phi - 90.0) / 35.0) ** 2))  # diaphragmatic wall: thin
    pattern = np.clip(pattern, 0.0, 1.0)
    return np.asarray(spec.epi_fat_min_mm + (spec.epi_fat_max_mm - spec.epi_fat_min_mm) * pattern)


def _muscle_field(scene: Scene, pts: FloatArray, cav: FloatArray, d: FloatArray) -> FloatArray:
    """Papillary muscles, chordae and trabeculae, clipped to the cavity."""
    f = np.full(len(pts), BIG)
    _union_capsules(f, pts, scene.muscles, np.flatnonzero(cav < 3.0))
    _union_capsules(f, pts, scene.trabeculae, np.flatnonzero((d > -4.0) & (d < 1.0)))
    return np.maximum(f, cav)


def _union_capsules(
    f: FloatArray, pts: FloatArray, capsules: tuple[Capsule, ...], candidates: npt.NDArray[np.intp]
) -> None:
    """``f = min(f, capsule fields)``, each capsule evaluated only inside its bounding box."""
    if not capsules or candidates.size == 0:
        return
    order = candidates[np.argsort(pts[candidates, 2], kind="stable")]
    z_sorted = pts[order, 2]
    for caps in capsules:
        lo, hi = caps.bbox()
        i0, i1 = np.searchsorted(z_sorted, [lo[2], hi[2]])
        idx = order[i0:i1]
        sub = pts[idx]
        idx = idx[np.all((sub[:, :2] >= lo[:2]) & (sub[:, :2] <= hi[:2]), axis=1)]
        if idx.size:
            f[idx] = np.minimum(f[idx], capsule_field(pts[idx], caps.a, caps.b, caps.r_a, caps.r_b))


def _papillary_muscles(
    spec: PhantomSpec, lv: LVModel, rng: np.random.Generator
) -> tuple[Capsule, ...]:
    out: list[Capsule] = []
    r = spec.papillary_radius_mm
    for phi in (-145.0, 110.0):  # anterolateral, posteromedial
        base = lv.local_point(phi, 0.30, depth_mm=1.5)
        rim = lv.local_point(phi, 0.62, depth_mm=0.0)
        tip = np.array([0.55 * rim[0], 0.55 * rim[1], rim[2]])
        mid = lv.local_point(phi, 0.45, depth_mm=-0.5 * r)
        out.append(Capsule(base, mid, r, r))
        out.append(Capsule(mid, tip, r, 0.65 * r))
        for dphi in (-25.0, 0.0, 25.0):  # chordae to the mitral leaflets
            leaflet = lv.local_point(phi + dphi, 0.97, depth_mm=-4.0)
            out.append(Capsule(tip, leaflet, 0.45, 0.35))
        for dphi, h, radius in ((-35.0, 0.45, 1.2), (35.0, 0.42, 1.0), (30.0, 0.55, 0.8)):
            # bridging trabeculae: they pinch the thresholded cavity into lobes
            wall = lv.local_point(phi + dphi, h, depth_mm=0.3)
            out.append(Capsule(mid if h < 0.5 else tip, wall, radius, radius))
    if rng.uniform() < 0.6:  # a false tendon from the septum to the anterolateral muscle
        septum = lv.local_point(float(rng.uniform(-20.0, 30.0)), 0.4, depth_mm=0.3)
        out.append(Capsule(septum, lv.local_point(-145.0, 0.45, depth_mm=-0.5 * r), 0.8, 0.8))
    return tuple(out)


def _trabeculae(spec: PhantomSpec, lv: LVModel, rng: np.random.Generator) -> tuple[Capsule, ...]:
    """Thin strands along the free-wall endocardium, mostly longitudinal, denser at the apex."""
    out: list[Capsule] = []
    c = lv.axes[2]
    for _ in range(spec.n_trabeculae):
        phi0 = float(rng.uniform(75.0, 285.0))
        h0 = 0.08 + 0.55 * float(rng.uniform()) ** 1.5
        length = float(rng.uniform(8.0, 22.0))
        tilt = np.radians(float(rng.normal(0.0, 25.0)))
        radius = float(rng.uniform(0.5, 1.3))
        gap = float(rng.uniform(0.0, 1.2))
        q0 = lv.local_point(phi0, h0)
        rho = max(float(np.hypot(q0[0], q0[1])), 5.0)
        h1 = min(h0 + length * np.cos(tilt) / c, 0.8)
        phi1 = phi0 + np.degrees(length * np.sin(tilt) / rho)
        a = lv.local_point(phi0, h0, depth_mm=-(radius + gap))
        b = lv.local_point(phi1, h1, depth_mm=-(radius + float(rng.uniform(0.0, 1.2))))
        out.append(Capsule(a, b, radius, radius * float(rng.uniform(0.6, 1.0))))
    return tuple(out)


def _atrium_fields(
    scene: Scene, local: FloatArray, ao_outer: FloatArray
) -> tuple[FloatArray, FloatArray]:
    if not scene.spec.atrium_and_aorta:
        return np.full(local.shape[:-1], BIG), np.full(local.shape[:-1], BIG)
    center, axes = scene.la
    f = _boxed_ellipsoid(local, center, axes)
    cut = np.maximum(-local[..., 2], -ao_outer)  # above the mitral plane, outside the aorta
    return np.maximum(f - 2.0, cut), np.maximum(f, cut)


def _right_atrium_fields(
    scene: Scene, local: FloatArray, others: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Right atrium: right of the RV at the base, apart from the other chambers."""
    shape = local.shape[:-1]
    if not (scene.spec.right_ventricle and scene.spec.atrium_and_aorta):
        return np.full(shape, BIG), np.full(shape, BIG)
    ax, ay, _ = scene.lv.axes
    center = np.array([ax + 0.9 * scene.spec.rv_depth_mm + 16.0, 0.6 * ay, 12.0])
    f = _boxed_ellipsoid(local, center, np.array([24.0, 22.0, 30.0]))
    apart = -(others - 0.5)
    return np.maximum(f - 2.0, apart), np.maximum.reduce([f, apart, -(others - 2.5)])


def _boxed_ellipsoid(local: FloatArray, center: FloatArray, axes: FloatArray) -> FloatArray:
    """Ellipsoid field inside its bounding box (+ 10 mm), ``BIG`` outside."""
    rel = local - center
    inside = np.all(np.abs(rel) < axes + 10.0, axis=-1)
    f = np.full(local.shape[:-1], BIG)
    f[inside] = ellipsoid_field(rel[inside], axes)
    return f


def _aorta_fields(scene: Scene, local: FloatArray) -> tuple[FloatArray, FloatArray]:
    shape = local.shape[:-1]
    if not scene.spec.atrium_and_aorta:
        return np.full(shape, BIG), np.full(shape, BIG)
    start, direction, radius = scene.aorta
    end = start + 160.0 * direction
    f = capsule_field(local, start, end, radius)
    above = -local[..., 2]
    return np.maximum(f - 2.0, above), np.maximum(f, above)


# -- body ------------------------------------------------------------------------
def _body_fields(
    scene: Scene, points: FloatArray, pericardium: FloatArray, shape: tuple[int, ...]
) -> dict[str, FloatArray]:
    spec = scene.spec
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    out: dict[str, FloatArray] = {}
    yb = y - _BODY_CENTER_Y
    body = ellipse_field(x, yb, *_BODY_AXES)
    thorax_ell = ellipse_field(
        x, yb, _BODY_AXES[0] - _CHEST_WALL_MM, _BODY_AXES[1] - _CHEST_WALL_MM
    )
    spine = ellipse_field(x, y - 55.0, 20.0, 17.0)
    dao = np.hypot(x - 32.0, y - 30.0) - 11.5
    arch = np.hypot(x, y - 90.0) - 16.0
    x0, y0, radius, z_top = scene.dome
    dome_z = z_top - ((x - x0) ** 2 + (y - y0) ** 2) / (2.0 * radius)
    slope2 = ((x - x0) ** 2 + (y - y0) ** 2) / radius**2
    abd = (z - dome_z) / np.sqrt(1.0 + slope2)
    if not spec.liver:
        abd = np.full(shape, BIG)
    columns = np.minimum.reduce([pericardium, spine - 3.0, dao - 5.0])
    if spec.thorax:
        out["body"] = body
        out["body_inner"] = body + _SUBCUT_FAT_MM
        out["ribs"], out["rib_marrow"] = _rib_fields(x, yb, z, thorax_ell)
        out["arch"], out["canal"] = arch, np.hypot(x, y - 92.0) - 8.0
        out["spine"] = spine
        period = np.mod(z, 28.0) - 14.0
        out["spine_marrow"] = np.maximum(spine + 2.0, 3.0 - np.abs(period))
        out["disc"] = np.maximum(spine, np.abs(period) - 3.0)
        out["dao_wall"], out["dao"] = dao - 2.0, dao
        thorax = np.maximum.reduce([thorax_ell, np.minimum(-abd, columns), -(arch - 1.0)])
        abdomen = np.maximum.reduce([abd, thorax_ell, -columns])
    else:
        for name in ("ribs", "rib_marrow", "arch", "canal", "spine", "spine_marrow", "disc"):
            out[name] = np.full(shape, BIG)
        out["dao_wall"] = out["dao"] = np.full(shape, BIG)
        out["body"] = out["body_inner"] = np.full(shape, -BIG)
        thorax = np.minimum(-abd, pericardium)
        abdomen = np.maximum(abd, -pericardium)
    out["thorax"] = thorax
    out["abdomen"] = abdomen
    out["liver"] = np.maximum(abd + 4.0, x - 60.0)
    anterior = ellipse_field(x + 10.0, y + 55.0, 28.0, 40.0)
    posterior = ellipse_field(x - 5.0, y - 30.0, 26.0, 28.0)
    mediastinum = np.minimum.reduce([columns, anterior, posterior])
    out["mediastinum"] = mediastinum if spec.lungs else np.full(shape, -BIG)
    return out


def _rib_fields(
    x: FloatArray, yb: FloatArray, z: FloatArray, thorax_ell: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Ribs: flat tubes in the chest wall just outside the pleura, sloping down anteriorly."""
    alpha = np.arctan2(yb, x)
    from_front = np.abs(np.mod(alpha + np.pi / 2 + np.pi, 2 * np.pi) - np.pi)  # 0 anterior, pi back
    z_rel = z - 95.0 * from_front / np.pi
    dz = np.mod(z_rel, 32.0) - 16.0
    rho = thorax_ell - 6.0
    rib = np.hypot(rho, dz * 0.8) - 4.0
    sternum_gap = np.abs(np.degrees(alpha) + 90.0) < 18.0
    rib = np.where(sternum_gap, BIG, np.maximum(rib, -thorax_ell))
    return rib, rib + 1.5


def _place_dome(scene: Scene) -> Scene:
    """Put the diaphragm dome just under the heart so the inferior wall touches it."""
    lv, spec = scene.lv, scene.spec
    eta, psi = np.meshgrid(np.linspace(0.0, np.pi / 2, 60), np.linspace(0, 2 * np.pi, 120))
    q = lv.surface(eta, psi)
    phi, h = lv.angle_level(q)
    t = lv.thickness(phi, h)
    n = lv.normal(q)
    reach = t.copy()
    if spec.right_ventricle:
        w = _rv_depth(spec, phi, h)
        reach = np.where(w > 0, t + w + spec.rv_wall_mm, t)
    pts = lv.to_anatomical((q + reach[..., np.newaxis] * n).reshape(-1, 3))
    x0, y0, radius = -20.0, 0.0, 160.0
    z_top = float(
        np.min(pts[:, 2] + ((pts[:, 0] - x0) ** 2 + (pts[:, 1] - y0) ** 2) / (2 * radius))
    )
    z_top -= spec.inferior_gap_mm
    return Scene(
        spec=scene.spec,
        lv=scene.lv,
        nodes=scene.nodes,
        muscles=scene.muscles,
        trabeculae=scene.trabeculae,
        dome=(x0, y0, radius, z_top),
        fat_phase=scene.fat_phase,
        la=scene.la,
        aorta=scene.aorta,
    )
