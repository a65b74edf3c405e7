"""``run_batch``: discover, plan, resume, measure in parallel, collect the table."""

from __future__ import annotations

import datetime as _dt
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wallthick.batch.executors import run_tasks
from wallthick.batch.lock import output_lock
from wallthick.batch.plan import SkippedSeries, plan_tasks, with_time_points
from wallthick.batch.series import (
    SeriesTask,
    TaskSettings,
    failure_record,
    file_sha256,
    process_task,
    software_versions,
)
from wallthick.measure.options import MeasureOptions
from wallthick.measure.result import CSV_COLUMNS
from wallthick.results import (
    CORRECTED_NIFTI,
    CSV_NAME,
    LOG_NAME,
    MANIFEST_NAME,
    OUTPUT_SCHEMA_VERSION,
    REJECTED_NAME,
    SKIPPED_COLUMNS,
    SKIPPED_NAME,
    SeriesRecord,
    atomic_write_json,
    atomic_write_text,
    read_record,
    series_output_dir,
    sort_rows,
    write_csv,
    write_record,
)

if TYPE_CHECKING:  # pragma: no cover
    from wallthick.io import RejectedFile

__all__ = [
    "BatchOptions",
    "BatchSummary",
    "SeriesOutcome",
    "measure_to_folder",
    "run_batch",
    "run_tasks_into",
]

logger = logging.getLogger(__name__)

#: measurements.csv is rewritten at most this often while a batch runs (and at its end).
_CSV_INTERVAL_S = 2.0


@dataclass(frozen=True)
class BatchOptions:
    """Options of :func:`run_batch`.

    Parameters
    ----------
    segmenter : str
        Name from :func:`wallthick.segment.available_segmenters`.
    workers : int, optional
        Local worker processes (default: number of CPUs, at most 4).
    resume : bool
        Reuse completed series records found in the output folder.
    retry_failed : bool
        With ``resume``, measure again the series whose record says failed
        (by default only failures marked retryable, e.g. a dead worker, are).
    scheduler : str, optional
        Address of a dask.distributed scheduler; tasks run on its workers.
    show_phi : bool
        Allow patient IDs and input paths in logs.
    write_dicom_seg, write_qc : bool
        Write ``segmentation_seg.dcm`` / ``qc.png`` for each series.
    write_dicom_sr : bool
        Write ``measurement_sr.dcm`` (DICOM SR, TID 1500) beside the SEG.
    segmenter_options : mapping
        Keyword options of the segmenter (e.g. ``{"lv_seed_mm": [x, y, z]}``).
    labels : path, optional
        One segmentation made elsewhere for the series of
        :func:`measure_to_folder` (label file, DICOM SEG or mask folder).
    labels_root : path, optional
        A folder of segmentations made elsewhere, matched to each series
        (see :mod:`wallthick.batch.labels`); then ``segmenter`` is not used.
    label_mapping : str or mapping
        Preset (``"wallthick"``, ``"totalsegmentator"``) or source value /
        structure name -> label mapping of the supplied segmentations.
    fallback : str, optional
        Segmenter for the series without a supplied segmentation (default:
        such a series fails).
    measure_options : MeasureOptions
        Options of the measurement (``--option``/``--config``); kept in each
        series' record, and ``resume`` measures again a series measured with
        other options.
    """

    segmenter: str = "classical"
    workers: int | None = None
    resume: bool = False
    retry_failed: bool = False
    scheduler: str | None = None
    show_phi: bool = False
    write_dicom_seg: bool = True
    write_dicom_sr: bool = True
    write_qc: bool = True
    segmenter_options: Mapping[str, Any] = field(default_factory=dict)
    labels: str | None = None
    labels_root: str | None = None
    label_mapping: Mapping[Any, Any] | str = "wallthick"
    fallback: str | None = None
    measure_options: MeasureOptions = field(default_factory=MeasureOptions)

    def __post_init__(self) -> None:
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            raise ValueError(f"Argument 'workers' must be an int >= 1, got {self.workers!r}.")
        if not isinstance(self.segmenter, str) or not self.segmenter:
            raise ValueError(f"Argument 'segmenter' must be a name, got {self.segmenter!r}.")
        if self.labels is not None and self.labels_root is not None:
            raise ValueError("Give either 'labels' (one series) or 'labels_root', not both.")
        if self.fallback is not None and self.labels_root is None:
            raise ValueError("Argument 'fallback' needs 'labels_root' (it segments the rest).")
        if not isinstance(self.measure_options, MeasureOptions):
            raise TypeError(
                "Argument 'measure_options' must be a MeasureOptions, "
                f"got {type(self.measure_options).__name__}."
            )
        if self.segmenter == "labelmap" and not self.supplies_labels:
            raise ValueError(
                "The segmenter 'labelmap' reads segmentations made elsewhere: give 'labels' "
                "(wallthick measure --labels PATH) or 'labels_root' (wallthick batch "
                "--labels-root DIR)."
            )
        from wallthick.segment.labelmap import _resolve_mapping

        _resolve_mapping(self.label_mapping)  # a bad mapping fails here, not on every worker

    @property
    def supplies_labels(self) -> bool:
        """Segmentations come from elsewhere (``labels`` or ``labels_root``)."""
        return self.labels is not None or self.labels_root is not None

    def settings(self) -> TaskSettings:
        return TaskSettings(
            segmenter="labelmap" if self.supplies_labels else self.segmenter,
            show_phi=self.show_phi,
            write_dicom_seg=self.write_dicom_seg,
            write_dicom_sr=self.write_dicom_sr,
            write_qc=self.write_qc,
            segmenter_options=dict(self.segmenter_options),
            label_mapping=self.label_mapping,
            fallback=self.fallback or "",
            measure_options=self.measure_options,
        )

    def n_workers(self) -> int:
        return self.workers or max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class SeriesOutcome:
    """How one task ended (given to the progress callback and in the summary)."""

    label: str  # the series folder name: identifies nobody
    status: str  # "ok" | "qc_failed" | "failed" (wallthick.measure.STATUSES)
    reused: bool
    error: str  # redacted unless show_phi
    elapsed_s: float
    row: Mapping[str, str]


