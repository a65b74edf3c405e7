"""``wallthick measure INPUT --out OUT_DIR``: one series or volume file."""

from __future__ import annotations

import argparse
from typing import Any

from wallthick.batch import BatchOptions, measure_to_folder
from wallthick.cli._common import (
    add_measure_options,
    measure_options,
    print_summary,
    usage_error,
)
from wallthick.errors import OutputInUseError
from wallthick.measure import MEASURED_STATUSES

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "measure",
        help="measure one series (DICOM folder or file) or one volume file",
        description=(
            "Measure one CT series (a DICOM folder, one file of the series, or a "
            "NIfTI/NRRD/MHA volume) and write the same results layout as 'batch'. "
            "Exit code 0: measured; 1: the measurement failed; 2: usage error."
        ),
    )
    parser.add_argument("input", metavar="INPUT", help="series folder, DICOM file or volume file")
    add_measure_options(parser)
    parser.add_argument(
        "--labels",
        metavar="PATH",
        default=None,
        help=(
            "measure with a segmentation made elsewhere: a NIfTI/NRRD/MHA label map, a DICOM "
            "SEG, or a folder of one-structure masks (TotalSegmentator's layout)"
        ),
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        options = BatchOptions(**measure_options(args), labels=args.labels)
        summary = measure_to_folder(args.input, args.out, options)
    except (ValueError, FileNotFoundError, OutputInUseError) as exc:
        return usage_error("measure", str(exc))
    print_summary(summary, "measure", args.show_phi)
    for outcome in summary.outcomes:
        if outcome.status in MEASURED_STATUSES:
            row = outcome.row
            qc = "" if outcome.status == "ok" else f" - QC FAILED: {row['qc_flags']}"
            print(
                f"septal {row['septal_thickness_mm']} ± {row['septal_uncertainty_mm']} mm, "
                f"posterior {row['posterior_wall_thickness_mm']} ± "
                f"{row['posterior_uncertainty_mm']} mm (phase {row['phase'] or 'n/a'}){qc}"
            )
    return summary.exit_code
