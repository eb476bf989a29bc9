r"""Asynchronous work (e-mail, SMS, social messages, callbacks): a fluid backlog over the day.

No Erlang formula applies when customers do not wait on the line: messages arrive at a rate
``a(t)`` (messages per hour, piecewise constant by hour of the day), ``c`` agents work them
first-in first-out at ``r = c * 3600 / aht`` messages per hour, and the backlog follows the fluid
equation [1]_ ::

    dB/dt = a(t) - r   while B > 0 or a(t) > r,   B >= 0.

With a constant processing rate a message that finds a backlog ``B`` is handled after ``B / r``
hours, so the share handled within a window ``W`` is the share of arrivals (weighted by ``a``)
that find ``B <= r W``. Within an hour ``B`` is linear (or pinned at 0), so both the backlog and
that share are computed exactly hour by hour. The day repeats: the computation runs until the
backlog at midnight settles (an unstable day, ``r * 24 < sum(a)``, never meets a target).

References
----------
.. [1] G. F. Newell, "Applications of queueing theory", Chapman and Hall, 1982, ch. 2-3 (fluid
   and diffusion approximations of queues under time-varying demand).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from surgeplan._arrays import as_float_arrays
from surgeplan.errors import SurgeplanError
from surgeplan.teletraffic._common import check
from surgeplan.teletraffic._fullline import smallest_integer

__all__ = ["DAY_PROFILE", "backlog_agents", "backlog_within"]

#: Relative arrivals by local hour 0..23 (busiest hour = 1): contact-centre opening hours with a
#: morning peak, the weekday curve of Gans, Koole & Mandelbaum (2003) as used by
#: ``surgeplan.simulate`` (``profiles.contact``); messages arrive like calls, only answered later.
DAY_PROFILE = np.array(
    [
        0.01,
        0.01,
        0.01,
        0.01,
        0.01,
        0.01,
        0.03,
        0.25,
        0.75,
        0.98,
        1.00,
        0.93,
        0.75,
        0.80,
        0.90,
        0.86,
        0.78,
        0.60,
        0.30,
        0.12,
        0.06,
        0.04,
        0.02,
        0.01,
    ]
)

_MAX_DAYS = 8


def _day(arrivals: np.ndarray, rate: np.ndarray, window_h: np.ndarray, b0: np.ndarray):
    """One day hour by hour: (backlog at midnight, messages within window, all messages)."""
    b = b0.copy()
    within = np.zeros(b.shape)
    limit = rate * window_h  # a message finding B <= limit is handled within the window
    for h in range(arrivals.shape[-1]):
        a = arrivals[..., h]
        slope = a - rate
        with np.errstate(divide="ignore", invalid="ignore"):
            # share of the hour with B <= limit: B(t) = b + slope t (growing), or max(b + slope t, 0)
            grow = np.clip((limit - b) / np.where(slope > 0, slope, 1.0), 0.0, 1.0)
            shrink = 1.0 - np.clip((b - limit) / np.where(slope < 0, -slope, 1.0), 0.0, 1.0)
        frac = np.where(slope > 0, grow, np.where(slope < 0, shrink, (b <= limit).astype(float)))
        within += a * frac
        b = np.maximum(b + slope, 0.0)
    return b, within, arrivals.sum(axis=-1)


def _share_within(arrivals: np.ndarray, rate: np.ndarray, window_h: np.ndarray) -> np.ndarray:
    b = np.zeros(rate.shape)
    share = np.zeros(rate.shape)
    stable = rate * arrivals.shape[-1] >= arrivals.sum(axis=-1)
    for _ in range(_MAX_DAYS):
        b_end, within, total = _day(arrivals, rate, window_h, b)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, within / total, 1.0)
        if np.allclose(b_end, b, rtol=1e-12, atol=1e-9):
            break
        b = b_end
    return np.where(stable, share, 0.0)


def _inputs(peak, aht, window, profile):
    x, h, w = as_float_arrays(peak, aht, window)
    check("busy_hour_rate", x, low=0.0, finite=True, unit="messages/h")
    check("handling_time", h, low=0.0, low_open=True, finite=True, unit="s")
    check("window", w, low=0.0, low_open=True, finite=True, unit="s")
    p = DAY_PROFILE if profile is None else np.asarray(profile, dtype=np.float64)
    if p.shape[-1] != 24 or not np.all(np.isfinite(p)) or np.any(p < 0) or not np.all(p.max(axis=-1) > 0):
        raise SurgeplanError("profile must hold 24 finite hourly values >= 0 with a positive peak")
    prof = p / p.max(axis=-1, keepdims=True)
    return x, h, w, prof


def backlog_within(
    busy_hour_rate: Any, handling_time: Any, agents: Any, window: Any = 14400.0, profile: Any = None
) -> np.ndarray:
    """Share of a day's messages handled within ``window`` seconds by ``agents`` (fluid FIFO).

    Parameters
    ----------
    busy_hour_rate : float or array_like
        Messages per hour in the day's busiest hour (the profile is scaled to it).
    handling_time : float or array_like
        Agent time per message, seconds.
    agents : float or array_like
        Agents working all day.
    window : float or array_like, default 14400
        Handled-within window, seconds (4 h).
    profile : array_like of 24 (or rows x 24), optional
        Relative arrivals by hour of the day; default :data:`DAY_PROFILE`.

    Returns
    -------
    numpy.ndarray
        Share in [0, 1] (0 for a day the agents cannot clear).

    References
    ----------
    .. [1] Newell (1982); see the module docstring.

    Examples
    --------
    >>> float(backlog_within(100, 360, 10))  # 10 agents handle 100 an hour: never a backlog
    1.0
    """
    x, h, w, prof = _inputs(busy_hour_rate, handling_time, window, profile)
    n = np.asarray(agents, dtype=np.float64)
    x, h, w, n = np.broadcast_arrays(x, h, w, n)
    arrivals = x[..., None] * prof
    return _share_within(arrivals, n * 3600.0 / h, w / 3600.0)


def backlog_agents(
    busy_hour_rate: Any, handling_time: Any, target: Any = 0.95, window: Any = 14400.0, profile: Any = None
) -> np.ndarray:
    """Fewest agents (working all day) who handle ``target`` of a day's messages within ``window``.

    Parameters
    ----------
    busy_hour_rate, handling_time, window, profile
        As in :func:`backlog_within`.
    target : float or array_like, default 0.95
        Share to handle within the window, in (0, 1].

    Returns
    -------
    numpy.ndarray
        Agents (0 for no messages).

    Examples
    --------
    >>> int(backlog_agents(100, 360, 0.95, 14400))  # 924 messages a day, 6 minutes each
    6
    """
    x, h, w, prof = _inputs(busy_hour_rate, handling_time, window, profile)
    (s,) = as_float_arrays(target)
    check("target", s, low=0.0, high=1.0, low_open=True)
    x, h, w, s = np.broadcast_arrays(x, h, w, s)
    arrivals = x[..., None] * prof

    def meets(n: np.ndarray) -> np.ndarray:
        return _share_within(arrivals, n * 3600.0 / h, w / 3600.0) >= s - 1e-12

    # the day's messages must be cleared within the day: at least the mean rate
    lo = np.maximum(np.ceil(arrivals.sum(axis=-1) * h / 3600.0 / 24.0) - 1.0, 0.0)
    out = smallest_integer(meets, lo, np.ceil(x * h / 3600.0))
    return np.where(x > 0, out, 0.0)
