"""Where tasks run: local worker processes, or an existing dask.distributed cluster.

Both report each task through ``on_done(task, result, error)`` as soon as it
ends, in completion order. A worker that dies (out of memory, a crashing
decoder) fails only the task it was running: locally the pool is rebuilt and
the tasks that were in flight with it are run again one at a time, so the
one that kills its worker is identified and recorded as failed; on dask the
scheduler's ``KilledWorker`` marks that task failed.

Local workers share the machine's cores: each is started with its share of
them as the thread limit of the numerical libraries (OpenBLAS/OpenMP/MKL,
numexpr, ITK/SimpleITK), so 2 workers on 2 cores run one thread each instead
of four threads fighting over two cores. Limits the user has set in the
environment are kept.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

__all__ = ["run_tasks", "threads_per_worker", "WORKER_DIED"]

logger = logging.getLogger(__name__)

WORKER_DIED = (
    "the worker process died while measuring this series (out of memory or a crash); "
    "rerun with --resume to try again"
)


OnDone = Callable[[Any, Any, str | None], None]

#: Environment variables that set the thread count of the numerical libraries
#: (read when the library loads, so they must be in the worker's environment
#: from its start).
THREAD_LIMIT_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS",
)


def run_tasks(
    tasks: Sequence[Any],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    on_done: OnDone,
    workers: int = 1,
    scheduler: str | None = None,
) -> None:
    """Call ``fn(task, *args)`` for every task, locally or on a dask cluster.

    Parameters
    ----------
    tasks : sequence
        Picklable tasks, each with a unique ``key`` attribute (or unique
        strings).
    fn : callable
        Importable, picklable function run on the workers.
    args : tuple
        Extra picklable arguments for ``fn``.
    on_done : callable
        ``on_done(task, result, None)`` on success, ``on_done(task, None,
        message)`` when the task could not run to completion.
    workers : int
        Local worker processes (ignored with ``scheduler``).
    scheduler : str, optional
        dask.distributed scheduler address (``tcp://host:8786``).
    """
    if not tasks:
        return
    if scheduler:
        _run_dask(tasks, fn, args, on_done, scheduler)
    else:
        _run_local(tasks, fn, args, on_done, max(1, int(workers)))


# -- local processes -------------------------------------------------------------
def threads_per_worker(workers: int, cpus: int | None = None) -> int:
    """Threads each of ``workers`` local worker processes may use: its share of the CPUs.

    >>> threads_per_worker(2, cpus=2), threads_per_worker(3, cpus=8), threads_per_worker(1, cpus=4)
    (1, 2, 4)
    """
    n_cpus = cpus if cpus is not None else _usable_cpus()
    return max(1, n_cpus // max(1, workers))


def _usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


_ENV_LOCK = threading.Lock()


@contextmanager
def _child_environment(extra: Mapping[str, str]) -> Iterator[None]:
    """``extra`` added to ``os.environ`` (unset names only) while worker processes start.

    A spawned process inherits the environment at its start; libraries such as
    OpenBLAS read their thread limit once, when they load. The parent's own
    environment is restored as soon as the process is started.
    """
    with _ENV_LOCK:
        added = {k: v for k, v in extra.items() if k not in os.environ}
        os.environ.update(added)
        try:
            yield
        finally:
            for key in added:
                os.environ.pop(key, None)


def _thread_limits(workers: int) -> dict[str, str]:
    threads = str(threads_per_worker(workers))
    return dict.fromkeys(THREAD_LIMIT_VARIABLES, threads)


def _worker_init() -> None:
    """Runs in each worker: die with the parent; let INFO records reach task logs."""
    logging.getLogger("wallthick").setLevel(logging.INFO)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
        except (OSError, AttributeError):  # pragma: no cover - not fatal
            pass
    if os.getppid() == 1:  # the parent is already gone
        os._exit(1)


def _run_local(
    tasks: Sequence[Any],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    on_done: OnDone,
    workers: int,
) -> None:
    queue: deque[Any] = deque(tasks)
    suspects: deque[Any] = deque()  # in flight when a worker died: run alone
    attempts: dict[str, int] = {}
    while queue or suspects:
        broken = _run_pool(queue, suspects, attempts, fn, args, on_done, workers)
        if not broken:
            break


def _run_pool(
    queue: deque[Any],
    suspects: deque[Any],
    attempts: dict[str, int],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    on_done: OnDone,
    workers: int,
) -> bool:
    """Run until everything is done (False) or the pool broke (True)."""
    ctx = multiprocessing.get_context("spawn")
    n = min(workers, len(queue) + len(suspects))
    pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_worker_init)
    limits = _thread_limits(n)
    running: dict[Future[Any], Any] = {}
    try:
        while queue or suspects or running:
            limit = 1 if suspects else n
            while len(running) < limit and (suspects or queue):
                if suspects and running:
                    break
                task = suspects.popleft() if suspects else queue.popleft()
                with _child_environment(limits):  # a submit may start a worker process
                    running[pool.submit(fn, task, *args)] = task
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            broken = False
            for fut in finished:
                broken |= _collect(fut, running.pop(fut), attempts, suspects, on_done)
            if broken:
                for task in running.values():
                    _requeue_or_fail(task, attempts, suspects, on_done)
                return True
        return False
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _collect(
    fut: Future[Any],
    task: Any,
    attempts: dict[str, int],
    suspects: deque[Any],
    on_done: OnDone,
) -> bool:
    """Report a finished future; True when the pool is broken."""
    try:
        result = fut.result()
    except BrokenProcessPool:
        _requeue_or_fail(task, attempts, suspects, on_done)
        return True
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # e.g. the task could not be pickled
        on_done(task, None, f"{type(exc).__name__}: {exc}")
        return False
    on_done(task, result, None)
    return False


def _requeue_or_fail(
    task: Any, attempts: dict[str, int], suspects: deque[Any], on_done: OnDone
) -> None:
    key = _key(task)
    attempts[key] = attempts.get(key, 0) + 1
    if attempts[key] >= 2:
        on_done(task, None, WORKER_DIED)
    else:
        logger.warning("a worker process died; running its series again on its own")
        suspects.append(task)


# -- dask.distributed --------------------------------------------------------------
def _run_dask(
    tasks: Sequence[Any],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    on_done: OnDone,
    address: str,
) -> None:
    from distributed import Client, as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    with Client(address) as client:
        futures = {}
        for task in tasks:
            key = f"wallthick-{_short_hash(_key(task))}"
            futures[client.submit(fn, task, *args, key=key, pure=False, retries=0)] = task
        for fut in as_completed(list(futures)):
            task = futures[fut]
            try:
                result = fut.result()
            except KilledWorker:
                on_done(task, None, WORKER_DIED)
            except FutureCancelledError as exc:
                on_done(task, None, f"cancelled on the dask cluster: {exc}")
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:
                on_done(task, None, f"{type(exc).__name__} on the dask cluster: {exc}")
            else:
                on_done(task, result, None)
            fut.release()


def _key(task: Any) -> str:
    return str(getattr(task, "key", task))


def _short_hash(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
