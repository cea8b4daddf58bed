"""Small server-rendered SVG bar charts for the monitor page (nothing from a CDN)."""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup, escape


def bar_chart(points: list[tuple[datetime, tuple[int, ...]]], series: list[tuple[str, str]], *,
              title: str, width: int = 640, height: int = 150, label_every: int = 6,
              label_format: str = "%H:%M") -> Markup:
    """Stacked bars, one per time bucket. `series` names (label, css colour) per stack layer."""
    pad_left, pad_bottom, pad_top = 44, 18, 8
    plot_w, plot_h = width - pad_left - 4, height - pad_bottom - pad_top
    top = max([sum(values) for _, values in points] + [1])
    step = plot_w / max(1, len(points))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for fraction in (0.5, 1.0):
        y = pad_top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{pad_left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{pad_left - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">{_short(top * fraction)}</text>')
    for i, (when, values) in enumerate(points):
        x = pad_left + i * step
        base = pad_top + plot_h
        tip = ", ".join(f"{label} {value:,}" for (label, _), value in zip(series, values))
        for (_label, colour), value in zip(series, values):
            if value <= 0:
                continue
            h = plot_h * value / top
            base -= h
            parts.append(f'<rect x="{x + 1:.1f}" y="{base:.1f}" width="{max(1.0, step - 2):.1f}" height="{h:.1f}" '
                         f'fill="{colour}"><title>{escape(when.strftime("%Y-%m-%d %H:00 UTC"))}: {escape(tip)}</title></rect>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height - 4}" class="axis" text-anchor="middle">'
                         f'{escape(when.strftime(label_format))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(value: float) -> str:
    for divisor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= divisor:
            return f"{value / divisor:.3g}{suffix}"
    return f"{value:.3g}" if value % 1 else f"{int(value)}"
