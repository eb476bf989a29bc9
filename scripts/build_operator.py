#!/usr/bin/env python
"""Build the bundled FICTIONAL operator inventory: ``src/surgeplan/data/operator/inventory.csv``.

Reproducible: a fixed seed, no input files, no network. Run from the repository root::

    .venv/bin/python scripts/build_operator.py            # writes the CSV
    .venv/bin/python scripts/build_operator.py --check    # fails if the committed CSV differs

Everything here is invented but sized like a large international operator in early 2020:

* international voice interconnect trunk groups to ~35 countries (2-3 carriers each, E1 = 30 circuits);
* mobile and fixed voice switch routes in 9 countries with a domestic network (incl. emergency routes);
* backbone links in N+1 groups of parallel 10G / 100G links, and the transatlantic bundle of
  4 x 100G = 400 Gbps as before March 2020 (Orange 2020 annual report: 400 -> 600 Gbps);
* remote-access VPN gateways (primary + backup) for enterprise and public customers, the vital ones
  being hospitals, care homes, emergency and public services;
* audio / web / video conference bridges;
* contact-centre queues at five service centres in Egypt, India, Mauritius, Brazil and France
  (Orange Business Services' five large service centres, 2020 annual report);
* a few ``generic`` resources (SMS centres), forecast only;
* customer-relation chains of two enterprise customers (a French hospital group, vital, and a Spanish
  insurer): contact number -> IVR -> agent queue at a service centre -> callback message queue, and
  chatbot -> chat queue, linked by ``feeds`` (issue 17); every queue carries its ``language``.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from surgeplan.kinds import INVENTORY_OPTIONAL, INVENTORY_REQUIRED  # noqa: E402

OUT = ROOT / "src" / "surgeplan" / "data" / "operator" / "inventory.csv"
SEED = 20200317  # the French lockdown day

HOME = "FRA"
# international partners: (alpha-3, traffic weight ~ E1 count of the main route)
PARTNERS = {
    "GBR": 24,
    "ITA": 22,
    "ESP": 24,
    "DEU": 20,
    "BEL": 20,
    "NLD": 12,
    "CHE": 14,
    "POL": 12,
    "SWE": 6,
    "PRT": 16,
    "IRL": 6,
    "ROU": 12,
    "USA": 26,
    "CAN": 10,
    "BRA": 8,
    "MEX": 5,
    "ARG": 4,
    "ZAF": 5,
    "EGY": 10,
    "NGA": 6,
    "MAR": 26,
    "DZA": 12,
    "TUN": 14,
    "SAU": 6,
    "ARE": 6,
    "ISR": 6,
    "TUR": 10,
    "IND": 10,
    "CHN": 12,
    "JPN": 6,
    "KOR": 4,
    "SGP": 5,
    "AUS": 4,
    "QAT": 5,
    "GHA": 8,
    "KEN": 6,
}
# countries with a domestic network: cities for switch routes
DOMESTIC = {
    "FRA": [
        "Paris",
        "Lyon",
        "Marseille",
        "Lille",
        "Toulouse",
        "Bordeaux",
        "Nantes",
        "Strasbourg",
        "Rennes",
        "Nice",
        "Montpellier",
        "Rouen",
    ],
    "BEL": ["Brussels", "Antwerp", "Liege", "Ghent"],
    "ESP": ["Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao"],
    "POL": ["Warsaw", "Krakow", "Gdansk", "Wroclaw"],
    "ROU": ["Bucharest", "Cluj", "Timisoara"],
    "MAR": ["Casablanca", "Rabat", "Marrakech"],
    "EGY": ["Cairo", "Alexandria", "Giza"],
    "GHA": ["Accra", "Kumasi"],
    "KEN": ["Nairobi", "Mombasa"],
}
# backbone: (A city, A region, B city, B region, members, Gbps per member)
BACKBONE = [
    ("Paris", "FRA", "Lyon", "FRA", 4, 100),
    ("Paris", "FRA", "Lille", "FRA", 3, 100),
    ("Paris", "FRA", "Bordeaux", "FRA", 3, 100),
    ("Paris", "FRA", "Rennes", "FRA", 3, 100),
    ("Paris", "FRA", "Strasbourg", "FRA", 3, 100),
    ("Lyon", "FRA", "Marseille", "FRA", 4, 100),
    ("Marseille", "FRA", "Toulouse", "FRA", 2, 100),
    ("Toulouse", "FRA", "Bordeaux", "FRA", 2, 100),
    ("Nantes", "FRA", "Rennes", "FRA", 3, 10),
    ("Nice", "FRA", "Marseille", "FRA", 3, 10),
    ("Montpellier", "FRA", "Marseille", "FRA", 3, 10),
    ("Rouen", "FRA", "Paris", "FRA", 4, 10),
    ("Paris", "FRA", "London", "GBR", 4, 100),
    ("Paris", "FRA", "Frankfurt", "DEU", 4, 100),
    ("Paris", "FRA", "Brussels", "BEL", 3, 100),
    ("Paris", "FRA", "Amsterdam", "NLD", 3, 100),
    ("Lyon", "FRA", "Milan", "ITA", 3, 100),
    ("Lyon", "FRA", "Geneva", "CHE", 2, 100),
    ("Marseille", "FRA", "Barcelona", "ESP", 3, 100),
    ("Bordeaux", "FRA", "Madrid", "ESP", 2, 100),
    ("Madrid", "ESP", "Lisbon", "PRT", 3, 10),
    ("Madrid", "ESP", "Barcelona", "ESP", 3, 100),
    ("Madrid", "ESP", "Valencia", "ESP", 3, 10),
    ("Brussels", "BEL", "Antwerp", "BEL", 3, 10),
    ("Brussels", "BEL", "Liege", "BEL", 2, 10),
    ("Frankfurt", "DEU", "Warsaw", "POL", 2, 100),
    ("Warsaw", "POL", "Krakow", "POL", 3, 10),
    ("Frankfurt", "DEU", "Bucharest", "ROU", 2, 10),
    ("Bucharest", "ROU", "Cluj", "ROU", 3, 10),
    ("Marseille", "FRA", "Casablanca", "MAR", 3, 10),
    ("Casablanca", "MAR", "Rabat", "MAR", 3, 10),
    ("Marseille", "FRA", "Alexandria", "EGY", 2, 100),
    ("Alexandria", "EGY", "Cairo", "EGY", 3, 10),
    ("Marseille", "FRA", "Accra", "GHA", 2, 10),
    ("Accra", "GHA", "Kumasi", "GHA", 2, 10),
    ("Marseille", "FRA", "Singapore", "SGP", 2, 100),
    ("Marseille", "FRA", "Mumbai", "IND", 2, 100),
    ("London", "GBR", "Dublin", "IRL", 2, 10),
    ("Frankfurt", "DEU", "Stockholm", "SWE", 2, 10),
    ("Lisbon", "PRT", "Sao Paulo", "BRA", 2, 100),
]
SECTORS_VITAL = [
    ("HOSP", "Hospital group"),
    ("CARE", "Care homes network"),
    ("EMS", "Emergency medical service"),
    ("FIRE", "Fire and rescue service"),
    ("POL", "Police"),
    ("GOV", "Ministry"),
    ("CITY", "City council"),
]
SECTORS_STD = [
    ("BANK", "Bank"),
    ("INS", "Insurer"),
    ("AUTO", "Car maker"),
    ("RET", "Retailer"),
    ("ENG", "Engineering firm"),
    ("PHAR", "Pharmaceutical group"),
    ("LOG", "Logistics company"),
    ("MEDIA", "Media group"),
    ("LAW", "Law firm"),
    ("AIR", "Airline"),
    ("IT", "IT services firm"),
    ("ENER", "Energy utility"),
]
VPN_REGIONS = (
    ["FRA"] * 18
    + ["BEL"] * 4
    + ["ESP"] * 5
    + ["POL"] * 3
    + ["ROU"] * 2
    + ["GBR"] * 5
    + ["DEU"] * 5
    + ["ITA"] * 4
    + ["NLD"] * 2
    + ["CHE"] * 2
    + ["MAR"] * 2
    + ["EGY"] * 2
    + ["USA"] * 4
    + ["IND"] * 2
    + ["SGP"] * 1
    + ["BRA"] * 2
    + ["KEN"] * 1
)
# five service centres: (site code, city, country)
CENTRES = [
    ("EGY-CAI", "Cairo", "EGY"),
    ("IND-GGN", "Gurgaon", "IND"),
    ("MUS-EBN", "Ebene", "MUS"),
    ("BRA-RIO", "Rio de Janeiro", "BRA"),
    ("FRA-PAR", "Paris", "FRA"),
]
# queues per centre: (served market region, queue label, vital?)
QUEUES = {
    "EGY-CAI": [
        ("FRA", "French enterprise support", False),
        ("GBR", "English enterprise support", False),
        ("DEU", "German enterprise support", False),
        ("EGY", "Arabic enterprise support", False),
        ("SAU", "Gulf enterprise support", False),
        ("ARE", "Gulf premium support", False),
        ("FRA", "Health and emergency customers hotline", True),
        ("ITA", "Italian enterprise support", False),
        ("ESP", "Spanish enterprise support", False),
    ],
    "IND-GGN": [
        ("GBR", "English enterprise support", False),
        ("USA", "North America enterprise support", False),
        ("IND", "India enterprise support", False),
        ("SGP", "Asia-Pacific enterprise support", False),
        ("AUS", "Australia enterprise support", False),
        ("USA", "Network operations desk", True),
        ("JPN", "Japan enterprise support", False),
        ("GBR", "Public sector hotline", True),
    ],
    "MUS-EBN": [
        ("FRA", "French SME support", False),
        ("FRA", "French enterprise support", False),
        ("BEL", "Belgian enterprise support", False),
        ("ZAF", "Southern Africa enterprise support", False),
        ("CHE", "Swiss enterprise support", False),
        ("FRA", "Care homes hotline", True),
        ("GHA", "West Africa enterprise support", False),
        ("KEN", "East Africa enterprise support", False),
    ],
    "BRA-RIO": [
        ("BRA", "Brazil enterprise support", False),
        ("ARG", "Argentina enterprise support", False),
        ("MEX", "Mexico enterprise support", False),
        ("USA", "Americas enterprise support", False),
        ("ESP", "Spanish-language support", False),
        ("BRA", "Hospitals hotline", True),
        ("PRT", "Portuguese enterprise support", False),
    ],
    "FRA-PAR": [
        ("FRA", "French enterprise support", False),
        ("FRA", "Public sector hotline", True),
        ("FRA", "Hospitals and emergency services hotline", True),
        ("FRA", "French SME support", False),
        ("BEL", "Belgian enterprise support", False),
        ("CHE", "Swiss enterprise support", False),
        ("FRA", "Major accounts", False),
        ("MAR", "Morocco enterprise support", False),
        ("DEU", "German enterprise support", False),
    ],
}


# language of a queue from the market it serves (pooling across service centres)
LANGUAGE = {
    **dict.fromkeys(("FRA", "BEL", "CHE", "MAR"), "fr"),
    **dict.fromkeys(("GBR", "USA", "IND", "SGP", "AUS", "ZAF", "GHA", "KEN"), "en"),
    **dict.fromkeys(("EGY", "SAU", "ARE"), "ar"),
    **dict.fromkeys(("ESP", "ARG", "MEX"), "es"),
    **dict.fromkeys(("BRA", "PRT"), "pt"),
    "DEU": "de",
    "ITA": "it",
    "JPN": "ja",
}
# enterprise customers with a customer-relation chain: (code, label, country, service centre, vital?)
CR_CUSTOMERS = [
    ("HOSP01", "Hospital group", "FRA", "FRA-PAR", True),
    ("INS01", "Insurer", "ESP", "EGY-CAI", False),
]


def _round_to(x: float, step: int) -> int:
    return int(max(step, step * round(x / step)))


def build(seed: int = SEED) -> list[dict[str, object]]:
    """All resources as dicts (columns of the inventory), deterministic for a seed."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []

    def add(**kw: object) -> None:
        rows.append(kw)

    # 1. international voice interconnect trunk groups
    for cc, weight in PARTNERS.items():
        n_carriers = 3 if weight >= 12 else 2
        for k in range(n_carriers):
            e1 = max(1, int(round(weight * rng.uniform(0.5, 1.1) / (1 + 0.6 * k))))
            cap = 30 * e1
            add(
                resource_id=f"TG-INTL-{HOME}-{cc}-{k + 1}",
                kind="trunk_group",
                region=cc,
                capacity=cap,
                module_size=30,
                max_capacity=_round_to(cap * rng.uniform(2.5, 4.0) + 120, 30),
                lead_time_days=int(rng.integers(7, 22)),
                module_cost=int(_round_to(rng.uniform(1200, 2600), 50)),
                group=f"INTL-{cc}",
                priority_class="standard",
                name=f"{HOME}-{cc} international interconnect (carrier {'ABC'[k]})",
                retry_probability=0.2,
            )

    # 2. domestic mobile and fixed voice switch routes
    for cc, cities in DOMESTIC.items():
        scale = 3.0 if cc == HOME else 1.0
        for ci, city in enumerate(cities):
            size = scale * (1.6 if ci == 0 else rng.uniform(0.5, 1.0))
            slug = city.upper().replace(" ", "")[:6]
            for net, label, base_e1 in (("MOB", "mobile MSC", 16), ("FIX", "fixed class-5", 10)):
                for k in (1, 2):  # two diverse routes to the two tandem/transit switches
                    cap = 30 * max(2, int(round(base_e1 * size * rng.uniform(0.7, 1.3))))
                    add(
                        resource_id=f"TG-{cc}-{net}-{slug}-{k}",
                        kind="trunk_group",
                        region=cc,
                        capacity=cap,
                        module_size=30,
                        max_capacity=_round_to(cap * rng.uniform(2.0, 3.0), 30),
                        lead_time_days=int(rng.integers(7, 15)),
                        module_cost=int(_round_to(rng.uniform(800, 1600), 50)),
                        group=f"{cc}-{net}-{slug}",
                        priority_class="standard",
                        name=f"{cc} {label} {city} -> transit {k}",
                        retry_probability=0.3,
                    )
            # emergency-number route (vital, stricter blocking)
            cap = 30 * max(1, int(round(2 * size)))
            add(
                resource_id=f"TG-{cc}-EMRG-{slug}",
                kind="trunk_group",
                region=cc,
                capacity=cap,
                module_size=30,
                max_capacity=_round_to(cap * 4 + 60, 30),
                lead_time_days=7,
                module_cost=1000,
                group=f"{cc}-EMRG",
                priority_class="vital",
                name=f"{cc} emergency numbers route {city} (112)",
                gos_target=0.001,
                retry_probability=0.8,
            )
        # interconnects with the other national operators
        for op in ("B", "C", "D") if cc == HOME else ("B", "C"):
            for net, label in (("MOB", "mobile"), ("FIX", "fixed")):
                cap = 30 * max(4, int(round(scale * rng.uniform(10, 30))))
                add(
                    resource_id=f"TG-{cc}-IC{op}-{net}",
                    kind="trunk_group",
                    region=cc,
                    capacity=cap,
                    module_size=30,
                    max_capacity=_round_to(cap * rng.uniform(2.0, 3.0), 30),
                    lead_time_days=int(rng.integers(10, 22)),
                    module_cost=int(_round_to(rng.uniform(1000, 2000), 50)),
                    group=f"{cc}-IC{op}",
                    priority_class="standard",
                    name=f"{cc} {label} interconnect to national operator {op}",
                    retry_probability=0.3,
                )

    # 3. backbone links (N+1 groups of parallel links) and the transatlantic bundle
    for a, ra, b, rb, members, gbps in BACKBONE:
        gname = f"BB-{a[:3].upper()}-{b[:3].upper()}"
        intl = ra != rb
        for k in range(members):
            add(
                resource_id=f"LK-{a[:3].upper()}-{b[:3].upper()}-{k + 1}",
                kind="link",
                region=ra,
                capacity=gbps,
                module_size=gbps,
                max_capacity=gbps * (4 if gbps == 10 else 2),
                lead_time_days=int(rng.integers(30, 46) if gbps == 100 else rng.integers(14, 31)),
                module_cost=int(
                    _round_to(
                        (rng.uniform(45e3, 80e3) if gbps == 100 else rng.uniform(8e3, 15e3))
                        * (1.5 if intl else 1.0),
                        500,
                    )
                ),
                group=gname,
                priority_class="standard",
                name=f"{a}-{b} {'international' if intl else 'backbone'} link {k + 1} ({gbps}G)",
            )
    for k in range(4):
        add(
            resource_id=f"LK-TRANSATLANTIC-{k + 1}",
            kind="link",
            region="FRA",
            capacity=100,
            module_size=100,
            max_capacity=200,
            lead_time_days=int(rng.integers(30, 61)),
            module_cost=int(_round_to(rng.uniform(180e3, 260e3), 1000)),
            group="TRANSATLANTIC",
            priority_class="standard",
            name=f"Paris-New York transatlantic wave {k + 1} (100G)",
        )

    # 4. remote-access VPN gateways (primary + backup per customer)
    counters: dict[tuple[str, str], int] = {}
    for _i, cc in enumerate(VPN_REGIONS):
        vital = rng.uniform() < 0.3
        code, label = (
            SECTORS_VITAL[int(rng.integers(len(SECTORS_VITAL)))]
            if vital
            else SECTORS_STD[int(rng.integers(len(SECTORS_STD)))]
        )
        n = counters[(cc, code)] = counters.get((cc, code), 0) + 1
        pack = 250 if rng.uniform() < 0.6 else 500
        cap = _round_to(float(rng.lognormal(np.log(1500), 0.8)), pack)
        for k, role in enumerate(("primary", "backup")):
            add(
                resource_id=f"VPN-{cc}-{code}{n:02d}-{'AB'[k]}",
                kind="vpn_gateway",
                region=cc,
                capacity=cap if k == 0 else _round_to(cap * 0.5, pack),
                module_size=pack,
                max_capacity=_round_to(cap * rng.uniform(4, 10), pack),
                lead_time_days=int(rng.integers(1, 4)),
                module_cost=int(pack * 8),
                group=f"VPN-{cc}-{code}{n:02d}",
                priority_class="vital" if vital else "standard",
                gos_target=0.8 if vital else "",
                name=f"{label} {n} ({cc}) remote access, {role}",
            )

    # 5. conference bridges
    for cc in ("FRA", "FRA", "GBR", "DEU", "ESP", "BEL", "USA", "SGP", "IND", "BRA", "EGY", "POL"):
        for svc, label, ports in (("AUD", "audio conferencing", 2000), ("VID", "video conferencing", 800)):
            n = counters[(cc, svc)] = counters.get((cc, svc), 0) + 1
            cap = _round_to(ports * rng.uniform(0.4, 1.4) * (1.8 if cc == "FRA" else 1.0), 100)
            add(
                resource_id=f"CB-{cc}-{svc}-{n}",
                kind="conference_bridge",
                region=cc,
                capacity=cap,
                module_size=100,
                max_capacity=_round_to(cap * rng.uniform(3, 5), 100),
                lead_time_days=int(rng.integers(5, 15)),
                module_cost=int(_round_to(rng.uniform(6e3, 12e3), 500)),
                group=f"CB-{svc}",
                priority_class="standard",
                name=f"{label} bridge {cc}-{n}",
            )

    # 6. contact-centre queues at five service centres
    for site, city, _country in CENTRES:
        for j, (market, label, vital) in enumerate(QUEUES[site]):
            agents = _round_to(float(rng.uniform(15, 120)) * (0.5 if vital else 1.0), 5)
            slug = "".join(w[0] for w in label.upper().split())[:5]
            add(
                resource_id=f"CC-{site}-{market}-{slug}{j + 1}",
                kind="contact_center",
                region=market,
                capacity=agents,
                module_size=5,
                max_capacity=_round_to(agents * rng.uniform(1.5, 2.5), 5),
                lead_time_days=14,
                module_cost=int(_round_to(5 * rng.uniform(3500, 5500), 500)),
                group=f"CC-{market}-{slug}",
                priority_class="vital" if vital else "standard",
                site=site,
                gos_target=0.9 if vital else "",
                name=f"{city} service centre: {label} ({market})",
                language=LANGUAGE[market],
                aht_s=int(_round_to(rng.uniform(240, 600), 10)),
                patience_s=int(_round_to(rng.uniform(60, 300), 10)),
                answer_within_s=20,
                abandon_max=0.03 if vital else 0.05,
            )
    # 7. generic resources: forecast only, never dimensioned (SMS centres, thousand messages per hour)
    for cc in DOMESTIC:
        cap = _round_to(float(rng.uniform(200, 900)) * (4 if cc == HOME else 1), 50)
        add(
            resource_id=f"GEN-{cc}-SMSC",
            kind="generic",
            region=cc,
            capacity=cap,
            module_size=50,
            max_capacity=cap * 3,
            lead_time_days=30,
            module_cost=20000,
            group="",
            priority_class="standard",
            name=f"{cc} SMS centre throughput (thousand messages per hour)",
        )
    _customer_relation(rng, add)
    return rows


