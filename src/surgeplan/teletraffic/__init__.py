r"""Teletraffic engine: Erlang B / extended B / Engset / Erlang C / Erlang A and link sizing.

Pure, vectorised functions: scalars, numpy arrays or pandas Series in (broadcast together),
float64 out in the same container. Units are in the names and docstrings: traffic in Erlangs,
rates in calls per second, times (handling time, patience, answer-within) in seconds, link
traffic in Gbps. Bad input raises :class:`surgeplan.errors.SurgeplanError` naming the argument;
NaN inputs give NaN outputs.

Formulas
--------
* Erlang B (loss, M/M/N/N): ``B(A, N) = (A^N/N!) / sum_{k<=N} A^k/k! = A^N e^-A / Gamma(N+1, A)``,
  continuous in N; evaluated in O(1)-ish time to ~1e-13 relative (recurrence for small integer N,
  Temme's uniform asymptotic expansion near N ~ A, Loader's saddle-point Poisson term with the
  lower-gamma series below, Legendre's continued fraction above). Inverses
  :func:`erlang_b_servers` (circuits for a blocking target) and :func:`erlang_b_traffic`.
* Extended Erlang B: offered load with retries solves ``A = A0 + r B(A, N) A``.
* Engset: finite sources, call congestion ``E(S-1, N, beta)`` and time congestion ``E(S, N, beta)``.
* Erlang C (M/M/N): ``C = N B / (N - A (1 - B))``, service level ``1 - C e^{-(N-A) t/h}``,
  ASA ``C h / (N - A)``.
* Erlang A (M/M/N+M, exponential patience): exact incomplete-gamma formulas (Garnett, Mandelbaum
  & Reiman 2002; Mandelbaum & Zeltyn 2007); Erlang C is the limit ``patience -> inf``.
* Retrial (M/M/N/N with an orbit of redialling callers, mean redial delay in holding times):
  exact truncated two-dimensional Markov chain (sparse LU) where moderate, a conditional-mean
  orbit approximation (Fredericks & Reisner 1979) beyond; extended Erlang B is its slow-redial
  limit. :func:`retrial_servers` sizes for a blocking target.
* Concurrent chat (:mod:`~surgeplan.teletraffic.chat`): agents holding up to K chats, service rate
  depending on the chats held (Tezcan & Zhang 2014); Erlang A above the full line.
* Callback offer (:mod:`~surgeplan.teletraffic.callback`): Erlang A where callers finding every agent
  busy may leave a callback request.
* Message backlog (:mod:`~surgeplan.teletraffic.backlog`): fluid FIFO backlog over the day's profile.
* Links: modules ``m = ceil((peak/u_max + f) / c)`` keep utilisation under ``u_max`` also after the
  largest member (``f`` Gbps) fails (N+1).
"""

from surgeplan.teletraffic.backlog import backlog_agents, backlog_within
from surgeplan.teletraffic.callback import CallbackQueue, callback_agents, callback_queue
from surgeplan.teletraffic.chat import ChatQueue, chat_agents, chat_queue
from surgeplan.teletraffic.engset import EngsetResult, engset, engset_servers
from surgeplan.teletraffic.erlang_a import (
    ErlangA,
    erlang_a,
    erlang_a_abandon_probability,
    erlang_a_agents,
    erlang_a_average_wait,
    erlang_a_service_level,
    erlang_a_wait_probability,
)
from surgeplan.teletraffic.erlang_b import (
    ExtendedErlangB,
    erlang_b,
    erlang_b_servers,
    erlang_b_traffic,
    extended_erlang_b,
    extended_erlang_b_servers,
)
from surgeplan.teletraffic.erlang_c import (
    agents_for_service_level,
    average_speed_of_answer,
    erlang_c,
    occupancy,
    service_level,
)
from surgeplan.teletraffic.links import LinkCapacity, link_capacity
from surgeplan.teletraffic.retrial import Retrial, retrial, retrial_servers, retrial_traffic

__all__ = [
    "CallbackQueue",
    "ChatQueue",
    "EngsetResult",
    "ErlangA",
    "ExtendedErlangB",
    "LinkCapacity",
    "Retrial",
    "agents_for_service_level",
    "average_speed_of_answer",
    "backlog_agents",
    "backlog_within",
    "callback_agents",
    "callback_queue",
    "chat_agents",
    "chat_queue",
    "engset",
    "engset_servers",
    "erlang_a",
    "erlang_a_abandon_probability",
    "erlang_a_agents",
    "erlang_a_average_wait",
    "erlang_a_service_level",
    "erlang_a_wait_probability",
    "erlang_b",
    "erlang_b_servers",
    "erlang_b_traffic",
    "erlang_c",
    "extended_erlang_b",
    "extended_erlang_b_servers",
    "link_capacity",
    "occupancy",
    "retrial",
    "retrial_servers",
    "retrial_traffic",
    "service_level",
]
