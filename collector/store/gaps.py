"""Holes in a stored series, and the time ranges that would fill them.

Three ways to know what "missing" means:
- **nyse**: US stocks and ETFs from Yahoo or IBKR are measured against the NYSE calendar
  (pandas-market-calendars), so holidays and half days are not holes. Daily series: every
  session between the first and last stored bar should have a bar. Intraday series: the
  regular session hours should be covered by bars (a bar covers [ts, ts + interval)).
- **sim**: the simulated source's own calendar (weekdays, 14:30-21:00 UTC), exactly.
- **largest**: anything else (FX, futures, indices, weekly bars...): the largest spaces
  between consecutive bars, since no calendar says which of them are closed markets.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache

import numpy as np
import pandas as pd

from collector.timespec import INTERVALS, interval_seconds, is_intraday

DAY = 86400
# Plain US tickers as Yahoo and IB spell them (AAPL, SPY, BRK-B, BRK.B); indices (^GSPC),
# currencies (EURUSD=X), futures (ES=F) and anything else have no single exchange calendar.
US_EQUITY_RE = re.compile(r"^[A-Z]{1,5}([.\-][A-Z]{1,2})?$")
LARGEST_SHOWN = 10
KEPT_GAPS = 2000
NY = "America/New_York"


@dataclass(frozen=True)
class Gap:
    start: int  # epoch seconds UTC: the first missing bar (or session day)
    end: int  # epoch seconds UTC, exclusive: where a job filling the hole should stop
    missing: int | None  # bars (sessions for daily) missing; None when no calendar says

    @property
    def start_dt(self) -> datetime:
        return datetime.fromtimestamp(self.start, timezone.utc)

    @property
    def end_dt(self) -> datetime:
        return datetime.fromtimestamp(self.end, timezone.utc)

    @property
    def seconds(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class GapReport:
    method: str  # "nyse", "sim" or "largest"
    unit: str  # what `missing` counts: "sessions" or "bars"
    gaps: list[Gap] = field(default_factory=list)  # chronological (largest first for "largest")
    count: int = 0  # every gap found (gaps may hold fewer)
    missing: int | None = None  # total missing bars/sessions; None for "largest"

    @property
    def description(self) -> str:
        return {"nyse": "measured against the NYSE calendar (holidays and half days are not gaps)",
                "sim": "measured against the simulated source's calendar (weekdays 14:30–21:00 UTC)",
                "largest": "no exchange calendar for this series: the largest spaces between bars"}[self.method]

    def largest(self, n: int = LARGEST_SHOWN) -> list[Gap]:
        return sorted(self.gaps, key=lambda g: (-(g.missing or 0), -g.seconds, g.start))[:n]


def method_for(source: str, symbol: str, interval: str) -> str:
    """Which calendar tells what is missing for this series."""
    calendared = interval in INTERVALS and (is_intraday(interval) or interval == "1d")
    if source == "sim" and calendared:
        return "sim"
    if source in ("yahoo", "ibkr") and calendared and US_EQUITY_RE.match(symbol):
        return "nyse"
    return "largest"


def find_gaps(ts: np.ndarray, source: str, symbol: str, interval: str) -> GapReport:
    """Gaps of a series whose sorted bar times are `ts` (epoch seconds UTC)."""
    method = method_for(source, symbol, interval)
    unit = "sessions" if method == "nyse" and interval == "1d" else "bars"
    if ts.size < 2 and method == "largest":
        return GapReport(method, unit)
    if ts.size == 0:
        return GapReport(method, unit)
    if method == "sim":
        gaps = _missing_runs(ts, _sim_expected(interval, int(ts[0]), int(ts[-1])), interval_seconds(interval))
    elif method == "nyse" and interval == "1d":
        gaps = _nyse_daily(ts)
    elif method == "nyse":
        gaps = _nyse_intraday(ts, interval_seconds(interval))
    else:
        return _largest(ts, interval_seconds(interval))
    return GapReport(method, unit, gaps[:KEPT_GAPS], len(gaps), sum(g.missing or 0 for g in gaps))


def fill_ranges(report: GapReport, max_jobs: int) -> list[tuple[int, int]]:
    """Time ranges that cover the gaps in at most `max_jobs` ranges.

    For the calendars, neighbouring gaps are merged across the shortest stretches of data
    between them (re-fetching stored bars is harmless: upserts are idempotent). For
    "largest", the largest gaps, one range each.
    """
    if report.method == "largest":
        return sorted((g.start, g.end) for g in report.largest(max_jobs))
    ranges = sorted((g.start, g.end) for g in report.gaps)
    if len(ranges) <= max_jobs:
        return ranges
    starts = np.array([r[0] for r in ranges])
    ends = np.array([r[1] for r in ranges])
    between = starts[1:] - ends[:-1]
    merge = np.zeros(len(between), dtype=bool)
    merge[np.argsort(between, kind="stable")[:len(ranges) - max_jobs]] = True
    out: list[tuple[int, int]] = []
    lo = int(starts[0])
    for i in range(len(ranges)):
        if i == len(ranges) - 1 or not merge[i]:
            out.append((lo, int(ends[i])))
            if i + 1 < len(ranges):
                lo = int(starts[i + 1])
    return out


# --- the calendars ------------------------------------------------------------------------

def _sim_expected(interval: str, first: int, last: int) -> np.ndarray:
    from collector.sources.sim import bar_times

    return bar_times(interval, pd.Timestamp(first, unit="s", tz="UTC"),
                     pd.Timestamp(last + 1, unit="s", tz="UTC"))


@lru_cache(maxsize=None)
def _nyse_year(year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NYSE sessions of one year: (day number since 1970, open, close) as epoch seconds."""
    import pandas_market_calendars as mcal

    with warnings.catch_warnings():
        # pandas-market-calendars 5.5 still calls APIs pandas 3 deprecates; not our code.
        warnings.filterwarnings("ignore", module=r"pandas_market_calendars\b.*")
        schedule = mcal.get_calendar("NYSE").schedule(start_date=f"{year}-01-01", end_date=f"{year}-12-31")
    days = (schedule.index.as_unit("s").asi8 // DAY).astype(np.int64)
    opens = pd.DatetimeIndex(schedule["market_open"]).as_unit("s").asi8.astype(np.int64)
    closes = pd.DatetimeIndex(schedule["market_close"]).as_unit("s").asi8.astype(np.int64)
    return days, opens, closes


def nyse_sessions(first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sessions whose day lies between the days of two epoch times (inclusive)."""
    y0 = datetime.fromtimestamp(first, timezone.utc).year
    y1 = datetime.fromtimestamp(last, timezone.utc).year
    parts = [_nyse_year(y) for y in range(max(y0, 1900), min(y1, 2199) + 1)]
    if not parts:
        empty = np.array([], dtype=np.int64)
        return empty, empty, empty
    days, opens, closes = (np.concatenate(col) for col in zip(*parts))
    keep = (days >= first // DAY) & (days <= last // DAY)
    return days[keep], opens[keep], closes[keep]


PRE_MARKET = 5 * 3600 + 1800  # 04:00 before a 09:30 open
AFTER_HOURS = 4 * 3600  # 20:00 after a 16:00 close


def us_trading_windows(start: datetime, end: datetime, *, extended: bool = False) -> list[tuple[datetime, datetime]]:
    """NYSE trading time within [start, end), oldest first: regular sessions (half days
    and holidays included), or 04:00-20:00 New York time on session days when `extended`."""
    days, opens, closes = nyse_sessions(int(start.timestamp()) - DAY, int(end.timestamp()) + DAY)
    windows = []
    lo_bound, hi_bound = start.timestamp(), end.timestamp()
    for open_, close in zip(opens.tolist(), closes.tolist()):
        lo = open_ - PRE_MARKET if extended else open_
        hi = close + AFTER_HOURS if extended else close
        lo, hi = max(lo, lo_bound), min(hi, hi_bound)
        if lo < hi:
            windows.append((datetime.fromtimestamp(lo, timezone.utc), datetime.fromtimestamp(hi, timezone.utc)))
    return windows


def _session_day(ts: np.ndarray) -> np.ndarray:
    """The New York date a daily bar belongs to, as a day number since 1970.

    Bars stamped at 00:00 UTC of their date (how mdc stores daily bars), at New York
    midnight, or at the open all land on the right date once six hours are added.
    """
    local = pd.DatetimeIndex(pd.to_datetime(ts + 6 * 3600, unit="s", utc=True)).tz_convert(NY)
    return (local.tz_localize(None).normalize().as_unit("s").asi8 // DAY).astype(np.int64)


def _nyse_daily(ts: np.ndarray) -> list[Gap]:
    stored = np.unique(_session_day(ts))
    days, _, _ = nyse_sessions(int(stored[0]) * DAY, int(stored[-1]) * DAY)
    return _missing_runs(stored, days, 1, scale=DAY)


def _missing_runs(present: np.ndarray, expected: np.ndarray, step: int, scale: int = 1) -> list[Gap]:
    """Runs of consecutive `expected` keys absent from `present`, as gaps."""
    absent = ~np.isin(expected, present)
    if not absent.any():
        return []
    idx = np.flatnonzero(absent)
    breaks = np.flatnonzero(np.diff(idx) > 1)
    run_starts = np.concatenate(([idx[0]], idx[breaks + 1]))
    run_ends = np.concatenate((idx[breaks], [idx[-1]]))
    return [Gap(int(expected[a]) * scale, (int(expected[b]) + step) * scale, int(b - a + 1))
            for a, b in zip(run_starts, run_ends)]


def _nyse_intraday(ts: np.ndarray, step: int) -> list[Gap]:
    """Regular-session time that no bar covers, one gap per stretch without bars."""
    _, opens, closes = nyse_sessions(int(ts[0]), int(ts[-1]))
    covered_to = np.maximum.accumulate(ts + step)
    hole = ts[1:] > covered_to[:-1]
    gap_lo, gap_hi = covered_to[:-1][hole], ts[1:][hole]
    # Sessions overlapping each hole: close after its start and open before its end.
    first = np.searchsorted(closes, gap_lo, side="right")
    stop = np.searchsorted(opens, gap_hi, side="left")
    inside = stop > first  # the others are nights, weekends and holidays: no session inside
    gaps = []
    for lo, hi, i0, i1 in zip(gap_lo[inside], gap_hi[inside], first[inside], stop[inside]):
        piece_lo = np.maximum(lo, opens[i0:i1])
        piece_hi = np.minimum(hi, closes[i0:i1])
        length = piece_hi - piece_lo
        real = length >= step
        if real.any():
            gaps.append(Gap(int(piece_lo[real][0]), int(piece_hi[real][-1]),
                            int(np.rint(length[real] / step).sum())))
    return gaps


def _largest(ts: np.ndarray, step: int) -> GapReport:
    spaces = np.diff(ts)
    big = np.flatnonzero(spaces > 1.5 * step)
    top = big[np.argsort(-spaces[big], kind="stable")[:LARGEST_SHOWN]]
    gaps = [Gap(int(ts[i]) + step, int(ts[i + 1]), None) for i in top]
    return GapReport("largest", "bars", gaps, int(big.size), None)


def day_of(epoch: int) -> date:
    return datetime.fromtimestamp(epoch, timezone.utc).date()
