"""Progress bars for long commands (the library takes any ``progress(label, total)`` factory)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from surgeplan.plan.replay import silent_progress as no_progress  # --json output stays clean

__all__ = ["no_progress", "rich_progress"]


def rich_progress(label: str, total: int) -> contextlib.AbstractContextManager[Callable[[int], None]]:
    """A ``rich`` progress bar context yielding ``advance(n=1)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    @contextlib.contextmanager
    def bar() -> Iterator[Callable[[int], None]]:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, transient=False) as prog:
            task = prog.add_task(label, total=total)
            yield lambda n=1: prog.advance(task, n)

    return bar()
