"""Sizing rules of the customer-relation kinds: contact numbers, IVR, chatbot, chat and message queues.

Every load is a rate (calls, sessions, chats or messages per hour) so that the flow of
:mod:`surgeplan.dimension.flow` can push it from stage to stage with shares; each rule turns it
into its own load with the stage's times:

==================  ==========================================================  ==========
kind                rule                                                        capacity
==================  ==========================================================  ==========
``contact_number``  Erlang B on ``calls/h x holding / 3600`` Erlangs, holding =    channels
                    IVR time + queue wait + talk time if answered
                    (:func:`number_holding_time`)
``ivr``             Erlang B on ``calls/h x ivr_time_s / 3600`` Erlangs            ports
``chatbot``         ``sessions/h x aht_s / 3600`` concurrent sessions under a       sessions
                    ceiling
``chat_queue``      concurrent chat (:func:`surgeplan.teletraffic.chat_agents`)   agents
``message_queue``   fluid backlog (:func:`surgeplan.teletraffic.backlog_agents`)  agents
==================  ==========================================================  ==========

``contact_center`` queues with a callback offer (``callback_share > 0``) are sized by
:func:`size_contact_center_callback`.
"""

from __future__ import annotations

import numpy as np

from surgeplan import teletraffic as tt
from surgeplan.dimension._common import Sizing, positive

_TINY = 1e-12


def _arrays(*values):
    return (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(*values))


