#!/usr/bin/env python
"""End-to-end validation of ``wallthick compare`` on a phantom cohort with known changes.

1. Writes a cohort of phantom CT series (DICOM) with the phantom generator:
   every patient has a baseline and follow-ups at 1, 3 and 6 months, each
   follow-up re-positioned with new noise (``wallthick.phantom.followup_spec``)
   and a designed true change of the septal and posterior walls drawn from
   {0, -1, +1, +2, +3} mm (balanced over the cohort, 0 twice as often).
2. Runs ``wallthick batch`` on it (a real subprocess), then ``wallthick compare``.
3. Joins the flags with the true changes and prints the confusion table, the
   pass/fail of the issue-6 criteria and the calibration of the uncertainties.

Correct flag: true change 0 -> ``stable``; |true| >= 1.5 mm -> the direction
(``thickened``/``thinned``); |true| = 1 mm -> ``stable`` or the right direction
(1 mm is at the edge of what is detectable: both answers are defensible, a
wrong direction is wrong). ``not_compared`` counts as wrong.

Usage::

    .venv/bin/python scripts/validate_comparison.py --work wt-validation
    .venv/bin/python scripts/validate_comparison.py --work wt-validation --stage compare

Stages are skipped when their output exists (``--force`` redoes them).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

CHANGES_MM = (0.0, 0.0, -1.0, 1.0, 2.0, 3.0)  # design pool: 0 twice as often
FOLLOWUP_MONTHS = (1, 3, 6)
FLAG_ORDER = ("thinned", "stable", "thickened", "not_compared")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="working folder (created)")
    parser.add_argument("--patients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=606)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--floor-mm", type=float, default=None, help="default: compare's default")
    parser.add_argument("--stage", choices=("all", "cohort", "batch", "compare"), default="all")
    parser.add_argument("--force", action="store_true", help="redo stages whose output exists")
    parser.add_argument("--report", action="store_true", help="also write the HTML/PDF report")
    parser.add_argument(
        "--usable-baseline", action="store_true", help="pass --usable-baseline to compare"
    )
    parser.add_argument(
        "--segmentation",
        choices=("auto", "truth"),
        default="auto",
        help="auto: the real pipeline (wallthick batch); truth: measure_labels on the phantom's "
        "true labels, to separate comparison/measurement from segmentation errors",
    )
    args = parser.parse_args(argv)
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    dicom = work / "dicom"
    suffix = "" if args.segmentation == "auto" else "_truthseg"
    results, comparison = work / f"results{suffix}", work / f"comparison{suffix}.csv"
    if args.stage in ("all", "cohort"):
        if args.force or not (dicom / "design.json").is_file():
            write_designed_cohort(dicom, args.patients, args.seed)
    if args.stage in ("all", "batch"):
        if args.segmentation == "truth":
            if args.force or not (results / "measurements.csv").is_file():
                measure_with_true_labels(dicom, results, args.workers)
        elif args.force or not (results / "measurements.csv").is_file():
            run_cli(
                [
                    "batch",
                    str(dicom),
                    "--out",
                    str(results),
                    "--workers",
                    str(args.workers),
                    "--no-progress",
                    "--no-dicom-seg",
                ],
                ok_codes=(0, 1),
            )
    if args.stage in ("all", "batch", "compare"):
        cmd = ["compare", str(results / "measurements.csv"), "--out", str(comparison)]
        if args.floor_mm is not None:
            cmd += ["--floor-mm", str(args.floor_mm)]
        if args.usable_baseline:
            cmd += ["--usable-baseline"]
            comparison = comparison.with_name(comparison.stem + "_usable.csv")
            cmd[3] = str(comparison)
            suffix += "_usable"
        run_cli(cmd, ok_codes=(0, 1))
        if args.report:
            run_cli(
                [
                    "report",
                    str(results),
                    "--out",
                    str(work / f"report{suffix}.html"),
                    "--comparison",
                    str(comparison),
                ],
                ok_codes=(0,),
            )
        text = evaluate(dicom / "design.json", comparison)
        (work / f"validation{suffix}.md").write_text(text + "\n", encoding="utf-8")
        print(text)
    return 0


# -- 1. cohort ------------------------------------------------------------------
def design(n_patients: int, seed: int) -> list[list[tuple[float, float]]]:
    """Per patient, per follow-up: (septal, posterior) true change in mm."""
    rng = np.random.default_rng(seed)
    n = n_patients * len(FOLLOWUP_MONTHS)
    pool = np.resize(np.array(CHANGES_MM), 2 * n)  # balanced, then shuffled
    rng.shuffle(pool)
    pairs = [(float(pool[2 * i]), float(pool[2 * i + 1])) for i in range(n)]
    return [
        pairs[p * len(FOLLOWUP_MONTHS) : (p + 1) * len(FOLLOWUP_MONTHS)] for p in range(n_patients)
    ]


def write_designed_cohort(root: Path, n_patients: int, seed: int) -> None:
    import datetime as dt

    from pydicom.uid import generate_uid

    from wallthick.phantom import generate_phantom, random_spec, write_phantom_series
    from wallthick.phantom.series import followup_spec

    plan = design(n_patients, seed)
    entries: list[dict[str, Any]] = []
    t0 = time.time()
    for p, changes in enumerate(plan):
        rng = np.random.default_rng([seed, p])
        base_spec = random_spec(seed * 1000 + p, "sample")
        base_truth: dict[str, Any] | None = None
        day0 = dt.date(2025, 2, 3) + dt.timedelta(days=7 * p)
        for months, change in zip((0, *FOLLOWUP_MONTHS), [(0.0, 0.0), *changes], strict=True):
            spec = base_spec if months == 0 else followup_spec(base_spec, months, change, rng)
            case = generate_phantom(spec)
            base_truth = base_truth or case.truth

            def uid(kind: str, p: int = p, months: int = months) -> str:
                return str(
                    generate_uid(
                        entropy_srcs=["wt-validation", str(seed), kind, str(p), str(months)]
                    )
                )

            info = {
                "patient_id": f"VAL{seed:03d}-{p + 1:02d}",
                "patient_name": f"Validation^{p + 1:02d}",
                "study_instance_uid": uid("study"),
                "series_instance_uid": uid("series"),
                "frame_of_reference_uid": uid("for"),
                "study_date": (day0 + dt.timedelta(days=round(30.44 * months))).strftime("%Y%m%d"),
                "study_time": f"{8 + p % 9:02d}{(7 * months) % 60:02d}00",
                "series_description": "Phantom CTA validation",
                "series_number": 1,
            }
            folder = root / f"subject_{p + 1:02d}" / f"visit_{months:02d}m"
            write_phantom_series(case, folder, info)
            entries.append(
                {
                    "patient": p + 1,
                    "months": months,
                    "series_instance_uid": info["series_instance_uid"],
                    "designed_change_mm": {"septal": change[0], "posterior": change[1]},
                    "true_mm": {
                        "septal": case.truth["septal_thickness_mm"],
                        "posterior": case.truth["posterior_wall_thickness_mm"],
                    },
                    "true_change_mm": {
                        "septal": case.truth["septal_thickness_mm"]
                        - base_truth["septal_thickness_mm"],
                        "posterior": case.truth["posterior_wall_thickness_mm"]
                        - base_truth["posterior_wall_thickness_mm"],
                    },
                }
            )
            print(
                f"  subject {p + 1} month {months}: change {change} ({time.time() - t0:.0f} s)",
                flush=True,
            )
    (root / "design.json").write_text(json.dumps({"seed": seed, "series": entries}, indent=1))


# -- 2. CLI -----------------------------------------------------------------------
def run_cli(args: list[str], ok_codes: tuple[int, ...]) -> None:
    cmd = [sys.executable, "-m", "wallthick.cli.main", *args]
    print("$ wallthick " + " ".join(args), flush=True)
    t0 = time.time()
    code = subprocess.run(cmd, check=False).returncode
    print(f"  exit {code} after {time.time() - t0:.0f} s", flush=True)
    if code not in ok_codes:
        raise SystemExit(f"wallthick {args[0]} failed with exit code {code}")


def measure_with_true_labels(dicom: Path, results: Path, workers: int) -> None:
    """Like ``wallthick batch`` but with the phantom's true labels instead of the
    segmenter (same loader, measurement, CSV columns, record and QC picture)."""
    import csv
    from concurrent.futures import ProcessPoolExecutor

    from wallthick.measure.result import CSV_COLUMNS

    entries = json.loads((dicom / "design.json").read_text())["series"]
    folders = sorted({str(p.parent) for p in dicom.rglob("truth.json")})
    results.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rows = list(pool.map(_measure_one, folders, [str(results)] * len(folders)))
    rows.sort(key=lambda r: (r["patient_id"], r["study_date"], r["study_time"]))
    with (results / "measurements.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(
        f"  measured {len(rows)} of {len(entries)} series with true labels "
        f"in {time.time() - t0:.0f} s",
        flush=True,
    )


def _measure_one(folder: str, results: str) -> dict[str, str]:
    import hashlib

    from wallthick.io import load_image
    from wallthick.measure import measure_labels
    from wallthick.measure.result import SeriesInfo, failed_row
    from wallthick.phantom import PhantomSpec, render_labels
    from wallthick.report import render_qc_picture

    truth = json.loads((Path(folder) / "truth.json").read_text())
    ids = truth["series"]
    series = SeriesInfo(
        patient_id=str(ids["patient_id"]),
        study_date=str(ids["study_date"]),
        study_time=str(ids["study_time"]),
        study_instance_uid=str(ids["study_instance_uid"]),
        series_instance_uid=str(ids["series_instance_uid"]),
        source_path=folder,
    )
    out = Path(results) / (
        "series-" + hashlib.sha256(series.series_instance_uid.encode()).hexdigest()[:24]
    )
    out.mkdir(parents=True, exist_ok=True)
    try:
        image = load_image(folder)
        labels = render_labels(PhantomSpec.from_dict(truth["spec"]), image.geometry)
        result = measure_labels(labels, image, series=series, segmentation_source="corrected")
    except Exception as exc:  # a validation script records every failure and goes on
        row = failed_row(series, f"{type(exc).__name__}: {exc}")
        (out / "measurement.json").write_text(json.dumps({"status": "failed", "row": row}))
        return row
    row = result.measurement.to_row()
    render_qc_picture(result, out / "qc.png")
    record = {"status": "ok", "row": row, "measurement": result.measurement.to_dict()}
    (out / "measurement.json").write_text(json.dumps(record))
    return row


# -- 3. evaluation --------------------------------------------------------------------
def expected(true_mm: float) -> set[str]:
    """Flags counted as right for a true change."""
    if abs(true_mm) < 0.25:
        return {"stable"}
    direction = "thickened" if true_mm > 0 else "thinned"
    return {direction} if abs(true_mm) >= 1.5 else {direction, "stable"}


def evaluate(design_json: Path, comparison_csv: Path) -> str:
    from wallthick.report.tables import read_comparison_csv

    entries = json.loads(design_json.read_text())["series"]
    truth = {e["series_instance_uid"]: e for e in entries}
    rows = read_comparison_csv(comparison_csv)
    by_follow: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in rows:
        base = truth.get(r.baseline_series_uid)
        if base is not None and r.followup_series_uid in truth:
            if truth[r.followup_series_uid]["months"] > base["months"]:
                by_follow[(r.followup_series_uid, r.wall)].append(r)
    table: dict[float, Counter[str]] = defaultdict(Counter)
    right = total = thick_on_zero = missed_big = 0
    errors: dict[str, list[float]] = defaultdict(list)
    zscores: list[float] = []
    # every designed follow-up wall counts once; no compared row = not_compared
    for e in entries:
        if e["months"] == 0:
            continue
        for wall in ("septal", "posterior"):
            found = by_follow.get((e["series_instance_uid"], wall), [])
            r = next((x for x in found if x.compared), None)
            if r is None:
                true = float(e["true_change_mm"][wall])
                flag = "not_compared"
            else:
                base = truth[r.baseline_series_uid]
                true = float(e["true_mm"][wall]) - float(base["true_mm"][wall])
                flag = r.flag
                errors[wall].append(r.delta_mm - true)
                sigma = math.hypot(r.baseline_uncertainty_mm, r.followup_uncertainty_mm)
                zscores.append((r.delta_mm - true) / sigma if sigma > 0 else math.nan)
            table[round(true * 2) / 2][flag] += 1
            total += 1
            ok = flag in expected(true)
            right += ok
            thick_on_zero += abs(true) < 0.25 and flag == "thickened"
            missed_big += abs(true) >= 1.5 and not ok
    lines = [
        "| true change (mm) | " + " | ".join(FLAG_ORDER) + " | right |",
        "|---:|" + "---:|" * 5,
    ]
    for true in sorted(table):
        c = table[true]
        ok = sum(c[f] for f in expected(true))
        lines.append(
            f"| {true:+.1f} | "
            + " | ".join(str(c[f]) for f in FLAG_ORDER)
            + f" | {ok}/{sum(c.values())} |"
        )
    pct = 100.0 * right / total if total else 0.0
    lines += [
        "",
        f"wall comparisons: {total}; right: {right} ({pct:.1f} %)",
        f"|true| >= 1.5 mm not flagged in its direction: {missed_big}",
        f"'thickened' on an unchanged wall: {thick_on_zero}",
        f"criteria (>= 95 % right, 0 thickened on unchanged, all |true| >= 1.5 flagged): "
        f"{'PASS' if pct >= 95.0 and thick_on_zero == 0 and missed_big == 0 else 'FAIL'}",
        "",
        "measured change - true change (mm):",
    ]
    for wall, errs in sorted(errors.items()):
        a = np.asarray(errs)
        lines.append(
            f"  {wall}: n={a.size} mean {a.mean():+.2f} SD {a.std(ddof=1):.2f} "
            f"max |err| {np.abs(a).max():.2f}"
        )
    z = np.asarray([v for v in zscores if math.isfinite(v)])
    if z.size > 1:
        lines.append(
            f"calibration: SD of (error / sqrt(u_b^2 + u_f^2)) = {z.std(ddof=1):.2f} "
            f"(1.0 = uncertainties right; > 1 = too small); "
            f"|z| > 1.96 in {np.mean(np.abs(z) > 1.96) * 100:.0f} % of walls"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
