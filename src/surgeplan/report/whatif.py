"""The report's what-if section: which failures break what, and vital customers at risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
from markupsafe import escape

__all__ = ["vital_at_risk", "whatif_section"]


def vital_at_risk(result) -> pd.DataFrame:
    """Vital resources whose GoS breaks, or whose load goes unserved, in some scenario but not before.

    Columns ``resource_id, kind, scenarios_breaking, worst_scenario, worst_gos_value, gos_metric,
    gos_target, max_unserved_load``; most scenarios first. Vectorized (group-bys).
    """
    w = result.whatif
    base_ok = result.baseline.set_index("resource_id")["gos_ok"]
    v = w.loc[(w["priority_class"].to_numpy() == "vital") & ~w["gos_ok"].to_numpy(bool)]
    v = v.loc[base_ok.reindex(v["resource_id"]).fillna(True).to_numpy(bool)]
    if v.empty:
        return pd.DataFrame(
            columns=[
                "resource_id",
                "kind",
                "scenarios_breaking",
                "worst_scenario",
                "worst_gos_value",
                "gos_metric",
                "gos_target",
                "max_unserved_load",
            ]
        )
    bad = np.where(
        v["gos_metric"].to_numpy() == "service_level",
        -v["gos_value"].to_numpy(float),
        v["gos_value"].to_numpy(float),
    )
    v = v.assign(_bad=np.nan_to_num(bad, nan=np.inf)).sort_values(
        ["resource_id", "_bad"], ascending=[True, False]
    )
    first = v.drop_duplicates("resource_id").set_index("resource_id")
    agg = v.groupby("resource_id").agg(
        scenarios_breaking=("scenario", "nunique"), max_unserved_load=("unserved_load", "max")
    )
    out = pd.DataFrame(
        {
            "resource_id": agg.index,
            "kind": first.loc[agg.index, "kind"].to_numpy(),
            "scenarios_breaking": agg["scenarios_breaking"].to_numpy(),
            "worst_scenario": first.loc[agg.index, "scenario"].to_numpy(),
            "worst_gos_value": first.loc[agg.index, "gos_value"].to_numpy(),
            "gos_metric": first.loc[agg.index, "gos_metric"].to_numpy(),
            "gos_target": first.loc[agg.index, "gos_target"].to_numpy(),
            "max_unserved_load": agg["max_unserved_load"].to_numpy(),
        }
    )
    return out.sort_values(["scenarios_breaking", "max_unserved_load"], ascending=False, ignore_index=True)


def whatif_section(
    result, title: str = "What if a link, a site or a service centre is lost?", note: str | None = None
) -> str:
    """HTML of the what-if section for :func:`surgeplan.report.write_report` (``whatif_html=``).

    Parameters
    ----------
    result : surgeplan.continuity.WhatIfResult
        A sweep (or scenarios) result.
    title : str
        Section heading.
    note : str, optional
        What was run on what (load, capacity, mode), shown under the heading.
    """
    from surgeplan.report import html_table

    w = result.whatif
    base_ok = result.baseline.set_index("resource_id")["gos_ok"]
    newly = ~w["gos_ok"].to_numpy(bool) & base_ok.reindex(w["resource_id"]).fillna(True).to_numpy(bool)
    breaking = w.loc[newly, "scenario"].nunique()
    risk = vital_at_risk(result)
    n_scen = len(result.scenarios)
    fmt = {
        "worst_gos_value": ".3g",
        "gos_target": ".3g",
        "max_unserved_load": ",.1f",
        "unserved_vital": ",.1f",
        "unserved_standard": ",.1f",
    }
    lines = [
        f"<h2>{escape(title)}</h2>",
        f'<p class="note">{escape(note)}</p>' if note else "",
        (
            f"<p><b>{n_scen:,} failure scenarios: {breaking:,} break the GoS of at least one resource that "
            f"held before; {len(risk):,} vital resources (hospitals, care homes, emergency and public "
            "services) are at risk.</b></p>"
        ),
        "<h3>Failures that break the most</h3>",
        (
            '<p class="note">Broken = GoS fine with everything up, not after the failure; unserved = load '
            "with nowhere to go (no surviving group member or overflow route with room), in each kind's "
            "unit.</p>"
        ),
        (
            '<div class="scroll">'
            + html_table(result.top_scenarios, list(result.top_scenarios.columns), fmt, vital_col=None)
            + "</div>"
        ),
        "<h3>Vital customers at risk</h3>",
        (
            '<div class="scroll">'
            + html_table(risk.assign(priority_class="vital"), list(risk.columns), fmt, max_rows=40)
            + "</div>"
        ),
    ]
    if result.worst is not None:
        wst = result.worst.loc[result.worst["scenarios_breaking"] > 0].sort_values(
            "scenarios_breaking", ascending=False
        )
        lines += [
            "<h3>Worst case per resource</h3>",
            (
                '<p class="note">The worst GoS each resource reaches over the sweep, the failure causing it, '
                "and how many failures break it (worst.csv).</p>"
            ),
            f'<div class="scroll">{html_table(wst, list(wst.columns), fmt, max_rows=30, vital_col=None)}'
            "</div>",
        ]
    return "\n".join(x for x in lines if x)
