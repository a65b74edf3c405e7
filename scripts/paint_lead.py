"""Paint a synthetic transvenous lead, with metal streaks, into a real CT.

The lead runs through the right ventricle along the septum, from near the RV
apex past the base towards the tricuspid valve, at a small gap from the
septum's RV surface (placed from the LV frame and labels of a measurement of
the clean scan). It is a tube of ``diameter_mm`` (1.8 mm) at ``lead_hu``
(3000 HU), rendered with partial volume (each voxel takes the fraction of its
volume inside the tube, from 4 x 4 x 4 sub-samples) and a small blur.

Streaks are drawn in each axial plane (the acquisition plane), radiating from
the lead's cross-section: straight bands through the lead centre, dark and
bright in turn, about 2 mm wide, decaying with the distance from the lead.
Half of them point towards the LV, so they cross the septum where its edges
are measured. ``--streaks shock`` is a shock coil: a 3 mm coil over the apical
two thirds of the lead and streaks 2.5 x as strong, 1.5 x as many.

Usage::

    .venv/bin/python scripts/paint_lead.py --streaks ordinary --out lead.nii.gz
    .venv/bin/python scripts/paint_lead.py --table       # measure all variants

The data folder is ``$WALLTHICK_TEST_DATA/real/chest_cta`` (``--data``).
"""

from __future__ import annotations

import argparse
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from wallthick.errors import WallthickError
from wallthick.io import load_image
from wallthick.labels import Label
from wallthick.measure import MeasurementResult, measure_wall_thickness
from wallthick.volume import ImageVolume

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("WALLTHICK_TEST_DATA", ROOT.parent / "shared" / "data"))

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LeadSpec:
    """How the lead and its streaks look."""

    diameter_mm: float = 1.8
    lead_hu: float = 3000.0
    gap_mm: float = 1.0  # from the septum's RV surface to the lead's surface
    streaks: str = "ordinary"  # "none" | "ordinary" | "shock"
    n_streaks: int = 6  # lines through the lead (each gives two opposite rays)
    streak_hu: float = 550.0  # band amplitude next to the lead
    streak_decay_mm: float = 40.0
    streak_sigma_mm: float = 0.8
    seed: int = 0

    def strength(self) -> tuple[float, int, float]:
        """Streak amplitude, number of lines and coil diameter for the kind."""
        if self.streaks == "shock":
            return 2.5 * self.streak_hu, int(round(1.5 * self.n_streaks)), 3.0
        if self.streaks == "ordinary":
            return self.streak_hu, self.n_streaks, self.diameter_mm
        return 0.0, 0, self.diameter_mm


def lead_path(clean: MeasurementResult, spec: LeadSpec) -> FloatArray:
    """Lead centre line (n, 3) LPS mm: in the RV along the septum, apex to base
    and 20 mm on towards the tricuspid valve."""
    f = clean.frame
    labels = clean.labels
    axis, sep = f.long_axis, f.septal_direction
    length = float(np.linalg.norm(f.base_center_mm - f.apex_mm))
    radius = 0.5 * spec.diameter_mm
    points = []
    for frac in np.arange(0.1, 0.96, 0.05):
        p = f.apex_mm + frac * length * axis
        r = np.arange(0.0, 60.0, 0.25)
        idx = np.round(labels.world_to_index(p + r[:, None] * sep)).astype(int)
        ok = np.all((idx >= 0) & (idx < np.asarray(labels.shape)), axis=1)
        lab = np.full(r.size, -1)
        lab[ok] = labels.array[tuple(idx[ok].T)]
        myo = np.flatnonzero(lab == Label.LV_MYOCARDIUM)
        if myo.size == 0:
            continue
        rv = np.flatnonzero((lab == Label.RV_BLOOD_POOL) & (np.arange(r.size) > myo[0]))
        if rv.size == 0:
            continue
        points.append(p + (r[rv[0]] + spec.gap_mm + radius) * sep)
    if len(points) < 5:
        raise ValueError("No RV blood beside the septum: cannot place the lead.")
    pts = np.asarray(points)
    pts = ndimage.uniform_filter1d(pts, 3, axis=0, mode="nearest")
    direction = pts[-1] - pts[-4]
    direction /= np.linalg.norm(direction)
    tail = pts[-1] + np.arange(2.0, 21.0, 2.0)[:, None] * direction
    return np.vstack([pts, tail])


