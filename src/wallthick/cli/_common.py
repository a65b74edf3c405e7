"""Argument types and printing shared by the measuring subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from wallthick.batch import BatchSummary, SeriesOutcome

__all__ = [
    "USAGE_ERROR",
    "add_measure_options",
    "key_value",
    "label_mapping",
    "measure_options",
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


def label_mapping(text: str) -> Any:
    """argparse type: a label-mapping preset name or a JSON mapping file (checked)."""
    from wallthick.segment.labelmap import load_label_mapping

    try:
        return load_label_mapping(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def key_value(text: str) -> tuple[str, Any]:
    """argparse type: ``KEY=VALUE``; the value is read as JSON when it parses, else text."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        parsed: Any = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    return key.strip(), parsed


def measure_options(args: argparse.Namespace) -> dict[str, Any]:
    """``BatchOptions`` keywords of the options :func:`add_measure_options` adds.

    Raises
    ------
    ValueError
        ``--config`` or ``--option`` names an unknown measure option or gives
        a bad value (the message names the key and what it accepts).
    """
    return {
        "segmenter": args.segmenter,
        "show_phi": args.show_phi,
        "write_dicom_seg": not args.no_dicom_seg,
        "write_dicom_sr": not args.no_dicom_sr,
        "write_qc": not args.no_qc,
        "segmenter_options": dict(args.segmenter_option or ()),
        "label_mapping": args.label_mapping,
        "measure_options": _measure_options(args.config, args.option or ()),
    }


def _measure_options(config: str | None, pairs: Any) -> Any:
    """``MeasureOptions`` from a JSON file, overridden by ``--option KEY=VALUE`` pairs."""
    from wallthick.measure import MeasureOptions

    values: dict[str, Any] = {}
    if config is not None:
        try:
            loaded = json.loads(Path(config).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"--config {config}: cannot read the JSON file ({exc}).") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"--config {config}: expected a JSON object of measure options.")
        values.update(loaded)
    values.update(dict(pairs))
    try:
        return MeasureOptions.from_mapping(values)
    except (TypeError, ValueError) as exc:
        where = f"--config {config} / --option" if config else "--option"
        raise ValueError(f"{where}: {exc}") from None


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
        "--segmenter-option",
        type=key_value,
        action="append",
        metavar="KEY=VALUE",
        help="segmenter option, repeatable; VALUE is JSON or text (e.g. lv_seed_mm=[10,-4,30])",
    )
    parser.add_argument(
        "--label-mapping",
        type=label_mapping,
        default="wallthick",
        metavar="NAME|FILE.json",
        help=(
            "how the values or structure names of supplied segmentations map to wallthick "
            "labels: totalsegmentator, wallthick (default) or a JSON file "
            '{"7": "LV_BLOOD_POOL", "9": "LV_MYOCARDIUM"}'
        ),
    )
    parser.add_argument(
        "--option",
        type=key_value,
        action="append",
        metavar="KEY=VALUE",
        help=(
            "measure option, repeatable; VALUE is JSON (e.g. grid_mm=0.8, "
            "wall_range_mm=[2,25], on_qc_failure=flag); see MeasureOptions"
        ),
    )
    parser.add_argument(
        "--config",
        metavar="FILE.json",
        default=None,
        help='measure options as a JSON object ({"grid_mm": 0.8}); --option overrides it',
    )
    parser.add_argument(
        "--show-phi",
        action="store_true",
        help="allow patient IDs and input paths in logs and the summary",
    )
    parser.add_argument("--no-dicom-seg", action="store_true", help="do not write DICOM SEG files")
    parser.add_argument(
        "--no-dicom-sr",
        action="store_true",
        help="do not write DICOM SR measurement reports (TID 1500; written beside the SEG)",
    )
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
    print(
        f"  QC failed       {summary.n_qc_failed} (measured, values not usable as they are)",
        file=out,
    )
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
    flagged = [o for o in summary.outcomes if o.status == "qc_failed"]
    if flagged:
        print(
            f"QC failed on {len(flagged)} series (status qc_failed; criteria in column "
            "qc_flags): look at their qc.png, correct the segmentation and run again.",
            file=out,
        )
        for o in flagged:
            print(f"  {o.label}: {o.row.get('qc_flags', '').replace(';', ', ')}", file=out)
    print(f"Results: {summary.out_dir / 'measurements.csv'}", file=out)
