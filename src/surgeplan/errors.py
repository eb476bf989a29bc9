"""Errors surgeplan raises for bad input, each naming what is wrong and where."""

from __future__ import annotations


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
