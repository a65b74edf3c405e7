"""Make the phantom screenshots in docs/img (axial slice and short-axis reformats).

Usage::

    .venv/bin/python benchmarks/phantom_figures.py [--seed 7] [--out docs/img]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from wallthick.labels import LABEL_COLORS, Label
from wallthick.phantom import generate_phantom, random_spec
from wallthick.volume import ImageVolume, LabelVolume

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "chest_cta" / "ct_heart_crop.nii.gz"
WINDOW = dict(cmap="gray", vmin=-250, vmax=650)


def reformat(vol: ImageVolume | LabelVolume, center, u, v, size_mm=110.0, pixel_mm=0.4, order=1):  # type: ignore[no-untyped-def]
    """Sample ``vol`` on the plane ``center + a u + b v`` (a: columns, b: rows)."""
    n = int(size_mm / pixel_mm)
    s = (np.arange(n) - n / 2) * pixel_mm
    b, a = np.meshgrid(s, s, indexing="ij")
    pts = np.asarray(center) + a[..., None] * np.asarray(u) + b[..., None] * np.asarray(v)
    idx = vol.geometry.world_to_index(pts)
    return ndimage.map_coordinates(
        vol.array, np.moveaxis(idx, -1, 0), order=order, cval=-1000 if order else 0
    )


def contours(ax, lab: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    for label in (
        Label.LV_MYOCARDIUM,
        Label.LV_BLOOD_POOL,
        Label.RV_BLOOD_POOL,
        Label.LEFT_ATRIUM,
        Label.AORTA,
    ):
        if (lab == label).any():
            ax.contour(lab == label, levels=[0.5], colors=[LABEL_COLORS[label][:3]], linewidths=0.8)


def axial_figure(case, out: Path) -> None:  # type: ignore[no-untyped-def]
    frame = case.truth["lv_frame"]
    base, apex = np.array(frame["base_center_mm"]), np.array(frame["endocardial_apex_mm"])
    mid = base + 0.45 * (apex - base)
    k = int(round(case.image.world_to_index(mid)[0]))
    fig, axs = plt.subplots(1, 3, figsize=(16.5, 5.8))
    axs[0].imshow(case.image.array[k], **WINDOW)
    axs[0].set_title(f"phantom, axial slice {k} ({case.image.spacing_mm[1]:.2f} mm pixels)")
    axs[1].imshow(case.image.array[k], **WINDOW)
    contours(axs[1], case.labels.array[k])
    axs[1].set_title("labels: LV myocardium (green), cavity incl. papillary (red), RV (blue)")
    if REAL.is_file():
        real = sitk.GetArrayFromImage(sitk.ReadImage(str(REAL)))
        axs[2].imshow(real[38], **WINDOW)
        axs[2].set_title("real CTA (shared/data, 1.5 mm), for comparison")
    for ax in axs:
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def short_axis_figure(case, out: Path) -> None:  # type: ignore[no-untyped-def]
    frame = case.truth["lv_frame"]
    base, apex = np.array(frame["base_center_mm"]), np.array(frame["endocardial_apex_mm"])
    septal, inferior = np.array(frame["septal_direction"]), np.array(frame["inferior_direction"])
    long_axis = np.array(frame["long_axis"])
    # viewed from the apex, anterior up and septum left (AHA convention)
    u, v = -septal, inferior
    fig, axs = plt.subplots(1, 4, figsize=(20, 5.6))
    for ax, (name, frac) in zip(
        axs[:3], (("basal", 0.17), ("mid", 0.5), ("apical", 0.78)), strict=True
    ):
        center = base + frac * (apex - base)
        img = reformat(case.image, center, u, v)
        lab = reformat(case.labels, center, u, v, order=0)
        ax.imshow(img, **WINDOW)
        contours(ax, lab)
        ax.set_title(f"short axis, {name} ({frac:.0%} base->apex)")
        ax.set_axis_off()
    # long-axis view through septum and lateral wall
    center = base + 0.5 * (apex - base)
    img = reformat(case.image, center, long_axis, septal, size_mm=140.0)
    axs[3].imshow(img, **WINDOW)
    contours(axs[3], reformat(case.labels, center, long_axis, septal, size_mm=140.0, order=0))
    axs[3].set_title("long axis: apex left, base right, septum and RV below")
    axs[3].set_axis_off()
    t = case.truth
    fig.suptitle(
        f"seed {case.spec.seed}: septal {t['septal_thickness_mm']:.2f} mm, posterior "
        f"{t['posterior_wall_thickness_mm']:.2f} mm, cavity {t['lv_cavity_volume_ml']:.0f} ml, "
        f"mass {t['lv_mass_g']:.0f} g"
    )
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    case = generate_phantom(random_spec(args.seed))
    axial_figure(case, args.out / "phantom_axial.png")
    short_axis_figure(case, args.out / "phantom_short_axis.png")


if __name__ == "__main__":
    main()
