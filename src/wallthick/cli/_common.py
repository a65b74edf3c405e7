"""Argument types and printing shared by the measuring subcommands."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from wallthick.batch import BatchSummary, SeriesOutcome

__all__ = [
    "USAGE_ERROR",
    "add_measure_options",
    "positive_int",
    "print_summary",
    "usage_error",
]

USAGE_ERROR = 2


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def _segmenter_choices() -> tuple[str, ...]:
    from wallthick.segment import available_segmenters

    return available_segmenters()


def add_measure_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``measure`` and ``batch``."""
    parser.add_argument("--out", required=True, metavar="OUT_DIR", help="results folder (created)")
    parser.add_argument(
        "--segmenter",
        default="classical",
        choices=_segmenter_choices(),
        help="segmenter from the registry (default: classical)",
    )
    parser.add_argument(
        "--show-phi",
        action="store_true",
        help="allow patient IDs and input paths in logs and the summary",
    )
    parser.add_argument("--no-dicom-seg", action="store_true", help="do not write DICOM SEG files")
    parser.add_argument("--no-qc", action="store_true", help="do not draw QC pictures")


def usage_error(command: str, message: str) -> int:
    """Print an argparse-style usage error and return exit code 2."""
    print(f"wallthick {command}: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def _describe(outcome: SeriesOutcome, show_phi: bool) -> str:
    who = outcome.label
    if show_phi:
        who += (
            f" (patient {outcome.row.get('patient_id', '')}, {outcome.row.get('source_path', '')})"
        )
        error = outcome.row.get("error", "") or outcome.error
    else:
        error = outcome.error
    return f"  {who}: {error}"


def print_summary(
    summary: BatchSummary, command: str, show_phi: bool, stream: TextIO | None = None
) -> None:
    """A short human-readable account of a batch."""
    out = stream or sys.stdout
    minutes, seconds = divmod(summary.elapsed_s, 60)
    took = f"{int(minutes)} min {seconds:.0f} s" if minutes else f"{seconds:.1f} s"
    reused = f" ({summary.n_reused} reused from an earlier run)" if summary.n_reused else ""
    print(f"wallthick {command}: {summary.n_series_found} series found, {took}", file=out)
    print(f"  measured ok     {summary.n_ok}{reused}", file=out)
    print(f"  failed          {summary.n_failed}", file=out)
    if summary.skipped:
        print(f"  skipped         {len(summary.skipped)} (reasons in skipped.csv)", file=out)
        for s in summary.skipped[:10]:
            print(f"    {s.modality or '?'}: {s.reason}", file=out)
    if summary.n_rejected_files:
        print(
            f"  rejected files  {summary.n_rejected_files} (not usable DICOM; see rejected_files.csv)",
            file=out,
        )
    failures = [o for o in summary.outcomes if o.status == "failed"]
    if failures:
        print("Failed series (details in each folder's log.txt):", file=out)
        for o in failures:
            print(_describe(o, show_phi), file=out)
    ok = [o for o in summary.outcomes if o.status == "ok" and o.row.get("qc_flags")]
    if ok:
        print(f"QC flags raised on {len(ok)} series (column qc_flags).", file=out)
    print(f"Results: {summary.out_dir / 'measurements.csv'}", file=out)
