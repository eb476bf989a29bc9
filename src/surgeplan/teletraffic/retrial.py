r"""Retrial queue M/M/N/N with an orbit: blocked callers redial after an exponential delay.

Units: ``traffic`` is fresh (first-attempt) traffic in Erlangs, the mean holding time is the time
unit, ``redial_delay`` is the mean delay before a redial in mean holding times, ``servers`` are
circuits.

Model (Falin & Templeton 1997 [1], chapter 2; Artalejo & Gomez-Corral 2008 [2], section 1.2).
Fresh calls arrive as a Poisson stream of rate ``lambda = traffic``; holding times are
exponential with mean 1. An attempt (fresh or redial) that finds all ``N`` circuits busy joins
the orbit with probability ``p = retry_probability`` and is lost otherwise; each caller in the
orbit redials after an exponential delay of mean ``d = redial_delay`` (rate ``theta = 1 / d``).
The state is ``(n, j)``: busy circuits ``n = 0..N`` and callers in the orbit ``j >= 0``::

    (n, j) -> (n + 1, j)       lambda               n < N    fresh call served
    (n, j) -> (n + 1, j - 1)   j theta              n < N    redial served
    (n, j) -> (n - 1, j)       n                             call ends
    (n, j) -> (N, j + 1)       lambda p             n = N    fresh call blocked, will redial
    (n, j) -> (N, j - 1)       j theta (1 - p)      n = N    redial blocked, gives up

Measures, from the stationary distribution ``P(n, j)`` with ``M = E[j]``, ``P_N = P(n = N)`` and
``M_N = E[j; n = N]``::

    attempts per holding time   Lambda   = lambda + theta M                 (offered_traffic)
    blocked attempts            Lambda_B = lambda P_N + theta M_N
    blocking                    Lambda_B / Lambda                           (share of attempts)
    lost share of fresh calls   (1 - p) Lambda_B / lambda

Methods
-------
* **Exact** (default where the chain is moderate): the chain truncated to the busy-circuit window
  ``n_lo..N`` (reflecting at ``n_lo``) and the orbit ``0..J``, solved with a sparse LU
  (``scipy.sparse.linalg.spsolve``). ``n_lo`` and ``J`` start from the approximation's estimates
  and grow until the probability on the boundary levels is below ``1e-12`` (so the neglected tail
  is below ~1e-10), up to :data:`EXACT_MAX_STATES` states.
* **Approximation** (beyond that, or ``method="approximate"``): the busy-circuit marginal is
  *exactly* a birth-death chain with birth rate ``lambda + theta m_n``, ``m_n = E[j | n]``
  (summing the balance equations over ``j``); Fredericks & Reisner [3] approximate the conditional
  orbit means. Here the exact balance equations of the orbit's first two factorial moments at
  each ``n`` are solved, closed by the third moment of a negative binomial with those moments
  (the orbit is over-dispersed: redials come in bursts while the group is full), by a fixed-point
  iteration of tridiagonal solves. Where that closure has no clean solution (heavy overload, an
  under-dispersed orbit) the first moments alone are solved with a Poisson closure
  (``E[j (j - 1) | n] = m_n^2``). Both reduce to extended Erlang B as ``redial_delay -> inf`` and
  to Erlang B at ``retry_probability = 0``. Measured against the exact chain
  (``benchmarks/bench_retrial.py``: 285 points, fresh traffic 2..200 E, load 0.7..1.3, p
  0.3..0.9, delay 0.02..20): blocking within 3.6 % relative (median below 0.05 %), within 0.7 % at
  ``redial_delay >= 5``; 0.14-0.4 % on groups of 190-2,100 circuits near the state budget. The
  Poisson closure alone errs by up to 19 % low (27 % at p = 0.96 and low blocking); extended
  Erlang B by up to 76 % low on the same grid.
* ``redial_delay = inf``: extended Erlang B (retries as a state-independent Poisson stream), the
  limit of the model; ``retry_probability = 0``: Erlang B.

References
----------
.. [1] G. I. Falin and J. G. C. Templeton, "Retrial Queues", Chapman & Hall, 1997.
.. [2] J. R. Artalejo and A. Gomez-Corral, "Retrial Queueing Systems: A Computational Approach",
   Springer, 2008.
.. [3] A. A. Fredericks and G. A. Reisner, "Approximations to stochastic service systems, with an
   application to a retrial model", Bell Syst. Tech. J. 58(3), 557-576, 1979.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.optimize import brentq

from surgeplan._arrays import as_float_arrays, like_input
from surgeplan.errors import SurgeplanError
from surgeplan.teletraffic import _kernels as _k
from surgeplan.teletraffic._common import check
from surgeplan.teletraffic._retrial_chain import EXACT_MAX_STATES, _exact
from surgeplan.teletraffic._retrial_closure import _approximate, _extended

__all__ = ["EXACT_MAX_STATES", "Retrial", "retrial", "retrial_servers", "retrial_traffic"]

Method = Literal["auto", "exact", "approximate"]


@dataclass(frozen=True)
class Retrial:
    """Result of :func:`retrial` (each field has the broadcast input shape).

    Attributes
    ----------
    blocking : float, numpy.ndarray or pandas.Series
        Share of all attempts (fresh calls and redials) that find every circuit busy.
    offered_traffic : float, numpy.ndarray or pandas.Series
        Attempts per mean holding time (fresh + redials), Erlangs-equivalent.
    lost_share : float, numpy.ndarray or pandas.Series
        Share of fresh calls finally lost (blocked and not redialling again).
    """

    blocking: Any
    offered_traffic: Any
    lost_share: Any


def retrial(
    traffic: Any, servers: Any, retry_probability: Any, redial_delay: Any, *, method: Method = "auto"
) -> Retrial:
    """Blocking of a group of circuits whose blocked callers redial (M/M/N/N retrial queue).

    See the module docstring for the model, the exact truncated chain and the approximation with
    its measured error.

    Parameters
    ----------
    traffic : float, array_like or pandas.Series
        Fresh offered traffic, Erlangs (>= 0, finite).
    servers : int, array_like or pandas.Series
        Circuits N (whole number >= 0; ``inf`` blocks nobody).
    retry_probability : float, array_like or pandas.Series
        Probability that a blocked attempt redials, in [0, 1) (persistent callers, ``p = 1``, have
        no loss and are refused).
    redial_delay : float, array_like or pandas.Series
        Mean delay before a redial, mean holding times (> 0; ``inf`` gives extended Erlang B).
        With a 3-minute call, 9 seconds is 0.05.
    method : {"auto", "exact", "approximate"}, default "auto"
        ``"auto"`` solves the chain exactly up to :data:`EXACT_MAX_STATES` states and uses the
        approximation beyond; ``"exact"`` raises beyond; ``"approximate"`` always approximates.

    Returns
    -------
    Retrial
        ``blocking``, ``offered_traffic`` (Erlangs), ``lost_share``. NaN where an input is NaN.

    Raises
    ------
    SurgeplanError
        An input out of range (named), an unknown ``method``, or ``method="exact"`` on a chain
        larger than :data:`EXACT_MAX_STATES`.

    Examples
    --------
    >>> from surgeplan.teletraffic import extended_erlang_b
    >>> r = retrial(10.0, 10, 0.5, 0.05)  # redial after 9 s on 3-minute calls
    >>> round(r.blocking, 3), round(extended_erlang_b(10.0, 10, 0.5).blocking, 3)
    (0.336, 0.289)
    """
    if method not in ("auto", "exact", "approximate"):
        raise SurgeplanError(f"method must be 'auto', 'exact' or 'approximate'; got {method!r}")
    a, n, r, d = as_float_arrays(traffic, servers, retry_probability, redial_delay)
    check("traffic", a, low=0.0, finite=True, unit="Erlangs")
    check("servers", n, low=0.0, integer=True, unit="circuits")
    check("retry_probability", r, low=0.0, high=1.0, high_open=True)
    check("redial_delay", d, low=0.0, low_open=True, unit="mean holding times")
    out = np.full((3, *a.shape), np.nan)
    for i in np.ndindex(a.shape):
        out[(slice(None), *i)] = retrial1(float(a[i]), float(n[i]), float(r[i]), float(d[i]), method)
    t = (traffic, servers, retry_probability, redial_delay)
    return Retrial(
        like_input(out[0], *t, name="blocking"),
        like_input(out[1], *t, name="offered_traffic"),
        like_input(out[2], *t, name="lost_share"),
    )


def retrial1(a: float, n: float, p: float, d: float, method: Method = "auto") -> tuple[float, float, float]:
    """``(blocking, offered_traffic, lost_share)`` of one retrial queue (inputs already checked)."""
    if math.isnan(a) or math.isnan(n) or math.isnan(p) or math.isnan(d):
        return math.nan, math.nan, math.nan
    if a == 0.0 or n == math.inf:
        b = 1.0 if n == 0.0 else 0.0
        return b, a / (1.0 - p) if b else a, b
    if n == 0.0:  # every attempt blocked; the orbit is an M/M/inf queue of the p-share
        return 1.0, a / (1.0 - p), 1.0
    if p == 0.0:
        b = _k.erlang_b1(a, n)
        return b, a, b
    if d == math.inf:
        b, x = _extended(a, n, p)
        return b, x, (1.0 - p) * b * x / a
    if method != "approximate":
        res = _exact(a, int(n), p, d, raise_if_big=method == "exact")
        if res is not None:
            return res
    return _approximate(a, int(n), p, d)


def retrial_servers(traffic: Any, blocking: Any, retry_probability: Any, redial_delay: Any) -> Any:
    """Smallest number of circuits whose retrial blocking (share of attempts) is at most the target.

    Starts from the extended Erlang B answer (retries as a Poisson stream, the slow-redial limit)
    and steps with the approximation: down while one circuit fewer still meets the target, up
    (doubling, then bisection) while it does not; the same search with the model itself (exact
    chain where moderate, see :func:`retrial`) then starts from that answer, so it usually only
    confirms it with two solves. Blocking falls as circuits are added.

    Parameters
    ----------
    traffic : float, array_like or pandas.Series
        Fresh offered traffic, Erlangs (>= 0, finite).
    blocking : float, array_like or pandas.Series
        Target share of attempts blocked, in (0, 1).
    retry_probability : float, array_like or pandas.Series
        Probability that a blocked attempt redials, in [0, 1).
    redial_delay : float, array_like or pandas.Series
        Mean delay before a redial, mean holding times (> 0, ``inf`` allowed).

    Returns
    -------
    int, numpy.ndarray or pandas.Series
        Circuits (a Python int for scalar input).

    Raises
    ------
    SurgeplanError
        An input out of range (named).

    Examples
    --------
    >>> from surgeplan.teletraffic import extended_erlang_b_servers
    >>> retrial_servers(10.0, 0.01, 0.5, 0.05), extended_erlang_b_servers(10.0, 0.01, 0.5)
    (19, 18)
    """
    a, b, r, d = as_float_arrays(traffic, blocking, retry_probability, redial_delay)
    check("traffic", a, low=0.0, finite=True, unit="Erlangs")
    check("blocking", b, low=0.0, high=1.0, low_open=True, high_open=True)
    check("retry_probability", r, low=0.0, high=1.0, high_open=True)
    check("redial_delay", d, low=0.0, low_open=True, unit="mean holding times")
    out = np.full(a.shape, np.nan)
    for i in np.ndindex(a.shape):
        out[i] = _servers1(float(a[i]), float(b[i]), float(r[i]), float(d[i]))
    res = like_input(out, traffic, blocking, retry_probability, redial_delay, name="servers")
    if isinstance(res, float) and math.isfinite(res):
        return int(res)
    return res


def _servers1(a: float, target: float, p: float, d: float) -> float:
    if math.isnan(a) or math.isnan(target) or math.isnan(p) or math.isnan(d):
        return math.nan
    if a == 0.0:
        return 0.0
    start = float(_k.extended_servers_vec(np.array([a]), np.array([target]), np.array([p]))[0])
    # the approximation finds the answer within a circuit or so in milliseconds; the model
    # (exact chain where moderate) then confirms it, usually with two solves
    guess = _smallest(lambda n: retrial1(a, n, p, d, "approximate")[0] <= target, start)
    return _smallest(lambda n: retrial1(a, n, p, d)[0] <= target, guess)


def _smallest(ok: Callable[[float], bool], n: float) -> float:
    """Smallest whole ``n >= 0`` with ``ok(n)`` (``ok`` monotone), searched from a guess."""
    if ok(n):
        while n > 0 and ok(n - 1.0):
            n -= 1.0
        return n
    low, step = n, 1.0
    while not ok(low + step):
        low, step = low + step, step * 2.0
    high = low + step  # ok(high), not ok(low)
    while high - low > 1.0:
        mid = math.floor((low + high) / 2.0)
        low, high = (low, mid) if ok(mid) else (mid, high)
    return high


def retrial_traffic(servers: Any, blocking: Any, retry_probability: Any, redial_delay: Any) -> Any:
    """Most fresh traffic a group of circuits carries at a target retrial blocking.

    Solves ``retrial(A, servers, p, d).blocking == blocking`` for ``A`` (blocking grows with
    ``A``) by Brent's method to 1e-7 relative, bracketed within 2 % of the approximation's root
    (itself bracketed from the extended Erlang B answer).

    Parameters
    ----------
    servers : int, array_like or pandas.Series
        Circuits (whole number >= 0).
    blocking : float, array_like or pandas.Series
        Target share of attempts blocked, in (0, 1).
    retry_probability : float, array_like or pandas.Series
        Probability that a blocked attempt redials, in [0, 1).
    redial_delay : float, array_like or pandas.Series
        Mean delay before a redial, mean holding times (> 0, ``inf`` allowed).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Fresh traffic, Erlangs; 0 for no circuits.

    Raises
    ------
    SurgeplanError
        An input out of range (named).
    """
    n, b, r, d = as_float_arrays(servers, blocking, retry_probability, redial_delay)
    check("servers", n, low=0.0, finite=True, integer=True, unit="circuits")
    check("blocking", b, low=0.0, high=1.0, low_open=True, high_open=True)
    check("retry_probability", r, low=0.0, high=1.0, high_open=True)
    check("redial_delay", d, low=0.0, low_open=True, unit="mean holding times")
    out = np.full(n.shape, np.nan)
    for i in np.ndindex(n.shape):
        out[i] = _traffic1(float(n[i]), float(b[i]), float(r[i]), float(d[i]))
    return like_input(out, servers, blocking, retry_probability, redial_delay, name="traffic")


def _traffic1(n: float, target: float, p: float, d: float) -> float:
    if math.isnan(n) or math.isnan(target) or math.isnan(p) or math.isnan(d):
        return math.nan
    if n == 0.0:
        return 0.0
    # extended Erlang B carries A*(N, b) (1 - p b) fresh Erlangs at blocking b: bracket from it
    # with the approximation, then solve the model (exact chain where moderate) near that root
    guess = _k.erlang_b_traffic1(n, target) * (1.0 - p * target)
    rough = _root(lambda x: retrial1(x, n, p, d, "approximate")[0] - target, guess, 0.5, 1e-4)
    return _root(lambda x: retrial1(x, n, p, d)[0] - target, rough, 0.02, 1e-7)


def _root(excess: Callable[[float], float], guess: float, spread: float, rtol: float) -> float:
    """Root of an increasing ``excess`` near ``guess``: bracket by steps of ``spread``, then Brent."""
    low, high = guess * (1.0 - spread), guess * (1.0 + spread)
    while excess(low) > 0.0:
        low, high = low * (1.0 - spread), low
    while excess(high) <= 0.0:
        low, high = high, high * (1.0 + spread)
    return brentq(excess, low, high, xtol=1e-12, rtol=rtol)
