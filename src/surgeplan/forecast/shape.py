"""Choice of the shock response: driver mapping per kind, shape (lag, rise, decay) per region and kind.

The score of a candidate is the total least absolute deviation of a fit without the day lags
(they would carry any level shift one day later and make every shape fit about equally well),
per resource with shock history (:class:`ShapeSearch`). Steps:

1. lag on ``shock_lag_grid`` with an immediate response, per (region, kind)
   (:meth:`ShapeSearch.lag_step`);
2. the driver mapping per kind over every group and region (:func:`select_driver`): with or
   without the stay-at-home level, then the stringency range of ``driver_grid``;
3. (lag, rise time constant) jointly around the lag, then the decay time constant
   (:meth:`ShapeSearch.finish`);
4. resources without shock history take their kind's median shape (:func:`pool_shapes`).

Near-ties (1%) keep the simpler (earlier) candidate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from surgeplan.forecast import baseline as _bl
from surgeplan.forecast import transfer as _tr
from surgeplan.forecast.design import block_view, cov_features, design, prior, working_day_blocks
from surgeplan.forecast.intensity import DriverTables, intensity
from surgeplan.forecast.learned import is_rule
from surgeplan.forecast.state import Group, Options, Pooling, chunks

__all__ = [
    "ShapeSearch", "choose_driver", "choose_shapes", "count_evidence", "give_shapes", "kind_shapes",
    "pool_shapes", "search_scores", "select_driver", "start_search", "write_driver",
]  # fmt: skip

#: relative tolerance of a near-tie: the simpler candidate wins within 1% of the best score
NEAR_TIE = 0.01
#: driver level from which a day is a day of shock
SHOCK_DAY = 0.5
#: noise variance of the scoring fits (log units): the prior only regularizes
_SCORE_NOISE_VAR = 1e-4
#: lag offsets (days) tried with each rise time constant: a ramp centred later than its start is a
#: shorter lag plus a rise
_RISE_LAG_OFFSETS = (0, -2, -4)


def count_evidence(g: Group, tables: DriverTables) -> None:
    """Days of shock in the history per resource: share of each day measured with ``u >= 0.5``
    (``evidence``) and with ``u >= FULL_INTENSITY`` (``evidence_full``: direct evidence of the
    response at full restriction, what the kind pools are weighted by)."""
    T = g.zraw.shape[1]
    D = T // g.p
    u0, _ = intensity(g, tables, None, g.wall_days(0, T), np.zeros(g.n, np.int64), None)
    seen = np.isfinite(g.zraw).reshape(g.n, D, g.p).mean(-1)
    g.evidence_daily = (u0 >= SHOCK_DAY) * seen
    g.evidence_full_daily = (u0 >= _tr.FULL_INTENSITY) * seen
    g.evidence = g.evidence_daily.sum(1)
    g.evidence_full = g.evidence_full_daily.sum(1)


def _first_near_best(tot: np.ndarray) -> int:
    return int(np.flatnonzero(tot <= (1.0 + NEAR_TIE) * tot.min() + 1e-12)[0])


class ShapeSearch:
    """Shape search over one group's resources with at least ``min_evidence_days`` of shock."""

    def __init__(self, g: Group, opt: Options, tables: DriverTables, covf: np.ndarray | None) -> None:
        self.g, self.opt, self.tables = g, opt, tables
        self.rows = rows = np.flatnonzero(g.evidence >= opt.min_evidence_days)
        self.kinds = g.kinds[rows]
        self.keys = np.array([f"{r}\x00{k}" for r, k in zip(g.regions[rows], g.kinds[rows])])
        self.lag = np.full(len(rows), opt.default_shock_lag, dtype=np.int64)
        self.tau0 = np.zeros((len(rows), 2))
        T = g.zraw.shape[1]
        self.days = g.wall_days(0, T)
        self.pm, self.psd = prior(g, opt)
        skip = (max(max(opt.shock_lag_grid), 0) + max(g.lags, default=0)) * g.r
        self.batches = []
        for ch in chunks(len(rows), opt.batch_size):
            rr = rows[ch]
            X = block_view(g, design(g, 0, T, np.zeros((len(rr), T // g.p)), covf, rows=rr))
            X[..., g.groups["lag"]] = 0.0
            yb = block_view(g, g.zraw[rr])
            w = (np.isfinite(yb) & np.all(np.isfinite(X), axis=-1)).astype(float)
            w[..., :skip] = 0.0  # compare on the same rows for every shape
            self.batches.append((rr, ch, X, yb, w, working_day_blocks(g, rr, T)))

    def score(self, lag: np.ndarray, tau: np.ndarray, spec: np.ndarray | None = None) -> np.ndarray:
        """(len(rows),) total absolute residual per resource for one shape (and mapping) per resource."""
        g = self.g
        iu, iw = g.groups["shock"]
        out = np.zeros(len(self.rows))
        for rr, ch, X, yb, w, wd in self.batches:
            sp = None if spec is None else spec[ch]
            u, _ = intensity(g, self.tables, rr, self.days, lag[ch], tau[ch], spec=sp)
            ub = block_view(g, np.repeat(u, g.p, axis=1))
            X[..., iu] = ub
            X[..., iw] = ub * wd
            xtx, xty, _ = _bl.normal_stats(X, yb, w)
            noise = np.full(xtx.shape[:2], _SCORE_NOISE_VAR)
            beta, _ = _bl.posterior(xtx, xty, noise, self.pm[rr], self.psd[rr])
            res = yb - np.einsum("nbmk,nbk->nbm", np.nan_to_num(X), beta)
            out[ch] = np.where(w > 0, np.abs(res), 0.0).sum((1, 2))  # LAD: robust to spikes
        return out

    def pick(self, sse: np.ndarray) -> np.ndarray:
        """Best candidate per (region, kind): a shape is a property of a service in a country."""
        best = np.zeros(len(self.rows), dtype=np.int64)
        for key in pd.unique(self.keys):
            sel = self.keys == key
            best[sel] = _first_near_best(sse[:, sel].sum(1))
        return best

    def lag_step(self) -> None:
        grid = self.opt.shock_lag_grid
        n = len(self.rows)
        sse = np.stack([self.score(np.full(n, L), self.tau0) for L in grid])
        self.lag = np.array([grid[i] for i in self.pick(sse)], dtype=np.int64)

    def finish(self) -> None:
        """(lag, rise) jointly around the lag, then the decay; written into the group."""
        g, opt = self.g, self.opt
        n = len(self.rows)
        z2 = self.tau0
        cand = [(0, 0.0)] + [(dl, tu) for tu in opt.shock_tau_grid[0] if tu > 0 for dl in _RISE_LAG_OFFSETS]
        lo = min(opt.shock_lag_grid)
        sse2 = np.stack(
            [
                self.score(np.maximum(self.lag + dl, lo), np.column_stack([np.full(n, tu), z2[:, 1]]))
                for dl, tu in cand
            ]
        )
        i2 = self.pick(sse2)
        lag = np.maximum(self.lag + np.array([cand[i][0] for i in i2]), lo)
        up = np.array([cand[i][1] for i in i2])
        dn = [0.0] + [t for t in opt.shock_tau_grid[1] if t > 0]
        sse3 = np.stack([self.score(lag, np.column_stack([up, np.full(n, td)])) for td in dn])
        down = np.array([dn[i] for i in self.pick(sse3)])
        g.shock_lag[self.rows], g.shock_tau[self.rows, 0], g.shock_tau[self.rows, 1] = lag, up, down
        self.batches = []


def start_search(g: Group, opt: Options, tables: DriverTables, covs: pd.DataFrame) -> ShapeSearch | None:
    """Count ``g``'s shock evidence and run the lag step of its shape search (None: nothing to search)."""
    count_evidence(g, tables)
    g.shape_hit = np.zeros(g.n, bool)
    if opt.shock_lag != "auto":
        g.shock_lag = np.full(g.n, int(opt.shock_lag), dtype=np.int64)
        return None
    g.shape_hit = g.evidence >= opt.min_evidence_days
    if not (g.shape_hit.any() and len(opt.shock_lag_grid) >= 2):
        return None
    T = g.zraw.shape[1]
    covf = cov_features(g, 0, T, covs, opt.covariate_smoothing_hours) if len(g.cov_names) else None
    search = ShapeSearch(g, opt, tables, covf)
    search.lag_step()
    return search


def select_driver(
    groups: Sequence[Group], searches: Sequence[ShapeSearch], opt: Options, fixed: set[str] = frozenset()
) -> dict[str, int]:
    """Driver mapping per kind (index into ``opt.specs``), written into every group's ``spec``.

    Candidates are scored by the total absolute residual of the resources with shock history at
    their own lag (immediate response): first with and without the stay-at-home level at the
    default stringency range, then the stringency ranges of ``driver_grid``. Every resource of
    the kind, hit or not, takes the kind's mapping. Kinds in ``fixed`` keep the rule learned for
    them (:mod:`surgeplan.forecast.learned`), which the candidates end with.
    """
    kind_spec = choose_driver(
        [sr.kinds for sr in searches],
        opt,
        lambda kinds, cands: [search_scores(sr, kinds, cands) for sr in searches],
        fixed,
    )
    for g in groups:
        write_driver(g, kind_spec)
    return kind_spec


def _kind_index(search_kinds: np.ndarray, kinds: list[str]) -> tuple[np.ndarray, np.ndarray]:
    mine = np.isin(search_kinds.astype(str), kinds)
    kidx = np.array([kinds.index(str(k)) if m else 0 for k, m in zip(search_kinds, mine)], dtype=np.int64)
    return mine, kidx


def search_scores(sr: ShapeSearch, kinds: list[str], cands: list[np.ndarray]) -> list[np.ndarray]:
    """Per candidate (mapping index per kind of ``kinds``), the score of each of the search's
    resources of those kinds; rows of other (fixed) kinds keep their own rule and are left out."""
    mine, kidx = _kind_index(sr.kinds, kinds)
    return [sr.score(sr.lag, sr.tau0, spec=np.where(mine, c[kidx], sr.g.spec[sr.rows]))[mine] for c in cands]


def choose_driver(
    search_kinds: Sequence[np.ndarray],
    opt: Options,
    scores: Callable[[list[str], list[np.ndarray]], list[list[np.ndarray]]],
    fixed: set[str] = frozenset(),
) -> dict[str, int]:
    """:func:`select_driver`'s choice from the searches' kinds and a ``scores(kinds, cands)`` that
    gives :func:`search_scores` of every search, in the searches' order (the totals are summed
    in that order, wherever the scores were computed)."""
    if not search_kinds or not opt.search_driver:
        return {}
    kinds = sorted({str(k) for ks in search_kinds for k in ks} - set(fixed))
    if not kinds:
        return {}
    nr = sum(not is_rule(s) for s in opt.specs) // 2
    index = [_kind_index(ks, kinds) for ks in search_kinds]

    def totals(cands: list[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(cands), len(kinds)))
        for (mine, kidx), per in zip(index, scores(kinds, cands), strict=True):
            for i, s in enumerate(per):
                np.add.at(out[i], kidx[mine], s)
        return out

    def best(tot: np.ndarray) -> np.ndarray:
        return np.array([_first_near_best(c) for c in tot.T])

    c6_cands = [np.zeros(len(kinds), np.int64), np.full(len(kinds), nr, np.int64)]
    off = np.where(best(totals(c6_cands)) == 1, nr, 0)
    spec = off + best(totals([off + j for j in range(nr)]))
    return {kd: int(sp) for kd, sp in zip(kinds, spec)}


def write_driver(g: Group, kind_spec: dict[str, int]) -> None:
    """Every resource of a kind in ``kind_spec`` takes the kind's mapping."""
    for kd, sp in kind_spec.items():
        g.spec[g.kinds == kd] = sp


def pool_shapes(groups: Sequence[Group]) -> dict[str, tuple[int, float, float]]:
    """Resources without shock history take their kind's shape from regions hit earlier
    (:func:`kind_shapes`, :func:`give_shapes`)."""
    shapes = kind_shapes(groups)
    for g in groups:
        give_shapes(g, shapes)
    return shapes


def kind_shapes(groups: Sequence[Group]) -> dict[str, tuple[int, float, float]]:
    """The pooled shape of each kind: the median lag, rise and decay of its resources whose shape
    was searched (a robust central shape: a mode of 3-tuples is unstable with few); a kind nobody
    has learned keeps the defaults (``default_shock_lag``, immediate response). Reads the groups'
    ``kinds, shape_hit, shock_lag, shock_tau`` only."""
    rows = [
        pd.DataFrame(
            {
                "kind": g.kinds[g.shape_hit],
                "lag": g.shock_lag[g.shape_hit],
                "up": g.shock_tau[g.shape_hit, 0],
                "dn": g.shock_tau[g.shape_hit, 1],
            }
        )
        for g in groups
        if g.shape_hit.any()
    ]
    if not rows:
        return {}
    shapes = {}
    for kd, sub in pd.concat(rows, ignore_index=True).groupby("kind"):  # kinds, few
        L, up, dn = (float(np.median(sub[c])) for c in ("lag", "up", "dn"))
        shapes[str(kd)] = (int(np.floor(L)), float(up), float(dn))
    return shapes


def give_shapes(g: Group, shapes: dict[str, tuple[int, float, float]]) -> None:
    """Resources of ``g`` whose shape was not searched take their kind's pooled shape."""
    for kd, (L, up, dn) in shapes.items():
        miss = (~g.shape_hit) & (g.kinds == kd)
        g.shock_lag[miss], g.shock_tau[miss, 0], g.shock_tau[miss, 1] = L, up, dn


def choose_shapes(
    groups: Sequence[Group],
    opt: Options,
    tables: DriverTables,
    covs: pd.DataFrame,
    fixed: set[str] = frozenset(),
) -> Pooling:
    """Steps 1-4 of the module docstring over every group; returns the kind-level choices.
    Kinds in ``fixed`` keep their learned rule (step 2 skips them)."""
    searches = []
    for g in groups:
        sr = start_search(g, opt, tables, covs)
        if sr is not None:
            searches.append(sr)
    kind_spec = select_driver(groups, searches, opt, fixed)
    for sr in searches:
        sr.finish()
    if kind_spec:  # evidence under the chosen mappings
        for g in groups:
            count_evidence(g, tables)
    return Pooling(kind_spec=kind_spec, kind_shape=pool_shapes(groups))
