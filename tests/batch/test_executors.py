"""run_tasks: local processes survive a worker that dies; results arrive as they complete."""

from __future__ import annotations

from typing import Any

from wallthick.batch.executors import WORKER_DIED, run_tasks

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
