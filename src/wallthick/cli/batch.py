"""``wallthick batch INPUT_ROOT --out OUT_DIR``: measure every series of a tree."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wallthick.batch import BatchOptions, SeriesOutcome, run_batch
from wallthick.cli._common import (
    _segmenter_choices,
    add_measure_options,
    measure_options,
    positive_int,
    print_summary,
    usage_error,
)
from wallthick.errors import OutputInUseError

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="measure every CT series under a folder tree",
        description=(
            "Measure every series found under INPUT_ROOT (multiphase studies at end-diastole); "
            "write measurements.csv and one folder per series into OUT_DIR. "
            "Exit code 0: all measured; 1: some series failed; 2: usage error."
        ),
    )
    parser.add_argument("input_root", metavar="INPUT_ROOT", help="folder tree of DICOM files")
    add_measure_options(parser)
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="local worker processes (default: CPUs, at most 4; ignored with --scheduler)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="keep series already completed in OUT_DIR"
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="with --resume, also measure again the series that failed",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="run on an existing dask.distributed cluster (e.g. tcp://head:8786)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--labels-root",
        metavar="DIR",
        default=None,
        help=(
            "segmentations made elsewhere, matched to each series: a DICOM SEG referencing it, "
            "a file or folder named after its SeriesInstanceUID, its relative path under "
            "INPUT_ROOT, or a manifest CSV (series_instance_uid,path) in DIR"
        ),
    )
    parser.add_argument(
        "--fallback",
        metavar="SEGMENTER",
        default=None,
        choices=[n for n in _segmenter_choices() if n != "labelmap"],
        help="with --labels-root: segment the series without a match with this segmenter",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        options = BatchOptions(
            **measure_options(args),
            workers=args.workers,
            resume=args.resume,
            retry_failed=args.retry_failed,
            scheduler=args.scheduler,
            labels_root=args.labels_root,
            fallback=args.fallback,
        )
    except ValueError as exc:
        return usage_error("batch", str(exc))
    bar = _ProgressBar(disable=args.no_progress)
    try:
        summary = run_batch(
            args.input_root, args.out, options, progress=bar.update, on_plan=bar.start
        )
    except (ValueError, FileNotFoundError, OutputInUseError) as exc:
        return usage_error("batch", str(exc))
    except OSError as exc:  # e.g. the dask scheduler cannot be reached
        return usage_error("batch", f"{type(exc).__name__}: {exc}")
    finally:
        bar.close()
    print_summary(summary, "batch", args.show_phi)
    return summary.exit_code


class _ProgressBar:
    """tqdm on stderr, counting series as they end."""

    def __init__(self, disable: bool) -> None:
        self._disable = disable
        self._bar: Any = None
        self._failed = 0
        self._qc_failed = 0

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self._bar = tqdm(
            total=total, unit="series", file=sys.stderr, disable=self._disable, dynamic_ncols=True
        )

    def update(self, outcome: SeriesOutcome) -> None:
        if self._bar is None:
            return
        self._failed += outcome.status == "failed"
        self._qc_failed += outcome.status == "qc_failed"
        self._bar.set_postfix(failed=self._failed, qc_failed=self._qc_failed, refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
