"""One place for the "scalars, arrays or pandas Series in, the same shape out" contract.

pvlib repeats ``if isinstance(x, pd.Series): return pd.Series(out, index=x.index)`` at the end of
every function; here each public function calls :func:`as_float_arrays` on entry and
:func:`like_input` on exit instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError


def as_float_arrays(*values: Any) -> tuple[np.ndarray, ...]:
    """Return the inputs as broadcast float64 numpy arrays (at least 0-d).

    pandas Series are paired by label, not position: every Series is put in the order of the
    first one (whose index :func:`like_input` gives the result). Series whose labels differ
    (other labels, or duplicated labels in a different order) are refused, since pairing them by
    position would silently mix rows.
    """
    values = _align_series(values)
    arrays = [np.asarray(v, dtype=np.float64) for v in values]
    return tuple(np.broadcast_arrays(*arrays)) if len(arrays) > 1 else tuple(arrays)


def like_input(result: Any, *templates: Any, name: str | None = None) -> Any:
    """Give ``result`` the container of the first pandas template among ``templates``.

    * a pandas Series template -> Series with that index (and ``name``),
    * a pandas DataFrame template -> DataFrame with that index/columns,
    * only scalars -> a Python float (or int for integer results),
    * otherwise the numpy array as is.
    """
    result = np.asarray(result)
    for t in templates:
        if isinstance(t, pd.Series):
            return pd.Series(np.broadcast_to(result, t.shape).copy(), index=t.index, name=name)
        if isinstance(t, pd.DataFrame):
            return pd.DataFrame(np.broadcast_to(result, t.shape).copy(), index=t.index, columns=t.columns)
    if result.ndim == 0 and all(np.ndim(t) == 0 for t in templates):
        return result.item()
    return result


def _align_series(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """Reorder every pandas Series to the index of the first; refuse different label sets."""
    series = [i for i, v in enumerate(values) if isinstance(v, pd.Series)]
    if len(series) < 2:
        return values
    first = values[series[0]].index
    out = list(values)
    for i in series[1:]:
        index = out[i].index
        if index.equals(first):
            continue
        if first.is_unique and index.is_unique and len(index) == len(first) and index.isin(first).all():
            out[i] = out[i].reindex(first)
            continue
        extra = index.difference(first)
        missing = first.difference(index)
        what = (
            f"label {extra[0]!r} that input {series[0] + 1} lacks"
            if len(extra)
            else f"no label {missing[0]!r}"
            if len(missing)
            else "duplicated labels in another order"
        )
        raise SurgeplanError(
            f"pandas Series inputs are paired by index label, but input {i + 1} has {what} "
            f"(inputs {series[0] + 1} and {i + 1} must have the same labels)"
        )
    return tuple(out)
