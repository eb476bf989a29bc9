"""``surgeplan erlang``: a planner's everyday teletraffic questions on the command line.

Examples::

    surgeplan erlang b --traffic 1840 --blocking 0.01        # circuits needed
    surgeplan erlang b --traffic 1840 --servers 1874         # blocking of a group
    surgeplan erlang b --servers 100 --blocking 0.01         # traffic a group carries
    surgeplan erlang b --traffic 1840 --blocking 0.01 --retry 0.6   # extended Erlang B
    surgeplan erlang c --calls-per-hour 600 --aht 240 --service-level 0.8 --answer-within 20
    surgeplan erlang c --calls-per-hour 600 --aht 240 --agents 45
    surgeplan erlang a --calls-per-hour 600 --aht 240 --patience 120 --service-level 0.8 --max-abandon 0.05
    surgeplan erlang engset --sources 200 --servers 20 --traffic-per-idle-source 0.08
    surgeplan erlang chat --chats-per-hour 300 --aht 600 --concurrency 3 --service-level 0.8 \
        --max-abandon 0.05
    surgeplan erlang ivr --calls-per-hour 900 --ivr-time 45 --blocking 0.01
    surgeplan erlang ivr --calls-per-hour 900 --ivr-time 45 --self-service 0.2 --aht 300 --patience 120 \
        --service-level 0.8 --max-abandon 0.05 --callback 0.3      # + agents and number channels

Commands only parse, call :mod:`surgeplan.teletraffic` and format (a rich table, or ``--json``).
Bad input prints one ``error:`` line and exits with status 2.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from typing import Annotated, Any

import typer

from surgeplan.errors import SurgeplanError

erlang_app = typer.Typer(
    name="erlang",
    help="Teletraffic calculators: Erlang B (circuits), C and A (contact centres), Engset, concurrent chat, "
    "IVR and contact-number channels.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON object instead of a table.")]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _guard(func: Callable[..., None]) -> Callable[..., None]:
    """Turn library input errors into one line on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except (SurgeplanError, ValueError) as exc:
            _fail(str(exc))

    return wrapper


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _emit(title: str, rows: list[tuple[str, Any, str]], as_json: bool) -> None:
    """Print (name, value, unit) rows as a rich table or a flat JSON object."""
    if as_json:
        typer.echo(json.dumps({name: _clean(value) for name, value, _ in rows}))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for name, value, unit in rows:
        if isinstance(value, float):
            text = f"{value:.6g}" if math.isfinite(value) else str(value)
        else:
            text = str(value)
        table.add_row(name, text, unit)
    Console().print(table)


