"""Suspect bars on the price chart: a layer of its own, added to the finished SVG, so the
chart itself (charts.py) knows nothing about quality checks.

Each suspect bar gets a faint vertical line through the plot and a small triangle under it,
with a tooltip naming the time and the checks that flagged it.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from markupsafe import Markup, escape

from collector import CHECK_LABELS, flag_names

from .charts import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, ChartData


def add_quality_layer(svg: Markup, data: ChartData, marks: list[tuple[int, int]]) -> Markup:
    """`svg` with a <g class="quality-marks"> layer for the suspect bars `marks` ((time, flags))."""
    if not marks or data.mode == "empty" or not str(svg).endswith("</svg>"):
        return svg
    xs = _positions(data, np.array([t for t, _ in marks], dtype=np.int64))
    parts = [f'<g class="quality-marks" data-marks="{len(marks)}">']
    bottom = HEIGHT - BOTTOM
    for x, (ts, flags) in zip(xs.tolist(), marks):
        what = ", ".join(CHECK_LABELS[name][0] for name in flag_names(flags))
        when = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        parts.append(f'<g class="quality-mark" data-ts="{ts}"><title>{escape(when)}: {escape(what)}</title>'
                     f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{bottom}"/>'
                     f'<path d="M{x:.1f},{bottom - 7} l-4,7 h8 z"/></g>')
    parts.append("</g>")
    return Markup(str(svg)[: -len("</svg>")] + "".join(parts) + "</svg>")


def _positions(data: ChartData, ts: np.ndarray) -> np.ndarray:
    """x of each time, the way the chart placed its bars: side by side for candles, by time
    for lines."""
    plot_w = WIDTH - LEFT - RIGHT
    if data.mode == "candles":
        slot = plot_w / max(1, data.ts.size)
        index = np.clip(np.searchsorted(data.ts, ts), 0, max(0, data.ts.size - 1))
        return LEFT + (index + 0.5) * slot
    return LEFT + (ts - data.start) / max(1, data.end - data.start) * plot_w
