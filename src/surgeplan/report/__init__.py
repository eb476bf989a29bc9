"""Self-contained HTML report of a plan: charts (base64 PNG), action timeline, alerts, late work.

``write_report(path, plan, ...)`` renders ``templates/report.html.j2`` (Jinja2) into one HTML file
with no external resource, which a planner can mail or archive.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import escape

from surgeplan.report import charts

__all__ = ["html_table", "most_stressed", "write_report"]


def _cell(v: object, fmt: str | None) -> tuple[str, bool]:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return "", False
    if isinstance(v, (pd.Timestamp, np.datetime64, _dt.datetime)):
        t = pd.Timestamp(v)
        return ("" if pd.isna(t) else f"{t:%Y-%m-%d}"), False
    if isinstance(v, (bool, np.bool_)):
        return ("yes" if v else "no"), False
    if isinstance(v, (int, float, np.integer, np.floating)):
        if fmt:
            return format(v, fmt), True
        return (f"{v:,.0f}" if float(v).is_integer() or abs(v) >= 100 else f"{v:,.3g}"), True
    return str(v), False


def html_table(
    df: pd.DataFrame,
    columns: Sequence[str],
    formats: dict[str, str] | None = None,
    max_rows: int = 200,
    vital_col: str | None = "priority_class",
) -> str:
    """An escaped HTML table of ``columns`` of ``df`` (first ``max_rows`` rows)."""
    cols = [c for c in columns if c in df.columns]
    if df.empty:
        return '<p class="note">(none)</p>'
    formats = formats or {}
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in cols)
    rows = []
    for rec in df.head(max_rows)[
        cols + ([vital_col] if vital_col in df.columns and vital_col not in cols else [])
    ].to_dict("records"):
        cls = ' class="vital"' if vital_col and rec.get(vital_col) == "vital" else ""
        cells = []
        for c in cols:
            text, num = _cell(rec[c], formats.get(c))
            cells.append(f"<td{' class=num' if num else ''}>{escape(text)}</td>")
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    more = (
        f'<p class="note">... and {len(df) - max_rows:,} more rows (see the CSV/XLSX export).</p>'
        if len(df) > max_rows
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def most_stressed(planned: pd.DataFrame, n: int = 8) -> list[str]:
    """The ``n`` most stressed resources, taken round-robin across kinds.

    Stress = peak ``load / carriable`` (load over what the capacity carries at its GoS target).
    The worst of each kind comes first, then the second worst of each kind, and so on, so a chart
    grid shows every kind that is under stress rather than ``n`` resources of one kind.
    Vectorized (group-bys).
    """
    if planned.empty:
        return []
    carry = planned["carriable"].to_numpy(np.float64)
    ratio = planned["load"].to_numpy(np.float64) / np.where(carry > 0, carry, np.nan)
    df = pd.DataFrame(
        {
            "rid": planned["resource_id"].astype(str).to_numpy(),
            "kind": planned["kind"].astype(str).to_numpy(),
            "r": np.nan_to_num(ratio, nan=0.0),
        }
    )
    peak = df.groupby(["rid", "kind"], sort=False)["r"].max().reset_index()
    peak = peak.loc[peak["r"] > 0].sort_values("r", ascending=False, kind="stable")
    peak["rank"] = peak.groupby("kind").cumcount()
    peak = peak.sort_values(["rank", "r"], ascending=[True, False], kind="stable")
    return list(peak["rid"].head(n))


def write_report(
    path: str | Path,
    plan,
    *,
    inventory: pd.DataFrame,
    forecast_busy_hour: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    replay: pd.DataFrame | None = None,
    title: str = "surgeplan capacity plan",
    subtitle: str | None = None,
    files: Sequence[str] = (),
    n_charts: int = 8,
    replay_findings: Sequence[str] = (),
    policies: pd.DataFrame | None = None,
    policy_headline: str | None = None,
    policy_note: str = "",
    whatif_html: str | None = None,
    customer_relation: str = "",
) -> Path:
    """Write the HTML report of ``plan`` to ``path`` and return the path.

    Parameters
    ----------
    path : str or Path
        Output HTML file (parents created).
    plan : surgeplan.plan.Plan
        The plan to report on.
    inventory : DataFrame
        Inventory (names, kinds, regions of the charted resources).
    forecast_busy_hour : DataFrame, optional
        Busy-hour forecasts (``resource_id, period, p50, p90, p99``) for the charts' bands.
    history : DataFrame, optional
        Measured busy-hour load ``resource_id, period, load`` before the as-of date.
    replay : DataFrame, optional
        One row per as-of date of a replay (``asof, resources_short, actions, late_actions, cost``).
    title, subtitle : str
        Headings.
    files : sequence of str
        Companion files to list (exports).
    n_charts : int, default 8
        How many of the most stressed resources to chart.
    replay_findings : sequence of str
        Sentences shown under the replay (e.g. what really happened with the orders placed).
    policies : DataFrame, optional
        The replay's policy table (``surgeplan.plan.replay.POLICY_COLUMNS``), shown first.
    policy_headline, policy_note : str
        The replay in one sentence (the report leads with it), and where the shortage is lost.
    whatif_html : str, optional
        A what-if section (:func:`surgeplan.report.whatif.whatif_section`), shown before the method.
    customer_relation : str, optional
        HTML of :func:`surgeplan.report.customer_relation.customer_relation_section` (chains at
        their peak with the deflection levers, pooled service centres), shown after the temporary
        measures.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    load_charts = _load_charts(plan, inventory, forecast_busy_hour, history, n_charts)
    html = _render(
        title=title,
        subtitle=subtitle
        or f"Plan as of {plan.asof:%Y-%m-%d}, sized on the {plan.quantile} busy-hour forecast.",
        asof=f"{plan.asof:%Y-%m-%d}",
        cards=_summary_cards(plan),
        load_charts=load_charts,
        charts_available=charts.available(),
        timeline=charts.action_timeline(plan.actions),
        actions_note=(
            f"{len(plan.actions):,} actions by priority (vital customers first, then soonest and worst GoS "
            "break). Orders are placed on the as-of date; modules arrive after the lead time and are "
            "installed within each region's field operations per day."
        ),
        **_plan_tables(plan),
        **_replay_sections(replay, replay_findings, policies, policy_headline, policy_note),
        customer_relation=customer_relation,
        method=_method(plan.quantile),
        files=list(files),
        whatif_html=whatif_html,
    )
    path.write_text(html, encoding="utf-8")
    return path


