"""Sizing rule for ``conference_bridge``: Erlang B on ports.

Each participant holds one port for the length of the conference; a participant who finds all
ports busy is refused (lost-calls-cleared), so the ports form an Erlang loss system.
"""

from __future__ import annotations

import numpy as np

from surgeplan import teletraffic as tt
from surgeplan.dimension._common import Sizing, positive
from surgeplan.dimension.trunk_group import trunk_group_carriable


def size_conference_bridge(
    load: np.ndarray,
    capacity: np.ndarray,
    blocking_target: np.ndarray,
    *,
    carriable: np.ndarray | None = None,
) -> Sizing:
    """Ports a conference bridge needs for its blocking target, and the blocking it gets.

    Parameters
    ----------
    load : array_like
        Busy-hour concurrent participants offered (Erlangs of ports).
    capacity : array_like
        Installed ports.
    blocking_target : array_like
        Target probability that a joining participant is refused, dimensionless.
    carriable : array_like, optional
        Precomputed Erlangs the installed ports carry at the target (per resource).

    Returns
    -------
    Sizing
        ``needed`` ports, ``gos`` = blocking with the installed ports, ``carriable`` Erlangs at
        the target, ``shortfall`` = refused participant-Erlangs.

    References
    ----------
    A. K. Erlang, "Solution of some problems in the theory of probabilities of significance in
    automatic telephone exchanges" (1917); ITU-T E.520.
    """
    a, n, b = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(load, capacity, blocking_target))
    a = positive(a)
    needed = np.where(a > 0, tt.erlang_b_servers(a, b), 0.0)
    gos = np.where(a > 0, tt.erlang_b(a, n), 0.0)
    if carriable is None:
        carriable = trunk_group_carriable(n, b, 0.0)
    carriable = np.broadcast_to(np.asarray(carriable, dtype=np.float64), a.shape)
    return Sizing(needed, gos, carriable, a * gos, "blocking", "blocked_erlang")
