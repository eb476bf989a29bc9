"""Errors surgeplan raises for bad input, each naming what is wrong and where."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class SurgeplanError(ValueError):
    """Base class: bad input or an impossible request. Subclasses ValueError."""


class ValidationError(SurgeplanError):
    """A file or frame failed validation.

    Parameters
    ----------
    message : str
        What is wrong.
    file : str, optional
        The file (or ``<frame>``) being read.
    row : int, optional
        1-based data row number in the file (the header is row 0).
    column : str, optional
        The column at fault.
    """

    def __init__(
        self, message: str, *, file: str | None = None, row: int | None = None, column: str | None = None
    ):
        self.file, self.row, self.column, self.reason = file, row, column, message
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


def reject_first(
    bad,
    message: Callable[[int], str],
    *,
    file: str | None,
    column: str | None = None,
    row_offset: int = 1,
) -> None:
    """Raise :class:`ValidationError` at the first row where ``bad`` holds, if any.

    ``bad`` is a boolean array over the rows, ``message(i)`` says what is wrong with row position
    ``i`` (0-based); the error's ``row`` is ``i + row_offset`` (1: the first data row under a header).
    """
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValidationError(message(i), file=file, row=i + row_offset, column=column)