def _distance_to_path(points: FloatArray, path: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Distance of each point to the polyline and the path parameter (0..1) there."""
    best = np.full(points.shape[0], np.inf)
    where = np.zeros(points.shape[0])
    seg_len = np.linalg.norm(np.diff(path, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    for k in range(path.shape[0] - 1):
        a, d = path[k], path[k + 1] - path[k]
        t = np.clip(((points - a) @ d) / float(d @ d), 0.0, 1.0)
        dist = np.linalg.norm(points - (a + t[:, None] * d), axis=1)
        closer = dist < best
        best[closer] = dist[closer]
        where[closer] = (cum[k] + t[closer] * seg_len[k]) / cum[-1]
    return best, where


def _lead_fraction(image: ImageVolume, path: FloatArray, spec: LeadSpec) -> FloatArray:
    """Fraction of each voxel inside the tube (partial volume), on the image grid."""
    _, _, coil = spec.strength()
    frac = np.zeros(image.shape)
    lo = np.floor(image.world_to_index(path).min(axis=0) - 4 / image.spacing_mm).astype(int)
    hi = np.ceil(image.world_to_index(path).max(axis=0) + 4 / image.spacing_mm).astype(int)
    lo, hi = np.maximum(lo, 0), np.minimum(hi + 1, np.asarray(image.shape))
    grid = np.stack(
        np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi, strict=True)], indexing="ij"), -1
    ).reshape(-1, 3)
    sub = (np.arange(4) + 0.5) / 4 - 0.5
    offsets = np.stack(np.meshgrid(sub, sub, sub, indexing="ij"), -1).reshape(-1, 3)
    inside = np.zeros(grid.shape[0])
    for off in offsets:
        dist, where = _distance_to_path(image.index_to_world(grid + off), path)
        radius = np.where(where < 0.6, 0.5 * coil, 0.5 * spec.diameter_mm)
        inside += dist <= radius
    frac[tuple(grid.T)] = inside / offsets.shape[0]
    return frac


def _streaks(
    image: ImageVolume, path: FloatArray, clean: MeasurementResult, spec: LeadSpec
) -> FloatArray:
    """Additive streak pattern (HU): bands through the lead in each axial plane."""
    amp, n_lines, _ = spec.strength()
    if n_lines == 0:
        return np.zeros(image.shape)
    rng = np.random.default_rng(spec.seed)
    lv = 0.5 * (clean.frame.apex_mm + clean.frame.base_center_mm)
    to_lv = np.arctan2(*(lv - path.mean(axis=0))[[1, 0]])
    half = n_lines // 2
    angles = np.concatenate(
        [to_lv + np.deg2rad(rng.uniform(-25, 25, half)), rng.uniform(0, np.pi, n_lines - half)]
    )
    signs = np.where(np.arange(n_lines) % 2 == 0, -1.0, 1.0)
    gains = rng.uniform(0.6, 1.0, n_lines)
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in image.shape], indexing="ij"), -1)
    world = image.index_to_world(idx.reshape(-1, 3)).reshape(*image.shape, 3)
    z = world[..., 2]
    order = np.argsort(path[:, 2])
    zp = path[order, 2]
    cx = np.interp(z, zp, path[order, 0])
    cy = np.interp(z, zp, path[order, 1])
    present = (z >= zp[0]) & (z <= zp[-1])
    dx, dy = world[..., 0] - cx, world[..., 1] - cy
    r = np.hypot(dx, dy)
    out = np.zeros(image.shape)
    drift = np.deg2rad(0.3) * (z - zp.mean())  # streak angles turn slowly along z
    for ang, sign, gain in zip(angles, signs, gains, strict=True):
        a = ang + drift
        perp = np.abs(dx * np.sin(a) - dy * np.cos(a))
        band = np.exp(-0.5 * (perp / spec.streak_sigma_mm) ** 2)
        out += sign * gain * amp * band * np.exp(-r / spec.streak_decay_mm)
    out *= np.clip((r - 1.0) / 2.0, 0.0, 1.0)  # the lead itself is drawn separately
    return np.where(present, out, 0.0)


def paint_lead(image: ImageVolume, clean: MeasurementResult, spec: LeadSpec) -> ImageVolume:
    """``image`` with the lead (partial volume) and its streaks added."""
    path = lead_path(clean, spec)
    frac = _lead_fraction(image, path, spec)
    a = image.array.astype(np.float64)
    painted = (1.0 - frac) * a + frac * spec.lead_hu
    sigma = 0.5 / image.spacing_mm  # a little blur of the metal (PSF)
    painted = a + ndimage.gaussian_filter(painted - a, sigma)
    painted += _streaks(image, path, clean, spec)
    meta = {**image.metadata, "source_path": f"painted lead ({spec.streaks} streaks)"}
    return ImageVolume(
        painted.astype(np.float32), image.spacing_mm, image.origin_mm, image.direction, meta
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DATA / "real" / "chest_cta"))
    p.add_argument("--streaks", choices=["none", "ordinary", "shock"], default="ordinary")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="write the painted image here (.nii.gz)")
    p.add_argument("--table", action="store_true", help="measure clean and all three variants")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    heart = load_image(Path(args.data) / "ct_heart_crop.nii.gz")
    clean = measure_wall_thickness(heart)
    kinds = ["none", "ordinary", "shock"] if args.table else [args.streaks]
    m0 = clean.measurement
    print("| case | septal (mm) | posterior (mm) | cavity (ml) | status | QC flags |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| clean | {m0.septal_thickness_mm:.2f} ± {m0.septal_uncertainty_mm:.2f} | "
        f"{m0.posterior_wall_thickness_mm:.2f} ± {m0.posterior_uncertainty_mm:.2f} | "
        f"{m0.lv_cavity_volume_ml:.0f} | {m0.status} | {';'.join(m0.qc_flags) or '-'} |"
    )
    for kind in kinds:
        painted = paint_lead(heart, clean, LeadSpec(streaks=kind, seed=args.seed))
        if args.out and not args.table:
            import SimpleITK as sitk

            sitk.WriteImage(painted.to_sitk(), args.out)
        try:
            m = measure_wall_thickness(painted).measurement
        except WallthickError as exc:  # the table reports a refusal
            print(f"| lead, {kind} streaks | refused: {exc} | | | | |")
            continue
        print(
            f"| lead, {kind} streaks | {m.septal_thickness_mm:.2f} ± {m.septal_uncertainty_mm:.2f} | "
            f"{m.posterior_wall_thickness_mm:.2f} ± {m.posterior_uncertainty_mm:.2f} | "
            f"{m.lv_cavity_volume_ml:.0f} | {m.status} | {';'.join(m.qc_flags) or '-'} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
