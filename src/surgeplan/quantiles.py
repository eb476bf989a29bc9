"""One quantile concept: the probability ``q`` and the forecast column that holds it.

A forecast column is named ``'p'`` + the percentage: ``0.9 -> 'p90'``, ``0.975 -> 'p97.5'``,
``0.9999999 -> 'p99.99999'``. Every layer (forecast, dimension, plan, backtest, settings) names and
reads quantile columns through this module, so a quantile is normalised once, here.

``'mean'`` is a forecast column too (the predictive mean) but not a quantile: :func:`column`
accepts it, :func:`parse` refuses it.
"""

from __future__ import annotations

import math
import re

from surgeplan.errors import SurgeplanError

__all__ = ["MEAN", "column", "is_column", "parse", "parse_list"]

#: The forecast column of the predictive mean.
MEAN = "mean"

#: Decimals kept in a percentage: 10 keeps 0.9999999 apart from 1 (``p99.99999``), and drops the
#: binary noise of ``0.9 * 100 = 90.00000000000001``.
_PCT_DECIMALS = 10

_COLUMN = re.compile(r"^p(\d+(?:\.\d+)?)$")


def _check(q: float, given: object) -> float:
    if not (isinstance(q, float) and math.isfinite(q) and 0.0 < q < 1.0):
        raise SurgeplanError(
            f"quantile must be a probability in (0, 1) or a column like 'p90'; got {given!r}"
        )
    return q


def parse(quantile: str | float) -> float:
    """The probability of a quantile given as a number or a column name.

    Parameters
    ----------
    quantile : float or str
        ``0.9``, ``'0.9'`` or ``'p90'``.

    Returns
    -------
    float
        The probability in (0, 1).

    Examples
    --------
    >>> parse("p97.5")
    0.975
    >>> parse(0.9)
    0.9
    """
    if isinstance(quantile, bool):
        raise SurgeplanError(
            f"quantile must be a probability in (0, 1) or a column like 'p90'; got {quantile!r}"
        )
    if isinstance(quantile, str):
        text = quantile.strip()
        m = _COLUMN.match(text)
        if m:
            return _check(round(float(m.group(1)) / 100.0, _PCT_DECIMALS + 2), quantile)
        try:
            return _check(float(text), quantile)
        except ValueError:
            raise SurgeplanError(
                f"quantile must be a probability in (0, 1) or a column like 'p90'; got {quantile!r}"
            ) from None
    try:
        return _check(float(quantile), quantile)
    except (TypeError, ValueError):
        raise SurgeplanError(
            f"quantile must be a probability in (0, 1) or a column like 'p90'; got {quantile!r}"
        ) from None


def column(quantile: str | float) -> str:
    """The forecast column of a quantile (``0.9 -> 'p90'``); ``'mean'`` is returned as it is.

    Examples
    --------
    >>> column(0.975)
    'p97.5'
    >>> column("p90")
    'p90'
    """
    if isinstance(quantile, str) and quantile.strip() == MEAN:
        return MEAN
    pct = round(parse(quantile) * 100.0, _PCT_DECIMALS)
    return "p" + f"{pct:.{_PCT_DECIMALS}f}".rstrip("0").rstrip(".")


def is_column(name: object) -> bool:
    """True when ``name`` is a quantile column (``'p90'``, ``'p97.5'``); False for ``'mean'``."""
    if not isinstance(name, str):
        return False
    m = _COLUMN.match(name)
    return bool(m) and 0.0 < float(m.group(1)) < 100.0


def parse_list(values: str | list | tuple, what: str = "quantiles") -> tuple[float, ...]:
    """Sorted unique probabilities from ``"0.1,0.5,0.9"``, ``"p10,p90"`` or a sequence."""
    items = [v.strip() for v in values.split(",") if v.strip()] if isinstance(values, str) else list(values)
    if not items:
        raise SurgeplanError(f"{what}: at least one quantile is needed")
    try:
        return tuple(sorted({parse(v) for v in items}))
    except SurgeplanError as exc:
        raise SurgeplanError(f"{what}: {exc}") from None
