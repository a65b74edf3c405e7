"""From the loader's discovery to a list of tasks (and of skipped series).

Every CT image series discovery finds becomes a task (one per series, one per
multiphase study), so it is a row of ``measurements.csv``: a broken one (no
pixel data, unusable geometry, too few slices) becomes a task that fails with
the loader's reason. Only what is not a CT volume at all (other modalities and
objects, localizers, derived images) is listed in ``skipped.csv``.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wallthick.batch.series import SeriesTask
from wallthick.measure.result import SeriesInfo

__all__ = ["SkippedSeries", "plan_tasks", "with_time_points", "MIN_SLICES"]

logger = logging.getLogger(__name__)

#: Used only for descriptors without the loader's own ``skip_reason``.
MIN_SLICES = 3


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


def plan_tasks(descriptors: Sequence[Any]) -> tuple[list[SeriesTask], list[SkippedSeries]]:
    """Split discovered series into measuring tasks and skipped series.

    CT series with enough slices are measured; series that
    :func:`wallthick.io.find_phase_groups` puts in one multiphase group become a
    single task (the measurement picks end-diastole).
    """
    from wallthick.io import find_phase_groups

    measurable, broken, skipped = [], [], []
    for desc in descriptors:
        reason = _skip_reason(desc)
        if not reason:
            measurable.append(desc)
        elif _is_ct_image_series(desc):
            broken.append((desc, reason))
        else:
            skipped.append(_skipped(desc, reason))
    folder_uid = _folder_uids([*measurable, *(d for d, _ in broken)])
    tasks: list[SeriesTask] = []
    grouped: set[int] = set()
    for group in find_phase_groups(measurable):
        members = tuple(_group_members(group))
        multiframe = len(members) == 1 and getattr(members[0], "temporal_positions", 1) > 1
        if len(members) < 2 and not multiframe:
            continue
        grouped.update(id(m) for m in members)
        uids = tuple(folder_uid[id(m)] for m in members)
        tasks.append(_task("phases", members, uids))
    for desc in measurable:
        if id(desc) not in grouped:
            tasks.append(_task("series", (desc,), (folder_uid[id(desc)],)))
    for desc, reason in broken:
        task = _task("series", (desc,), (folder_uid[id(desc)],))
        files = _files(desc)
        where = str(files[0]) if len(files) == 1 else source_path(desc)
        tasks.append(replace(task, refusal=f"{where}: {reason}"))
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


def _is_ct_image_series(desc: Any) -> bool:
    from wallthick.io import SeriesDescriptor, is_ct_image_series

    if isinstance(desc, SeriesDescriptor):
        return is_ct_image_series(desc)
    return False


def _group_members(group: Any) -> Sequence[Any]:
    for attr in ("phases", "members", "series", "descriptors"):
        value = getattr(group, attr, None)
        if value is not None and not isinstance(value, str):
            return list(value)
    return list(group)


def _skip_reason(desc: Any) -> str:
    """The loader's reason not to load a series (``skip_reason``), or ours."""
    if hasattr(desc, "skip_reason"):
        return str(desc.skip_reason or "")
    modality = str(getattr(desc, "modality", "") or "").upper()
    if modality != "CT":
        return f"modality {modality or '(missing)'} is not CT"
    if _n_slices(desc) < MIN_SLICES:
        return f"too few slices ({_n_slices(desc)} < {MIN_SLICES})"
    return ""


def _n_slices(desc: Any) -> int:
    for attr in ("n_slices", "slice_count", "n_planes", "num_slices"):
        value = getattr(desc, attr, None)
        if isinstance(value, int):
            return value
    return len(_files(desc))


def _files(desc: Any) -> list[Path]:
    return [Path(f) for f in (getattr(desc, "files", None) or ())]


def source_path(desc: Any) -> str:
    """The folder holding a series' files (their common parent)."""
    files = _files(desc)
    if not files:
        return str(getattr(desc, "source_path", "") or "")
    parents = {str(f.parent) for f in files}
    return parents.pop() if len(parents) == 1 else os.path.commonpath(sorted(parents))


def _uid(desc: Any) -> str:
    return str(getattr(desc, "series_instance_uid", "") or "")


def _folder_uids(descs: Sequence[Any]) -> dict[int, str]:
    """One distinct key per descriptor: its UID, suffixed when discovery split a UID."""
    counts = Counter(_uid(d) for d in descs)
    seen: Counter[str] = Counter()
    out: dict[int, str] = {}
    for desc in sorted(descs, key=lambda d: (_uid(d), [str(f) for f in _files(d)[:1]])):
        uid = _uid(desc) or f"nouid:{source_path(desc)}"
        if counts[_uid(desc)] > 1 or not _uid(desc):
            seen[uid] += 1
            uid = f"{uid}#{seen[uid]}"
        out[id(desc)] = uid
    return out


def _info(desc: Any) -> SeriesInfo:
    def text(name: str) -> str:
        return str(getattr(desc, name, "") or "")

    return SeriesInfo(
        patient_id=text("patient_id"),
        study_date=text("study_date"),
        study_time=text("study_time"),
        study_instance_uid=text("study_instance_uid"),
        series_instance_uid=text("series_instance_uid"),
        series_description=text("series_description"),
        source_path=source_path(desc),
    )


def _secrets(desc: Any) -> tuple[str, ...]:
    name = str(getattr(desc, "patient_name", "") or "")
    parts = [p for p in name.replace("^", " ").split() if len(p) >= 3]
    return tuple(s for s in (str(getattr(desc, "patient_id", "") or ""), name, *parts) if s.strip())


def _task(kind: str, members: tuple[Any, ...], uids: tuple[str, ...]) -> SeriesTask:
    key = f"{kind}:{'|'.join(sorted(uids))}"
    paths = [source_path(m) for m in members]
    secrets = tuple(dict.fromkeys([*(s for m in members for s in _secrets(m)), *paths]))
    return SeriesTask(
        key=key,
        kind=kind,
        members=members,
        info=_info(members[0]),
        folder_uids=uids,
        secrets=secrets,
    )


def _skipped(desc: Any, reason: str) -> SkippedSeries:
    return SkippedSeries(
        series_instance_uid=_uid(desc),
        study_instance_uid=str(getattr(desc, "study_instance_uid", "") or ""),
        modality=str(getattr(desc, "modality", "") or ""),
        n_files=len(_files(desc)),
        reason=reason,
        source_path=source_path(desc),
    )
