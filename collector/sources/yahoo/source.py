"""Yahoo Finance through the real yfinance client.

Validation happens at submit time (intervals, how far back each goes, symbol syntax);
plan() cuts a job into requests Yahoo accepts; fetch() asks yfinance for one chunk and
returns exact UTC bars. Errors become PermanentError (bad or delisted symbol, range
Yahoo refuses) or TransientError (429, timeouts, connection trouble). Requests are paced
across all collectors through Redis, and `settings.yahoo_base_url` sends every request
to another address (a mirror, a proxy or the test fake).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

import yfinance as yf
from curl_cffi.const import CurlECode
from curl_cffi.requests import exceptions as http
from yfinance import exceptions as yfe

from collector.i18n import N_, join_messages
from collector.parse import YES_NO_HELP, parse_bool
from collector.settings import Settings
from collector.sources.base import (
    Action,
    Chunk,
    Fetched,
    PermanentError,
    Request,
    SourceError,
    TransientError,
    Unreachable,
    WaitReporter,
    empty_bars,
)
from collector.timespec import is_intraday, shown, to_utc, utcnow

from .answers import normalise, reported_actions
from .limits import INTERVALS, LOOKBACK, YF_INTERVALS, Pacer, check_interval, check_lookback, check_symbol, chunk_span
from .session import YahooSession, configure_yfinance, yfinance_call

log = logging.getLogger("mdc.yahoo")

_DAY = timedelta(days=1)
UNREACHABLE = N_("Cannot reach Yahoo Finance from this machine: check internet access or MDC_YAHOO_BASE_URL.")
# curl's codes for "no such host" and "nothing listens there": no answer will come by retrying.
_UNREACHABLE_CODES = (CurlECode.COULDNT_RESOLVE_HOST, CurlECode.COULDNT_CONNECT, CurlECode.COULDNT_RESOLVE_PROXY)


class YahooSource:
    name = "yahoo"
    label = N_("Yahoo Finance")
    intervals = INTERVALS
    option_names = ("adjusted",)  # what the web form and curl may pass (webapp/forms.py)

    def __init__(self, settings: Settings, redis=None, *, pacing_seconds: float | None = None,
                 timeout: float = 20.0):
        self.settings = settings
        if pacing_seconds is None:
            pacing_seconds = settings.yahoo_pacing_seconds
        self.pacer = Pacer(redis, f"{settings.key_prefix}:pacing:yahoo", pacing_seconds)
        self.timeout = timeout
        self._session: YahooSession | None = None

    # -- submit time ---------------------------------------------------------------------
    def validate(self, request: Request) -> dict[str, str]:
        errors: dict[str, str] = {}
        if message := check_symbol(request.symbol):
            errors["symbol"] = message
        if message := check_interval(request.interval):
            errors["interval"] = message
        elif message := check_lookback(request.interval, to_utc(request.start), utcnow()):
            errors["start"] = message
        errors.update(self.normalize_options(request.options)[1])
        return errors

    def normalize_options(self, options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        clean: dict[str, Any] = {"adjusted": False}
        errors: dict[str, str] = {}
        for name, value in (options or {}).items():
            if name != "adjusted":
                errors[name] = N_("Yahoo has no option {name!r}; the only one is 'adjusted'", name=shown(name))
                continue
            parsed = parse_bool(value, empty=False)
            if parsed is None:
                errors[name] = N_("must be {yes_no}, got {value!r}", yes_no=YES_NO_HELP, value=shown(str(value)))
            else:
                clean[name] = parsed
        return clean, errors

    def kind(self, options: dict[str, Any]) -> str:
        """Adjusted prices (splits and dividends folded in) are a series of their own."""
        return "adjusted" if parse_bool((options or {}).get("adjusted")) else "trades"

    def plan(self, request: Request) -> list[Chunk]:
        start, end = to_utc(request.start), to_utc(request.end)
        span = chunk_span(request.interval)
        if not is_intraday(request.interval):
            return _chunks(start, end, start, span)
        # Intraday boundaries sit on whole UTC days, so no 30-minute bin is ever split
        # between two chunks (yfinance builds 30m bars from 15m ones).
        anchor = start.replace(hour=0, minute=0, second=0, microsecond=0)
        return _chunks(start, end, anchor, span)

    # -- run time ------------------------------------------------------------------------
    def fetch(self, request: Request, chunk: Chunk, report_wait: WaitReporter) -> Fetched:
        """The chunk's bars, with the splits and dividends Yahoo reported for its range."""
        options, errors = self.normalize_options(request.options)
        if errors:
            raise PermanentError(join_messages([N_("{field}: {problem}", field=k, problem=v) for k, v in errors.items()],
                                               "; "))
        if request.interval not in YF_INTERVALS:
            raise PermanentError(check_interval(request.interval) or request.interval)
        span = self._query_range(request.interval, chunk)
        if span is None:
            return Fetched(empty_bars())
        raw, actions = self._history(request.symbol, span, YF_INTERVALS[request.interval],
                                     options["adjusted"], report_wait)
        return Fetched(normalise(raw, request.interval, chunk), actions)

    def actions(self, symbol: str, start: datetime, end: datetime, report_wait: WaitReporter) -> tuple[Action, ...]:
        """The splits and dividends Yahoo knows between two times (one daily request)."""
        span = (to_utc(start).date(), to_utc(end).date() + _DAY)
        return self._history(symbol, span, "1d", False, report_wait)[1]

    def _history(self, symbol: str, span, yf_interval: str, adjusted: bool, report_wait: WaitReporter):
        """yfinance's frame and the actions it parsed from the same answer; None for no trading."""
        session = self._open_session()
        self.pacer.report_wait = report_wait  # also how the pacer sleeps (a cancel cuts it short)
        try:
            with yfinance_call(session):
                ticker = yf.Ticker(symbol, session=session)
                raw = ticker.history(start=span[0], end=span[1], interval=yf_interval,
                                     auto_adjust=adjusted, actions=False, timeout=self.timeout)
                return raw, reported_actions(ticker)
        except SourceError:
            raise
        except Exception as exc:  # yfinance, curl_cffi and JSON errors, sorted below
            error = self._translate(exc, symbol)
            if error is None:
                return None, ()
            raise error from exc
        finally:
            self.pacer.report_wait = None

    def earliest(self, interval: str) -> datetime:
        """The oldest bar time Yahoo still serves for `interval` (a little inside its limit)."""
        back = LOOKBACK.get(interval, timedelta(days=36500))
        return _floor30(utcnow() - back + timedelta(minutes=1)) + timedelta(minutes=30)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- helpers -------------------------------------------------------------------------
    def _open_session(self) -> YahooSession:
        if self._session is None:
            configure_yfinance((self.settings.data_dir / "yfinance-cache").resolve())
            self._session = YahooSession(self.settings.yahoo_base_url, before_request=self.pacer.wait)
        return self._session

    def _query_range(self, interval: str, chunk: Chunk):
        """What to ask yfinance for so that every bar starting in the chunk comes back.

        Daily and longer: whole exchange-local dates around the chunk (yfinance reads
        dates in the exchange's zone). Intraday: the chunk widened to whole 30 minutes,
        and never older than Yahoo keeps (a job validated at the edge of the window
        still gets what is there). None when nothing can be asked.
        """
        start, end = to_utc(chunk.start), to_utc(chunk.end)
        if not is_intraday(interval):
            return start.date(), end.date() + _DAY
        start, end = max(_floor30(start), self.earliest(interval)), _ceil30(end)
        return (start, end) if start < end else None

    def _translate(self, exc: Exception, symbol: str) -> SourceError | None:
        """A SourceError people understand; None for "no trading in this range"."""
        no_data = N_("Yahoo has no data for {symbol}: the symbol may be wrong or delisted", symbol=symbol)
        base = self.settings.yahoo_base_url
        where = N_("Yahoo at {address}", address=base) if base else N_("Yahoo")
        if isinstance(exc, yfe.YFRateLimitError):
            return TransientError(N_("Yahoo is limiting requests (HTTP 429 Too Many Requests)."))
        if isinstance(exc, yfe.YFPricesMissingError):
            reason = exc.yahoo_reason
            if reason is None:
                return None  # a holiday, a weekend, a range before the listing
            if "delisted" in reason.lower() or "no data found" in reason.lower():
                return PermanentError(no_data)
            return PermanentError(N_("Yahoo refused the request for {symbol}: {reason}", symbol=symbol, reason=reason))
        if isinstance(exc, yfe.YFTickerMissingError):
            return PermanentError(no_data)
        if isinstance(exc, http.HTTPError):
            status = getattr(exc.response, "status_code", None)
            if status == 404:
                return PermanentError(no_data)
            if status in (401, 408, 429) or (status or 0) >= 500:
                return TransientError(N_("{where} answered HTTP {status!s}.", where=where, status=status))
            return PermanentError(N_("{where} answered HTTP {status!s} for {symbol}.", where=where, status=status,
                                     symbol=symbol))
        if isinstance(exc, http.Timeout):
            return TransientError(N_("{where} did not answer within {seconds:g} s.", where=where, seconds=self.timeout))
        if getattr(exc, "code", None) in _UNREACHABLE_CODES or isinstance(exc, ConnectionRefusedError):
            return Unreachable(UNREACHABLE)
        if isinstance(exc, (http.RequestException, OSError)):
            return TransientError(N_("Cannot reach {where}: {error}", where=where, error=_sentence(exc)))
        if isinstance(exc, yfe.YFDataException):
            return TransientError(N_("{where} is not answering normally: {error}", where=where, error=_sentence(exc)))
        if isinstance(exc, yfe.YFException):
            return PermanentError(N_("Yahoo: {error}", error=_sentence(exc)))
        if isinstance(exc, json.JSONDecodeError):
            return TransientError(N_("{where} answered with something that is not chart data.", where=where))
        return TransientError(N_("Reading Yahoo's answer for {symbol} failed ({error}).", symbol=symbol,
                                 error=f"{type(exc).__name__}: {exc}"))


def _chunks(start: datetime, end: datetime, anchor: datetime, span: timedelta) -> list[Chunk]:
    """[start, end) cut at anchor + k*span, in forward order."""
    chunks: list[Chunk] = []
    lo = start
    while lo < end:
        steps = (lo - anchor) // span + 1
        hi = min(end, anchor + steps * span)
        chunks.append(Chunk(lo, hi))
        lo = hi
    return chunks


def _sentence(exc: Exception) -> str:
    """An exception's text as one sentence: libcurl's messages end with their own full stop."""
    return str(exc).strip().rstrip(".") + "."


def _floor30(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 30, second=0, microsecond=0)


def _ceil30(moment: datetime) -> datetime:
    floored = _floor30(moment)
    return floored if floored == moment else floored + timedelta(minutes=30)
