"""Scalar numba kernels behind the public teletraffic functions (private).

Everything here works on one float64 element; the public modules broadcast the inputs and call
the ``*_vec`` drivers, which loop over a flat batch (``prange`` for large batches).

Erlang B core, ``B(x, n) = p(n; x) / Q(n + 1, x)`` with the Poisson term
``p(n; x) = x**n exp(-x) / Gamma(n + 1)`` and the regularised upper incomplete gamma ``Q``
(continuous in ``n``; equal to the classic sum formula at integer ``n``). Four regimes, each
well conditioned and O(1)-ish in cost:

* integer ``n <= 48``: the classic recurrence ``1/B_k = 1 + (k/x) / B_{k-1}`` (all terms positive);
* ``a = n + 1 >= 48`` and ``0.5 <= x/a <= 2``: Temme's uniform asymptotic expansion of Q
  (Temme 1979; DLMF 8.12), rewritten as a ratio to the Poisson term so nothing overflows;
* ``x < a`` otherwise: ``B = p / (1 - p S)``, ``S = sum_j x**j / ((n+1)...(n+j))`` with the Poisson
  term in Loader's saddle-point form (Loader 2000, as in R's ``dpois``): no cancellation at 1e4+ E;
* ``x >= a`` otherwise: Legendre's continued fraction for ``Gamma(a, x)`` (modified Lentz).
"""

from __future__ import annotations

import math
import threading

import numpy as np
from numba import njit, prange

from surgeplan.teletraffic._erfcx_table import ERFCX_CHEB
from surgeplan.teletraffic._temme_coef import TEMME_C

_C = np.ascontiguousarray(np.array(TEMME_C, dtype=np.float64))
_K = _C.shape[0]
_M = _C.shape[1]
ETA_MAX = 1.3  # |eta| bound of the Temme region the tail table is built for


def _tail_table(c: np.ndarray, eta_max: float) -> np.ndarray:
    """_TAIL[k, m] = sum_{j >= m} |c[k, j]| eta_max**(j - m) (0 past the last column)."""
    k, m = c.shape
    out = np.zeros((k, m + 1))
    for j in range(m - 1, -1, -1):
        out[:, j] = np.abs(c[:, j]) + eta_max * out[:, j + 1]
    return out


_TAIL = _tail_table(_C, ETA_MAX)
_INV_ODD = 1.0 / (2.0 * np.arange(200) + 1.0)  # 1 / (2j + 1) for the bd0 series
_ERFCX = np.ascontiguousarray(np.array(ERFCX_CHEB, dtype=np.float64))
_ERFCX_N = _ERFCX.shape[0]
_ERFCX_D = _ERFCX.shape[1]

LN_SQRT_2PI = 0.91893853320467274178
SQRT_2PI = 2.50662827463100050242
SQRT_PI = 1.77245385090551602730
SQRT_PI_2 = 1.25331413731550025121  # sqrt(pi/2)

N_RECURRENCE = 48.0  # integer n up to this: plain recurrence
A_TEMME = 48.0  # a = n + 1 from this on: Temme expansion near the diagonal
LAM_LO = 0.5  # Temme region x / a in [LAM_LO, LAM_HI]  (|eta| <= ~0.8)
LAM_HI = 2.0
TINY = 1e-300
PAR_MIN = 20000  # batches at least this long run with prange
# One parallel kernel at a time: numba's workqueue threading layer (the fallback when neither
# OpenMP nor TBB is available) aborts on concurrent launches from several Python threads (web
# servers, threaded Dask); a caller that finds the lock taken runs the serial kernel instead.
_PAR_LOCK = threading.Lock()

# Stirling-series coefficients for stirlerr (Loader 2000)
_S0 = 1.0 / 12.0
_S1 = 1.0 / 360.0
_S2 = 1.0 / 1260.0
_S3 = 1.0 / 1680.0
_S4 = 1.0 / 1188.0