@dataclass(frozen=True)
class BatchSummary:
    """What a batch did; ``exit_code`` is the command line's (0 all ok, 1 a series failed)."""

    out_dir: Path
    n_series_found: int
    outcomes: tuple[SeriesOutcome, ...]
    skipped: tuple[SkippedSeries, ...]
    elapsed_s: float
    n_rejected_files: int = 0

    @property
    def n_ok(self) -> int:
        return sum(o.status == "ok" for o in self.outcomes)

    @property
    def n_qc_failed(self) -> int:
        return sum(o.status == "qc_failed" for o in self.outcomes)

    @property
    def n_failed(self) -> int:
        return sum(o.status == "failed" for o in self.outcomes)

    @property
    def n_reused(self) -> int:
        return sum(o.reused for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        """0 every measured series is ok; 1 a series failed or failed QC, or nothing
        was measured."""
        return 0 if self.n_failed == 0 and self.n_qc_failed == 0 and self.n_ok > 0 else 1


Progress = Callable[[SeriesOutcome], None]


def run_batch(
    input_root: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    options: BatchOptions | None = None,
    *,
    progress: Progress | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> BatchSummary:
    """Measure every series under ``input_root``; write results to ``out_dir``.

    Parameters
    ----------
    input_root : path
        Folder tree of DICOM files (read only; nothing is written there).
    out_dir : path
        Results folder (created); must not lie inside ``input_root``.
    options : BatchOptions, optional
        Workers, resume, segmenter, dask scheduler, ...
    progress : callable, optional
        Called with a :class:`SeriesOutcome` as each series ends.
    on_plan : callable, optional
        Called once with the number of tasks (for a progress bar's total).

    Returns
    -------
    BatchSummary

    Raises
    ------
    ValueError
        ``input_root`` is not a folder, or ``out_dir`` is inside it.
    """
    opts = options or BatchOptions()
    root, out = _check_paths(input_root, out_dir)
    from wallthick.io import discover_series

    started = time.monotonic()
    found = discover_series(root)
    descriptors = list(found)
    rejected = list(found.rejected)
    tasks, skipped = plan_tasks(descriptors)
    tasks = with_time_points(tasks)
    logger.info(
        "%d series found: %d to measure, %d skipped", len(descriptors), len(tasks), len(skipped)
    )
    if opts.labels is not None:
        raise ValueError(
            "Argument 'labels' names one segmentation: use it with measure_to_folder, "
            "or give a batch 'labels_root'."
        )
    tasks = _attach_labels(tasks, root, opts)
    return _run_planned(
        root, out, opts, tasks, skipped, rejected, len(descriptors), started, progress, on_plan
    )


def measure_to_folder(
    input_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    options: BatchOptions | None = None,
) -> BatchSummary:
    """Measure one series (DICOM folder or file of it) or one volume file, in this process.

    Writes the same layout as :func:`run_batch` (one row in measurements.csv).

    Raises
    ------
    ValueError
        ``input_path`` does not exist, holds several series (use
        :func:`run_batch`), or ``out_dir`` is inside the input's folder.
    """
    from wallthick.batch.series import task_for_file
    from wallthick.io import discover_series
    from wallthick.io.image import VOLUME_SUFFIXES

    opts = options or BatchOptions()
    src = Path(input_path)
    if not src.exists():
        raise ValueError(f"Argument 'input_path' must exist, got {str(src)!r}.")
    root = src if src.is_dir() else src.parent
    _, out = _check_paths(root, out_dir)
    started = time.monotonic()
    if src.is_file() and src.name.lower().endswith(VOLUME_SUFFIXES):
        tasks = _attach_labels([task_for_file(src)], root, opts)
        return _run_planned(root, out, opts, tasks, [], [], 1, started, None, None, True)
    found = discover_series(root)
    wanted = src.resolve()
    descriptors = [
        d for d in found if src.is_dir() or wanted in {Path(f).resolve() for f in d.files}
    ]
    rejected = list(found.rejected)
    tasks, skipped = plan_tasks(descriptors)
    if len(tasks) > 1:
        raise ValueError(
            f"{src} holds {len(tasks)} series; measure one series folder or file, "
            "or use 'wallthick batch' for a tree."
        )
    tasks = _attach_labels(tasks, root, opts)
    return _run_planned(
        root, out, opts, tasks, skipped, rejected, len(descriptors), started, None, None, True
    )


def _run_planned(
    root: Path,
    out: Path,
    opts: BatchOptions,
    tasks: Sequence[SeriesTask],
    skipped: Sequence[SkippedSeries],
    rejected: Sequence[RejectedFile],
    n_found: int,
    started: float,
    progress: Progress | None,
    on_plan: Callable[[int], None] | None,
    in_process: bool = False,
) -> BatchSummary:
    out.mkdir(parents=True, exist_ok=True)
    with output_lock(out):
        write_csv(out / SKIPPED_NAME, (s.to_row() for s in skipped), SKIPPED_COLUMNS)
        write_csv(
            out / REJECTED_NAME,
            ({"path": str(r.path), "reason": str(r.reason)} for r in rejected),
            ("path", "reason"),
        )
        manifest = _manifest(root, opts, tasks, skipped, n_found)
        manifest["n_rejected_files"] = len(rejected)
        atomic_write_json(out / MANIFEST_NAME, {**manifest, "state": "running"})
        if on_plan is not None:
            on_plan(len(tasks))
        outcomes = run_tasks_into(tasks, out, opts, progress=progress, in_process=in_process)
        summary = BatchSummary(
            out, n_found, tuple(outcomes), tuple(skipped), time.monotonic() - started, len(rejected)
        )
        atomic_write_json(
            out / MANIFEST_NAME, {**manifest, **_counts(summary), "state": "finished"}
        )
        return summary


def run_tasks_into(
    tasks: Sequence[SeriesTask],
    out: Path,
    opts: BatchOptions,
    *,
    progress: Progress | None = None,
    in_process: bool = False,
) -> list[SeriesOutcome]:
    """Run ``tasks`` (reusing completed ones with ``opts.resume``); keep the CSV current."""
    table = _Table(out / CSV_NAME)
    outcomes: list[SeriesOutcome] = []
    todo: list[SeriesTask] = []
    for task in tasks:
        record = _completed_record(task, out, opts) if opts.resume else None
        if record is None:
            todo.append(task)
            continue
        outcome = _outcome(task, record, reused=True)
        table.add(task.key, record.row)
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    table.flush()
    if opts.resume:
        logger.info("resume: %d series already complete, %d to measure", len(outcomes), len(todo))

    def done(task: SeriesTask, record: SeriesRecord | None, error: str | None) -> None:
        if record is None:
            record = _infrastructure_failure(task, out, error or "unknown failure")
        outcome = _outcome(task, record, reused=False)
        table.add(task.key, record.row)
        table.flush(force=False)
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)

    settings = opts.settings()
    todo.sort(key=_work_estimate, reverse=True)  # largest first: no big series left for the end
    if in_process:
        for task in todo:
            done(task, process_task(task, str(out), settings), None)
    else:
        run_tasks(
            todo,
            process_task,
            (str(out), settings),
            on_done=done,
            workers=opts.n_workers(),
            scheduler=opts.scheduler,
        )
    table.flush()
    return outcomes


# -- helpers -----------------------------------------------------------------------
def _attach_labels(tasks: Sequence[SeriesTask], root: Path, opts: BatchOptions) -> list[SeriesTask]:
    """Tasks with their supplied segmentations (``labels`` / ``labels_root``)."""
    from wallthick.batch.labels import given_labels, match_labels

    if opts.labels is not None:
        return given_labels(tasks, opts.labels)
    if opts.labels_root is not None:
        return match_labels(tasks, root, opts.labels_root)
    return list(tasks)


def _work_estimate(task: SeriesTask) -> int:
    """Voxels to load and segment (from the headers); orders tasks largest first.

    With the largest series started first, the batch does not end with one
    worker busy on a big series while the others are idle.
    """
    return sum(
        m.rows * m.columns * max(len(m.planes) or len(m.files), m.slice_count) for m in task.members
    )


def _check_paths(
    input_root: str | os.PathLike[str], out_dir: str | os.PathLike[str]
) -> tuple[Path, Path]:
    root = Path(input_root)
    if not root.is_dir():
        raise ValueError(f"Argument 'input_root' must be an existing folder, got {str(root)!r}.")
    out = Path(out_dir)
    root_r, out_r = root.resolve(), out.resolve()
    if out_r == root_r or root_r in out_r.parents:
        raise ValueError(
            f"Argument 'out_dir' ({out}) must not be inside the input tree ({root}): "
            "wallthick never writes into the input."
        )
    return root, out


class _Table:
    """Rows by task key; measurements.csv rebuilt from them, atomically."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._rows: dict[str, Mapping[str, str]] = {}
        self._written = 0.0

    def add(self, key: str, row: Mapping[str, str]) -> None:
        self._rows[key] = row

    def flush(self, force: bool = True) -> None:
        now = time.monotonic()
        if not force and now - self._written < _CSV_INTERVAL_S:
            return
        write_csv(self._path, sort_rows(self._rows.values()), CSV_COLUMNS)
        self._written = now


def _completed_record(task: SeriesTask, out: Path, opts: BatchOptions) -> SeriesRecord | None:
    """The task's record from an earlier run, if it can be reused as it is."""
    for uid in task.folder_uids:
        record = read_record(series_output_dir(out, uid))
        if record is None or record.task_key != task.key:
            continue
        if record.status == "failed":
            if opts.retry_failed or (record.error is not None and record.error.retryable):
                return None
        elif not _same_segmentation(task, record, opts):
            return None
        if not _correction_is_current(task, out, record):
            return None
        return record
    return None


def _same_segmentation(task: SeriesTask, record: SeriesRecord, opts: BatchOptions) -> bool:
    """The record was measured as this run would: same options, same supplied files."""
    wanted = opts.settings().options_record()
    if any(record.options.get(k, default) != wanted[k] for k, default in _OPTION_DEFAULTS.items()):
        return False
    if task.labels is None:
        return record.labels is None
    had = sorted(
        [s.get("series_instance_uid", ""), s.get("sha256", "")] for s in record.labels or ()
    )
    return record.labels is not None and had == task.labels.fingerprint()


#: Options a record may lack (written before they existed): their defaults.
_OPTION_DEFAULTS: dict[str, Any] = {
    "segmenter": None,
    "segmenter_options": {},
    "label_mapping": "wallthick",
    "fallback": "",
    "measure_options": MeasureOptions().to_dict(),
}


def _correction_is_current(task: SeriesTask, out: Path, record: SeriesRecord) -> bool:
    """False when a corrected segmentation was saved (or changed) since the record."""
    for uid in task.folder_uids:
        path = series_output_dir(out, uid) / CORRECTED_NIFTI
        if path.is_file():
            used = (record.corrected or {}).get("sha256")
            return bool(used) and used == file_sha256(path)
    return record.row.get("segmentation_source", "auto") != "corrected"


def _outcome(task: SeriesTask, record: SeriesRecord, reused: bool) -> SeriesOutcome:
    return SeriesOutcome(
        label=task.label,
        status=record.status,
        reused=reused,
        error=record.error.message_redacted if record.error else "",
        elapsed_s=record.elapsed_s,
        row=dict(record.row),
    )


def _infrastructure_failure(task: SeriesTask, out: Path, error: str) -> SeriesRecord:
    """Record a series whose worker died or could not run it (retried by --resume)."""
    record = failure_record(task, error)
    folder = series_output_dir(out, task.folder_uids[0])
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / LOG_NAME, f"FAILED: {error}\n")
        write_record(folder, record)
    except OSError as exc:  # a full disk: the row still says failed
        logger.error("%s: failure record not written (%s)", task.label, exc)
    logger.error("%s: %s", task.label, error)
    return record


def _manifest(
    root: Path,
    opts: BatchOptions,
    tasks: Sequence[SeriesTask],
    skipped: Sequence[SkippedSeries],
    n_found: int,
) -> dict[str, Any]:
    return {
        "output_schema_version": OUTPUT_SCHEMA_VERSION,
        "input_root": str(root.resolve()) if opts.show_phi else "",
        "started_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "options": {
            **opts.settings().options_record(),
            "labels_root": str(opts.labels_root or "") if opts.show_phi else "",
            "workers": opts.n_workers(),
            "scheduler": opts.scheduler or "",
            "resume": opts.resume,
            "show_phi": opts.show_phi,
        },
        "versions": software_versions(),
        "n_series_found": n_found,
        "n_skipped": len(skipped),
        "series_folders": sorted({series_output_dir(".", t.folder_uids[0]).name for t in tasks}),
    }


def _counts(summary: BatchSummary) -> dict[str, Any]:
    return {
        "n_ok": summary.n_ok,
        "n_qc_failed": summary.n_qc_failed,
        "n_failed": summary.n_failed,
        "n_reused": summary.n_reused,
        "elapsed_s": round(summary.elapsed_s, 3),
        "finished_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
