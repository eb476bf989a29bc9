"""Report section: customer-relation chains at their peak, the deflection levers, pooled centres.

:func:`customer_relation_section` returns an HTML fragment (escaped, no external resource) that
``write_report(..., customer_relation=...)`` places after the temporary measures. Every number in
it is computed: :func:`surgeplan.dimension.lever_table` (what each lever saves at each chain's
peak, the cheapest mix), :func:`surgeplan.dimension.pooling.pooling_gain` (the five centres as one
virtual centre) and :func:`surgeplan.continuity.centres.closure_staffing` (each centre's staffing
when one closes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from markupsafe import escape

from surgeplan.dimension import apply_levers, chains, dimension, lever_table
from surgeplan.dimension.pooling import pooling_gain
from surgeplan.quantiles import column as quantile_column
from surgeplan.report import html_table

__all__ = ["customer_relation_section", "lever_sentences"]

#: Lever values the report tries (plausible shares; the library's default grid goes to 0.5).
REPORT_GRID: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3)

#: How a lever reads in a sentence.
LEVER_WORDS = {
    "ivr_self_service": "the IVR self-service share",
    "chatbot_containment": "the chatbot containment",
    "callback_share": "the callback offer",
}


def _pct(x: float) -> str:
    return f"{100.0 * x:.0f}%"


def lever_sentences(table: pd.DataFrame) -> list[str]:
    """One sentence per (chain, lever): the setting that saves the most agents at the chain's peak.

    ``table`` is :func:`surgeplan.dimension.lever_table`'s. Levers that save nothing say so; the
    last sentence of each chain gives its cheapest mix.
    """
    out: list[str] = []
    if table is None or table.empty:
        return out
    for chain, rows in table.groupby("chain", sort=False):
        base = rows[rows["scenario"] == "baseline"].iloc[0]
        label = base["name"] if isinstance(base["name"], str) else chain
        where = f"at the {label} peak ({pd.Timestamp(base['period']):%d %b %Y}, {base['entry_load']:,.0f}/h)"
        for lever, lr in rows[rows["scenario"] == "lever"].groupby("lever", sort=False):
            now = float(base[lever])
            best = lr.sort_values(
                ["agents_saved", "channels_saved", "value"], ascending=[False, False, True]
            ).iloc[0]
            words = LEVER_WORDS.get(lever, lever)
            if best["agents_saved"] <= 0 and best["channels_saved"] <= 0:
                out.append(f"{words[0].upper()}{words[1:]} (now {_pct(now)}) saves nothing {where}.")
                continue
            verb = "raising" if best["value"] > now else "setting"
            out.append(
                f"{verb.capitalize()} {words} from {_pct(now)} to {_pct(best['value'])} saves "
                f"{best['agents_saved']:.0f} agents and {best['channels_saved']:.0f} channels {where}."
            )
        cheap = rows[rows["cheapest"]]
        if len(cheap):
            c = cheap.iloc[0]
            mix = ", ".join(
                f"{LEVER_WORDS[k].removeprefix('the ')} {_pct(c[k])}"
                for k in LEVER_WORDS
                if np.isfinite(c.get(k, np.nan))
            )
            out.append(
                f"Cheapest mix meeting every GoS {where}: {mix}; {c['agents']:.0f} agents and "
                f"{c['channels']:.0f} channels, {c['added_cost']:,.0f} of modules to add "
                f"(baseline {base['added_cost']:,.0f})."
            )
    return out


def _peak_queue_load(inv: pd.DataFrame, busy_hour: pd.DataFrame, quantile: str) -> tuple[pd.Series, object]:
    """Calls per hour of every voice queue on the day of the highest total (flow pushed)."""
    cc_ids = inv.loc[inv["kind"] == "contact_center", "resource_id"].astype(str)
    bh = busy_hour[busy_hour["resource_id"].astype(str).isin(cc_ids)]
    if bh.empty:
        return pd.Series(dtype=float), None
    day = bh.groupby("period")[quantile].sum().idxmax()
    rows = busy_hour[busy_hour["period"] == day]
    d = dimension(inv, rows, load_column=quantile if quantile in rows.columns else quantile_column(quantile))
    d = d[d["kind"].astype(str) == "contact_center"]
    return pd.Series(d["load"].to_numpy(), index=d["resource_id"].astype(str).to_numpy()), day


def customer_relation_section(
    inventory: pd.DataFrame,
    busy_hour: pd.DataFrame,
    quantile: str = "p90",
    *,
    levers: Mapping[str, object] | None = None,
    grid: Sequence[float] = REPORT_GRID,
    closures: bool = True,
) -> str:
    """HTML fragment: each chain at its peak with the levers, pooled centres, closures.

    Parameters
    ----------
    inventory : DataFrame
        Inventory with the chains (``feeds``) and the voice queues (``site``, ``language``).
    busy_hour : DataFrame
        ``resource_id, period, <quantile>`` over the period to report (e.g. measured busy hours of
        March 2020 with ``quantile='load'``, or a plan's forecast busy hours with ``'p90'``).
    quantile : str, default ``'p90'``
        Column of ``busy_hour`` to size on.
    levers : mapping, optional
        The scenario's ``[levers]`` (:func:`surgeplan.dimension.apply_levers`): the baseline.
    grid : sequence of float
        Lever values tried.
    closures : bool, default True
        Also size each centre when another closes (continuity LP).

    Returns
    -------
    str
        HTML (empty string when the inventory has no chain and no voice queue).
    """
    inv = apply_levers(inventory, levers)
    entries = chains(inv, strict=False)["chain"].unique()
    has_entry = busy_hour["resource_id"].astype(str).isin(entries).any()
    table = lever_table(inv, busy_hour, quantile, grid=grid) if has_entry else pd.DataFrame()
    parts: list[str] = ["<h2>Customer relation at the peak</h2>"]
    if not table.empty:
        parts.append(
            '<p class="note">Each chain (contact number -> IVR -> agents -> callbacks; chatbot -> chat '
            "agents) sized at the busy hour of its entry's highest day, with the load pushed through the "
            "IVR self-service, chatbot containment and callback shares; every lever moved alone, then "
            "every mix (levers cost nothing here: the cheapest mix is the fewest modules to add).</p>"
        )
        parts += [f"<p><b>{escape(s)}</b></p>" for s in lever_sentences(table)]
        base = table[table["scenario"].isin(["baseline"]) | table["cheapest"]].copy()
        base["setting"] = np.where(base["cheapest"], "cheapest mix", "as is")
        cols = [
            "name",
            "period",
            "entry_load",
            "setting",
            *LEVER_WORDS,
            *[c for c in base.columns if c.startswith("needed_")],
            "agents",
            "channels",
            "added_cost",
        ]
        parts.append(f'<div class="scroll">{html_table(base, cols, {"added_cost": ",.0f"})}</div>')
    parts += _centres_html(inv, busy_hour, quantile, closures)
    return "\n".join(parts) if len(parts) > 1 else ""


def _centres_html(inv: pd.DataFrame, busy_hour: pd.DataFrame, quantile: str, closures: bool) -> list[str]:
    """The pooled centres (and closures) on the day the voice queues are busiest."""
    load, day = _peak_queue_load(inv, busy_hour, quantile)
    parts: list[str] = []
    pool = pooling_gain(inv, load) if len(load) and day is not None else pd.DataFrame()
    if len(pool):
        apart, pooled = pool["agents_apart"].sum(), pool["agents_pooled"].sum()
        parts.append(f"<h3>The service centres as one virtual centre ({pd.Timestamp(day):%d %b %Y})</h3>")
        text = (
            f"Pooling the queues of each language across the centres that take it needs {pooled:,.0f} agents "
            f"instead of {apart:,.0f} kept apart: {apart - pooled:,.0f} fewer."
        )
        parts.append(f"<p><b>{escape(text)}</b></p>")
        parts.append(
            f'<div class="scroll">{html_table(pool, list(pool.columns), vital_col="priority_class")}</div>'
        )
        if closures and pool["sites"].str.contains(",").any():
            from surgeplan.continuity.centres import closure_staffing

            both = closure_staffing(inv, load)
            unplaced = both[both["site"] == both["closed"]].set_index("closed")["calls_unplaced"]
            cl = both[both["site"] != both["closed"]].assign(
                extra_agents=lambda d: d["agents_needed"] - d["agents_installed"]
            )
            summary = (
                cl.groupby("closed")
                .agg(agents_needed=("agents_needed", "sum"), agents_installed=("agents_installed", "sum"))
                .reset_index()
            )
            summary["calls_unplaced"] = summary["closed"].map(unplaced).fillna(0.0)
            parts.append(
                '<p class="note">When one centre closes, its calls go to the queues of the same language '
                "and class at the others (continuity LP within hiring ceilings); agents each centre then "
                "needs:</p>"
            )
            cols = ["closed", "site", "calls_per_hour", "agents_needed", "agents_installed", "extra_agents"]
            parts.append(f'<div class="scroll">{html_table(cl, cols, vital_col=None)}</div>')
            parts.append(
                f'<div class="scroll">{html_table(summary, list(summary.columns), vital_col=None)}</div>'
            )
    return parts
