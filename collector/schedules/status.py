"""How current each series of a watchlist is: its last stored bar, whether that bar covers
the last completed session of its calendar, its gaps, and its newest job.

"Current" per interval (the calendar is the watchlist's exchange; the simulated source's own
for sim series):
- intraday bars: the last bar reaches the close of the last completed session (a half
  day's early close included);
- daily bars: there is a bar for the last completed session's date;
- weekly (and 5-day) bars: the last bar's week includes that date; monthly bars: its month,
  quarterly bars: its quarter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import func, select

from collector import calendar
from collector.calendar import DAY, SIM_CALENDAR
from collector.jobs import JobManager
from collector.store import Job, Series, Watchlist
from collector.store.gaps import GapReport
from collector.timespec import interval_seconds, is_intraday


@dataclass(frozen=True)
class SymbolState:
    symbol: str
    series: Series | None
    current: bool | None  # None: nothing stored yet, or no session has closed yet
    gaps: GapReport | None
    last_job: Job | None

    @property
    def last_bar(self) -> datetime | None:
        if self.series is None or self.series.last_ts is None:
            return None
        return datetime.fromtimestamp(self.series.last_ts, timezone.utc)


def states(jobs: JobManager, watchlist: Watchlist, symbols: list[str], now: datetime) -> list[SymbolState]:
    """One state per symbol of `symbols` (some of the watchlist's), in their order; a query
    for the series and one for the jobs."""
    with jobs.db.read() as session:
        stored = {s.symbol: s for s in session.scalars(select(Series).where(
            Series.source == watchlist.source, Series.interval == watchlist.interval,
            Series.kind == watchlist.kind, Series.symbol.in_(symbols)))}
        newest = (select(func.max(Job.id)).where(Job.watchlist_id == watchlist.id, Job.symbol.in_(symbols))
                  .group_by(Job.symbol))
        last_jobs = {j.symbol: j for j in session.scalars(select(Job).where(Job.id.in_(newest)))}
    cal = SIM_CALENDAR if watchlist.source == "sim" else watchlist.schedule.get("calendar", calendar.DEFAULT_CALENDAR)
    closed = calendar.last_closed_session(int(now.timestamp()), cal)
    with_bars = [s for s in stored.values() if s.last_ts is not None]
    current = dict(zip((s.symbol for s in with_bars), covers(np.array([s.last_ts for s in with_bars], dtype=np.int64),
                                                             watchlist.interval, closed)))
    return [SymbolState(symbol, stored.get(symbol), current.get(symbol),
                        jobs.series.gaps(stored[symbol]) if symbol in current else None, last_jobs.get(symbol))
            for symbol in symbols]


def covers(last_ts: np.ndarray, interval: str, session: tuple[int, int, int] | None) -> list[bool | None]:
    """For series whose last bars start at `last_ts`: does each cover `session` (day, open,
    close)? None for all when no session has closed yet."""
    if session is None:
        return [None] * len(last_ts)
    if interval == "1d":
        return (calendar.session_day(last_ts) >= session[0]).tolist() if len(last_ts) else []
    return [is_current(int(ts), interval, session) for ts in last_ts]


def is_current(last_ts: int, interval: str, session: tuple[int, int, int]) -> bool:
    """Does a series whose last bar starts at `last_ts` cover `session` (day, open, close)?"""
    day, _open, close = session
    if is_intraday(interval):
        return last_ts + interval_seconds(interval) >= close
    if interval == "1d":
        return int(calendar.session_day(np.array([last_ts]))[0]) >= day
    if interval in ("1w", "5d"):
        return last_ts + 7 * DAY > day * DAY
    bar, when = _utc(last_ts), _utc(day * DAY)
    months = 3 if interval == "3mo" else 1
    return (bar.year, (bar.month - 1) // months) >= (when.year, (when.month - 1) // months)


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)
