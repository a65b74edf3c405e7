"""Batch measurement: a tree of scans in, a complete table and per-series folders out.

Public API: :func:`run_batch` (discover, measure in parallel or on a dask
cluster, resume), :func:`measure_to_folder` (one series or volume file),
:func:`series_output_dir`, :func:`load_results` and :func:`load_measurements_from_sr`
(re-exported from :mod:`wallthick.results`, the results folder contract, see
``docs/output_schema.md``).
"""

from wallthick.batch.plan import SkippedSeries
from wallthick.batch.runner import (
    BatchOptions,
    BatchSummary,
    SeriesOutcome,
    measure_to_folder,
    run_batch,
)
from wallthick.results import (
    CSV_NAME,
    OUTPUT_SCHEMA_VERSION,
    SKIPPED_NAME,
    StoredResult,
    load_measurements_from_sr,
    load_results,
    series_output_dir,
)

__all__ = [
    "CSV_NAME",
    "OUTPUT_SCHEMA_VERSION",
    "SKIPPED_NAME",
    "BatchOptions",
    "BatchSummary",
    "SeriesOutcome",
    "SkippedSeries",
    "StoredResult",
    "load_measurements_from_sr",
    "load_results",
    "measure_to_folder",
    "run_batch",
    "series_output_dir",
]
