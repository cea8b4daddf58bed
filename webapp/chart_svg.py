"""Drawing the price chart: an inline SVG of layers (grid, session breaks, volume, prices,
crosshair) over a Layout, plus HTML for the axis labels (text stays readable however wide the
chart is drawn) and the slots' figures as JSON for the crosshair readout and zooming (app.js).

Each layer is a small function `(layout, data) -> str`; more (markers, say) can be passed to
`render` in `layers` and are drawn above the prices.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable

import numpy as np
from babel.dates import format_datetime
from babel.numbers import format_decimal
from markupsafe import Markup, escape

from .charts import ChartData
from .filters import thousands
from .i18n import formatted, gettext, ngettext, pgettext, reader_locale

WIDTH, HEIGHT = 960, 400  # the viewBox; the SVG stretches to the page's width
LEFT, RIGHT, TOP, BOTTOM = 6, 70, 10, 26  # room for the labels drawn over it in HTML
VOLUME_SHARE = 0.18  # the volume panel's share of the plot's height

Layer = Callable[["Layout", ChartData], str]


@dataclass(frozen=True)
class Layout:
    """Where slots and prices land in the viewBox."""

    slots: int
    low: float
    high: float

    @property
    def slot_w(self) -> float:
        return (WIDTH - LEFT - RIGHT) / max(1, self.slots)

    @property
    def price_bottom(self) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - VOLUME_SHARE) - 6

    @property
    def volume_top(self) -> float:
        return self.price_bottom + 8

    def x(self, index) -> np.ndarray:
        """The centre of slot `index` (an int or an array of them)."""
        return LEFT + (np.asarray(index, dtype=np.float64) + 0.5) * self.slot_w

    def y(self, price) -> np.ndarray:
        span = self.high - self.low
        return TOP + (self.high - np.asarray(price, dtype=np.float64)) / span * (self.price_bottom - TOP)


def layout_for(data: ChartData) -> Layout:
    values = [data.low, data.high] if data.mode == "candles" else [data.close_min, data.close_max]
    low = float(np.nanmin([np.nanmin(v) for v in values]))
    high = float(np.nanmax([np.nanmax(v) for v in values]))
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.04
    return Layout(data.slots, low - pad, high + pad)


def render(data: ChartData, label: str, decimals: int, *, zoom_url: str = "",
           layers: Iterable[Layer] = ()) -> Markup:
    """The chart as HTML: the SVG, its axis labels and the readout's data."""
    title = escape(gettext("%(series)s: %(description)s", series=label, description=describe(data)))
    head = (f'<svg class="chart price" viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none" role="img" '
            f'aria-label="{title}" data-mode="{data.mode}" data-bars="{data.bars}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{title}</title>")
    if data.mode == "empty":
        return Markup(f'<div class="price-chart">{head}</svg><div class="chart-labels" aria-hidden="true">'
                      f'<span class="x" style="left:50%;bottom:50%">{escape(gettext("No bars in this range"))}</span>'
                      '</div></div>')
    layout = layout_for(data)
    y_ticks = _y_ticks(layout)
    drawn = [_grid(layout, y_ticks), _session_breaks(layout, data), _volume(layout, data), _prices(layout, data)]
    drawn += [layer(layout, data) for layer in layers]
    drawn.append(_crosshair())
    labels = _labels(layout, data, y_ticks)
    figures = json.dumps(_figures(data, decimals, zoom_url), separators=(",", ":"))
    figures = figures.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(f'<div class="price-chart" data-chart tabindex="0" aria-describedby="chart-help">'
                  f'{head}{"".join(drawn)}</svg>{labels}<div class="readout" hidden></div>'
                  f'<script type="application/json" class="chart-figures">{figures}</script></div>')


def _prices(layout: Layout, data: ChartData) -> str:
    if data.mode == "candles":
        return _candles(layout, data)
    if data.mode == "line":
        return _polyline(layout.x(np.arange(data.slots)), layout.y(data.close))
    return _envelope(layout, data)


def _candles(layout: Layout, data: ChartData) -> str:
    body = max(1.0, min(14.0, layout.slot_w * 0.7))
    out = []
    for cx, o, h, lo_, c, up in zip(layout.x(np.arange(data.slots)).tolist(), layout.y(data.open).tolist(),
                                    layout.y(data.high).tolist(), layout.y(data.low).tolist(),
                                    layout.y(data.close).tolist(), (data.close >= data.open).tolist()):
        top, height = min(o, c), max(0.8, abs(o - c))
        out.append(f'<g class="{"up" if up else "down"}"><line x1="{cx:.1f}" x2="{cx:.1f}" y1="{h:.1f}" y2="{lo_:.1f}"/>'
                   f'<rect x="{cx - body / 2:.1f}" y="{top:.1f}" width="{body:.1f}" height="{height:.1f}"/></g>')
    return "".join(out)


def _polyline(xs: np.ndarray, ys: np.ndarray) -> str:
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs.tolist(), ys.tolist()))
    return f'<polyline class="close" fill="none" points="{points}"/>'


