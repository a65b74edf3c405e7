"""Signed distance-like fields of simple shapes (negative inside, in mm).

All functions are vectorised over the leading axes of ``points`` (``(..., 3)``)
and exact or first-order accurate near the surface, which is where partial
volume is computed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["ellipse_field", "ellipsoid_field", "capsule_field", "BIG"]

FloatArray = npt.NDArray[np.float64]

#: Field value used far away from a structure (outside, never partially occupied).
BIG = 1.0e3


def ellipse_field(u: FloatArray, v: FloatArray, a: float, b: float) -> FloatArray:
    """Approximate signed distance to the ellipse ``(u/a)^2 + (v/b)^2 = 1``.

    Examples
    --------
    >>> round(float(ellipse_field(np.array(12.0), np.array(0.0), 10.0, 5.0)), 6)
    2.0
    """
    k0 = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    k1 = np.sqrt((u / a**2) ** 2 + (v / b**2) ** 2)
    return np.asarray(np.where(k1 > 1e-12, k0 * (k0 - 1.0) / np.maximum(k1, 1e-12), -min(a, b)))


def ellipsoid_field(local: FloatArray, axes: npt.ArrayLike) -> FloatArray:
    """Approximate signed distance to an axis-aligned ellipsoid centred at 0.

    Examples
    --------
    >>> round(float(ellipsoid_field(np.array([0.0, 0.0, -7.0]), (3.0, 4.0, 5.0))), 6)
    2.0
    """
    e = np.asarray(axes, dtype=np.float64)
    k0 = np.sqrt(np.sum((local / e) ** 2, axis=-1))
    k1 = np.sqrt(np.sum((local / e**2) ** 2, axis=-1))
    return np.asarray(np.where(k1 > 1e-12, k0 * (k0 - 1.0) / np.maximum(k1, 1e-12), -e.min()))


def capsule_field(
    points: FloatArray, a: FloatArray, b: FloatArray, r_a: float, r_b: float | None = None
) -> FloatArray:
    """Distance to the segment ``a``-``b`` minus a radius varying from ``r_a`` to ``r_b``.

    Examples
    --------
    >>> p = np.array([[0.0, 3.0, 0.0], [0.0, 0.0, 12.0]])
    >>> capsule_field(p, np.zeros(3), np.array([0.0, 0.0, 10.0]), 1.0).tolist()
    [2.0, 1.0]
    """
    r_b = r_a if r_b is None else r_b
    ab = b - a
    tau = np.clip(((points - a) @ ab) / float(ab @ ab), 0.0, 1.0)
    closest = a + tau[..., np.newaxis] * ab
    return np.asarray(np.linalg.norm(points - closest, axis=-1) - (r_a + (r_b - r_a) * tau))