def _erlang_b_rule(erlangs, per_call_h, capacity, blocking_target) -> tuple[np.ndarray, ...]:
    """Erlang B needed / blocking / carriable (calls per hour) / blocked calls per hour."""
    needed = np.where(
        erlangs > 0, np.asarray(tt.erlang_b_servers(erlangs, blocking_target), dtype=np.float64), 0.0
    )
    gos = np.where(erlangs > 0, np.asarray(tt.erlang_b(erlangs, capacity), dtype=np.float64), 0.0)
    carry_e = np.where(
        capacity > 0,
        np.nan_to_num(np.asarray(tt.erlang_b_traffic(np.maximum(capacity, 1.0), blocking_target))),
        0.0,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        carriable = np.where(per_call_h > 0, carry_e / per_call_h, np.nan)
        blocked = np.where(per_call_h > 0, erlangs * gos / per_call_h, 0.0)
    return needed, gos, carriable, blocked


def size_ivr(load, capacity, blocking_target, ivr_time_s) -> Sizing:
    """Voice-guide ports for a blocking target: Erlang B on the callers in the IVR.

    Parameters
    ----------
    load : array_like
        Busy-hour calls entering the IVR, calls per hour.
    capacity : array_like
        Installed ports.
    blocking_target : array_like
        Target probability that a call finds every port busy (e.g. 0.01).
    ivr_time_s : array_like
        Mean time a caller spends in the voice guide, seconds.

    Returns
    -------
    Sizing
        ``needed`` ports, ``gos`` blocking, ``carriable`` calls per hour at the target,
        ``shortfall`` calls blocked per hour.

    References
    ----------
    ITU-T E.520 (Erlang B); A. K. Erlang (1917).
    """
    x, n, b, t = _arrays(load, capacity, blocking_target, ivr_time_s)
    x = positive(x)
    per_call = t / 3600.0
    needed, gos, carriable, blocked = _erlang_b_rule(x * per_call, per_call, n, b)
    return Sizing(needed, gos, carriable, blocked, "blocking", "calls_blocked_per_hour")


def number_holding_time(
    load,
    ivr_time_s,
    self_service_share,
    aht_s,
    patience_s,
    answer_within_s,
    service_level_target,
    abandon_max,
    callback_share,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean time a call holds a channel of its contact number, seconds, and the queue's agents.

    Every call holds its channel through the IVR; a call not served by self-service then waits in
    the agent queue (staffed for its targets) and talks if answered; an abandoning call holds the
    channel until it hangs up, a callback taker leaves at once::

        holding = ivr_time + (1 - s) (E[wait] + P(answered) aht)

    with ``E[wait]`` over all callers reaching the queue and ``P(answered) = 1 - P(abandon) -
    P(callback)`` (:func:`surgeplan.teletraffic.callback_queue`, Erlang A when no callback is offered).

    Parameters
    ----------
    load : array_like
        Calls per hour at the number.
    ivr_time_s, self_service_share : array_like
        The IVR's mean time (s) and self-served share (0 and 0 when the number feeds the queue
        directly).
    aht_s, patience_s, answer_within_s, service_level_target, abandon_max, callback_share : array_like
        The agent queue's handling time, patience, threshold (s), targets and callback share; a
        number feeding no queue passes ``aht_s = 0`` (channels held for the IVR time only).

    Returns
    -------
    (holding_s, agents) : tuple of ndarray
    """
    x, t_ivr, s, h, pat, aw, sl, amax, q = _arrays(
        load,
        ivr_time_s,
        self_service_share,
        aht_s,
        patience_s,
        answer_within_s,
        service_level_target,
        abandon_max,
        callback_share,
    )
    lam = positive(x) * (1.0 - s) / 3600.0
    queue = (h > 0) & (lam > 0)
    hq = np.where(queue, h, 1.0)
    agents = np.zeros(x.shape)
    hold_q = np.zeros(x.shape)
    if queue.any():
        m = queue
        agents[m] = tt.callback_agents(
            lam[m], hq[m], pat[m], np.clip(sl[m], _TINY, 1 - _TINY), aw[m], np.clip(amax[m], _TINY, 1.0), q[m]
        )
        r = tt.callback_queue(lam[m], hq[m], pat[m], agents[m], aw[m], q[m])
        answered = 1.0 - r.abandon_probability - r.callback_probability
        hold_q[m] = r.average_wait + answered * hq[m]
    return t_ivr + (1.0 - s) * hold_q, agents


def size_contact_number(load, capacity, blocking_target, holding_s) -> Sizing:
    """Access channels of a contact number: Erlang B over the summed holding times.

    Parameters
    ----------
    load : array_like
        Busy-hour calls to the number, calls per hour.
    capacity : array_like
        Installed channels (trunks, SIP sessions).
    blocking_target : array_like
        Target probability that a caller finds every channel busy.
    holding_s : array_like
        Mean channel holding time per call, seconds (:func:`number_holding_time`).

    Returns
    -------
    Sizing
        ``needed`` channels, ``gos`` blocking, ``carriable`` calls per hour, ``shortfall`` calls
        blocked per hour.

    References
    ----------
    ITU-T E.520 (Erlang B); Garnett, Mandelbaum & Reiman (2002) for the queue's wait.
    """
    x, n, b, hold = _arrays(load, capacity, blocking_target, holding_s)
    x = positive(x)
    per_call = hold / 3600.0
    needed, gos, carriable, blocked = _erlang_b_rule(x * per_call, per_call, n, b)
    return Sizing(needed, gos, carriable, blocked, "blocking", "calls_blocked_per_hour")


def size_chatbot(load, capacity, ceiling, session_s) -> Sizing:
    """Concurrent sessions a chatbot needs so its busy-hour concurrency stays under a ceiling.

    Parameters
    ----------
    load : array_like
        Busy-hour sessions started, sessions per hour.
    capacity : array_like
        Licensed concurrent sessions.
    ceiling : array_like
        Highest acceptable concurrency, fraction of capacity (e.g. 0.9).
    session_s : array_like
        Mean session length, seconds (the inventory's ``aht_s``).

    Returns
    -------
    Sizing
        ``needed = ceil(load x session / 3600 / ceiling)``, ``gos`` = concurrency / capacity,
        ``carriable`` sessions per hour at the ceiling, ``shortfall`` concurrent sessions over it.

    References
    ----------
    Little's law (concurrent sessions = rate x mean length); ITU-T E.500 (busy hour).
    """
    x, c, u, d = _arrays(load, capacity, ceiling, session_s)
    conc = positive(x) * d / 3600.0
    needed = np.ceil(conc / u - 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        gos = np.where(c > 0, conc / c, np.where(conc > 0, np.inf, 0.0))
        carriable = np.where(d > 0, u * c * 3600.0 / d, np.nan)
    return Sizing(needed, gos, carriable, positive(conc - u * c), "utilization", "sessions_over_ceiling")


def size_chat_queue(
    load,
    capacity,
    service_level_target,
    aht_s,
    patience_s,
    answer_within_s,
    abandon_max,
    concurrency,
    slowdown,
) -> Sizing:
    """Agents a chat queue needs when each agent holds up to ``concurrency`` chats.

    Parameters
    ----------
    load : array_like
        Busy-hour chats offered, chats per hour.
    capacity : array_like
        Installed agents.
    service_level_target, answer_within_s, abandon_max : array_like
        Share picked up within ``answer_within_s`` seconds, and the abandonment ceiling.
    aht_s, patience_s : array_like
        Handling time of a chat held alone and mean patience, seconds.
    concurrency, slowdown : array_like
        Chats per agent at most and the lengthening per extra chat
        (:func:`surgeplan.teletraffic.chat_queue`).

    Returns
    -------
    Sizing
        ``needed`` agents, ``gos`` service level with the installed agents, ``carriable`` chats per
        hour (``load x capacity / needed``, a lower bound), ``shortfall`` chats abandoned per hour.

    References
    ----------
    Tezcan & Zhang (2014), Operations Research 62(4).
    """
    x, n, sl, h, pat, aw, amax, k, beta = _arrays(
        load,
        capacity,
        service_level_target,
        aht_s,
        patience_s,
        answer_within_s,
        abandon_max,
        concurrency,
        slowdown,
    )
    x = positive(x)
    lam = x / 3600.0
    k = np.maximum(np.round(k), 1.0)
    needed = np.asarray(
        tt.chat_agents(lam, h, pat, np.clip(sl, _TINY, 1 - _TINY), aw, np.clip(amax, _TINY, 1.0), k, beta),
        dtype=np.float64,
    )
    r = tt.chat_queue(lam, h, pat, np.maximum(np.round(n), 0.0), k, beta, aw)
    busy = (lam > 0) & (needed > 0)
    carriable = np.where(busy, x * n / np.where(busy, needed, 1.0), np.nan)
    return Sizing(
        needed,
        np.asarray(r.service_level, dtype=np.float64),
        carriable,
        x * np.asarray(r.abandon_probability),
        "service_level",
        "chats_abandoned_per_hour",
    )


def size_message_queue(load, capacity, target, aht_s, service_window_s) -> Sizing:
    """Agents who handle ``target`` of a day's messages within the service window (fluid backlog).

    Parameters
    ----------
    load : array_like
        Messages per hour in the day's busy hour (the day follows
        :data:`surgeplan.teletraffic.backlog.DAY_PROFILE` scaled to it).
    capacity : array_like
        Installed agents (working all day).
    target : array_like
        Share handled within the window (e.g. 0.95).
    aht_s, service_window_s : array_like
        Agent time per message and the window, seconds (e.g. 14400 = 4 h).

    Returns
    -------
    Sizing
        ``needed`` agents, ``gos`` = share within the window with the installed agents,
        ``carriable`` = busy-hour messages per hour the installed agents handle at the target
        (``load x capacity / needed``, a lower bound), ``shortfall`` = late messages per hour.

    References
    ----------
    Newell (1982), fluid queues under time-varying demand.
    """
    x, n, s, h, w = _arrays(load, capacity, target, aht_s, service_window_s)
    x = positive(x)
    needed = np.asarray(tt.backlog_agents(x, h, np.clip(s, _TINY, 1.0), w), dtype=np.float64)
    share = np.where(x > 0, tt.backlog_within(x, h, np.maximum(n, 0.0), w), 1.0)
    busy = (x > 0) & (needed > 0)
    carriable = np.where(busy, x * n / np.where(busy, needed, 1.0), np.nan)
    return Sizing(
        needed, share, carriable, x * (1.0 - share), "share_within_window", "messages_late_per_hour"
    )


def size_contact_center_callback(
    load, capacity, service_level_target, aht_s, patience_s, answer_within_s, abandon_max, callback_share
) -> Sizing:
    """Agents of a voice queue offering callbacks to callers who find every agent busy.

    As :func:`surgeplan.dimension.size_contact_center` with
    :func:`surgeplan.teletraffic.callback_agents`; ``gos`` = service level of the callers who stayed,
    ``shortfall`` = calls abandoned per hour (callbacks are served by the message queue).

    References
    ----------
    Armony & Maglaras (2004), Operations Research 52(2).
    """
    x, n, sl, h, pat, aw, amax, q = _arrays(
        load, capacity, service_level_target, aht_s, patience_s, answer_within_s, abandon_max, callback_share
    )
    x = positive(x)
    lam = x / 3600.0
    needed = np.asarray(
        tt.callback_agents(lam, h, pat, np.clip(sl, _TINY, 1 - _TINY), aw, np.clip(amax, _TINY, 1.0), q),
        dtype=np.float64,
    )
    r = tt.callback_queue(lam, h, pat, np.maximum(np.round(n), 0.0), aw, q)
    busy = (lam > 0) & (needed > 0)
    carriable = np.where(busy, x * n / np.where(busy, needed, 1.0), np.nan)
    return Sizing(
        needed,
        np.asarray(r.service_level, dtype=np.float64),
        carriable,
        x * np.asarray(r.abandon_probability),
        "service_level",
        "calls_abandoned_per_hour",
    )
