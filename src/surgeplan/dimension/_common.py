"""What every per-kind sizing rule returns, and small helpers they share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Sizing:
    """Result of one kind's sizing rule, one entry per (resource, period) row.

    Attributes
    ----------
    needed : ndarray
        Capacity needed to meet the GoS target, in the kind's capacity unit.
    gos : ndarray
        Grade of service the *installed* capacity gives (blocking probability, utilisation,
        service level ...; see ``gos_metric``).
    carriable : ndarray
        Load the installed capacity carries while still meeting the GoS target, in the kind's
        load unit (used to propose rerouting between members of a group).
    shortfall : ndarray
        Physical consequence of the installed capacity at this load, in ``shortfall_unit``:
        blocked Erlangs, calls abandoned per hour, Gbps or sessions over the ceiling.
    gos_metric : str
        Name of ``gos``.
    shortfall_unit : str
        Unit of ``shortfall``.
    """

    needed: np.ndarray
    gos: np.ndarray
    carriable: np.ndarray
    shortfall: np.ndarray
    gos_metric: str
    shortfall_unit: str


#: Relative tolerance when comparing needed with installed capacity (float noise only).
RTOL = 1e-9


def positive(x: np.ndarray) -> np.ndarray:
    """Elementwise max(x, 0) as float64."""
    return np.maximum(np.asarray(x, dtype=np.float64), 0.0)
