r"""Concurrent chat service: agents who each hold up to ``K`` chats, impatient customers.

The model of Tezcan & Zhang [1]_ (also Luo & Zhang [2]_): ``c`` agents, each serving up to ``K``
chats at once; a chat's service rate depends on how many chats its agent holds. Here an agent
holding ``k`` chats works each of them at ``mu_k = 1 / (h (1 + beta (k - 1)))`` per second
(``h`` = handling time of a chat held alone, ``beta`` = slowdown per extra chat), so the agent
completes ``k mu_k`` chats per second. A new chat goes to the least-loaded agent; when every
slot is busy (``n >= c K`` chats in the system) it waits FCFS and abandons after an exponential
patience of mean ``patience`` seconds.

As a birth-death chain on ``n`` with chats spread evenly (``m = n mod c`` agents hold
``k + 1 = n // c + 1`` chats, the others ``k``) the completion rate below the full line is::

    r(n) = m (k + 1) mu_{k+1} + (c - m) k mu_k,      n <= c K,

and above it the queue is exactly Erlang A with ``c K`` servers of handling time
``h_K = h (1 + beta (K - 1))``. The probability of the full line in the truncated chain follows the
Erlang B-type recursion ``G_n = lambda G_{n-1} / (r(n) + lambda G_{n-1})``; every other measure
comes from Erlang A (:mod:`surgeplan.teletraffic._fullline`).

With ``K = 1`` the model is Erlang A exactly; with ``beta = 0`` it is Erlang A with ``c K``
servers. The even spread is an approximation when ``beta > 0`` (chats end unevenly and do not
move between agents, and an uneven agent completes fewer chats than an even one): against a
discrete-event simulation (simpy, 3 x 50,000 chats) it is slightly optimistic, by 0.008 of service
level and 0.004 of abandonment at K = 3, beta = 0.5 (0.831 vs 0.823; 0.067 vs 0.071), and within
0.003 at beta = 0.25 (``tests/test_customer_relation_models.py``).

References
----------
.. [1] T. Tezcan, J. Zhang, "Routing and staffing in customer service chat systems with impatient
   customers", Operations Research 62(4), 943-956, 2014.
.. [2] J. Luo, J. Zhang, "Staffing and control of instant messaging contact centers", Operations
   Research 61(2), 328-343, 2013.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit

from surgeplan._arrays import as_float_arrays, like_input
from surgeplan.teletraffic._common import check, flat
from surgeplan.teletraffic._fullline import full_line_measures, smallest_integer

__all__ = ["ChatQueue", "chat_agents", "chat_queue"]


@njit(cache=True)
def _g_full1(lam, h, c, k_max, beta):
    """P(every slot busy) in the chain truncated at c K (lam chats/s, h s)."""
    if lam == 0.0:
        return 0.0
    if c <= 0.0:
        return 1.0
    g = 1.0
    n_max = int(c * k_max)
    ci = int(c)
    for n in range(1, n_max + 1):
        k = n // ci
        m = n - k * ci
        r = (c - m) * k / (h * (1.0 + beta * (k - 1.0))) if k > 0 else 0.0
        r += m * (k + 1.0) / (h * (1.0 + beta * k))
        g = lam * g / (r + lam * g)
    return g


@njit(cache=True)
def _g_full_serial(lam, h, c, k_max, beta, out):
    for i in range(lam.size):
        if np.isnan(lam[i]) or np.isnan(h[i]) or np.isnan(c[i]) or np.isnan(k_max[i]) or np.isnan(beta[i]):
            out[i] = np.nan
        else:
            out[i] = _g_full1(lam[i], h[i], c[i], k_max[i], beta[i])


class ChatQueue(NamedTuple):
    """Measures of a concurrent-chat queue (fields have the broadcast input shape).

    Attributes
    ----------
    wait_probability : probability that a chat finds every slot busy and waits.
    abandon_probability : probability that a customer leaves before an agent picks the chat up.
    service_level : share of all chats picked up within ``answer_within`` seconds.
    average_wait : mean wait over all chats, seconds.
    """

    wait_probability: Any
    abandon_probability: Any
    service_level: Any
    average_wait: Any


def _arrays(lam, h, pat, c, k, beta, t):
    lam, h, pat, c, k, beta, t = as_float_arrays(lam, h, pat, c, k, beta, t)
    check("arrival_rate", lam, low=0.0, finite=True, unit="chats/s")
    check("handling_time", h, low=0.0, low_open=True, finite=True, unit="s")
    check("patience", pat, low=0.0, unit="s")
    check("agents", c, low=0.0, finite=True, integer=True)
    check("concurrency", k, low=1.0, finite=True, integer=True)
    check("slowdown", beta, low=0.0, finite=True)
    check("answer_within", t, low=0.0, finite=True, unit="s")
    return lam, h, pat, c, k, beta, t


def _measures(lam, h, pat, c, k, beta, t):
    g = np.empty(lam.size)
    _g_full_serial(*flat(lam, h, c, k, beta), g)
    g = g.reshape(lam.shape)
    h_k = h * (1.0 + beta * (k - 1.0))
    pw, ab_c, sl_c, w_c = full_line_measures(lam, h_k, pat, c * k, t, g)
    return pw, pw * ab_c, 1.0 - pw + pw * sl_c, pw * w_c


def chat_queue(
    arrival_rate: Any,
    handling_time: Any,
    patience: Any,
    agents: Any,
    concurrency: Any = 1,
    slowdown: Any = 0.0,
    answer_within: Any = 60.0,
) -> ChatQueue:
    """Wait, abandonment, service level and mean wait of a concurrent-chat queue.

    Parameters
    ----------
    arrival_rate : float, array_like or pandas.Series
        Chats per second (>= 0).
    handling_time : float, array_like or pandas.Series
        Mean handling time of a chat its agent holds alone, seconds (> 0).
    patience : float, array_like or pandas.Series
        Mean patience before leaving the queue, seconds (``inf``: nobody leaves).
    agents : int, array_like or pandas.Series
        Agents c (whole numbers).
    concurrency : int, array_like or pandas.Series, default 1
        Chats an agent holds at most, K (whole numbers >= 1).
    slowdown : float, array_like or pandas.Series, default 0
        Relative lengthening of a chat per extra chat its agent holds, beta (0: none); 0.25 means
        a chat lasts 1.25 h when its agent holds two.
    answer_within : float, array_like or pandas.Series, default 60
        Service-level threshold, seconds.

    Returns
    -------
    ChatQueue

    References
    ----------
    .. [1] Tezcan & Zhang (2014); see the module docstring.

    Examples
    --------
    >>> q = chat_queue(0.05, 600, 300, 10, concurrency=3, slowdown=0.25, answer_within=60)
    >>> bool(0 < q.abandon_probability < q.wait_probability < 1)
    True
    """
    t_in = (arrival_rate, handling_time, patience, agents, concurrency, slowdown, answer_within)
    pw, ab, sl, w = _measures(*_arrays(*t_in))
    return ChatQueue(*(like_input(v, *t_in, name=n) for v, n in zip((pw, ab, sl, w), ChatQueue._fields)))


def chat_agents(
    arrival_rate: Any,
    handling_time: Any,
    patience: Any,
    service_level: Any,
    answer_within: Any,
    max_abandon: Any = None,
    concurrency: Any = 1,
    slowdown: Any = 0.0,
) -> Any:
    """Fewest agents giving a service level and an abandonment ceiling in a concurrent-chat queue.

    Parameters
    ----------
    arrival_rate, handling_time, patience, answer_within, concurrency, slowdown
        As in :func:`chat_queue` (chats/s, seconds).
    service_level : float, array_like or pandas.Series
        Target share of chats picked up within ``answer_within``, in (0, 1).
    max_abandon : float, array_like or pandas.Series, optional
        Abandonment ceiling in (0, 1]; None = none.

    Returns
    -------
    int, numpy.ndarray or pandas.Series
        Agents (every added agent raises the service level and lowers abandonment, so a bisection
        on whole agents finds the fewest).

    Examples
    --------
    >>> chat_agents(0.05, 600, 300, 0.8, 60, 0.05, concurrency=1) == chat_agents(
    ...     0.05, 600, 300, 0.8, 60, 0.05, concurrency=1, slowdown=0.5)
    True
    """
    ab_in = 1.0 if max_abandon is None else max_abandon
    lam, h, pat, _c, k, beta, t = _arrays(
        arrival_rate, handling_time, patience, 0.0, concurrency, slowdown, answer_within
    )
    s, ab = as_float_arrays(service_level, ab_in)
    check("service_level", s, low=0.0, high=1.0, low_open=True, high_open=True)
    check("max_abandon", ab, low=0.0, high=1.0, low_open=True)
    lam, h, pat, k, beta, t, s, ab = np.broadcast_arrays(lam, h, pat, k, beta, t, s, ab)

    def meets(c: np.ndarray) -> np.ndarray:
        _pw, a, sl, _w = _measures(lam, h, pat, c, k, beta, t)
        return (sl >= s) & (a <= ab)

    # a full agent completes at most K / h_K chats/s: fewer than lam h_K / K agents cannot keep up
    # without losing more than the ceiling allows, so start there
    h_k = h * (1.0 + beta * (k - 1.0))
    lo = np.maximum(np.floor(lam * h_k * (1.0 - ab) / k) - 1.0, 0.0)
    slots = lam * h_k / k  # agents kept busy if every agent held K chats (square-root staffing above it)
    out = smallest_integer(meets, lo, np.ceil(slots + 2.0 * np.sqrt(slots) + 2.0))
    out = np.where(lam > 0, out, 0.0)
    out = np.where(np.isnan(lam + h + pat + k + beta + t + s + ab), np.nan, out)
    res = like_input(
        out,
        arrival_rate,
        handling_time,
        patience,
        service_level,
        answer_within,
        ab_in,
        concurrency,
        slowdown,
        name="agents",
    )
    return int(res) if isinstance(res, float) and np.isfinite(res) else res
