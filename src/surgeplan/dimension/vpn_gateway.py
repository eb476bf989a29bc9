"""Sizing rule for ``vpn_gateway``: peak concurrent sessions under a headroom ceiling.

A remote-access concentrator is licensed / engineered for ``capacity`` concurrent sessions; it is
operated so that the busy-hour peak stays under ``ceiling x capacity`` (default 0.9), keeping
headroom for log-in storms and fail-over from a sibling gateway.
"""

from __future__ import annotations

import numpy as np

from surgeplan.dimension._common import Sizing, positive


def size_vpn_gateway(load: np.ndarray, capacity: np.ndarray, ceiling: np.ndarray) -> Sizing:
    """Sessions a VPN gateway needs so its busy-hour peak stays under the ceiling.

    Parameters
    ----------
    load : array_like
        Busy-hour peak concurrent sessions.
    capacity : array_like
        Installed (licensed) concurrent sessions.
    ceiling : array_like
        Highest acceptable peak utilisation, fraction of capacity (e.g. 0.9).

    Returns
    -------
    Sizing
        ``needed = ceil(load / ceiling)`` sessions, ``gos`` = peak utilisation ``load / capacity``,
        ``carriable = ceiling x capacity`` sessions, ``shortfall`` = sessions over the ceiling.

    References
    ----------
    ITU-T E.500 (busy-hour load); the headroom ceiling is the operator's engineering rule
    (``gos_target``, default ``surgeplan.kinds.KINDS['vpn_gateway'].gos_default``).
    """
    x, c, u = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(load, capacity, ceiling))
    x = positive(x)
    # 1e-9 guards against ceil(10.000000001) when load / ceiling is an integer up to float noise.
    needed = np.ceil(x / u - 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        gos = np.where(c > 0, x / c, np.where(x > 0, np.inf, 0.0))
    carriable = u * c
    return Sizing(needed, gos, carriable, positive(x - carriable), "utilization", "sessions_over_ceiling")
