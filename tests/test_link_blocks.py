"""The compiled N+1 loop over (group, period) blocks gives, to the bit, what solving each block with
:func:`n_plus_one_modules` gives (that function is checked against brute force in
``test_continuity_n1.py``), and its upgrades are the cheapest by brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from surgeplan.dimension import _nplus1
from surgeplan.dimension.link import _EPS, _min_cost_needed, n_plus_one_modules


def per_block(needed, own, c, gl, gu, short, block, ms, mc, mx):
    """The rule block by block, as the module docstring states it."""
    out = needed.copy()
    for b in np.unique(block[short]):
        r = np.flatnonzero(short & (block == b))
        m = ms[r]
        if r.size < 2 or not np.all(np.isfinite(m) & (m > 0)):
            continue
        lo = np.maximum(np.ceil((own[r] - c[r]) / m - _EPS), 0.0)
        hi = np.maximum(np.floor((np.where(np.isnan(mx[r]), np.inf, mx[r]) - c[r]) / m + _EPS), lo)
        cost = np.nan_to_num(mc[r], nan=1.0)
        for bound in (hi, None):
            try:
                a = n_plus_one_modules(c[r], m, cost, gl[r[0]] / gu[r[0]], lo, bound)
            except ValueError:
                continue
            out[r] = np.maximum(c[r] + a * m, own[r])
            break
    return out


def random_rows(rng, trial):
    sizes = rng.integers(1, 10, rng.integers(1, 60))
    n = int(sizes.sum())
    block = rng.permutation(np.repeat(rng.permutation(sizes.size) * 3, sizes))
    c = rng.choice([0.0, 10.0, 40.0, 100.0, 400.0], n)
    x = rng.random(n) * rng.choice([10.0, 100.0, 400.0], n)
    u = rng.choice([0.6, 0.7, 0.8], n)
    gl, gu = np.zeros(n), np.zeros(n)
    for b in np.unique(block):
        r = block == b
        gl[r], gu[r] = x[r].sum() * rng.choice([1.0, 1.5, 3.0]), u[r].min()
    if trial % 2:  # mixed, missing and nearly equal module sizes: the Python path and allclose
        ms = rng.choice([10.0, 100.0, 100.0, np.nan, 100.0 * (1 + 1e-7)], n)
    else:
        ms = np.where(rng.random(n) < 0.05, 10.0, 100.0)
    mc = rng.choice([1000.0, 8000.0, np.nan, 54750.0], n)
    mx = rng.choice([40.0, 200.0, 500.0, 1e9, np.nan], n)
    return x / u * 1.3, x / u, x, c, u, gl, gu, rng.random(n) < 0.9, block, ms, mc, mx


@pytest.mark.parametrize("seed", range(4))
def test_compiled_blocks_equal_each_block_solved_alone(seed):
    rng = np.random.default_rng(seed)
    for trial in range(40):
        needed, own, x, c, u, gl, gu, short, block, ms, mc, mx = random_rows(rng, trial)
        with np.errstate(divide="ignore", invalid="ignore"):
            got = _min_cost_needed(needed, own, x, c, u, gl, gu, short, block, ms, mc, mx)
            want = per_block(needed, own, c, gl, gu, short, block, ms, mc, mx)
        assert got.tobytes() == want.tobytes()


def test_compiled_block_is_the_cheapest_by_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(60):
        k = int(rng.integers(2, 5))
        c = rng.choice([10.0, 100.0, 400.0], k)
        p = rng.integers(1, 6, k).astype(float)
        lo = rng.integers(0, 3, k).astype(float)
        req = float(rng.uniform(50.0, 900.0))
        a, status = _nplus1.equal_module_blocks(
            np.array([0, k]), c, np.full(k, 100.0), p, lo, np.full(k, np.inf), np.array([req]), _EPS
        )
        assert status[0] == _nplus1.DONE
        cap = c + a * 100.0
        assert cap.sum() - cap.max() >= req - 1e-6 and (a >= lo).all()
        best = min(
            float(np.dot(p, add))
            for add in itertools.product(*[range(int(x), int(x) + 11) for x in lo])
            if (cc := c + np.array(add) * 100.0).sum() - cc.max() >= req - 1e-9
        )
        assert float(np.dot(p, a)) == pytest.approx(best)
