"""Server-side SVG price charts: candlesticks for a few bars, a close line otherwise.

Big ranges never reach Python bar by bar: the database cuts the range into BUCKETS time
buckets (min and max close each, see SeriesStore.buckets) and the line runs through
each bucket's low and high, which at one or two pixels per bucket draws the same picture
as every bar would. So 500,000 bars cost one bucketed query plus ~800 points of SVG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from markupsafe import Markup, escape

from collector import SeriesStore, interval_seconds

WIDTH, HEIGHT = 960, 340
LEFT, RIGHT, TOP, BOTTOM = 8, 70, 12, 26
BUCKETS = 400
CANDLES_UP_TO = 150  # bars in range; more and candles get thinner than 3 px
RAW_LINE_UP_TO = 2_000


@dataclass
class ChartData:
    mode: str  # "candles", "line", "envelope" or "empty"
    ts: np.ndarray
    values: tuple[np.ndarray, ...]  # candles: open, high, low, close; line: close; envelope: min, max
    bars: int  # bars in the range
    start: int  # the range drawn, epoch seconds
    end: int


def load(store: SeriesStore, sid: int, interval: str, start: int, end: int) -> ChartData:
    """What the chart of [start, end) needs, read the cheapest way for its size."""
    lo, hi = store.span(sid, start, end)
    if lo is None:
        return ChartData("empty", np.array([], dtype=np.int64), (), 0, start, end)
    start, end = lo, hi + interval_seconds(interval)
    estimate = (end - start) / interval_seconds(interval)
    if estimate > 20 * RAW_LINE_UP_TO:
        buckets = store.buckets(sid, start, end, BUCKETS)
        return ChartData("envelope", buckets.ts, (buckets.close_min, buckets.close_max), buckets.count, start, end)
    rows = store.bars(sid, start, end)
    cols = [np.array(col) for col in zip(*rows)] if rows else []
    ts = cols[0].astype(np.int64)
    if len(rows) <= CANDLES_UP_TO:
        values = tuple(c.astype(np.float64) for c in cols[1:5])
        return ChartData("candles", ts, values, len(rows), start, end)
    if len(rows) > RAW_LINE_UP_TO:  # an estimate that was off: bucket in numpy instead
        edges = np.linspace(start, end, BUCKETS + 1)
        which = np.clip(np.searchsorted(edges, ts, side="right") - 1, 0, BUCKETS - 1)
        close = cols[4].astype(np.float64)
        keep = np.flatnonzero(np.r_[True, np.diff(which) > 0])
        return ChartData("envelope", ts[keep], (np.minimum.reduceat(close, keep), np.maximum.reduceat(close, keep)),
                         len(rows), start, end)
    return ChartData("line", ts, (cols[4].astype(np.float64),), len(rows), start, end)


def render(data: ChartData, label: str) -> Markup:
    """The chart as an inline <svg> element."""
    title = f"{label}: {_describe(data)}"
    head = (f'<svg class="chart price" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
            f'data-mode="{data.mode}" data-bars="{data.bars}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{escape(title)}</title>")
    if data.mode == "empty":
        return Markup(head + f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="axis">'
                      "No bars in this range</text></svg>")
    low = min(float(np.nanmin(v)) for v in data.values)
    high = max(float(np.nanmax(v)) for v in data.values)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.04
    low, high = low - pad, high + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(ts):
        return LEFT + (np.asarray(ts, dtype=np.float64) - data.start) / max(1, data.end - data.start) * plot_w

    def y(price):
        return TOP + (high - np.asarray(price, dtype=np.float64)) / (high - low) * plot_h

    parts = [head, _y_axis(low, high, y)]
    if data.mode == "candles":
        # Candles sit side by side (nights and weekends take no room), as traders expect.
        slot = plot_w / data.ts.size
        xs = LEFT + (np.arange(data.ts.size) + 0.5) * slot
        ticks = np.unique(np.linspace(0, data.ts.size - 1, min(5, data.ts.size)).round().astype(int))
        parts.append(_x_axis([(float(xs[i]), int(data.ts[i])) for i in ticks], data.end - data.start))
        parts.append(_candles(data, xs, y, max(1.0, min(14.0, slot * 0.7))))
    else:
        span = max(1, data.end - data.start)
        ticks = [data.start + span * (i + 0.5) / 5 for i in range(5)]
        parts.append(_x_axis([(float(x(t)), int(t)) for t in ticks], span))
        if data.mode == "line":
            parts.append(_polyline(x(data.ts), y(data.values[0])))
        else:
            parts.append(_envelope(x(data.ts), y(data.values[0]), y(data.values[1])))
    parts.append("</svg>")
    return Markup("".join(parts))


def _polyline(xs: np.ndarray, ys: np.ndarray) -> str:
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs.tolist(), ys.tolist()))
    return f'<polyline class="close" fill="none" points="{points}"/>'


def _envelope(xs: np.ndarray, y_min: np.ndarray, y_max: np.ndarray) -> str:
    """Through each bucket's low and high, in the order that continues the line best."""
    px, py = [], []
    last = None
    for a, lo, hi in zip(xs.tolist(), y_min.tolist(), y_max.tolist()):
        first, second = (lo, hi) if last is None or abs(last - lo) <= abs(last - hi) else (hi, lo)
        px += [a, a]
        py += [first, second]
        last = second
    return _polyline(np.array(px), np.array(py))


