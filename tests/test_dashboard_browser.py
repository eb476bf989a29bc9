"""The dashboard in a real browser: Playwright driving Debian's Chromium against `surgeplan serve`.

Log in (input ``token``), the overview, follow an alert to its resource page, the plan timeline,
download the plan, see a new measurement arrive live (a file dropped in the watched folder), and the
overview on a phone-sized screen. Screenshots go to ``$SURGEPLAN_SCREENSHOTS`` (``docs/`` when
refreshing the README's pictures) or a temporary folder.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from service_fixtures import build_store, next_hour

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    fx = build_store(folder)
    watch = folder / "incoming"
    watch.mkdir()
    port = free_port()
    code = "import sys; from surgeplan.cli import main; main(sys.argv[1:])"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "serve",
            "--db",
            str(fx["db"]),
            "--port",
            str(port),
            "--watch",
            str(watch),
            "--poll",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        plan = httpx.post(
            f"{base}/api/v1/plans",
            content=b"[plan]\nhorizon_days = 21\n",
            timeout=120,
            headers={"Authorization": f"Bearer {fx['tokens']['plan']}", "content-type": "application/toml"},
        )
        assert plan.status_code == 201, plan.text
        yield {**fx, "base": base, "watch": watch, "plan": plan.json()}
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("SURGEPLAN_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def page(server, browser, shots):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    pg = context.new_page()
    outside = []
    pg.on("request", lambda req: None if req.url.startswith(server["base"]) else outside.append(req.url))
    pg.goto(f"{server['base']}/")  # redirected to the login form
    assert "/login" in pg.url
    pg.screenshot(path=shots / "dashboard-login.png")
    pg.fill("input[name=token]", server["tokens"]["plan"])  # plan: may also run what-ifs
    pg.click("button[type=submit]")
    pg.wait_for_url(f"{server['base']}/")
    yield pg
    assert outside == [], "the dashboard must not load anything from elsewhere"
    context.close()


def test_login_and_overview(page, server, shots):
    assert page.locator("h1").inner_text() == "Overview"
    crit = int(page.locator("#count-critical").inner_text())
    alerts = httpx.get(
        f"{server['base']}/api/v1/alerts?quantile=p90",
        headers={"Authorization": f"Bearer {server['tokens']['read']}"},
    ).json()["items"]
    assert crit == sum(a["urgency"] == "critical" for a in alerts) > 0
    assert page.locator("text=Vital customers at risk").is_visible()
    assert page.locator("text=Most stressed resources").is_visible()
    page.wait_for_function("document.getElementById('live-dot').classList.contains('on')", timeout=10_000)
    page.screenshot(path=shots / "dashboard-overview.png")


def test_follow_an_alert_to_its_resource_page(page, server, shots):
    page.goto(f"{server['base']}/")
    link = page.locator("#list-critical a.alert-link").first
    rid = link.inner_text()
    link.click()
    page.wait_for_url(f"**/resources/{rid}")
    assert page.locator("#resource-title").inner_text() == rid
    assert page.locator("svg.chart polyline").count() >= 2  # measured load and forecast mean
    assert page.locator("svg.chart polygon").count() >= 1  # forecast band
    assert "too late" in page.locator("#resource-alerts").inner_text()
    page.screenshot(path=shots / "dashboard-resource.png", full_page=True)


def test_plan_timeline_and_download(page, server, shots, tmp_path):
    page.goto(f"{server['base']}/timeline")
    assert "Orders by order-by date" in page.content()
    page.screenshot(path=shots / "dashboard-timeline.png")
    page.goto(f"{server['base']}/downloads")
    page.screenshot(path=shots / "dashboard-downloads.png")
    with page.expect_download() as info:
        page.click("#download-plan")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    sheets = pd.read_excel(path, sheet_name=None)
    assert set(sheets) == {"summary", "actions", "alerts", "late", "temporary"}
    assert len(sheets["actions"]) == server["plan"]["summary"]["actions"]


def test_run_a_what_if(page, server, shots):
    page.goto(f"{server['base']}/")
    page.click("text=What-if")
    page.wait_for_url("**/whatif")
    page.fill("#fail", "LK-PAR-LYO-1")
    page.select_option("#mode", "hashing")
    page.click("#whatif-form button[type=submit]")
    page.wait_for_selector("#whatif-result", timeout=30_000)
    heading = page.locator("#whatif-result h2").first.inner_text()
    assert "rows break their grade of service" in heading
    table = page.locator("#whatif-result table").first.inner_text()
    assert "LK-PAR-LYO-2" in table and "LK-PAR-LYO-1" in table
    page.screenshot(path=shots / "dashboard-whatif.png")
    page.fill("#fail", "site:NOWHERE")
    page.click("#whatif-form button[type=submit]")
    assert "NOWHERE" in page.locator("#whatif-error").inner_text()


def test_a_new_measurement_arrives_live(page, server, shots):
    page.goto(f"{server['base']}/")
    page.wait_for_function("document.getElementById('live-dot').classList.contains('on')", timeout=10_000)
    new = next_hour(server, "2020-03-16 00:00", factor=1.5)
    tmp = server["watch"] / ".arrival.csv.part"
    new.to_csv(tmp, index=False)
    tmp.rename(server["watch"] / "arrival-0000.csv")  # writers land files by rename
    page.wait_for_selector("#live-feed li.measurement", timeout=30_000)
    feed = page.locator("#live-feed").inner_text()
    assert "2020-03-16 00:00:00" in feed and any(r in feed for r in new["resource_id"])
    assert "2020-03-16T00:00:00" in page.locator("#live-status").inner_text()
    page.screenshot(path=shots / "dashboard-live.png")
    assert (server["watch"] / "processed" / "arrival-0000.csv").exists()


def test_overview_reads_on_a_phone(browser, server, shots):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True
    )
    pg = context.new_page()
    pg.goto(f"{server['base']}/login")
    pg.fill("input[name=token]", server["tokens"]["read"])
    pg.click("button[type=submit]")
    pg.wait_for_url(f"{server['base']}/")
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # no sideways scrolling
    pg.screenshot(path=shots / "dashboard-phone.png")
    context.close()
