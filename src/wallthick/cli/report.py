"""``wallthick report``: one self-contained HTML report (plus PNG figures and a PDF)
of a results folder written by ``wallthick batch``.

Without ``--comparison`` the studies are compared here with the given options
(the same as ``wallthick compare``).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from wallthick.cli.compare import _confidence, _non_negative_mm
from wallthick.compare import DEFAULT_CONFIDENCE, DEFAULT_FLOOR_MM, compare_measurements
from wallthick.errors import WallthickError
from wallthick.report import write_report
from wallthick.report.tables import read_comparison_csv, read_measurements

__all__ = ["add_parser", "run"]

logger = logging.getLogger(__name__)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report",
        help="write the cohort report (HTML with embedded figures, PNGs, PDF)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("results_dir", type=Path, metavar="RESULTS_DIR", help="folder written by batch")
    p.add_argument("--out", "-o", type=Path, required=True, help="HTML file to write")
    p.add_argument("--comparison", type=Path, default=None, help="CSV from 'wallthick compare'")
    p.add_argument("--key", default="patient_id", help="column grouping one subject's studies")
    p.add_argument("--baseline", default=None, metavar="SERIES_UID_OR_DATE", help="see compare")
    p.add_argument("--floor-mm", type=_non_negative_mm, default=DEFAULT_FLOOR_MM)
    p.add_argument("--confidence", type=_confidence, default=DEFAULT_CONFIDENCE)
    p.add_argument("--usable-baseline", action="store_true", help="see compare")
    p.add_argument("--include-qc-failed", action="store_true", help="see compare")
    p.add_argument("--no-pdf", action="store_true", help="do not write the PDF")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        if args.comparison is not None:
            comparison = read_comparison_csv(args.comparison)
            options: dict[str, Any] = {"comparison file": args.comparison.name}
        else:
            comparison = compare_measurements(
                read_measurements(args.results_dir),
                key=args.key,
                baseline=args.baseline,
                floor_mm=args.floor_mm,
                confidence=args.confidence,
                usable_baseline=args.usable_baseline,
                include_qc_failed=args.include_qc_failed,
            )
            options = {
                "baseline": args.baseline
                or ("earliest usable study" if args.usable_baseline else "earliest study"),
                "QC-failed scans": "compared on request"
                if args.include_qc_failed
                else "not compared",
            }
        files = write_report(
            args.results_dir, args.out, comparison, pdf=not args.no_pdf, options=options
        )
    except (FileNotFoundError, ValueError, WallthickError) as exc:
        print(f"wallthick report: {exc}")
        return 2
    print(f"report: {files.html}")
    if files.pdf is not None:
        print(f"pdf:    {files.pdf}")
    print(
        f"figures: {len(files.figures)} PNG in {files.html.parent / (files.html.stem + '_figures')}"
    )
    return 0
