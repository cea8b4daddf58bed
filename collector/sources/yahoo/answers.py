"""yfinance's answers as mdc's: the bars of one chunk on a UTC index, and the splits and
dividends Yahoo reported with them."""

from __future__ import annotations

import math

import pandas as pd

from collector.sources.base import BAR_COLUMNS, Action, Chunk, empty_bars
from collector.timespec import is_intraday, to_utc


def normalise(raw: pd.DataFrame | None, interval: str, chunk: Chunk) -> pd.DataFrame:
    """yfinance's frame -> BAR_COLUMNS on a UTC "ts" index, only bars starting in the chunk.

    Intraday bars keep their exact start in UTC. Daily and longer bars come at midnight
    of the exchange's zone; they are stored at 00:00 UTC of that calendar date, so a bar's
    timestamp never depends on the zone or daylight saving.
    """
    if raw is None or raw.empty:
        return empty_bars()
    index = pd.DatetimeIndex(raw.index)
    if is_intraday(interval):
        index = index.tz_convert("UTC")
    else:
        index = index.tz_localize(None).normalize().tz_localize("UTC")
    frame = pd.DataFrame(index=pd.DatetimeIndex(index, name="ts").as_unit("ns"))
    columns = {c.lower(): c for c in raw.columns}
    for name in ("open", "high", "low", "close", "volume"):
        frame[name] = pd.to_numeric(raw[columns[name]], errors="coerce").to_numpy(dtype="float64")
    frame["wap"] = math.nan
    frame["trades"] = math.nan
    frame = frame.astype("float64")[list(BAR_COLUMNS)]
    frame = frame[frame["close"].notna()]
    frame = frame[~frame.index.duplicated(keep="last")].sort_index()
    keep = (frame.index >= pd.Timestamp(to_utc(chunk.start))) & (frame.index < pd.Timestamp(to_utc(chunk.end)))
    return frame[keep]


def reported_actions(ticker) -> tuple[Action, ...]:
    """The splits and dividends in yfinance's last answer for `ticker`.

    yfinance parses Yahoo's `events` on every history call but merges them into the bars
    (losing the exact date for weekly and monthly bars); the parsed series it keeps on the
    price-history object carry the exact ex-dates in the exchange's zone. (yfinance is pinned.)
    """
    history = ticker._lazy_load_price_history()
    zone = getattr(history, "tz", None) or "UTC"
    found: list[Action] = []
    for kind, column, events in (("split", "Stock Splits", history._splits),
                                 ("dividend", "Dividends", history._dividends)):
        if isinstance(events, pd.DataFrame):
            events = events[column] if column in events else pd.Series(dtype="float64")
        if events is None or len(events) == 0:
            continue
        index = pd.DatetimeIndex(events.index)
        index = (index.tz_localize("UTC") if index.tz is None else index).tz_convert(zone)
        for moment, value in zip(index, pd.to_numeric(events, errors="coerce").to_numpy()):
            if not math.isfinite(value) or value <= 0:
                continue
            day = moment.date()
            found.append(Action(kind, day, float(value), int(pd.Timestamp(day, tz=zone).timestamp())))
    return tuple(sorted(set(found), key=lambda a: (a.ex_date, a.kind)))
