"""run_tasks: local processes survive a worker that dies; results arrive as they complete."""

from __future__ import annotations

import os
from typing import Any

import pytest

from wallthick.batch.executors import (
    THREAD_LIMIT_VARIABLES,
    WORKER_DIED,
    run_tasks,
    threads_per_worker,
)

KILL = "__import__('os')._exit(3)"


def _collect(tasks: list[str], workers: int) -> dict[str, tuple[Any, str | None]]:
    done: dict[str, tuple[Any, str | None]] = {}

    def on_done(task: str, result: Any, error: str | None) -> None:
        assert task not in done, f"{task} reported twice"
        done[task] = (result, error)

    run_tasks(tasks, eval, (), on_done=on_done, workers=workers)
    return done


def test_every_task_reported_once() -> None:
    tasks = [f"{i} * 2" for i in range(5)]
    done = _collect(tasks, workers=2)
    assert {t: r for t, (r, _) in done.items()} == {t: eval(t) for t in tasks}


def test_a_dying_worker_fails_only_its_task() -> None:
    tasks = ["1 + 1", KILL, "2 + 2", "3 + 3"]
    done = _collect(tasks, workers=2)
    assert done[KILL] == (None, WORKER_DIED)
    assert [done[t][0] for t in ("1 + 1", "2 + 2", "3 + 3")] == [2, 4, 6]


def test_an_exception_in_the_task_is_reported() -> None:
    panic = "exec('raise GeneratorExit(\\'like a decoder panic\\')')"  # a BaseException
    done = _collect(["1 / 0", "5", panic], workers=1)
    assert done["5"] == (5, None)
    assert done["1 / 0"][0] is None and "ZeroDivisionError" in str(done["1 / 0"][1])
    assert done[panic][0] is None and "GeneratorExit" in str(done[panic][1])


def test_each_worker_gets_its_share_of_the_cpus_as_thread_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in THREAD_LIMIT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # set by the user: kept
    probe = (
        "(__import__('os').environ.get('OPENBLAS_NUM_THREADS'),"
        " __import__('os').environ.get('OMP_NUM_THREADS'),"
        " __import__('SimpleITK').ProcessObject.GetGlobalDefaultNumberOfThreads())"
    )
    done = _collect([probe, "0"], workers=2)
    share = threads_per_worker(2)
    assert done[probe] == ((str(share), "3", share), None)
    assert [name for name in THREAD_LIMIT_VARIABLES if name in os.environ] == ["OMP_NUM_THREADS"]