# numbers in the plan's tables: shares as percentages, money without decimals
_FORMATS = {
    "severity": ".0%",
    "gos_target": ".3g",
    "gos_now_peak": ".3g",
    "worst_gos": ".3g",
    "peak_gos": ".3g",
    "late_days": ".0f",
    "cost": ",.0f",
    "cost_funded": ",.0f",
}
_ACTION_COLUMNS = [
    "priority",
    "resource_id",
    "kind",
    "region",
    "priority_class",
    "modules",
    "modules_funded",
    "needed_by",
    "order_by",
    "install_done",
    "late_days",
    "cost_funded",
    "status",
    "reason",
]
_LATE_COLUMNS = [
    "priority",
    "resource_id",
    "kind",
    "region",
    "priority_class",
    "status",
    "needed_by",
    "install_done",
    "late_days",
    "modules",
    "modules_funded",
    "gos_metric",
    "gos_target",
    "worst_gos",
    "shortfall_while_late",
]
_TEMPORARY_COLUMNS = [
    "resource_id",
    "kind",
    "region",
    "priority_class",
    "short_from",
    "short_until",
    "peak_shortfall",
    "shortfall_unit",
    "cause",
    "measure",
]


def _load_charts(
    plan,
    inventory: pd.DataFrame,
    forecast_busy_hour: pd.DataFrame | None,
    history: pd.DataFrame | None,
    n_charts: int,
) -> list[str]:
    """Load against capacity of the ``n_charts`` most stressed resources (data URIs)."""
    inv = inventory.set_index(inventory["resource_id"].astype(str), drop=False)
    pl = plan.planned
    rid_p = pl["resource_id"].astype(str)
    out = []
    for rid in most_stressed(plan.dimensioning, n_charts):  # a loop over figures, not over the data
        fc = None
        if forecast_busy_hour is not None:
            fc = forecast_busy_hour.loc[forecast_busy_hour["resource_id"].astype(str) == rid]
        hist = None
        if history is not None:
            hist = history.loc[history["resource_id"].astype(str) == rid]
        uri = charts.load_vs_capacity(inv.loc[rid], pl.loc[rid_p == rid], fc, hist, plan.asof)
        if uri:
            out.append(uri)
    return out


