"""Validate the pipeline on a blind cohort of the heart-failure population.

One command generates and scores a cohort of :func:`wallthick.phantom.random_hf_spec`
studies (dilated hearts, transvenous leads with metal streaks, weak contrast,
slices 0.5-2.5 mm) through the pipeline (``segment_heart`` + ``measure_labels``,
as ``scripts/validate_phantom.py``). Every 10th seed (seed % 10 == 9) is a
ten-phase retrospective study (0-90 % or 5-95 %, end-diastole at the first or
last phase, reconstructed at >= 2 mm slices and >= 1 mm pixels) measured
with ``measure_wall_thickness`` on all ten phases.

Reported (markdown): MAE per wall, errors > 0.6 mm and whether 3 u covers
them, how many series pass QC, coverage of the reported 1-sigma u per wall and
subgroup (lead, dilated, weak RV, slices >= 2 mm), and for ten-phase studies
whether end-diastole was picked right (the chosen phase's true cavity volume
within 1 % of the true end-diastolic volume).

Usage::

    .venv/bin/python scripts/validate_hf.py --seeds 5000-5019 --out hf_dev.json   # development
    .venv/bin/python scripts/validate_hf.py --seeds 6000-6039 --out hf_blind.json # blind, once
    .venv/bin/python scripts/validate_hf.py --summarise hf_blind.json

Development used seeds 5000-5019 only; 6000-6039 are blind.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from wallthick.errors import WallthickError
from wallthick.measure import measure_labels, measure_wall_thickness
from wallthick.phantom import PhantomSpec, generate_phantom, random_hf_spec
from wallthick.phantom.series import TEN_PHASE_GRID_MM, coarser_grid, phase_specs
from wallthick.segment import segment_heart

WALLS = (("septal", "septal_thickness_mm"), ("posterior", "posterior_wall_thickness_mm"))
SUBGROUPS = ("all", "lead", "dilated", "weak_rv", "slices_ge_2mm")


def subgroups(spec: PhantomSpec, cavity_ml: float) -> dict[str, bool]:
    """Subgroup membership (dilated: end-diastolic cavity >= 120 ml and EF <= 35 %)."""
    ef = spec.ejection_fraction
    return {
        "lead": bool(spec.leads),
        "dilated": cavity_ml >= 120.0 and ef is not None and ef <= 0.35,
        "weak_rv": spec.hu_rv_blood - spec.hu_myocardium <= 100.0,
        "slices_ge_2mm": spec.slice_spacing_mm >= 2.0,
    }


def _describe(spec: PhantomSpec) -> dict[str, Any]:
    return {
        "leads": list(spec.leads),
        "streaks": spec.streaks,
        "slice_mm": spec.slice_spacing_mm,
        "pixel_mm": spec.pixel_spacing_mm,
        "lv_blood_hu": spec.hu_lv_blood,
        "rv_above_myo_hu": round(spec.hu_rv_blood - spec.hu_myocardium, 1),
        "septal_mm": spec.septal_mm,
    }


def _measured(m: Any, truth: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"qc_flags": list(m.failed_criteria), "status": m.status}
    for wall, key in WALLS:
        value = getattr(m, key)
        unc = getattr(m, wall + "_uncertainty_mm")
        out[wall] = None if value is None or not math.isfinite(value) else float(value)
        out[wall + "_truth"] = truth[key]
        out[wall + "_unc"] = None if unc is None or not math.isfinite(unc) else float(unc)
    out["cavity_ml"] = m.lv_cavity_volume_ml
    out["cavity_truth"] = truth["lv_cavity_volume_ml"]
    return out


def run_single(seed: int) -> dict[str, Any]:
    spec = random_hf_spec(seed)
    t0 = time.perf_counter()
    case = generate_phantom(spec)
    row: dict[str, Any] = {"seed": seed, "kind": "single", **_describe(spec)}
    row.update(subgroups(spec, case.truth["lv_cavity_volume_ml"]))
    t1 = time.perf_counter()
    try:
        labels = segment_heart(case.image)
        row.update(_measured(measure_labels(labels, case.image).measurement, case.truth))
    except WallthickError as exc:
        row["error"] = str(exc)
    row["seconds"] = {"generate": t1 - t0, "pipeline": time.perf_counter() - t1}
    return row


def ten_phase_specs(seed: int) -> tuple[list[PhantomSpec], float]:
    """The ten phases of a retrospective study and its end-diastolic phase."""
    spec = coarser_grid(random_hf_spec(seed), *TEN_PHASE_GRID_MM)
    offset = 5 if seed % 20 == 19 else 0
    phases = [offset + 10 * i for i in range(10)]
    ed = float(phases[-1] if (seed // 10) % 2 else phases[0])
    return phase_specs(spec, phases, ed), ed


def run_ten_phase(seed: int) -> dict[str, Any]:
    specs, ed = ten_phase_specs(seed)
    t0 = time.perf_counter()
    images, volumes = [], []
    truths = []
    for spec in specs:
        case = generate_phantom(spec)
        images.append(case.image.with_array(case.image.array, phase=f"{spec.phase_percent:g}%"))
        truths.append(case.truth)
    volumes = [t["lv_cavity_volume_ml"] for t in truths]
    ed_index = [s.phase_percent for s in specs].index(ed)
    ed_spec, ed_truth = specs[ed_index], truths[ed_index]
    row: dict[str, Any] = {"seed": seed, "kind": "ten_phase", **_describe(specs[0])}
    row.update(subgroups(ed_spec, ed_truth["lv_cavity_volume_ml"]))
    row.update(ed_phase=ed, true_cavity_ml=volumes)
    t1 = time.perf_counter()
    try:
        res = measure_wall_thickness(images)
    except WallthickError as exc:
        row.update(error=str(exc), ed_correct=False)
    else:
        chosen = [i for i, p in enumerate(res.measurement.phases) if p.chosen][0]
        row["chosen_phase"] = specs[chosen].phase_percent
        row["ed_correct"] = abs(volumes[chosen] - max(volumes)) <= 0.01 * max(volumes)
        row["measured_cavity_ml"] = [p.lv_cavity_volume_ml for p in res.measurement.phases]
        row.update(_measured(res.measurement, truths[chosen]))
    row["seconds"] = {"generate": t1 - t0, "pipeline": time.perf_counter() - t1}
    return row


def _progress(r: dict[str, Any]) -> None:
    if "error" in r:
        print(f"seed {r['seed']} {r['kind']}: ERROR {r['error']}", file=sys.stderr, flush=True)
        return
    parts = [f"seed {r['seed']} {r['kind']}"]
    for wall, _ in WALLS:
        if r[wall] is None:
            parts.append(f"{wall} -")
        else:
            parts.append(
                f"{wall} {r[wall] - r[wall + '_truth']:+.2f} (u {r[wall + '_unc'] or math.nan:.2f})"
            )
    parts.append(f"qc {r['qc_flags']}")
    if r["kind"] == "ten_phase":
        parts.append(f"ED {r['chosen_phase']:g}/{r['ed_phase']:g} right={r['ed_correct']}")
    parts.append(f"{r['seconds']['generate']:.0f}+{r['seconds']['pipeline']:.0f} s")
    print(" ".join(parts), file=sys.stderr, flush=True)


def _errors(rows: list[dict[str, Any]], wall: str) -> tuple[np.ndarray, np.ndarray]:
    ok = [r for r in rows if r.get(wall) is not None]
    err = np.array([r[wall] - r[wall + "_truth"] for r in ok])
    unc = np.array([r[wall + "_unc"] if r[wall + "_unc"] else math.nan for r in ok])
    return err, unc


def _header(*columns: str) -> list[str]:
    """A markdown table header."""
    return ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]


def coverage_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = _header(
        "subgroup", "wall", "n studies", "n with value", "MAE (mm)", "bias (mm)",
        "max abs (mm)", "frac <= 1u", "frac <= 2u", "max abs/u", "mean u (mm)",
    )  # fmt: skip
    for group in SUBGROUPS:
        sub = [r for r in rows if group == "all" or r.get(group)]
        for wall, _ in WALLS:
            err, unc = _errors(sub, wall)
            if err.size == 0:
                lines.append(f"| {group} | {wall} | {len(sub)} | 0 | | | | | | | |")
                continue
            z = np.abs(err) / unc
            lines.append(
                f"| {group} | {wall} | {len(sub)} | {err.size} | {np.mean(np.abs(err)):.2f} | "
                f"{np.mean(err):+.2f} | {np.max(np.abs(err)):.2f} | {np.mean(z <= 1):.2f} | "
                f"{np.mean(z <= 2):.2f} | {np.nanmax(z):.1f} | {np.nanmean(unc):.2f} |"
            )
    return lines


def study_table(rows: list[dict[str, Any]]) -> list[str]:
    """One line per study: what it is and its errors (error / u)."""
    lines = _header(
        "seed", "kind", "leads (streaks)", "LV / RV-myo (HU)", "pixel x slice (mm)",
        "subgroups", "septal err (u)", "posterior err (u)", "QC",
    )  # fmt: skip
    for r in rows:
        if r["kind"] == "crashed":
            lines.append(f"| {r['seed']} | crashed | | | | | | | {r['error'][:60]} |")
            continue
        cells = []
        for wall, _ in WALLS:
            v, u = r.get(wall), r.get(wall + "_unc")
            cells.append(
                "-" if v is None else f"{v - r[wall + '_truth']:+.2f} ({u or math.nan:.2f})"
            )
        leads = f"{'+'.join(r['leads'])} ({r['streaks']})" if r["leads"] else "-"
        qc = "error" if "error" in r else (";".join(r["qc_flags"]) or "passed")
        groups = ", ".join(g for g in SUBGROUPS[1:] if r.get(g)) or "-"
        lines.append(
            f"| {r['seed']} | {r['kind']} | {leads} | {r['lv_blood_hu']:.0f} / "
            f"{r['rv_above_myo_hu']:.0f} | {r['pixel_mm']:.2f} x {r['slice_mm']:g} | {groups} "
            f"| {cells[0]} | {cells[1]} | {qc} |"
        )
    return lines


def summarise(rows: list[dict[str, Any]]) -> str:
    n = len(rows)
    failed = [r for r in rows if "error" in r]
    passed = [r for r in rows if "error" not in r and not r["qc_flags"]]
    lines = [
        f"Studies: {n} ({sum(r['kind'] == 'ten_phase' for r in rows)} ten-phase); "
        + ", ".join(f"{g} {sum(bool(r.get(g)) for r in rows)}" for g in SUBGROUPS[1:]),
        f"\nEvery series is a valid scan. Passed QC: {len(passed)}/{n}; flagged by QC: "
        f"{n - len(passed) - len(failed)}; refused with an error: {len(failed)}.",
        "\nAll measured values (QC-flagged included):\n",
        *coverage_table(rows),
    ]
    if passed:
        lines += ["\nOnly series that passed QC:\n", *coverage_table(passed)]
    big = [
        (r, wall)
        for r in rows
        for wall, _ in WALLS
        if r.get(wall) is not None and abs(r[wall] - r[wall + "_truth"]) > 0.6
    ]
    covered = sum(abs(r[w] - r[w + "_truth"]) <= 3 * (r[w + "_unc"] or math.nan) for r, w in big)
    in_ok = sum(not r["qc_flags"] for r, _ in big)
    lines.append(
        f"\nErrors > 0.6 mm: {len(big)} ({covered} covered by 3 u; {in_ok} in series that "
        "passed QC)"
    )
    for r, wall in big:
        err, unc = r[wall] - r[wall + "_truth"], r[wall + "_unc"] or math.nan
        groups = ",".join(g for g in SUBGROUPS[1:] if r.get(g)) or "-"
        lines.append(
            f"- seed {r['seed']} {wall}: {err:+.2f} mm, u {unc:.2f} mm, "
            f"{'covered' if abs(err) <= 3 * unc else 'NOT covered'} by 3 u; {groups}; "
            f"QC {';'.join(r['qc_flags']) or 'passed'}"
        )
    missing = [(r["seed"], w) for r in rows if "error" not in r for w, _ in WALLS if r[w] is None]
    if missing:
        lines.append(f"\nWall values missing (no error raised): {missing}")
    for r in failed:
        lines.append(f"\n- seed {r['seed']} refused: {r['error'][:160]}")
    ten = [r for r in rows if r["kind"] == "ten_phase"]
    if ten:
        right = sum(bool(r.get("ed_correct")) for r in ten)
        lines.append(f"\nTen-phase studies: end-diastole right in {right}/{len(ten)}")
        for r in ten:
            lines.append(
                f"- seed {r['seed']}: true ED {r['ed_phase']:g} %, chosen "
                f"{r.get('chosen_phase', '-')} %, right={r.get('ed_correct')}"
            )
    lines += ["\nPer study:\n", *study_table(rows)]
    seconds = [r["seconds"]["generate"] + r["seconds"]["pipeline"] for r in rows]
    lines.append(
        f"\nTime: {sum(seconds) / 60:.0f} min in all, median {np.median(seconds):.0f} s a study"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="", help="e.g. 6000-6039")
    p.add_argument(
        "--out", default="", help="JSON file for the per-study rows (written as it goes)"
    )
    p.add_argument("--summarise", nargs="*", default=[], help="summarise saved JSON files instead")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    rows: list[dict[str, Any]] = []
    if args.summarise:
        for path in args.summarise:
            rows += json.loads(Path(path).read_text(encoding="utf-8"))["studies"]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from validate_phantom import _seeds  # the same seed-range syntax

    for seed in _seeds(args.seeds):
        try:
            rows.append(run_ten_phase(seed) if seed % 10 == 9 else run_single(seed))
        except Exception as exc:  # a crash is a result too: record it and go on
            rows.append(
                {
                    "seed": seed,
                    "kind": "crashed",
                    "error": repr(exc),
                    "seconds": {"generate": 0, "pipeline": 0},
                    "qc_flags": [],
                }
            )
        _progress(rows[-1])
        if args.out:
            Path(args.out).write_text(json.dumps({"studies": rows}, indent=1, default=str))
    print(summarise(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
