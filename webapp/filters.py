"""Jinja filters that put numbers and times in a person's terms, in the request's language
(Babel's CLDR data: `1,234,567` / `1 234 567`, `Nov 30, 2026, 14:30 UTC` /
`30 nov. 2026, 14:30 UTC`, `3 min ago` / `il y a 3 min`). Times are shown in UTC, as
everywhere in mdc, on a 24-hour clock. Exports never come through here: they stay machine
formats whatever the language."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_skeleton, get_datetime_format
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent, get_group_symbol
from babel.units import format_unit
from flask import Flask
from markupsafe import Markup

from collector import source_label

from .forms import date_input
from .i18n import formatted, gettext, per_request, pgettext, reader_locale, translated

UTC = timezone.utc
MISSING = "–"


def thousands(value) -> str:
    """A whole number with the reader's group separator. Python groups the digits and Babel
    gives the separator once per locale: the banner formats dozens of numbers every second,
    and Babel's format_decimal costs about fifty microseconds each."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return MISSING
    return f"{number:,}".replace(",", _group_symbol(reader_locale()))


@lru_cache(maxsize=16)
def _group_symbol(locale) -> str:
    return get_group_symbol(locale)


def price(value, decimals: int | None = None) -> str:
    """With the series' fixed number of decimals when given, else at least two and at most six;
    the reader's separators."""
    if value is None or value != value:  # None or NaN
        return MISSING
    pattern = "#,##0." + "0" * decimals if decimals else "#,##0" if decimals == 0 else "#,##0.00####"
    return format_decimal(float(value), format=pattern, locale=reader_locale())


def _unit(amount: int, unit: str) -> str:
    return _unit_in(amount, unit, reader_locale())


@lru_cache(maxsize=4096)
def _unit_in(amount: int, unit: str, locale) -> str:
    """'3 min' / '3 min'; cached: a few hundred amounts per unit and language ever occur."""
    return format_unit(amount, f"duration-{unit}", length="short", locale=locale)


def duration(seconds) -> str:
    """72.4 -> '1 min 12 sec' / '1 min 12 s'; 3900 -> '1 hr 5 min' / '1 h 5 min'."""
    if seconds is None:
        return MISSING
    seconds = max(0, int(round(float(seconds))))
    minutes, sec = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if seconds < 60:
        parts = [(sec, "second")]
    elif seconds < 3600:
        parts = [(minutes, "minute"), (sec, "second")]
    elif seconds < 86400 * 2:
        parts = [(hours + 24 * days, "hour"), (minutes, "minute")]
    else:
        parts = [(days, "day"), (hours, "hour")]
    shown = tuple(_unit(amount, unit) for amount, unit in parts if amount) or (_unit(0, parts[0][1]),)
    return formatted(_joined(shown, reader_locale()))


@lru_cache(maxsize=4096)
def _joined(parts: tuple[str, ...], locale) -> str:
    return format_list(list(parts), style="unit-narrow", locale=locale)


