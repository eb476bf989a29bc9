"""The bundled FICTIONAL operator: size, kinds, service centres, transatlantic bundle, vital resources.

References: the issue's requirements and Orange's published figures (transatlantic 400 Gbps = 4 x 100G
before March 2020; five service centres in Egypt, India, Mauritius, Brazil and France).
"""

from __future__ import annotations

import re
from pathlib import Path

from surgeplan.kinds import INVENTORY_OPTIONAL, INVENTORY_REQUIRED, KINDS, PRIORITY_CLASSES
from surgeplan.simulate import REGION_TIMEZONES, bundled_inventory
from surgeplan.simulate.operator import bundled_inventory_path

ROOT = Path(__file__).resolve().parents[1]


def test_layout_and_size():
    inv = bundled_inventory()
    assert list(inv.columns) == list(INVENTORY_REQUIRED) + list(INVENTORY_OPTIONAL)
    header = bundled_inventory_path().read_text().splitlines()[0].split(",")
    assert header == list(INVENTORY_REQUIRED) + list(INVENTORY_OPTIONAL)
    assert len(inv) >= 500
    assert inv.resource_id.is_unique
    assert set(inv.kind) == set(KINDS)
    assert set(inv.priority_class) <= set(PRIORITY_CLASSES)
    assert inv.region.map(lambda r: bool(re.fullmatch(r"[A-Z]{3}", r))).all()
    assert inv.region.nunique() >= 30
    assert set(inv.region) <= set(REGION_TIMEZONES)  # every region has a local time zone
    for col in ("capacity", "module_size", "max_capacity", "lead_time_days", "module_cost"):
        assert (inv[col] > 0).all(), col
    assert (inv.max_capacity >= inv.capacity).all()
    assert inv.name.notna().all()


def test_module_sizes_and_lead_times_per_kind():
    inv = bundled_inventory()
    tg = inv[inv.kind == "trunk_group"]
    assert (tg.module_size == 30).all() and (tg.capacity % 30 == 0).all()  # E1 = 30 circuits
    assert tg.lead_time_days.between(7, 21).all()  # E1 on existing fibre: 7-21 days
    lk = inv[inv.kind == "link"]
    assert set(lk.module_size) <= {10, 100, 400}
    vpn = inv[inv.kind == "vpn_gateway"]
    assert vpn.lead_time_days.between(1, 3).all()  # licences: 1-3 days
    cc = inv[inv.kind == "contact_center"]
    assert (cc.lead_time_days == 14).all()  # hiring and training agents
    assert cc.aht_s.notna().all() and cc.patience_s.notna().all()
    rate_kinds = [k for k, v in KINDS.items() if v.load_unit.endswith("_per_hour")]  # aht_s scales their load
    assert inv[~inv.kind.isin(rate_kinds)].aht_s.isna().all()
    assert inv[inv.kind.isin(rate_kinds)].aht_s.notna().all()


def test_transatlantic_bundle_is_4_x_100g():
    inv = bundled_inventory()
    ta = inv[inv.group == "TRANSATLANTIC"]
    assert len(ta) == 4 and (ta.kind == "link").all()
    assert (ta.capacity == 100).all() and ta.capacity.sum() == 400
    assert ta.lead_time_days.between(30, 60).all()  # 100G transatlantic wave: 30-60 days


def test_five_service_centres_in_five_countries():
    inv = bundled_inventory()
    cc = inv[inv.kind == "contact_center"]
    assert cc.site.notna().all()
    sites = cc.site.unique()
    assert len(sites) == 5
    countries = {s.split("-")[0] for s in sites}
    assert countries == {"EGY", "IND", "MUS", "BRA", "FRA"}
    assert (cc.groupby("site").size() >= 5).all()


def test_vital_resources_present():
    inv = bundled_inventory()
    vital = inv[inv.priority_class == "vital"]
    assert len(vital) >= 20
    for kind in ("vpn_gateway", "contact_center", "trunk_group"):
        assert (vital.kind == kind).any(), kind
    names = " ".join(vital.name).lower()
    for word in ("hospital", "care", "emergency"):
        assert word in names
    # groups back each other up: most resources belong to a group with >= 2 members
    sizes = inv[inv.group != ""].groupby("group").size()
    assert (sizes >= 2).mean() > 0.8


def test_generator_is_reproducible():
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("build_operator", ROOT / "scripts" / "build_operator.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    text = mod.to_csv(mod.build())
    assert text == mod.to_csv(mod.build())  # seeded: the same twice
    readme = (bundled_inventory_path().parent / "README.md").read_text()
    built_with = re.search(r"built with numpy ([0-9.]+)", readme).group(1)
    if np.__version__ == built_with:  # numpy does not promise identical Generator streams across versions
        assert text == bundled_inventory_path().read_text()


def test_readme_labels_it_fictional():
    text = (bundled_inventory_path().parent / "README.md").read_text()
    assert "FICTIONAL" in text


def test_passes_the_store_validation_and_simulated_load_ingests(tmp_path):
    import warnings

    import pytest

    store_mod = pytest.importorskip("surgeplan.store")
    from surgeplan.simulate import simulate

    store = store_mod.Store(str(tmp_path / "op.duckdb"))
    rep = store.ingest_inventory(str(bundled_inventory_path()))
    assert rep.rows_read == rep.inserted == len(bundled_inventory())
    inv = bundled_inventory()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = simulate(inv, None, start="2020-03-02", end="2020-03-03", freq="1h", seed=0)
    assert store.ingest_measurements(m).inserted == len(inv) * 24
