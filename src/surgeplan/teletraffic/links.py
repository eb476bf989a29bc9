"""Data-link sizing: modules of 10/100/400 Gbps under a busy-hour utilisation ceiling, with N+1.

Units: traffic and capacities in Gbps, utilisation as a fraction of capacity.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from surgeplan._arrays import as_float_arrays, like_input
from surgeplan.teletraffic._common import check

__all__ = ["LinkCapacity", "link_capacity"]

#: Relative slack when rounding module counts up, so 70 Gbps at 0.7 x 100G is one module, not two
#: (``70 / (0.7 * 100)`` is 1.0000000000000002 in binary floating point).
_ROUND_SLACK = 1e-9


class LinkCapacity(NamedTuple):
    """Result of :func:`link_capacity` (fields have the broadcast input shape).

    Attributes
    ----------
    modules : number of modules (whole numbers).
    capacity_gbps : installed capacity, ``modules * module_gbps``, Gbps.
    utilization : busy-hour utilisation with every module up, ``peak / capacity``.
    utilization_after_failure : utilisation after the largest member fails, whether or not the
        sizing asked for N+1 (NaN when no capacity is left but there is traffic; 0 without traffic).
    """

    modules: Any
    capacity_gbps: Any
    utilization: Any
    utilization_after_failure: Any


def link_capacity(
    peak_gbps: Any,
    module_gbps: Any = 100.0,
    utilization_max: Any = 0.7,
    n_plus_one: bool = True,
    failure_gbps: Any = None,
    min_modules: Any = 1,
) -> LinkCapacity:
    r"""Modules needed to keep a link (bundle) under a utilisation ceiling, also after a failure.

    With ``m`` modules of ``c`` Gbps and a failure that removes ``f`` Gbps (by default one module,
    the largest member of a bundle of equal modules), the smallest ``m`` with

    .. math::

        \text{peak} \le u_{max} \, m c \quad\text{and, with N+1,}\quad
        \text{peak} \le u_{max} \, (m c - f)

    is ``m = ceil((peak / u_max + f) / c)`` (at least ``min_modules``).

    The link grade of service is one thing everywhere (``surgeplan.kinds.KINDS['link'].gos``): the
    ceiling holds with every member up and after the largest member of the link's *group* fails.
    The unit of failure is a group member (an inventory resource). ``n_plus_one=True`` treats the
    modules of this one link as the members of a group (a LAG of equal ports), which is what
    :func:`surgeplan.dimension.dimension` does for a group of one-module links; a link alone in an
    inventory is sized like ``n_plus_one=False`` (its own failure cannot be survived by itself);
    a member of a group with other members, like ``failure_gbps`` = the group's largest member
    (:func:`surgeplan.dimension.link.n_plus_one_modules` finds the cheapest upgrade of the group).

    Parameters
    ----------
    peak_gbps : float, array_like or pandas.Series
        Busy-hour peak traffic, Gbps (>= 0), e.g. a forecast quantile.
    module_gbps : float, array_like or pandas.Series, default 100
        Capacity of one module (10, 100, 400 ...), Gbps (> 0).
    utilization_max : float, array_like or pandas.Series, default 0.7
        Utilisation ceiling in (0, 1].
    n_plus_one : bool, default True
        Keep the ceiling after the largest member fails.
    failure_gbps : float, array_like or pandas.Series, optional
        Capacity lost in the worst single failure, Gbps (default: one module). Use it when the link
        is one member of a larger group whose biggest member is bigger than one module.
    min_modules : int, array_like or pandas.Series, default 1
        Fewest modules to install (whole number >= 0).

    Returns
    -------
    LinkCapacity
        ``(modules, capacity_gbps, utilization, utilization_after_failure)``.

    Raises
    ------
    SurgeplanError
        Negative or infinite traffic, non-positive module size, ceiling outside (0, 1].

    References
    ----------
    .. [1] ITU-T Recommendation E.500, "Traffic intensity measurement principles" (busy hour).
    .. [2] Common operator practice: keep busy-hour utilisation of packet links below 60-70% and
       plan N+1 so the survivors stay under the ceiling (e.g. ITU-T Y.1541 performance targets).

    Examples
    --------
    >>> r = link_capacity(150.0, 100.0, 0.7)
    >>> int(r.modules), r.capacity_gbps, round(r.utilization_after_failure, 3)
    (4, 400.0, 0.5)
    """
    peak, c, u, mm = as_float_arrays(peak_gbps, module_gbps, utilization_max, min_modules)
    check("peak_gbps", peak, low=0.0, finite=True, unit="Gbps")
    check("module_gbps", c, low=0.0, low_open=True, finite=True, unit="Gbps")
    check("utilization_max", u, low=0.0, high=1.0, low_open=True)
    check("min_modules", mm, low=0.0, finite=True, integer=True)
    if failure_gbps is None:
        f_fail = c
    else:
        (f_fail,) = as_float_arrays(failure_gbps)
        check("failure_gbps", f_fail, low=0.0, finite=True, unit="Gbps")
    peak, c, u, mm, f_fail = np.broadcast_arrays(peak, c, u, mm, f_fail)
    f_size = f_fail if n_plus_one else np.zeros_like(f_fail)
    need = (peak / u + f_size) / c
    modules = np.maximum(np.ceil(need * (1.0 - _ROUND_SLACK)), mm)
    cap = modules * c
    left = cap - f_fail
    with np.errstate(invalid="ignore", divide="ignore"):
        util = np.where(peak == 0.0, 0.0, peak / cap)
        util_f = np.where(peak == 0.0, 0.0, np.where(left > 0, peak / left, np.nan))
    nan = np.isnan(peak) | np.isnan(c) | np.isnan(u)
    modules = np.where(nan, np.nan, modules)
    cap = np.where(nan, np.nan, cap)
    t = (peak_gbps, module_gbps, utilization_max, min_modules, failure_gbps)
    templates = tuple(x for x in t if x is not None)
    return LinkCapacity(
        like_input(modules, *templates, name="modules"),
        like_input(cap, *templates, name="capacity_gbps"),
        like_input(util, *templates, name="utilization"),
        like_input(util_f, *templates, name="utilization_after_failure"),
    )
