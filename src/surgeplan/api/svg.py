"""Server-rendered SVG charts (no JavaScript library, no network): load against capacity over time."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd

__all__ = ["Band", "Line", "time_chart"]


@dataclass
class Line:
    label: str
    ts: pd.Series
    values: np.ndarray
    css: str
    dots: bool = False


@dataclass
class Band:
    label: str
    ts: pd.Series
    low: np.ndarray
    high: np.ndarray
    css: str


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** np.floor(np.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    return list(np.arange(np.ceil(lo / step) * step, hi + step * 0.5, step))


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def time_chart(
    lines: list[Line],
    bands: list[Band],
    hlines: list[tuple[str, float, str]],
    unit: str,
    width: int = 880,
    height: int = 300,
) -> str:
    """An SVG with lines, shaded bands and horizontal reference lines over UTC time (responsive width)."""
    left, right, top, bottom = 64, 12, 12, 40
    xs = [pd.to_datetime(s.ts, utc=True) for s in (*lines, *bands) if len(s.ts)]
    if not xs:
        return '<p class="muted">No data to chart yet.</p>'
    t_all = pd.concat([pd.Series(x) for x in xs])
    t0, t1 = t_all.min().value, t_all.max().value
    if t1 <= t0:
        t1 = t0 + 3_600_000_000_000
    vals = (
        [v for s in lines for v in s.values] + [v for b in bands for v in b.high] + [h for _, h, _ in hlines]
    )
    vals = np.asarray([v for v in vals if v is not None and np.isfinite(v)], dtype=float)
    y1 = float(vals.max()) * 1.08 if len(vals) else 1.0
    y1 = y1 if y1 > 0 else 1.0
    pw, ph = width - left - right, height - top - bottom

    def px(ts) -> np.ndarray:
        v = (
            pd.to_datetime(ts, utc=True).astype("int64").to_numpy()
            if not isinstance(ts, int)
            else np.array([ts])
        )
        return left + (v - t0) / (t1 - t0) * pw

    def py(v) -> np.ndarray:
        return top + ph - np.asarray(v, dtype=float) / y1 * ph

    out = [
        (
            f'<svg viewBox="0 0 {width} {height}" class="chart" role="img" '
            f'aria-label="load against capacity ({escape(unit)})" preserveAspectRatio="xMidYMid meet">'
        )
    ]
    for tick in _nice_ticks(0.0, y1):
        y = float(py(tick))
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{_fmt(tick)}</text>'
        )
    days = pd.date_range(pd.Timestamp(t0, tz="UTC").ceil("D"), pd.Timestamp(t1, tz="UTC"), freq="D")
    stride = max(1, int(np.ceil(len(days) / 8)))
    for d in days[::stride]:
        x = float(px(pd.Series([d]))[0])
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}" class="grid"/>'
            f'<text x="{x:.1f}" y="{height - bottom + 16}" class="tick" text-anchor="middle">{d:%d %b}</text>'
        )
    for b in bands:
        if not len(b.ts):
            continue
        x = px(b.ts)
        pts = " ".join(f"{a:.1f},{c:.1f}" for a, c in zip(x, py(b.high), strict=True))
        pts += " " + " ".join(f"{a:.1f},{c:.1f}" for a, c in zip(x[::-1], py(b.low)[::-1], strict=True))
        out.append(f'<polygon points="{pts}" class="{b.css}"><title>{escape(b.label)}</title></polygon>')
    for s in lines:
        if not len(s.ts):
            continue
        x, y = px(s.ts), py(s.values)
        ok = np.isfinite(y)
        if s.dots:
            out += [
                f'<circle cx="{a:.1f}" cy="{c:.1f}" r="3" class="{s.css}"/>'
                for a, c in zip(x[ok], y[ok], strict=True)
            ]
        else:
            pts = " ".join(f"{a:.1f},{c:.1f}" for a, c in zip(x[ok], y[ok], strict=True))
            out.append(
                f'<polyline points="{pts}" class="{s.css}"><title>{escape(s.label)}</title></polyline>'
            )
    for label, value, css in hlines:
        if value is not None and np.isfinite(value):
            y = float(py(value))
            out.append(
                f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="{css}">'
                f"<title>{escape(label)}</title></line>"
            )
    legend = (
        [(s.label, s.css) for s in lines] + [(b.label, b.css) for b in bands] + [(h[0], h[2]) for h in hlines]
    )
    x = left
    for label, css in legend:
        out.append(
            f'<rect x="{x}" y="{height - 14}" width="12" height="8" class="{css} key"/>'
            f'<text x="{x + 16}" y="{height - 6}" class="tick">{escape(label)}</text>'
        )
        x += 22 + 7 * len(label)
    out.append(f'<text x="4" y="{top + 10}" class="tick">{escape(unit)}</text></svg>')
    return "".join(out)
