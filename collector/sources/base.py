"""The contract every data source follows.

A source validates a request (at submit time, so people get the message before anything
is queued), plans it as chunks that respect its limits, and fetches one chunk as a
DataFrame of UTC bars — or as a `Fetched`, the bars plus the splits and dividends the
source reported with them. Errors are either permanent (the job fails with the message) or
transient (the worker retries with backoff).

Sources that report corporate actions (Yahoo) also answer `actions(symbol, start, end,
report_wait)` on its own, for a job whose range does not reach the present.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Protocol, runtime_checkable

import pandas as pd

# Columns of the frame a source returns; the index is a tz-aware UTC DatetimeIndex named "ts"
# holding the start of each bar. wap and trades may be all-NaN when a source has none.
BAR_COLUMNS = ("open", "high", "low", "close", "volume", "wap", "trades")


class SourceError(Exception):
    """Base of source errors; str(error) is shown to people, so write it for them."""


class PermanentError(SourceError):
    """Retrying will not help: bad ticker, no permission, range the source does not keep."""


class TransientError(SourceError):
    """Worth retrying: rate limit, pacing, timeout, disconnect.

    `retry_after` (seconds) overrides the worker's backoff when the source knows better.
    """

    retries: int | None = None  # at most this many retries, whatever the setting says

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Unreachable(TransientError):
    """The source cannot be reached at all (its name does not resolve, nothing listens on its
    port): one retry rules out a blip; more only keep people waiting."""

    retries = 1


class Interrupted(BaseException):
    """A wait was cut short: the job was cancelled or the collector is stopping. A
    BaseException, like asyncio.CancelledError, so that no library's `except Exception`
    around a source's wait swallows it."""


@dataclass(frozen=True)
class Request:
    """What a job asks a source for. start/end are aware UTC datetimes, end exclusive."""

    symbol: str
    interval: str
    start: datetime
    end: datetime
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """One fetch: bars whose start lies in [start, end)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Action:
    """A split or a dividend as the source reported it.

    `value` is new shares per old share for a split (4.0 for 4:1, 0.5 for a 1:2 reverse
    split) and the amount per share for a dividend. `starts_at` is midnight of `ex_date` in
    the exchange's zone (epoch seconds): bars before it are the "earlier" bars.
    """

    kind: str  # "split" or "dividend"
    ex_date: date
    value: float
    starts_at: int


@dataclass(frozen=True)
class Fetched:
    """One chunk as a source answered it: the bars, and the actions it reported."""

    bars: pd.DataFrame
    actions: tuple[Action, ...] = ()

    @classmethod
    def of(cls, result: "pd.DataFrame | Fetched") -> "Fetched":
        """Sources that report no actions may return the bare frame."""
        return result if isinstance(result, Fetched) else cls(result)


# Called by a source while it waits (pacing, backoff) so progress never looks stuck. The
# worker passes an object that can also `sleep(seconds)`: a sleep that raises Interrupted
# as soon as the job is cancelled, which sources use for every wait (see `sleeper`).
WaitReporter = Callable[[str], None]


def sleeper(report_wait: Any, default: Callable[[float], None] = time.sleep) -> Callable[[float], None]:
    """How a source should sleep while fetching: the worker's interruptible sleep when the
    reporter it was given has one, else `default` (a plain call from a test or a script)."""
    return getattr(report_wait, "sleep", None) or default


@runtime_checkable
class Source(Protocol):
    name: str  # "yahoo", "ibkr", "sim"
    label: str  # what people see: "Yahoo Finance", "Simulated", ...
    intervals: tuple[str, ...]  # the subset of timespec.INTERVALS this source serves

    def validate(self, request: Request) -> dict[str, str]:
        """Field name -> message for everything wrong with `request` (empty when fine).

        Field names are the form's: symbol, interval, start, end, period, or an option name.
        """

    def normalize_options(self, options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """Clean the source options; return (options, errors by field)."""

    def kind(self, options: dict[str, Any]) -> str:
        """What the prices are for these options: trades, midpoint, bid, ask, adjusted, ..."""

    def plan(self, request: Request) -> list[Chunk]:
        """The chunks, in the order they will be fetched."""

    def fetch(self, request: Request, chunk: Chunk, report_wait: WaitReporter) -> "pd.DataFrame | Fetched":
        """Bars of one chunk (see BAR_COLUMNS); an empty frame when there was no trading.
        A source that learns of splits and dividends returns them with the bars (Fetched)."""

    def close(self) -> None:
        """Release connections; the source may be used again afterwards."""


def empty_bars() -> pd.DataFrame:
    """An empty frame with the bar columns and a UTC index."""
    index = pd.DatetimeIndex([], tz="UTC", name="ts")
    return pd.DataFrame({c: pd.Series([], dtype="float64") for c in BAR_COLUMNS}, index=index)


def chunk_range(start: datetime, end: datetime, span, *, backwards: bool = False) -> list[Chunk]:
    """Split [start, end) into chunks of at most `span` (a timedelta)."""
    chunks: list[Chunk] = []
    if backwards:
        hi = end
        while hi > start:
            lo = max(start, hi - span)
            chunks.append(Chunk(lo, hi))
            hi = lo
    else:
        lo = start
        while lo < end:
            hi = min(end, lo + span)
            chunks.append(Chunk(lo, hi))
            lo = hi
    return chunks