def age(seconds: float) -> str:
    """One unit, rounded down: '3 min', '2 hr', '4 days' (how long ago, without 'ago')."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return _unit(seconds, "second")
    if seconds < 3600:
        return _unit(seconds // 60, "minute")
    if seconds < 86400 * 2:
        return _unit(seconds // 3600, "hour")
    return _unit(seconds // 86400, "day")


def since(when: datetime | None, now: datetime | None = None) -> str:
    """How long ago, without the words around it ('waiting 3 min')."""
    if when is None:
        return MISSING
    return formatted(age(((now or datetime.now(UTC)) - when).total_seconds()))


def ago(when: datetime | None, now: datetime | None = None) -> str:
    if when is None:
        return MISSING
    seconds = ((now or datetime.now(UTC)) - when).total_seconds()
    if seconds < 0:
        return gettext("in %(duration)s", duration=age(-seconds))
    if seconds < 10:
        return gettext("just now")
    return gettext("%(duration)s ago", duration=age(seconds))


def _datetime(when: datetime, *, seconds: bool) -> str:
    """'Nov 30, 2026, 14:30 UTC' / '30 nov. 2026, 14:30 UTC' (the locale's own order)."""
    locale = reader_locale()
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    day_text = format_date(when, "medium", locale=locale)
    clock_text = format_skeleton("Hms" if seconds else "Hm", when, tzinfo=UTC, locale=locale)
    return get_datetime_format("medium", locale=locale).replace("{1}", day_text).replace("{0}", clock_text) + " UTC"


def _at_midnight(when: datetime) -> bool:
    return when.hour == when.minute == when.second == 0


def _from_epoch(epoch) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(epoch), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def exact(when: datetime | None) -> str:
    """Date and time to the second, for tooltips."""
    return formatted(_datetime(when, seconds=True)) if when else ""


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
    """A date alone at midnight, else date and time to the minute (job ranges)."""
    if when is None:
        return MISSING
    when = when.astimezone(UTC) if when.tzinfo else when
    if _at_midnight(when):
        return formatted(format_date(when, "medium", locale=reader_locale()))
    return formatted(_datetime(when, seconds=False))


def utc(epoch) -> str:
    """Epoch seconds (bar times) -> a date alone at midnight, else date and time to the second."""
    when = _from_epoch(epoch) if epoch is not None else None
    if when is None:
        return MISSING
    return formatted(format_date(when, "medium", locale=reader_locale()) if _at_midnight(when)
                     else _datetime(when, seconds=True))


def iso_date(epoch) -> str:
    """Epoch seconds -> '2024-03-01', for URLs and form values (never translated)."""
    when = _from_epoch(epoch) if epoch is not None else None
    return when.strftime("%Y-%m-%d") if when else ""


def clock(epoch) -> str:
    """Epoch seconds -> '14:03:07' UTC, for event logs."""
    when = _from_epoch(epoch)
    return formatted(format_skeleton("Hms", when, tzinfo=UTC, locale=reader_locale())) if when else ""


def epoch_ago(epoch) -> str:
    when = _from_epoch(epoch)
    return ago(when) if when else MISSING


def epoch_exact(epoch) -> str:
    when = _from_epoch(epoch)
    return exact(when) if when else ""


def elapsed(job) -> float | None:
    """Seconds a job has been running (or ran)."""
    return job.duration_s


def eta(job) -> float | None:
    """Seconds left at the pace so far; None until a chunk has finished."""
    spent = job.duration_s
    if not spent or not job.progress_done or not job.progress_total:
        return None
    return spent / job.progress_done * max(0, job.progress_total - job.progress_done)


def epoch_iso(epoch) -> str:
    """Epoch seconds -> ISO 8601 UTC, for <time datetime> (never translated)."""
    when = _from_epoch(epoch) if epoch is not None else None
    return iso(when) if when else ""


def data_size(size) -> str:
    """1919136 -> '1.8 MB' / '1,8 Mo': a size in bytes in the reader's units and decimals."""
    if size is None:
        return MISSING
    amount, unit = float(size), "byte"
    for bigger in ("kilobyte", "megabyte", "gigabyte", "terabyte"):
        if amount < 1000:
            break
        amount, unit = amount / 1000, bigger
    return formatted(format_unit(amount, f"digital-{unit}", length="short", format="#,##0.#", locale=reader_locale()))


def percentage(fraction) -> str:
    """0.953 -> '95.3%' / '95,3 %' in the reader's convention (one decimal)."""
    locale = reader_locale()
    head, zero, tail = locale.percent_formats[None].pattern.rpartition("0")
    return format_percent(fraction, format=f"{head}{zero}.0{tail}", locale=locale)


def percent(done, total) -> int:
    try:
        return max(0, min(100, int(100 * int(done) / int(total)))) if int(total) else 0
    except (TypeError, ValueError):
        return 0


def status_label(status: str) -> str:
    """A job state as people read it (the API keeps PENDING, RUNNING...): En attente, En cours,
    Terminé, Échoué, Annulé; and a watchlist run's WAITING and SKIPPED. A context keeps them
    apart from the Jobs tabs' words."""
    labels = {
        "PENDING": pgettext("job state", "Pending"),
        "RUNNING": pgettext("job state", "Running"),
        "COMPLETED": pgettext("job state", "Completed"),
        "FAILED": pgettext("job state", "Failed"),
        "CANCELLED": pgettext("job state", "Cancelled"),
        "WAITING": pgettext("job state", "Waiting"),
        "SKIPPED": pgettext("job state", "Skipped"),
    }
    return labels.get(str(status).upper(), str(status).title())


def as_data(value) -> Markup:
    """Data that is no language (a ticker, an interval, a host name): marked so that nothing,
    not a translation tool nor the pseudo-language check, takes it for words to translate."""
    return Markup('<span translate="no">{}</span>').format(value)


def zoned(when: datetime | None, zone: str) -> str:
    """'ven. 27/11/2026 13:30 America/New_York': a moment in a schedule's own time zone."""
    if when is None:
        return MISSING
    moment = when.astimezone(ZoneInfo(zone))
    weekday = format_datetime(moment, "EEE", locale=reader_locale())
    day_text = format_date(moment, "short", locale=reader_locale())
    clock_text = format_skeleton("Hm", moment, locale=reader_locale())
    return formatted(f"{weekday} {day_text} {clock_text} {zone}")


def source_name(name: str) -> str:
    """'Yahoo Finance', 'Simulated' / 'Simulé': a source as people read it, in their language now
    (so it can go into a translated sentence)."""
    return translated(source_label(name))


def run_badge(status: str) -> str:
    """The badge colour of a run's state: the job state it reads like."""
    return {"WAITING": "pending", "SKIPPED": "cancelled"}.get(status, str(status).lower())


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(per_request(dict(
        thousands=thousands, price=price, duration=duration, ago=ago, since=since, exact=exact, day=day,
        utc=utc, iso_date=iso_date, clock=clock, epoch_ago=epoch_ago, epoch_exact=epoch_exact,
        elapsed=elapsed, eta=eta, source_label=source_name, status_label=status_label, iso=iso, stamp=stamp,
        epoch_iso=epoch_iso, run_badge=run_badge, as_data=as_data, zoned=zoned, percentage=percentage,
        data_size=data_size)))
    app.jinja_env.globals.update(percent=percent, now_epoch=time.time, date_input=date_input)
