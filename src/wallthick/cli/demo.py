"""``wallthick demo --out DIR``: the sample phantom cohort, measured end to end.

Generates a small phantom cohort as DICOM in ``DIR/input`` (2 patients with a
baseline and a 6-month follow-up, one multiphase study, and one subject of each
heart-failure kind: a dilated heart, a device lead with metal streaks, weak
contrast with a thick septum, a ten-phase study), runs the batch
into ``DIR/results``, compares the visits (``DIR/comparison.csv``), writes the
HTML report (``DIR/report.html``) and prints measured vs true thickness.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from pathlib import Path
from typing import Any

from wallthick.batch import CSV_NAME, BatchOptions, run_batch
from wallthick.cli._common import positive_int, print_summary, usage_error

__all__ = ["add_parser", "run", "DEMO_COHORT"]

#: The sample cohort: small, so the whole demo takes a few minutes at most on 2 cores.
DEMO_COHORT: dict[str, Any] = {
    "seed": 2026,
    "n_patients": 2,
    "followup_months": (6,),
    "multiphase_patients": 1,
    "phases_percent": (0, 70, 90),
    "hf_subjects": ("dilated", "lead", "weak_contrast", "ten_phase"),
}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="generate the sample phantom cohort and measure, compare and report it",
        description=(
            "Write the sample phantom cohort as DICOM into DIR/input, measure it with "
            "'batch' into DIR/results, compare visits and write DIR/report.html; print "
            "measured vs true septal and posterior thickness."
        ),
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="demo folder (created)")
    parser.add_argument("--workers", type=positive_int, default=None, help="local worker processes")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return usage_error("demo", f"--out {out} exists and is not a folder")
    started = time.monotonic()
    input_root, results = out / "input", out / "results"
    try:
        manifest = _cohort(input_root)
    except ValueError as exc:
        return usage_error("demo", str(exc))
    print(f"sample cohort: {len(manifest['series'])} DICOM series in {input_root}", flush=True)
    from wallthick.cli.batch import _ProgressBar

    bar = _ProgressBar(disable=args.no_progress)
    options = BatchOptions(workers=args.workers, resume=True)
    try:
        summary = run_batch(input_root, results, options, progress=bar.update, on_plan=bar.start)
    finally:
        bar.close()
    print_summary(summary, "batch", show_phi=False)
    rows = _read_rows(results / CSV_NAME)
    _print_truth_table(rows, manifest)
    _print_phases(results, manifest)
    _compare_and_report(rows, results, out, manifest)
    print(f"demo finished in {time.monotonic() - started:.0f} s; outputs in {out}")
    # The demo is a showcase, not a batch: it succeeds when it ran end to end and
    # measured scans. Scans that failed are listed above (with their reasons) and in
    # results/measurements.csv; `wallthick batch` itself exits 1 in that case.
    if summary.exit_code == 1 and any(r.get("status") == "ok" for r in rows):
        print(
            "note: some scans of the sample cohort failed (see the table above); "
            "`wallthick batch` would exit 1 here."
        )
        return 0
    return summary.exit_code


def _cohort(input_root: Path) -> dict[str, Any]:
    """Write the cohort (or reuse a complete one from an earlier demo run)."""
    from wallthick.phantom.series import CohortSpec, write_cohort

    manifest_path = input_root / "cohort.json"
    if manifest_path.is_file():
        try:
            manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
            if manifest.get("series"):
                return manifest
        except ValueError:
            pass
    if input_root.exists() and any(input_root.iterdir()):
        raise ValueError(
            f"{input_root} exists without a complete cohort.json; remove it or choose another --out"
        )
    print("generating the sample phantom cohort (DICOM + truth.json)...", flush=True)
    return write_cohort(CohortSpec(**DEMO_COHORT), input_root)


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _num(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _print_truth_table(rows: list[dict[str, str]], manifest: dict[str, Any]) -> None:
    truth = {str(e["series_instance_uid"]): e for e in manifest["series"]}
    print()
    print("measured vs true thickness (mm); multiphase: the end-diastolic phase")
    header = f"{'patient':<12} {'date':<9} {'phase':>5}  {'septal':>15}  {'posterior':>15}  status"
    print(header)
    print("-" * len(header))
    errors: list[float] = []
    for row in rows:
        t = truth.get(row["series_instance_uid"], {})
        cells = []
        for col in ("septal_thickness_mm", "posterior_wall_thickness_mm"):
            m, tv = _num(row.get(col)), _num(t.get(col))
            cells.append(
                f"{m:6.2f} vs {tv:5.2f}" if not math.isnan(m) else f"{'-':>6} vs {tv:5.2f}"
            )
            if not (math.isnan(m) or math.isnan(tv)):
                errors.append(abs(m - tv))
        print(
            f"{row['patient_id']:<12} {row['study_date']:<9} {row['phase'] or '-':>5}  "
            f"{cells[0]:>15}  {cells[1]:>15}  {row['status']}"
        )
    if errors:
        print(f"mean absolute error: {sum(errors) / len(errors):.2f} mm over {len(errors)} values")


def _compare_and_report(
    rows: list[dict[str, str]], results: Path, out: Path, manifest: dict[str, Any]
) -> None:
    from wallthick.compare import compare_measurements
    from wallthick.report import write_report
    from wallthick.report.tables import write_comparison_csv

    comparison = compare_measurements(rows)
    write_comparison_csv(comparison, out / "comparison.csv")
    true_change = {
        str(e["series_instance_uid"]): e.get("true_change_from_baseline") or {}
        for e in manifest["series"]
    }
    print()
    print("baseline -> follow-up (flagged only where the change exceeds measurement error):")
    for c in comparison:
        if c.flag == "not_compared":
            print(f"  {c.patient_id}  {c.wall:<9} not compared: {c.reason[:90]}")
            continue
        col = "septal_thickness_mm" if c.wall == "septal" else "posterior_wall_thickness_mm"
        true = _num(true_change.get(c.followup_series_uid, {}).get(col))
        print(
            f"  {c.patient_id}  {c.wall:<9} delta {c.delta_mm:+.2f} mm (true {true:+.2f}), "
            f"threshold {c.threshold_mm:.2f} mm -> {c.flag}"
        )
    report = write_report(results, out / "report.html", comparison)
    print(f"comparison: {out / 'comparison.csv'}")
    print(f"report: {report.html}")


def _print_phases(results: Path, manifest: dict[str, Any]) -> None:
    """For each multiphase study: cavity volume per phase, the phase used, the true ED."""
    from wallthick.batch import load_results

    true_ed = {
        str(e["series_instance_uid"]): e.get("ed_phase_percent")
        for e in manifest["series"]
        if "ed_phase_percent" in e
    }
    for r in load_results(results):
        phases = r.record.get("phases") or []
        if not phases:
            continue
        table = ", ".join(f"{p['phase']}: {_num(p['lv_cavity_volume_ml']):.1f} ml" for p in phases)
        chosen = next((p["phase"] for p in phases if p.get("chosen")), "?")
        ed = next((v for k, v in true_ed.items() if v is not None and k in _uids(phases)), None)
        truth = f"{ed:g}%" if isinstance(ed, (int, float)) else "?"
        print(f"multiphase {r.row['patient_id']}: {table}")
        print(f"  end-diastole used: {chosen} (true end-diastole: {truth})")


def _uids(phases: list[dict[str, Any]]) -> set[str]:
    return {str(p.get("series_instance_uid", "")) for p in phases}
