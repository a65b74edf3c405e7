"""Analytic LV shells of known thickness, for tests and validation.

The cavity is a capsule: a cylinder of radius ``radius_mm`` along the long
axis from the base plane (``z = 0``) down to ``z = -length_mm + radius_mm``,
closed by a hemisphere (endocardial apex at ``z = -length_mm``). The
myocardium is the set of points at distance ``0 < d <= t(theta)`` from the
cavity (``d`` = distance to the capsule's axis segment minus the radius),
below the base plane; so on the cylinder the perpendicular thickness is
exactly ``t(theta)``. ``theta`` is the short-axis angle from the septum
(towards the anterior wall positive). An RV crescent lies against the
septum between ``theta = -60`` and ``+60`` degrees (the RV insertion
points). The image is the analytic Gaussian-blurred step profile along the
wall normal, sampled at the voxel centres, plus white noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import erf

from wallthick.labels import Label
from wallthick.volume import ImageVolume, LabelVolume

__all__ = ["AnalyticLV", "analytic_lv", "rotation"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class AnalyticLV:
    labels: LabelVolume
    image: ImageVolume
    septal_mm: float
    free_wall_mm: float
    long_axis: FloatArray  # apex -> base, LPS
    septal_direction: FloatArray  # LPS
    anterior_direction: FloatArray  # LPS


def rotation(angles_deg: tuple[float, float, float]) -> FloatArray:
    """Rotation matrix from x, y, z Euler angles (degrees)."""
    ax, ay, az = np.radians(angles_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return np.asarray(rz @ ry @ rx)


def analytic_lv(
    *,
    spacing_mm: tuple[float, float, float] = (1.0, 0.8, 0.8),
    grid_rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0),
    septal_mm: float = 11.0,
    free_wall_mm: float = 9.0,
    radius_mm: float = 24.0,
    length_mm: float = 75.0,
    psf_fwhm_mm: float = 0.0,
    noise_hu: float = 0.0,
    hu: tuple[float, float, float, float] = (420.0, 120.0, 300.0, -90.0),
    seed: int = 0,
) -> AnalyticLV:
    """An LV shell with a thicker septum on an (oblique, anisotropic) grid.

    LV frame in LPS: the long axis (apex->base) points to patient left-
    posterior-head ``normalize(1, 1, 2)`` negated so the apex is left,
    anterior and inferior; the septum faces right-anterior, as in a patient.
    ``hu`` = (LV blood, myocardium, RV blood, outer tissue).
    """
    u = -np.array([1.0, -1.0, -1.5])  # apex -> base: towards right, posterior, head
    u /= np.linalg.norm(u)
    s = np.array([-1.0, -1.0, 0.0])  # septum towards the patient's right-anterior
    s -= (s @ u) * u
    s /= np.linalg.norm(s)
    a = np.cross(u, s)
    if a @ np.array([0.0, -1.0, 0.0]) < 0:
        a = -a
    wall = max(septal_mm, free_wall_mm)
    centre = np.zeros(3)
    spacing = np.asarray(spacing_mm, dtype=np.float64)
    direction = rotation(grid_rotation_deg)
    half = max(length_mm / 2 + wall + 8.0, radius_mm + wall + 17.0)
    shape = tuple(int(np.ceil(2 * half / sp)) for sp in spacing)
    origin = centre - direction @ (spacing * (np.asarray(shape) - 1) / 2.0)
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1).reshape(-1, 3)
    world = origin + (idx * spacing) @ direction.T
    base_plane = centre + u * (length_mm / 2)  # base centre
    rel = world - base_plane
    z = rel @ u
    x, y = rel @ s, rel @ a
    theta = np.degrees(np.arctan2(y, x))
    z_h = -length_mm + radius_mm
    zc = np.clip(z, z_h, 0.0)
    d = np.sqrt(x**2 + y**2 + (z - zc) ** 2) - radius_mm
    w = np.clip((np.abs(theta) - 60.0) / 20.0, 0.0, 1.0)
    t = septal_mm + (free_wall_mm - septal_mm) * (3 * w**2 - 2 * w**3)
    below = z <= 0.0
    lab = np.zeros(len(world), dtype=np.uint8)
    lab[(d <= 0) & below] = Label.LV_BLOOD_POOL
    lab[(d > 0) & (d <= t) & below] = Label.LV_MYOCARDIUM
    rv = (d > t) & (d <= t + 15.0) & (np.abs(theta) < 60.0) & below & (z > z_h + 10.0)
    lab[rv] = Label.RV_BLOOD_POOL
    blood, myo, rvb, outer = hu
    sig = psf_fwhm_mm / 2.3548

    def step(v: FloatArray) -> FloatArray:
        if sig == 0:
            return (v > 0).astype(np.float64)
        return np.asarray(0.5 * (1.0 + erf(v / (np.sqrt(2.0) * sig))))

    beyond = np.where((np.abs(theta) < 60.0) & (z > z_h + 10.0), rvb, outer)
    img = blood + (myo - blood) * step(d) + (beyond - myo) * step(d - t)
    # above the base plane: blood continues (atrium), no myocardium
    img = np.where(below | (d > 0), img, blood)
    img = np.where(below | (d <= 0), img, outer)
    rng = np.random.default_rng(seed)
    img = img + noise_hu * rng.standard_normal(img.shape)
    labels = LabelVolume(lab.reshape(shape), spacing, origin, direction)
    image = ImageVolume(img.reshape(shape).astype(np.float32), spacing, origin, direction)
    return AnalyticLV(labels, image, septal_mm, free_wall_mm, u, s, a)
