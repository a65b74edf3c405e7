"""Stress survey of the full pipeline on perturbed copies of the real CTA.

Not a tuning set: it shows how far the septal and posterior values move when
the same anatomy is presented differently, and how much they depend on where
inside the LV the segmenter starts.

1. Variants of ``ct_heart_crop``: lower blood contrast (a late-phase scan:
   HU above myocardium scaled by 0.6), extra noise (+30 HU SD), the array
   axes flipped (same anatomy, other storage order), a 12/-8/10 degree
   rotation resampled to 1 mm, and 3 mm slices with 0.75 mm pixels.
2. Start-point sensitivity: the segmenter started (``lv_seed_mm``) from the
   chosen LV point and from points 6 mm away along each axis.

Usage::

    .venv/bin/python scripts/stress_real_ct.py [--data $WALLTHICK_TEST_DATA/real/chest_cta]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from wallthick.errors import WallthickError
from wallthick.io import load_image
from wallthick.measure import measure_labels, measure_wall_thickness
from wallthick.segment import segment_heart
from wallthick.volume import ImageVolume

sys.path.insert(0, str(Path(__file__).resolve().parent))
from validate_real_ct import rotated_copy

ROOT = Path(__file__).resolve().parents[1]
#: the real test data: $WALLTHICK_TEST_DATA, by default ../shared/data beside the project
DATA = Path(os.environ.get("WALLTHICK_TEST_DATA", ROOT.parent / "shared" / "data"))


def flipped(image: ImageVolume) -> ImageVolume:
    """The same anatomy with array axes 0 and 2 stored in reverse order."""
    a = image.array[::-1, :, ::-1].copy()
    d = np.array(image.direction, dtype=np.float64)
    corner = [image.shape[0] - 1, 0, image.shape[2] - 1]
    origin = image.index_to_world(np.asarray(corner, dtype=np.float64))
    d[:, 0] *= -1.0
    d[:, 2] *= -1.0
    return ImageVolume(a, image.spacing_mm, origin, d, dict(image.metadata))


def variants(image: ImageVolume) -> dict[str, ImageVolume]:
    a = image.array.astype(np.float32)
    myo = 120.0
    rng = np.random.default_rng(1)
    late = myo + (a - myo) * np.where(a > myo, 0.6, 1.0)
    return {
        "original": image,
        "blood contrast x0.6": image.with_array(late.astype(np.float32)),
        "noise +30 HU": image.with_array(a + rng.normal(0, 30, a.shape).astype(np.float32)),
        "array axes flipped": flipped(image),
        "rotated 12/-8/10 deg, 1 mm": rotated_copy(image, (12.0, -8.0, 10.0), (1.0, 1.0, 1.0)),
        "3 mm slices, 0.75 mm pixels": rotated_copy(image, (0.0, 0.0, 0.0), (3.0, 0.75, 0.75)),
    }


def _line(name: str, image: ImageVolume, **seg: object) -> tuple[float, float] | None:
    t0 = time.perf_counter()
    try:
        if seg:
            labels = segment_heart(image, **seg)
            m = measure_labels(labels, image).measurement
        else:
            m = measure_wall_thickness(image).measurement
    except WallthickError as exc:
        print(f"| {name} | error: {exc} | | | | |", flush=True)
        return None
    print(
        f"| {name} | {m.septal_thickness_mm:.2f} ± {m.septal_uncertainty_mm:.2f} | "
        f"{m.posterior_wall_thickness_mm:.2f} ± {m.posterior_uncertainty_mm:.2f} | "
        f"{m.lv_cavity_volume_ml:.0f} | {', '.join(m.qc_flags) or 'pass'} | "
        f"{time.perf_counter() - t0:.0f} |",
        flush=True,
    )
    return m.septal_thickness_mm, m.posterior_wall_thickness_mm


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA / "real" / "chest_cta")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    image = load_image(args.data / "ct_heart_crop.nii.gz")
    header = "| case | septal (mm) | posterior (mm) | cavity (ml) | QC | s |\n| --- | --- | --- | --- | --- | --- |"
    print("### Perturbed copies\n\n" + header)
    for name, img in variants(image).items():
        _line(name, img)
    start = np.asarray(segment_heart(image).metadata["lv_center_mm"], dtype=np.float64)
    print("\n### Start point (lv_seed_mm) moved by 6 mm\n\n" + header)
    values = []
    for off in [(0, 0, 0), (6, 0, 0), (-6, 0, 0), (0, 6, 0), (0, -6, 0), (0, 0, 6), (0, 0, -6)]:
        seed = tuple(float(v) for v in start + np.asarray(off, dtype=np.float64))
        v = _line(f"start + {off} mm", image, lv_seed_mm=seed)
        if v is not None:
            values.append(v)
    if len(values) > 1:
        arr = np.asarray(values)
        sd, rng = arr.std(axis=0, ddof=1), np.ptp(arr, axis=0)
        print(
            f"\nstart-point SD: septal {sd[0]:.2f} mm, posterior {sd[1]:.2f} mm; "
            f"range {rng[0]:.2f} / {rng[1]:.2f} mm over {len(values)} starts"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
