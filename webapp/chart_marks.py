"""Suspect bars on the price chart: a layer of its own for chart_svg.render(layers=...), so
the chart knows nothing about quality checks.

Each slot holding a suspect bar gets a faint vertical line through the prices and a small
triangle under them, with a tooltip naming the times and the checks that flagged them.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from markupsafe import escape

from collector import CHECK_LABELS, flag_names

from .chart_svg import TOP, Layer, Layout
from .charts import ChartData
from .filters import thousands
from .i18n import gettext, translated

SHOWN_PER_SLOT = 5  # times named in one marker's tooltip


def quality_layer(marks: list[tuple[int, int]]) -> Layer:
    """A layer marking the suspect bars `marks` ((time, flags)), oldest first."""

    def draw(layout: Layout, data: ChartData) -> str:
        if not marks or data.mode == "empty" or not data.slots:
            return ""
        stamps = np.array([t for t, _ in marks], dtype=np.int64)
        slots = np.clip(np.searchsorted(data.ts, stamps, side="right") - 1, 0, data.slots - 1)
        parts = [f'<g class="quality-marks" data-marks="{len(marks)}">']
        bottom = layout.price_bottom
        for slot in np.unique(slots).tolist():
            here = [marks[i] for i in np.flatnonzero(slots == slot)]
            x = float(layout.x(slot))
            parts.append(f'<g class="quality-mark" data-ts="{here[0][0]}"><title>{escape(_describe(here))}</title>'
                         f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{bottom:.1f}"/>'
                         f'<path d="M{x:.1f},{bottom - 7:.1f} l-4,7 h8 z"/></g>')
        parts.append("</g>")
        return "".join(parts)

    return draw


def _describe(marks: list[tuple[int, int]]) -> str:
    lines = []
    for ts, flags in marks[:SHOWN_PER_SLOT]:
        when = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        checks = ", ".join(translated(CHECK_LABELS[name][0]) for name in flag_names(flags))
        lines.append(gettext("%(when)s: %(checks)s", when=when, checks=checks))
    if len(marks) > SHOWN_PER_SLOT:
        lines.append(gettext("… and %(more)s more", more=thousands(len(marks) - SHOWN_PER_SLOT)))
    return "\n".join(lines)
