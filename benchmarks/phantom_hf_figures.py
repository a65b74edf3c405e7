"""Pictures of the heart-failure phantom in docs/img: a dilated heart with RV, RA
and coronary-sinus leads, metal streaks and weak contrast.

Usage::

    .venv/bin/python benchmarks/phantom_hf_figures.py [--seed 5011] [--out docs/img]

The spec is ``random_hf_spec(seed)`` (development seed) with all three leads,
ordinary streaks, late contrast (LV blood 230 HU, RV 60 HU above myocardium)
and 0.75 x 0.75 x 1 mm voxels, so every feature is in one picture.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from wallthick.phantom import PhantomCase, PhantomSpec, generate_phantom, random_hf_spec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from phantom_figures import WINDOW, contours, reformat

ROOT = Path(__file__).resolve().parents[1]


def figure_spec(seed: int) -> PhantomSpec:
    spec = random_hf_spec(seed)
    spec = spec.replace(
        leads=("rv", "ra", "cs"),
        streaks="ordinary",
        hu_lv_blood=230.0,
        hu_rv_blood=round(spec.hu_myocardium + 60.0, 2),
    )
    fov, z_range = spec.rows * spec.pixel_spacing_mm, spec.slices * spec.slice_spacing_mm
    spec = spec.replace(
        pixel_spacing_mm=0.75,
        rows=int(np.ceil(fov / 0.75)),
        slice_spacing_mm=1.0,
        slices=int(np.ceil(z_range)),
    )
    return spec


def _slice_of(case: PhantomCase, point: np.ndarray) -> int:
    return int(round(float(case.image.world_to_index(np.asarray(point))[0])))


def axial_figure(case: PhantomCase, out: Path) -> None:
    """Mid-septal level (RV lead), with labels, and the AV-groove level (CS lead)."""
    leads = {d["kind"]: np.array(d["centre_line_mm"]) for d in case.truth["leads"]}
    k_rv = _slice_of(case, leads["rv"][len(leads["rv"]) // 5])
    k_cs = _slice_of(case, leads["cs"][len(leads["cs"]) // 3])
    fig, axs = plt.subplots(1, 3, figsize=(18, 6.2))
    for ax, k, title in (
        (axs[0], k_rv, f"axial slice {k_rv}: RV lead on the septum, streaks"),
        (axs[1], k_rv, "labels: the lead is not myocardium (green)"),
        (axs[2], k_cs, f"axial slice {k_cs}: CS lead in the lateral AV groove"),
    ):
        ax.imshow(case.image.array[k], **WINDOW)
        ax.set_title(title)
        ax.set_axis_off()
    contours(axs[1], case.labels.array[k_rv])
    t, s = case.truth, case.spec
    fig.suptitle(
        f"dilated LV {t['lv_cavity_volume_ml']:.0f} ml, septal {t['septal_thickness_mm']:.1f} mm, "
        f"posterior {t['posterior_wall_thickness_mm']:.1f} mm; LV blood {s.hu_lv_blood:.0f} HU, "
        f"RV {s.hu_rv_blood - s.hu_myocardium:.0f} HU above myocardium; leads "
        f"{', '.join(s.leads)} ({s.lead_diameter_mm:.1f} mm, {s.lead_hu:.0f} HU)"
    )
    fig.tight_layout(rect=(0.0, 0.0, 1.0, 0.95))
    fig.savefig(out, dpi=80)
    plt.close(fig)


def short_axis_figure(case: PhantomCase, out: Path, size_mm: float = 160.0) -> None:
    """Basal, mid and apical short axis (from the apex, septum left) and a long axis."""
    frame = case.truth["lv_frame"]
    base, apex = np.array(frame["base_center_mm"]), np.array(frame["endocardial_apex_mm"])
    septal, inferior = np.array(frame["septal_direction"]), np.array(frame["inferior_direction"])
    fig, axs = plt.subplots(1, 4, figsize=(22, 5.9))
    planes = [(f"short axis, {name}", base + f * (apex - base), -septal, inferior)
              for name, f in (("basal", 0.17), ("mid", 0.5), ("apical", 0.78))]  # fmt: skip
    planes.append(("long axis: apex left, septum and RV below", 0.5 * (base + apex),
                   np.array(frame["long_axis"]), septal))  # fmt: skip
    for ax, (title, centre, u, v) in zip(axs, planes, strict=True):
        ax.imshow(reformat(case.image, centre, u, v, size_mm=size_mm), **WINDOW)
        contours(ax, reformat(case.labels, centre, u, v, size_mm=size_mm, order=0))
        ax.set_title(title)
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(out, dpi=70)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=5011)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    case = generate_phantom(figure_spec(args.seed))
    axial_figure(case, args.out / "phantom_hf_axial.png")
    short_axis_figure(case, args.out / "phantom_hf_short_axis.png")


if __name__ == "__main__":
    main()
