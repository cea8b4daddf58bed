"""Bars as pandas frames, adjusted and resampled: shared by read_bars and the exports.

Resampling is session-aware: bins start at the session's open (09:30 New York for US stocks,
so 5-minute bars are 09:30, 09:35 ... and hourly ones 09:30, 10:30 ...), a bin never spans
two sessions (the last one of a half day ends at 13:00), and "1d" makes one bar per session.
Aggregation: first open, highest high, lowest low, last close, summed volume and trades, and
the volume-weighted average price (of each bar's wap where the source gives one, else of its
typical price (high + low + close) / 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from . import calendar
from .corporate import ADJUST_CHOICES, Adjustment
from .i18n import N_
from .store.gaps import method_for
from .timespec import INTERVALS, interval_seconds, is_intraday, shown

COLUMNS = ("open", "high", "low", "close", "volume", "wap", "trades")
CALENDAR_TARGETS = ("1d", "1w", "1mo", "3mo")  # a session, a week, a month, a quarter of sessions


def check_adjust(adjust: str | None) -> str | None:
    if adjust not in ADJUST_CHOICES:
        return N_("adjust must be empty, 'splits' or 'all', got {adjust!r}", adjust=shown(str(adjust)))
    return None


def resample_targets(interval: str) -> list[str]:
    """The coarser bars `interval` bars can be resampled to."""
    step = interval_seconds(interval)
    intraday = [i for i in INTERVALS if is_intraday(i) and INTERVALS[i] > step and INTERVALS[i] % step == 0]
    return (intraday if is_intraday(interval) else []) + [t for t in CALENDAR_TARGETS if INTERVALS[t] > step]


def check_resample(interval: str, target: str | None) -> str | None:
    """A message when `target` is no coarser grouping of `interval` bars."""
    if target in (None, "", interval):
        return None
    allowed = resample_targets(interval)
    if target not in allowed:
        if not allowed:
            return N_("{interval} bars cannot be resampled", interval=interval)
        return N_("{interval} bars resample to {choices}, not {target!r}", interval=interval, choices=" ".join(allowed),
                  target=shown(target))
    return None


@dataclass(frozen=True)
class Sessions:
    """How bar times group into sessions: window starts and ends, and each session's date."""

    starts: np.ndarray
    ends: np.ndarray
    days: np.ndarray  # day numbers since 1970 (the date a session's daily bar carries)

    @classmethod
    def for_series(cls, source: str, symbol: str, interval: str, kind: str, first: int, last: int) -> "Sessions":
        method = method_for(source, symbol, interval)
        if method == "nyse":
            days, opens, closes = calendar.sessions(first - calendar.DAY, last + calendar.DAY)
            if kind.endswith("_eth"):
                opens, closes = opens - calendar.PRE_MARKET, closes + calendar.AFTER_HOURS
            return cls(opens, closes, days)
        days = np.arange(first // calendar.DAY - 1, last // calendar.DAY + 2, dtype=np.int64)
        if method == "sim":
            days = days[(days + 3) % 7 < 5]  # weekdays (1970-01-01 was a Thursday)
            return cls(days * calendar.DAY + calendar.SIM_OPEN_S, days * calendar.DAY + calendar.SIM_CLOSE_S, days)
        return cls(days * calendar.DAY, (days + 1) * calendar.DAY, days)  # no calendar: UTC days

    def locate(self, ts: np.ndarray) -> np.ndarray:
        """Index of each bar's session; -1 outside every session."""
        j = np.searchsorted(self.ends, ts, side="right")
        inside = (j < self.starts.size)
        j = np.where(inside, j, 0)
        inside &= ts >= self.starts[j]
        return np.where(inside, j, -1)


class Resampler:
    """Resamples sorted bars fed in batches; a bin still open at a batch's end waits for the next."""

    def __init__(self, interval: str, target: str, sessions: Sessions):
        self.interval, self.target, self.sessions = interval, target, sessions
        self._carry: pd.DataFrame | None = None

    def feed(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self._carry is not None and len(self._carry):
            frame = pd.concat([self._carry, frame])
        if frame.empty:
            return _empty()
        keys, stamps = self._bins(pd.DatetimeIndex(frame.index).as_unit("s").asi8)
        last_start = int(np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])[-1])
        self._carry = frame.iloc[last_start:]
        return _aggregate(frame.iloc[:last_start], keys[:last_start], stamps[:last_start])

    def finish(self) -> pd.DataFrame:
        frame, self._carry = self._carry, None
        if frame is None or frame.empty:
            return _empty()
        keys, stamps = self._bins(pd.DatetimeIndex(frame.index).as_unit("s").asi8)
        return _aggregate(frame, keys, stamps)

    def _bins(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a key that changes exactly where a bin ends, the bin's time) for every bar."""
        if is_intraday(self.interval):
            which = self.sessions.locate(ts)
            day = np.where(which >= 0, self.sessions.days[np.maximum(which, 0)], ts // calendar.DAY)
            anchor = np.where(which >= 0, self.sessions.starts[np.maximum(which, 0)], day * calendar.DAY)
        else:  # daily bars carry their date at 00:00 UTC
            day = ts // calendar.DAY
            which = np.zeros(ts.size, dtype=np.int64)
            anchor = day * calendar.DAY
        if self.target not in CALENDAR_TARGETS:
            step = interval_seconds(self.target)
            stamps = anchor + (ts - anchor) // step * step
            return stamps * 2 + (which < 0), stamps  # outside bars never share a bin with a session's
        stamps = _period_start(day, self.target) * calendar.DAY
        return stamps, stamps


def _period_start(day: np.ndarray, target: str) -> np.ndarray:
    if target == "1d":
        return day
    if target == "1w":
        return day - (day + 3) % 7  # back to Monday
    dates = pd.to_datetime(day * calendar.DAY, unit="s")
    months = dates.month.to_numpy() if target == "1mo" else (dates.month.to_numpy() - 1) // 3 * 3 + 1
    firsts = pd.to_datetime({"year": dates.year.to_numpy(), "month": months, "day": 1})
    return (firsts.to_numpy().astype("datetime64[s]").astype(np.int64) // calendar.DAY).astype(np.int64)


def _aggregate(frame: pd.DataFrame, keys: np.ndarray, stamps: np.ndarray) -> pd.DataFrame:
    if frame.empty:
        return _empty()
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], keys.size]
    col = {c: frame[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in COLUMNS if c in frame}
    volume = np.nan_to_num(col["volume"])
    typical = (col["high"] + col["low"] + col["close"]) / 3
    price = np.where(np.isnan(col.get("wap", typical)), typical, col.get("wap", typical))
    summed = np.add.reduceat(volume, starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        vwap = np.add.reduceat(price * volume, starts) / summed
    trades = col.get("trades", np.full(keys.size, np.nan))
    counted = np.add.reduceat(np.nan_to_num(trades), starts)
    known = np.add.reduceat((~np.isnan(trades)).astype(np.int64), starts) > 0
    out = pd.DataFrame({
        "open": col["open"][starts], "high": np.maximum.reduceat(col["high"], starts),
        "low": np.minimum.reduceat(col["low"], starts), "close": col["close"][ends - 1],
        "volume": summed, "wap": np.where(summed > 0, vwap, np.nan), "trades": np.where(known, counted, np.nan)},
        index=_index(stamps[starts]))
    return out


def adjust_frame(frame: pd.DataFrame, adjustment: Adjustment) -> pd.DataFrame:
    """Prices (and wap) times the price factor, volume times the volume factor."""
    if adjustment.empty or frame.empty:
        return frame
    price, volume = adjustment.factors(pd.DatetimeIndex(frame.index).as_unit("s").asi8)
    frame = frame.copy()
    for name in ("open", "high", "low", "close", "wap"):
        if name in frame:
            frame[name] = frame[name].to_numpy(dtype=np.float64) * price
    frame["volume"] = frame["volume"].to_numpy(dtype=np.float64) * volume
    return frame


def transform(batches: Iterable[pd.DataFrame], adjustment: Adjustment | None,
              resampler: Resampler | None) -> Iterator[pd.DataFrame]:
    """Batches of bars, adjusted then resampled (each optional), as batches again."""
    for frame in batches:
        if adjustment is not None:
            frame = adjust_frame(frame, adjustment)
        if resampler is not None:
            frame = resampler.feed(frame)
        if len(frame):
            yield frame
    if resampler is not None:
        tail = resampler.finish()
        if len(tail):
            yield tail


def _index(epochs: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(epochs.astype(np.int64), unit="s", utc=True), name="ts").as_unit("ns")


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="float64") for c in COLUMNS}, index=_index(np.array([], dtype=np.int64)))
