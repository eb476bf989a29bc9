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
    *,
    carriable: np.ndarray | None = None,
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
    carriable : array_like, optional
        Precomputed :func:`trunk_group_carriable` (it depends on the resource only, so callers
        with many periods per resource compute it once per resource).

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
    # Extended Erlang B: for N circuits the equilibrium blocking B_ext(A0) grows with the fresh
    # traffic A0, and B_ext = b exactly when A0 = A*(N, b) (1 - r b), A* = erlang_b_traffic(N, b)
    # (then the offered attempts A0 / (1 - r b) = A* block b). So B_ext(A0, N) <= b  <=>
    # A0 / (1 - r b) <= A*(N, b)  <=>  B(A0 / (1 - r b), N) <= b: the circuits needed are the
    # Erlang B circuits for the inflated traffic, an exact shortcut (r < 1).
    inflated = a / (1.0 - r * b)
    needed = np.where(a > 0, np.asarray(tt.erlang_b_servers(inflated, b), dtype=np.float64), 0.0)
    gos = np.zeros(a.shape)
    plain = ~(r > 0)
    if plain.any():
        gos[plain] = tt.erlang_b(a[plain], n[plain])
    retry = ~plain
    if retry.any():
        gos[retry] = tt.extended_erlang_b(a[retry], n[retry], r[retry]).blocking
    gos = np.where(a > 0, gos, 0.0)
    if carriable is None:
        carriable = trunk_group_carriable(n, b, r)
    carriable = np.broadcast_to(np.asarray(carriable, dtype=np.float64), a.shape)
    return Sizing(needed, gos, carriable, a * gos, "blocking", "blocked_erlang")


def trunk_group_carriable(capacity: np.ndarray, blocking_target: np.ndarray,
                          retry_probability: np.ndarray | float = 0.0) -> np.ndarray:
    """Fresh Erlangs ``N`` circuits carry at the blocking target, with retries.

    ``erlang_b_traffic(N, b) x (1 - r b)`` (see :func:`size_trunk_group`); 0 for no circuits.

    Parameters
    ----------
    capacity : array_like
        Circuits.
    blocking_target : array_like
        Target blocking probability.
    retry_probability : array_like, default 0
        Share of blocked callers who retry.
    """
    n, b, r = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(capacity, blocking_target,
                                                                           retry_probability))
    out = np.zeros(n.shape)
    has = n > 0
    if has.any():
        out[has] = np.nan_to_num(np.asarray(tt.erlang_b_traffic(n[has], b[has]), dtype=np.float64)) \
            * (1.0 - r[has] * b[has])
    return out
