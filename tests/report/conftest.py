"""A hand-made MeasurementResult on an oblique, anisotropic synthetic volume."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from wallthick.labels import Label
from wallthick.measure.result import (
    LVFrame,
    Measurement,
    MeasurementResult,
    SegmentStats,
    SeriesInfo,
)
from wallthick.volume import ImageVolume, LabelVolume

WALL_MM = 10.0
CAVITY_RADIUS_MM = 22.0


def make_result(seed: int = 0, *, with_image: bool = True) -> MeasurementResult:
    """An LV (half prolate ellipsoid shell, wall 10 mm) with an RV on its septal
    side, on a rotated grid with spacing (2.0, 0.9, 0.9) mm."""
    rng = np.random.default_rng(seed)
    direction = Rotation.from_euler("xyz", [12, -8, 20], degrees=True).as_matrix()
    spacing = np.array([2.0, 0.9, 0.9])
    shape = (50, 110, 110)
    origin = -direction @ (spacing * (np.array(shape) - 1) / 2.0)
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    world = idx @ (direction * spacing).T + origin

    long_axis = np.array([0.5, -0.4, 0.77])
    long_axis /= np.linalg.norm(long_axis)
    septal = np.cross(long_axis, [0.0, 0.0, 1.0])
    septal /= np.linalg.norm(septal)
    base_center = long_axis * 25.0
    apex = -long_axis * 45.0

    rel = world - base_center
    along = rel @ long_axis  # <= 0 inside the LV (base at 0)
    radial_vec = rel - along[..., None] * long_axis
    radial = np.linalg.norm(radial_vec, axis=-1)
    length = 70.0
    inner = (radial / CAVITY_RADIUS_MM) ** 2 + (along / (length - WALL_MM)) ** 2
    outer = (radial / (CAVITY_RADIUS_MM + WALL_MM)) ** 2 + (along / length) ** 2
    below_base = along <= 0
    lab = np.zeros(shape, np.uint8)
    lab[(outer <= 1) & below_base] = Label.LV_MYOCARDIUM
    lab[(inner <= 1) & below_base] = Label.LV_BLOOD_POOL
    rv_center = base_center - 30.0 * long_axis + 45.0 * septal
    rv = (np.linalg.norm(world - rv_center, axis=-1) <= 14.0) & (lab == 0)
    lab[rv] = Label.RV_BLOOD_POOL

    hu = {0: -40.0, 1: 420.0, 2: 110.0, 3: 330.0}
    img = np.vectorize(hu.get)(lab).astype(np.float32)
    img += rng.normal(0.0, 15.0, shape).astype(np.float32)

    myo = lab == Label.LV_MYOCARDIUM
    thickness = np.full(shape, np.nan, np.float32)
    thickness[myo] = WALL_MM + rng.normal(0, 0.3, int(myo.sum()))
    angle = np.degrees(np.arctan2(radial_vec @ np.cross(long_axis, septal), radial_vec @ septal))
    frac = -along / length
    ring = np.where(frac < 1 / 3, 0, np.where(frac < 2 / 3, 6, 12))
    sector = ((angle + 180.0) // 60).astype(int) % 6 + 1
    aha = np.where(myo, np.where(frac > 0.9, 17, ring + sector), 0).astype(np.uint8)

    mid = base_center - 0.5 * length * long_axis
    probes = {
        "septal": np.array(
            [[mid + CAVITY_RADIUS_MM * septal, mid + (CAVITY_RADIUS_MM + WALL_MM) * septal]]
        ),
        "posterior": np.array(
            [[mid - CAVITY_RADIUS_MM * septal, mid - (CAVITY_RADIUS_MM + WALL_MM) * septal]]
        ),
    }
    anterior_dir = np.cross(long_axis, septal)
    frame = LVFrame(
        apex_mm=apex,
        base_center_mm=base_center,
        long_axis=long_axis,
        septal_direction=septal,
        rv_insertion_points_mm=np.array(
            [mid + 25 * septal + 20 * anterior_dir, mid + 25 * septal - 20 * anterior_dir]
        ),
    )
    segments = tuple(SegmentStats(s, WALL_MM, WALL_MM, WALL_MM + 1, 0.3, 100) for s in range(1, 18))
    measurement = Measurement(
        septal_thickness_mm=WALL_MM,
        septal_uncertainty_mm=0.4,
        posterior_wall_thickness_mm=WALL_MM,
        posterior_uncertainty_mm=0.5,
        segments=segments,
        lv_cavity_volume_ml=100.0,
        lv_mass_g=150.0,
        series=SeriesInfo(patient_id="P001", series_instance_uid="1.2.3.4.5.6.7"),
    )
    return MeasurementResult(
        measurement=measurement,
        image=ImageVolume(img, spacing, origin, direction) if with_image else None,
        labels=LabelVolume(lab, spacing, origin, direction),
        thickness_mm=thickness,
        aha_segments=aha,
        frame=frame,
        probes=probes,
    )


@pytest.fixture(scope="session")
def synthetic_result() -> MeasurementResult:
    return make_result()


@pytest.fixture(scope="session")
def make_synthetic() -> Callable[..., MeasurementResult]:
    """The factory itself, for tests that need variants."""
    return make_result
