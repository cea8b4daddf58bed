"""The price chart's data: a range of a series cut into at most SLOTS slots, side by side.

Slots hold consecutive bars, so nights, weekends and holidays take no room on the time axis
(no diagonal lines across them). A few bars (up to CANDLES_UP_TO) are one slot each and
drawn as candles; more are grouped: open of the first bar, close of the last, highest high,
lowest low, summed volume, and the lowest and highest close (the line runs through both).

Big ranges never reach Python bar by bar: the database cuts them into equal time buckets
(SeriesStore.buckets) and only the buckets holding bars become slots, so 500,000 bars cost
one bucketed read plus ~400 slots of SVG. Drawing is in chart_svg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from collector import SeriesStore, interval_seconds

SLOTS = 400
CANDLES_UP_TO = 250  # bars in range; more and candles get thinner than 3 px
RAW_UP_TO = 40_000  # estimated bars read one by one (and grouped in numpy); more: bucketed in SQL


@dataclass
class ChartData:
    mode: str  # "candles" (a bar per slot), "line" (a bar per slot, too many for candles),
    #            "envelope" (several bars per slot) or "empty"
    ts: np.ndarray  # first bar time of each slot (epoch seconds)
    last: np.ndarray  # last bar time of each slot
    open: np.ndarray  # NaN where a slot from the database does not know it (so are high and low)
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray  # NaN where unknown (then close_min/close_max tell its range)
    close_min: np.ndarray
    close_max: np.ndarray
    volume: np.ndarray
    count: np.ndarray  # bars per slot
    bars: int  # bars in the range
    start: int  # the range drawn, epoch seconds
    end: int
    step: int  # the series' interval in seconds

    @property
    def slots(self) -> int:
        return int(self.ts.size)


def load(store: SeriesStore, sid: int, interval: str, start: int, end: int) -> ChartData:
    """What the chart of [start, end) needs, read the cheapest way for its size."""
    step = interval_seconds(interval)
    lo, hi = store.span(sid, start, end)
    if lo is None:
        return _empty(start, end, step)
    start, end = lo, hi + step
    if (end - start) / step > RAW_UP_TO:
        return _from_buckets(store.buckets(sid, start, end, SLOTS), start, end, step)
    rows = store.bars(sid, start, end)
    cols = [np.array(col) for col in zip(*rows)]
    ts = cols[0].astype(np.int64)
    o, h, low, c, v = (np.nan_to_num(col.astype(np.float64)) if i == 4 else col.astype(np.float64)
                       for i, col in enumerate(cols[1:6]))
    if ts.size <= SLOTS:
        mode = "candles" if ts.size <= CANDLES_UP_TO else "line"
        return ChartData(mode, ts, ts, o, h, low, c, c, c, v, np.ones(ts.size, dtype=np.int64),
                         int(ts.size), start, end, step)
    return _grouped(ts, o, h, low, c, v, start, end, step)


def _grouped(ts, o, h, low, c, v, start: int, end: int, step: int) -> ChartData:
    """Consecutive bars in equal groups, one group per slot."""
    size = math.ceil(ts.size / SLOTS)
    first = np.arange(0, ts.size, size)
    last = np.r_[first[1:] - 1, ts.size - 1]
    return ChartData("envelope", ts[first], ts[last], o[first], np.maximum.reduceat(h, first),
                     np.minimum.reduceat(low, first), c[last], np.minimum.reduceat(c, first),
                     np.maximum.reduceat(c, first), np.add.reduceat(v, first), np.diff(np.r_[first, ts.size]),
                     int(ts.size), start, end, step)


def _from_buckets(b, start: int, end: int, step: int) -> ChartData:
    """Buckets know their closes' range, volume and bar count (open, high, low: too costly to read)."""
    unknown = np.full(b.ts.size, np.nan)
    last = np.maximum(b.ts, b.last - step + 1)  # the last moment a bar of the bucket can start
    return ChartData("envelope", b.ts, last, unknown, unknown, unknown, unknown, b.close_min, b.close_max,
                     b.volume, b.counts, b.count, start, end, step)


def _empty(start: int, end: int, step: int) -> ChartData:
    none_i, none_f = np.array([], dtype=np.int64), np.array([], dtype=np.float64)
    return ChartData("empty", none_i, none_i, none_f, none_f, none_f, none_f, none_f, none_f, none_f, none_i,
                     0, start, end, step)


def price_decimals(*columns: np.ndarray, most: int = 8) -> int:
    """How many decimals the series' prices carry (at least 2), so every price shows alike."""
    values = np.concatenate([np.asarray(c, dtype=np.float64) for c in columns]) if columns else np.array([])
    values = values[np.isfinite(values)][:500]
    for digits in range(2, most + 1):
        scaled = values * 10**digits
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return digits
    return most
