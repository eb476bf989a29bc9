"""The REST API through FastAPI's TestClient: every endpoint x role, bad input, problem+json, exports.

Expected values come from the frames the store was built from (pandas), never from the service.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from service_fixtures import build_store, next_hour

from surgeplan.api import ServiceConfig, create_app
from surgeplan.store import Store

PROBLEM = "application/problem+json"
ROLES = ("read", "plan", "admin")


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    fx = build_store(tmp_path_factory.mktemp("api"))
    app = create_app(ServiceConfig(db=fx["db"], refit_every=None))
    with TestClient(app) as client:
        fx["client"] = client
        r = client.post(
            "/api/v1/plans",
            content=b"[plan]\nhorizon_days = 21\n",
            headers={**auth(fx, "plan"), "content-type": "application/toml"},
        )
        assert r.status_code == 201, r.text
        fx["plan"] = r.json()
        yield fx


def auth(fx, role):
    return {"Authorization": f"Bearer {fx['tokens'][role]}"}


def is_problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["title"] and body["type"] == "about:blank"
    return body


def count(fx, table):
    rows = fx["client"].get("/api/v1/tables", headers=auth(fx, "read")).json()
    return {t["table"]: t["rows"] for t in rows}[table]


# ---------------------------------------------------------------------------------------------- auth x role
RID = "TG-INTL-FRA-ITA-1"
# (method, path, request kwargs, least role); POST bodies are deliberately wrong so that a permitted
# call answers 4xx other than 401 / 403 without changing anything.
ENDPOINTS = [
    ("GET", "/api/v1/resources", {}, "read"),
    ("GET", f"/api/v1/measurements?resource_id={RID}", {}, "read"),
    ("GET", f"/api/v1/forecasts?resource_id={RID}", {}, "read"),
    ("GET", f"/api/v1/busy_hour?resource_id={RID}", {}, "read"),
    ("GET", "/api/v1/tables", {}, "read"),
    ("GET", "/api/v1/alerts", {}, "read"),
    ("GET", "/api/v1/plans", {}, "read"),
    ("GET", "/api/v1/plans/{plan}", {}, "read"),
    ("GET", "/api/v1/plans/{plan}/export?format=csv", {}, "read"),
    ("GET", "/api/v1/exports/resources?format=csv", {}, "read"),
    ("GET", "/api/v1/live", {}, "read"),
    ("GET", "/api/v1/grafana", {}, "read"),
    ("GET", f"/api/v1/grafana/timeseries?resource_id={RID}", {}, "read"),
    ("POST", "/api/v1/grafana/metrics", {"json": {}}, "read"),
    ("POST", "/api/v1/grafana/query", {"json": {"targets": []}}, "read"),
    (
        "POST",
        "/api/v1/measurements",
        {"files": {"file": ("m.csv", b"resource_id,ts,load\nNOPE,x,1\n")}},
        "plan",
    ),
    ("POST", "/api/v1/inventory", {"files": {"file": ("i.csv", b"resource_id\nX\n")}}, "plan"),
    ("POST", "/api/v1/indicators", {"files": {"file": ("d.csv", b"region,date\nFRA,x\n")}}, "plan"),
    (
        "POST",
        "/api/v1/plans",
        {"content": b"[plan\n", "headers": {"content-type": "application/toml"}},
        "plan",
    ),
    ("POST", "/api/v1/whatif", {"json": {}}, "plan"),
    ("GET", "/api/v1/users", {}, "admin"),
    ("POST", "/api/v1/users", {"json": {"name": "x", "role": "god"}}, "admin"),
    ("DELETE", "/api/v1/users/nobody", {}, "admin"),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "least"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS]
)
def test_every_endpoint_needs_a_token_and_the_right_role(svc, method, path, kwargs, least):
    client = svc["client"]
    path = path.replace("{plan}", svc["plan"]["id"])
    kwargs = dict(kwargs)
    headers = kwargs.pop("headers", {})
    body = is_problem(client.request(method, path, headers=headers, **kwargs), 401)
    assert body["instance"] == path.split("?")[0]
    is_problem(
        client.request(method, path, headers={**headers, "Authorization": "Bearer not-a-token"}, **kwargs),
        401,
    )
    is_problem(
        client.request(method, path, headers={**headers, "Authorization": "Basic dXNlcjpwdw=="}, **kwargs),
        401,
    )
    for role in ROLES:
        r = client.request(method, path, headers={**headers, **auth(svc, role)}, **kwargs)
        if ROLES.index(role) < ROLES.index(least):
            assert is_problem(r, 403)["detail"].startswith(f"role {role!r}")
        else:
            assert r.status_code not in (401, 403), (role, r.text)
            assert r.status_code < 500, r.text
            if r.status_code >= 400:
                is_problem(r, r.status_code)


def test_health_needs_no_token(svc):
    r = svc["client"].get("/api/v1/health")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["schema_version"] >= 3


def test_unknown_path_and_method_are_problems(svc):
    is_problem(svc["client"].get("/api/v1/nope", headers=auth(svc, "read")), 404)
    is_problem(svc["client"].put("/api/v1/tables", headers=auth(svc, "read")), 405)


# ---------------------------------------------------------------------------------------------- resources
def test_resources_keyset_pages_walk_the_whole_sorted_inventory(svc):
    client, seen, cursor = svc["client"], [], None
    for _ in range(20):
        r = client.get(
            "/api/v1/resources",
            params={"limit": 4, **({"cursor": cursor} if cursor else {})},
            headers=auth(svc, "read"),
        )
        assert r.status_code == 200
        page = r.json()
        assert len(page["items"]) <= 4
        seen += [i["resource_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(svc["inventory"]["resource_id"])


@pytest.mark.parametrize("column", ["kind", "region", "priority_class", "group"])
def test_resource_filters_match_pandas(svc, column):
    inv = svc["inventory"]
    value = inv[column].dropna().astype(str).replace("", pd.NA).dropna().iloc[0]
    r = svc["client"].get(
        "/api/v1/resources", params={column: value, "limit": 1000}, headers=auth(svc, "read")
    )
    assert sorted(i["resource_id"] for i in r.json()["items"]) == sorted(
        inv.loc[inv[column] == value, "resource_id"]
    )


def test_resources_bad_parameters_are_problems(svc):
    c, h = svc["client"], auth(svc, "read")
    assert "cursor" in is_problem(c.get("/api/v1/resources?cursor=%%%", headers=h), 400)["detail"]
    assert "limit" in is_problem(c.get("/api/v1/resources?limit=0", headers=h), 422)["detail"]
    assert "limit" in is_problem(c.get("/api/v1/resources?limit=abc", headers=h), 422)["detail"]
    unlimited = c.get("/api/v1/resources?kind=vpn_gateway", headers=h).json()["items"]
    assert all(i["max_capacity"] is None or i["max_capacity"] >= i["capacity"] for i in unlimited)


# ---------------------------------------------------------------------------------------------- reads
def test_measurements_by_resource_and_range(svc):
    m = svc["measurements"]
    start, end = "2020-03-01T00:00:00Z", "2020-03-02T06:00:00Z"
    r = svc["client"].get(
        "/api/v1/measurements",
        params={"resource_id": RID, "start": start, "end": end},
        headers=auth(svc, "read"),
    )
    got = pd.DataFrame(r.json()["items"])
    want = m.loc[(m["resource_id"] == RID) & (m["ts"] >= pd.Timestamp(start)) & (m["ts"] < pd.Timestamp(end))]
    assert len(got) == len(want) == 30
    assert got["load"].to_numpy() == pytest.approx(want["load"].to_numpy())
    assert got["ts"].iloc[0] == "2020-03-01T00:00:00Z"
    r = svc["client"].get(
        "/api/v1/measurements", params={"resource_id": RID, "limit": 5}, headers=auth(svc, "read")
    )
    assert len(r.json()["items"]) == 5 and r.json()["truncated"] is True
    is_problem(svc["client"].get("/api/v1/measurements", headers=auth(svc, "read")), 422)
    is_problem(
        svc["client"].get(
            "/api/v1/measurements",
            params={"resource_id": RID, "start": "yesterday"},
            headers=auth(svc, "read"),
        ),
        422,
    )


def test_forecast_rows_carry_their_origin_and_ordered_quantiles(svc):
    r = svc["client"].get(
        "/api/v1/forecasts", params={"resource_id": RID, "limit": 100000}, headers=auth(svc, "read")
    )
    items = r.json()["items"]
    assert len(items) == 21 * 24  # 21-day horizon, hourly
    assert {i["origin"] for i in items} == {"2020-03-16T00:00:00Z"}
    assert items[0]["ts"] == "2020-03-16T00:00:00Z"
    assert all(i["p50"] <= i["p90"] <= i["p99"] for i in items)


def test_busy_hour_measured_is_the_hour_with_the_highest_load(svc):
    r = svc["client"].get(
        "/api/v1/busy_hour",
        params={"resource_id": RID, "source": "measured", "start": "2020-03-02", "end": "2020-03-03"},
        headers=auth(svc, "read"),
    )
    (row,) = r.json()["items"]
    m = svc["measurements"]
    day = m.loc[
        (m["resource_id"] == RID)
        & (m["ts"] >= pd.Timestamp("2020-03-02", tz="UTC"))
        & (m["ts"] < pd.Timestamp("2020-03-03", tz="UTC"))
    ]
    peak = day.loc[day["load"].idxmax()]
    assert row["busy_hour"] == peak["ts"].isoformat().replace("+00:00", "Z")
    assert row["load"] == pytest.approx(peak["load"])
    fc = (
        svc["client"]
        .get("/api/v1/busy_hour", params={"resource_id": RID}, headers=auth(svc, "read"))
        .json()["items"]
    )
    assert len(fc) == 21 and all(f["origin"] == "2020-03-16T00:00:00Z" for f in fc)


def test_tables_count_rows(svc):
    assert count(svc, "measurements") >= len(svc["measurements"])
    assert count(svc, "resources") == len(svc["inventory"])


# ---------------------------------------------------------------------------------------------- ingest
def test_ingest_error_names_row_and_column_and_leaves_the_store_unchanged(svc):
    c, h = svc["client"], auth(svc, "plan")
    before = c.get("/api/v1/tables", headers=h).json()
    good = next_hour(svc, "2020-03-20 00:00")
    bad = good.copy()
    bad.loc[2, "load"] = -5.0  # data row 3
    body = is_problem(
        c.post(
            "/api/v1/measurements", files={"file": ("feed.csv", bad.to_csv(index=False).encode())}, headers=h
        ),
        422,
    )
    assert (body["file"], body["row"], body["column"]) == ("feed.csv", 3, "load")
    assert "feed.csv" in body["detail"] and "row 3" in body["detail"] and "/tmp" not in body["detail"]
    bad = good.copy()
    bad.loc[4, "resource_id"] = "NO-SUCH-RESOURCE"
    body = is_problem(
        c.post(
            "/api/v1/measurements", files={"file": ("feed.csv", bad.to_csv(index=False).encode())}, headers=h
        ),
        422,
    )
    assert (body["row"], body["column"]) == (5, "resource_id")
    inv = svc["inventory"].head(2).copy()
    inv.loc[1, "kind"] = "router"
    body = is_problem(
        c.post("/api/v1/inventory", files={"file": ("inv.csv", inv.to_csv(index=False).encode())}, headers=h),
        422,
    )
    assert (body["row"], body["column"]) == (2, "kind")
    assert c.get("/api/v1/tables", headers=h).json() == before


def test_ingest_parquet_and_csv_land_whole_and_report(svc):
    c, h = svc["client"], auth(svc, "plan")
    before = count(svc, "measurements")
    new = next_hour(svc, "2020-03-16 01:00")
    buf = io.BytesIO()
    new.assign(ts=pd.to_datetime(new["ts"], utc=True)).to_parquet(buf, index=False)
    r = c.post("/api/v1/measurements", files={"file": ("hour.bin", buf.getvalue())}, headers=h)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert (rep["rows_read"], rep["inserted"], rep["source"]) == (len(new), len(new), "hour.bin")
    assert count(svc, "measurements") == before + len(new)
    # the same rows again: nothing written
    r = c.post(
        "/api/v1/measurements", files={"file": ("again.csv", new.to_csv(index=False).encode())}, headers=h
    )
    assert r.json()["unchanged"] == len(new) and r.json()["inserted"] == 0


def test_no_file_path_is_taken_from_a_request(svc):
    c, h = svc["client"], auth(svc, "plan")
    # a client-given name is a label only, never opened
    r = c.post("/api/v1/measurements", files={"file": ("/etc/passwd", b"resource_id,ts,load\n")}, headers=h)
    assert r.status_code in (200, 422) and "root:" not in r.text
    body = is_problem(
        c.post(
            "/api/v1/plans",
            content=b'[plan]\noutput_dir = "/tmp/x"\n',
            headers={**h, "content-type": "application/toml"},
        ),
        400,
    )
    assert "output_dir" in body["detail"]
    is_problem(c.get("/api/v1/exports/..%2F..%2Fetc%2Fpasswd", headers=h), 404)


# ---------------------------------------------------------------------------------------------- plans
def test_plan_document_has_its_parts_and_is_stored(svc):
    plan = svc["plan"]
    assert set(plan) >= {"id", "summary", "actions", "alerts", "late", "temporary", "origin"}
    assert plan["summary"]["asof"] == "2020-03-16" and plan["summary"]["actions"] == len(plan["actions"])
    assert len(plan["alerts"]) == 3 * plan["summary"]["resources"]  # one row per resource and quantile
    got = svc["client"].get(f"/api/v1/plans/{plan['id']}", headers=auth(svc, "read")).json()
    assert got["actions"] == plan["actions"] and got["late"] == plan["late"]
    ids = [p["id"] for p in svc["client"].get("/api/v1/plans", headers=auth(svc, "read")).json()["items"]]
    assert plan["id"] in ids
    is_problem(
        svc["client"].get("/api/v1/plans/0123456789abcdef0123456789abcdef", headers=auth(svc, "read")), 404
    )
    is_problem(svc["client"].get("/api/v1/plans/x' OR 1=1 --", headers=auth(svc, "read")), 404)


def test_plan_input_errors(svc):
    c, h = svc["client"], auth(svc, "plan")
    assert (
        "TOML"
        in is_problem(
            c.post("/api/v1/plans", content=b"[plan\n", headers={**h, "content-type": "application/toml"}),
            400,
        )["detail"]
    )
    assert (
        "horizon_dayz"
        in is_problem(c.post("/api/v1/plans", json={"plan": {"horizon_dayz": 3}}, headers=h), 400)["detail"]
    )
    assert (
        "quantile"
        in is_problem(c.post("/api/v1/plans", json={"plan": {"quantile": "p150"}}, headers=h), 400)["detail"]
    )
    is_problem(
        c.post("/api/v1/plans", content=b"<xml/>", headers={**h, "content-type": "application/xml"}), 415
    )
    is_problem(c.post("/api/v1/plans?asof=2020-13-45", json={}, headers=h), 422)
    is_problem(c.post("/api/v1/plans?asof=4660-10-10", json={}, headers=h), 422)  # found by schemathesis
    assert "before" in is_problem(c.post("/api/v1/plans?asof=1999-01-01", json={}, headers=h), 400)["detail"]


def test_alerts_most_urgent_first_with_filters(svc):
    items = svc["client"].get("/api/v1/alerts", headers=auth(svc, "read")).json()["items"]
    rank = {"critical": 0, "high": 1, "watch": 2}
    assert items and [rank[i["urgency"]] for i in items] == sorted(rank[i["urgency"]] for i in items)
    assert all(i["status"] != "ok" for i in items)
    for i in items:
        assert i["urgency"] == (
            "critical"
            if i["status"].startswith("too late")
            else "high"
            if i["status"] == "order now"
            else "watch"
        )
    p99 = svc["client"].get("/api/v1/alerts?quantile=p99", headers=auth(svc, "read")).json()["items"]
    assert p99 and {i["quantile"] for i in p99} == {"p99"}


# ---------------------------------------------------------------------------------------------- what-if
LINKS = ["LK-PAR-LYO-1", "LK-PAR-LYO-2", "LK-PAR-LYO-3", "LK-PAR-LYO-4"]  # one group, 100 Gbps each


def test_whatif_hashing_spreads_a_lost_link_by_capacity(svc):
    # 30 Gbps on each of four 100G links; LK-PAR-LYO-1 fails: its 30 Gbps spread over the three
    # survivors in proportion to capacity (equal): 30 + 10 = 40 Gbps each, utilization 0.40.
    body = {"fail": [LINKS[0]], "mode": "hashing", "load": [{"resource_id": r, "load": 30.0} for r in LINKS]}
    r = svc["client"].post("/api/v1/whatif", json=body, headers=auth(svc, "plan"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["scenarios"] == 1 and out["worst"] is None
    rows = {w["resource_id"]: w for w in out["whatif"] if w["resource_id"] in LINKS}
    assert rows[LINKS[0]]["capacity"] == 0 and rows[LINKS[0]]["carried_load"] == 0
    for rid in LINKS[1:]:
        assert rows[rid]["carried_load"] == pytest.approx(40.0)
        assert rows[rid]["utilization"] == pytest.approx(0.40)
        assert rows[rid]["gos_ok"] is True
    for w in out["whatif"]:
        assert w["carried_load"] + w["unserved_load"] == pytest.approx(w["offered_load"], abs=1e-6)
    assert sum(rows[r]["offered_load"] for r in LINKS) == pytest.approx(120.0, abs=1e-6)


def test_whatif_sweep_uses_the_latest_forecast_and_returns_worst(svc):
    r = svc["client"].post("/api/v1/whatif", json={"sweep": "n-1"}, headers=auth(svc, "plan"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["scenarios"] >= 10 and out["worst"]
    assert {"resource_id", "worst_scenario", "worst_gos_value", "gos_metric", "scenarios_breaking"} <= set(
        out["worst"][0]
    )


def test_whatif_bad_input_is_named(svc):
    c, h = svc["client"], auth(svc, "plan")
    body = is_problem(
        c.post(
            "/api/v1/whatif",
            json={
                "fail": [LINKS[0]],
                "load": [{"resource_id": LINKS[0], "load": 1.0}, {"resource_id": "NOPE", "load": 1.0}],
            },
            headers=h,
        ),
        422,
    )
    assert (body["row"], body["column"]) == (2, "resource_id")
    assert (
        "load"
        in is_problem(
            c.post(
                "/api/v1/whatif",
                json={"fail": [LINKS[0]], "load": [{"resource_id": LINKS[0], "load": -1.0}]},
                headers=h,
            ),
            422,
        )["detail"]
    )
    assert (
        "site:NOWHERE"
        in is_problem(c.post("/api/v1/whatif", json={"fail": ["site:NOWHERE"]}, headers=h), 400)["detail"]
    )
    is_problem(c.post("/api/v1/whatif", json={"fail": [LINKS[0]], "sweep": "n-1"}, headers=h), 422)
    is_problem(c.post("/api/v1/whatif", json={"sweep": "n-2"}, headers=h), 422)


# ---------------------------------------------------------------------------------------------- exports
@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_table_exports_read_back(svc, fmt):
    r = svc["client"].get(f"/api/v1/exports/resources?format={fmt}", headers=auth(svc, "read"))
    assert r.status_code == 200
    reader = {"csv": pd.read_csv, "parquet": pd.read_parquet, "xlsx": pd.read_excel}[fmt]
    back = reader(io.BytesIO(r.content))
    assert sorted(back["resource_id"]) == sorted(svc["inventory"]["resource_id"])
    is_problem(svc["client"].get(f"/api/v1/exports/users?format={fmt}", headers=auth(svc, "admin")), 404)
    is_problem(svc["client"].get("/api/v1/exports/resources?format=pdf", headers=auth(svc, "read")), 422)


def test_plan_exports(svc):
    pid = svc["plan"]["id"]
    r = svc["client"].get(f"/api/v1/plans/{pid}/export?format=xlsx", headers=auth(svc, "read"))
    sheets = pd.read_excel(io.BytesIO(r.content), sheet_name=None)
    assert set(sheets) == {"summary", "actions", "alerts", "late", "temporary"}
    assert len(sheets["actions"]) == svc["plan"]["summary"]["actions"]
    r = svc["client"].get(f"/api/v1/plans/{pid}/export?format=parquet&part=alerts", headers=auth(svc, "read"))
    assert len(pd.read_parquet(io.BytesIO(r.content))) == len(svc["plan"]["alerts"])


# ---------------------------------------------------------------------------------------------- grafana
def test_grafana_series_are_the_measurements_and_capacity(svc):
    c, h = svc["client"], auth(svc, "read")
    rows = c.get(
        "/api/v1/grafana/timeseries",
        params={"resource_id": RID, "start": "2020-03-10", "end": "2020-03-11"},
        headers=h,
    ).json()
    m = svc["measurements"]
    want = m.loc[
        (m["resource_id"] == RID)
        & (m["ts"] >= pd.Timestamp("2020-03-10", tz="UTC"))
        & (m["ts"] < pd.Timestamp("2020-03-11", tz="UTC"))
    ]
    assert [r["time"] for r in rows] == list(want["ts"].astype("int64") // 10**6)
    assert [r["load"] for r in rows] == pytest.approx(list(want["load"]))
    cap = float(svc["inventory"].set_index("resource_id").loc[RID, "capacity"])
    assert {r["capacity"] for r in rows} == {cap}
    q = c.post(
        "/api/v1/grafana/query",
        json={
            "range": {"from": "2020-03-10T00:00:00Z", "to": "2020-03-11T00:00:00Z"},
            "targets": [{"target": f"{RID}:load"}, {"target": f"{RID}:p90"}],
        },
        headers=h,
    ).json()
    assert [p[0] for p in q[0]["datapoints"]] == pytest.approx(list(want["load"]))
    assert q[1]["datapoints"] == []  # the forecast starts on 16 March
    assert any(
        x["value"] == f"{RID}:capacity"
        for x in c.post("/api/v1/grafana/metrics", json={"metric": "FRA-ITA"}, headers=h).json()
    )
    is_problem(c.post("/api/v1/grafana/query", json={"targets": [{"target": "nocolon"}]}, headers=h), 422)
    is_problem(c.get("/api/v1/grafana/timeseries", params={"resource_id": "NOPE"}, headers=h), 404)


# ---------------------------------------------------------------------------------------------- users
def test_admin_manages_users_and_revoked_tokens_stop_working(svc):
    c, h = svc["client"], auth(svc, "admin")
    r = c.post("/api/v1/users", json={"name": "noc-grafana", "role": "read"}, headers=h)
    assert r.status_code == 201
    token = r.json()["token"]
    assert c.get("/api/v1/tables", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = c.get("/api/v1/users", headers=h).json()
    assert {"name": "noc-grafana", "role": "read"}.items() <= next(
        u for u in listed if u["name"] == "noc-grafana"
    ).items()
    assert all("token" not in u and "token_sha256" not in u for u in listed)
    assert c.delete("/api/v1/users/noc-grafana", headers=h).status_code == 204
    is_problem(c.get("/api/v1/tables", headers={"Authorization": f"Bearer {token}"}), 401)
    is_problem(c.delete("/api/v1/users/noc-grafana", headers=h), 404)
    is_problem(c.post("/api/v1/users", json={"name": "../x", "role": "read"}, headers=h), 422)


def test_tokens_are_stored_hashed(svc):
    raw = svc["db"].read_bytes()
    for token in svc["tokens"].values():
        assert token.encode() not in raw


# ---------------------------------------------------------------------------------------------- upload limit
def test_upload_over_the_limit_is_413(tmp_path):
    from surgeplan.store.users import add_user

    db = tmp_path / "small.duckdb"
    with Store(db) as store:
        token = add_user(store, "p", "plan")
    app = create_app(ServiceConfig(db=db, max_upload_mb=0.01, live=False))  # 10 KiB
    with TestClient(app) as c:
        h = {"Authorization": f"Bearer {token}"}
        big = b"resource_id,ts,load\n" + b"X,2020-03-16T00:00:00Z,1\n" * 1000  # 25 KB
        body = is_problem(c.post("/api/v1/measurements", files={"file": ("big.csv", big)}, headers=h), 413)
        assert "0.01 MiB" in body["detail"]
        # a small one passes the limit (and fails validation: X is not in the inventory)
        is_problem(c.post("/api/v1/measurements", files={"file": ("s.csv", big[:200])}, headers=h), 422)


# ---------------------------------------------------------------------------------------------- live
def test_an_upload_is_folded_in_and_replanned_live(svc):
    c = svc["client"]
    v0 = c.get("/api/v1/alerts", headers=auth(svc, "read")).json()["version"]
    new = next_hour(svc, "2020-03-16 02:00", factor=3.0)
    assert (
        c.post(
            "/api/v1/measurements",
            files={"file": ("h.csv", new.to_csv(index=False).encode())},
            headers=auth(svc, "plan"),
        ).status_code
        == 200
    )
    for _ in range(150):
        st = c.get("/api/v1/live", headers=auth(svc, "read")).json()
        if st["idle"] and st["alerts_version"] > v0:
            break
        time.sleep(0.1)
    assert st["fitted"] and st["updates"] >= 1 and st["alerts_version"] > v0 and st["last_error"] is None
    assert st["last_arrival"].startswith("2020-03-16T02:00")


def test_events_stream_sends_an_arrival(svc):
    import threading

    c = svc["client"]
    new = next_hour(svc, "2020-03-16 03:00")

    def upload():
        time.sleep(0.5)
        c.post(
            "/api/v1/measurements",
            files={"file": ("e.csv", new.to_csv(index=False).encode())},
            headers=auth(svc, "plan"),
        )

    is_problem(c.get("/api/v1/events"), 401)
    t = threading.Thread(target=upload)
    t.start()
    with c.stream("GET", "/api/v1/events?limit=1", headers=auth(svc, "read")) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = list(r.iter_lines())
    t.join()
    assert "event: measurements" in lines
    data = next(line for line in lines if line.startswith("data: "))
    assert f'"rows":{len(new)}' in data.replace(" ", "")


# ---------------------------------------------------------------------------------------------- dashboard
def test_pages_need_a_session_and_login_sets_an_httponly_cookie(svc):
    c = svc["client"]
    c.cookies.clear()
    r = c.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = c.post("/login", data={"token": "wrong"}, headers={"accept": "text/html"})
    assert r.status_code == 401 and "not valid" in r.text
    is_problem(c.post("/login", data={"token": "wrong"}), 401)
    r = c.post("/login", data={"token": svc["tokens"]["read"]}, follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert (
        "httponly" in cookie and "samesite=strict" in cookie and svc["tokens"]["read"].lower() not in cookie
    )
    for page in ("/", f"/resources/{RID}", "/timeline", "/downloads", "/whatif"):
        r = c.get(page)
        assert r.status_code == 200 and "<html" in r.text, page
    assert RID in c.get(f"/resources/{RID}").text and "<svg" in c.get(f"/resources/{RID}").text
    assert c.get("/resources/NOPE").status_code == 404
    c.get("/logout")
    assert c.get("/", follow_redirects=False).status_code == 303
    c.cookies.clear()


# ---------------------------------------------------------------------------------------------- openapi
def test_openapi_31_documents_security_problems_and_examples(svc):
    doc = svc["client"].get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "Problem" in doc["components"]["schemas"]
    ops = [(p, m, op) for p, item in doc["paths"].items() for m, op in item.items()]
    for path, method, op in ops:
        if path == "/api/v1/health":
            assert "security" not in op
            continue
        assert op.get("security"), (path, method)
        assert "application/problem+json" in op["responses"]["401"]["content"], (path, method)
    assert any("example" in str(op) for _, _, op in ops)
    for path in (
        "/api/v1/resources",
        "/api/v1/measurements",
        "/api/v1/inventory",
        "/api/v1/indicators",
        "/api/v1/forecasts",
        "/api/v1/busy_hour",
        "/api/v1/plans",
        "/api/v1/plans/{plan_id}",
        "/api/v1/alerts",
        "/api/v1/tables",
        "/api/v1/health",
    ):
        assert path in doc["paths"], path


# ---------------------------------------------------------------------------------------------- single writer
def test_cli_write_against_a_held_store_is_one_clear_line_and_exit_2(tmp_path, capsys):
    db = tmp_path / "held.duckdb"
    Store(db).close()
    code = f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('held', flush=True); time.sleep(60)"
    holder = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        from surgeplan.cli import main

        with pytest.raises(SystemExit) as exit_:
            main(["users", "add", "x", "--role", "read", "--db", str(db)])
        assert exit_.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "held by another process" in err[0] and "surgeplan serve" in err[0]
    finally:
        holder.kill()
        holder.wait()


def test_watched_folder_and_refit_schedule(tmp_path):
    """A bad file lands in failed/ with its error beside it; a good one is taken; refits run on schedule."""
    fx = build_store(tmp_path, max_resources=4)
    watch = tmp_path / "incoming"
    watch.mkdir()
    cfg = ServiceConfig(db=fx["db"], watch=watch, poll_s=0.05, refit_every=pd.Timedelta(seconds=1))
    with TestClient(create_app(cfg)) as c:
        h = auth(fx, "read")
        bad = next_hour(fx, "2020-03-16 00:00").astype({"load": object})
        bad.loc[1, "load"] = "lots"
        bad.to_csv(watch / "bad.csv", index=False)
        next_hour(fx, "2020-03-16 00:00").to_csv(watch / "good.csv", index=False)
        for _ in range(300):
            st = c.get("/api/v1/live", headers=h).json()
            if st["refits"] >= 1 and st["files"] >= 1 and st["failed_files"] >= 1 and st["idle"]:
                break
            time.sleep(0.1)
    assert st["fitted"] and st["refits"] >= 1 and (st["files"], st["failed_files"]) == (1, 1)
    error = (watch / "failed" / "bad.csv.error.txt").read_text()
    assert "row 2" in error and "'load'" in error
    assert (watch / "processed" / "good.csv").exists() and not (watch / "bad.csv").exists()
    with Store(fx["db"], read_only=True) as store:
        assert len(store.measurements(start="2020-03-16")) == len(fx["inventory"])
