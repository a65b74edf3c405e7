"""The left ventricle of the phantom: its frame, surfaces and prescribed thickness.

Local LV frame (all mm): ``x`` points from the long axis to the middle of the
septum, ``y`` to the middle of the inferior wall, ``z`` along the long axis
from apex to base; the origin is the centre of the mitral-plane cut (``z = 0``).
The endocardium is the lower half (``z <= 0``) of the ellipsoid with semi-axes
``(ax, ay, c)``. The myocardium is the set of points outside it whose distance
``d`` to it satisfies ``d <= t(q)``, ``q`` being the nearest endocardial point:
the endocardium offset along its normal by ``t``. Because the endocardium is
convex, every normal ray from ``q`` stays nearest to ``q``, so the thickness
measured perpendicular to the wall at ``q`` is exactly ``t(q)``.

The short-axis angle ``phi`` (degrees) is measured from the septum centre
towards the inferior wall; the RV insertion points are at ``phi = -60``
(anterior) and ``+60`` (inferior). The level ``h = (z + c) / c`` runs from 0 at
the endocardial apex to 1 at the mitral plane.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["LVModel", "aha_segment", "H_CAP", "RV_INSERTION_DEG", "smootherstep"]

FloatArray = npt.NDArray[np.float64]

#: Level below which an endocardial point belongs to the apical cap (segment 17).
H_CAP = 0.1
#: Short-axis angles of the anterior and inferior RV insertion points.
RV_INSERTION_DEG = (-60.0, 60.0)
# Thickness plateaus and transitions along the short-axis angle (degrees):
# septum -70..70 (covers segments 2/3/8/9 = -60..60), inferior at 90,
# posterior -- i.e. inferolateral -- 110..190 (covers 5/11 = 120..180),
# lateral at 215, anterior at 260, back to the septum at 290 (= -70).
_KNOTS_DEG = np.array([-70.0, 70.0, 90.0, 110.0, 190.0, 215.0, 260.0, 290.0])
# Along the long axis: the wall values hold down to h = 0.27 and blend to the
# apical value, reached at h = 0.14 (inside the apical third).
_LEVEL_BLEND = (0.14, 0.27)
# A thinned patch: (angle in degrees, level) radius of the blend; full thinning
# within a third of it.
_PATCH_RADIUS = (30.0, 0.15)


def smootherstep(x: npt.ArrayLike) -> FloatArray:
    """C2 step from 0 (``x <= 0``) to 1 (``x >= 1``).

    Examples
    --------
    >>> smootherstep([-1.0, 0.5, 2.0]).tolist()
    [0.0, 0.5, 1.0]
    """
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return np.asarray(x * x * x * (x * (6.0 * x - 15.0) + 10.0))


def aha_segment(phi_deg: npt.ArrayLike, h: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """AHA segment (1-17) of endocardial points given angle and level.

    Basal ``h >= 2/3``, mid ``1/3 <= h < 2/3``, apical ``H_CAP <= h < 1/3``,
    apical cap (17) ``h < H_CAP``. Basal/mid sectors are 60 degrees wide and
    start at the anterior RV insertion (``phi = -60``); apical sectors are 90
    degrees wide and centred on the septum, inferior, lateral and anterior walls.

    Examples
    --------
    >>> aha_segment([-30.0, 30.0, 150.0, 0.0, 0.0], [0.9, 0.9, 0.5, 0.2, 0.05]).tolist()
    [2, 3, 11, 14, 17]
    """
    phi = np.asarray(phi_deg, dtype=np.float64)
    lev = np.asarray(h, dtype=np.float64)
    six = (np.floor(np.mod(phi + 60.0, 360.0) / 60.0).astype(np.int64)) % 6
    four = (np.floor(np.mod(phi + 45.0, 360.0) / 90.0).astype(np.int64)) % 4
    basal = np.array([2, 3, 4, 5, 6, 1])[six]
    apical = np.array([14, 15, 16, 13])[four]
    seg = np.where(lev >= 2.0 / 3.0, basal, np.where(lev >= 1.0 / 3.0, basal + 6, apical))
    return np.where(lev < H_CAP, 17, seg)


@dataclass(frozen=True, eq=False)
class LVModel:
    """LV geometry in anatomical LPS coordinates (see module docstring).

    Parameters
    ----------
    base_center : (3,) array
        Centre of the mitral-plane cut, anatomical LPS mm.
    rotation : (3, 3) array
        Columns: septal, inferior and apex-to-base unit vectors.
    axes : (3,) array
        Endocardial semi-axes ``(ax, ay, c)``.
    wall_mm : (6,) array
        Septal, posterior, inferior, lateral, anterior and apical thickness.
    thin_patch : (3,) tuple
        ``(thickness_mm, phi_deg, h)``: the wall thins to ``thickness_mm``
        (where it is thicker) around the patch centre ``(phi_deg, h)``,
        blending back over 30 degrees and 0.15 in level (0: no patch).
    """

    base_center: FloatArray
    rotation: FloatArray
    axes: FloatArray
    wall_mm: FloatArray
    thin_patch: tuple[float, float, float] = (0.0, 0.0, 0.0)

    # -- frames ----------------------------------------------------------
    def to_local(self, points: FloatArray) -> FloatArray:
        """Anatomical ``(..., 3)`` points to LV-local coordinates."""
        return np.asarray((points - self.base_center) @ self.rotation)

    def to_anatomical(self, local: FloatArray) -> FloatArray:
        return np.asarray(local @ self.rotation.T + self.base_center)

    # -- prescribed thickness ---------------------------------------------
    def angular_thickness(self, phi_deg: FloatArray) -> FloatArray:
        """Thickness around the short axis in the basal/mid LV."""
        ts, tp, tinf, tlat, tant, _ = self.wall_mm
        values = np.array([ts, ts, tinf, tp, tp, tlat, tant, ts])
        phi = np.mod(np.asarray(phi_deg) - _KNOTS_DEG[0], 360.0) + _KNOTS_DEG[0]
        idx = np.clip(np.searchsorted(_KNOTS_DEG, phi, side="right") - 1, 0, len(_KNOTS_DEG) - 2)
        a0, a1 = _KNOTS_DEG[idx], _KNOTS_DEG[idx + 1]
        w = smootherstep((phi - a0) / (a1 - a0))
        return np.asarray(values[idx] + (values[idx + 1] - values[idx]) * w)

    def thickness(self, phi_deg: FloatArray, h: FloatArray) -> FloatArray:
        """Prescribed perpendicular wall thickness at endocardial ``(phi, h)``."""
        t_apex = self.wall_mm[5]
        w = smootherstep((np.asarray(h) - _LEVEL_BLEND[0]) / (_LEVEL_BLEND[1] - _LEVEL_BLEND[0]))
        t = np.asarray(t_apex + (self.angular_thickness(phi_deg) - t_apex) * w)
        target, phi0, h0 = self.thin_patch
        if target > 0:
            dphi = np.mod(np.asarray(phi_deg) - phi0 + 180.0, 360.0) - 180.0
            rho = np.hypot(dphi / _PATCH_RADIUS[0], (np.asarray(h) - h0) / _PATCH_RADIUS[1])
            t = np.asarray(t + (np.minimum(t, target) - t) * smootherstep(1.5 * (1.0 - rho)))
        return t

    def scaled(self, factor: float) -> LVModel:
        """The same LV with every wall thickness (the thinned patch too) times ``factor``."""
        target, phi0, h0 = self.thin_patch
        return dataclasses.replace(
            self, wall_mm=self.wall_mm * factor, thin_patch=(target * factor, phi0, h0)
        )

    # -- endocardial surface ----------------------------------------------
    def angle_level(self, q_local: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(phi_deg, h)`` of LV-local endocardial points."""
        phi = np.degrees(np.arctan2(q_local[..., 1], q_local[..., 0]))
        h = (q_local[..., 2] + self.axes[2]) / self.axes[2]
        return phi, h

    def nearest_endocardium(self, local: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Nearest point on the full ellipsoid and signed distance (< 0 inside).

        Exact for outside points (Newton on Eberly's root function, monotone
        from ``s = 0``) and for inside points within ~15 mm of the surface
        (converged to 1e-12 mm); deeper inside only the sign is reliable.
        """
        e2 = self.axes**2
        y = [local[..., k] for k in range(3)]
        ey = [self.axes[k] * y[k] for k in range(3)]
        lo = -float(e2.min())
        s = np.zeros(local.shape[:-1])
        for _ in range(14):
            den = [e2[k] + s for k in range(3)]
            r = [ey[k] / den[k] for k in range(3)]
            f = r[0] ** 2 + r[1] ** 2 + r[2] ** 2 - 1.0
            df = -2.0 * (r[0] ** 2 / den[0] + r[1] ** 2 / den[1] + r[2] ** 2 / den[2])
            s = np.maximum(s - f / df, 0.5 * (s + lo))
        q = np.stack([e2[k] * y[k] / (e2[k] + s) for k in range(3)], axis=-1)
        inside = (y[0] / self.axes[0]) ** 2 + (y[1] / self.axes[1]) ** 2 + (
            y[2] / self.axes[2]
        ) ** 2 < 1.0
        dist = np.linalg.norm(local - q, axis=-1)
        return q, np.where(inside, -dist, dist)

    def surface(self, eta: FloatArray, psi: FloatArray) -> FloatArray:
        """Endocardial point at polar angle ``eta`` (0 = apex, pi/2 = base) and ``psi``."""
        ax, ay, c = self.axes
        return np.stack(
            [ax * np.sin(eta) * np.cos(psi), ay * np.sin(eta) * np.sin(psi), -c * np.cos(eta)],
            axis=-1,
        )

    def normal(self, q_local: FloatArray) -> FloatArray:
        """Outward unit normal at LV-local endocardial points."""
        g = q_local / self.axes**2
        return np.asarray(g / np.linalg.norm(g, axis=-1, keepdims=True))

    def local_point(self, phi_deg: float, h: float, depth_mm: float = 0.0) -> FloatArray:
        """LV-local point on the endocardium at ``(phi, h)``, moved ``depth_mm``
        along the outward normal (negative = into the cavity)."""
        ax, ay, c = self.axes
        z = c * (h - 1.0)
        rho = np.sqrt(max(1.0 - (z / c) ** 2, 0.0))
        phi = np.radians(phi_deg)
        # the point on the ellipse cross-section whose polar angle is phi
        r = rho / np.hypot(np.cos(phi) / ax, np.sin(phi) / ay)
        q = np.array([r * np.cos(phi), r * np.sin(phi), z])
        return np.asarray(q + depth_mm * self.normal(q))
