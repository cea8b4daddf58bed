"""Jinja filters that put numbers and times in a person's terms."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from flask import Flask

from collector import source_label


def thousands(value) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "–"


def duration(seconds) -> str:
    """72.4 -> '1 min 12 s'; 3900 -> '1 h 5 min'."""
    if seconds is None:
        return "–"
    seconds = max(0, int(round(float(seconds))))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec} s" if sec else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def ago(when: datetime | None, now: datetime | None = None) -> str:
    if when is None:
        return "–"
    now = now or datetime.now(timezone.utc)
    seconds = (now - when).total_seconds()
    if seconds < 0:
        return "in " + duration(-seconds)
    if seconds < 10:
        return "just now"
    if seconds < 60:
        return f"{int(seconds)} s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400 * 2:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def exact(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else ""


def iso(when: datetime | None) -> str:
    return when.isoformat().replace("+00:00", "Z") if when else ""


def stamp(when: datetime | None) -> str:
    """'2024-03-01 14:30 UTC': a moment with its zone (a bare date at midnight UTC)."""
    if when is None:
        return "–"
    if when.hour == when.minute == when.second == 0:
        return when.strftime("%Y-%m-%d")
    return when.strftime("%Y-%m-%d %H:%M UTC")


def day(when: datetime | None) -> str:
    if when is None:
        return "–"
    if when.hour == when.minute == when.second == 0:
        return when.strftime("%Y-%m-%d")
    return when.strftime("%Y-%m-%d %H:%M")


def clock(epoch) -> str:
    """Epoch seconds -> '14:03:07' UTC, for event logs."""
    try:
        return datetime.fromtimestamp(float(epoch), timezone.utc).strftime("%H:%M:%S")
    except (TypeError, ValueError, OverflowError):
        return ""


def elapsed(job) -> float | None:
    """Seconds a job has been running (or ran)."""
    return job.duration_s


def eta(job) -> float | None:
    """Seconds left at the pace so far; None until a chunk has finished."""
    spent = job.duration_s
    if not spent or not job.progress_done or not job.progress_total:
        return None
    return spent / job.progress_done * max(0, job.progress_total - job.progress_done)


def epoch_ago(epoch) -> str:
    try:
        return ago(datetime.fromtimestamp(float(epoch), timezone.utc))
    except (TypeError, ValueError, OverflowError):
        return "–"


def epoch_exact(epoch) -> str:
    try:
        return exact(datetime.fromtimestamp(float(epoch), timezone.utc))
    except (TypeError, ValueError, OverflowError):
        return ""


def epoch_iso(epoch) -> str:
    try:
        return iso(datetime.fromtimestamp(float(epoch), timezone.utc))
    except (TypeError, ValueError, OverflowError):
        return ""


def percent(done, total) -> int:
    try:
        return max(0, min(100, int(100 * int(done) / int(total)))) if int(total) else 0
    except (TypeError, ValueError):
        return 0


def utc(epoch) -> str:
    """Epoch seconds -> '2024-03-01 14:30 UTC' ('2024-03-01' at midnight)."""
    if epoch is None:
        return "–"
    when = datetime.fromtimestamp(int(epoch), timezone.utc)
    return when.strftime("%Y-%m-%d") if when.hour == when.minute == when.second == 0 else when.strftime("%Y-%m-%d %H:%M:%S UTC")


def price(value, decimals: int | None = None) -> str:
    """A price with the series' fixed number of decimals (or as many as it needs, at least 2)."""
    if value is None or value != value:  # None or NaN
        return "–"
    if decimals is not None:
        return f"{float(value):,.{decimals}f}"
    text = f"{float(value):,.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(thousands=thousands, duration=duration, ago=ago, exact=exact,
                                 day=day, iso=iso, stamp=stamp, clock=clock, elapsed=elapsed, eta=eta, epoch_ago=epoch_ago, epoch_exact=epoch_exact, epoch_iso=epoch_iso,
                                  source_label=source_label, utc=utc, price=price)
    app.jinja_env.globals.update(percent=percent, now_epoch=time.time)
