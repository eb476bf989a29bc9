"""``executor_map``: the one place the library hands per-partition work to an executor.

Lives at the bottom of the package so that every layer may use it; :mod:`surgeplan.scale` opens
the executors (Dask) and re-exports it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["executor_map"]


def executor_map(executor: Any, fn: Callable[..., Any], *iterables: Iterable) -> list:
    """``fn`` over the zipped ``iterables`` on ``executor`` (a :class:`concurrent.futures.Executor`;
    None: in this process), results in the order of the inputs."""
    if executor is None:
        return list(map(fn, *iterables))
    return list(executor.map(fn, *iterables))
