"""The indicator rows a forecast made on ``asof`` may see."""

from __future__ import annotations

import pandas as pd

from surgeplan.signals.derive import derive_indicators
from surgeplan.signals.generic import ensure_indicators

_DERIVED = {"new_cases", "new_cases_per_100k_7d", "growth_rate", "doubling_time_days"}


def known_rows(indicators: pd.DataFrame, asof: pd.Timestamp | None, name: str, population) -> pd.DataFrame:
    """Rows dated before ``asof``, with ``name`` derived from those rows alone when it is a derived
    indicator."""
    ind = ensure_indicators(indicators)
    ind = ind if asof is None else ind.loc[ind["date"] < asof]
    if name in _DERIVED and (ind["name"] == name).sum() == 0:
        ind = derive_indicators(ind, population=population)
    return ind
