"""A hand-made MeasurementResult on an oblique, anisotropic synthetic volume."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
        box_thickness_mm=thickness,
        box_segments=aha,
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


def _measurement(
    pid: str, day: str, sept: float, post: float, uid: str, qc: tuple[str, ...] = ()
) -> Measurement:
    segs = tuple(
        SegmentStats(s, sept if s in (2, 3, 8, 9) else post + 0.1 * s, 0, 0, 0.5, 50, 0.3)
        for s in range(1, 18)
    )
    return Measurement(
        septal_thickness_mm=sept,
        septal_uncertainty_mm=0.25,
        posterior_wall_thickness_mm=post,
        posterior_uncertainty_mm=0.3,
        segments=segs,
        lv_cavity_volume_ml=120.0,
        lv_mass_g=140.0,
        qc_flags=qc,
        segmenter="classical",
        options={"edge": "half-max"},
        series=SeriesInfo(
            patient_id=pid,
            study_date=day,
            study_time="101500",
            study_instance_uid=f"st.{uid}",
            series_instance_uid=uid,
        ),
    )


def make_results_dir(root: Path, qc_png: Path | None = None) -> Path:
    """A results folder laid out like the batch's: measurements.csv plus one
    folder per series with measurement.json and qc.png."""
    import csv
    import hashlib
    import json

    from matplotlib.image import imsave

    from wallthick.measure.result import CSV_COLUMNS, failed_row

    items = [
        _measurement("PAT-A", "20240105", 10.0, 9.0, "1.2.840.1.1"),
        _measurement("PAT-A", "20240205", 11.0, 9.1, "1.2.840.1.2"),
        _measurement("PAT-A", "20240405", 12.5, 8.0, "1.2.840.1.3"),
        _measurement("PAT-B", "20240110", 8.0, 8.5, "1.2.840.2.1"),
        _measurement("PAT-B", "20240710", 8.1, 8.4, "1.2.840.2.3", qc=("lv_coverage",)),
    ]
    rows = [m.to_row() for m in items]
    rows.append(
        failed_row(SeriesInfo("PAT-B", "20240410", "090000", "st.x", "1.2.840.2.2"), "no LV found")
    )
    root.mkdir(parents=True, exist_ok=True)
    with (root / "measurements.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS))
        w.writeheader()
        w.writerows(rows)
    for i, row in enumerate(rows):
        uid = row["series_instance_uid"]
        folder = root / f"series-{hashlib.sha256(uid.encode()).hexdigest()[:24]}"
        folder.mkdir()
        m = items[i] if i < len(items) else None
        record = {"status": row["status"], "row": row, "measurement": m.to_dict() if m else None}
        (folder / "measurement.json").write_text(json.dumps(record))
        if m is not None:
            if qc_png is not None and i == 0:
                (folder / "qc.png").write_bytes(qc_png.read_bytes())
            else:
                imsave(folder / "qc.png", np.full((20, 40, 3), 0.2 * i, np.float32))
    return root


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    return make_results_dir(tmp_path / "results")
