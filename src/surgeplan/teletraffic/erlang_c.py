"""Erlang C (M/M/N delay system): probability of waiting, service level, speed of answer, staffing.

Units: ``arrival_rate`` in calls per second, ``handling_time`` (average handling time, AHT) and
``answer_within`` in seconds, ``traffic`` in Erlangs (= arrival_rate x handling_time), agents as
a count. Callers wait forever (no abandonment); see :mod:`surgeplan.teletraffic.erlang_a` for
impatient callers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from surgeplan._arrays import as_float_arrays, like_input
from surgeplan.teletraffic import _kernels as _k
from surgeplan.teletraffic._common import all_scalars, check, flat

__all__ = [
    "agents_for_service_level",
    "average_speed_of_answer",
    "erlang_c",
    "occupancy",
    "service_level",
]


def _c_from_b(a: np.ndarray, n: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Erlang C from Erlang B: C = N B / (N - A (1 - B)) for A < N, else 1."""
    with np.errstate(invalid="ignore", divide="ignore"):
        c = n * b / (n - a * (1.0 - b))
    c = np.where(a >= n, 1.0, c)
    c = np.where(np.isinf(n) & np.isfinite(a), 0.0, c)  # infinitely many agents: nobody waits
    c = np.where(np.isnan(a) | np.isnan(n), np.nan, c)
    return c


