"""One place for the "scalars, arrays or pandas Series in, the same shape out" contract.

pvlib repeats ``if isinstance(x, pd.Series): return pd.Series(out, index=x.index)`` at the end of
every function; here each public function calls :func:`as_float_arrays` on entry and
:func:`like_input` on exit instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def as_float_arrays(*values: Any) -> tuple[np.ndarray, ...]:
    """Return the inputs as broadcast float64 numpy arrays (at least 0-d)."""
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