def _customer_relation(rng: np.random.Generator, add) -> None:
    """Each customer's chains: number -> IVR -> queue -> callbacks, chatbot -> chat queue."""
    for code, label, cc, site, vital in CR_CUSTOMERS:
        p = f"CR-{cc}-{code}"
        prio = "vital" if vital else "standard"
        agents = _round_to(float(rng.uniform(30, 60)), 5)
        aht = int(_round_to(rng.uniform(240, 420), 10))
        ivr_time, self_served = int(_round_to(rng.uniform(30, 60), 5)), round(float(rng.uniform(0.1, 0.2)), 2)
        # the number's busy hour matches the queue's: occupancy 0.6 of the agents' calls, before self-service
        calls = 0.6 * agents * 3600.0 / aht / (1.0 - self_served)
        # seconds a call holds a channel (only scales the simulated load)
        hold = ivr_time + (1.0 - self_served) * (aht + 20)
        channels = _round_to(calls * hold / 3600.0 / 0.5 + 15, 30)
        ports = _round_to(calls * ivr_time / 3600.0 / 0.4 + 5, 10)
        common = {"region": cc, "lead_time_days": 14, "priority_class": prio, "group": f"{p}"}
        add(
            resource_id=f"{p}-NUM",
            kind="contact_number",
            capacity=channels,
            module_size=30,
            max_capacity=channels * 4,
            module_cost=1500,
            feeds=f"{p}-IVR",
            aht_s=round(hold),
            gos_target=0.005 if vital else "",
            name=f"{label} ({cc}) customer contact number",
            **common,
        )
        add(
            resource_id=f"{p}-IVR",
            kind="ivr",
            capacity=ports,
            module_size=10,
            max_capacity=ports * 4,
            module_cost=2000,
            feeds=f"{p}-VOICE",
            ivr_time_s=ivr_time,
            self_service_share=self_served,
            aht_s=ivr_time,
            name=f"{label} ({cc}) voice guide (IVR)",
            **common,
        )
        add(
            resource_id=f"{p}-VOICE",
            kind="contact_center",
            capacity=agents,
            module_size=5,
            max_capacity=agents * 2,
            module_cost=int(_round_to(5 * rng.uniform(3500, 5500), 500)),
            feeds=f"{p}-CALLBACK",
            site=site,
            language=LANGUAGE[cc],
            aht_s=aht,
            patience_s=int(_round_to(rng.uniform(90, 240), 10)),
            answer_within_s=20,
            abandon_max=0.03 if vital else 0.05,
            gos_target=0.9 if vital else "",
            callback_share=0.0,
            name=f"{label} ({cc}) customer line agents",
            **common,
        )
        add(
            resource_id=f"{p}-CALLBACK",
            kind="message_queue",
            capacity=5,
            module_size=1,
            max_capacity=40,
            module_cost=4500,
            site=site,
            aht_s=aht,
            service_window_s=14400,
            name=f"{label} ({cc}) callbacks and messages",
            **common,
        )
        sessions = _round_to(float(rng.uniform(60, 120)), 10)
        contained = round(float(rng.uniform(0.2, 0.4)), 2)
        add(
            resource_id=f"{p}-BOT",
            kind="chatbot",
            capacity=sessions,
            module_size=10,
            max_capacity=sessions * 5,
            module_cost=400,
            feeds=f"{p}-CHAT",
            aht_s=240,
            containment_share=contained,
            name=f"{label} ({cc}) chatbot",
            **common,
        )
        # chats reaching agents at the chatbot's base occupancy (0.3), 3 chats an agent of 750 s each
        chats = 0.3 * sessions * 3600.0 / 240.0 * (1.0 - contained)
        chat_agents = _round_to(chats * 750.0 / 3600.0 / 3.0 / 0.75 + 1, 2)
        add(
            resource_id=f"{p}-CHAT",
            kind="chat_queue",
            capacity=chat_agents,
            module_size=2,
            max_capacity=chat_agents * 3,
            module_cost=9000,
            site=site,
            language=LANGUAGE[cc],
            aht_s=600,
            patience_s=300,
            answer_within_s=60,
            abandon_max=0.05,
            concurrency=3,
            concurrency_slowdown=0.25,
            name=f"{label} ({cc}) chat agents",
            **common,
        )


def to_csv(rows: list[dict[str, object]]) -> str:
    cols = list(INVENTORY_REQUIRED) + list(INVENTORY_OPTIONAL)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c, "") for c in cols})
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--check", action="store_true", help="fail if the committed CSV differs from a fresh build"
    )
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    text = to_csv(build())
    if args.check:
        same = args.out.is_file() and args.out.read_text() == text
        print("up to date" if same else f"{args.out} differs from a fresh build")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out} ({text.count(chr(10)) - 1} resources)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
