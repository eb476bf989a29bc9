"""Dashboard pages: server-rendered Jinja2, SVG charts, a few lines of plain JS for live updates (SSE).

Pages need a session: ``/login`` takes a token (input ``token``) and sets an HttpOnly,
SameSite=Strict cookie; the server keeps the session. API downloads accept the same cookie.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from surgeplan.api.frames import records
from surgeplan.api.problems import problem_response
from surgeplan.api.routes_data import latest_forecasts
from surgeplan.api.routes_plans import current_alerts
from surgeplan.api.security import COOKIE
from surgeplan.api.svg import Band, Line, time_chart
from surgeplan.kinds import KINDS

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


class _LoginRequired(Exception):
    pass


def _user(request: Request):
    return request.app.state.service.user_for_session(request.cookies.get(COOKIE))


def _page(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    user = _user(request)
    if user is None and template != "login.html":
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    state = request.app.state.service
    return templates.TemplateResponse(
        request,
        template,
        {"user": user, "db": state.config.db.name, **context},
        status_code=status,
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/"):
    return _page(
        request, "login.html", next=next if next.startswith("/") and not next.startswith("//") else "/"
    )


@router.post("/login")
def login(request: Request, token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"):
    state = request.app.state.service
    user = state.user_for_token(token.strip()) if token.strip() else None
    if user is None:
        if "text/html" in request.headers.get("accept", ""):
            return _page(
                request, "login.html", 401, error="That token is not valid (or was revoked).", next="/"
            )
        return problem_response(request, 401, "token: not a valid token")
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(
        COOKIE,
        state.new_session(user),
        httponly=True,
        samesite="strict",
        secure=state.config.secure_cookies,
        max_age=int(state.config.session_hours * 3600),
    )
    return resp


@router.get("/logout")
def logout(request: Request):
    request.app.state.service.sessions.pop(request.cookies.get(COOKIE, ""), None)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp


def _stressed(state, n: int = 10) -> list[dict]:
    """Resources with the highest peak load over their last measured day, against installed capacity."""
    with state.read() as store:
        frame = store._df(
            "WITH last AS (SELECT resource_id, max(ts) AS t FROM measurements GROUP BY resource_id) SELECT "
            "r.resource_id, r.name, r.kind, r.region, r.priority_class, r.capacity, max(m.load) AS peak "
            "FROM measurements m JOIN last USING (resource_id) JOIN resources r USING (resource_id) WHERE "
            "m.ts > last.t - INTERVAL 1 DAY GROUP BY ALL"
        )
    if frame.empty:
        return []
    frame["ratio"] = frame["peak"] / frame["capacity"].replace(0, np.nan)
    frame["unit"] = frame["kind"].map(lambda k: KINDS[k].load_unit if k in KINDS else "")
    return records(frame.sort_values("ratio", ascending=False).head(n))


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, q: str = "p90"):
    state = request.app.state.service
    al = current_alerts(state)
    if not al.empty:
        al = al.loc[al["quantile"].astype(str) == q]
    groups = {
        u: records(al.loc[al["urgency"] == u].head(40)) if not al.empty else []
        for u in ("critical", "high", "watch")
    }
    counts = {u: int((al["urgency"] == u).sum()) if not al.empty else 0 for u in groups}
    full = current_alerts(state)
    vital = (
        records(
            full.loc[full["priority_class"].astype(str) == "vital"].drop_duplicates("resource_id").head(30)
        )
        if not full.empty
        else []
    )
    live = state.live.status if state.live is not None else {}
    return _page(
        request,
        "overview.html",
        groups=groups,
        counts=counts,
        q=q,
        vital=vital,
        stressed=_stressed(state),
        live=live,
        version=state.alerts_version,
    )


@router.get("/resources/{resource_id}", response_class=HTMLResponse)
def resource_page(request: Request, resource_id: str, days: int = 14):
    state = request.app.state.service
    with state.read() as store:
        inv = store._df("SELECT * FROM resources WHERE resource_id = ?", [resource_id])
        if inv.empty:
            return _page(request, "missing.html", 404, what=f"resource {resource_id}")
        last = store.connection.execute(
            "SELECT max(ts) FROM measurements WHERE resource_id = ?", [resource_id]
        ).fetchall()[0][0]
        start = pd.Timestamp(last) - pd.Timedelta(days=days) if last is not None else None
        meas = store.measurements([resource_id], start=start)
        fc = latest_forecasts(store, [resource_id], start=start)
    res = records(inv)[0]
    kind = KINDS.get(res["kind"])
    unit = f"load ({kind.load_unit}) / capacity ({kind.capacity_unit})" if kind else "load"
    hourly = (
        meas.set_index("ts")["load"].resample("1h").mean().dropna() if len(meas) else pd.Series(dtype=float)
    )
    from surgeplan.forecast.busy_hour import busy_hour as measured_busy_hour

    bh = measured_busy_hour(meas) if len(meas) else pd.DataFrame(columns=["busy_hour", "load"])
    lines = [
        Line("measured (hourly mean)", pd.Series(hourly.index), hourly.to_numpy(), "s-load"),
        Line("busy hour", bh["busy_hour"], bh["load"].to_numpy(float), "s-bh", dots=True),
    ]
    bands = []
    if len(fc):
        if {"p50", "p90"} <= set(fc.columns):
            bands.append(
                Band(
                    "forecast p50-p90",
                    fc["ts"],
                    fc["p50"].to_numpy(float),
                    fc["p90"].to_numpy(float),
                    "s-band",
                )
            )
        if "p99" in fc.columns and "p90" in fc.columns:
            bands.append(
                Band("p90-p99", fc["ts"], fc["p90"].to_numpy(float), fc["p99"].to_numpy(float), "s-band2")
            )
        if "mean" in fc.columns:
            lines.append(Line("forecast mean", fc["ts"], fc["mean"].to_numpy(float), "s-fc"))
    chart = time_chart(lines, bands, [("installed capacity", res.get("capacity"), "s-cap")], unit)
    with state.lock:
        acts = state.actions
        acts = acts.loc[acts["resource_id"].astype(str) == resource_id] if not acts.empty else acts
    al = current_alerts(state, include_ok=True)
    al = al.loc[al["resource_id"].astype(str) == resource_id] if not al.empty else al
    return _page(
        request,
        "resource.html",
        res=res,
        chart=chart,
        actions=records(acts),
        alerts=records(al),
        origin=str(fc["origin"].iloc[0]) if len(fc) else None,
    )


@router.get("/timeline", response_class=HTMLResponse)
def timeline(request: Request):
    state = request.app.state.service
    ids = state.plan_ids()
    plan = state.load_plan(str(ids["plan_id"].iloc[0])) if not ids.empty else None
    rows = (
        sorted(plan["actions"], key=lambda a: (str(a.get("order_by")), a.get("priority") or 0))
        if plan
        else []
    )
    late_ids = {a["resource_id"] for a in plan["late"]} if plan else set()
    by_day: dict[str, list] = {}
    for a in rows:
        a["is_late"] = a["resource_id"] in late_ids
        by_day.setdefault(str(a.get("order_by"))[:10], []).append(a)
    return _page(request, "timeline.html", plan=plan, by_day=by_day, late=plan["late"] if plan else [])


@router.get("/downloads", response_class=HTMLResponse)
def downloads(request: Request):
    state = request.app.state.service
    ids = state.plan_ids()
    with state.read() as store:
        tables = records(store.tables())
    tables = [t for t in tables if t["table"] not in ("users", "schema_version")]
    plan_id = str(ids["plan_id"].iloc[0]) if not ids.empty else None
    return _page(request, "downloads.html", plan_id=plan_id, tables=tables)


@router.get("/whatif", response_class=HTMLResponse)
def whatif_form(request: Request):
    return _whatif_page(request, {"fail": "", "sweep": "", "mode": "optimal"})


@router.post("/whatif", response_class=HTMLResponse)
def whatif_run(
    request: Request,
    fail: Annotated[str, Form()] = "",
    sweep: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = "optimal",
):
    from surgeplan.api.problems import ProblemError
    from surgeplan.api.routes_whatif import WhatIfRequest, run_whatif
    from surgeplan.errors import SurgeplanError

    user = _user(request)
    form = {"fail": fail, "sweep": sweep, "mode": mode}
    if user is None:
        return RedirectResponse("/login?next=/whatif", status_code=303)
    if not user.can("plan"):
        return _whatif_page(
            request, form, error=f"role {user.role!r} may not run what-ifs (needs 'plan')", status=403
        )
    specs = [s.strip() for s in fail.replace(",", "\n").splitlines() if s.strip()]
    try:
        body = WhatIfRequest(fail=specs or None, sweep=sweep or None, mode=mode)
        res = run_whatif(request.app.state.service, body)
    except (ProblemError, SurgeplanError, ValueError) as exc:
        return _whatif_page(request, form, error=str(getattr(exc, "detail", exc)), status=422)
    table = res.whatif.sort_values(["gos_ok", "unserved_load"], ascending=[True, False])
    return _whatif_page(
        request,
        form,
        rows=records(table.head(200)),
        n=len(res.whatif),
        breaking=int((~res.whatif["gos_ok"].astype(bool)).sum()),
        worst=records(res.worst.head(50)) if res.worst is not None else None,
    )


def _whatif_page(request: Request, form: dict, status: int = 200, **context) -> HTMLResponse:
    with request.app.state.service.read() as store:
        inv = store.inventory()
    sites = sorted(s for s in inv["site"].dropna().astype(str).unique() if s)
    groups = sorted(g for g in inv["group"].dropna().astype(str).unique() if g)
    return _page(
        request,
        "whatif.html",
        status,
        form=form,
        sites=sites,
        groups=groups,
        ids=list(inv["resource_id"].astype(str)),
        **context,
    )
