"""Validate the measurement on a phantom cohort (seeds not used in development).

For every seed: generate the phantom, then measure (a) the truth labels with
the image (the measurement alone) and (b) the full pipeline (classical
segmenter + measurement). Prints a markdown summary (MAE, bias, per-segment
error, uncertainty calibration) and writes per-case rows as JSON.

Usage::

    .venv/bin/python scripts/validate_phantom.py --seeds 1000-1019 --out val.json
    .venv/bin/python scripts/validate_phantom.py --multiphase 3000-3002
    .venv/bin/python scripts/validate_phantom.py --cycle 3100-3105
    .venv/bin/python scripts/validate_phantom.py --hypertrophy 4000-4007

Development used seeds 0-9 only.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from typing import Any

import numpy as np

from wallthick.errors import WallthickError
from wallthick.measure import measure_labels, measure_wall_thickness
from wallthick.phantom import generate_phantom, random_spec
from wallthick.phantom.series import phase_specs
from wallthick.segment import segment_heart


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def _spec(seed: int) -> Any:
    """Every 4th case: coarser, more anisotropic voxels (0.9 x 0.9 x 1.5 mm)."""
    spec = random_spec(seed)
    if seed % 4 == 3:
        spec = spec.replace(pixel_spacing_mm=0.9, rows=160, slice_spacing_mm=1.5, slices=80)
    return spec


def _row(seed: int, mode: str, case: Any, result: Any, seconds: float) -> dict[str, Any]:
    m = result.measurement
    truth = case.truth
    seg_truth = {d["segment"]: d["mean_mm"] for d in truth["segments"]}
    return {
        "seed": seed,
        "mode": mode,
        "weak_rv": bool(case.spec.hu_rv_blood - case.spec.hu_myocardium < 110),
        "spacing": [case.spec.pixel_spacing_mm, case.spec.slice_spacing_mm],
        "septal": m.septal_thickness_mm,
        "septal_truth": truth["septal_thickness_mm"],
        "septal_unc": m.septal_uncertainty_mm,
        "posterior": m.posterior_wall_thickness_mm,
        "posterior_truth": truth["posterior_wall_thickness_mm"],
        "posterior_unc": m.posterior_uncertainty_mm,
        "cavity_ml": m.lv_cavity_volume_ml,
        "cavity_truth": truth["lv_cavity_volume_ml"],
        "mass_g": m.lv_mass_g,
        "mass_truth": truth["lv_mass_g"],
        "segments": {s.segment: s.mean_mm for s in m.segments},
        "segments_truth": seg_truth,
        "qc_flags": list(m.qc_flags),
        "septal_parts": dict(m.details.get("septal_uncertainty_parts", {})),
        "posterior_parts": dict(m.details.get("posterior_uncertainty_parts", {})),
        "septal_label": m.details.get("septal_label_mm"),
        "posterior_label": m.details.get("posterior_label_mm"),
        "seconds": seconds,
    }


def _hypertrophic_spec(seed: int) -> Any:
    """A septum of 14-20 mm (septal hypertrophy, beyond random_spec's 8-13 mm)."""
    rng = np.random.default_rng([seed, 17])
    return _spec(seed).replace(septal_mm=round(float(rng.uniform(14.0, 20.0)), 2))


def run_cohort(seeds: list[int], hypertrophy: bool = False) -> list[dict[str, Any]]:
    rows = []
    for seed in seeds:
        case = generate_phantom(_hypertrophic_spec(seed) if hypertrophy else _spec(seed))
        t0 = time.perf_counter()
        res = measure_labels(case.labels, case.image)
        rows.append(_row(seed, "truth_labels", case, res, time.perf_counter() - t0))
        t0 = time.perf_counter()
        try:
            labels = segment_heart(case.image)
            res = measure_labels(labels, case.image)
            rows.append(_row(seed, "pipeline", case, res, time.perf_counter() - t0))
        except WallthickError as exc:
            rows.append({"seed": seed, "mode": "pipeline", "error": str(exc)})
        _progress(rows[-2:])
    return rows


#: Cardiac-cycle phases of the "cycle" studies (like a retrospectively gated
#: scan reconstructed at a few phases); end-diastole at 0 % or 90 %, so the
#: phase next to it differs by a few percent of cavity volume only.
CYCLE_PHASES = (0.0, 40.0, 70.0, 90.0)


def _phase_images(seed: int, cycle: bool) -> tuple[list[Any], list[bool]]:
    base = _spec(seed)
    if cycle:
        ed = 0.0 if seed % 2 == 0 else 90.0
        specs = phase_specs(base, CYCLE_PHASES, ed)
    else:  # three phases, end-diastole in the middle
        specs = [
            base.replace(systolic_fraction=frac, phase_percent=float(10 * (2 * k + 3)))
            for k, frac in enumerate((0.7, 0.0, 0.35))
        ]
    images = []
    for spec in specs:
        img = generate_phantom(spec).image
        images.append(img.with_array(img.array, phase=f"{spec.phase_percent:g}%"))
    return images, [spec.systolic_fraction == 0.0 for spec in specs]


def run_multiphase(seeds: list[int], cycle: bool = False) -> list[dict[str, Any]]:
    """Several phases per study; was end-diastole (largest cavity) picked?"""
    rows = []
    for seed in seeds:
        phases, truth = _phase_images(seed, cycle)
        try:
            res = measure_wall_thickness(phases)
        except WallthickError as exc:
            rows.append({"seed": seed, "cycle": cycle, "ed_correct": False, "error": str(exc)})
            print(rows[-1], file=sys.stderr, flush=True)
            continue
        chosen = [p.chosen for p in res.measurement.phases]
        rows.append(
            {
                "seed": seed,
                "cycle": cycle,
                "phase": res.measurement.phase,
                "ed_correct": chosen == truth,
                "cavity_ml": [p.lv_cavity_volume_ml for p in res.measurement.phases],
            }
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def _progress(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        if "error" in r:
            print(f"seed {r['seed']} {r['mode']}: ERROR {r['error']}", file=sys.stderr, flush=True)
            continue
        print(
            f"seed {r['seed']} {r['mode']:12s} septal {r['septal'] - r['septal_truth']:+.2f} "
            f"(u {r['septal_unc']:.2f}) posterior {r['posterior'] - r['posterior_truth']:+.2f} "
            f"(u {r['posterior_unc']:.2f}) qc {r['qc_flags']} {r['seconds']:.1f}s",
            file=sys.stderr,
            flush=True,
        )


def summarise(rows: list[dict[str, Any]]) -> str:
    lines = []
    for mode in ("truth_labels", "pipeline"):
        measured = [r for r in rows if r.get("mode") == mode and "error" not in r]
        failed = [r for r in rows if r.get("mode") == mode and "error" in r]
        ok = [r for r in measured if not r["qc_flags"]]
        flagged = [r for r in measured if r["qc_flags"]]
        if not ok:
            continue
        lines.append(
            f"\n### {mode}: {len(ok)} cases passed QC, {len(flagged)} flagged by QC, "
            f"{len(failed)} raised an error\n"
        )
        for r in flagged:
            lines.append(
                f"- flagged seed {r['seed']}: septal error {r['septal'] - r['septal_truth']:+.2f} mm, "
                f"posterior {r['posterior'] - r['posterior_truth']:+.2f} mm, flags {r['qc_flags']}"
            )
        lines.append("\nOver the cases that passed QC:\n")
        lines.append(
            "| value | MAE (mm) | bias (mm) | max abs (mm) | frac abs err <= 1 u | <= 2 u "
            "| RMS(err/u) | mean u (mm) |"
        )
        lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for key in ("septal", "posterior"):
            err = np.array([r[key] - r[f"{key}_truth"] for r in ok])
            unc = np.array([r[f"{key}_unc"] for r in ok])
            z = np.abs(err) / unc
            lines.append(
                f"| {key} | {np.mean(np.abs(err)):.3f} | {np.mean(err):+.3f} | "
                f"{np.max(np.abs(err)):.3f} | {np.mean(z <= 1):.2f} | {np.mean(z <= 2):.2f} | "
                f"{np.sqrt(np.mean(z**2)):.2f} | {np.mean(unc):.2f} |"
            )
        for key, unit in (("cavity", "ml"), ("mass", "g")):
            tkey = f"{key}_truth"
            vkey = "cavity_ml" if key == "cavity" else "mass_g"
            rel = np.array([(r[vkey] - r[tkey]) / r[tkey] for r in ok])
            lines.append(f"| {key} ({unit}) | rel. MAE {np.mean(np.abs(rel)) * 100:.1f} % | "
                         f"{np.mean(rel) * 100:+.1f} % | | | | | |")  # fmt: skip
        for name, sub in (
            ("weak RV enhancement", [r for r in ok if r["weak_rv"]]),
            ("0.9 x 0.9 x 1.5 mm voxels", [r for r in ok if r["spacing"][1] > 1.2]),
        ):
            if sub:
                es = np.mean([abs(r["septal"] - r["septal_truth"]) for r in sub])
                ep = np.mean([abs(r["posterior"] - r["posterior_truth"]) for r in sub])
                lines.append(
                    f"\n{name} (n = {len(sub)}): MAE septal {es:.3f}, posterior {ep:.3f} mm"
                )
        lines.append("\nPer-segment error (mean over cases, mm): ")
        seg_err = []
        for s in range(1, 18):
            e = [r["segments"][s] - r["segments_truth"][s] for r in ok
                 if math.isfinite(r["segments"][s])]  # fmt: skip
            seg_err.append(f"{s}: {np.mean(e):+.2f}/{np.mean(np.abs(e)):.2f}")
        lines.append("bias/MAE " + ", ".join(seg_err))
        flags = sorted({f for r in ok for f in r["qc_flags"]})
        lines.append(
            f"\nQC flags raised: {flags or 'none'}; median time {np.median([r['seconds'] for r in ok]):.1f} s"
        )
    return "\n".join(lines)


def _summarise_files(paths: list[str]) -> int:
    rows: list[dict[str, Any]] = []
    mp: list[dict[str, Any]] = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        rows += data["cohort"]
        mp += data["multiphase"]
    for r in rows:  # JSON keys are strings
        for key in ("segments", "segments_truth"):
            if key in r:
                r[key] = {int(k): (math.nan if v is None else v) for k, v in r[key].items()}
    print(summarise(rows))
    if mp:
        print(
            f"\nMultiphase: ED picked right in {sum(r['ed_correct'] for r in mp)}/{len(mp)} studies"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="", help="e.g. 1000-1019")
    p.add_argument("--multiphase", default="", help="e.g. 3000-3002")
    p.add_argument(
        "--hypertrophy",
        default="",
        help="cohort seeds with a 14-20 mm septum (septal hypertrophy), e.g. 4000-4007",
    )
    p.add_argument(
        "--cycle",
        default="",
        help="multiphase studies at cardiac-cycle phases 0/40/70/90 %% (ED at 0 or 90 %%), e.g. 3100-3105",
    )
    p.add_argument("--out", default="", help="JSON file for the per-case rows")
    p.add_argument("--summarise", nargs="*", default=[], help="summarise saved JSON files instead")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.summarise:
        return _summarise_files(args.summarise)
    rows: list[dict[str, Any]] = run_cohort(_seeds(args.seeds)) if args.seeds else []
    rows += run_cohort(_seeds(args.hypertrophy), hypertrophy=True) if args.hypertrophy else []
    mp = run_multiphase(_seeds(args.multiphase)) if args.multiphase else []
    mp += run_multiphase(_seeds(args.cycle), cycle=True) if args.cycle else []
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump({"cohort": rows, "multiphase": mp}, fh, indent=1, default=str)
    print(summarise(rows))
    if mp:
        print(
            f"\nMultiphase: ED picked right in {sum(r['ed_correct'] for r in mp)}/{len(mp)} studies"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
