"""Small server-rendered SVG bar charts for the monitor page (nothing from a CDN). Labels,
numbers and dates in the reader's language (Babel)."""

from __future__ import annotations

from datetime import datetime, timezone

from babel.dates import format_datetime
from babel.numbers import format_compact_decimal, format_decimal
from markupsafe import Markup, escape

from .filters import thousands
from .i18n import formatted, gettext, reader_locale


def bar_chart(points: list[tuple[datetime, tuple[int, ...]]], series: list[tuple[str, str]], *,
              title: str, width: int = 640, height: int = 150, label_every: int = 6,
              label_format: str = "HH:mm") -> Markup:
    """Stacked bars, one per time bucket. `series` names (label, css colour) per stack layer;
    `label_format` is a CLDR date pattern ("HH:mm", "EEE d")."""
    pad_left, pad_bottom, pad_top = 44, 18, 8
    plot_w, plot_h = width - pad_left - 4, height - pad_bottom - pad_top
    top = max([sum(values) for _, values in points] + [1])
    step = plot_w / max(1, len(points))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for fraction in (0.5, 1.0):
        y = pad_top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{pad_left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{pad_left - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
                     f'{escape(_short(top * fraction))}</text>')
    for i, (when, values) in enumerate(points):
        x = pad_left + i * step
        base = pad_top + plot_h
        tip = ", ".join(f"{label} {thousands(value)}" for (label, _), value in zip(series, values))
        moment = _when(when, "d MMM yyyy HH:00") + " UTC"
        for (_label, colour), value in zip(series, values):
            if value <= 0:
                continue
            h = plot_h * value / top
            base -= h
            parts.append(f'<rect x="{x + 1:.1f}" y="{base:.1f}" width="{max(1.0, step - 2):.1f}" height="{h:.1f}" '
                         f'fill="{colour}"><title>{escape(gettext("%(when)s: %(checks)s", when=moment, checks=tip))}'
                         '</title></rect>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height - 4}" class="axis" text-anchor="middle">'
                         f'{escape(formatted(_when(when, label_format)))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _when(when: datetime, pattern: str) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return format_datetime(when, pattern, tzinfo=timezone.utc, locale=reader_locale())


def _short(value: float) -> str:
    """'1.5K' / '1,5 k', '0.5' / '0,5': the axis' round figures, short."""
    if value >= 1000:
        return formatted(format_compact_decimal(value, format_type="short", fraction_digits=1,
                                                locale=reader_locale()))
    if value == int(value):
        return thousands(value)
    return formatted(format_decimal(round(value, 2), format="#,##0.##", locale=reader_locale()))
