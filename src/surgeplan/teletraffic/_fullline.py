r"""Queues that are Erlang A above a "full line" and something else below it (private).

A birth-death chain on the number in system ``n`` whose states above a level ``L`` (every server
or chat slot busy) move exactly like an Erlang A queue (arrivals that join at ``lambda_up``,
completions at a constant rate ``R = N_ref / h_ref``, abandonment ``j / patience`` with ``j``
waiting) has the same tail ratios ``pi(L + j) / pi(L)`` as the Erlang A queue
``(lambda_up, h_ref, patience, N_ref)``. Only the part below the line differs, through
``G = pi(L)`` of the chain truncated at ``L`` (Erlang B ``B(a, N)`` for Erlang A itself). With
``J`` the tail sum over ``pi(L)``, ``P(n >= L) = G J / (1 + (J - 1) G)``, so in odds::

    odds(P(wait)) = odds(P_A(wait)) * odds(G) / odds(B_ref)

and every measure conditional on waiting (abandonment, answered within t, mean wait) is the
Erlang A one. This reuses :func:`surgeplan.teletraffic.erlang_a` instead of re-deriving it.
"""

from __future__ import annotations

import numpy as np

from surgeplan.teletraffic.erlang_a import erlang_a
from surgeplan.teletraffic.erlang_b import erlang_b


def _log_odds(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(p) - np.log1p(-p)


def full_line_measures(
    lam_up: np.ndarray,
    h_ref: np.ndarray,
    patience: np.ndarray,
    n_ref: np.ndarray,
    answer_within: np.ndarray,
    g_below: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(P(wait), P(abandon | wait), P(answered within t | wait), E[wait | wait] in s) per row.

    ``lam_up`` calls/s joining the queue when the line is full, ``h_ref`` s and ``n_ref`` the
    Erlang A reference with ``n_ref / h_ref`` the completion rate on the line, ``g_below`` the
    probability of the line in the chain truncated at it.
    """
    ref = erlang_a(lam_up, h_ref, patience, n_ref, answer_within)
    pw_a = np.asarray(ref.wait_probability, dtype=np.float64)
    b_ref = np.asarray(erlang_b(lam_up * h_ref, n_ref), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lo = _log_odds(pw_a) + _log_odds(g_below) - _log_odds(b_ref)
        pw = np.where(pw_a >= 1.0, 1.0, np.where(pw_a <= 0.0, 0.0, 1.0 / (1.0 + np.exp(-lo))))
        pw = np.where((n_ref <= 0) | (g_below >= 1.0), np.where(lam_up > 0, 1.0, pw), pw)
        safe = np.where(pw_a > 0, pw_a, 1.0)
        ab_c = np.where(pw_a > 0, np.asarray(ref.abandon_probability) / safe, 0.0)
        sl_c = np.where(pw_a > 0, (np.asarray(ref.service_level) - (1.0 - pw_a)) / safe, 1.0)
        w_c = np.where(pw_a > 0, np.asarray(ref.average_wait) / safe, 0.0)
    return pw, np.clip(ab_c, 0.0, 1.0), np.clip(sl_c, 0.0, 1.0), w_c


def smallest_integer(meets, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Smallest integer ``n`` in ``(lo, hi]`` with ``meets(n)``, for every row at once.

    ``meets(n)`` (vectorised over rows) must be monotone in ``n`` and false at ``lo`` (or ``lo``
    the smallest value considered); ``hi`` is doubled until it meets. Bisection on integers:
    ``log2(hi - lo)`` vectorised evaluations.
    """
    lo = np.asarray(lo, dtype=np.float64).copy()
    hi = np.maximum(np.asarray(hi, dtype=np.float64).copy(), lo + 1.0)
    for _ in range(60):
        ok = meets(hi)
        if ok.all():
            break
        lo = np.where(ok, lo, hi)
        hi = np.where(ok, hi, 2.0 * hi + 1.0)
    while True:
        gap = hi - lo > 1.0
        if not gap.any():
            return hi
        mid = np.where(gap, np.floor(0.5 * (lo + hi)), hi)
        ok = meets(mid)
        hi = np.where(gap & ok, mid, hi)
        lo = np.where(gap & ~ok, mid, lo)
