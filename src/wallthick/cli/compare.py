"""``wallthick compare``: flag real pre/post changes of septal and posterior thickness.

One input (a ``measurements.csv``, a results folder, or a folder of wallthick
DICOM SRs): every group's baseline is paired with each later study. Two inputs
(CSV, ``measurement.json`` or DICOM SR files): the first is the baseline, the
second the follow-up. A folder without ``measurements.csv`` is read as DICOM SRs.
Exit code 0 when every pair was compared, 1 when some could not be (each has
its reason in the output), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

from wallthick.compare import (
    DEFAULT_CONFIDENCE,
    DEFAULT_FLOOR_MM,
    FLAGS,
    ComparisonRow,
    compare_measurements,
    compare_sets,
)
from wallthick.errors import WallthickError
from wallthick.regional import SegmentChange, compare_segments
from wallthick.report.tables import (
    read_measurements,
    segment_comparison_path,
    write_comparison_csv,
    write_segment_comparison_csv,
)
from wallthick.results import CSV_NAME

__all__ = ["add_parser", "run"]

logger = logging.getLogger(__name__)

_SERIES_REF = re.compile(r" \(series [^)]*\)")


def _non_negative_mm(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of mm, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0 mm, got {text!r}")
    return value


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text!r}")
    return value


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "compare",
        help="flag changes of wall thickness beyond measurement error",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="MEASUREMENTS",
        help="measurements.csv, results folder or folder of wallthick DICOM SRs; or two "
        "files (baseline, follow-up): CSV tables, measurement.json records or DICOM SRs",
    )
    p.add_argument("--out", "-o", type=Path, required=True, help="comparison CSV to write")
    p.add_argument(
        "--segments-out",
        type=Path,
        default=None,
        help="per-segment comparison CSV (17 AHA segments per pair, Holm-controlled flags); "
        "default: OUT with '_segments' added to its name",
    )
    p.add_argument("--key", default="patient_id", help="column grouping one subject's studies")
    p.add_argument(
        "--baseline",
        default=None,
        metavar="SERIES_UID_OR_DATE",
        help="baseline: series or study instance UID, or study date (YYYYMMDD); "
        "default: each subject's earliest study",
    )
    p.add_argument(
        "--floor-mm",
        type=_non_negative_mm,
        default=DEFAULT_FLOOR_MM,
        help=f"smallest threshold in mm, whatever the uncertainties (default {DEFAULT_FLOOR_MM})",
    )
    p.add_argument(
        "--confidence",
        type=_confidence,
        default=DEFAULT_CONFIDENCE,
        help=f"two-sided confidence of the minimal detectable change (default {DEFAULT_CONFIDENCE})",
    )
    p.add_argument(
        "--usable-baseline",
        action="store_true",
        help="when a subject's earliest study failed or failed QC, use its earliest "
        "usable study as baseline (said in the 'note' column)",
    )
    p.add_argument(
        "--include-qc-failed",
        action="store_true",
        help="compare measurements with status qc_failed too (said in the 'note' column); "
        "default: reported not_compared",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    inputs: list[Path] = args.inputs
    if len(inputs) > 2:
        print("wallthick compare: give one table, or two files (baseline, follow-up).")
        return 2
    if len(inputs) == 2 and (args.baseline is not None or args.usable_baseline):
        print(
            "wallthick compare: --baseline/--usable-baseline apply to one table only (with two files, "
            "the first is the baseline)."
        )
        return 2
    try:
        tables = [_read_table(p) for p in inputs]
        if len(tables) == 1:
            rows = compare_measurements(
                tables[0],
                key=args.key,
                baseline=args.baseline,
                floor_mm=args.floor_mm,
                confidence=args.confidence,
                usable_baseline=args.usable_baseline,
                include_qc_failed=args.include_qc_failed,
            )
        else:
            rows = compare_sets(
                tables[0],
                tables[1],
                key=args.key,
                floor_mm=args.floor_mm,
                confidence=args.confidence,
                include_qc_failed=args.include_qc_failed,
            )
        segments = compare_segments([r for t in tables for r in t], rows)
        write_comparison_csv(rows, args.out)
        segments_out = args.segments_out or segment_comparison_path(args.out)
        write_segment_comparison_csv(segments, segments_out)
    except (FileNotFoundError, ValueError, WallthickError) as exc:
        print(f"wallthick compare: {exc}")
        return 2
    print(_summary(rows, args.out))
    print(_segment_summary(segments, segments_out))
    return 0 if all(r.compared for r in rows) else 1


def _read_table(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV/JSON/results folder, or of the wallthick DICOM SRs ``path`` holds."""
    is_sr = path.suffix.lower() == ".dcm" or (path.is_dir() and not (path / CSV_NAME).is_file())
    if not is_sr:
        return read_measurements(path)
    from wallthick.batch import load_measurements_from_sr

    return [m.to_row() for m in load_measurements_from_sr(path)]


def _segment_summary(segments: list[SegmentChange], out: Path) -> str:
    changed = [c for c in segments if c.changed]
    by_pair: dict[tuple[str, str, str, str, str], list[SegmentChange]] = {}
    for c in changed:
        key = (c.group, c.baseline_date, c.followup_date, c.baseline_series_uid,
               c.followup_series_uid)  # fmt: skip
        by_pair.setdefault(key, []).append(c)
    lines = [
        f"AHA segments changed beyond error (Holm over each pair's segments): "
        f"{len(changed)} in {len(by_pair)} pair(s); written to {out}"
    ]
    for (group, b_date, f_date, *_), cs in by_pair.items():
        parts = [
            f"{flag} "
            + ", ".join(f"{c.segment} ({c.delta_mm:+.1f} mm)" for c in cs if c.flag == flag)
            for flag in ("thickened", "thinned")
            if any(c.flag == flag for c in cs)
        ]
        lines.append(f"  {group} {b_date} -> {f_date}: " + "; ".join(parts))
    return "\n".join(lines)


def _summary(rows: list[ComparisonRow], out: Path) -> str:
    counts = Counter(r.flag for r in rows)
    pairs = len({(r.group, r.baseline_series_uid, r.followup_series_uid) for r in rows})
    parts = ", ".join(f"{counts[f]} {f}" for f in FLAGS if counts[f])
    lines = [
        f"{pairs} pair(s), {len(rows)} wall comparison(s): {parts or 'none'}",
        f"written to {out}",
    ]
    reasons = Counter(_SERIES_REF.sub("", r.reason.split(":")[0]) for r in rows if not r.compared)
    lines += [f"  not compared ({n}): {reason}" for reason, n in reasons.most_common()]
    return "\n".join(lines)
