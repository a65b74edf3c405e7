"""Measure one series (or one multiphase study) and write its results folder.

:func:`process_task` is what runs on a worker (a local process or a dask
worker): it never raises for a problem with the data. Whatever happens it
returns the series' record and, when it got that far, leaves a completed
``measurement.json`` (written last, atomically) in the series folder.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import hashlib
import logging
import os
import threading
import time
import traceback
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wallthick._version import __version__
from wallthick.errors import InvalidSeriesError, WallthickError
from wallthick.measure.options import MeasureOptions
from wallthick.measure.result import (
    CSV_COLUMNS,
    MeasurementResult,
    SeriesInfo,
    failed_row,
)
from wallthick.results import (
    CORRECTED_NIFTI,
    CORRECTED_SEG,
    LOG_NAME,
    MEASUREMENT_SR,
    QC_PNG,
    RECORD_NAME,
    SEGMENTATION_NIFTI,
    SEGMENTATION_SEG,
    SERIES_COLUMNS,
    RecordError,
    SeriesRecord,
    atomic_write,
    atomic_write_text,
    read_labels,
    read_provenance,
    remove_stale_temporaries,
    series_output_dir,
    write_labels,
    write_record,
)

if TYPE_CHECKING:  # pragma: no cover
    from wallthick.batch.labels import TaskLabels
    from wallthick.io import SeriesDescriptor
    from wallthick.segment import Segmenter

__all__ = ["SeriesTask", "TaskSettings", "process_task", "software_versions"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeriesTask:
    """One unit of work: a series, a multiphase study, or a volume file.

    Attributes
    ----------
    key : str
        Stable identity used by ``--resume`` (``series:<uid>``,
        ``phases:<uid>|<uid>...`` or ``file:<absolute path>``).
    kind : str
        ``"series"``, ``"phases"`` or ``"file"``.
    members : tuple of SeriesDescriptor
        The series found by discovery (one per phase for ``"phases"``; none
        for ``"file"``).
    info : SeriesInfo
        What the row says when the series cannot be measured.
    folder_uids : tuple of str
        Series keys (:func:`wallthick.results.series_keys`, one per member)
        whose :func:`series_output_dir` may hold this task's results (each
        phase for a multiphase study); the first is used for failures.
    secrets : tuple of str
        Strings kept out of logs unless ``show_phi`` (patient ID and name).
    labels : TaskLabels, optional
        Segmentations supplied for this task (``--labels``/``--labels-root``),
        or why none matched; ``None`` when the segmenter computes them.
    refusal : str, optional
        Why this CT series cannot be loaded (discovery found it broken: no
        pixel data, unusable geometry, too few slices); the task then fails
        with this reason, so the series still has its row.
    time_point : int
        Order of this study among the patient's studies in the batch (1 =
        baseline), for the DICOM SR; 0 when unknown.
    """

    key: str
    kind: str
    members: tuple[SeriesDescriptor, ...]
    info: SeriesInfo
    folder_uids: tuple[str, ...]
    secrets: tuple[str, ...] = ()
    labels: TaskLabels | None = None
    refusal: str | None = None
    time_point: int = 0

    @property
    def label(self) -> str:
        """A name for logs and summaries that identifies nobody."""
        return series_output_dir(".", self.folder_uids[0]).name


@dataclass(frozen=True)
class TaskSettings:
    """What every task of a batch shares (picklable)."""

    segmenter: str = "classical"
    show_phi: bool = False
    write_dicom_seg: bool = True
    write_dicom_sr: bool = True
    write_qc: bool = True
    segmenter_options: Mapping[str, Any] = field(default_factory=dict)
    label_mapping: Mapping[Any, Any] | str = "wallthick"
    fallback: str = ""
    measure_options: MeasureOptions = field(default_factory=MeasureOptions)

    def options_record(self) -> dict[str, Any]:
        """The segmentation and measure options as the series record keeps them (JSON)."""
        mapping = self.label_mapping
        if not isinstance(mapping, str):
            mapping = {str(k): getattr(v, "name", str(v)) for k, v in mapping.items()}
        return {
            "segmenter": self.segmenter,
            "segmenter_options": {
                k: self.segmenter_options[k] for k in sorted(self.segmenter_options)
            },
            "label_mapping": mapping,
            "fallback": self.fallback,
            "measure_options": self.measure_options.to_dict(),
        }


def software_versions() -> dict[str, str]:
    """Versions of wallthick and of the libraries that shape its numbers."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"wallthick": __version__, "python": platform.python_version()}
    for dist in ("numpy", "scipy", "scikit-image", "SimpleITK", "pydicom", "highdicom"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = ""
    return out


# -- entry point on the worker ----------------------------------------------------
def process_task(task: SeriesTask, out_dir: str, settings: TaskSettings) -> SeriesRecord:
    """Measure ``task`` and write its folder under ``out_dir``; return its record.

    Never raises for a data problem: a failure (also a full disk while
    writing) is returned, and written when the disk allows, as a record with
    ``status == "failed"``.
    """
    out = Path(out_dir)
    redact = _Redactor(() if settings.show_phi else (*task.secrets, *_path_secrets(task)))
    started = time.monotonic()
    _forget_previous_records(task, out)
    log = _TaskLog(redact)
    with log.capture(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        log.line(f"wallthick {__version__}: measuring {task.kind} {task.label}")
        if settings.show_phi:
            log.line(f"source: {task.info.source_path} patient_id={task.info.patient_id}")
        try:
            record, folder = _measure_and_write(task, out, settings, log)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # data problem, bug, decoder panic: never stops the batch
            folder = series_output_dir(out, task.folder_uids[0])
            record = _failed_record(task, exc, redact, settings)
            log.line(f"FAILED: {type(exc).__name__}: {redact(str(exc))}")
            if not isinstance(exc, (WallthickError, OSError)):
                log.line(redact(traceback.format_exc()))
    record = replace(
        record,
        warnings=tuple(redact(f"{w.category.__name__}: {w.message}") for w in caught),
        elapsed_s=round(time.monotonic() - started, 3),
        finished_utc=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )
    for text in record.warnings:
        log.line(f"warning: {text}")
    log.line(f"status: {record.status} in {record.elapsed_s:.1f} s")
    return _finish(task, record, folder, log, redact, settings)


def _finish(
    task: SeriesTask,
    record: SeriesRecord,
    folder: Path,
    log: _TaskLog,
    redact: _Redactor,
    settings: TaskSettings,
) -> SeriesRecord:
    """Write the log and, last, the record (which marks the series complete)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / LOG_NAME, log.text())
        try:
            write_record(folder, record)
        except (TypeError, ValueError) as exc:  # a value JSON cannot hold: keep the failure
            record = replace(_failed_record(task, exc, redact, settings), warnings=record.warnings)
            write_record(folder, record)
    except OSError as exc:  # a full disk: the series fails, the batch goes on
        logger.error("%s: results not written (%s)", task.label, exc)
        if record.status != "failed":
            record = replace(_failed_record(task, exc, redact, settings), warnings=record.warnings)
        with contextlib.suppress(OSError):  # no stale success left behind
            (folder / RECORD_NAME).unlink(missing_ok=True)
    return record


def _forget_previous_records(task: SeriesTask, out: Path) -> None:
    """Remove this task's old records first, so no stale result outlives a new run."""
    for uid in task.folder_uids:
        with contextlib.suppress(FileNotFoundError):
            (series_output_dir(out, uid) / RECORD_NAME).unlink()


def _measure_and_write(
    task: SeriesTask, out: Path, settings: TaskSettings, log: _TaskLog
) -> tuple[SeriesRecord, Path]:
    if task.refusal:
        raise InvalidSeriesError(task.refusal)
    corrected = _find_corrected(task, out)
    if corrected is not None:
        uid, labels_path = corrected
        log.line(f"using the corrected segmentation of {series_output_dir(out, uid).name}")
        result, source_member = _measure_corrected(task, uid, labels_path, settings)
    else:
        result, source_member = _measure_auto(task, settings, log)
    row = _row(task, result)
    folder = series_output_dir(out, _folder_uid(task, source_member))
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder)
    files = _write_artefacts(result, folder, source_member, settings, log, corrected is not None)
    files["dicom_sr"] = _write_sr(task, result, row, folder, settings, log, files)
    record = _ok_record(task, result, row, settings, files)
    if corrected is not None:
        record = replace(record, corrected=_correction_info(folder))
    return record, folder


# -- measuring -------------------------------------------------------------
def _measure_auto(
    task: SeriesTask, settings: TaskSettings, log: _TaskLog
) -> tuple[MeasurementResult, SeriesDescriptor | None]:
    from wallthick.io import load_study
    from wallthick.measure import measure_wall_thickness

    t0 = time.monotonic()
    source = load_study(task.info.source_path if task.kind == "file" else task.members)
    log.line(f"loaded in {time.monotonic() - t0:.1f} s")
    t0 = time.monotonic()
    segmenter, origin = _segmenter(task, settings, log)
    result = measure_wall_thickness(source, settings.measure_options, segmenter=segmenter)
    log.line(f"segmented and measured in {time.monotonic() - t0:.1f} s")
    if origin != "auto":
        result = replace(
            result, measurement=replace(result.measurement, segmentation_source=origin)
        )
    chosen = result.measurement.series.series_instance_uid or _chosen_phase_uid(result)
    return result, _member(task, chosen)


_MIN_LV_INSIDE = 0.99


def _measure_corrected(
    task: SeriesTask, uid: str, labels_path: Path, settings: TaskSettings
) -> tuple[MeasurementResult, SeriesDescriptor | None]:
    from wallthick.io import load_image, load_series
    from wallthick.measure import measure_labels
    from wallthick.measure.sax import lv_fraction_inside

    member = _member(task, uid)
    image = load_series(member) if member is not None else load_image(task.info.source_path)
    labels = read_labels(labels_path)
    # a correction saved on its own grid (short-axis editing) is measured on that
    # grid, the image sampled onto it; it must lie on the series it belongs to
    if not labels.geometry.same_grid(image.geometry, atol=1e-3):
        inside = lv_fraction_inside(labels, image.geometry)
        if inside < _MIN_LV_INSIDE:
            raise WallthickError(
                f"{labels_path.name}: only {inside:.0%} of the corrected segmentation's LV "
                "lies within its series' field of view; save it again from the napari plugin."
            )
    result = measure_labels(
        labels, image, settings.measure_options, segmentation_source="corrected"
    )
    phase = str(image.metadata.get("phase", "") or "")
    if phase and not result.measurement.phase:
        result = replace(result, measurement=replace(result.measurement, phase=phase))
    return result, member


def _segmenter(task: SeriesTask, settings: TaskSettings, log: _TaskLog) -> tuple[Segmenter, str]:
    """The segmenter of this task and the ``segmentation_source`` it stands for."""
    from wallthick.batch.labels import SuppliedLabelsSegmenter
    from wallthick.errors import SegmentationError
    from wallthick.segment import get_segmenter

    origin = _planned_source(task, settings)
    if origin == "auto":
        return get_segmenter(settings.segmenter, **settings.segmenter_options), origin
    assert task.labels is not None
    if origin == "labels":
        for s in task.labels.sources:
            log.line(f"segmentation supplied ({s.rule}): {s.path}")
        return SuppliedLabelsSegmenter(task.labels, settings.label_mapping), origin
    if origin == "fallback":
        log.line(f"no segmentation supplied ({task.labels.error}); using {settings.fallback}")
        return get_segmenter(settings.fallback), origin
    raise SegmentationError(task.labels.error)


def _planned_source(task: SeriesTask, settings: TaskSettings | None) -> str:
    """``auto``, ``labels``, ``fallback`` or ``none`` (no match, no fallback)."""
    if task.labels is None:
        return "auto"
    if task.labels.sources:
        return "labels"
    return "fallback" if settings is not None and settings.fallback else "none"


def _chosen_phase_uid(result: MeasurementResult) -> str:
    for phase in result.measurement.phases:
        if phase.chosen:
            return phase.series_instance_uid
    return ""


def _member(task: SeriesTask, uid: str) -> SeriesDescriptor | None:
    for m in task.members:
        if m.series_instance_uid == uid:
            return m
    return task.members[0] if task.members else None


def _folder_uid(task: SeriesTask, member: SeriesDescriptor | None) -> str:
    for m, uid in zip(task.members, task.folder_uids, strict=False):
        if m is member:
            return uid
    return task.folder_uids[0]


def _find_corrected(task: SeriesTask, out: Path) -> tuple[str, Path] | None:
    for uid in task.folder_uids:
        path = series_output_dir(out, uid) / CORRECTED_NIFTI
        if path.is_file():
            return uid, path
    return None


# -- writing ---------------------------------------------------------------
def _write_artefacts(
    result: MeasurementResult,
    folder: Path,
    member: SeriesDescriptor | None,
    settings: TaskSettings,
    log: _TaskLog,
    corrected: bool,
) -> dict[str, str | None]:
    """Write the series' labels, DICOM SEG and QC picture; their names by role."""
    files: dict[str, str | None] = {"log": LOG_NAME}
    if not corrected:
        write_labels(result.labels, folder / SEGMENTATION_NIFTI)
        files["segmentation"] = SEGMENTATION_NIFTI
    else:
        files["segmentation"] = (
            SEGMENTATION_NIFTI if (folder / SEGMENTATION_NIFTI).is_file() else None
        )
        files["segmentation_corrected"] = CORRECTED_NIFTI
    source_files = _source_files(member)
    files["dicom_seg"] = None
    if settings.write_dicom_seg:
        name = CORRECTED_SEG if corrected else SEGMENTATION_SEG
        files["dicom_seg"] = _write_seg(result, folder / name, source_files, log, corrected)
    files["qc_png"] = None
    if settings.write_qc:
        from wallthick.report.qc import render_qc_picture

        render_qc_picture(result, folder / QC_PNG)
        files["qc_png"] = QC_PNG
    return files


def _write_sr(
    task: SeriesTask,
    result: MeasurementResult,
    row: dict[str, str],
    folder: Path,
    settings: TaskSettings,
    log: _TaskLog,
    files: dict[str, str | None],
) -> str | None:
    """Write the DICOM SR beside the SEG it references; its name, or None."""
    with contextlib.suppress(FileNotFoundError):  # never leave an SR of an earlier run
        (folder / MEASUREMENT_SR).unlink()
    if not settings.write_dicom_sr:
        return None
    seg = files.get("dicom_seg")
    if not seg:
        log.line("DICOM SR not written: it references the DICOM SEG, which was not written")
        return None
    from wallthick.results.dicomsr import SRContext, write_measurement_sr

    m = result.measurement
    info = replace(m.series, **{k: row[k] for k in SERIES_COLUMNS if not getattr(m.series, k)})
    context = SRContext(
        task.time_point, _analyst(folder) if files.get("segmentation_corrected") else ""
    )
    try:
        with atomic_write(folder / MEASUREMENT_SR) as tmp:
            write_measurement_sr(replace(m, series=info), folder / seg, tmp, context=context)
    except Exception as exc:  # the SR is a by-product: the measurement stands
        log.line(f"DICOM SR not written: {type(exc).__name__}: {exc}")
        return None
    return MEASUREMENT_SR


def _analyst(folder: Path) -> str:
    """Who corrected the segmentation (``analyst`` of its provenance), if recorded."""
    provenance = _correction_info(folder).get("provenance") or {}
    return str(provenance.get("analyst", "") or "") if isinstance(provenance, dict) else ""


def _write_seg(
    result: MeasurementResult, path: Path, source_files: list[Path], log: _TaskLog, corrected: bool
) -> str | None:
    """Write the DICOM SEG; its name, or None when it could not be made.

    The SEG is a by-product: a SEG problem is logged and the measurement
    stands. A full disk is not a SEG problem: it fails the series.
    """
    if not source_files:
        log.line("DICOM SEG not written: the source is not a DICOM series")
        return None
    from wallthick.results import write_seg

    try:
        with atomic_write(path) as tmp:
            write_seg(result.labels, source_files, tmp, corrected=corrected)
    except OSError:
        raise
    except Exception as exc:
        log.line(f"DICOM SEG not written: {type(exc).__name__}: {exc}")
        return None
    return path.name


def _source_files(member: SeriesDescriptor | None) -> list[Path]:
    return [] if member is None else sorted(set(member.files))


# -- records ---------------------------------------------------------------
def _row(task: SeriesTask, result: MeasurementResult) -> dict[str, str]:
    row = result.measurement.to_row()
    for key in SERIES_COLUMNS:
        if not row.get(key):
            row[key] = str(getattr(task.info, key))
    if task.kind == "phases":
        chosen = _chosen_phase_uid(result)
        if chosen:
            row["series_instance_uid"] = chosen
    return {c: row.get(c, "") for c in CSV_COLUMNS}


def _ok_record(
    task: SeriesTask,
    result: MeasurementResult,
    row: dict[str, str],
    settings: TaskSettings,
    files: dict[str, str | None],
) -> SeriesRecord:
    m = result.measurement
    info = replace(m.series, **{k: row[k] for k in SERIES_COLUMNS if not getattr(m.series, k)})
    m = replace(m, series=info)
    return _record(
        task,
        settings,
        status=m.status,
        row=row,
        measurement=m,
        phases=tuple(m.to_dict()["phases"]),
        files=files,
    )


def _failed_record(
    task: SeriesTask, exc: BaseException, redact: _Redactor, settings: TaskSettings | None = None
) -> SeriesRecord:
    message = f"{type(exc).__name__}: {exc}" if not isinstance(exc, WallthickError) else str(exc)
    criteria = tuple(getattr(exc, "criteria", ()) or ())
    row = failed_row(task.info, message, criteria)
    if task.labels is not None:
        row["segmentation_source"] = _planned_source(task, settings)
    error = RecordError(
        type=type(exc).__name__,
        message=message,
        message_redacted=redact(message),
        criteria=tuple(str(c) for c in criteria),
        retryable=_retryable(exc),
    )
    return _record(task, settings, status="failed", row=row, error=error, files={"log": LOG_NAME})


#: Errors of the machine, not of the data: ``--resume`` measures such a series again.
_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _retryable(exc: BaseException) -> bool:
    """Out of memory, or a full disk (also as wrapped by pydicom, or as ITK's message)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MemoryError):
            return True
        if isinstance(seen, OSError) and seen.errno in _DISK_ERRNOS:
            return True
        if any(os.strerror(code) in str(seen) for code in _DISK_ERRNOS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def failure_record(task: SeriesTask, message: str) -> SeriesRecord:
    """The record of a series whose worker died or could not run it (retried by --resume)."""
    error = RecordError("WorkerError", message, message, retryable=True)
    return _record(
        task,
        None,
        status="failed",
        row=failed_row(task.info, message),
        error=error,
        files={"log": LOG_NAME},
        finished_utc=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )


def _record(task: SeriesTask, settings: TaskSettings | None, **fields: Any) -> SeriesRecord:
    return SeriesRecord(
        task_key=task.key,
        task_kind=task.kind,
        folder_uids=task.folder_uids,
        options=settings.options_record() if settings else {"segmenter": ""},
        labels=_labels_record(task, settings),
        versions=software_versions(),
        **fields,
    )


def _labels_record(
    task: SeriesTask, settings: TaskSettings | None
) -> tuple[dict[str, str], ...] | None:
    """The supplied segmentations (rule, SHA-256; path with show_phi), ``None`` if none asked."""
    if task.labels is None:
        return None
    show_phi = bool(settings and settings.show_phi)
    return tuple(s.to_record(show_phi) for s in task.labels.sources)


def _correction_info(folder: Path) -> dict[str, Any]:
    info: dict[str, Any] = {
        "file": CORRECTED_NIFTI,
        "sha256": file_sha256(folder / CORRECTED_NIFTI),
    }
    provenance = read_provenance(folder)
    if provenance is not None:
        info["provenance"] = provenance
    return info


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (identifies a saved correction)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- logs without patient identifiers --------------------------------------------
class _Redactor:
    """Replace patient identifiers and input paths in log text."""

    def __init__(self, secrets: Sequence[str]) -> None:
        found = {s for s in secrets if s and len(s.strip()) >= 2}
        self._secrets = sorted(found, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


def _path_secrets(task: SeriesTask) -> tuple[str, ...]:
    path = task.info.source_path
    return (path, os.path.abspath(path)) if path else ()


class _TaskLog:
    """The lines of one series' ``log.txt``, plus wallthick log records of this thread."""

    def __init__(self, redact: _Redactor) -> None:
        self._redact = redact
        self._lines: list[str] = []

    def line(self, text: str) -> None:
        stamp = _dt.datetime.now(_dt.UTC).strftime("%H:%M:%S")
        self._lines.append(f"{stamp} {self._redact(text)}")

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"

    @contextmanager
    def capture(self) -> Iterator[None]:
        handler = _ListHandler(self, threading.get_ident())
        root = logging.getLogger("wallthick")
        root.addHandler(handler)
        try:
            yield
        finally:
            root.removeHandler(handler)


class _ListHandler(logging.Handler):
    def __init__(self, log: _TaskLog, thread: int) -> None:
        super().__init__(logging.DEBUG)
        self._log = log
        self._thread = thread
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self._thread:
            return
        try:
            self._log.line(self.format(record))
        except Exception:  # a logging handler must never raise
            self.handleError(record)


def task_for_file(path: str | os.PathLike[str]) -> SeriesTask:
    """The task measuring one volume file (NIfTI, NRRD, MHA)."""
    absolute = os.path.abspath(os.fspath(path))
    key = f"file:{absolute}"
    return SeriesTask(
        key=key,
        kind="file",
        members=(),
        info=SeriesInfo(source_path=absolute),
        folder_uids=(key,),
    )