@njit(cache=True, fastmath=False)
def stirlerr(n):
    """ln(n!) - ln(sqrt(2 pi n) (n/e)**n) for real n > 0 (Loader 2000)."""
    if n <= 15.0:
        return math.lgamma(n + 1.0) - (n + 0.5) * math.log(n) + n - LN_SQRT_2PI
    nn = n * n
    if n > 500.0:
        return (_S0 - _S1 / nn) / n
    if n > 80.0:
        return (_S0 - (_S1 - _S2 / nn) / nn) / n
    if n > 35.0:
        return (_S0 - (_S1 - (_S2 - _S3 / nn) / nn) / nn) / n
    return (_S0 - (_S1 - (_S2 - (_S3 - _S4 / nn) / nn) / nn) / nn) / n


@njit(cache=True)
def bd0(x, m):
    """Deviance term x ln(x/m) + m - x without cancellation (Loader 2000), x, m > 0."""
    d = x - m
    if 3.0 * abs(d) < x + m:  # |v| < 1/3: series (Loader uses 0.1; wider keeps ~1 ulp here)
        v = d / (x + m)
        s = d * v
        ej = 2.0 * x * v
        v2 = v * v
        for j in range(1, 200):
            ej *= v2
            s1 = s + ej * _INV_ODD[j]
            if s1 == s:
                return s1
            s = s1
        return s
    return x * math.log(x / m) + m - x


@njit(cache=True)
def log_poisson(n, x):
    """ln p(n; x) = ln(x**n exp(-x) / Gamma(n+1)) for real n > 0, x > 0 (saddle-point form)."""
    return -stirlerr(n) - bd0(n, x) - 0.5 * math.log(2.0 * math.pi * n)


@njit(cache=True)
def erfcx_pos(z, z2):
    """exp(z**2) erfc(z) for z >= 0 (z2 = z**2 given accurately)."""
    if z < 26.0:
        # piecewise Chebyshev table (40-digit mpmath fit, rel. error 2e-16); numba's erfc is slow
        i = int(z * 2.0)
        if i >= _ERFCX_N:
            i = _ERFCX_N - 1
        u = 4.0 * (z - 0.5 * i) - 1.0
        u2 = 2.0 * u
        b1 = 0.0
        b2 = 0.0
        for j in range(_ERFCX_D - 1, 0, -1):
            t = u2 * b1 - b2 + _ERFCX[i, j]
            b2 = b1
            b1 = t
        return u * b1 - b2 + _ERFCX[i, 0]
    # asymptotic series, error < 1e-17 relative for z >= 26 with 10 terms
    u = 1.0 / (2.0 * z2)
    s = 1.0
    t = 1.0
    for k in range(1, 11):
        t *= -(2.0 * k - 1.0) * u
        s += t
    return s / (z * SQRT_PI)


@njit(cache=True)
def series_s1(n, x):
    """S = sum_{j>=1} x**j / ((n+1)(n+2)...(n+j)) for x < n + 1 (lower-gamma series)."""
    t = 1.0
    s = 0.0
    j = 1.0
    for _ in range(10_000_000):
        t *= x / (n + j)
        s += t
        if t <= s * 1e-17:
            break
        j += 1.0
    return s


