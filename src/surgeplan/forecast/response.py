"""The fitted shock response per resource, as a planner reads it (``ShockForecaster.response_``)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from surgeplan.forecast.learned import mapping_columns
from surgeplan.forecast.paths import long_run_denominator
from surgeplan.forecast.state import DriverSpec, Group

__all__ = ["response_table"]

_MAPPING_COLUMNS = ("stringency_zero", "stringency_full", "stay_home_counts", "driver_rule")


def _block_level(g: Group) -> np.ndarray:
    """(n, nb) median load per intra-day block over the history (load units)."""
    T = (g.zraw.shape[1] // g.p) * g.p
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # blocks never observed
        z = np.nanmedian(g.zraw[:, :T].reshape(g.n, T // g.p, g.nb, g.r), axis=(1, 3))
    return np.exp(z + g.mu[:, None]) - g.c[:, None]


def _relative_change(g: Group, lr: np.ndarray) -> np.ndarray:
    """(n,) relative change of the day's load for a log change ``lr`` (n, nb) of every block.

    With a started log (``c > 0``) a coefficient moves ``log(load + c)``, so each block's change
    is taken at its typical load ``L`` and the blocks are summed: ``sum((L + c) e^lr - c - L) / sum(L)``.
    """
    level = np.clip(np.nan_to_num(_block_level(g), nan=0.0), 0.0, None)
    c = g.c[:, None]
    tot = level.sum(1)
    chg = ((level + c) * np.exp(lr) - c - level).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, chg / tot, np.exp(lr).mean(1) - 1.0)


def response_table(groups: Sequence[Group], specs: Sequence[DriverSpec]) -> pd.DataFrame:
    """Per resource: shape, long-run response at full restriction (weekday / weekend), evidence,
    source and driver mapping (see ``ShockForecaster.response_``)."""
    rows = []
    for g in groups:
        iu, iw = g.groups["shock"]
        denom = long_run_denominator(g)
        lr_u = g.beta[:, :, iu] / denom
        lr_w = g.beta[:, :, iw] / denom
        rows.append(
            pd.DataFrame(
                {
                    "resource_id": g.ids,
                    "kind": g.kinds,
                    "region": g.regions,
                    "lag_days": g.shock_lag,
                    "tau_up_days": g.shock_tau[:, 0],
                    "tau_down_days": g.shock_tau[:, 1],
                    "response": _relative_change(g, lr_u + lr_w),
                    "response_weekend": _relative_change(g, lr_u),
                    "evidence_days": g.evidence,
                    "source": g.shock_source,
                    **dict(zip(_MAPPING_COLUMNS, zip(*(mapping_columns(specs[i]) for i in g.spec)))),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)
