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
    f = _Frame(width, height, t0, t1, y1 if y1 > 0 else 1.0)
    out = [
        (
            f'<svg viewBox="0 0 {width} {height}" class="chart" role="img" '
            f'aria-label="load against capacity ({escape(unit)})" preserveAspectRatio="xMidYMid meet">'
        )
    ]
    out += _grid(f)
    out += _band_shapes(f, bands)
    out += _line_shapes(f, lines)
    out += _reference_lines(f, hlines)
    out += _legend(
        f,
        [(s.label, s.css) for s in lines]
        + [(b.label, b.css) for b in bands]
        + [(h[0], h[2]) for h in hlines],
    )
    out.append(f'<text x="4" y="{f.top + 10}" class="tick">{escape(unit)}</text></svg>')
    return "".join(out)


@dataclass
class _Frame:
    """The plot area (pixels) and its scales: time in ns since the epoch across, load up from 0 to ``y1``."""

    width: int
    height: int
    t0: int
    t1: int
    y1: float
    left: int = 64
    right: int = 12
    top: int = 12
    bottom: int = 40

    @property
    def pw(self) -> int:
        return self.width - self.left - self.right

    @property
    def ph(self) -> int:
        return self.height - self.top - self.bottom

    def px(self, ts) -> np.ndarray:
        v = (
            pd.to_datetime(ts, utc=True).astype("int64").to_numpy()
            if not isinstance(ts, int)
            else np.array([ts])
        )
        return self.left + (v - self.t0) / (self.t1 - self.t0) * self.pw

    def py(self, v) -> np.ndarray:
        return self.top + self.ph - np.asarray(v, dtype=float) / self.y1 * self.ph


def _grid(f: _Frame) -> list[str]:
    """Horizontal grid lines at round loads, vertical ones at (at most about 8) midnights UTC."""
    out = []
    for tick in _nice_ticks(0.0, f.y1):
        y = float(f.py(tick))
        out.append(
            f'<line x1="{f.left}" x2="{f.width - f.right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{f.left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{_fmt(tick)}</text>'
        )
    days = pd.date_range(pd.Timestamp(f.t0, tz="UTC").ceil("D"), pd.Timestamp(f.t1, tz="UTC"), freq="D")
    stride = max(1, int(np.ceil(len(days) / 8)))
    for d in days[::stride]:
        x = float(f.px(pd.Series([d]))[0])
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{f.top}" y2="{f.top + f.ph}" class="grid"/>'
            f'<text x="{x:.1f}" y="{f.height - f.bottom + 16}" class="tick" '
            f'text-anchor="middle">{d:%d %b}</text>'
        )
    return out


def _band_shapes(f: _Frame, bands: list[Band]) -> list[str]:
    """One polygon a band: along its high edge, back along its low edge."""
    out = []
    for b in bands:
        if not len(b.ts):
            continue
        x = f.px(b.ts)
        pts = " ".join(f"{a:.1f},{c:.1f}" for a, c in zip(x, f.py(b.high), strict=True))
        pts += " " + " ".join(f"{a:.1f},{c:.1f}" for a, c in zip(x[::-1], f.py(b.low)[::-1], strict=True))
        out.append(f'<polygon points="{pts}" class="{b.css}"><title>{escape(b.label)}</title></polygon>')
    return out


def _line_shapes(f: _Frame, lines: list[Line]) -> list[str]:
    """A polyline a series, or dots; missing values left out."""
    out = []
    for s in lines:
        if not len(s.ts):
            continue
        x, y = f.px(s.ts), f.py(s.values)
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
    return out


def _reference_lines(f: _Frame, hlines: list[tuple[str, float, str]]) -> list[str]:
    """Horizontal lines across the plot (e.g. capacity), those with a finite value."""
    out = []
    for label, value, css in hlines:
        if value is not None and np.isfinite(value):
            y = float(f.py(value))
            out.append(
                f'<line x1="{f.left}" x2="{f.width - f.right}" y1="{y:.1f}" y2="{y:.1f}" class="{css}">'
                f"<title>{escape(label)}</title></line>"
            )
    return out


def _legend(f: _Frame, entries: list[tuple[str, str]]) -> list[str]:
    """A key a series along the bottom edge, spaced by the length of its label."""
    out = []
    x = f.left
    for label, css in entries:
        out.append(
            f'<rect x="{x}" y="{f.height - 14}" width="12" height="8" class="{css} key"/>'
            f'<text x="{x + 16}" y="{f.height - 6}" class="tick">{escape(label)}</text>'
        )
        x += 22 + 7 * len(label)
    return out