@erlang_app.command("b")
@_guard
def cmd_b(
    traffic: Annotated[float | None, typer.Option(help="Offered traffic, Erlangs.")] = None,
    servers: Annotated[float | None, typer.Option(help="Circuits in the group.")] = None,
    blocking: Annotated[float | None, typer.Option(help="Blocking probability target, e.g. 0.01.")] = None,
    retry: Annotated[
        float, typer.Option(help="Share of blocked callers who retry (extended Erlang B), 0..1.")
    ] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Erlang B: give exactly two of --traffic, --servers, --blocking; get the third."""
    from surgeplan import teletraffic as tt

    given = [
        name
        for name, v in (("traffic", traffic), ("servers", servers), ("blocking", blocking))
        if v is not None
    ]
    if len(given) != 2:
        _fail(f"give exactly two of --traffic, --servers, --blocking (got {', '.join(given) or 'none'})")
    model = "extended Erlang B" if retry > 0 else "Erlang B"
    if servers is not None and float(servers).is_integer():
        servers = int(servers)
    rows: list[tuple[str, Any, str]] = []
    if servers is None:
        n = (
            tt.extended_erlang_b_servers(traffic, blocking, retry)
            if retry > 0
            else tt.erlang_b_servers(traffic, blocking)
        )
        rows.append(("servers", n, "circuits"))
        servers = float(n)
    if traffic is None:
        if retry > 0:
            _fail("--retry needs --traffic (fresh traffic); give --traffic with --servers or --blocking")
        a = tt.erlang_b_traffic(servers, blocking)
        rows.append(("traffic", a, "Erlangs"))
        rows.append(("traffic_per_circuit", a / servers if servers else float("nan"), "Erlangs"))
        traffic = a
    if retry > 0:
        ext = tt.extended_erlang_b(traffic, servers, retry)
        b, offered, lost = ext.blocking, ext.offered_traffic, ext.lost_traffic
    else:
        b = tt.erlang_b(traffic, servers)
        offered, lost = traffic, traffic * b
    rows[:0] = [("model", model, "")]
    if retry > 0:
        rows += [("traffic_fresh", traffic, "Erlangs"), ("retry_probability", retry, "probability")]
    rows += [
        ("traffic_offered", offered, "Erlangs"),
        ("blocking", b, "probability"),
        ("traffic_carried", offered * (1.0 - b), "Erlangs"),
        ("traffic_lost", lost, "Erlangs"),
    ]
    if "servers" not in [r[0] for r in rows]:
        rows.insert(1, ("servers", servers, "circuits"))
    if blocking is not None and servers is not None and traffic is not None:
        rows.append(("blocking_target", blocking, "probability"))
    _emit(f"{model}", rows, as_json)


def _contact_centre(
    *,
    calls_per_hour: float,
    aht: float,
    patience: float,
    agents: int | None,
    service_level: float | None,
    answer_within: float,
    max_occupancy: float | None,
    max_abandon: float | None,
    as_json: bool,
    model: str,
) -> None:
    from surgeplan import teletraffic as tt

    if calls_per_hour < 0 or not math.isfinite(calls_per_hour):
        raise SurgeplanError(f"calls_per_hour must be >= 0 and finite; got {calls_per_hour!r}")
    lam = calls_per_hour / 3600.0
    rows: list[tuple[str, Any, str]] = [("model", model, "")]
    if agents is None:
        if service_level is None:
            _fail("give --service-level (to size agents) or --agents (to evaluate a staffing level)")
        if math.isinf(patience) and max_abandon is None:
            n = tt.agents_for_service_level(lam, aht, service_level, answer_within, max_occupancy)
        else:
            n = tt.erlang_a_agents(
                lam, aht, patience, service_level, answer_within, max_abandon, max_occupancy
            )
        agents = int(n)
    m = tt.erlang_a(lam, aht, patience, agents, answer_within)
    rows += [
        ("agents", agents, "agents"),
        ("traffic", lam * aht, "Erlangs"),
        ("wait_probability", m.wait_probability, "probability"),
        (f"service_level_{answer_within:g}s", m.service_level, "share answered"),
        ("average_speed_of_answer" if math.isinf(patience) else "average_wait", m.average_wait, "s"),
        ("occupancy", m.occupancy, "share"),
    ]
    if not math.isinf(patience):
        rows.append(("abandon_probability", m.abandon_probability, "probability"))
    if service_level is not None:
        rows.append(("service_level_target", service_level, "share"))
    _emit(model, rows, as_json)


CallsOpt = Annotated[float, typer.Option("--calls-per-hour", help="Offered calls per hour.")]
AhtOpt = Annotated[float, typer.Option("--aht", help="Average handling time, seconds.")]
SlOpt = Annotated[
    float | None, typer.Option("--service-level", help="Target share answered in time, e.g. 0.8.")
]
WithinOpt = Annotated[float, typer.Option("--answer-within", help="Service-level threshold, seconds.")]
AgentsOpt = Annotated[
    int | None, typer.Option("--agents", help="Evaluate this many agents instead of sizing.")
]
OccOpt = Annotated[float | None, typer.Option("--max-occupancy", help="Occupancy ceiling, e.g. 0.9.")]


@erlang_app.command("c")
@_guard
def cmd_c(
    calls_per_hour: CallsOpt,
    aht: AhtOpt,
    service_level: SlOpt = None,
    answer_within: WithinOpt = 20.0,
    agents: AgentsOpt = None,
    max_occupancy: OccOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Erlang C: agents for a service level (or, with --agents, the service a staffing gives)."""
    _contact_centre(
        calls_per_hour=calls_per_hour,
        aht=aht,
        patience=math.inf,
        agents=agents,
        service_level=service_level,
        answer_within=answer_within,
        max_occupancy=max_occupancy,
        max_abandon=None,
        as_json=as_json,
        model="Erlang C",
    )


@erlang_app.command("a")
@_guard
def cmd_a(
    calls_per_hour: CallsOpt,
    aht: AhtOpt,
    patience: Annotated[float, typer.Option(help="Mean patience before hanging up, seconds.")] = 120.0,
    service_level: SlOpt = None,
    answer_within: WithinOpt = 20.0,
    agents: AgentsOpt = None,
    max_abandon: Annotated[float | None, typer.Option(help="Abandonment ceiling, e.g. 0.05.")] = None,
    max_occupancy: OccOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Erlang A (impatient callers): agents for a service level and abandonment ceiling, or evaluate."""
    _contact_centre(
        calls_per_hour=calls_per_hour,
        aht=aht,
        patience=patience,
        agents=agents,
        service_level=service_level,
        answer_within=answer_within,
        max_occupancy=max_occupancy,
        max_abandon=max_abandon,
        as_json=as_json,
        model="Erlang A",
    )


@erlang_app.command("engset")
@_guard
def cmd_engset(
    sources: Annotated[int, typer.Option(help="Number of traffic sources (subscribers, users).")],
    traffic_per_idle_source: Annotated[float, typer.Option(help="Offered traffic per idle source, Erlangs.")],
    servers: Annotated[int | None, typer.Option(help="Servers to evaluate.")] = None,
    blocking: Annotated[float | None, typer.Option(help="Call-congestion target to size servers.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Engset (finite sources): congestion of a group, or servers for a call-congestion target."""
    from surgeplan import teletraffic as tt

    if (servers is None) == (blocking is None):
        _fail("give exactly one of --servers (evaluate) or --blocking (size)")
    rows: list[tuple[str, Any, str]] = [("model", "Engset", "")]
    if servers is None:
        servers = int(tt.engset_servers(sources, traffic_per_idle_source, blocking, congestion="call"))
    r = tt.engset(sources, servers, traffic_per_idle_source)
    rows += [
        ("sources", sources, "sources"),
        ("servers", servers, "servers"),
        ("call_congestion", r.call_congestion, "probability"),
        ("time_congestion", r.time_congestion, "probability"),
    ]
    if blocking is not None:
        rows.append(("blocking_target", blocking, "probability"))
    _emit("Engset", rows, as_json)


@erlang_app.command("chat")
@_guard
def cmd_chat(
    chats_per_hour: Annotated[float, typer.Option("--chats-per-hour", help="Offered chats per hour.")],
    aht: Annotated[
        float, typer.Option("--aht", help="Handling time of a chat its agent holds alone, seconds.")
    ],
    concurrency: Annotated[int, typer.Option(help="Chats an agent holds at most.")] = 1,
    slowdown: Annotated[
        float, typer.Option(help="Lengthening of a chat per extra chat its agent holds (0.25 = +25 %).")
    ] = 0.25,
    patience: Annotated[float, typer.Option(help="Mean patience before leaving the queue, seconds.")] = 300.0,
    service_level: SlOpt = None,
    answer_within: Annotated[
        float, typer.Option("--answer-within", help="Service-level threshold, seconds.")
    ] = 60.0,
    agents: AgentsOpt = None,
    max_abandon: Annotated[float | None, typer.Option(help="Abandonment ceiling, e.g. 0.05.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Concurrent chat (Tezcan & Zhang): agents holding up to --concurrency chats; size or evaluate."""
    from surgeplan import teletraffic as tt

    if chats_per_hour < 0 or not math.isfinite(chats_per_hour):
        raise SurgeplanError(f"chats_per_hour must be >= 0 and finite; got {chats_per_hour!r}")
    lam = chats_per_hour / 3600.0
    if agents is None:
        if service_level is None:
            _fail("give --service-level (to size agents) or --agents (to evaluate a staffing level)")
        agents = int(
            tt.chat_agents(
                lam, aht, patience, service_level, answer_within, max_abandon, concurrency, slowdown
            )
        )
    q = tt.chat_queue(lam, aht, patience, agents, concurrency, slowdown, answer_within)
    full_aht = aht * (1.0 + slowdown * (concurrency - 1))
    rows: list[tuple[str, Any, str]] = [
        ("model", "concurrent chat (Erlang A above the full line)", ""),
        ("agents", agents, "agents"),
        ("concurrency", concurrency, "chats per agent"),
        ("chat_slots", agents * concurrency, "chats"),
        ("aht_at_full_concurrency", full_aht, "s"),
        ("wait_probability", q.wait_probability, "probability"),
        (f"service_level_{answer_within:g}s", q.service_level, "share answered"),
        ("average_wait", q.average_wait, "s"),
        ("abandon_probability", q.abandon_probability, "probability"),
    ]
    if service_level is not None:
        rows.append(("service_level_target", service_level, "share"))
    _emit("Concurrent chat", rows, as_json)


@erlang_app.command("ivr")
@_guard
def cmd_ivr(
    calls_per_hour: CallsOpt,
    ivr_time: Annotated[
        float, typer.Option("--ivr-time", help="Mean time a caller spends in the IVR, seconds.")
    ],
    ports: Annotated[int | None, typer.Option(help="IVR ports to evaluate (instead of --blocking).")] = None,
    blocking: Annotated[float, typer.Option(help="Blocking target for ports and channels.")] = 0.01,
    self_service: Annotated[
        float, typer.Option("--self-service", help="Share of callers the IVR serves alone, 0..1.")
    ] = 0.0,
    aht: Annotated[
        float | None,
        typer.Option("--aht", help="Agents' handling time, s: also size the queue and the number."),
    ] = None,
    patience: Annotated[float, typer.Option(help="Mean patience in the agent queue, seconds.")] = 120.0,
    service_level: Annotated[float, typer.Option(help="Agents' service-level target.")] = 0.8,
    answer_within: WithinOpt = 20.0,
    max_abandon: Annotated[float, typer.Option(help="Agents' abandonment ceiling.")] = 0.05,
    callback: Annotated[
        float, typer.Option(help="Share of callers finding all agents busy who take a callback, 0..1.")
    ] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """IVR ports (Erlang B on the time in the voice guide); with --aht also the agents behind it and the
    contact number's channels (Erlang B over IVR time + queue wait + talk time)."""
    from surgeplan import teletraffic as tt
    from surgeplan.dimension.customer_relation import number_holding_time

    if calls_per_hour < 0 or not math.isfinite(calls_per_hour):
        raise SurgeplanError(f"calls_per_hour must be >= 0 and finite; got {calls_per_hour!r}")
    if not 0.0 <= self_service <= 1.0:
        raise SurgeplanError(f"self_service must be in [0, 1]; got {self_service!r}")
    erlangs = calls_per_hour * ivr_time / 3600.0
    if ports is None:
        ports = int(tt.erlang_b_servers(erlangs, blocking)) if erlangs > 0 else 0
    rows: list[tuple[str, Any, str]] = [
        ("model", "IVR ports (Erlang B)" + (" + agent queue + number channels" if aht else ""), ""),
        ("ivr_traffic", erlangs, "Erlangs"),
        ("ivr_ports", ports, "ports"),
        ("ivr_blocking", tt.erlang_b(erlangs, ports) if erlangs > 0 else 0.0, "probability"),
        ("calls_to_agents", calls_per_hour * (1.0 - self_service), "calls/h"),
    ]
    if aht is not None:
        hold, agents = number_holding_time(
            calls_per_hour,
            ivr_time,
            self_service,
            aht,
            patience,
            answer_within,
            service_level,
            max_abandon,
            callback,
        )
        hold, agents = float(hold), int(agents)
        lam = calls_per_hour * (1.0 - self_service) / 3600.0
        q = tt.callback_queue(lam, aht, patience, agents, answer_within, callback)
        number_erlangs = calls_per_hour * hold / 3600.0
        channels = int(tt.erlang_b_servers(number_erlangs, blocking)) if number_erlangs > 0 else 0
        rows += [
            ("agents", agents, "agents"),
            (f"service_level_{answer_within:g}s", q.service_level, "share of callers who stayed"),
            ("abandon_probability", q.abandon_probability, "probability"),
            ("callback_probability", q.callback_probability, "probability"),
            ("average_wait", q.average_wait, "s"),
            ("number_holding_time", hold, "s"),
            ("number_traffic", number_erlangs, "Erlangs"),
            ("number_channels", channels, "channels"),
        ]
    rows.append(("blocking_target", blocking, "probability"))
    _emit("IVR and contact number", rows, as_json)


def register(app: typer.Typer) -> None:
    """Add the ``erlang`` sub-app (commands b, c, a, engset, chat, ivr) to the main app."""
    app.add_typer(erlang_app, name="erlang")
