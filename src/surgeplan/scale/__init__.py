"""Run the planning job on more than one process or machine, with the same results.

The library maps its per-partition work (a forecaster's groups of resources, a what-if sweep's LP
batches) over an optional ``executor`` with the :class:`concurrent.futures.Executor` ``map``
contract (results in the order of the inputs); the global steps (the response pooled across
regions, the calibration tables, dimensioning against the budget and field-operations ceilings,
scheduling) stay in the calling process. :func:`compute` opens that executor:

* nothing: :class:`SerialExecutor`, the calling process, as without an executor;
* ``workers=N``: a Dask ``LocalCluster`` of N single-threaded worker processes;
* ``scheduler="tcp://host:8786"``: an existing Dask cluster (``dask scheduler``, ``dask worker``).

A task is a pure function of its partition and of the driver's global state, so its result does not
depend on which worker ran it, in which order, or whether it was retried after a worker died. See
``docs/SCALE.md``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from typing import Any

from surgeplan._parallel import executor_map

__all__ = ["SerialExecutor", "compute", "executor_map"]


class SerialExecutor(Executor):
    """Runs each task at once in the calling process (the default: no Dask import)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the caller sees it from result(), as with any executor
            fut.set_exception(exc)
        return fut

    def map(
        self, fn: Callable[..., Any], *iterables: Iterable, timeout: float | None = None, chunksize: int = 1
    ) -> Iterator:
        return map(fn, *iterables)


#: Dask settings of the LocalCluster that ``compute(workers=N)`` starts (its scheduler and nannies
#: live in the calling process, each worker in its own). Two single-threaded workers on two cores
#: leave no core for Dask's own periodic work, which is taken from the tasks:
#: - no ``MALLOC_TRIM_THRESHOLD_``: a fixed trim threshold also turns off glibc's adaptive mmap
#:   threshold, so every large numpy temporary is a fresh mmap and its pages are faulted in again:
#:   the forecast's tasks ran ~1.5x slower (benchmarks/RESULTS.md);
#: - no statistical profiler in the workers (a thread that samples the task's stack every 10 ms,
#:   taking the GIL from the task each time: only the dashboard reads it);
#: - the system monitors (CPU, memory, I/O of each process, every 0.5 s), the nannies' memory
#:   checks (every 0.1 s, in the calling process) and the event loops' health ticks (every 20 ms, in
#:   every process) less often: what they watch changes over seconds.
LOCAL_CLUSTER_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "500ms",
    "distributed.admin.tick.interval": "500ms",
}


@contextlib.contextmanager
def compute(workers: int | None = None, scheduler: str | None = None) -> Iterator[Executor]:
    """The executor of a planning job, closed on exit.

    Parameters
    ----------
    workers : int, optional
        Start a Dask ``LocalCluster`` of this many worker processes, one thread each.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``).

    Neither: a :class:`SerialExecutor` (one process, as without an executor).
    """
    from surgeplan.errors import SurgeplanError

    if workers is not None and scheduler is not None:
        raise SurgeplanError("--workers and --scheduler: give one or the other")
    if workers is None and scheduler is None:
        yield SerialExecutor()
        return
    if workers is not None and int(workers) < 1:
        raise SurgeplanError(f"--workers must be at least 1, got {workers!r}")
    import dask
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            try:
                client = stack.enter_context(Client(scheduler, timeout="30s"))
            except OSError as exc:
                raise SurgeplanError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        else:
            with dask.config.set(LOCAL_CLUSTER_CONFIG):  # read when the cluster starts
                cluster = stack.enter_context(
                    LocalCluster(
                        n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=None
                    )
                )
            client = stack.enter_context(Client(cluster))
        yield client.get_executor(pure=False)