def _envelope(layout: Layout, data: ChartData) -> str:
    """Through each slot's lowest and highest close, in the order that continues the line best."""
    px, py = [], []
    last = None
    for a, lo, hi in zip(layout.x(np.arange(data.slots)).tolist(), layout.y(data.close_min).tolist(),
                         layout.y(data.close_max).tolist()):
        first, second = (lo, hi) if last is None or abs(last - lo) <= abs(last - hi) else (hi, lo)
        px += [a, a]
        py += [first, second]
        last = second
    return _polyline(np.array(px), np.array(py))


def _volume(layout: Layout, data: ChartData) -> str:
    top = float(np.nanmax(data.volume)) if data.volume.size else 0.0
    if top <= 0:
        return ""
    height = HEIGHT - BOTTOM - layout.volume_top
    w = max(0.6, layout.slot_w * 0.8)
    bars = (f'<rect x="{x - w / 2:.1f}" y="{HEIGHT - BOTTOM - h:.1f}" width="{w:.1f}" height="{h:.1f}"/>'
            for x, h in zip(layout.x(np.arange(data.slots)).tolist(), (data.volume / top * height).tolist()) if h > 0)
    return f'<g class="volume">{"".join(bars)}</g>'


def _session_breaks(layout: Layout, data: ChartData) -> str:
    """A dotted line where time was left out between two slots (a night, a weekend), when few."""
    if data.mode == "envelope":
        return ""
    skipped = np.flatnonzero(data.ts[1:] - data.last[:-1] > 1.5 * data.step) + 1
    if not 0 < skipped.size <= 60:
        return ""
    xs = (LEFT + skipped * layout.slot_w).tolist()
    return "".join(f'<line class="session" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>' for x in xs)


def _grid(layout: Layout, ticks: list[tuple[float, str]]) -> str:
    return "".join(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py:.1f}" y2="{py:.1f}"/>' for py, _ in ticks)


def _crosshair() -> str:
    return (f'<line class="crosshair" x1="0" x2="0" y1="{TOP}" y2="{HEIGHT - BOTTOM}" visibility="hidden"/>'
            f'<rect class="zoom-box" x="0" y="{TOP}" width="0" height="{HEIGHT - BOTTOM - TOP}" visibility="hidden"/>')


def _y_ticks(layout: Layout) -> list[tuple[float, str]]:
    step = _nice_step((layout.high - layout.low) / 5)
    digits = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    ticks, value = [], math.ceil(layout.low / step) * step
    while value <= layout.high:
        ticks.append((float(layout.y(value)), format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""),
                                                             locale=reader_locale())))
        value += step
    return ticks


