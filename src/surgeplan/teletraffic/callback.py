r"""Erlang A with a callback offer: callers who find every agent busy may leave a callback request.

An M/M/N+M queue (Erlang A) where a caller who finds all ``N`` agents busy accepts a callback
with probability ``q`` and hangs up at once (the call is returned later from a message queue);
the others wait with an exponential patience. Above the full line the queue is Erlang A with
arrival rate ``lambda (1 - q)``; below it the chain is the Erlang loss system of the full rate,
``G = B(lambda h, N)`` (:mod:`surgeplan.teletraffic._fullline`). So::

    P(all busy)   = odds^-1[ odds(P_A(wait; lambda (1 - q))) odds(B(lambda h, N))
                             / odds(B(lambda (1 - q) h, N)) ]
    P(callback)   = q P(all busy)
    P(abandon)    = (1 - q) P(all busy) P_A(abandon | wait)
    service level = [1 - P(all busy) + (1 - q) P(all busy) P_A(answered within t | wait)]
                    / (1 - q P(all busy))

The service level counts the callers who stayed for an agent (a callback taker is served later by
the message queue, not abandoned). ``q = 0`` is Erlang A exactly.

References
----------
.. [1] O. Garnett, A. Mandelbaum, M. Reiman, "Designing a call center with impatient customers",
   M&SOM 4(3), 2002 (Erlang A).
.. [2] M. Armony, C. Maglaras, "On customer contact centers with a call-back option: customer
   decisions, routing rules, and system design", Operations Research 52(2), 271-292, 2004.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from surgeplan._arrays import as_float_arrays, like_input
from surgeplan.teletraffic._common import check
from surgeplan.teletraffic._fullline import full_line_measures, smallest_integer
from surgeplan.teletraffic.erlang_b import erlang_b

__all__ = ["CallbackQueue", "callback_agents", "callback_queue"]


class CallbackQueue(NamedTuple):
    """Measures of an Erlang A queue with a callback offer (broadcast input shape).

    Attributes
    ----------
    wait_probability : probability that a caller finds every agent busy.
    callback_probability : probability that a caller leaves a callback request.
    abandon_probability : probability that a caller hangs up unserved (callbacks excluded).
    service_level : share of the callers who stayed answered within ``answer_within`` seconds.
    average_wait : mean time on hold over all callers, seconds (callback takers wait 0).
    """

    wait_probability: Any
    callback_probability: Any
    abandon_probability: Any
    service_level: Any
    average_wait: Any


def _measures(lam, h, pat, n, t, q):
    lam_up = lam * (1.0 - q)
    g = np.asarray(erlang_b(lam * h, n), dtype=np.float64)
    pw, ab_c, sl_c, w_c = full_line_measures(lam_up, h, pat, n, t, g)
    # q = 1: nobody joins, the line is reached with probability B(lambda h, N) (Erlang B)
    pw = np.where(q >= 1.0, g, pw)
    cb = q * pw
    stay = (1.0 - q) * pw
    with np.errstate(invalid="ignore", divide="ignore"):
        sl = np.where(1.0 - cb > 0, (1.0 - pw + stay * sl_c) / (1.0 - cb), 1.0)
    return pw, cb, stay * ab_c, np.clip(sl, 0.0, 1.0), stay * w_c


def _arrays(lam, h, pat, n, t, q):
    lam, h, pat, n, t, q = as_float_arrays(lam, h, pat, n, t, q)
    check("arrival_rate", lam, low=0.0, finite=True, unit="calls/s")
    check("handling_time", h, low=0.0, low_open=True, finite=True, unit="s")
    check("patience", pat, low=0.0, unit="s")
    check("agents", n, low=0.0, finite=True, integer=True)
    check("answer_within", t, low=0.0, finite=True, unit="s")
    check("callback_share", q, low=0.0, high=1.0)
    return lam, h, pat, n, t, q


def callback_queue(
    arrival_rate: Any,
    handling_time: Any,
    patience: Any,
    agents: Any,
    answer_within: Any = 20.0,
    callback_share: Any = 0.0,
) -> CallbackQueue:
    """Erlang A measures when a share of the callers who find every agent busy take a callback.

    Parameters
    ----------
    arrival_rate : float, array_like or pandas.Series
        Calls per second.
    handling_time : float, array_like or pandas.Series
        Average handling time, seconds.
    patience : float, array_like or pandas.Series
        Mean patience, seconds (``inf`` = no abandonment).
    agents : int, array_like or pandas.Series
        Agents N (whole numbers).
    answer_within : float, array_like or pandas.Series, default 20
        Service-level threshold, seconds.
    callback_share : float, array_like or pandas.Series, default 0
        Share ``q`` of the callers finding every agent busy who accept a callback, in [0, 1].

    Returns
    -------
    CallbackQueue

    References
    ----------
    .. [1] Armony & Maglaras (2004); see the module docstring.

    Examples
    --------
    >>> q = callback_queue(600 / 3600, 240, 120, 40, 20, callback_share=0.3)
    >>> bool(q.callback_probability > 0 and q.service_level > 0.8)
    True
    """
    t_in = (arrival_rate, handling_time, patience, agents, answer_within, callback_share)
    out = _measures(*_arrays(*t_in))
    return CallbackQueue(*(like_input(v, *t_in, name=n) for v, n in zip(out, CallbackQueue._fields)))


def callback_agents(
    arrival_rate: Any,
    handling_time: Any,
    patience: Any,
    service_level: Any,
    answer_within: Any,
    max_abandon: Any = None,
    callback_share: Any = 0.0,
) -> Any:
    """Fewest agents meeting a service level and an abandonment ceiling with a callback offer.

    Parameters are those of :func:`callback_queue` plus ``service_level`` (target in (0, 1)) and
    ``max_abandon`` (ceiling in (0, 1], None = none). ``callback_share = 0`` gives
    :func:`surgeplan.teletraffic.erlang_a_agents`.

    Returns
    -------
    int, numpy.ndarray or pandas.Series
        Agents.

    Examples
    --------
    >>> callback_agents(600 / 3600, 240, 120, 0.8, 20, 0.05, callback_share=0.3) <= 40
    True
    """
    ab_in = 1.0 if max_abandon is None else max_abandon
    lam, h, pat, _n, t, q = _arrays(arrival_rate, handling_time, patience, 0.0, answer_within, callback_share)
    s, ab = as_float_arrays(service_level, ab_in)
    check("service_level", s, low=0.0, high=1.0, low_open=True, high_open=True)
    check("max_abandon", ab, low=0.0, high=1.0, low_open=True)
    lam, h, pat, t, q, s, ab = np.broadcast_arrays(lam, h, pat, t, q, s, ab)

    def meets(n: np.ndarray) -> np.ndarray:
        _pw, _cb, a, sl, _w = _measures(lam, h, pat, n, t, q)
        return (sl >= s) & (a <= ab)

    # carried load lam h P(answered) <= N and P(answered) >= 1 - P(abandon) - q: fewer than
    # lam h (1 - max_abandon - q) agents break the ceiling; square-root staffing guesses the top
    a = lam * h
    lo = np.maximum(np.ceil(a * (1.0 - ab - q)) - 1.0, 0.0)
    out = smallest_integer(meets, lo, np.ceil(a + 2.0 * np.sqrt(a) + 2.0))
    out = np.where(lam > 0, out, 0.0)
    out = np.where(np.isnan(lam + h + pat + t + q + s + ab), np.nan, out)
    res = like_input(
        out,
        arrival_rate,
        handling_time,
        patience,
        service_level,
        answer_within,
        ab_in,
        callback_share,
        name="agents",
    )
    return int(res) if isinstance(res, float) and np.isfinite(res) else res
