"""Failure and closure scenarios: which resources are lost.

A scenario is a named set of failed resources. It is built from SPECs, each one of

==================  ==================================================================
``RESOURCE_ID``     that resource
``site:NAME``       every resource at the site (``site`` column): a service centre closing
                    is every queue at its site
``region:ISO3``     every resource in the region (``region`` column)
``group:NAME``      the largest member of the group (by installed capacity; the first in
                    inventory order among equals): the worst single failure of the group
==================  ==================================================================

Several SPECs make one combined scenario. Sweeps: :func:`sweep` (``"n-1"``: every resource alone;
``"sites"``: every site; ``"regions"``: every region) and :func:`pairs` (every pair from a named
set of SPECs, e.g. the shared-risk groups of a duct or a building).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from surgeplan.errors import SurgeplanError

__all__ = ["SWEEPS", "Scenario", "pairs", "parse_spec", "resolve_scenarios", "scenario", "sweep"]


@dataclass(frozen=True)
class Scenario:
    """A named set of failed resources.

    Attributes
    ----------
    name : str
        Shown in the ``scenario`` column (the SPECs joined by ``+`` unless named).
    failed : tuple of str
        ``resource_id`` of every resource lost, in inventory order.
    specs : tuple of str
        The SPECs it was built from.
    """

    name: str
    failed: tuple[str, ...]
    specs: tuple[str, ...] = ()


def _index(inventory: pd.DataFrame) -> pd.DataFrame:
    inv = inventory.reset_index(drop=True) if inventory.index.name == "resource_id" else inventory
    return inv.assign(resource_id=inv["resource_id"].astype(str))


def parse_spec(spec: str, inventory: pd.DataFrame, *, source: str = "--fail") -> tuple[str, ...]:
    """Resource ids a SPEC names (see the module docstring).

    Raises ``SurgeplanError`` naming ``source`` and the SPEC for an unknown resource, site, region
    or group, or an empty SPEC.
    """
    inv = _index(inventory)
    text = str(spec).strip()
    if not text:
        raise SurgeplanError(f"{source}: empty failure SPEC")
    prefix, _, value = text.partition(":")
    if _ and prefix in ("site", "region", "group"):
        col = (
            inv[prefix].where(inv[prefix].notna(), "").astype(str).str.strip()
            if prefix in inv.columns
            else pd.Series("", index=inv.index)
        )
        if prefix == "region":
            hit = col.str.upper() == value.strip().upper()
        else:
            hit = col == value.strip()
        if not hit.any():
            known = sorted(set(col[col != ""]))
            shown = ", ".join(known[:8]) + (" ..." if len(known) > 8 else "")
            raise SurgeplanError(f"{source} {text!r}: no resource has {prefix} {value!r}; known: {shown}")
        rows = inv.loc[hit.to_numpy()]
        if prefix == "group":
            cap = pd.to_numeric(rows["capacity"], errors="coerce").fillna(-np.inf).to_numpy()
            rows = rows.iloc[[int(np.argmax(cap))]]
        return tuple(rows["resource_id"])
    if (inv["resource_id"] == text).any():
        return (text,)
    raise SurgeplanError(
        f"{source} {text!r}: unknown resource (not in the inventory; a site, region or group "
        "is written site:NAME, region:ISO3, group:NAME)"
    )


def scenario(
    specs: str | Sequence[str], inventory: pd.DataFrame, name: str | None = None, *, source: str = "--fail"
) -> Scenario:
    """One combined scenario from one or several SPECs (their failed resources together)."""
    specs = (specs,) if isinstance(specs, str) else tuple(specs)
    if not specs:
        raise SurgeplanError(f"{source}: a scenario needs at least one SPEC")
    ids = dict.fromkeys(r for s in specs for r in parse_spec(s, inventory, source=source))
    inv_ids = _index(inventory)["resource_id"]
    order = inv_ids[inv_ids.isin(list(ids))].tolist()
    return Scenario(name or "+".join(str(s).strip() for s in specs), tuple(order), specs)


def _dimensioned(inv: pd.DataFrame) -> pd.DataFrame:
    """The resources a what-if checks: kinds with limits and a GoS rule (``network.KIND_LIMITS``)."""
    from surgeplan.continuity.network import KIND_LIMITS

    return inv.loc[inv["kind"].isin(list(KIND_LIMITS)).to_numpy(bool)]


def sweep(inventory: pd.DataFrame, kind: str = "n-1") -> list[Scenario]:
    """Every single failure of one kind of sweep.

    Parameters
    ----------
    inventory : DataFrame
        The inventory.
    kind : {'n-1', 'sites', 'regions'}
        ``n-1``: every dimensioned resource alone; ``sites``: every site (all its resources);
        ``regions``: every region.
    """
    inv = _index(inventory)
    try:
        return SWEEPS[kind](inv)
    except KeyError:
        raise SurgeplanError(f"sweep: {kind!r} is not a sweep; use one of {', '.join(SWEEPS)}") from None


def _sweep_n1(inv: pd.DataFrame) -> list[Scenario]:
    ids = _dimensioned(inv)["resource_id"]
    return [Scenario(r, (r,), (r,)) for r in ids]


def _sweep_by(col: str, inv: pd.DataFrame) -> list[Scenario]:
    if col not in inv.columns:
        return []
    inv = _dimensioned(inv)
    key = inv[col].astype(str).str.strip()
    ok = inv[col].notna().to_numpy() & (key != "").to_numpy() & (key != "nan").to_numpy()
    grouped = inv.loc[ok].groupby(key[ok], sort=True)["resource_id"]
    return [Scenario(f"{col}:{k}", tuple(v), (f"{col}:{k}",)) for k, v in grouped]


#: Named sweeps (lookup table: name -> builder).
SWEEPS = {
    "n-1": _sweep_n1,
    "sites": lambda inv: _sweep_by("site", inv),
    "regions": lambda inv: _sweep_by("region", inv),
}


def pairs(specs: Iterable[str], inventory: pd.DataFrame) -> list[Scenario]:
    """Every pair of a named set of SPECs as one combined scenario each (shared-risk groups)."""
    specs = list(specs)
    return [scenario(list(p), inventory) for p in itertools.combinations(specs, 2)]


def resolve_scenarios(scenarios, inventory: pd.DataFrame) -> tuple[list[Scenario], bool]:
    """Normalise what :func:`surgeplan.continuity.whatif` accepts into scenarios.

    ``scenarios`` is a sweep name (``'n-1'``, ``'sites'``, ``'regions'``) or a list of sweep names
    (one combined sweep), a :class:`Scenario`, a
    SPEC string, or a list of those and of lists of SPECs (each list one combined scenario).
    Returns the scenarios and whether it was a sweep.
    """
    names = [scenarios] if isinstance(scenarios, str) and scenarios in SWEEPS else scenarios
    if isinstance(names, (list, tuple)) and names and all(isinstance(s, str) and s in SWEEPS for s in names):
        out = [x for name in dict.fromkeys(names) for x in sweep(inventory, name)]
        if not out:
            raise SurgeplanError(
                f"scenarios: the sweep {'+'.join(names)} is empty (no resource of a dimensioned kind has a "
                "site)"
            )
        return out, True
    if isinstance(scenarios, (str, Scenario)):
        scenarios = [scenarios]
    out = []
    for s in scenarios:
        if isinstance(s, Scenario):
            out.append(s)
        else:
            out.append(scenario(s, inventory, source="scenarios"))
    if not out:
        raise SurgeplanError("scenarios: no scenario given")
    names = [s.name for s in out]
    dup = [n for n in names if names.count(n) > 1]
    if dup:
        raise SurgeplanError(f"scenarios: scenario {dup[0]!r} given twice")
    return out, False
