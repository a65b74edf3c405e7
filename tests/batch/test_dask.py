"""The same batch on a real dask.distributed LocalCluster gives the same table."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from distributed import LocalCluster

from wallthick.batch import BatchOptions, run_batch
from wallthick.batch.executors import WORKER_DIED, run_tasks


def _cluster() -> LocalCluster:
    return LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        memory_limit="3GB",
    )


def test_dask_cluster_gives_the_same_table(
    batch_tree: Any, clean_run: Any, tmp_path: Path, helpers: SimpleNamespace
) -> None:
    out = tmp_path / "out"
    with _cluster() as cluster:
        options = BatchOptions(
            scheduler=cluster.scheduler_address, write_qc=False, write_dicom_seg=False
        )
        summary = run_batch(batch_tree.root, out, options)
    assert (summary.n_ok, summary.n_failed) == (2, 1)
    rows = helpers.read_rows(out / "measurements.csv")
    assert rows == helpers.read_rows(clean_run.out / "measurements.csv")
    assert len(list(out.glob("series-*/segmentation.nii.gz"))) == 2


def test_a_dead_dask_worker_fails_only_its_task() -> None:
    import dask

    done: dict[str, tuple[Any, str | None]] = {}
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        _cluster() as cluster,
    ):
        run_tasks(
            ["6 * 7", "__import__('os')._exit(3)"],
            eval,
            (),
            on_done=lambda t, r, e: done.setdefault(t, (r, e)),
            scheduler=cluster.scheduler_address,
        )
    assert done["6 * 7"] == (42, None)
    assert done["__import__('os')._exit(3)"] == (None, WORKER_DIED)
