"""Interactive Brokers historical bars through TWS / IB Gateway (ib_insync).

A job is fetched newest chunk first, with conservative durations per bar size, each
request paced by IB's rules shared across collectors (ib_pacing), over one connection
per collector (ib_connection); IB's error codes become permanent or transient errors
(ib_errors).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from collector.calendar import is_us_equity, trading_windows
from collector.i18n import N_, join_messages
from collector.parse import YES_NO_HELP, parse_bool
from collector.settings import Settings
from collector.sources.base import (
    BAR_COLUMNS,
    Chunk,
    PermanentError,
    Request,
    TransientError,
    WaitReporter,
    chunk_range,
    empty_bars,
)
from collector.timespec import UTC, describe_interval, interval_seconds, to_utc, utcnow

from .connection import ClientIdClaim, IbConnection, import_ib, quiet_expected_ib_errors
from .errors import CONNECTIVITY_CODES, NoData, PacingViolation, classify
from .pacing import IbPacer, PacingRules

# interval -> (IB barSizeSetting, durationStr per request, wall-clock span of one chunk).
# A chunk never spans more than its duration covers: "1 M" is a calendar month (28 days
# at least), "1 Y" at least 365 days, "N D" is N sessions, which reach back N days or more.
_DAY = timedelta(days=1)
BAR_SIZES: dict[str, tuple[str, str, timedelta]] = {
    "1s": ("1 secs", "1800 S", timedelta(seconds=1800)),
    "5s": ("5 secs", "3600 S", timedelta(seconds=3600)),
    "10s": ("10 secs", "14400 S", timedelta(seconds=14400)),
    "15s": ("15 secs", "28800 S", timedelta(seconds=28800)),
    "30s": ("30 secs", "28800 S", timedelta(seconds=28800)),
    "1m": ("1 min", "1 D", _DAY),
    "2m": ("2 mins", "2 D", 2 * _DAY),
    "3m": ("3 mins", "2 D", 2 * _DAY),
    "5m": ("5 mins", "1 W", 7 * _DAY),
    "10m": ("10 mins", "1 W", 7 * _DAY),
    "15m": ("15 mins", "1 W", 7 * _DAY),
    "20m": ("20 mins", "1 W", 7 * _DAY),
    "30m": ("30 mins", "1 W", 7 * _DAY),
    "1h": ("1 hour", "1 M", 28 * _DAY),
    "2h": ("2 hours", "1 M", 28 * _DAY),
    "3h": ("3 hours", "1 M", 28 * _DAY),
    "4h": ("4 hours", "1 M", 28 * _DAY),
    "8h": ("8 hours", "1 M", 28 * _DAY),
    "1d": ("1 day", "1 Y", 365 * _DAY),
    "1w": ("1 week", "1 Y", 365 * _DAY),
    "1mo": ("1 month", "1 Y", 365 * _DAY),
}

WHAT_TO_SHOW = ("TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST",
                "HISTORICAL_VOLATILITY", "OPTION_IMPLIED_VOLATILITY")
SMALL_BAR_SECONDS = 30
SMALL_BAR_HISTORY = timedelta(days=180)  # IB: bars of 30 s or less for the last 6 months
_SYMBOL = re.compile(r"[A-Za-z0-9.]{1,15}")
_EXCHANGE = re.compile(r"[A-Za-z0-9.]{1,20}")


class IbkrSource:
    name = "ibkr"
    label = N_("Interactive Brokers")
    intervals = tuple(BAR_SIZES)
    # What the web form and curl may pass (webapp/forms.py). rth defaults to true; an
    # unchecked browser checkbox sends nothing, so "all hours" needs rth=false (or 0/off/no).
    option_names = ("what_to_show", "rth", "currency", "primary_exchange")
    option_choices = {"what_to_show": WHAT_TO_SHOW}

    def __init__(self, settings: Settings, redis=None, *, pacing: PacingRules | None = None,
                 connect_timeout: float | None = None, request_timeout: float | None = None,
                 backoff_base: float | None = None, clientid_ttl: float = 60.0):
        self.settings = settings
        if pacing is None:  # the knobs are Settings fields, validated when settings are read
            scale = settings.ib_pacing_scale
            pacing = PacingRules() if scale == 1.0 else PacingRules().scaled(scale)
        connect_timeout = settings.ib_connect_timeout_seconds if connect_timeout is None else connect_timeout
        request_timeout = settings.ib_request_timeout_seconds if request_timeout is None else request_timeout
        backoff_base = settings.ib_reconnect_seconds if backoff_base is None else backoff_base
        self.request_timeout = request_timeout
        self.pacer = IbPacer(redis, settings.key_prefix, pacing)
        claim = ClientIdClaim(redis, settings.key_prefix, settings.ib_client_id, ttl=clientid_ttl)
        self.connection = IbConnection(settings.ib_host, settings.ib_port, claim,
                                       connect_timeout=connect_timeout, backoff_base=backoff_base)
        self._contracts: dict[tuple[str, str, str], Any] = {}
        quiet_expected_ib_errors()

    # -- submit time ----------------------------------------------------------------------

    def normalize_options(self, options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        errors: dict[str, str] = {}
        what = str(options.get("what_to_show") or "TRADES").strip().upper()
        if what not in WHAT_TO_SHOW:
            errors["what_to_show"] = N_("must be one of {choices}", choices=", ".join(WHAT_TO_SHOW))
        # Absent or left empty: the default, regular trading hours only.
        rth = parse_bool(options.get("rth"), empty=True)
        if rth is None:
            errors["rth"] = N_("must be {yes_no}: regular trading hours only, or all hours", yes_no=YES_NO_HELP)
            rth = True
        currency = str(options.get("currency") or "USD").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            errors["currency"] = N_("must be a 3-letter currency code such as USD or EUR")
        primary = str(options.get("primary_exchange") or "").strip().upper()
        if primary and not _EXCHANGE.fullmatch(primary):
            errors["primary_exchange"] = N_("must be an exchange code such as NASDAQ, NYSE or ARCA")
        clean = {"what_to_show": what, "rth": rth, "currency": currency, "primary_exchange": primary}
        return clean, errors

    def kind(self, options: dict[str, Any]) -> str:
        """The data type, lower case ("trades", "midpoint", ...), plus "_eth" for all hours.

        Bars outside regular trading hours are a series of their own: IB's daily and longer
        bars differ with and without them, so mixing the two would overwrite one with the other.
        """
        clean = self.normalize_options(options)[0]
        return clean["what_to_show"].lower() + ("" if clean["rth"] else "_eth")

    def validate(self, request: Request) -> dict[str, str]:
        options, errors = self.normalize_options(request.options)
        if not _SYMBOL.fullmatch(request.symbol or ""):
            errors["symbol"] = N_("must be 1-15 letters, digits or dots without spaces (e.g. AAPL or BRK.B)")
        if request.interval not in BAR_SIZES:
            errors["interval"] = N_("IB has no {interval} bars; choose one of {choices}",
                                    interval=describe_interval(request.interval), choices=", ".join(BAR_SIZES))
            return errors
        start, end = to_utc(request.start), to_utc(request.end)
        if end <= start:
            errors["end"] = N_("must be after the start")
        seconds = interval_seconds(request.interval)
        oldest = utcnow() - SMALL_BAR_HISTORY
        if seconds <= SMALL_BAR_SECONDS and start < oldest:
            errors["start"] = N_("IB keeps {interval} bars for the last 6 months only: choose a start after {earliest}",
                                 interval=describe_interval(request.interval), earliest=f"{oldest:%Y-%m-%d}")
        what = options["what_to_show"]
        if what == "ADJUSTED_LAST" and seconds < 86400:
            errors["what_to_show"] = N_("ADJUSTED_LAST is available for daily, weekly or monthly bars only")
        return errors

    # -- run time -------------------------------------------------------------------------

    def plan(self, request: Request) -> list[Chunk]:
        options, _ = self.normalize_options(request.options)
        if options["what_to_show"] == "ADJUSTED_LAST":
            # IB serves adjusted bars only up to now (no end time), so one request covers it
            return [Chunk(to_utc(request.start), to_utc(request.end))]
        span = BAR_SIZES[request.interval][2]
        start, end = to_utc(request.start), to_utc(request.end)
        if interval_seconds(request.interval) <= SMALL_BAR_SECONDS and options["currency"] == "USD" \
                and is_us_equity(request.symbol):
            # Small bars cost the most pacing (60 requests per 10 minutes): ask only for the
            # hours the exchange trades, newest session first, instead of nights, weekends
            # and holidays that answer "no data" (a month of 5-second bars: ~150 requests, not 720).
            chunks: list[Chunk] = []
            for lo, hi in reversed(trading_windows(start, end, extended=not options["rth"])):
                chunks += chunk_range(lo, hi, span, backwards=True)
            return chunks
        return chunk_range(start, end, span, backwards=True)

    def fetch(self, request: Request, chunk: Chunk, report_wait: WaitReporter) -> pd.DataFrame:
        options, errors = self.normalize_options(request.options)
        if errors:
            raise PermanentError(join_messages([N_("{field} {problem}", field=k, problem=v) for k, v in errors.items()],
                                               "; "))
        bar_size, duration, _ = BAR_SIZES[request.interval]
        what, rth = options["what_to_show"], options["rth"]
        end: datetime | str = to_utc(chunk.end)
        if what == "ADJUSTED_LAST":
            end, duration = "", _duration_back_to(chunk.start)
        ib = self.connection.ensure_connected(report_wait)
        contract = self._qualify(ib, request.symbol, options)
        signature = f"{contract.conId}|{end}|{duration}|{bar_size}|{what}|{int(rth)}"
        self.pacer.acquire(signature=signature, contract_key=f"{contract.conId}:{contract.exchange}",
                           what_to_show=what, bar_seconds=interval_seconds(request.interval),
                           report_wait=report_wait)
        try:
            bars = self.connection.run(
                lambda: ib.reqHistoricalDataAsync(contract, end, duration, bar_size, what, rth,
                                                  formatDate=2, keepUpToDate=False, timeout=0),
                self.request_timeout)
        except TransientError:
            raise
        except Exception as exc:
            error = self._request_error(exc, request.symbol)
            if isinstance(error, NoData):
                return empty_bars()
            if isinstance(error, PacingViolation):
                error.retry_after = self.pacer.penalize()
            raise error from exc
        return bars_frame(bars, chunk)

    def close(self) -> None:
        self.connection.close()

    def _request_error(self, exc: Exception, symbol: str) -> Exception:
        """The source error for a failed request (ib_insync's RequestError carries IB's code)."""
        code = getattr(exc, "code", None)
        if code is None or not hasattr(exc, "reqId"):
            return TransientError(N_("IB request for {symbol} failed: {error}", symbol=symbol, error=repr(exc)))
        if code in CONNECTIVITY_CODES:
            self.connection.drop()  # the Gateway lost IB's servers: start afresh next time
        return classify(int(code), str(getattr(exc, "message", exc)), symbol)

    def _qualify(self, ib: Any, symbol: str, options: dict[str, Any]) -> Any:
        key = (symbol.upper(), options["currency"], options["primary_exchange"])
        if key in self._contracts:
            return self._contracts[key]
        stock = import_ib().Stock(key[0], "SMART", key[1], primaryExchange=key[2])
        try:
            details = self.connection.run(lambda: ib.reqContractDetailsAsync(stock), self.request_timeout)
        except TransientError:
            raise
        except Exception as exc:
            error = self._request_error(exc, key[0])
            raise (TransientError(N_("IB returned no contract for {symbol}", symbol=key[0]))
                   if isinstance(error, NoData) else error) from exc
        if not details:
            raise PermanentError(N_("IB has no security definition for {symbol} in {currency}", symbol=key[0],
                                    currency=key[1]))
        if len(details) > 1:
            places = sorted({d.contract.primaryExchange for d in details})
            raise PermanentError(N_("{symbol} is ambiguous at IB (listed on {places}): set the primary exchange",
                                    symbol=key[0], places=", ".join(places)))
        contract = details[0].contract
        contract.exchange = "SMART"  # IB answers with a venue; SMART routing is what we asked for
        self._contracts[key] = contract
        return contract


def _duration_back_to(start: datetime) -> str:
    """An IB duration reaching from now back to `start` (for requests without an end)."""
    days = max(1, math.ceil((utcnow() - to_utc(start)).total_seconds() / 86400))
    return f"{days} D" if days <= 365 else f"{math.ceil(days / 365)} Y"


def bars_frame(bars: list, chunk: Chunk) -> pd.DataFrame:
    """IB's bars as the frame every source returns, keeping bars that start in the chunk.

    IB sends -1 for volume, average and count when the data type has none (MIDPOINT, BID...).
    """
    if not bars:
        return empty_bars()
    rows = []
    for bar in bars:
        ts = bar.date
        if isinstance(ts, datetime):
            ts = to_utc(ts)
        elif isinstance(ts, date):
            ts = datetime(ts.year, ts.month, ts.day, tzinfo=UTC)  # daily bars: 00:00 UTC of the date
        rows.append((ts, bar.open, bar.high, bar.low, bar.close,
                     _value(bar.volume), _value(bar.average), _value(bar.barCount)))
    frame = pd.DataFrame.from_records(rows, columns=("ts",) + BAR_COLUMNS)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.as_unit(empty_bars().index.unit)
    frame = frame.set_index("ts").astype("float64")
    start, end = pd.Timestamp(to_utc(chunk.start)), pd.Timestamp(to_utc(chunk.end))
    frame = frame[(frame.index >= start) & (frame.index < end)]
    return frame[~frame.index.duplicated(keep="last")].sort_index()


def _value(x: float) -> float:
    return float("nan") if x is None or x < 0 else float(x)
