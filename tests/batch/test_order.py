"""Tasks start largest first, so a big series does not run alone at the end of a batch."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from wallthick.batch import BatchOptions, SeriesOutcome
from wallthick.batch.runner import run_tasks_into
from wallthick.batch.series import SeriesTask
from wallthick.measure.result import SeriesInfo


def _task(uid: str, rows: int, planes: int, phases: int = 1) -> SeriesTask:
    members = tuple(
        SimpleNamespace(
            series_instance_uid=f"{uid}.{i}",
            rows=rows,
            columns=rows,
            slice_count=planes,
            planes=(),
            files=(),
        )
        for i in range(phases)
    )
    kind = "phases" if phases > 1 else "series"
    uids = tuple(m.series_instance_uid for m in members)
    return SeriesTask(f"{kind}:{uid}", kind, members, SeriesInfo(series_instance_uid=uid), uids)


def test_largest_series_are_measured_first(tmp_path: Path) -> None:
    tasks = [
        _task("1.small", 64, 40),
        _task("2.large", 512, 300),
        _task("3.study", 256, 100, phases=3),
        _task("4.medium", 256, 150),
    ]
    order: list[SeriesOutcome] = []
    outcomes = run_tasks_into(
        tasks, tmp_path, BatchOptions(workers=1), progress=order.append, in_process=True
    )
    assert len(outcomes) == 4 and all(o.status == "failed" for o in outcomes)  # fake members
    by_label = {t.label: t.info.series_instance_uid for t in tasks}
    # the 3-phase study loads 3 x 100 planes: more than the 150-plane series
    assert [by_label[o.label] for o in order] == ["2.large", "3.study", "4.medium", "1.small"]