def _erlang_c_arrays(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    fa, fn = flat(a, n)
    b = _k.erlang_b_vec(fa, fn).reshape(a.shape)
    return _c_from_b(a, n, b)


def erlang_c(traffic: Any, agents: Any) -> Any:
    r"""Probability that a call waits (Erlang C formula, M/M/N).

    .. math::

        C(A, N) = \frac{N B(A, N)}{N - A (1 - B(A, N))}, \quad A < N; \qquad C = 1, \quad A \ge N

    computed from the Erlang B kernel (well conditioned at any size; no factorials).

    Parameters
    ----------
    traffic : float, array_like or pandas.Series
        Offered traffic A, Erlangs (arrival rate x average handling time), >= 0.
    agents : float, array_like or pandas.Series
        Agents N (>= 0; non-integer values use the continuous Erlang B extension; ``inf`` gives 0).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Probability of waiting, in [0, 1] (1 for an unstable queue, ``A >= N``; 0 for ``A = 0``
        with ``N > 0`` or for infinitely many agents).

    Raises
    ------
    SurgeplanError
        Negative traffic or agents.

    References
    ----------
    .. [1] A. K. Erlang, 1917 (see :func:`~surgeplan.teletraffic.erlang_b`); L. Kleinrock,
       "Queueing Systems, Vol. 1", Wiley 1975, section 3.5.

    Examples
    --------
    >>> round(erlang_c(2.0, 3), 6)  # 4/9 by hand: (8/6 * 3) / (1 + 2 + 2 + 4)
    0.444444
    """
    if all_scalars(traffic, agents) and 0 <= traffic < np.inf and 0 <= agents:
        a1, n1 = float(traffic), float(agents)
        if n1 == np.inf:
            return 0.0
        if a1 >= n1:
            return 1.0
        b1 = _k.erlang_b1(a1, n1)
        return n1 * b1 / (n1 - a1 * (1.0 - b1))
    a, n = as_float_arrays(traffic, agents)
    check("traffic", a, low=0.0, unit="Erlangs")
    check("agents", n, low=0.0)
    return like_input(_erlang_c_arrays(a, n), traffic, agents, name="wait_probability")


def _inputs(arrival_rate: Any, handling_time: Any, agents: Any, *more: Any) -> tuple[np.ndarray, ...]:
    lam, h, n, *rest = as_float_arrays(arrival_rate, handling_time, agents, *more)
    check("arrival_rate", lam, low=0.0, finite=True, unit="calls/s")
    check("handling_time", h, low=0.0, low_open=True, finite=True, unit="s")
    check("agents", n, low=0.0)
    return lam, h, n, *rest


def service_level(arrival_rate: Any, handling_time: Any, agents: Any, answer_within: Any) -> Any:
    r"""Share of calls answered within ``answer_within`` seconds (Erlang C).

    .. math::

        SL = 1 - C(A, N) \, e^{-(N - A)\, t / h}, \quad A = \lambda h

    Parameters
    ----------
    arrival_rate : float, array_like or pandas.Series
        Calls per second (>= 0).
    handling_time : float, array_like or pandas.Series
        Average handling time, seconds (> 0).
    agents : float, array_like or pandas.Series
        Agents N (>= 0).
    answer_within : float, array_like or pandas.Series
        Service-level threshold t, seconds (>= 0), e.g. 20 for "80/20".

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Service level in [0, 1]; 0 when the queue is unstable (``A >= N``).

    Raises
    ------
    SurgeplanError
        Negative or infinite rates, non-positive handling time, negative agents or threshold.

    References
    ----------
    .. [1] G. Koole, "Call Center Optimization", MG books, 2013, chapter 4 (Erlang C waiting-time
       distribution).

    Examples
    --------
    >>> round(service_level(600 / 3600, 240, 45, 20), 4)
    0.7754
    """
    lam, h, n, t = _inputs(arrival_rate, handling_time, agents, answer_within)
    check("answer_within", t, low=0.0, unit="s")
    a = lam * h
    c = _erlang_c_arrays(a, n)
    with np.errstate(invalid="ignore", over="ignore"):
        sl = 1.0 - c * np.exp(-(n - a) * t / h)
        sl = np.where(a >= n, 0.0, sl)
        sl = np.where(np.isnan(c) | np.isnan(t), np.nan, sl)
    return like_input(sl, arrival_rate, handling_time, agents, answer_within, name="service_level")


def average_speed_of_answer(arrival_rate: Any, handling_time: Any, agents: Any) -> Any:
    r"""Average speed of answer (mean wait over all calls), seconds (Erlang C).

    .. math::

        ASA = \frac{C(A, N)\, h}{N - A}

    Parameters
    ----------
    arrival_rate : float, array_like or pandas.Series
        Calls per second (>= 0).
    handling_time : float, array_like or pandas.Series
        Average handling time, seconds (> 0).
    agents : float, array_like or pandas.Series
        Agents N (>= 0).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Mean waiting time, seconds; ``inf`` when the queue is unstable (``A >= N``).

    Raises
    ------
    SurgeplanError
        As :func:`service_level`.

    References
    ----------
    .. [1] L. Kleinrock, "Queueing Systems, Vol. 1", Wiley 1975, eq. (3.42).

    Examples
    --------
    >>> round(average_speed_of_answer(1.0, 2.0, 3), 4)  # C = 4/9, h / (N - A) = 2
    0.8889
    """
    lam, h, n = _inputs(arrival_rate, handling_time, agents)
    a = lam * h
    c = _erlang_c_arrays(a, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        asa = np.where(a >= n, np.inf, c * h / (n - a))
        asa = np.where(np.isnan(c), np.nan, asa)
    return like_input(asa, arrival_rate, handling_time, agents, name="average_speed_of_answer")


def occupancy(arrival_rate: Any, handling_time: Any, agents: Any) -> Any:
    """Agent occupancy: share of agent time spent handling calls, ``min(A / N, 1)``.

    Parameters
    ----------
    arrival_rate : float, array_like or pandas.Series
        Calls per second (>= 0).
    handling_time : float, array_like or pandas.Series
        Average handling time, seconds (> 0).
    agents : float, array_like or pandas.Series
        Agents N (>= 0).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Occupancy in [0, 1] (1 when the queue is unstable; NaN for 0 agents and 0 traffic).

    Raises
    ------
    SurgeplanError
        As :func:`service_level`.

    References
    ----------
    .. [1] G. Koole, "Call Center Optimization", 2013, section 4.2.

    Examples
    --------
    >>> occupancy(0.1, 240, 30)
    0.8
    """
    lam, h, n = _inputs(arrival_rate, handling_time, agents)
    a = lam * h
    with np.errstate(invalid="ignore", divide="ignore"):
        occ = np.minimum(a / n, 1.0)
    return like_input(occ, arrival_rate, handling_time, agents, name="occupancy")


@njit(cache=True)
def _agents1(a, h, target, t, occ_max):
    """Smallest integer N with Erlang C service level >= target and A / N <= occ_max."""
    if math.isnan(a) or math.isnan(h) or math.isnan(target) or math.isnan(t) or math.isnan(occ_max):
        return np.nan
    if a == 0.0:
        return 0.0
    n = math.floor(a) + 1.0  # stability: N > A
    if occ_max < 1.0:
        m = math.ceil(a / occ_max * (1.0 - 1e-12))
        n = max(n, m)
    b = _k.erlang_b1(a, n)
    for _ in range(100_000_000):
        c = n * b / (n - a * (1.0 - b))
        sl = 1.0 - c * math.exp(-(n - a) * t / h)
        if sl >= target:
            break
        b = a * b / (n + 1.0 + a * b)
        n += 1.0
    return n


@njit(cache=True)
def _agents_serial(a, h, s, t, o, out):
    for i in range(a.size):
        out[i] = _agents1(a[i], h[i], s[i], t[i], o[i])


def agents_for_service_level(
    arrival_rate: Any,
    handling_time: Any,
    service_level: Any,
    answer_within: Any,
    max_occupancy: Any = None,
) -> Any:
    """Smallest number of agents meeting a service level (Erlang C), optionally an occupancy cap.

    Walks up from the stability bound ``floor(A) + 1`` (or ``ceil(A / max_occupancy)``) with the
    exact Erlang B recurrence, so the answer is the minimum: it meets the target and one agent
    fewer does not.

    Parameters
    ----------
    arrival_rate : float, array_like or pandas.Series
        Calls per second (>= 0).
    handling_time : float, array_like or pandas.Series
        Average handling time, seconds (> 0).
    service_level : float, array_like or pandas.Series
        Target share of calls answered within ``answer_within``, in (0, 1), e.g. 0.8.
    answer_within : float, array_like or pandas.Series
        Threshold, seconds (>= 0), e.g. 20.
    max_occupancy : float, array_like or pandas.Series, optional
        Occupancy ceiling in (0, 1] (e.g. 0.9 to protect agents from burnout); None = no ceiling.

    Returns
    -------
    int, numpy.ndarray or pandas.Series
        Agents (0 when there are no calls).

    Raises
    ------
    SurgeplanError
        Out-of-range inputs (named).

    References
    ----------
    .. [1] G. Koole, "Call Center Optimization", 2013, chapter 4; ITU-T E.500-series practice of
       dimensioning for a grade of service.

    Examples
    --------
    >>> agents_for_service_level(600 / 3600, 240, 0.8, 20)
    46
    """
    if (
        all_scalars(arrival_rate, handling_time, service_level, answer_within)
        and (max_occupancy is None or all_scalars(max_occupancy))
        and 0 <= arrival_rate < np.inf
        and 0 < handling_time < np.inf
        and 0 < service_level < 1
        and 0 <= answer_within < np.inf
        and (max_occupancy is None or 0 < max_occupancy <= 1)
    ):  # fast path for one scenario
        occ1 = 1.0 if max_occupancy is None else float(max_occupancy)
        lam1, h1 = float(arrival_rate), float(handling_time)
        return int(_agents1(lam1 * h1, h1, float(service_level), float(answer_within), occ1))
    occ = 1.0 if max_occupancy is None else max_occupancy
    lam, h, s, t, o = as_float_arrays(arrival_rate, handling_time, service_level, answer_within, occ)
    check("arrival_rate", lam, low=0.0, finite=True, unit="calls/s")
    check("handling_time", h, low=0.0, low_open=True, finite=True, unit="s")
    check("service_level", s, low=0.0, high=1.0, low_open=True, high_open=True)
    check("answer_within", t, low=0.0, finite=True, unit="s")
    check("max_occupancy", o, low=0.0, high=1.0, low_open=True)
    fa, fh, fs, ft, fo = flat(lam * h, h, s, t, o)
    out = np.empty(fa.size)
    _agents_serial(fa, fh, fs, ft, fo, out)
    out = out.reshape(lam.shape)
    res = like_input(out, arrival_rate, handling_time, service_level, answer_within, occ, name="agents")
    if isinstance(res, float) and np.isfinite(res):
        return int(res)
    return res