def _summary_cards(plan) -> list[dict[str, str]]:
    """The headline figures of the plan's summary; ``cls`` marks the bad and the good news."""
    s = plan.summary
    budget = s.get("budget")
    return [
        {"value": f"{s.get('resources', 0):,}", "label": "resources dimensioned", "cls": ""},
        {
            "value": f"{s.get('resources_short', 0):,}",
            "label": f"short at {plan.quantile} before the plan",
            "cls": "bad" if s.get("resources_short") else "good",
        },
        {
            "value": f"{s.get('actions', 0):,}",
            "label": f"actions ({s.get('vital_actions', 0)} vital)",
            "cls": "",
        },
        {"value": f"{s.get('modules', 0):,}", "label": "modules funded", "cls": ""},
        {
            "value": f"{s.get('cost', 0):,.0f}",
            "label": "cost" + (f" (budget {budget:,.0f})" if budget else ""),
            "cls": "",
        },
        {
            "value": f"{s.get('order_now', 0):,}",
            "label": "orders due now or overdue",
            "cls": "bad" if s.get("order_now") else "",
        },
        {
            "value": f"{s.get('late_actions', 0):,}",
            "label": "actions late / unfunded",
            "cls": "bad" if s.get("late_actions") else "good",
        },
        {
            "value": f"{s.get('resources_short_after_plan', 0):,}",
            "label": "still short under the plan",
            "cls": "bad" if s.get("resources_short_after_plan") else "good",
        },
    ]


def _plan_tables(plan) -> dict[str, str]:
    """The actions, alerts, late-work and temporary-measure tables (HTML)."""
    return {
        "actions_table": html_table(plan.actions, _ACTION_COLUMNS, _FORMATS),
        "alerts_table": _alerts_table(plan),
        "late_table": html_table(plan.late, _LATE_COLUMNS, _FORMATS),
        "temporary_table": html_table(plan.temporary, _TEMPORARY_COLUMNS, _FORMATS),
    }


def _alerts_table(plan) -> str:
    """One row per resource that breaks its GoS under some quantile: the first break day under each
    quantile and the status under the plan's, soonest break first."""
    al = plan.alerts
    if al.empty:
        return html_table(al, [])
    wide = al.pivot_table(
        index=["resource_id", "kind", "region", "priority_class", "lead_time_days"],
        columns="quantile",
        values="first_break",
        aggfunc="first",
        observed=True,
    )
    wide.columns = [f"first_break_{c}" for c in wide.columns]
    st = al.loc[al["quantile"] == plan.quantile].set_index("resource_id")["status"]
    wide = wide.reset_index()
    wide[f"status_{plan.quantile}"] = st.reindex(wide["resource_id"]).to_numpy()
    broken = wide.filter(like="first_break_").notna().any(axis=1)
    key = f"first_break_{plan.quantile}"
    wide = wide.loc[broken].sort_values([key] if key in wide else list(wide.columns[:1]), na_position="last")
    return html_table(wide, list(wide.columns), _FORMATS)


def _replay_sections(
    replay: pd.DataFrame | None,
    replay_findings: Sequence[str],
    policies: pd.DataFrame | None,
    policy_headline: str | None,
    policy_note: str,
) -> dict[str, object]:
    """The replay's chart, table, findings and policy comparison (empty when there was no replay)."""
    replay_table = (
        html_table(replay, list(replay.columns), {"cost": ",.0f"}, vital_col=None)
        if replay is not None and not replay.empty
        else ""
    )
    policy_table = (
        html_table(
            policies, list(policies.columns), {"unserved_load_share": ".2%", "cost": ",.0f"}, vital_col=None
        )
        if policies is not None
        else ""
    )
    return {
        "replay_chart": charts.replay_chart(replay) if replay is not None else None,
        "replay_table": replay_table,
        "replay_findings": list(replay_findings),
        "policy_headline": policy_headline,
        "policy_table": policy_table,
        "policy_note": policy_note,
        "replay_note": (
            "Each row is the plan made on that date from the data known then (forecast fitted on "
            "measurements up to the date), as an operator replanning daily would have seen it."
        ),
    }


def _method(quantile: str) -> list[str]:
    """The method in three sentences."""
    return [
        "Busy hour: the hour with the highest mean load of each day (ITU-T E.500); sizing uses its "
        f"{quantile} forecast.",
        "Trunk groups: Erlang B (extended Erlang B with retries); conference bridges: Erlang B on "
        "ports; contact centres: Erlang A (service level and abandonment ceiling); VPN gateways: peak "
        "sessions under a ceiling; links: utilisation ceiling kept after the largest member of the "
        "group fails (N+1).",
        "Actions: whole modules up to max_capacity; order_by = needed_by - lead time; priority vital > "
        "soonest > worst; budget and field-operations ceilings applied in priority order.",
    ]


def _render(**context) -> str:
    """``templates/report.html.j2`` rendered with ``context``, the version and the time it was made."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    import surgeplan

    env = Environment(
        loader=PackageLoader("surgeplan.report", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    return env.get_template("report.html.j2").render(
        **context,
        version=surgeplan.__version__,
        generated=f"{_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M} UTC",
    )
