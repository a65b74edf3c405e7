"""From the loader's discovery to a list of tasks (and of skipped series).

Every CT image series discovery finds becomes a task (one per series, one per
multiphase study), so it is a row of ``measurements.csv``: a broken one (no
pixel data, unusable geometry, too few slices) becomes a task that fails with
the loader's reason. Only what is not a CT volume at all (other modalities and
objects, localizers, derived images) is listed in ``skipped.csv``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from wallthick.batch.series import SeriesTask
from wallthick.io import SeriesDescriptor, find_phase_groups, is_ct_image_series
from wallthick.measure.result import SeriesInfo
from wallthick.results import series_keys, source_folder

__all__ = ["SkippedSeries", "plan_tasks", "with_time_points"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkippedSeries:
    """A series found by discovery and not measured, with the reason."""

    series_instance_uid: str
    study_instance_uid: str
    modality: str
    n_files: int
    reason: str
    source_path: str

    def to_row(self) -> dict[str, str]:
        return {k: str(getattr(self, k)) for k in self.__dataclass_fields__}


def plan_tasks(
    descriptors: Sequence[SeriesDescriptor],
) -> tuple[list[SeriesTask], list[SkippedSeries]]:
    """Split discovered series into measuring tasks and skipped series.

    Usable CT series are measured; series that :func:`wallthick.io.find_phase_groups`
    puts in one multiphase group become a single task (the measurement picks
    end-diastole). A CT image series that cannot be loaded becomes a task that
    fails with discovery's reason; anything else is skipped.
    """
    measurable = [d for d in descriptors if d.usable]
    broken = [d for d in descriptors if not d.usable and is_ct_image_series(d)]
    skipped = [_skipped(d) for d in descriptors if not d.usable and not is_ct_image_series(d)]
    keyed = [*measurable, *broken]
    key_of = {id(d): k for d, k in zip(keyed, series_keys(keyed), strict=True)}
    tasks: list[SeriesTask] = []
    grouped: set[int] = set()
    for group in find_phase_groups(measurable):
        multiframe = len(group) == 1 and group[0].temporal_positions > 1
        if len(group) < 2 and not multiframe:
            continue
        grouped.update(id(m) for m in group)
        tasks.append(_task("phases", tuple(group), tuple(key_of[id(m)] for m in group)))
    for desc in measurable:
        if id(desc) not in grouped:
            tasks.append(_task("series", (desc,), (key_of[id(desc)],)))
    for desc in broken:
        task = _task("series", (desc,), (key_of[id(desc)],))
        where = str(desc.files[0]) if len(desc.files) == 1 else source_folder(desc)
        tasks.append(replace(task, refusal=f"{where}: {desc.skip_reason}"))
    tasks.sort(key=lambda t: t.key)
    return tasks, skipped


def with_time_points(tasks: Sequence[SeriesTask]) -> list[SeriesTask]:
    """``tasks`` with each one's time point: the order of its study among its
    patient's studies (1 = baseline), by study date and time.

    A task keeps time point 0 (unknown) when it has no patient ID, or when a
    study of its patient has no study date: the order would be a guess.
    """
    by_patient: dict[str, list[SeriesTask]] = {}
    for task in tasks:
        if task.info.patient_id:
            by_patient.setdefault(task.info.patient_id, []).append(task)
    order: dict[str, int] = {}
    for group in by_patient.values():
        if any(not t.info.study_date for t in group):
            continue
        studies = sorted(
            {(t.info.study_date, t.info.study_time, t.info.study_instance_uid) for t in group}
        )
        rank = {study: i + 1 for i, study in enumerate(studies)}
        for t in group:
            order[t.key] = rank[(t.info.study_date, t.info.study_time, t.info.study_instance_uid)]
    return [replace(t, time_point=order.get(t.key, 0)) for t in tasks]


def _info(desc: SeriesDescriptor) -> SeriesInfo:
    return SeriesInfo(
        patient_id=desc.patient_id,
        study_date=desc.study_date,
        study_time=desc.study_time,
        study_instance_uid=desc.study_instance_uid,
        series_instance_uid=desc.series_instance_uid,
        series_description=desc.series_description,
        source_path=source_folder(desc),
    )


def _secrets(desc: SeriesDescriptor) -> tuple[str, ...]:
    name = desc.patient_name
    parts = [p for p in name.replace("^", " ").split() if len(p) >= 3]
    return tuple(s for s in (desc.patient_id, name, *parts) if s.strip())


def _task(kind: str, members: tuple[SeriesDescriptor, ...], keys: tuple[str, ...]) -> SeriesTask:
    paths = [source_folder(m) for m in members]
    secrets = tuple(dict.fromkeys([*(s for m in members for s in _secrets(m)), *paths]))
    return SeriesTask(
        key=f"{kind}:{'|'.join(sorted(keys))}",
        kind=kind,
        members=members,
        info=_info(members[0]),
        folder_uids=keys,
        secrets=secrets,
    )


def _skipped(desc: SeriesDescriptor) -> SkippedSeries:
    return SkippedSeries(
        series_instance_uid=desc.series_instance_uid,
        study_instance_uid=desc.study_instance_uid,
        modality=desc.modality,
        n_files=len(desc.files),
        reason=desc.skip_reason or "",
        source_path=source_folder(desc),
    )
