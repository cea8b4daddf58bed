"""The market behind the Yahoo fake: NYSE sessions, deterministic prices, and splits and
dividends applied as of a clock, the way Yahoo adjusts its history on the day it answers.

Prices are a pure function of (ticker, interval, bar time) on *today's* share basis
(`base_values`). A bar traded before a 4:1 split cost four times as much; Yahoo shows it
that way until the split happens, and divided by four from the ex-date on. So a bar as served
at clock T is the base price times the ratios of the splits still ahead of both the bar and T.
Adjusted closes also fold in the dividends paid after the bar (and by T), Yahoo's way:
1 - amount / the close of the session before the ex-date.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from collector.calendar import sessions

UTC = timezone.utc
NEW_YORK = ZoneInfo("America/New_York")
OPEN_MINUTES = 9 * 60 + 30  # stamp of daily bars, local time
INTRADAY_MINUTES = {"1m": 1, "2m": 2, "5m": 5, "15m": 15, "30m": 30, "60m": 60, "1h": 60, "90m": 90}
DAILY = ("1d", "5d", "1wk", "1mo", "3mo")
DIVIDEND_DAY, DIVIDEND_SHARE = date(2026, 6, 15), 0.03  # every ticker pays 3% then, unless told otherwise


@lru_cache(maxsize=64)
def _year_sessions(year: int) -> dict[date, tuple[int, int]]:
    """The NYSE sessions of one year: day -> (open, close) epoch seconds."""
    days, opens, closes = sessions(int(datetime(year, 1, 1, tzinfo=UTC).timestamp()),
                                   int(datetime(year, 12, 31, tzinfo=UTC).timestamp()))
    return {date(1970, 1, 1) + timedelta(days=int(d)): (int(o), int(c)) for d, o, c in zip(days, opens, closes)}


def session_of(day: date) -> tuple[int, int] | None:
    return _year_sessions(day.year).get(day)


def is_trading_day(day: date) -> bool:
    return session_of(day) is not None


def local_days(start: datetime, end: datetime):
    """Local calendar days that may hold bars starting in [start, end)."""
    day = start.astimezone(NEW_YORK).date() - timedelta(days=1)
    last = end.astimezone(NEW_YORK).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def local(day: date, minutes: int) -> datetime:
    return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=NEW_YORK)


def _period_start(day: date, interval: str) -> date:
    """First calendar day of the multi-day bar that `day` falls in."""
    if interval == "1d":
        return day
    if interval == "5d":  # blocks of 5 calendar days counted from Monday 1970-01-05
        return day - timedelta(days=(day - date(1970, 1, 5)).days % 5)
    if interval == "1wk":
        return day - timedelta(days=day.weekday())
    if interval == "1mo":
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)  # 3mo: quarters


def bar_starts(interval: str, start: datetime, end: datetime) -> list[int]:
    """Epoch seconds of the bars Yahoo would send for [start, end), as Yahoo stamps them.

    Intraday bars run from the open to the close of each session (13:00 on half days); daily
    and longer bars are stamped at 09:30 New York time of the first day of their period
    (yfinance keeps only the date).
    """
    lo, hi = start.timestamp(), end.timestamp()
    stamps: set[int] = set()
    for day in local_days(start, end):
        session = session_of(day)
        if session is None:
            continue
        if interval in INTRADAY_MINUTES:
            stamps.update(range(session[0], session[1], INTRADAY_MINUTES[interval] * 60))
        else:
            stamps.add(int(local(_period_start(day, interval), OPEN_MINUTES).timestamp()))
    return sorted(t for t in stamps if lo <= t < hi)


def base_values(ticker: str, interval: str, ts: int) -> dict[str, float]:
    """One bar on today's share basis: prices with 2 decimals, a volume divisible by 4 (so
    the 2:1 and 4:1 splits of the tests scale it exactly)."""
    digest = hashlib.blake2b(f"{ticker}|{interval}|{ts}".encode(), digest_size=16).digest()
    u = [int.from_bytes(digest[i:i + 4], "big") / 2**32 for i in range(0, 16, 4)]
    base = 20 + int.from_bytes(hashlib.blake2b(ticker.encode(), digest_size=2).digest(), "big") % 400
    open_ = round(base * (1 + (u[0] - 0.5) * 0.04), 2)
    close = round(base * (1 + (u[1] - 0.5) * 0.04), 2)
    high = round(max(open_, close) * (1 + u[2] * 0.01), 2)
    low = round(min(open_, close) * (1 - u[3] * 0.01), 2)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": 4 * (250 + int(u[2] * 250_000))}


def ex_start(day: date) -> int:
    """Midnight in New York of an ex-date: the first moment the action is in force."""
    return int(local(day, 0).timestamp())


def event_stamp(day: date) -> int:
    """Where Yahoo dates an event: 09:30 New York time of its ex-date."""
    return int(local(day, OPEN_MINUTES).timestamp())


@dataclass
class Market:
    """Splits and dividends per ticker, and the clock the history is adjusted to."""

    now: datetime | None = None  # None: real time
    splits: dict[str, list[tuple[date, float]]] = field(default_factory=dict)
    dividends: dict[str, list[tuple[date, float]]] = field(default_factory=dict)  # amount on today's basis
    revisions: dict[str, list[tuple[int, int, float]]] = field(default_factory=dict)  # [from, to) times a factor
    bad: dict[tuple[str, str, int], dict[str, float]] = field(default_factory=dict)  # values served instead

    CONTROLS = ("add_split", "add_dividend", "revise", "serve_bad")

    def add_split(self, ticker: str, day: date, ratio: float) -> None:
        """A split of `ratio` new shares per old one, in force from `day` (the ex-date)."""
        self.splits.setdefault(ticker, []).append((day, float(ratio)))

    def revise(self, ticker: str, start: datetime, end: datetime, factor: float) -> None:
        """From now on serve the prices of bars in [start, end) multiplied by `factor` (Yahoo
        correcting its history)."""
        self.revisions.setdefault(ticker, []).append((int(start.timestamp()), int(end.timestamp()), factor))

    def serve_bad(self, ticker: str, interval: str, ts: int, **values: float) -> None:
        """Serve these values for one bar (Yahoo's interval name, its timestamp as it sends it),
        like a glitch in Yahoo's data: a price 100x off, a high below the close, ..."""
        self.bad[(ticker, interval, ts)] = values

    def add_dividend(self, ticker: str, day: date, amount: float) -> None:
        """A dividend (amount per share on today's basis); replaces the default one."""
        self.dividends.setdefault(ticker, []).append((day, float(amount)))

    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    def dividends_of(self, ticker: str) -> list[tuple[date, float]]:
        if ticker in self.dividends:
            return self.dividends[ticker]
        before = _last_session_before(DIVIDEND_DAY)
        close = base_values(ticker, "1d", int(local(before, OPEN_MINUTES).timestamp()))["close"]
        return [(DIVIDEND_DAY, round(DIVIDEND_SHARE * close, 2))]

    def ahead(self, ticker: str, ts: int) -> float:
        """Product of the ratios of splits after both the bar and the clock: what Yahoo still
        shows the bar multiplied by."""
        moment = max(ts, int(self.clock().timestamp()))
        product = 1.0
        for day, ratio in self.splits.get(ticker, ()):
            if ex_start(day) > moment:
                product *= ratio
        return product

    def values(self, ticker: str, interval: str, ts: int) -> dict[str, float]:
        """A bar as Yahoo serves it at the clock: open, high, low, close, volume, adjclose."""
        v = base_values(ticker, interval, ts)
        for lo, hi, factor in self.revisions.get(ticker, ()):
            if lo <= ts < hi:
                v = {k: (round(x * factor, 2) if k != "volume" else x) for k, x in v.items()}
        ahead = self.ahead(ticker, ts)
        out = {k: v[k] * ahead for k in ("open", "high", "low", "close")}
        out["volume"] = v["volume"] // int(ahead) if ahead >= 1 and ahead == int(ahead) else round(v["volume"] / ahead)
        out.update(self.bad.get((ticker, interval, ts), {}))
        out["adjclose"] = out["close"] * self.dividend_factor(ticker, ts)
        return out

    def dividend_factor(self, ticker: str, ts: int) -> float:
        clock = int(self.clock().timestamp())
        factor = 1.0
        for day, amount in self.dividends_of(ticker):
            if ts < ex_start(day) <= clock:
                before = _last_session_before(day)
                close = base_values(ticker, "1d", int(local(before, OPEN_MINUTES).timestamp()))["close"]
                factor *= 1 - amount / close  # both on today's basis: the ratio is the same on any
        return factor

    def events(self, ticker: str, start: datetime, end: datetime) -> dict:
        """Yahoo's `events` for a chart answer: what happened in [start, end) by the clock."""
        clock = int(self.clock().timestamp())
        lo, hi = start.timestamp(), end.timestamp()
        splits, dividends = {}, {}
        for day, ratio in self.splits.get(ticker, ()):
            stamp = event_stamp(day)
            if lo <= stamp < hi and ex_start(day) <= clock:
                num, den = (int(ratio), 1) if ratio >= 1 else (1, round(1 / ratio))
                splits[str(stamp)] = {"date": stamp, "numerator": num, "denominator": den, "splitRatio": f"{num}:{den}"}
        for day, amount in self.dividends_of(ticker):
            stamp = event_stamp(day)
            if lo <= stamp < hi and ex_start(day) <= clock:
                dividends[str(stamp)] = {"amount": round(amount * self.ahead(ticker, stamp), 6), "date": stamp}
        out = {}
        if splits:
            out["splits"] = splits
        if dividends:
            out["dividends"] = dividends
        return out


def _last_session_before(day: date) -> date:
    day -= timedelta(days=1)
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day
