"""Sizing rule for ``trunk_group`` (voice circuits): Erlang B, extended Erlang B with retries.

A trunk group carrying ``A`` Erlangs of busy-hour traffic on ``N`` circuits blocks a share
``B(A, N)`` of call attempts (Erlang B, ITU-T E.520). When a share ``r`` of blocked callers
retry, the attempts offered to the group grow to ``A / (1 - r B)`` (extended Erlang B, Jewett &
Shrago) and the group needs more circuits for the same blocking.
"""

from __future__ import annotations

import numpy as np

from surgeplan import teletraffic as tt
from surgeplan.dimension._common import Sizing, positive


def size_trunk_group(
    load: np.ndarray,
    capacity: np.ndarray,
    blocking_target: np.ndarray,
    retry_probability: np.ndarray | float = 0.0,
) -> Sizing:
    """Circuits a trunk group needs for its blocking target, and the blocking it gets.

    Parameters
    ----------
    load : array_like
        Busy-hour offered traffic (fresh attempts), Erlangs.
    capacity : array_like
        Installed circuits.
    blocking_target : array_like
        Target blocking probability (e.g. 0.01), dimensionless.
    retry_probability : array_like, default 0
        Share of blocked callers who retry. Where ``> 0`` the extended Erlang B model applies.

    Returns
    -------
    Sizing
        ``needed`` circuits (integer valued), ``gos`` = blocking with the installed circuits,
        ``carriable`` = fresh Erlangs the installed circuits carry at the target blocking,
        ``shortfall`` = blocked Erlangs (``load x blocking``).

    References
    ----------
    ITU-T Recommendation E.520, "Number of circuits to be provided in automatic and/or
    semi-automatic operation, without overflow facilities" (1988).
    R. I. Wilkinson, "Theories for toll traffic engineering in the USA", BSTJ 35 (1956).
    """
    a, n, b, r = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(
        load, capacity, blocking_target, retry_probability))
    a = positive(a)
    needed = np.zeros(a.shape)
    gos = np.zeros(a.shape)
    carriable = np.zeros(a.shape)
    plain = ~(r > 0)
    if plain.any():
        needed[plain] = tt.erlang_b_servers(a[plain], b[plain])
        gos[plain] = tt.erlang_b(a[plain], n[plain])
        carriable[plain] = tt.erlang_b_traffic(n[plain], b[plain])
    retry = ~plain
    if retry.any():
        needed[retry] = tt.extended_erlang_b_servers(a[retry], b[retry], r[retry])
        gos[retry] = tt.extended_erlang_b(a[retry], n[retry], r[retry]).blocking
        # Offered attempts A' = A / (1 - r B); at the target blocking the group carries
        # erlang_b_traffic(N, B) attempts, i.e. that many x (1 - r B) fresh Erlangs.
        carriable[retry] = tt.erlang_b_traffic(n[retry], b[retry]) * (1.0 - r[retry] * b[retry])
    carriable = np.where(n > 0, np.nan_to_num(carriable), 0.0)
    needed = np.where(a > 0, needed, 0.0)
    gos = np.where(a > 0, gos, 0.0)
    return Sizing(needed, gos, carriable, a * gos, "blocking", "blocked_erlang")