@njit(cache=True)
def cf_inv_b(n, x):
    """1/B = x e^x x^-a Gamma(a, x) by Legendre's continued fraction, a = n + 1 <= x (Lentz)."""
    a = n + 1.0
    b = x + 1.0 - a
    c = 1.0 / TINY
    d = 1.0 / b
    h = d
    i = 1.0
    for _ in range(10_000_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < TINY:
            d = TINY
        c = b + an / c
        if abs(c) < TINY:
            c = TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
        i += 1.0
    return x * h


@njit(cache=True)
def temme_sum(eta, a, tol):
    """S(eta, a) = sum_k C_k(eta) a**-k to absolute error ~tol (Temme's correction series).

    Each order is summed upwards in eta and stopped with the precomputed tail bound
    ``|eta|**m * _TAIL[k, m]``; orders stop once ``a**-k`` times the order's bound is below tol.
    """
    ae = abs(eta)
    ia = 1.0 / a
    f = 1.0
    s = 0.0
    for k in range(_K):
        tk = 0.25 * tol / f
        if _TAIL[k, 0] <= tk:
            break
        sk = 0.0
        p = 1.0
        pa = 1.0
        for m in range(_M):
            sk += _C[k, m] * p
            p *= eta
            pa *= ae
            if pa * _TAIL[k, m + 1] <= tk:
                break
        s += sk * f
        f *= ia
    return s


@njit(cache=True)
def temme_b(n, x):
    """Erlang B by Temme's uniform expansion (a = n + 1 large, x / a near 1)."""
    a = n + 1.0
    lam = x / a
    z2 = bd0(a, x)  # a eta**2 / 2
    z2 = max(z2, 0.0)
    z = math.sqrt(z2)
    eta = math.sqrt(2.0 * z2 / a)
    if x < a:
        eta = -eta
    ra = math.sqrt(a)
    gs = math.exp(stirlerr(a))  # Gamma*(a)
    if x < a and z2 > 40.0:
        # B = e^-z2 / (lam Gamma*(a) (sqrt(2 pi a) - e^-z2 (ex - S))): the correction
        # e^-z2 (ex - S) < e^-40 (sqrt(pi a / 2) + 1) is below 1e-17 of sqrt(2 pi a)
        return math.exp(-z2) / (lam * gs * SQRT_2PI * ra)
    ex = SQRT_PI_2 * ra * erfcx_pos(z, z2)
    if x >= a:
        # bracket ex + S >= ex - 0.35 > 0: ask S for 5e-17 of it
        s = temme_sum(eta, a, 5e-17 * max(0.5, ex - 0.35))
        return 1.0 / (lam * gs * (ex + s))
    e = math.exp(-z2)
    s = temme_sum(eta, a, 5e-17 * ra)  # bracket >= sqrt(2 pi a) / 2 = 1.25 sqrt(a)
    return e / (lam * gs * (SQRT_2PI * ra - e * (ex - s)))


@njit(cache=True)
def erlang_b1(x, n):
    """Erlang B blocking for traffic x >= 0 (Erlangs) and servers n > -1 (real)."""
    if math.isnan(x) or math.isnan(n):
        return np.nan
    if n == 0.0:
        return 1.0
    if x == 0.0:
        return 0.0 if n > 0.0 else 1.0
    if x == np.inf:
        return 1.0
    if n == np.inf:
        return 0.0
    if n <= N_RECURRENCE and n > 0.0 and n == math.floor(n):
        ix = 1.0 / x
        r = 1.0
        k = 1.0
        while k <= n:
            r = 1.0 + k * ix * r
            k += 1.0
        return 1.0 / r
    a = n + 1.0
    if a >= A_TEMME:
        lam = x / a
        if lam >= LAM_LO and lam <= LAM_HI:
            return temme_b(n, x)
    if x < a:
        lp = log_poisson(n, x)
        if lp < -745.0:
            return 0.0
        p = math.exp(lp)
        if lp < -40.0 and x < 0.5 * a:
            return p  # p S <= p (x/a) / (1 - x/a) < 1e-17: B = p / (1 - p S) = p to full precision
        return p / (1.0 - p * series_s1(n, x))
    return 1.0 / cf_inv_b(n, x)


@njit(cache=True)
def erlang_b_next(x, b, n):
    """B(x, n + 1) from B(x, n) (forward recurrence, stable)."""
    return x * b / (n + 1.0 + x * b)


@njit(cache=True)
def _servers_guess(x, target):
    """Normal/saddle-point guess for the circuits giving blocking target at traffic x."""
    if x < 1.0:
        return 0.0
    lt = -math.log(target)
    if target > 0.3:
        # overload: B ~ 1 - n/x
        g = x * (1.0 - target)
        return max(0.0, g)
    z2 = lt - 0.5 * math.log(2.0 * math.pi * x)
    if z2 <= 0.0:
        return x - 1.0
    z = math.sqrt(z2)
    return x + z * math.sqrt(2.0 * x) + 2.0 * z2 / 3.0 - 1.0


@njit(cache=True)
def erlang_b_servers1(x, target):
    """Smallest integer n with B(x, n) <= target (0 < target < 1)."""
    if math.isnan(x) or math.isnan(target):
        return np.nan
    if x == 0.0:
        return 0.0
    n = math.floor(_servers_guess(x, target))
    n = max(n, 0.0)
    b = erlang_b1(x, n)
    # Newton jumps in n on ln B using the local forward difference
    for _ in range(60):
        b1 = erlang_b_next(x, b, n)
        if b1 <= 0.0 or b <= 0.0:
            break
        d = math.log(b / b1)
        if d <= 0.0:
            break
        step = math.log(b / target) / d
        if abs(step) <= 6.0:
            break
        nn = n + math.floor(step)
        nn = max(nn, 0.0)
        if nn == n:
            break
        n = nn
        b = erlang_b1(x, n)
    # walk
    if b > target:
        for _ in range(100_000_000):
            b = erlang_b_next(x, b, n)
            n += 1.0
            if b <= target:
                break
    else:
        for _ in range(100_000_000):
            if n == 0.0:
                break
            if b >= 1.0:
                break
            bp = n * b / (x * (1.0 - b))
            if bp > target:
                break
            b = bp
            n -= 1.0
    # final check with the same kernel as erlang_b (consistency at the boundary)
    for _ in range(1000):
        if erlang_b1(x, n) > target:
            n += 1.0
        else:
            break
    for _ in range(1000):
        if n > 0.0 and erlang_b1(x, n - 1.0) <= target:
            n -= 1.0
        else:
            break
    return n


@njit(cache=True)
def erlang_b_traffic1(n, target):
    """Traffic x > 0 with B(x, n) = target (n > 0, 0 < target < 1): safeguarded Newton in ln x."""
    if math.isnan(n) or math.isnan(target):
        return np.nan
    if n <= 0.0:
        return np.nan
    if n == np.inf:
        return np.inf
    lt = math.log(target)
    # initial guess
    if target > 0.3:
        x = n / (1.0 - target)
    else:
        z2 = -lt - 0.5 * math.log(2.0 * math.pi * (n + 1.0))
        if z2 <= 0.0:
            x = n + 1.0
        else:
            x = n + 1.0 - math.sqrt(z2 * 2.0 * (n + 1.0)) + 2.0 * z2 / 3.0
        if x <= 0.0:
            x = 0.5 * (n + 1.0) * target ** (1.0 / max(n, 1.0))
        if x <= 0.0:
            x = 1e-300
    u = math.log(x)
    lo = -800.0
    hi = math.log(n / (1.0 - target) + 10.0) + 1.0  # B(x, n) >= 1 - n/x, so the root is below
    for _ in range(200):
        x = math.exp(u)
        b = erlang_b1(x, n)
        if b <= 0.0:
            g = -np.inf
        else:
            g = math.log(b) - lt
        if g > 0.0:
            hi = u
        else:
            lo = u
        deriv = n - x + x * b  # d ln B / d ln x = n - carried traffic > 0
        if g == -np.inf or deriv <= 0.0:
            unew = 0.5 * (lo + hi)
        else:
            step = g / deriv
            if abs(step) <= 4e-16 * max(1.0, abs(u)):
                break  # converged to within a few ulps of ln x (the noise level of ln B)
            unew = u - step
            if unew <= lo or unew >= hi:
                unew = 0.5 * (lo + hi)
        if abs(unew - u) <= 1e-15 * max(1.0, abs(u)):
            u = unew
            break
        u = unew
    return math.exp(u)


# ----------------------------------------------------------------------------------------------
# batch drivers


@njit(cache=True)
def _erlang_b_serial(x, n, out):
    for i in range(x.size):
        out[i] = erlang_b1(x[i], n[i])


@njit(cache=True, parallel=True)
def _erlang_b_parallel(x, n, out):
    for i in prange(x.size):
        out[i] = erlang_b1(x[i], n[i])


def erlang_b_vec(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Erlang B over flat float64 arrays of equal length."""
    out = np.empty(x.size)
    if x.size >= PAR_MIN and _PAR_LOCK.acquire(blocking=False):
        try:
            _erlang_b_parallel(x, n, out)
        finally:
            _PAR_LOCK.release()
    else:
        _erlang_b_serial(x, n, out)
    return out


@njit(cache=True)
def _servers_serial(x, t, out):
    for i in range(x.size):
        out[i] = erlang_b_servers1(x[i], t[i])


@njit(cache=True, parallel=True)
def _servers_parallel(x, t, out):
    for i in prange(x.size):
        out[i] = erlang_b_servers1(x[i], t[i])


def erlang_b_servers_vec(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Erlang B inverse in servers over flat arrays."""
    out = np.empty(x.size)
    if x.size >= PAR_MIN // 10 and _PAR_LOCK.acquire(blocking=False):
        try:
            _servers_parallel(x, t, out)
        finally:
            _PAR_LOCK.release()
    else:
        _servers_serial(x, t, out)
    return out


@njit(cache=True)
def _traffic_serial(n, t, out):
    for i in range(n.size):
        out[i] = erlang_b_traffic1(n[i], t[i])


def erlang_b_traffic_vec(n: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Erlang B inverse in traffic over flat arrays."""
    out = np.empty(n.size)
    _traffic_serial(n, t, out)
    return out


# ----------------------------------------------------------------------------------------------
# extended Erlang B (blocked callers retry with probability r)


@njit(cache=True)
def extended_b1(a0, n, r):
    """Equilibrium of A = a0 + r B(A, n) A: returns (blocking, total offered traffic).

    g(A) = A (1 - r B(A, n)) - a0 is increasing (carried traffic grows with A, so the lost traffic
    A B grows at most one for one) and concave; Newton from A = a0 climbs monotonically to the root.
    """
    if math.isnan(a0) or math.isnan(n) or math.isnan(r):
        return np.nan, np.nan
    if a0 == 0.0:
        return erlang_b1(0.0, n), 0.0
    if r == 0.0:
        return erlang_b1(a0, n), a0
    if r >= 1.0 and a0 >= n:
        return np.nan, np.inf  # every blocked attempt retries and fresh traffic >= servers
    x = a0
    b = erlang_b1(x, n)
    for _ in range(500):
        g = x * (1.0 - r * b) - a0
        dg = 1.0 - r * b * (1.0 + n - x + x * b)
        if dg <= 1e-300:
            # fall back to the (monotone, slower) fixed-point step
            xn = a0 / (1.0 - r * b)
        else:
            xn = x - g / dg
        xn = max(xn, a0)
        if abs(xn - x) <= 1e-15 * xn:
            x = xn
            b = erlang_b1(x, n)
            break
        x = xn
        b = erlang_b1(x, n)
    return b, x


@njit(cache=True)
def _extended_serial(a0, n, r, b_out, x_out):
    for i in range(a0.size):
        b, x = extended_b1(a0[i], n[i], r[i])
        b_out[i] = b
        x_out[i] = x


def extended_b_vec(a0: np.ndarray, n: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Extended Erlang B over flat arrays: (blocking, total offered traffic)."""
    b = np.empty(a0.size)
    x = np.empty(a0.size)
    _extended_serial(a0, n, r, b, x)
    return b, x


@njit(cache=True)
def extended_servers1(a0, target, r):
    """Smallest integer n whose retry equilibrium has blocking <= target."""
    if math.isnan(a0) or math.isnan(target) or math.isnan(r):
        return np.nan
    if a0 == 0.0:
        return 0.0
    lo = erlang_b_servers1(a0, target)  # retries only add load: never fewer than this
    if r == 0.0:
        return lo
    hi = erlang_b_servers1(a0 / (1.0 - r * target), target)  # always enough (see docs)
    if extended_b1(a0, lo, r)[0] <= target:
        return lo
    # invariant: lo fails, hi meets the target
    while hi - lo > 1.0:
        mid = math.floor(0.5 * (lo + hi))
        if extended_b1(a0, mid, r)[0] <= target:
            hi = mid
        else:
            lo = mid
    return hi


@njit(cache=True)
def _extended_servers_serial(a0, t, r, out):
    for i in range(a0.size):
        out[i] = extended_servers1(a0[i], t[i], r[i])


def extended_servers_vec(a0: np.ndarray, t: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Extended Erlang B inverse in servers over flat arrays."""
    out = np.empty(a0.size)
    _extended_servers_serial(a0, t, r, out)
    return out
