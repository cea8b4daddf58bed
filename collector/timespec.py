"""The shared vocabulary of intervals and periods, and parsing of user-given times.

Every source accepts a subset of INTERVALS; periods are resolved to absolute UTC
start/end at submit time so a job means the same thing whenever it runs.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from collector.i18n import N_, Message, N_plural

UTC = timezone.utc

# Approximate length of one bar; months count as 30 days, which is only used for planning.
INTERVALS: dict[str, int] = {
    "1s": 1, "5s": 5, "10s": 10, "15s": 15, "30s": 30,
    "1m": 60, "2m": 120, "3m": 180, "5m": 300, "10m": 600, "15m": 900, "20m": 1200,
    "30m": 1800, "90m": 5400,
    "1h": 3600, "2h": 7200, "3h": 10800, "4h": 14400, "8h": 28800,
    "1d": 86400, "5d": 5 * 86400, "1w": 7 * 86400, "1mo": 30 * 86400, "3mo": 91 * 86400,
}

PERIODS = ("1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max")

# "max" means "as far back as the source keeps"; 50 years covers every listed security's
# daily history and keeps the plan finite.
MAX_LOOKBACK = timedelta(days=365 * 50)

_PERIOD_DELTAS = {
    "1d": timedelta(days=1), "5d": timedelta(days=5), "1mo": timedelta(days=30),
    "3mo": timedelta(days=91), "6mo": timedelta(days=182), "1y": timedelta(days=365),
    "2y": timedelta(days=730), "5y": timedelta(days=1826), "10y": timedelta(days=3652),
    "max": MAX_LOOKBACK,
}


def interval_seconds(interval: str) -> int:
    return INTERVALS[interval]


def is_intraday(interval: str) -> bool:
    return INTERVALS[interval] < 86400


def describe_interval(interval: str) -> str:
    """'5s' -> '5-second', '1h' -> '1-hour', for messages a person reads (a Message, so that
    a message built on it can say it in French: "de 5 secondes")."""
    m = re.fullmatch(r"(\d+)(s|m|h|d|w|mo)", interval)
    if not m:
        return interval
    n, unit = int(m.group(1)), m.group(2)
    if unit == "s":
        return N_plural("{n!s}-second", "{n!s}-second", n)
    if unit == "m":
        return N_plural("{n!s}-minute", "{n!s}-minute", n)
    if unit == "h":
        return N_plural("{n!s}-hour", "{n!s}-hour", n)
    if unit == "d":
        return N_plural("{n!s}-day", "{n!s}-day", n)
    if unit == "w":
        return N_plural("{n!s}-week", "{n!s}-week", n)
    return N_plural("{n!s}-month", "{n!s}-month", n)


def period_start(period: str, end: datetime) -> datetime:
    """Start of a period preset that ends at `end`."""
    if period == "ytd":
        return datetime(end.year, 1, 1, tzinfo=UTC)
    return end - _PERIOD_DELTAS[period]


class TimeParseError(ValueError):
    """A start or end a person typed that cannot be read; `message` says so in one sentence
    that names the field (a Message, so the web app can show it in French)."""

    def __init__(self, message: Message):
        super().__init__(message)
        self.message = message


def _unreadable(problem: str, end: bool, **params) -> TimeParseError:
    """Whole sentences per field, so each reads naturally once translated."""
    if problem == "empty":
        message = N_("End is empty.") if end else N_("Start is empty.")
    elif problem == "zone":
        message = (N_("End has an unknown time zone {zone!r}.", **params) if end
                   else N_("Start has an unknown time zone {zone!r}.", **params))
    elif problem == "years":
        message = N_("End is outside the years 1900-2200.") if end else N_("Start is outside the years 1900-2200.")
    elif problem == "separator":
        message = (N_("End has {char!r} between its date and time: use T or a space, as in 2024-03-01T09:30.",
                      **params) if end
                   else N_("Start has {char!r} between its date and time: use T or a space, as in 2024-03-01T09:30.",
                           **params))
    elif problem == "two zones":
        message = (N_("End has both an offset ({offset}) and a time zone ({zone}): keep one of them.", **params)
                   if end else
                   N_("Start has both an offset ({offset}) and a time zone ({zone}): keep one of them.", **params))
    elif problem == "week":
        message = (N_("End is a week without its day: add the day, as in 2024-W10-1 for its Monday.") if end
                   else N_("Start is a week without its day: add the day, as in 2024-W10-1 for its Monday."))
    else:
        message = (N_("End is not a date like 2024-03-01 or a date and time like 2024-03-01T09:30.") if end
                   else N_("Start is not a date like 2024-03-01 or a date and time like 2024-03-01T09:30."))
    return TimeParseError(message)


FIRST_YEAR, LAST_YEAR = 1900, 2200
_FIRST_INSTANT = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
_LAST_INSTANT = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)


def parse_when(text: str, *, end_of_day: bool = False) -> datetime:
    """Parse an ISO date or datetime; UTC unless a zone is given.

    A bare date means midnight UTC at its start, or the next midnight when `end_of_day`
    (so end=2024-03-01 includes that whole day). A zone may be an offset or a name
    after a space: "2024-03-01 09:30 America/New_York". `end_of_day` is how an end is
    read, so errors name the end then, and the start otherwise. Anything outside the years
    1900-2200 is refused here, before date arithmetic can overflow (9999-12-31 + 1 day).
    """
    text = text.strip()
    if not text:
        raise _unreadable("empty", end_of_day)
    text, zone = _split_zone(text, end_of_day)
    try:
        value = _read(text, zone, end_of_day).astimezone(UTC)
    except OverflowError:  # a date at the very edge of what Python can represent
        raise _unreadable("years", end_of_day) from None
    # The instant, not the digits typed: 1900-01-01+01:00 is in 1899, and the end 2200-12-31
    # (its whole day) ends at the first instant of 2201.
    if not _FIRST_INSTANT <= value <= _LAST_INSTANT:
        raise _unreadable("years", end_of_day)
    return value


def _split_zone(text: str, end_of_day: bool) -> tuple[str, ZoneInfo | None]:
    parts = text.rsplit(" ", 1)
    # A zone's name has a slash (Europe/Paris), or is a short one in capitals (UTC, GMT)
    if len(parts) == 2 and ("/" in parts[1] or (parts[1].isascii() and parts[1].isalpha() and parts[1].isupper())):
        try:
            return parts[0], ZoneInfo(parts[1])
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise _unreadable("zone", end_of_day, zone=shown(parts[1])) from None
    return text, None


# A date with an offset and no time: 2024-03-05Z, 20240305+01:00.
_DATE_AND_OFFSET = re.compile(r"(.{8,10}?)([Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)")


def _read(text: str, zone: tzinfo | None, end_of_day: bool) -> datetime:
    typed = text
    try:
        dated = _DATE_AND_OFFSET.fullmatch(text)
        if dated and _bare_date(dated.group(1)) is not None:
            offset = dated.group(2)
            if zone is not None:
                raise _unreadable("two zones", end_of_day, offset=offset, zone=zone.key)
            zone = UTC if offset in ("Z", "z") else datetime.fromisoformat(f"2000-01-01T00:00{offset}").tzinfo
            text = dated.group(1)
        _check_separator(text, end_of_day)
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        day = _bare_date(text)
        if day is not None:  # a whole day: its first midnight, or the next one for an end
            if not FIRST_YEAR <= day.year <= LAST_YEAR:
                raise _unreadable("years", end_of_day)
            if end_of_day:
                day += timedelta(days=1)
            return datetime.combine(day, time(0), tzinfo=zone or UTC)
        value = datetime.fromisoformat(text)
    except TimeParseError:
        raise
    except ValueError:
        raise _unreadable("format", end_of_day) from None
    if value.tzinfo is None:
        return value.replace(tzinfo=zone or UTC)
    if zone is not None:  # 09:30Z America/New_York: which one was meant cannot be guessed
        offset = _TRAILING_OFFSET.search(typed)
        raise _unreadable("two zones", end_of_day, offset=offset.group(0) if offset else "", zone=zone.key)
    return value


_TRAILING_OFFSET = re.compile(r"(?:[Zz]|[+-][0-9:.]+)$")
_WEEK_ALONE = re.compile(r"[0-9]{4}-?W[0-9]{2}(?![0-9]|-?[0-9])")  # followed by nothing, a time or an offset
_DATE_PART = re.compile(r"[0-9]{4}-?(?:[0-9]{2}-?[0-9]{2}|W[0-9]{2}-?[0-9])")


def _check_separator(text: str, end_of_day: bool) -> None:
    """Python reads any character between date and time as a separator: 2024-03-05+01:00:00
    would be 01:00, not an offset. Only T and a space are. And a week is not a day."""
    if _WEEK_ALONE.match(text):
        raise _unreadable("week", end_of_day)
    start = _DATE_PART.match(text)
    if start and len(text) > start.end() and text[start.end()] not in "Tt ":
        char = text[start.end()]
        raise _unreadable("format" if char.isdigit() or char in "Zz" else "separator", end_of_day, char=char)


def _bare_date(text: str) -> date | None:
    """A date alone, in any of ISO's spellings (2024-03-01, 20240301, 2024-W09-5), or None:
    each must include its whole day as an end, not only the first. A week without its day
    (2024-W10) is not one."""
    if not text.isascii() or _DATE_PART.fullmatch(text) is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def shown(text: str, limit: int = 40) -> str:
    """What a person typed, cut short, for a message that echoes it."""
    return text if len(text) <= limit else text[:limit] + "…"


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """Aware UTC datetime; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
