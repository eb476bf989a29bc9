"""Input checks shared by the teletraffic modules (private)."""

from __future__ import annotations

import numpy as np

from surgeplan.errors import SurgeplanError


def check(
    name: str,
    values: np.ndarray,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = False,
    integer: bool = False,
    unit: str = "",
) -> None:
    """Raise SurgeplanError naming ``name`` if any non-NaN value is outside the allowed range.

    NaN values pass (they propagate to NaN results, the pandas convention for missing data).
    """
    v = np.asarray(values)
    ok = np.isnan(v)
    bad = np.zeros(v.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        if low is not None:
            bad |= (v <= low) if low_open else (v < low)
        if high is not None:
            bad |= (v >= high) if high_open else (v > high)
        if finite:
            bad |= np.isinf(v)
        if integer:
            bad |= np.isfinite(v) & (v != np.floor(v))
    bad &= ~ok
    if bad.any():
        first = float(v[bad].flat[0])
        count = int(bad.sum())
        if low is not None and high is not None:
            rng = "in " + f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        elif low is not None:
            rng = f"{'>' if low_open else '>='} {low:g}"
        elif high is not None:
            rng = f"{'<' if high_open else '<='} {high:g}"
        else:
            rng = "finite"
        what = []
        if integer:
            what.append("whole numbers")
        if finite:
            what.append("finite")
        extra = f" ({', '.join(what)})" if what else ""
        u = f" {unit}" if unit else ""
        raise SurgeplanError(
            f"{name} must be {rng}{u}{extra}; got {first:g}" + (f" and {count - 1} more" if count > 1 else "")
        )


def flat(*arrays: np.ndarray) -> list[np.ndarray]:
    """Contiguous 1-d float64 views of broadcast arrays (for the numba drivers)."""
    return [np.ascontiguousarray(a, dtype=np.float64).ravel() for a in arrays]


_SCALAR_TYPES = (int, float, np.integer, np.floating)


def all_scalars(*values: object) -> bool:
    """True when every value is a plain real scalar (the per-call fast path applies)."""
    return all(isinstance(v, _SCALAR_TYPES) for v in values)
