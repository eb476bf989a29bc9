"""Scalar numba kernels of the Poisson term and the regularised upper incomplete gamma function behind
Erlang B (private; see :mod:`surgeplan.teletraffic._kernels` for how the regimes are chosen).

``log_poisson`` is the Poisson term in Loader's saddle-point form (``stirlerr``, ``bd0``; Loader 2000),
``series_s1`` the lower-gamma series, ``cf_inv_b`` Legendre's continued fraction for ``Gamma(a, x)``
(modified Lentz), ``temme_b`` Temme's uniform asymptotic expansion (Temme 1979; DLMF 8.12) with
``erfcx_pos`` from a piecewise Chebyshev table fitted in 40-digit mpmath (``_erfcx_table.py``) and
Temme's coefficients from ``_temme_coef.py``.

References
----------
Loader, C. (2000). Fast and accurate computation of binomial probabilities.
Temme, N. M. (1979). The asymptotic expansion of the incomplete gamma functions. SIAM J. Math. Anal.
10(4), 757-766.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

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
TINY = 1e-300

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
def temme_b(n, x, z2):
    """Erlang B by Temme's uniform expansion (a = n + 1 large, x / a near 1).

    ``z2 = bd0(n + 1, x) = a eta**2 / 2`` is passed in (the caller computed it to pick the regime).
    """
    a = n + 1.0
    lam = x / a
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
