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

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from collector import calendar
from collector.calendar import DAY
from collector.i18n import N_, N_plural
from collector.timespec import INTERVALS, interval_seconds, is_intraday

LARGEST_SHOWN = 10
KEPT_GAPS = 2000


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


DESCRIPTIONS = {
    "nyse": N_("measured against the NYSE calendar (holidays and half days are not gaps)"),
    "sim": N_("measured against the simulated source's calendar (weekdays 14:30–21:00 UTC)"),
    "largest": N_("no exchange calendar for this series: the largest spaces between bars"),
}


@dataclass(frozen=True)
class GapReport:
    method: str  # "nyse", "sim" or "largest"
    unit: str  # what `missing` counts: "sessions" or "bars"
    gaps: list[Gap] = field(default_factory=list)  # chronological (largest first for "largest")
    count: int = 0  # every gap found (gaps may hold fewer)
    missing: int | None = None  # total missing bars/sessions; None for "largest"

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.method]

    @property
    def missing_text(self) -> str:
        """'3 sessions' / '120 bars' missing (what `missing` counts, said with it)."""
        n = self.missing or 0
        if self.unit == "sessions":
            return N_plural("{n} session", "{n} sessions", n)
        return N_plural("{n} bar", "{n} bars", n)

    def largest(self, n: int = LARGEST_SHOWN) -> list[Gap]:
        return sorted(self.gaps, key=lambda g: (-(g.missing or 0), -g.seconds, g.start))[:n]


def method_for(source: str, symbol: str, interval: str) -> str:
    """Which calendar tells what is missing for this series."""
    calendared = interval in INTERVALS and (is_intraday(interval) or interval == "1d")
    if source == "sim" and calendared:
        return "sim"
    if source in ("yahoo", "ibkr") and calendared and calendar.is_us_equity(symbol):
        return "nyse"
    return "largest"


def unit_for(method: str, interval: str) -> str:
    """What a report's `missing` counts."""
    return "sessions" if method == "nyse" and interval == "1d" else "bars"


def find_gaps(ts: np.ndarray, source: str, symbol: str, interval: str) -> GapReport:
    """Gaps of a series whose sorted bar times are `ts` (epoch seconds UTC)."""
    method = method_for(source, symbol, interval)
    unit = unit_for(method, interval)
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
    return calendar.sim_bar_times(interval, pd.Timestamp(first, unit="s", tz="UTC"),
                                  pd.Timestamp(last + 1, unit="s", tz="UTC"))


def _nyse_daily(ts: np.ndarray) -> list[Gap]:
    stored = np.unique(calendar.session_day(ts))
    days, _, _ = calendar.sessions(int(stored[0]) * DAY, int(stored[-1]) * DAY)
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
    _, opens, closes = calendar.sessions(int(ts[0]), int(ts[-1]))
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
