r"""Engset loss system: a finite number of sources sharing a group of servers.

Units: ``sources`` and ``servers`` are counts (whole numbers); ``traffic_per_idle_source`` is the
offered traffic of one *idle* source, Erlangs (its call rate while idle x mean holding time,
``beta = gamma / mu``).

Time congestion (share of time all servers are busy) and call congestion (share of call attempts
blocked) differ for finite sources; call congestion with S sources equals time congestion with
S - 1 sources (arrival theorem)::

    E(S, N, beta) = C(S, N) beta^N / sum_{k=0}^{N} C(S, k) beta^k
    1 / E_n = 1 + n / ((S - n + 1) beta) * 1 / E_{n-1},   E_0 = 1    (stable recurrence)
"""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple

import numpy as np
from numba import njit

from surgeplan._arrays import as_float_arrays, like_input
from surgeplan.errors import SurgeplanError
from surgeplan.teletraffic._common import check, flat

__all__ = ["EngsetResult", "engset", "engset_servers"]


@njit(cache=True)
def _time_congestion(s, n, beta):
    """E(s, n, beta): probability that all n servers are busy, s sources (recurrence)."""
    if math.isnan(s) or math.isnan(n) or math.isnan(beta):
        return np.nan
    if n > s:
        return 0.0  # state n unreachable
    if n == 0.0:
        return 1.0
    if beta == 0.0:
        return 0.0
    if beta == np.inf:
        return 1.0
    r = 1.0
    k = 1.0
    while k <= n:
        r = 1.0 + k / ((s - k + 1.0) * beta) * r
        k += 1.0
    return 1.0 / r


@njit(cache=True)
def _engset_serial(s, n, beta, call, time):
    for i in range(s.size):
        time[i] = _time_congestion(s[i], n[i], beta[i])
        call[i] = _time_congestion(s[i] - 1.0, n[i], beta[i])


@njit(cache=True)
def _servers1(s, beta, target, call):
    if math.isnan(s) or math.isnan(beta) or math.isnan(target):
        return np.nan
    ss = s - 1.0 if call else s
    # walk the recurrence up from n = 0 until the congestion meets the target
    r = 1.0
    n = 0.0
    if beta == 0.0:
        return 0.0
    while True:
        if 1.0 / r <= target:
            return n
        n += 1.0
        if n >= s:
            # as many servers as sources: no call is ever blocked, whatever the time congestion
            # (the share of time all S servers are busy, which no number of servers lowers to 0)
            return s
        r = 1.0 + n / ((ss - n + 1.0) * beta) * r


@njit(cache=True)
def _servers_serial(s, beta, t, call, out):
    for i in range(s.size):
        out[i] = _servers1(s[i], beta[i], t[i], call)


class EngsetResult(NamedTuple):
    """Result of :func:`engset` (fields have the broadcast input shape).

    Attributes
    ----------
    call_congestion : probability that a call attempt is blocked (what a caller experiences).
    time_congestion : share of time during which all servers are busy.
    """

    call_congestion: Any
    time_congestion: Any


def _check_common(s: np.ndarray, beta: np.ndarray) -> None:
    check("sources", s, low=1.0, finite=True, integer=True)
    check("traffic_per_idle_source", beta, low=0.0, unit="Erlangs")


def engset(sources: Any, servers: Any, traffic_per_idle_source: Any) -> EngsetResult:
    """Engset call and time congestion for a finite population of sources.

    Parameters
    ----------
    sources : int, array_like or pandas.Series
        Number of traffic sources S (whole number >= 1).
    servers : int, array_like or pandas.Series
        Number of servers N (whole number >= 0). ``N >= S`` blocks nobody (call congestion 0).
    traffic_per_idle_source : float, array_like or pandas.Series
        Offered traffic per idle source beta, Erlangs (>= 0).

    Returns
    -------
    EngsetResult
        ``(call_congestion, time_congestion)``.

    Raises
    ------
    SurgeplanError
        Non-integer or out-of-range sources/servers, negative traffic.

    References
    ----------
    .. [1] T. O. Engset, "Die Wahrscheinlichkeitsrechnung zur Bestimmung der Waehlerzahl in
       automatischen Fernsprechaemtern", Elektrotechnische Zeitschrift 39(31), 304-306, 1918.
    .. [2] ITU-D / ITU-T "Teletraffic Engineering Handbook" (V. B. Iversen), chapter 8.

    Examples
    --------
    >>> r = engset(2, 1, 1.0)  # by hand: time 2/(1+2) = 2/3; call (1 source): 1/2
    >>> round(r.time_congestion, 6), round(r.call_congestion, 6)
    (0.666667, 0.5)
    """
    s, n, beta = as_float_arrays(sources, servers, traffic_per_idle_source)
    _check_common(s, beta)
    check("servers", n, low=0.0, finite=True, integer=True)
    fs, fn, fb = flat(s, n, beta)
    call = np.empty(fs.size)
    time = np.empty(fs.size)
    _engset_serial(fs, fn, fb, call, time)
    t = (sources, servers, traffic_per_idle_source)
    return EngsetResult(
        like_input(call.reshape(s.shape), *t, name="call_congestion"),
        like_input(time.reshape(s.shape), *t, name="time_congestion"),
    )


def engset_servers(
    sources: Any,
    traffic_per_idle_source: Any,
    blocking: Any,
    congestion: Literal["call", "time"] = "call",
) -> Any:
    """Smallest number of servers whose Engset congestion is at most the target.

    Parameters
    ----------
    sources : int, array_like or pandas.Series
        Number of traffic sources (whole number >= 1).
    traffic_per_idle_source : float, array_like or pandas.Series
        Offered traffic per idle source, Erlangs (>= 0).
    blocking : float, array_like or pandas.Series
        Target congestion, in (0, 1).
    congestion : {"call", "time"}, default "call"
        Which congestion measure the target applies to.

    Returns
    -------
    int, numpy.ndarray or pandas.Series
        Servers, never more than ``sources``: with one server per source no call is blocked, so
        ``sources`` is returned even when the time congestion target is stricter than the share
        of time all of them are busy.

    Raises
    ------
    SurgeplanError
        Out-of-range inputs (named) or an unknown ``congestion``.

    References
    ----------
    .. [1] V. B. Iversen, "Teletraffic Engineering and Network Planning", DTU 2015, chapter 8.

    Examples
    --------
    >>> engset_servers(2, 1.0, 0.6)  # call congestion 1/2 with one server
    1
    """
    if congestion not in ("call", "time"):
        raise SurgeplanError(f"congestion must be 'call' or 'time'; got {congestion!r}")
    s, beta, b = as_float_arrays(sources, traffic_per_idle_source, blocking)
    _check_common(s, beta)
    check("blocking", b, low=0.0, high=1.0, low_open=True, high_open=True)
    fs, fb, ft = flat(s, beta, b)
    out = np.empty(fs.size)
    _servers_serial(fs, fb, ft, congestion == "call", out)
    res = like_input(out.reshape(s.shape), sources, traffic_per_idle_source, blocking, name="servers")
    if isinstance(res, float) and math.isfinite(res):
        return int(res)
    return res
