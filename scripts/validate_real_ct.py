"""Real CT checks: adult range, crop agreement, rotation/resampling invariance.

Measures ``ct_heart_crop`` and ``ct_aorta_crop`` (two crops of one scan) and
a copy of the heart crop rotated by a few degrees and resampled to
1.2 x 1.2 x 2 mm, all through the full pipeline (classical segmenter), and
draws the contours to ``docs/img/real_ct_contours.png``.

Usage::

    .venv/bin/python scripts/validate_real_ct.py [--data $WALLTHICK_TEST_DATA/real/chest_cta]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

from wallthick.io import load_image
from wallthick.labels import Label
from wallthick.measure import MeasurementResult, measure_wall_thickness
from wallthick.measure.synthetic import rotation
from wallthick.volume import ImageVolume

ROOT = Path(__file__).resolve().parents[1]
#: the real test data: $WALLTHICK_TEST_DATA, by default ../shared/data beside the project
DATA = Path(os.environ.get("WALLTHICK_TEST_DATA", ROOT.parent / "shared" / "data"))


def rotated_copy(
    image: ImageVolume,
    angles_deg: tuple[float, float, float],
    spacing_mm: tuple[float, float, float],
) -> ImageVolume:
    """``image`` resampled (linear) on a grid rotated about its centre."""
    import SimpleITK as sitk

    centre = image.geometry.index_to_world((np.asarray(image.shape) - 1) / 2.0)
    direction = rotation(angles_deg) @ image.direction
    extent = (np.asarray(image.shape) - 1) * image.spacing_mm
    spacing = np.asarray(spacing_mm, dtype=np.float64)
    shape = np.floor(extent / spacing).astype(int) + 1
    origin = centre - direction @ (spacing * (shape - 1) / 2.0)
    ref = ImageVolume(np.zeros(tuple(shape), np.float32), spacing, origin, direction)
    out = sitk.Resample(
        image.to_sitk(), ref.to_sitk(), sitk.Transform(), sitk.sitkLinear, -1000.0, sitk.sitkFloat32
    )
    return ImageVolume.from_sitk(out, {**image.metadata, "source_path": "rotated copy"})


def draw(result: MeasurementResult, out: Path) -> None:
    """Axial, coronal-ish and sagittal slices through the LV with contours and probes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assert result.image is not None
    img = result.image.array
    lab = result.labels.array
    lv = np.argwhere(lab == Label.LV_MYOCARDIUM)
    centre = np.round(lv.mean(0)).astype(int)
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.4))
    m = result.measurement
    for ax, axis in zip(axes, range(3), strict=True):
        sl = [slice(None)] * 3
        sl[axis] = slice(int(centre[axis]), int(centre[axis]) + 1)
        im2 = np.squeeze(img[tuple(sl)])
        lb2 = np.squeeze(lab[tuple(sl)])
        th2 = np.squeeze(result.thickness_mm[tuple(sl)])
        ax.imshow(im2, cmap="gray", vmin=-200, vmax=600, origin="upper")
        shown = ax.imshow(np.ma.masked_invalid(th2), cmap="viridis", vmin=4, vmax=14, alpha=0.45)
        for label, colour in ((Label.LV_BLOOD_POOL, "red"), (Label.LV_MYOCARDIUM, "lime"),
                              (Label.RV_BLOOD_POOL, "deepskyblue")):  # fmt: skip
            ax.contour(lb2 == label, levels=[0.5], colors=colour, linewidths=0.8)
        ax.set_title(f"array axis {axis} = {centre[axis]}")
        ax.set_axis_off()
    fig.colorbar(shown, ax=axes, shrink=0.7, label="wall thickness (mm)")
    fig.suptitle(
        f"real CTA (heart crop): septal {m.septal_thickness_mm:.1f} ± {m.septal_uncertainty_mm:.1f} mm, "
        f"posterior {m.posterior_wall_thickness_mm:.1f} ± {m.posterior_uncertainty_mm:.1f} mm; "
        "red LV cavity, green LV myocardium, blue RV"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DATA / "real" / "chest_cta"))
    p.add_argument("--picture", default=str(ROOT / "docs" / "img" / "real_ct_contours.png"))
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    data = Path(args.data)
    heart = load_image(data / "ct_heart_crop.nii.gz")
    cases = {
        "heart crop": heart,
        "aorta crop": load_image(data / "ct_aorta_crop.nii.gz"),
        "heart crop rotated (4, -3, 5 deg), 2 x 1.2 x 1.2 mm": rotated_copy(
            heart, (4.0, -3.0, 5.0), (2.0, 1.2, 1.2)
        ),
    }
    results = {}
    print("| case | septal (mm) | posterior (mm) | cavity (ml) | mass (g) | QC | time (s) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, img in cases.items():
        t0 = time.perf_counter()
        res = measure_wall_thickness(img)
        m = res.measurement
        results[name] = res
        print(
            f"| {name} | {m.septal_thickness_mm:.2f} ± {m.septal_uncertainty_mm:.2f} | "
            f"{m.posterior_wall_thickness_mm:.2f} ± {m.posterior_uncertainty_mm:.2f} | "
            f"{m.lv_cavity_volume_ml:.0f} | {m.lv_mass_g:.0f} | {';'.join(m.qc_flags) or 'pass'} | "
            f"{time.perf_counter() - t0:.1f} |"
        )
    draw(results["heart crop"], Path(args.picture))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