def _x_ticks(data: ChartData, count: int = 6) -> list[tuple[int, str]]:
    """Up to `count` slots to label, evenly spread, each label different from the one before."""
    span = int(data.last[-1] - data.ts[0]) + data.step
    pattern = ("yyyy" if span > 3 * 365 * 86400 else "MMM yyyy" if span > 120 * 86400 else "d MMM" if span > 4 * 86400
               else "d MMM HH:mm" if span > 86400 else "HH:mm")
    seen, ticks = set(), []
    for index in sorted({round(i * (data.slots - 1) / (count - 1)) for i in range(count)}):
        moment = datetime.fromtimestamp(int(data.ts[index]), timezone.utc)
        text = formatted(format_datetime(moment, pattern, tzinfo=timezone.utc, locale=reader_locale()))
        if text not in seen:
            seen.add(text)
            ticks.append((index, text))
    return ticks


def _labels(layout: Layout, data: ChartData, y_ticks: list[tuple[float, str]]) -> str:
    """Axis labels as HTML over the SVG, placed in percent of its box."""
    out = [f'<span class="y" style="top:{py / HEIGHT * 100:.2f}%">{text}</span>' for py, text in y_ticks]
    ticks = _x_ticks(data)
    for n, (index, text) in enumerate(ticks):
        edge = " first" if n == 0 else " last" if n == len(ticks) - 1 and n else ""
        minor = " minor" if 0 < n < len(ticks) - 1 and n % 2 else ""
        left = (float(layout.x(index)) if not edge else LEFT if n == 0 else WIDTH - RIGHT) / WIDTH * 100
        shown = f'{escape(text)} <span translate="no">UTC</span>' if n == 0 else escape(text)
        out.append(f'<span class="x{edge}{minor}" style="left:{left:.2f}%">{shown}</span>')
    return f'<div class="chart-labels" aria-hidden="true">{"".join(out)}</div>'


def _figures(data: ChartData, decimals: int, zoom_url: str) -> dict:
    """What the crosshair readout and zooming need, per slot."""
    def nums(values: np.ndarray, digits: int) -> list:
        return [None if not math.isfinite(v) else round(v, digits) for v in values.tolist()]

    return {"t": data.ts.tolist(), "e": data.last.tolist(), "o": nums(data.open, decimals),
            "h": nums(data.high, decimals), "l": nums(data.low, decimals), "c": nums(data.close, decimals),
            "lo": nums(data.close_min, decimals), "hi": nums(data.close_max, decimals),
            "v": nums(data.volume, 0), "n": data.count.tolist(), "d": decimals, "step": data.step,
            "left": LEFT / WIDTH, "right": (WIDTH - RIGHT) / WIDTH, "url": zoom_url, "words": readout_words(),
            "locale": str(reader_locale()).replace("_", "-")}


def readout_words() -> dict[str, str]:
    """What the crosshair's readout (chart.js) writes beside the figures, in the page's language."""
    return {"o": pgettext("open price, one letter", "O"), "h": pgettext("high price, one letter", "H"),
            "l": pgettext("low price, one letter", "L"), "c": pgettext("close price, one letter", "C"),
            "vol": pgettext("volume, short", "Vol"), "bars": gettext("bars"), "close": gettext("close")}


def _nice_step(raw: float) -> float:
    raw = max(raw, 1e-9)
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5, 10):
        if raw <= mult * power:
            return mult * power
    return 10 * power


def describe(data: ChartData) -> str:
    if data.mode == "empty":
        return gettext("no bars")
    kind = {"candles": gettext("candlesticks"), "line": gettext("close"),
            "envelope": gettext("close, downsampled")}[data.mode]
    first = datetime.fromtimestamp(data.start, timezone.utc).strftime("%Y-%m-%d %H:%M")
    last = datetime.fromtimestamp(data.end, timezone.utc).strftime("%Y-%m-%d %H:%M")
    return ngettext("%(bars)s bar, %(kind)s, %(first)s to %(last)s UTC, with volume",
                    "%(bars)s bars, %(kind)s, %(first)s to %(last)s UTC, with volume", data.bars,
                    bars=thousands(data.bars), kind=kind, first=first, last=last)
