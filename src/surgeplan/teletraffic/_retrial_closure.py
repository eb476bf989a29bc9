"""The retrial queue's approximation (private): the busy-circuit marginal as a birth-death chain whose
birth rates carry the redials, with the orbit's conditional moments closed by a negative binomial
(second order) or a Poisson law (first order). Model, method and measured error:
:mod:`surgeplan.teletraffic.retrial`. Rates are per mean holding time, traffic in Erlangs.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_banded

from surgeplan.teletraffic import _kernels as _k


def _extended(a: float, n: float, p: float) -> tuple[float, float]:
    b, x = _k.extended_b_vec(np.array([a]), np.array([n]), np.array([p]))
    return float(b[0]), float(x[0])


def _measures(a: float, p: float, theta: float, pn: float, mn: float, m: float) -> tuple[float, float, float]:
    """Blocking, attempts and lost share from ``P_N``, ``E[j; n = N]`` and ``E[j]``."""
    attempts = a + theta * m
    blocked = a * pn + theta * mn
    return blocked / attempts, attempts, (1.0 - p) * blocked / a


def _approximate(a: float, n: int, p: float, d: float) -> tuple[float, float, float]:
    """The approximation: negative-binomial closure where it solves cleanly, else Poisson closure."""
    return _closure(a, n, p, d, _window_low(a, n, p))[0]


def _closure(
    a: float, n: int, p: float, d: float, lo: int
) -> tuple[tuple[float, float, float], np.ndarray, np.ndarray]:
    """Measures and conditional orbit ``(mean, variance)`` per level ``lo..n`` (rows of the second)."""
    res, _, x = _poisson_closure(a, n, p, d, lo)
    second = _nb_closure(a, n, p, d, lo, x * d)
    m = x * d
    if second is None:
        return res, _birth_death(a, x, _levels(lo, n)), np.stack([m, m])
    res, m, f = second
    return res, _birth_death(a, m / d, _levels(lo, n)), np.stack([m, np.maximum(f + m - m * m, 0.0)])


def _levels(lo: int, n: int) -> np.ndarray:
    """Death rates on the window ``lo..n``: the busy circuits, none at the reflecting ``lo``."""
    s = np.arange(lo, n + 1, dtype=np.float64)
    s[0] = 0.0
    return s


def _window_low(a: float, n: int, p: float) -> int:
    """Lowest busy-circuit level worth keeping: 1e-16 below, with the extended Erlang B load.

    Redials add load at every level, so the true distribution sits higher: the cut is safe.
    """
    _, x0 = _extended(a, float(n), p)
    s = np.arange(n + 1, dtype=np.float64)
    pi = _birth_death(a, np.full(n + 1, max(x0 - a, 0.0)), s)
    return max(int(np.searchsorted(np.cumsum(pi), 1e-16)) - 10, 0)


def _poisson_closure(
    a: float, n: int, p: float, d: float, lo: int = 0, tol: float = 1e-12, max_iter: int = 2000
) -> tuple[tuple[float, float, float], np.ndarray, np.ndarray]:
    """Conditional-mean orbit approximation on levels ``lo..n`` (see the module docstring).

    Unknowns ``x_k = theta m_k`` (redial rate with ``k`` busy circuits). With ``pi`` the
    birth-death distribution of rates ``lambda + x_k`` up and ``s_k`` down, the first-moment
    balance of the orbit at each level, with ``X_k = pi_k x_k`` and the Poisson closure
    ``theta^2 E[j^2; k] = pi_k (x_k^2 + theta x_k)``, reads::

        (lambda + s_k + theta + x_k) X_k - (lambda + x_{k-1}) X_{k-1} - s_{k+1} X_{k+1} = 0   k < N
        (s_N + theta (1 - p)) X_N - (lambda + x_{N-1}) X_{N-1} = theta lambda p pi_N

    linear in ``X`` once ``x`` and ``pi`` are frozen: iterate the tridiagonal solve. Returns the
    measures, ``pi`` and ``x``.
    """
    theta = 1.0 / d
    k = np.arange(lo, n + 1, dtype=np.float64)
    s = k.copy()
    s[0] = 0.0  # reflecting lower boundary of the window
    size = k.size
    _, x0 = _extended(a, float(n), p)
    x = np.full(size, max(x0 - a, 1e-9))
    pi = _birth_death(a, x, s)
    for _ in range(max_iter):
        ab = np.zeros((3, size))
        ab[1] = a + s + theta + x
        ab[1, -1] = s[-1] + theta * (1.0 - p)
        ab[0, 1:] = -s[1:]
        ab[2, :-1] = -(a + x[:-1])
        rhs = np.zeros(size)
        rhs[-1] = theta * a * p * pi[-1]
        big = solve_banded((1, 1), ab, rhs)
        x_new = np.where(pi > 1e-300, big / np.maximum(pi, 1e-300), x)
        step = float(np.max(np.abs(x_new - x) * pi))
        x = x_new
        pi = _birth_death(a, x, s)
        if step <= tol * (a + float(pi @ x)):
            break
    res = _measures(a, p, theta, float(pi[-1]), float(pi[-1] * x[-1]) * d, float(pi @ x) * d)
    return res, pi, x


def _nb_closure(
    a: float, n: int, p: float, d: float, lo: int, m: np.ndarray, tol: float = 1e-12, max_iter: int = 500
) -> tuple[tuple[float, float, float], np.ndarray, np.ndarray] | None:
    """Second-order closure: conditional orbit means ``m_k`` and factorial moments ``f_k`` solved.

    Unnormalised ``M_k = pi_k m_k``, ``F_k = pi_k f_k``; the balance of ``E[j]`` and
    ``E[j (j - 1)]`` at each level (exact), with the third factorial moment of a negative binomial
    with the same two moments, ``G_k = F_k kappa_k``, ``kappa_k = 2 f_k / m_k - m_k``::

        (lambda + s_k + theta) M_k + theta F_k - lambda M_{k-1} - theta F_{k-1} - s_{k+1} M_{k+1} = 0
        (s_N + theta (1 - p)) M_N - lambda M_{N-1} - theta F_{N-1} = lambda p pi_N
        (lambda + s_k + 2 theta + theta kappa_k) F_k - (lambda + theta kappa_{k-1}) F_{k-1}
            - s_{k+1} F_{k+1} = 0
        (s_N + 2 theta (1 - p)) F_N - (lambda + theta kappa_{N-1}) F_{N-1} = 2 lambda p M_N

    With ``pi`` and ``kappa`` frozen, ``F`` is ``M_N`` times one tridiagonal solve and ``M`` two
    more; iterate (negative moments and ``kappa`` clipped to 0 on the way). Returns the measures,
    ``m`` and ``f``, or None (the
    caller keeps the Poisson closure) unless the iteration converges to a point that needs no
    clipping where the chain lives: in heavy overload the orbit is under-dispersed
    (``kappa < 0``) and the iteration can settle on a spurious point.
    """
    theta = 1.0 / d
    s = np.arange(lo, n + 1, dtype=np.float64)
    s[0] = 0.0
    size = s.size
    f = m * m
    lower_m = np.full(size - 1, -a)
    diag_m = a + s + theta
    diag_m[-1] = s[-1] + theta * (1.0 - p)
    unit = np.zeros(size)
    unit[-1] = 1.0
    for _ in range(max_iter):
        pi = _birth_death(a, theta * m, s)
        with np.errstate(divide="ignore", invalid="ignore"):
            kappa = np.where(m > 1e-12, 2.0 * f / np.where(m > 1e-12, m, 1.0) - m, 0.0)
        kappa = np.nan_to_num(kappa, posinf=0.0, neginf=0.0)
        # clipped while iterating; a solution must not need the clip where the chain lives
        clipped = bool((kappa[pi > 1e-12] < -1e-6 * (1.0 + m[pi > 1e-12])).any())
        kappa = np.maximum(kappa, 0.0)
        diag_f = a + s + 2.0 * theta + theta * kappa
        diag_f[-1] = s[-1] + 2.0 * theta * (1.0 - p)
        f_unit = _tridiagonal(diag_f, -(a + theta * kappa[:-1]), -s[1:], 2.0 * a * p * unit)  # F / M_N
        m_base = _tridiagonal(diag_m, lower_m, -s[1:], a * p * pi[-1] * unit)
        coupling = theta * f_unit
        coupling[-1] = 0.0
        coupling[1:] -= theta * f_unit[:-1]
        m_slope = _tridiagonal(diag_m, lower_m, -s[1:], -coupling)
        m_full = m_base[-1] / (1.0 - m_slope[-1])
        big_m, big_f = m_base + m_full * m_slope, m_full * f_unit
        clipped |= bool((big_m[pi > 1e-12] < 0).any() or (big_f[pi > 1e-12] < 0).any())
        live = pi > 1e-200
        m_new = np.where(live, np.maximum(big_m, 0.0) / np.where(live, pi, 1.0), m)
        f = np.where(live, np.maximum(big_f, 0.0) / np.where(live, pi, 1.0), f)
        step = float(np.max(np.abs(m_new - m) * pi))
        m = m_new
        if step <= tol * (1.0 + float(pi @ m)):
            if clipped:
                return None
            pi = _birth_death(a, theta * m, s)
            return _measures(a, p, theta, float(pi[-1]), float(pi[-1] * m[-1]), float(pi @ m)), m, f
    return None


def _tridiagonal(diag: np.ndarray, lower: np.ndarray, upper: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve a tridiagonal system (``lower[k] = A[k + 1, k]``, ``upper[k] = A[k, k + 1]``)."""
    bands = np.zeros((3, diag.size))
    bands[0, 1:], bands[1], bands[2, :-1] = upper, diag, lower
    return solve_banded((1, 1), bands, rhs)


def _birth_death(a: float, x: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Stationary law of the birth-death chain with birth rates ``a + x`` and death rates ``s``."""
    logp = np.zeros(x.size)
    logp[1:] = np.cumsum(np.log(a + x[:-1]) - np.log(s[1:]))
    pi = np.exp(logp - logp.max())
    return pi / pi.sum()
