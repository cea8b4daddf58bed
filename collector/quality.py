"""Quality checks on bars: vectorised, run on every chunk a job writes, never altering a bar.

Each check sets one bit of a bar's `flags` (0 = nothing suspect):

    ohlc       low <= open, close <= high (beyond float rounding)
    price      a price at or below zero
    volume     negative volume
    grid       a bar time off the interval's grid (UTC-aligned, or aligned to the session open)
    session    a bar outside the calendar's sessions (NYSE for US stocks and ETFs, the
               simulated calendar for sim); nights, weekends and holidays
    spike      a return (or a high/low) far outside the series' recent spread: more than
               `spike_sigmas` times the robust spread of the previous 50 comparable returns
               (returns across a night are compared with other nights)
    frozen     `run_bars` or more bars in a row with identical open, high, low and close
    no_volume  `run_bars` or more bars in a row without volume, in a series that has volume

A check lacking context (the first bars of a series) stays silent rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import calendar
from .timespec import interval_seconds, is_intraday

CHECKS: dict[str, int] = {"ohlc": 1, "price": 2, "volume": 4, "grid": 8, "session": 16,
                          "spike": 32, "frozen": 64, "no_volume": 128}
ROUNDING = 1e-6  # relative: prices that differ by less are the same price
SPREAD_WINDOW, SPREAD_MIN = 50, 20  # returns that make "the recent spread"
NIGHT_WINDOW, NIGHT_MIN = 20, 5  # the same for returns across a session break
CONTEXT_BARS = 64  # stored bars read on each side of a chunk, so runs and returns continue


@dataclass(frozen=True)
class Rules:
    spike_sigmas: float = 10.0
    run_bars: int = 10


@dataclass(frozen=True)
class Bars:
    """Sorted bars as arrays: epoch seconds and float prices and volume."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def of_frame(cls, frame: pd.DataFrame) -> "Bars":
        """The frame's bars that have all four prices, sorted, one per time (the last, as the
        upsert keeps it). Plain numpy from the start: a job's chunk is often a handful of
        bars, where every pandas selection costs more than the checks themselves."""
        ts = pd.DatetimeIndex(frame.index).as_unit("s").asi8.astype(np.int64)
        prices = [frame[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in ("open", "high", "low", "close")]
        volume = np.nan_to_num(frame["volume"].to_numpy(dtype=np.float64, na_value=np.nan), nan=0.0)
        priced = ~np.isnan(np.vstack(prices)).any(axis=0)
        order = np.flatnonzero(priced)[np.argsort(ts[priced], kind="stable")]
        last = np.r_[ts[order][1:] != ts[order][:-1], True]
        pick = order[last]
        return cls(ts[pick], *(p[pick] for p in prices), volume[pick])


def flag_names(flags: int) -> list[str]:
    """The checks whose bits are set."""
    return [name for name, bit in CHECKS.items() if flags & bit]


def check(bars: Bars, interval: str, method: str, extended: bool, rules: Rules) -> np.ndarray:
    """Flags (uint16) for every bar. `method` is the calendar: "nyse", "sim" or "largest"
    (none); `extended` means the series holds pre- and after-market bars."""
    o, h, low, c, v = bars.open, bars.high, bars.low, bars.close, bars.volume
    flags = np.zeros(bars.ts.size, dtype=np.uint16)
    if bars.ts.size == 0:
        return flags
    slack = 1 + ROUNDING
    body_lo, body_hi = np.minimum(o, c), np.maximum(o, c)
    flags[(low > body_lo * slack + 1e-12) | (body_hi > h * slack + 1e-12) | (low > h * slack + 1e-12)] |= CHECKS["ohlc"]
    flags[(o <= 0) | (h <= 0) | (low <= 0) | (c <= 0)] |= CHECKS["price"]
    flags[v < 0] |= CHECKS["volume"]
    off_grid, outside = _calendar_flags(bars.ts, interval, method, extended)
    flags[off_grid] |= CHECKS["grid"]
    flags[outside] |= CHECKS["session"]
    flags[_spikes(bars, interval, rules.spike_sigmas)] |= CHECKS["spike"]
    same = np.r_[False, (o[1:] == o[:-1]) & (h[1:] == h[:-1]) & (low[1:] == low[:-1]) & (c[1:] == c[:-1])]
    flags[_long_runs(same, rules.run_bars, continues=True)] |= CHECKS["frozen"]
    if (v > 0).any():  # FX rates, indices without volume, midpoints: no volume is normal
        flags[_long_runs(v == 0, rules.run_bars, continues=False)] |= CHECKS["no_volume"]
    return flags


def _long_runs(marks: np.ndarray, length: int, continues: bool) -> np.ndarray:
    """Bars in runs of at least `length`. With `continues`, a mark means "same as the bar
    before", so each run also takes in the bar it continues."""
    if continues:
        marks = marks | np.r_[marks[1:], False]
    out = np.zeros(marks.size, dtype=bool)
    if not marks.any():
        return out
    edges = np.diff(np.r_[0, marks.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for a, b in zip(starts, ends):
        if b - a >= length:
            out[a:b] = True
    return out


def _calendar_flags(ts: np.ndarray, interval: str, method: str, extended: bool) -> tuple[np.ndarray, np.ndarray]:
    """(off the grid, outside sessions) for every bar."""
    none = np.zeros(ts.size, dtype=bool)
    step = interval_seconds(interval)
    if not is_intraday(interval):
        off = ts % calendar.DAY != 0
        if method == "sim" and interval == "1d":
            return off, ((ts // calendar.DAY) + 3) % 7 >= 5
        if method == "nyse" and interval == "1d":
            days, _, _ = calendar.sessions(int(ts.min()), int(ts.max()))
            return off, ~np.isin(ts // calendar.DAY, days)
        return off, none
    if method == "sim":  # its bars sit on a grid from 1970 (calendar.sim_bar_times)
        return ts % step != 0, ~calendar.sim_trading(ts)
    if method == "nyse":
        _, opens, closes = calendar.sessions(int(ts.min()) - calendar.DAY, int(ts.max()) + calendar.DAY)
        if opens.size == 0:
            return ts % step != 0, np.ones(ts.size, dtype=bool)
        lo = opens - calendar.PRE_MARKET if extended else opens
        hi = closes + calendar.AFTER_HOURS if extended else closes
        which = np.clip(np.searchsorted(hi, ts, side="right"), 0, opens.size - 1)
        inside = (ts >= lo[which]) & (ts < hi[which])
        off = (ts % step != 0) & ((ts - opens[which]) % step != 0)
        return off, ~inside
    phase = ts % step
    values, counts = np.unique(phase, return_counts=True)
    usual = values[np.argmax(counts)]
    return (phase != 0) & (phase != usual), none


def _spikes(bars: Bars, interval: str, sigmas: float) -> np.ndarray:
    """Bars whose return (close to close) or wick is beyond `sigmas` robust spreads of the
    previous comparable returns; the bar that merely returns from a spike is not one."""
    n = bars.ts.size
    out = np.zeros(n, dtype=bool)
    if n < SPREAD_MIN + 2:
        return out
    c = bars.close
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.r_[np.nan, np.log(c[1:] / c[:-1])]
        wick = np.maximum(np.log(bars.high / np.maximum(bars.open, c)), np.log(np.minimum(bars.open, c) / bars.low))
    r[~np.isfinite(r)] = np.nan
    night = np.zeros(n, dtype=bool)
    if is_intraday(interval):
        night[1:] = np.diff(bars.ts) > interval_seconds(interval)
    scale = np.full(n, np.nan)
    for mask, window, least in ((~night, SPREAD_WINDOW, SPREAD_MIN), (night, NIGHT_WINDOW, NIGHT_MIN)):
        idx = np.flatnonzero(mask)
        scale[idx] = _spread(np.abs(r[idx]), window, least)
    day_scale = pd.Series(np.where(night, np.nan, scale)).ffill().to_numpy()
    with np.errstate(invalid="ignore"):
        candidate = np.abs(r) > sigmas * scale
        candidate |= np.nan_to_num(wick, nan=0.0) > sigmas * day_scale
    signs = np.sign(np.nan_to_num(r))
    last = -2  # the latest bar flagged
    for i in np.flatnonzero(candidate):
        back = signs[i] != 0 and signs[i] == -signs[i - 1]
        if back and last == i - 1:
            continue  # the way back from the spike before
        if back and np.isnan(scale[i - 1]) and abs(r[i - 1]) > sigmas * scale[i]:
            out[i - 1] = True  # a spike too early in the series to be judged, seen by its way back
            last = i - 1
            continue
        out[i] = True
        last = i
    return out


def _spread(moves: np.ndarray, window: int, least: int) -> np.ndarray:
    """A robust spread of the previous `window` absolute returns (not the bar's own):
    1.4826 x their median, or 1.2533 x their mean where most are zero; NaN without history."""
    series = pd.Series(moves)
    previous = series.shift(1)
    median = previous.rolling(window, min_periods=least).median().to_numpy() * 1.4826
    mean = previous.rolling(window, min_periods=least).mean().to_numpy() * 1.2533
    spread = np.where(median > 0, median, mean)
    spread[~(spread > 0)] = np.nan
    return spread
