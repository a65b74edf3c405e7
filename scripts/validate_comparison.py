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

``--regional`` validates the per-segment flags instead (``comparison_segments.csv``):
every patient has a baseline and five follow-ups, three of them unchanged
(new noise and positioning only) and two with a regional +2 mm thickening of
one wall region (``septal_mm``, ``posterior_mm``, ``lateral_mm``,
``anterior_mm`` or ``inferior_mm`` of the phantom spec, each of which moves
only the segments of its region and, partly, their neighbours). It prints the
family-wise false-positive rate over the 17 segments on unchanged hearts and
the fraction of regional changes detected (a segment whose true change is
>= 1.5 mm flagged ``thickened``), with Clopper-Pearson 95 % intervals::

    .venv/bin/python scripts/validate_comparison.py --work WORK_DIR --regional --seed 901
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
#: --regional: follow-up months, and the spec fields a regional change thickens
REGIONAL_MONTHS = (1, 2, 3, 6, 9)
REGIONS = ("septal_mm", "posterior_mm", "lateral_mm", "anterior_mm", "inferior_mm")
REGIONAL_CHANGE_MM = 2.0
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
        "--regional",
        action="store_true",
        help="validate the per-segment flags (unchanged and regional +2 mm follow-ups)",
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
            write_designed_cohort(dicom, args.patients, args.seed, args.regional)
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
        if args.regional:
            text = evaluate_regional(dicom / "design.json", segment_table(comparison))
            text += "\n\n" + segment_calibration(
                dicom / "design.json", results / "measurements.csv"
            )
            text += "\n\nPer-wall flags of the same pairs:\n\n" + evaluate(
                dicom / "design.json", comparison
            )
            suffix += "_regional"
        else:
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


def regional_design(n_patients: int, seed: int) -> list[list[str]]:
    """Per patient, per follow-up: "" (unchanged) or the spec field thickened."""
    rng = np.random.default_rng([seed, 2])
    regions = np.resize(np.array(REGIONS), 2 * n_patients)  # balanced over the cohort
    rng.shuffle(regions)
    plan = []
    for p in range(n_patients):
        kinds = ["", "", "", str(regions[2 * p]), str(regions[2 * p + 1])]
        rng.shuffle(kinds)
        plan.append(kinds)
    return plan


def _followups(
    base_spec: Any, seed: int, p: int, regional: bool, plan: Any
) -> list[tuple[int, Any, tuple[float, float], str]]:
    """(months, spec, designed wall change, region) of a patient's scans."""
    from wallthick.phantom.series import followup_spec

    rng = np.random.default_rng([seed, p])
    out: list[tuple[int, Any, tuple[float, float], str]] = [(0, base_spec, (0.0, 0.0), "")]
    if not regional:
        for months, change in zip(FOLLOWUP_MONTHS, plan[p], strict=True):
            out.append((months, followup_spec(base_spec, months, change, rng), change, ""))
        return out
    for months, region in zip(REGIONAL_MONTHS, plan[p], strict=True):
        spec = followup_spec(base_spec, months, (0.0, 0.0), rng)
        if region:
            spec = spec.replace(**{region: round(getattr(spec, region) + REGIONAL_CHANGE_MM, 3)})
        out.append((months, spec, (0.0, 0.0), region))
    return out


