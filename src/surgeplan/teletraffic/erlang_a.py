r"""Erlang A (M/M/N+M): a call-centre queue whose callers abandon after an exponential patience.

Units: ``arrival_rate`` in calls per second; ``handling_time`` (average handling time),
``patience`` (mean time a caller is willing to wait) and ``answer_within`` in seconds.
``patience = inf`` gives Erlang C exactly; ``patience = 0`` a loss system (Erlang B).

Exact formulas (birth-death chain; Palm 1946, Riordan 1962, Garnett, Mandelbaum & Reiman 2002,
Mandelbaum & Zeltyn 2007). With ``A = lambda h``, ``x = lambda * patience``,
``y = N h^-1 * patience`` and ``t_j = x^j / ((y+1)(y+2)...(y+j))``::

    J = sum_{j>=0} t_j = P(y, x) / p(y; x)          (regularised lower gamma over Poisson term)
    pi_N = B(A, N) / (1 + (J - 1) B(A, N))           (probability that all N agents are busy)
    P(wait)    = pi_N J
    P(abandon) = pi_N K / x,   K = sum_j j t_j = y + (x - y) J
    E[wait]    = P(abandon) * patience               (Little's law + exponential patience)
    P(answered within t) = 1 - P(wait)
                           + pi_N (y/x) [ (J - 1) - e^{x(1-e^{-t/patience}) - y t/patience} (J' - 1) ]

with ``J'`` the same sum at ``x' = x e^{-t/patience}``; the last line follows from the
pure-death representation of the queue ahead of a waiting caller (a sum of exponentials with
rates ``N/h + i/patience`` is a beta-distributed order statistic), summed in closed form.
Above the diagonal (``x >= y``) every quantity is computed as a ratio to the Poisson term, with
``1 - P(y, x)`` from the Erlang B kernel, so nothing overflows even for huge patience.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from surgeplan._arrays import as_float_arrays, like_input
from surgeplan.teletraffic import _kernels as _k
from surgeplan.teletraffic._common import check, flat

__all__ = [
    "ErlangA",
    "erlang_a",
    "erlang_a_abandon_probability",
    "erlang_a_agents",
    "erlang_a_average_wait",
    "erlang_a_service_level",
    "erlang_a_wait_probability",
]


@njit(cache=True)
def _q_upper(y, x):
    """Regularised upper incomplete gamma Q(y, x) for x >= y > 0, via the Erlang B kernel."""
    lp = _k.log_poisson(y, x)
    if lp < -745.0:
        return 0.0
    if y < 1.0:
        # "servers" y - 1 < 0: only the continued fraction applies (valid for any a = y <= x)
        return math.exp(lp) * (y / x) * _k.cf_inv_b(y - 1.0, x)
    return math.exp(lp) * (y / x) / _k.erlang_b1(x, y - 1.0)  # B(x, y-1) = p(y-1; x) / Q(y, x)


@njit(cache=True)
def erlang_a1(lam, h, pat, n, t):
    """(P(wait), P(abandon), P(answered within t), E[wait] in s) for one M/M/N+M queue."""
    nan = np.nan
    if math.isnan(lam) or math.isnan(h) or math.isnan(pat) or math.isnan(n) or math.isnan(t):
        return nan, nan, nan, nan
    a = lam * h
    if lam == 0.0:
        return 0.0, 0.0, 1.0, 0.0
    if n == 0.0:
        return 1.0, 1.0, 0.0, pat
    if n == np.inf:
        return 0.0, 0.0, 1.0, 0.0
    b = _k.erlang_b1(a, n)
    if pat == np.inf:  # Erlang C
        if a >= n:
            return 1.0, 0.0, 0.0, np.inf
        c = n * b / (n - a * (1.0 - b))
        return c, 0.0, 1.0 - c * math.exp(-(n - a) * t / h), c * h / (n - a)
    if pat == 0.0:  # callers who find all agents busy leave at once
        return b, b, 1.0 - b, 0.0
    x = lam * pat
    y = n * pat / h
    s = t / pat  # theta t
    log_e = -x * math.expm1(-s) - y * s  # ln of exp(x (1 - e^{-s}) - y s)
    xp = x * math.exp(-s)
    if x < y:
        tj = 1.0
        s1 = 0.0
        kk = 0.0
        j = 1.0
        for _ in range(100_000_000):
            tj *= x / (y + j)
            s1 += tj
            kk += j * tj
            if tj <= 1e-17 * s1 and j * tj <= 1e-17 * kk:
                break
            j += 1.0
        pin = b / (1.0 + s1 * b)
        pw = pin * (1.0 + s1)
        pab = pin * kk / x
        s1p = _k.series_s1(y, xp)
        ans = pin * (y / x) * (s1 - math.exp(log_e) * s1p)
    else:
        lp = _k.log_poisson(y, x)
        p = math.exp(lp)
        jp = 1.0 - _q_upper(y, x)  # J * p
        d = p * (1.0 - b) + jp * b
        pw = b * jp / d
        pin = b * p / d
        pab = (pin * y + (x - y) * pw) / x
        log_pin_e = math.log(b) + lp - math.log(d) + log_e
        if xp >= y:
            term2 = (b / d) * (1.0 - _q_upper(y, xp)) - math.exp(log_pin_e)
        else:
            term2 = math.exp(log_pin_e) * _k.series_s1(y, xp)
        ans = (y / x) * ((pw - pin) - term2)
    sl = 1.0 - pw + ans
    sl = max(sl, 0.0)
    sl = min(sl, 1.0)
    return pw, pab, sl, pab * pat


@njit(cache=True)
def _erlang_a_serial(lam, h, pat, n, t, pw, pab, sl, w):
    for i in range(lam.size):
        r = erlang_a1(lam[i], h[i], pat[i], n[i], t[i])
        pw[i] = r[0]
        pab[i] = r[1]
        sl[i] = r[2]
        w[i] = r[3]


class ErlangA(NamedTuple):
    """All Erlang A measures for a staffing level (fields have the broadcast input shape).

    Attributes
    ----------
    wait_probability : probability that a caller has to wait (all agents busy on arrival).
    abandon_probability : probability that a caller hangs up before being answered.
    service_level : share of all callers answered within ``answer_within`` seconds.
    average_wait : mean time in queue over all callers (answered or not), seconds.
    occupancy : carried load per agent, ``A (1 - P(abandon)) / N``.
    """

    wait_probability: Any
    abandon_probability: Any
    service_level: Any
    average_wait: Any
    occupancy: Any


def _compute(arrival_rate: Any, handling_time: Any, patience: Any, agents: Any, answer_within: Any):
    lam, h, pat, n, t = as_float_arrays(arrival_rate, handling_time, patience, agents, answer_within)
    check("arrival_rate", lam, low=0.0, finite=True, unit="calls/s")
    check("handling_time", h, low=0.0, low_open=True, finite=True, unit="s")
    check("patience", pat, low=0.0, unit="s")
    # Whole agents only: the formulas are sums over agent states and have no published continuous
    # extension in the number of agents (unlike Erlang B); a fraction of an agent is refused.
    check("agents", n, low=0.0, integer=True)
    check("answer_within", t, low=0.0, finite=True, unit="s")
    arrays = flat(lam, h, pat, n, t)
    outs = [np.empty(lam.size) for _ in range(4)]
    _erlang_a_serial(*arrays, *outs)
    return lam, h, n, [o.reshape(lam.shape) for o in outs]


def erlang_a(
    arrival_rate: Any, handling_time: Any, patience: Any, agents: Any, answer_within: Any = 20.0
) -> ErlangA:
    """All Erlang A measures at once (see the module docstring for the formulas).

    Parameters
    ----------
    arrival_rate : float, array_like or pandas.Series
        Calls per second (>= 0).
    handling_time : float, array_like or pandas.Series
        Average handling time, seconds (> 0).
    patience : float, array_like or pandas.Series
        Mean patience before abandoning, seconds (>= 0; ``inf`` = Erlang C).
    agents : int, array_like or pandas.Series
        Agents N (whole number >= 0, ``inf`` allowed: nobody waits). Non-integer agents are refused
        (SurgeplanError naming ``agents``), not interpolated.
    answer_within : float, array_like or pandas.Series, default 20
        Service-level threshold, seconds.

    Returns
    -------
    ErlangA
        Named tuple of wait/abandon probabilities, service level, average wait (s), occupancy.

    Raises
    ------
    SurgeplanError
        Out-of-range inputs (named).

    References
    ----------
    .. [1] O. Garnett, A. Mandelbaum, M. Reiman, "Designing a call center with impatient
       customers", Manufacturing & Service Operations Management 4(3), 208-227, 2002.
    .. [2] A. Mandelbaum, S. Zeltyn, "The M/M/n+G queue: summary of performance measures",
       Technion technical note, 2007.
    .. [3] C. Palm, "Etude des delais d'attente", Ericsson Technics 5, 1937.

    Examples
    --------
    >>> m = erlang_a(600 / 3600, 240, 120, 40, 20)
    >>> bool(0 < m.abandon_probability < m.wait_probability < 1)
    True
    """
    t = (arrival_rate, handling_time, patience, agents, answer_within)
    lam, h, n, (pw, pab, sl, w) = _compute(*t)
    with np.errstate(invalid="ignore", divide="ignore"):
        occ = np.where(n > 0, np.minimum(lam * h * (1.0 - pab) / n, 1.0), np.nan)
    return ErlangA(
        like_input(pw, *t, name="wait_probability"),
        like_input(pab, *t, name="abandon_probability"),
        like_input(sl, *t, name="service_level"),
        like_input(w, *t, name="average_wait"),
        like_input(occ, *t, name="occupancy"),
    )


def erlang_a_wait_probability(arrival_rate: Any, handling_time: Any, patience: Any, agents: Any) -> Any:
    """Probability that a caller waits (all agents busy on arrival), Erlang A.

    Parameters
    ----------
    arrival_rate : float, array_like or pandas.Series
        Calls per second.
    handling_time : float, array_like or pandas.Series
        Average handling time, seconds.
    patience : float, array_like or pandas.Series
        Mean patience, seconds (``inf`` = Erlang C).
    agents : int, array_like or pandas.Series
        Agents (whole number >= 0).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Probability of waiting.

    References
    ----------
    .. [1] Garnett, Mandelbaum & Reiman (2002); see :func:`erlang_a`.

    Examples
    --------
    >>> bool(erlang_a_wait_probability(0.1, 300, 60, 35) < 1)
    True
    """
    t = (arrival_rate, handling_time, patience, agents, 0.0)
    return like_input(_compute(*t)[3][0], *t[:4], name="wait_probability")


def erlang_a_abandon_probability(arrival_rate: Any, handling_time: Any, patience: Any, agents: Any) -> Any:
    """Probability that a caller abandons before being answered, Erlang A.

    Parameters
    ----------
    arrival_rate : float, array_like or pandas.Series
        Calls per second.
    handling_time : float, array_like or pandas.Series
        Average handling time, seconds.
    patience : float, array_like or pandas.Series
        Mean patience, seconds (``inf`` = Erlang C: no abandonment).
    agents : int, array_like or pandas.Series
        Agents (whole number >= 0).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Abandonment probability.

    References
    ----------
    .. [1] Mandelbaum & Zeltyn (2007); see :func:`erlang_a`.

    Examples
    --------
    >>> erlang_a_abandon_probability(0.1, 300, float("inf"), 35)
    0.0
    """
    t = (arrival_rate, handling_time, patience, agents, 0.0)
    return like_input(_compute(*t)[3][1], *t[:4], name="abandon_probability")


def erlang_a_service_level(
    arrival_rate: Any, handling_time: Any, patience: Any, agents: Any, answer_within: Any
) -> Any:
    """Share of all callers answered within ``answer_within`` seconds, Erlang A.

    Callers who abandon count as not answered (the conservative "answered within t / offered"
    convention); with ``patience = inf`` this is the Erlang C service level.

    Parameters
    ----------
    arrival_rate : float, array_like or pandas.Series
        Calls per second.
    handling_time : float, array_like or pandas.Series
        Average handling time, seconds.
    patience : float, array_like or pandas.Series
        Mean patience, seconds.
    agents : int, array_like or pandas.Series
        Agents (whole number >= 0).
    answer_within : float, array_like or pandas.Series
        Threshold, seconds.

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Service level in [0, 1].

    References
    ----------
    .. [1] Mandelbaum & Zeltyn (2007); see :func:`erlang_a`.

    Examples
    --------
    >>> bool(erlang_a_service_level(0.1, 300, 60, 35, 20) > 0.5)
    True
    """
    t = (arrival_rate, handling_time, patience, agents, answer_within)
    return like_input(_compute(*t)[3][2], *t, name="service_level")


def erlang_a_average_wait(arrival_rate: Any, handling_time: Any, patience: Any, agents: Any) -> Any:
    """Mean time in queue over all callers (answered or abandoned), seconds, Erlang A.

    Equals ``P(abandon) * patience`` for exponential patience.

    Parameters
    ----------
    arrival_rate : float, array_like or pandas.Series
        Calls per second.
    handling_time : float, array_like or pandas.Series
        Average handling time, seconds.
    patience : float, array_like or pandas.Series
        Mean patience, seconds (``inf`` = Erlang C average speed of answer).
    agents : int, array_like or pandas.Series
        Agents (whole number >= 0).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Average wait, seconds.

    References
    ----------
    .. [1] Mandelbaum & Zeltyn (2007); see :func:`erlang_a`.

    Examples
    --------
    >>> round(erlang_a_average_wait(0.1, 300, 60, 0), 6)
    60.0
    """
    t = (arrival_rate, handling_time, patience, agents, 0.0)
    return like_input(_compute(*t)[3][3], *t[:4], name="average_wait")


@njit(cache=True)
def _meets(lam, h, pat, n, t, sl_target, ab_max, occ_max):
    _pw, pab, sl, _w = erlang_a1(lam, h, pat, n, t)
    if sl < sl_target or pab > ab_max:
        return False
    return not (occ_max < 1.0 and lam * h * (1.0 - pab) > occ_max * n)


@njit(cache=True)
def _agents1(lam, h, pat, sl_target, t, ab_max, occ_max):
    if math.isnan(lam) or math.isnan(h) or math.isnan(pat) or math.isnan(sl_target) or math.isnan(t):
        return np.nan
    if math.isnan(ab_max) or math.isnan(occ_max):
        return np.nan
    if lam == 0.0:
        return 0.0
    lo = 0.0  # fails: no agent answers anything
    hi = max(1.0, math.ceil(lam * h))
    for _ in range(200):
        if _meets(lam, h, pat, hi, t, sl_target, ab_max, occ_max):
            break
        lo = hi
        hi = 2.0 * hi
    while hi - lo > 1.0:
        mid = math.floor(0.5 * (lo + hi))
        if _meets(lam, h, pat, mid, t, sl_target, ab_max, occ_max):
            hi = mid
        else:
            lo = mid
    return hi


@njit(cache=True)
def _agents_serial(lam, h, pat, s, t, ab, occ, out):
    for i in range(lam.size):
        out[i] = _agents1(lam[i], h[i], pat[i], s[i], t[i], ab[i], occ[i])


def erlang_a_agents(
    arrival_rate: Any,
    handling_time: Any,
    patience: Any,
    service_level: Any,
    answer_within: Any,
    max_abandon: Any = None,
    max_occupancy: Any = None,
) -> Any:
    """Smallest number of agents meeting a service level and optional abandonment/occupancy caps.

    Service level rises and abandonment falls with every added agent, so an exponential search
    followed by integer bisection returns the minimum (N meets every target, N - 1 does not).

    Parameters
    ----------
    arrival_rate : float, array_like or pandas.Series
        Calls per second (>= 0).
    handling_time : float, array_like or pandas.Series
        Average handling time, seconds (> 0).
    patience : float, array_like or pandas.Series
        Mean patience, seconds (>= 0; ``inf`` = Erlang C).
    service_level : float, array_like or pandas.Series
        Target share of all callers answered within ``answer_within``, in (0, 1).
    answer_within : float, array_like or pandas.Series
        Threshold, seconds.
    max_abandon : float, array_like or pandas.Series, optional
        Abandonment ceiling in (0, 1], e.g. 0.05; None = no ceiling.
    max_occupancy : float, array_like or pandas.Series, optional
        Occupancy ceiling in (0, 1]; None = no ceiling.

    Returns
    -------
    int, numpy.ndarray or pandas.Series
        Agents.

    Raises
    ------
    SurgeplanError
        Out-of-range inputs (named).

    References
    ----------
    .. [1] Garnett, Mandelbaum & Reiman (2002); see :func:`erlang_a`.

    Examples
    --------
    >>> erlang_a_agents(600 / 3600, 240, float("inf"), 0.8, 20)  # Erlang C answer
    46
    """
    ab_in = 1.0 if max_abandon is None else max_abandon
    occ_in = 1.0 if max_occupancy is None else max_occupancy
    arrays = as_float_arrays(
        arrival_rate, handling_time, patience, service_level, answer_within, ab_in, occ_in
    )
    lam, h, pat, s, t, ab, occ = arrays
    check("arrival_rate", lam, low=0.0, finite=True, unit="calls/s")
    check("handling_time", h, low=0.0, low_open=True, finite=True, unit="s")
    check("patience", pat, low=0.0, unit="s")
    check("service_level", s, low=0.0, high=1.0, low_open=True, high_open=True)
    check("answer_within", t, low=0.0, finite=True, unit="s")
    check("max_abandon", ab, low=0.0, high=1.0, low_open=True)
    check("max_occupancy", occ, low=0.0, high=1.0, low_open=True)
    out = np.empty(arrays[0].size)
    _agents_serial(*flat(*arrays), out)
    out = out.reshape(arrays[0].shape)
    res = like_input(
        out, arrival_rate, handling_time, patience, service_level, answer_within, ab_in, occ_in, name="agents"
    )
    if isinstance(res, float) and np.isfinite(res):
        return int(res)
    return res
