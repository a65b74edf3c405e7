"""Compare HU statistics of the phantom with the real CTA in ../shared/data.

The same intensity/distance rules pick the regions in both images, so neither
uses labels the other does not have:

* blood pool: voxels >= 3 mm inside the largest bright (250..700 HU after a 1-voxel
  Gaussian) component, i.e. the core of the largest enhanced chamber;
* myocardium: 40..220 HU (smoothed), 2-10 mm from that bright blood, >= 2 mm from
  fat/lung (< -30 HU smoothed) -- the wall around the chamber;
* fat: -160..-40 HU (smoothed), within 20 mm of the bright blood, >= 1.5 mm from
  lung (< -400) and from tissue (> 0);
* noise: standard deviation of the raw values in a 7x7x7-mm cube at the deepest
  point of the blood pool (a uniform region).

The phantom is measured at its native grid and after resampling to the real
scan's 1.5 mm voxels (Gaussian pre-filter, linear interpolation).

Usage::

    .venv/bin/python benchmarks/phantom_hu_stats.py [--seed 0] [--real PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from wallthick.labels import Label
from wallthick.phantom import random_spec
from wallthick.phantom.generate import generate_phantom
from wallthick.volume import ImageVolume

REAL = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "real"
    / "chest_cta"
    / "ct_heart_crop.nii.gz"
)


def region_stats(vol: ImageVolume) -> dict[str, tuple[float, float, int]]:
    """(mean, SD, n) of blood pool, myocardium, fat and noise in ``vol``."""
    a = vol.array.astype(np.float64)
    sp = vol.spacing_mm
    soft = ndimage.gaussian_filter(a, 1.0)
    bright = (soft > 250) & (soft < 700)  # contrast blood, not bone
    lab, n = ndimage.label(bright)
    sizes = ndimage.sum(bright, lab, range(1, n + 1))
    chamber = lab == (1 + int(np.argmax(sizes)))
    inside = ndimage.distance_transform_edt(chamber, sampling=sp)
    blood = inside >= 3.0
    to_blood = ndimage.distance_transform_edt(~bright, sampling=sp)
    low = soft < -30
    to_low = ndimage.distance_transform_edt(~low, sampling=sp)
    myo = (soft > 40) & (soft < 220) & (to_blood >= 2) & (to_blood <= 10) & (to_low >= 2)
    to_lung = ndimage.distance_transform_edt(~(soft < -400), sampling=sp)
    to_tissue = ndimage.distance_transform_edt(~(soft > 0), sampling=sp)
    fat = (soft > -160) & (soft < -40) & (to_blood <= 20) & (to_lung >= 1.5) & (to_tissue >= 1.5)
    center = np.unravel_index(int(np.argmax(inside)), a.shape)
    half = np.maximum(np.round(3.5 / sp).astype(int), 1)
    cube = a[tuple(slice(c - h, c + h + 1) for c, h in zip(center, half, strict=True))]

    def s(mask: np.ndarray) -> tuple[float, float, int]:
        v = a[mask]
        return (float(v.mean()), float(v.std()), int(v.size)) if v.size else (np.nan, np.nan, 0)

    return {
        "blood pool": s(blood),
        "myocardium": s(myo),
        "fat": s(fat),
        "noise (SD in blood cube)": (float(cube.mean()), float(cube.std()), int(cube.size)),
    }


def resample(vol: ImageVolume, spacing_mm: float) -> ImageVolume:
    img = vol.to_sitk()
    sigma = [max(spacing_mm**2 - s**2, 0.0) ** 0.5 / 2.355 for s in img.GetSpacing()]
    img = sitk.SmoothingRecursiveGaussian(img, sigma) if max(sigma) > 0 else img
    size = [int(n * s / spacing_mm) for n, s in zip(img.GetSize(), img.GetSpacing(), strict=True)]
    out = sitk.Resample(
        img,
        size,
        sitk.Transform(),
        sitk.sitkLinear,
        img.GetOrigin(),
        (spacing_mm,) * 3,
        img.GetDirection(),
        -1000.0,
        sitk.sitkFloat32,
    )
    return ImageVolume.from_sitk(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real", type=Path, default=REAL)
    args = parser.parse_args()
    real = ImageVolume.from_sitk(sitk.ReadImage(str(args.real)))
    case = generate_phantom(random_spec(args.seed))
    columns = {
        "real CTA (1.5 mm)": region_stats(real),
        f"phantom seed {args.seed} (native)": region_stats(case.image),
        f"phantom seed {args.seed} (1.5 mm)": region_stats(resample(case.image, 1.5)),
    }
    spec = case.spec
    lab = case.labels.array
    img = case.image.array
    by_label = {
        "blood pool": img[ndimage.binary_erosion(lab == Label.LV_BLOOD_POOL, iterations=3)],
        "myocardium": img[ndimage.binary_erosion(lab == Label.LV_MYOCARDIUM, iterations=2)],
    }
    print("| region | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for region in next(iter(columns.values())):
        cells = [
            f"{m:.0f} ± {sd:.0f} (n={n})" for m, sd, n in (c[region] for c in columns.values())
        ]
        print(f"| {region} | " + " | ".join(cells) + " |")
    print()
    print(
        f"phantom spec: LV blood {spec.hu_lv_blood:.0f}, myocardium {spec.hu_myocardium:.0f}, "
        f"fat {spec.hu_fat:.0f}, noise SD {spec.noise_sd_hu:.0f} HU "
        f"(correlation {spec.noise_correlation_mm:.2f} mm), PSF FWHM {spec.psf_fwhm_mm:.2f} mm"
    )
    for name, v in by_label.items():
        print(f"phantom by label, {name}: {v.mean():.0f} ± {v.std():.0f}")


if __name__ == "__main__":
    main()
