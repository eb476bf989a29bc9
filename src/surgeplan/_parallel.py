"""``executor_map`` and :class:`Partitions`: where the library hands per-partition work to an executor.

Lives at the bottom of the package so that every layer may use it; :mod:`surgeplan.scale` opens
the executors (Dask) and re-exports it.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["Partitions", "dask_client", "executor_map"]


def executor_map(executor: Any, fn: Callable[..., Any], *iterables: Iterable) -> list:
    """``fn`` over the zipped ``iterables`` on ``executor`` (a :class:`concurrent.futures.Executor`;
    None: in this process), results in the order of the inputs."""
    if executor is None:
        return list(map(fn, *iterables))
    return list(executor.map(fn, *iterables))


def dask_client(executor: Any) -> Any:
    """The ``distributed.Client`` behind ``executor`` (the client itself, or its
    ``Client.get_executor()``), else None. Never imports Dask when it is not loaded already."""
    if executor is None or "distributed" not in sys.modules:
        return None
    from distributed import Client
    from distributed.cfexecutor import ClientExecutor

    if isinstance(executor, Client):
        return executor
    if isinstance(executor, ClientExecutor):
        return executor._client  # the executor's client: ClientExecutor has no public accessor
    return None


class Partitions:
    """Per-partition objects kept where they were computed, and tasks mapped over them.

    On a Dask client (``executor`` is one, or its ``get_executor()``) a partition's object stays
    on the worker that computed it as a ``distributed.Future`` (a *handle*); the next stage's
    task takes the future as its argument, so Dask runs it where the object is and nothing goes
    through the calling process but what :meth:`run` gathers. Dask recomputes a future lost with
    its worker from the tasks that made it, which are pure functions of their inputs.

    Any other executor (or None): the handles are the objects themselves, in this process; a
    stage mapped with ``local=False`` ships them through ``executor.map`` (the
    :class:`concurrent.futures.Executor` contract), with ``local=True`` it runs here.
    """

    def __init__(self, executor: Any) -> None:
        self.executor = executor
        self.client = dask_client(executor)

    @property
    def resident(self) -> bool:
        """The objects stay on the workers (Dask)."""
        return self.client is not None

    def map(
        self, fn: Callable[..., Any], *iterables: Sequence, local: bool = False, sizes: Sequence | None = None
    ) -> list:
        """Handles of ``fn`` over the zipped ``iterables`` (handles or plain values), in order.

        ``sizes``: the tasks' relative costs. On Dask the larger start first: tasks without
        inputs on workers wait in the scheduler's queue and go to the first worker free, so
        largest first is the longest-processing-time rule, and the later stages of a partition
        run where its object is; within a stage each worker starts its largest partitions
        first, so a stage does not end on one worker's largest while the other waits.

        A stage is one ``Client.map`` (one graph for the scheduler: the function and its global
        state are pickled once, not once per task) over the inputs sorted largest first: Dask
        runs a graph's tasks of equal priority in the order they were given.
        """
        if self.client is not None:
            n = len(iterables[0])
            if not n:
                return []
            cols = [list(it) for it in iterables]
            # stable: equal sizes keep the partitions' order
            order = list(range(n)) if sizes is None else sorted(range(n), key=lambda i: -sizes[i])
            handles = self.client.map(fn, *[[c[i] for i in order] for c in cols], pure=False)
            out: list = [None] * n
            for i, h in zip(order, handles, strict=True):
                out[i] = h
            return out
        if local:
            return list(map(fn, *iterables))
        return executor_map(self.executor, fn, *iterables)

    def run(
        self, fn: Callable[..., Any], *iterables: Sequence, local: bool = False, sizes: Sequence | None = None
    ) -> list:
        """Values of ``fn`` over the zipped ``iterables``, in order: gathered here (keep them small)."""
        handles = self.map(fn, *iterables, local=local, sizes=sizes)
        return self.client.gather(handles) if self.client is not None else handles

    def unzip(self, handles: Sequence, n: int) -> list[list]:
        """``n`` lists of handles from handles of ``n``-tuples (each part stays where it is)."""
        if self.client is None:
            return [list(x) for x in zip(*handles, strict=True)] if handles else [[] for _ in range(n)]
        return [self.map(operator.itemgetter(i), handles) for i in range(n)]
