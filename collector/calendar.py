"""Exchange sessions, shared by gap detection, IB request planning and schedules.

Real exchanges come from pandas-market-calendars (holidays and half days included), read
one calendar year at a time and cached. The simulated source has a calendar of its own,
named "sim": weekdays, 14:30-21:00 UTC.
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime, timezone
from functools import lru_cache

import numpy as np
import pandas as pd

from .timespec import interval_seconds

DAY = 86400
NEW_YORK = "America/New_York"
DEFAULT_CALENDAR = "XNYS"  # the New York Stock Exchange
PRE_MARKET = 5 * 3600 + 1800  # 04:00 before a 09:30 open
AFTER_HOURS = 4 * 3600  # 20:00 after a 16:00 close
FIRST_YEAR, LAST_YEAR = 1900, 2199

# Plain US tickers as Yahoo and IB spell them (AAPL, SPY, BRK-B, BRK.B); indices (^GSPC),
# currencies (EURUSD=X), futures (ES=F) and anything else have no single exchange calendar.
US_EQUITY_RE = re.compile(r"^[A-Z]{1,5}([.\-][A-Z]{1,2})?$")

SIM_OPEN_S = 14 * 3600 + 30 * 60
SIM_CLOSE_S = 21 * 3600
SIM_CALENDAR = "sim"  # the simulated source's sessions, served like an exchange's


def is_us_equity(symbol: str) -> bool:
    return bool(US_EQUITY_RE.match(symbol))


def _market_calendar(name: str):
    import pandas_market_calendars as mcal

    return mcal.get_calendar(name)


def calendar_names() -> list[str]:
    """Every calendar pandas-market-calendars knows (XNYS, NYSE, XLON, XPAR, CME, ...)."""
    import pandas_market_calendars as mcal

    return sorted(mcal.get_calendar_names())


def resolve_calendar(text: str) -> str | None:
    """The calendar name as pandas-market-calendars spells it ('xnys' -> 'XNYS'), "sim",
    or None when no calendar has that name."""
    wanted = (text or "").strip().lower()
    if wanted == SIM_CALENDAR:
        return SIM_CALENDAR
    return next((name for name in calendar_names() if name.lower() == wanted), None)


def calendar_zone(name: str) -> str:
    """The time zone an exchange's sessions are set in (UTC for the simulated calendar)."""
    if name == SIM_CALENDAR:
        return "UTC"
    return str(_market_calendar(name).tz)


def last_closed_session(now: int, calendar: str = DEFAULT_CALENDAR) -> tuple[int, int, int] | None:
    """(day number, open, close) of the newest session that closed at or before `now`
    (epoch seconds), looking back a year at most."""
    days, opens, closes = sessions(now - 366 * DAY, now, calendar)
    done = np.flatnonzero(closes <= now)
    if done.size == 0:
        return None
    i = int(done[-1])
    return int(days[i]), int(opens[i]), int(closes[i])