def write_designed_cohort(root: Path, n_patients: int, seed: int, regional: bool = False) -> None:
    import datetime as dt

    from pydicom.uid import generate_uid

    from wallthick.phantom import generate_phantom, random_spec, write_phantom_series

    plan: Any = regional_design(n_patients, seed) if regional else design(n_patients, seed)
    entries: list[dict[str, Any]] = []
    t0 = time.time()
    for p in range(n_patients):
        base_spec = random_spec(seed * 1000 + p, "sample")
        base_truth: dict[str, Any] | None = None
        day0 = dt.date(2025, 2, 3) + dt.timedelta(days=7 * p)
        for months, spec, change, region in _followups(base_spec, seed, p, regional, plan):
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
                    "region": region,
                    "true_segments_mm": {
                        str(s["segment"]): s["mean_mm"] for s in case.truth["segments"]
                    },
                }
            )
            print(
                f"  subject {p + 1} month {months}: change {change} {region} "
                f"({time.time() - t0:.0f} s)",
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


def segment_table(comparison_csv: Path) -> Path:
    from wallthick.report.tables import segment_comparison_path

    return segment_comparison_path(comparison_csv)


def evaluate_regional(design_json: Path, segments_csv: Path) -> str:
    """Family-wise false positives on unchanged hearts; detection of regional changes."""
    from wallthick.report.tables import read_segment_comparison_csv

    entries = json.loads(design_json.read_text())["series"]
    truth = {e["series_instance_uid"]: e for e in entries}
    pairs: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for c in read_segment_comparison_csv(segments_csv):
        if c.baseline_series_uid in truth and c.followup_series_uid in truth:
            pairs[(c.baseline_series_uid, c.followup_series_uid)].append(c)
    counts: Counter[str] = Counter()
    zs: list[float] = []
    misses: list[str] = []
    for e in entries:
        if e["months"] == 0:
            continue
        base = next((truth[b] for (b, f) in pairs if f == e["series_instance_uid"]), None)
        rows = (
            pairs.get((base["series_instance_uid"], e["series_instance_uid"]), []) if base else []
        )
        tested = [c for c in rows if c.flag != "not_compared"]
        kind = "changed" if e["region"] else "unchanged"
        if len(tested) < 16:
            counts[f"{kind}_not_tested"] += 1
            misses.append(f"{kind} patient {e['patient']} month {e['months']}: not tested")
            continue
        assert base is not None
        true = {
            c.segment: e["true_segments_mm"][str(c.segment)]
            - base["true_segments_mm"][str(c.segment)]
            for c in tested
        }
        for c in tested:
            sigma = math.hypot(c.baseline_uncertainty_mm, c.followup_uncertainty_mm)
            zs.append((c.delta_mm - true[c.segment]) / sigma)
        wrong = [
            c for c in tested if c.changed and not _segment_flag_right(c.flag, true[c.segment])
        ]
        counts[kind] += 1
        counts[f"{kind}_any_wrong_flag"] += bool(wrong)
        if e["region"]:
            big = [c for c in tested if true[c.segment] >= 1.5]
            hit = any(c.flag == "thickened" for c in big)
            counts["changed_detected"] += hit
            counts["changed_eligible"] += bool(big)
            counts["changed_eligible_detected"] += hit and bool(big)
            counts["changed_big_segments"] += len(big)
            counts["changed_big_flagged"] += sum(c.flag == "thickened" for c in big)
            if not hit:
                misses.append(
                    f"changed patient {e['patient']} month {e['months']} ({e['region']}): "
                    "missed, segments >= 1.5 mm: "
                    + ", ".join(
                        f"{c.segment} true {true[c.segment]:+.2f} z {c.z:+.1f}" for c in big
                    )
                )
        for c in wrong:
            misses.append(
                f"{kind} patient {e['patient']} month {e['months']}: segment {c.segment} "
                f"{c.flag}, true {true[c.segment]:+.2f} mm, delta {c.delta_mm:+.2f}, "
                f"p_holm {c.p_holm:.3g}"
            )
    n0, n1 = counts["unchanged"], counts["changed"]
    fw, det = counts["unchanged_any_wrong_flag"], counts["changed_detected"]
    z = np.asarray(zs)
    lines = [
        "| follow-ups | tested | any wrong segment flag | detected (segment >= 1.5 mm thickened) |",
        "|---|---:|---:|---:|",
        f"| unchanged | {n0} | {fw} ({_pct(fw, n0)}, 95 % CI {_cp(fw, n0)}) | - |",
        f"| regional +{REGIONAL_CHANGE_MM:g} mm | {n1} | {counts['changed_any_wrong_flag']} | "
        f"{det} ({_pct(det, n1)}, 95 % CI {_cp(det, n1)}) |",
        "",
        f"detected among follow-ups with a segment whose true change is >= 1.5 mm: "
        f"{counts['changed_eligible_detected']}/{counts['changed_eligible']} "
        f"({_pct(counts['changed_eligible_detected'], counts['changed_eligible'])}, "
        f"95 % CI {_cp(counts['changed_eligible_detected'], counts['changed_eligible'])})",
        f"not tested: unchanged {counts['unchanged_not_tested']}, "
        f"regional {counts['changed_not_tested']}",
        f"segments with true change >= 1.5 mm flagged thickened: "
        f"{counts['changed_big_flagged']}/{counts['changed_big_segments']}",
        f"segment calibration: SD of (error / sqrt(u_b^2 + u_f^2)) = {z.std(ddof=1):.2f} "
        f"over {z.size} segments; |z| > 1.96 in {np.mean(np.abs(z) > 1.96) * 100:.1f} %",
        f"criteria (family-wise FP <= 5 %, detection >= 80 %): "
        f"{'PASS' if n0 and n1 and fw / n0 <= 0.05 and det / n1 >= 0.8 else 'FAIL'}",
        "",
        *misses,
    ]
    return "\n".join(lines)


def segment_calibration(design_json: Path, measurements_csv: Path) -> str:
    """Per-scan calibration of the per-segment uncertainty against the phantom truth.

    For every ``ok`` scan and AHA segment: ``|aha_N_mm - truth| / aha_N_uncertainty_mm``;
    a calibrated 1-sigma has 68 % within 1 u and 95 % within 2 u.
    """
    import csv

    truth = {
        e["series_instance_uid"]: e["true_segments_mm"]
        for e in json.loads(design_json.read_text())["series"]
    }
    z: list[float] = []
    with open(measurements_csv, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            true = truth.get(row.get("series_instance_uid", ""))
            if true is None or row.get("status") != "ok":
                continue
            for seg, t in true.items():
                v, u = row.get(f"aha_{seg}_mm", ""), row.get(f"aha_{seg}_uncertainty_mm", "")
                if v and u and float(u) > 0:
                    z.append(abs(float(v) - t) / float(u))
    arr = np.asarray(z)
    if arr.size == 0:
        return "per-scan segment calibration: no ok scans"
    return (
        f"per-scan segment calibration ({arr.size} segments of ok scans): "
        f"|error| <= 1 u {np.mean(arr <= 1):.2f}, <= 2 u {np.mean(arr <= 2):.2f}, "
        f"> 3 u {np.mean(arr > 3):.3f}, max {arr.max():.2f}, RMS(error/u) "
        f"{math.sqrt(float(np.mean(arr**2))):.2f}"
    )


def _segment_flag_right(flag: str, true_mm: float) -> bool:
    """A flag is wrong on a segment whose true change is below 0.25 mm or of the other sign."""
    if abs(true_mm) < 0.25:
        return False
    return (flag == "thickened") == (true_mm > 0)


def _pct(k: int, n: int) -> str:
    return f"{100.0 * k / n:.1f} %" if n else "n/a"


def _cp(k: int, n: int) -> str:
    """Clopper-Pearson 95 % interval of k/n, in %."""
    from scipy.stats import beta

    if not n:
        return "n/a"
    lo = 0.0 if k == 0 else float(beta.ppf(0.025, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(0.975, k + 1, n - k))
    return f"{100 * lo:.1f}-{100 * hi:.1f} %"


if __name__ == "__main__":
    sys.exit(main())
