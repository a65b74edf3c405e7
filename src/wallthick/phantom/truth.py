"""Ground truth of a phantom, integrated over the exact LV surfaces.

Per-segment thickness is the mean of the prescribed perpendicular thickness
over the segment's endocardial area; the myocardial volume integrates the
offset shell exactly (Jacobian of ``(q, s) -> q + s n(q)``, Simpson in ``s``,
which is exact because the Jacobian is quadratic in ``s``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from wallthick.measure.aha import POSTERIOR_SEGMENTS, SEPTAL_SEGMENTS
from wallthick.phantom.lv import H_CAP, RV_INSERTION_DEG, LVModel, aha_segment

__all__ = [
    "compute_truth",
    "segment_grid",
    "surface_integrals",
    "match_wall_volume",
    "TRUTH_SCHEMA",
]

FloatArray = npt.NDArray[np.float64]
TRUTH_SCHEMA = "wallthick-phantom-truth/1"
MYOCARDIUM_DENSITY_G_PER_ML = 1.05


def surface_integrals(lv: LVModel, n_eta: int = 240, n_psi: int = 480) -> dict[str, FloatArray]:
    """Endocardial grid with angle, level, thickness, area and wall-volume elements."""
    d_eta, d_psi = (np.pi / 2) / n_eta, 2 * np.pi / n_psi
    eta, psi = np.meshgrid(
        (np.arange(n_eta) + 0.5) * d_eta, (np.arange(n_psi) + 0.5) * d_psi, indexing="ij"
    )
    ax, ay, c = lv.axes
    q = lv.surface(eta, psi)
    q_eta = np.stack(
        [ax * np.cos(eta) * np.cos(psi), ay * np.cos(eta) * np.sin(psi), c * np.sin(eta)], -1
    )
    q_psi = np.stack([-ax * np.sin(eta) * np.sin(psi), ay * np.sin(eta) * np.cos(psi), 0 * eta], -1)
    n = lv.normal(q)
    delta = 1e-5
    n_eta_d = (
        lv.normal(lv.surface(eta + delta, psi)) - lv.normal(lv.surface(eta - delta, psi))
    ) / (2 * delta)
    n_psi_d = (
        lv.normal(lv.surface(eta, psi + delta)) - lv.normal(lv.surface(eta, psi - delta))
    ) / (2 * delta)
    phi, h = lv.angle_level(q)
    t = lv.thickness(phi, h)

    def jac(s: FloatArray) -> FloatArray:
        s = s[..., np.newaxis]
        cross = np.cross(q_eta + s * n_eta_d, q_psi + s * n_psi_d)
        return np.asarray(np.abs(np.sum(cross * n, axis=-1)))

    area = jac(np.zeros_like(t)) * d_eta * d_psi
    volume = t / 6.0 * (jac(0 * t) + 4.0 * jac(t / 2.0) + jac(t)) * d_eta * d_psi
    return {"q": q, "normal": n, "phi": phi, "h": h, "t": t, "area": area, "volume": volume}


def segment_grid(lv: LVModel, n_h: int = 300, n_phi: int = 720) -> dict[str, FloatArray]:
    """Endocardial grid in ``(h, phi)`` whose cell edges contain every AHA boundary.

    Cells never straddle a segment boundary (levels 0.1, 1/3, 2/3; angles on
    multiples of 15 degrees), so segment means converge fast. The apex
    singularity only affects segment 17, where the thickness is constant.
    """
    h = (np.arange(n_h) + 0.5) / n_h
    phi_deg = -180.0 + (np.arange(n_phi) + 0.5) * 360.0 / n_phi
    hh, pp = np.meshgrid(h, phi_deg, indexing="ij")

    def point(hv: FloatArray, pv: FloatArray) -> FloatArray:
        ax, ay, c = lv.axes
        rad = np.radians(pv)
        r = np.sqrt(np.clip(hv * (2.0 - hv), 0.0, None)) / np.hypot(
            np.cos(rad) / ax, np.sin(rad) / ay
        )
        return np.stack([r * np.cos(rad), r * np.sin(rad), c * (hv - 1.0)], axis=-1)

    dh, dp = 0.25 / n_h, 0.25 * 360.0 / n_phi
    q_h = (point(hh + dh, pp) - point(hh - dh, pp)) / (2 * dh)
    q_p = (point(hh, pp + dp) - point(hh, pp - dp)) / (2 * dp)
    area = np.linalg.norm(np.cross(q_h, q_p), axis=-1) * (1.0 / n_h) * (360.0 / n_phi)
    return {"phi": pp, "h": hh, "t": lv.thickness(pp, hh), "area": area}


def match_wall_volume(lv: LVModel, target_mm3: float) -> LVModel:
    """Scale the wall thickness of ``lv`` so its myocardial volume is ``target_mm3``."""

    def vol(k: float) -> float:
        model = lv.scaled(k)
        return float(surface_integrals(model, 60, 120)["volume"].sum())

    lo, hi = 0.5, 3.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if vol(mid) < target_mm3 else (lo, mid)
    return lv.scaled(0.5 * (lo + hi))


def compute_truth(
    lv: LVModel,
    to_world: Callable[[FloatArray], FloatArray],
    rotate: Callable[[FloatArray], FloatArray],
) -> dict[str, Any]:
    """JSON-ready ground truth of ``lv``.

    Parameters
    ----------
    lv : LVModel
        The phantom's LV (anatomical coordinates).
    to_world : callable
        Maps anatomical points ``(..., 3)`` to scanner LPS mm.
    rotate : callable
        Maps anatomical directions to scanner LPS directions.
    """
    grid = segment_grid(lv)
    seg = aha_segment(grid["phi"], grid["h"])
    ax, ay, c = lv.axes
    cavity_ml = 2.0 / 3.0 * np.pi * ax * ay * c / 1000.0
    wall_ml = float(surface_integrals(lv)["volume"].sum()) / 1000.0
    return {
        "schema": TRUTH_SCHEMA,
        "septal_thickness_mm": round(_group_mean(grid, seg, SEPTAL_SEGMENTS), 4),
        "posterior_wall_thickness_mm": round(_group_mean(grid, seg, POSTERIOR_SEGMENTS), 4),
        "segments": _segment_table(grid, seg),
        "lv_cavity_volume_ml": round(float(cavity_ml), 3),
        "lv_myocardium_volume_ml": round(wall_ml, 3),
        "lv_mass_g": round(wall_ml * MYOCARDIUM_DENSITY_G_PER_ML, 3),
        "lv_frame": _frame_truth(lv, to_world, rotate),
        "wall_parameters_mm": {
            k: round(float(v), 4)
            for k, v in zip(
                ("septal", "posterior", "inferior", "lateral", "anterior", "apex"),
                lv.wall_mm,
                strict=True,
            )
        },
        "definitions": dict(_DEFINITIONS),
    }


def _segment_table(grid: dict[str, FloatArray], seg: npt.NDArray[np.integer]) -> list[Any]:
    """Area-weighted mean, min, max thickness and endocardial area of AHA segments 1-17."""
    segments = []
    for number in range(1, 18):
        sel = seg == number
        w = grid["area"][sel]
        t = grid["t"][sel]
        segments.append(
            {
                "segment": number,
                "mean_mm": round(float(np.sum(w * t) / np.sum(w)), 4),
                "min_mm": round(float(t.min()), 4),
                "max_mm": round(float(t.max()), 4),
                "area_mm2": round(float(w.sum()), 2),
            }
        )
    return segments


def _group_mean(
    grid: dict[str, FloatArray], seg: npt.NDArray[np.integer], numbers: tuple[int, ...]
) -> float:
    """Area-weighted mean thickness over a group of AHA segments."""
    sel = np.isin(seg, numbers)
    return float(np.sum(grid["area"][sel] * grid["t"][sel]) / np.sum(grid["area"][sel]))


def _frame_truth(
    lv: LVModel,
    to_world: Callable[[FloatArray], FloatArray],
    rotate: Callable[[FloatArray], FloatArray],
) -> dict[str, Any]:
    """The LV frame in scanner LPS: base, apices, axes, RV insertions, semi-axes."""
    c = lv.axes[2]
    x_l, y_l, z_l = (lv.rotation[:, k] for k in range(3))
    endo_apex = lv.to_anatomical(np.array([0.0, 0.0, -c]))
    epi_apex = lv.to_anatomical(np.array([0.0, 0.0, -c - lv.wall_mm[5]]))
    insertions = np.stack(
        [
            lv.to_anatomical(
                lv.local_point(phi, 0.5, float(lv.thickness(np.array(phi), np.array(0.5))))
            )
            for phi in RV_INSERTION_DEG
        ]
    )
    return {
        "base_center_mm": _vec(to_world(lv.base_center)),
        "endocardial_apex_mm": _vec(to_world(endo_apex)),
        "epicardial_apex_mm": _vec(to_world(epi_apex)),
        "long_axis": _vec(rotate(z_l)),
        "septal_direction": _vec(rotate(x_l)),
        "inferior_direction": _vec(rotate(y_l)),
        "rv_insertion_points_mm": [_vec(to_world(p)) for p in insertions],
        "endocardium_semi_axes_mm": _vec(lv.axes),
    }


def _vec(v: FloatArray) -> list[float]:
    return [round(float(x), 5) for x in np.ravel(v)]


_DEFINITIONS = {
    "thickness": "perpendicular to the endocardium, endocardium to epicardium (mm)",
    "segments": (
        "AHA 17 on the endocardial surface: levels are thirds of the cavity length "
        "(endocardial apex to mitral plane), basal h>=2/3, mid >=1/3, apical >="
        f"{H_CAP}, cap (17) below; 6 sectors of 60 deg from the anterior RV insertion, "
        "4 apical sectors of 90 deg centred on septum/inferior/lateral/anterior; "
        "segment value = area-weighted mean over the segment's endocardium"
    ),
    "cavity": "volume enclosed by the endocardium below the mitral plane, "
    "papillary muscles and trabeculae included (they are cavity, label LV_BLOOD_POOL)",
    "mass": f"myocardial volume x {MYOCARDIUM_DENSITY_G_PER_ML} g/ml",
}
