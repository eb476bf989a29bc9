"""Progress bars for long commands (the library takes any ``progress(label, total)`` factory)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


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


@contextlib.contextmanager
def no_progress(_label: str, _total: int) -> Iterator[Callable[[int], None]]:
    """No progress bar (``--json`` output stays clean)."""
    yield lambda n=1: None