@lru_cache(maxsize=256)
def _year(name: str, year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sessions of one year: (day number since 1970, open, close) as epoch seconds."""
    if name == SIM_CALENDAR:
        first = pd.Timestamp(f"{year}-01-01", tz="UTC")
        weekdays = pd.date_range(first, first + pd.offsets.YearBegin(1), freq="D", inclusive="left")
        days = (weekdays[weekdays.day_of_week < 5].as_unit("s").asi8 // DAY).astype(np.int64)
        return days, days * DAY + SIM_OPEN_S, days * DAY + SIM_CLOSE_S
    with warnings.catch_warnings():
        # pandas-market-calendars 5.5 still calls APIs pandas 3 deprecates; not our code.
        warnings.filterwarnings("ignore", module=r"pandas_market_calendars\b.*")
        warnings.filterwarnings("ignore", module=r"exchange_calendars\b.*")
        schedule = _market_calendar(name).schedule(start_date=f"{year}-01-01", end_date=f"{year}-12-31")
    days = (schedule.index.as_unit("s").asi8 // DAY).astype(np.int64)
    opens = pd.DatetimeIndex(schedule["market_open"]).as_unit("s").asi8.astype(np.int64)
    closes = pd.DatetimeIndex(schedule["market_close"]).as_unit("s").asi8.astype(np.int64)
    return days, opens, closes


def sessions(first: int, last: int, calendar: str = DEFAULT_CALENDAR) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sessions whose day lies between the days of two epoch times (inclusive):
    (day numbers, opens, closes), oldest first."""
    y0 = datetime.fromtimestamp(first, timezone.utc).year
    y1 = datetime.fromtimestamp(last, timezone.utc).year
    parts = [_year(calendar, y) for y in range(max(y0, FIRST_YEAR), min(y1, LAST_YEAR) + 1)]
    if not parts:
        empty = np.array([], dtype=np.int64)
        return empty, empty, empty
    days, opens, closes = (np.concatenate(col) for col in zip(*parts))
    keep = (days >= first // DAY) & (days <= last // DAY)
    return days[keep], opens[keep], closes[keep]


def trading_windows(start: datetime, end: datetime, *, extended: bool = False,
                    calendar: str = DEFAULT_CALENDAR) -> list[tuple[datetime, datetime]]:
    """Trading time within [start, end), oldest first: regular sessions (half days and
    holidays included), or 04:00-20:00 New York time on session days when `extended`."""
    _, opens, closes = sessions(int(start.timestamp()) - DAY, int(end.timestamp()) + DAY, calendar)
    windows = []
    lo_bound, hi_bound = start.timestamp(), end.timestamp()
    for open_, close in zip(opens.tolist(), closes.tolist()):
        lo = open_ - PRE_MARKET if extended else open_
        hi = close + AFTER_HOURS if extended else close
        lo, hi = max(lo, lo_bound), min(hi, hi_bound)
        if lo < hi:
            windows.append((datetime.fromtimestamp(lo, timezone.utc), datetime.fromtimestamp(hi, timezone.utc)))
    return windows


def session_day(ts: np.ndarray) -> np.ndarray:
    """The New York date a daily bar belongs to, as a day number since 1970.

    Bars stamped at 00:00 UTC of their date (how mdc stores daily bars), at New York
    midnight, or at the open all land on the right date once six hours are added.
    """
    local = pd.DatetimeIndex(pd.to_datetime(ts + 6 * 3600, unit="s", utc=True)).tz_convert(NEW_YORK)
    return (local.tz_localize(None).normalize().as_unit("s").asi8 // DAY).astype(np.int64)


def sim_bar_times(interval: str, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """Epoch seconds of the simulated bars starting in [start, end)."""
    step = interval_seconds(interval)
    lo, hi = int(start.timestamp()), int(end.timestamp())
    if step >= DAY:
        days = pd.date_range(pd.Timestamp(lo, unit="s", tz="UTC").normalize(), end, freq="D", inclusive="left")
        if interval in ("1w", "5d"):
            days = days[days.day_of_week == 0]
        elif interval == "1mo":
            days = days[days.day == 1]
        elif interval == "3mo":
            days = days[(days.day == 1) & (days.month % 3 == 1)]
        else:
            days = days[days.day_of_week < 5]
        ts = days.as_unit("s").asi8
        # A day's bar exists once its session has opened: none for today before 14:30 UTC.
        return ts[(ts >= lo) & (ts + SIM_OPEN_S < hi)]
    first = -(-lo // step) * step
    ts = np.arange(first, hi, step, dtype=np.int64)
    return ts[sim_trading(ts)]


def sim_trading(ts: np.ndarray) -> np.ndarray:
    """Whether each time lies in a simulated session: weekdays, 14:30-21:00 UTC."""
    seconds_of_day = ts % DAY
    weekday = ((ts // DAY) + 3) % 7  # 1970-01-01 was a Thursday (3)
    return (weekday < 5) & (seconds_of_day >= SIM_OPEN_S) & (seconds_of_day < SIM_CLOSE_S)
