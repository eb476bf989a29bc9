"""Charts of the HTML report, rendered with matplotlib (Agg) and inlined as base64 PNG.

Every function returns a ``data:image/png;base64,...`` URI (or ``None`` when there is nothing to
draw) so the report stays one self-contained file.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd

_UNIT = {"erlang": "Erlangs", "gbps": "Gbps", "sessions": "sessions", "calls_per_hour": "calls / hour"}
VITAL, STANDARD, LATE, OK = "#c0392b", "#2471a3", "#e67e22", "#27ae60"


def available() -> bool:
    """True when matplotlib can be imported (the report then has charts; otherwise tables only)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _uri(fig) -> str:
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def load_vs_capacity(
    resource: pd.Series,
    planned: pd.DataFrame,
    forecast: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    asof: pd.Timestamp | None = None,
) -> str | None:
    """Busy-hour load against what the capacity carries at the GoS target, for one resource.

    Parameters
    ----------
    resource : Series
        One row of the inventory (``resource_id``, ``name``, ``kind``).
    planned : DataFrame
        The plan's dimensioning rows of this resource (``period, load, carriable, capacity``):
        ``carriable`` already counts the upgrade from its ``install_done``.
    forecast : DataFrame, optional
        Busy-hour forecast rows (``period, p50, p90, p99``).
    history : DataFrame, optional
        Measured busy-hour load (``period, load``) before the as-of date.
    asof : Timestamp, optional
        Planning date (a vertical line).
    """
    if not available():
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.2, 2.6))
    if history is not None and len(history):
        ax.plot(
            pd.to_datetime(history["period"]),
            history["load"],
            color="#333",
            lw=1.4,
            label="measured busy hour",
        )
    if forecast is not None and len(forecast):
        t = pd.to_datetime(forecast["period"])
        lo = forecast["p50"] if "p50" in forecast else None
        hi = forecast["p99"] if "p99" in forecast else None
        if lo is not None and hi is not None:
            ax.fill_between(t, lo, hi, color=STANDARD, alpha=0.15, label="forecast p50-p99")
        if "p90" in forecast:
            ax.plot(t, forecast["p90"], color=STANDARD, lw=1.2, ls="--", label="forecast p90")
    if len(planned):
        p = planned.sort_values("period")
        t = pd.to_datetime(p["period"])
        ax.step(t, p["carriable"], where="post", color=VITAL, lw=1.6, label="carriable at GoS target (plan)")
    if asof is not None:
        ax.axvline(pd.Timestamp(asof), color="#888", lw=0.8, ls=":")
    unit = _UNIT.get(str(planned["load_unit"].iloc[0]) if len(planned) else "", "")
    name = resource.get("name")
    title = name if isinstance(name, str) and name else resource["resource_id"]
    ax.set_title(f"{title} ({resource['kind']}, {resource['region']})", fontsize=9)
    ax.set_ylabel(unit, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="upper left")
    fig.autofmt_xdate()
    return _uri(fig)


def action_timeline(actions: pd.DataFrame, top: int = 25) -> str | None:
    """Gantt-style timeline: order-by, delivery and installation of the first ``top`` actions.

    A bar runs from ``order_by`` to ``install_done`` (or ``needed_by`` when never installed); a
    diamond marks ``needed_by``. Red = vital, blue = standard, orange bar = late.
    """
    a = actions.head(top)
    if a.empty or not available():
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 0.26 * len(a) + 1.0))
    y = np.arange(len(a))[::-1]
    ob = pd.to_datetime(a["order_by"])
    nb = pd.to_datetime(a["needed_by"])
    done = pd.to_datetime(a["install_done"]).fillna(nb)
    late = a["status"].astype(str).to_numpy() != "on time"
    start = np.minimum(ob.to_numpy(), done.to_numpy())
    width = (done.to_numpy() - start) / np.timedelta64(1, "D")
    colors = np.where(late, LATE, np.where(a["priority_class"].astype(str) == "vital", VITAL, STANDARD))
    import matplotlib.dates as mdates

    ax.barh(
        y,
        np.maximum(width, 0.5),
        left=mdates.date2num(pd.DatetimeIndex(start)),
        color=colors,
        alpha=0.8,
        height=0.6,
    )
    ax.scatter(mdates.date2num(nb), y, marker="D", color="black", s=14, zorder=3, label="needed by")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{p}. {r}" for p, r in zip(a["priority"], a["resource_id"])], fontsize=7)
    ax.xaxis_date()
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(
        "order by -> in service (orange: late; red: vital; blue: standard; diamond: needed by)", fontsize=8
    )
    fig.autofmt_xdate()
    return _uri(fig)


def replay_chart(replay: pd.DataFrame) -> str | None:
    """Per as-of date of a replay: resources short, actions, late actions (left) and cost (right)."""
    if replay is None or replay.empty or not available():
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.0, 2.6))
    t = pd.to_datetime(replay["asof"])
    for col, color in (("resources_short", VITAL), ("actions", STANDARD), ("late_actions", LATE)):
        if col in replay:
            ax.plot(t, replay[col], marker="o", ms=3, color=color, label=col.replace("_", " "))
    ax.set_ylabel("count", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    if "cost" in replay:
        ax2 = ax.twinx()
        ax2.bar(t, replay["cost"], color="#999", alpha=0.3, width=0.8)
        ax2.set_ylabel("cost of the plan", fontsize=8)
        ax2.tick_params(labelsize=7)
    ax.set_title("planning replay: what the plan said on each date", fontsize=9)
    fig.autofmt_xdate()
    return _uri(fig)