def _candles(data: ChartData, xs: np.ndarray, y, body: float) -> str:
    open_, high, low, close = data.values
    out = []
    for cx, o, h, lo_, c, up in zip(xs.tolist(), y(open_).tolist(), y(high).tolist(), y(low).tolist(),
                                    y(close).tolist(), (close >= open_).tolist()):
        top, height = min(o, c), max(0.8, abs(o - c))
        out.append(f'<g class="{"up" if up else "down"}"><line x1="{cx:.1f}" x2="{cx:.1f}" y1="{h:.1f}" y2="{lo_:.1f}"/>'
                   f'<rect x="{cx - body / 2:.1f}" y="{top:.1f}" width="{body:.1f}" height="{height:.1f}"/></g>')
    return "".join(out)


def _y_axis(low: float, high: float, y) -> str:
    step = _nice_step((high - low) / 5)
    first = math.ceil(low / step) * step
    digits = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    out = []
    value = first
    while value <= high:
        py = float(y(value))
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py:.1f}" y2="{py:.1f}"/>'
                   f'<text class="axis" x="{WIDTH - RIGHT + 6}" y="{py + 4:.1f}">{value:,.{digits}f}</text>')
        value += step
    return "".join(out)


def _x_axis(ticks: list[tuple[float, int]], span: int) -> str:
    fmt = "%Y-%m" if span > 3 * 365 * 86400 else "%Y-%m-%d" if span > 3 * 86400 else "%m-%d %H:%M"
    return "".join(f'<text class="axis" x="{px:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                   f'{datetime.fromtimestamp(ts, timezone.utc).strftime(fmt)}</text>' for px, ts in ticks)


def _nice_step(raw: float) -> float:
    raw = max(raw, 1e-9)
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5, 10):
        if raw <= mult * power:
            return mult * power
    return 10 * power


def _describe(data: ChartData) -> str:
    if data.mode == "empty":
        return "no bars"
    kind = {"candles": "candlesticks", "line": "close", "envelope": "close, downsampled"}[data.mode]
    first = datetime.fromtimestamp(data.start, timezone.utc).strftime("%Y-%m-%d %H:%M")
    last = datetime.fromtimestamp(data.end, timezone.utc).strftime("%Y-%m-%d %H:%M")
    return f"{data.bars:,} bars, {kind}, {first} to {last} UTC"
