"""Erlang B (M/M/N/N loss system), its inverses, and extended Erlang B with retries.

Units: traffic in Erlangs (call arrival rate x mean holding time), servers in circuits (trunks,
ports, channels), blocking as a probability in (0, 1).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from surgeplan._arrays import as_float_arrays, like_input
from surgeplan.teletraffic import _kernels as _k
from surgeplan.teletraffic._common import all_scalars, check, flat

__all__ = [
    "ExtendedErlangB",
    "erlang_b",
    "erlang_b_servers",
    "erlang_b_traffic",
    "extended_erlang_b",
    "extended_erlang_b_servers",
]


def erlang_b(traffic: Any, servers: Any) -> Any:
    r"""Blocking probability of an Erlang loss system (M/M/N/N, Erlang B formula).

    .. math::

        B(A, N) = \frac{A^N / N!}{\sum_{k=0}^{N} A^k / k!}
                = \frac{A^N e^{-A}}{\Gamma(N + 1, A)}

    The second form extends ``B`` to non-integer ``N`` (Jagerman 1974) and agrees with the sum at
    integers. Evaluation is O(1)-ish per pair and accurate to about 1e-13 relative for traffic
    1e-6 .. 1e6 E and servers 0 .. 1e6 wherever the blocking exceeds 1e-300 (below that the
    result underflows gracefully to 0). See :mod:`surgeplan.teletraffic._kernels` for the four
    numerical regimes (recurrence, Temme's uniform expansion, saddle-point Poisson term with the
    lower-gamma series, Legendre continued fraction).

    Parameters
    ----------
    traffic : float, array_like or pandas.Series
        Offered traffic A, Erlangs (>= 0).
    servers : float, array_like or pandas.Series
        Number of servers N, circuits (>= 0; non-integer values use the continuous extension).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Blocking probability (time congestion = call congestion, by PASTA), broadcast shape of the
        inputs. NaN where an input is NaN.

    Raises
    ------
    SurgeplanError
        Negative traffic or servers.

    References
    ----------
    .. [1] A. K. Erlang, "Solution of some problems in the theory of probabilities of significance
       in automatic telephone exchanges", Elektroteknikeren 13, 1917.
    .. [2] D. L. Jagerman, "Some properties of the Erlang loss function", Bell Syst. Tech. J. 53(3),
       525-551, 1974.
    .. [3] N. M. Temme, "The asymptotic expansion of the incomplete gamma functions", SIAM J. Math.
       Anal. 10, 757-766, 1979; NIST DLMF 8.12.
    .. [4] C. Loader, "Fast and accurate computation of binomial probabilities", 2000.

    Examples
    --------
    >>> round(erlang_b(4.46, 10), 4)
    0.01
    """
    if all_scalars(traffic, servers) and traffic >= 0 and servers >= 0:  # fast path (NaN fails it)
        return _k.erlang_b1(float(traffic), float(servers))
    a, n = as_float_arrays(traffic, servers)
    check("traffic", a, low=0.0, unit="Erlangs")
    check("servers", n, low=0.0, unit="circuits")
    fa, fn = flat(a, n)
    out = _k.erlang_b_vec(fa, fn).reshape(a.shape)
    return like_input(out, traffic, servers, name="blocking")


def erlang_b_servers(traffic: Any, blocking: Any) -> Any:
    """Smallest number of circuits whose Erlang B blocking is at most the target.

    Starts from a saddle-point (normal) guess, corrects it with a few Newton jumps on ``ln B`` and
    finishes with the exact one-step recurrence ``B(N+1) = A B / (N + 1 + A B)``; the final answer is
    confirmed with :func:`erlang_b` itself, so ``erlang_b(A, n) <= blocking < erlang_b(A, n - 1)``.

    Parameters
    ----------
    traffic : float, array_like or pandas.Series
        Offered traffic, Erlangs (>= 0, finite).
    blocking : float, array_like or pandas.Series
        Target blocking probability, in (0, 1).

    Returns
    -------
    int, numpy.ndarray or pandas.Series
        Circuits (whole numbers, float64 in arrays so NaN can mark NaN inputs; a Python int for
        scalar input).

    Raises
    ------
    SurgeplanError
        Negative or infinite traffic, blocking outside (0, 1).

    References
    ----------
    .. [1] ITU-T Recommendation E.520, "Number of circuits to be provided in automatic and/or
       semi-automatic operation, without overflow facilities", 1988.

    Examples
    --------
    >>> erlang_b_servers(1840, 0.01)
    1868
    """
    if all_scalars(traffic, blocking) and 0 <= traffic < np.inf and 0 < blocking < 1:
        return int(_k.erlang_b_servers1(float(traffic), float(blocking)))
    a, b = as_float_arrays(traffic, blocking)
    check("traffic", a, low=0.0, finite=True, unit="Erlangs")
    check("blocking", b, low=0.0, high=1.0, low_open=True, high_open=True)
    fa, fb = flat(a, b)
    out = _k.erlang_b_servers_vec(fa, fb).reshape(a.shape)
    return _int_like(out, traffic, blocking, name="servers")


def erlang_b_traffic(servers: Any, blocking: Any) -> Any:
    """Most offered traffic a group of circuits carries at a target Erlang B blocking.

    Solves ``erlang_b(A, servers) == blocking`` for A by safeguarded Newton iteration on
    ``ln B`` against ``ln A`` (``d ln B / d ln A = N - A (1 - B)``, the idle capacity), to about
    1e-14 relative. Non-integer servers use the continuous extension of :func:`erlang_b`.

    Parameters
    ----------
    servers : float, array_like or pandas.Series
        Number of circuits N (>= 0).
    blocking : float, array_like or pandas.Series
        Target blocking probability, in (0, 1).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Offered traffic, Erlangs. NaN for ``servers == 0`` (blocking is 1 at any traffic: no traffic
        meets the target) or NaN inputs.

    Raises
    ------
    SurgeplanError
        Negative servers, blocking outside (0, 1).

    References
    ----------
    .. [1] ITU-T Recommendation E.520, 1988 (tables of traffic per circuit group).

    Examples
    --------
    >>> round(erlang_b_traffic(10, 0.01), 2)
    4.46
    """
    if all_scalars(servers, blocking) and servers >= 0 and 0 < blocking < 1:
        return _k.erlang_b_traffic1(float(servers), float(blocking))
    n, b = as_float_arrays(servers, blocking)
    check("servers", n, low=0.0, unit="circuits")
    check("blocking", b, low=0.0, high=1.0, low_open=True, high_open=True)
    fn, fb = flat(n, b)
    out = _k.erlang_b_traffic_vec(fn, fb).reshape(n.shape)
    return like_input(out, servers, blocking, name="traffic")


class ExtendedErlangB(NamedTuple):
    """Result of :func:`extended_erlang_b` (each field has the broadcast input shape).

    Attributes
    ----------
    blocking : float, numpy.ndarray or pandas.Series
        Probability that a call attempt (first try or retry) is blocked, at equilibrium.
    offered_traffic : float, numpy.ndarray or pandas.Series
        Total offered traffic including retries, Erlangs.
    lost_traffic : float, numpy.ndarray or pandas.Series
        Fresh traffic finally lost (blocked and not retried), Erlangs:
        ``offered_traffic * blocking * (1 - retry_probability)``.
    """

    blocking: Any
    offered_traffic: Any
    lost_traffic: Any


def extended_erlang_b(traffic: Any, servers: Any, retry_probability: Any) -> ExtendedErlangB:
    r"""Extended Erlang B: blocked callers retry with a given probability.

    The total offered load ``A`` solves ``A = A0 + r B(A, N) A`` (fresh traffic ``A0`` plus the
    share ``r`` of blocked attempts that come back; retries are assumed to arrive as a Poisson
    stream, the usual engineering approximation of the extended Erlang B model). The fixed point is
    unique for ``r < 1`` and found by Newton's method from ``A = A0``.

    Parameters
    ----------
    traffic : float, array_like or pandas.Series
        Fresh offered traffic A0, Erlangs (>= 0, finite).
    servers : float, array_like or pandas.Series
        Circuits N (>= 0).
    retry_probability : float, array_like or pandas.Series
        Probability r that a blocked caller tries again, in [0, 1]. With ``r == 1`` there is an
        equilibrium only when ``A0 < N``; otherwise the result is NaN blocking and infinite load.

    Returns
    -------
    ExtendedErlangB
        ``(blocking, offered_traffic, lost_traffic)`` named tuple.

    Raises
    ------
    SurgeplanError
        Negative traffic or servers, retry probability outside [0, 1].

    References
    ----------
    .. [1] J. Jewett, J. Shrago, B. Yomtov, "Designing Optimal Voice Networks for Businesses,
       Government, and Telephone Companies", Telephony Publishing, 1980 (extended Erlang B).
    .. [2] ITU-T Recommendation E.501, "Estimation of traffic offered in the network" (repeated
       attempts).

    Examples
    --------
    >>> r = extended_erlang_b(10.0, 10, 0.5)
    >>> bool(r.offered_traffic > 10.0 and r.blocking > erlang_b(10.0, 10))
    True
    """
    a, n, r = as_float_arrays(traffic, servers, retry_probability)
    check("traffic", a, low=0.0, finite=True, unit="Erlangs")
    check("servers", n, low=0.0, unit="circuits")
    check("retry_probability", r, low=0.0, high=1.0)
    fa, fn, fr = flat(a, n, r)
    b, x = _k.extended_b_vec(fa, fn, fr)
    b = b.reshape(a.shape)
    x = x.reshape(a.shape)
    with np.errstate(invalid="ignore"):
        lost = x * b * (1.0 - r)
    t = (traffic, servers, retry_probability)
    return ExtendedErlangB(
        like_input(b, *t, name="blocking"),
        like_input(x, *t, name="offered_traffic"),
        like_input(lost, *t, name="lost_traffic"),
    )


def extended_erlang_b_servers(traffic: Any, blocking: Any, retry_probability: Any) -> Any:
    """Smallest circuits whose extended-Erlang-B equilibrium blocking is at most the target.

    The answer lies between ``erlang_b_servers(A0, b)`` (retries only add load) and
    ``erlang_b_servers(A0 / (1 - r b), b)`` (at that size the equilibrium load is at most
    ``A0 / (1 - r b)``); integer bisection between the two.

    Parameters
    ----------
    traffic : float, array_like or pandas.Series
        Fresh offered traffic, Erlangs (>= 0, finite).
    blocking : float, array_like or pandas.Series
        Target blocking probability per attempt, in (0, 1).
    retry_probability : float, array_like or pandas.Series
        Probability that a blocked caller retries, in [0, 1].

    Returns
    -------
    int, numpy.ndarray or pandas.Series
        Circuits.

    Raises
    ------
    SurgeplanError
        Negative or infinite traffic, blocking outside (0, 1), retry probability outside [0, 1].

    References
    ----------
    .. [1] See :func:`extended_erlang_b`.

    Examples
    --------
    >>> extended_erlang_b_servers(100.0, 0.01, 0.0) == erlang_b_servers(100.0, 0.01)
    True
    """
    a, b, r = as_float_arrays(traffic, blocking, retry_probability)
    check("traffic", a, low=0.0, finite=True, unit="Erlangs")
    check("blocking", b, low=0.0, high=1.0, low_open=True, high_open=True)
    check("retry_probability", r, low=0.0, high=1.0)
    fa, fb, fr = flat(a, b, r)
    out = _k.extended_servers_vec(fa, fb, fr).reshape(a.shape)
    return _int_like(out, traffic, blocking, retry_probability, name="servers")


def _int_like(out: np.ndarray, *templates: Any, name: str) -> Any:
    """like_input, but a scalar whole-number result comes back as a Python int."""
    res = like_input(out, *templates, name=name)
    if isinstance(res, float) and np.isfinite(res):
        return int(res)
    return res
