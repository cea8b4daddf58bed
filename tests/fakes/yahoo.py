"""A local stand-in for Yahoo's v8 chart API, so the real yfinance code runs offline.

Point yfinance at it through `MDC_YAHOO_BASE_URL` (settings.yahoo_base_url):

    fake = YahooFake().start()
    ... settings = replace(settings, yahoo_base_url=fake.url) ...
    fake.expected_bars("MSFT", "1d", start, end)   # what the source should return
    fake.stop()

Data is a pure function of (ticker, interval, bar timestamp): the same question always
gets the same bars. The market trades on weekdays except HOLIDAYS, regular session
09:30-16:00 America/New_York. Like Yahoo it refuses 1m spans over 8 days and intraday
ranges older than its lookback, answers 404 for unknown symbols, and can be told to
answer 429 (`fail_next`) or to be slow (`stall_next`). Every request is recorded in `requests`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

import pandas as pd

UTC = timezone.utc
NEW_YORK = ZoneInfo("America/New_York")
OPEN_MINUTES, CLOSE_MINUTES = 9 * 60 + 30, 16 * 60  # regular session, local time
HOLIDAYS = frozenset(date.fromisoformat(d) for d in (
    "2025-01-01", "2025-07-04", "2025-11-27", "2025-12-25",
    "2026-01-01", "2026-07-03", "2026-11-26", "2026-12-25",
))
DEFAULT_TICKERS = ("MSFT", "AAPL", "SPY", "^GSPC", "EURUSD=X", "ES=F", "BRK-B")
CRUMB = "fakecrumb123"

INTRADAY_MINUTES = {"1m": 1, "2m": 2, "5m": 5, "15m": 15, "30m": 30, "60m": 60, "1h": 60, "90m": 90}
DAILY = ("1d", "5d", "1wk", "1mo", "3mo")
# Yahoo's own limits: (how far back in days, longest span per request in days).
LIMITS = {"1m": (30, 8), "2m": (60, 60), "5m": (60, 60), "15m": (60, 60), "30m": (60, 60),
          "90m": (60, 60), "60m": (730, 730), "1h": (730, 730)}


def is_trading_day(day: date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS


def _days(start: datetime, end: datetime):
    """Local calendar days that may hold bars starting in [start, end)."""
    day = start.astimezone(NEW_YORK).date() - timedelta(days=1)
    last = end.astimezone(NEW_YORK).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def _local(day: date, minutes: int) -> datetime:
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

    Intraday bars start at their real time; daily and longer bars are stamped at 09:30
    New York time of the first day of their period (yfinance keeps only the date).
    """
    lo, hi = start.timestamp(), end.timestamp()
    stamps: set[int] = set()
    for day in _days(start, end):
        if not is_trading_day(day):
            continue
        if interval in INTRADAY_MINUTES:
            step = INTRADAY_MINUTES[interval]
            for minute in range(OPEN_MINUTES, CLOSE_MINUTES, step):
                stamps.add(int(_local(day, minute).timestamp()))
        else:
            stamps.add(int(_local(_period_start(day, interval), OPEN_MINUTES).timestamp()))
    return sorted(t for t in stamps if lo <= t < hi)


def bar_values(ticker: str, interval: str, ts: int) -> dict[str, float]:
    """Prices of one bar: open, high, low, close, volume, adjclose (2-4 decimals, exact in JSON)."""
    digest = hashlib.blake2b(f"{ticker}|{interval}|{ts}".encode(), digest_size=16).digest()
    u = [int.from_bytes(digest[i:i + 4], "big") / 2**32 for i in range(0, 16, 4)]
    base = 20 + int.from_bytes(hashlib.blake2b(ticker.encode(), digest_size=2).digest(), "big") % 400
    open_ = round(base * (1 + (u[0] - 0.5) * 0.04), 2)
    close = round(base * (1 + (u[1] - 0.5) * 0.04), 2)
    high = round(max(open_, close) * (1 + u[2] * 0.01), 2)
    low = round(min(open_, close) * (1 - u[3] * 0.01), 2)
    volume = 1000 + int(u[2] * 1_000_000)
    # A "dividend" on 2026-06-15: older prices are adjusted down by 3%.
    factor = 0.97 if ts < datetime(2026, 6, 15, tzinfo=UTC).timestamp() else 1.0
    return {"open": open_, "high": high, "low": low, "close": close,
            "volume": volume, "adjclose": round(close * factor, 4)}


def _tz_meta(moment: datetime) -> tuple[str, int]:
    local = moment.astimezone(NEW_YORK)
    return local.tzname() or "EST", int(local.utcoffset().total_seconds())


@dataclass
class YahooFake:
    """A threaded HTTP server answering like Yahoo's chart API on 127.0.0.1."""

    tickers: tuple[str, ...] = DEFAULT_TICKERS
    requests: list[dict] = field(default_factory=list)
    _fail: list[int] = field(default_factory=list)  # statuses to answer to the next chart requests
    _stall: list[float] = field(default_factory=list)  # seconds to sit on the next chart requests
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> "YahooFake":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server naming)
                fake._handle(self)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name="yahoo-fake", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "call start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "YahooFake":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- test controls -------------------------------------------------------------------
    def fail_next(self, n: int = 1, status: int = 429) -> None:
        """Answer the next `n` chart requests with `status` (429 = Too Many Requests)."""
        with self._lock:
            self._fail.extend([status] * n)

    def stall_next(self, n: int = 1, seconds: float = 2.0) -> None:
        """Hold the next `n` chart requests for `seconds` before answering (client timeouts)."""
        with self._lock:
            self._stall.extend([seconds] * n)

    def reset(self) -> None:
        """Forget recorded requests and pending failures or stalls."""
        with self._lock:
            self.requests.clear()
            self._fail.clear()
            self._stall.clear()

    def chart_requests(self, ticker: str | None = None, *, history_only: bool = True) -> list[dict]:
        """Recorded chart requests; history_only leaves out yfinance's timezone probe."""
        with self._lock:
            found = [r for r in self.requests if r["path"].startswith("/v8/finance/chart/")]
        if ticker is not None:
            found = [r for r in found if r["ticker"] == ticker]
        if history_only:
            found = [r for r in found if "period1" in r["params"]]
        return found

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def expected_bars(self, ticker: str, interval: str, start: datetime, end: datetime,
                      adjusted: bool = False) -> pd.DataFrame:
        """The bars a source should return for [start, end): UTC index "ts", BAR_COLUMNS.

        Uses the shared vocabulary (1h, 1w). Daily and longer bars sit at 00:00 UTC of
        their date; 30m is built from 15m like yfinance does.
        """
        yahoo = {"1h": "60m", "1w": "1wk"}.get(interval, interval)
        if yahoo == "30m":
            fine = self.expected_bars(ticker, "15m", start - timedelta(minutes=30),
                                      end + timedelta(minutes=30), adjusted)
            grouped = fine.resample("30min")
            frame = pd.DataFrame({"open": grouped["open"].first(), "high": grouped["high"].max(),
                                  "low": grouped["low"].min(), "close": grouped["close"].last(),
                                  "volume": grouped["volume"].sum()}).dropna(subset=["close"])
        else:
            margin = timedelta(days=100) if yahoo in DAILY else timedelta(0)
            rows, index = [], []
            for ts in bar_starts(yahoo, start - margin, end + margin):
                v = bar_values(ticker, yahoo, ts)
                if adjusted:  # what yfinance's auto_adjust does
                    ratio = v["adjclose"] / v["close"]
                    v = dict(v, open=v["open"] * ratio, high=v["high"] * ratio,
                             low=v["low"] * ratio, close=v["adjclose"])
                rows.append([v["open"], v["high"], v["low"], v["close"], float(v["volume"])])
                moment = datetime.fromtimestamp(ts, UTC)
                if yahoo in DAILY:
                    moment = datetime.combine(moment.astimezone(NEW_YORK).date(), datetime.min.time(), UTC)
                index.append(moment)
            frame = pd.DataFrame(rows, columns=["open", "high", "low", "close", "volume"],
                                 index=pd.DatetimeIndex(index, tz="UTC"), dtype="float64")
        frame.index = pd.DatetimeIndex(frame.index, tz="UTC").as_unit("ns")
        frame.index.name = "ts"
        frame["wap"] = float("nan")
        frame["trades"] = float("nan")
        frame = frame.astype("float64")
        return frame[(frame.index >= pd.Timestamp(start)) & (frame.index < pd.Timestamp(end))]

    # -- HTTP ----------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        ticker = unquote(path.rsplit("/", 1)[1]) if path.startswith("/v8/finance/chart/") else None
        record = {"method": h.command, "path": path, "params": params, "ticker": ticker,
                  "host": h.headers.get("Host"), "time": time.monotonic()}
        with self._lock:
            self.requests.append(record)
            failing = self._fail.pop(0) if ticker is not None and self._fail else None
            stall = self._stall.pop(0) if ticker is not None and self._stall else 0.0
        if stall:
            time.sleep(stall)
        if failing is not None:
            return self._send(h, failing, "Too Many Requests\r\n", "text/plain")
        if path == "/":  # fc.yahoo.com: only hands out a cookie
            return self._send(h, 404, "Not Found", "text/html", cookie=True)
        if path == "/v1/test/getcrumb":
            return self._send(h, 200, CRUMB, "text/plain")
        if ticker is None:
            return self._send(h, 404, "Not Found", "text/html")
        status, body = self._chart(ticker, params)
        return self._send(h, status, json.dumps(body), "application/json")

    @staticmethod
    def _send(h, status: int, body: str, content_type: str, cookie: bool = False) -> None:
        data = body.encode()
        h.send_response(status)
        h.send_header("Content-Type", f"{content_type}; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        if cookie:
            h.send_header("Set-Cookie", "A3=fakecookie; Path=/; Max-Age=31557600")
        h.end_headers()
        h.wfile.write(data)

    def _chart(self, ticker: str, params: dict[str, str]) -> tuple[int, dict]:
        if ticker not in self.tickers:
            return 404, _error("Not Found", "No data found, symbol may be delisted")
        interval = params.get("interval", "1d")
        if interval not in INTRADAY_MINUTES and interval not in DAILY:
            return 400, _error("Bad Request", f"Invalid input - interval={interval} is not supported.")
        now = datetime.now(UTC)
        if "period1" in params:
            start = datetime.fromtimestamp(int(params["period1"]), UTC)
            end = datetime.fromtimestamp(int(params.get("period2", now.timestamp())), UTC)
        else:  # range=1d, yfinance's timezone probe: the last trading day
            end, start = now, now - timedelta(days=1)
            while not is_trading_day(start.astimezone(NEW_YORK).date()):
                start -= timedelta(days=1)
        if interval in LIMITS:
            back, span = LIMITS[interval]
            if start < now - timedelta(days=back):
                return 422, _error("Unprocessable Entity", f"{interval} data not available for startTime="
                                   f"{int(start.timestamp())} and endTime={int(end.timestamp())}. "
                                   f"The requested range must be within the last {back} days.")
            if end - start > timedelta(days=span):
                return 422, _error("Unprocessable Entity", f"{interval} data not available for startTime="
                                   f"{int(start.timestamp())} and endTime={int(end.timestamp())}. Only "
                                   f"{span} days worth of {interval} granularity data are allowed to be "
                                   "fetched per request.")
        return 200, self._result(ticker, interval, start, end, now)

    def _result(self, ticker: str, interval: str, start: datetime, end: datetime, now: datetime) -> dict:
        tzname, offset = _tz_meta(now)
        meta = {"currency": "USD", "symbol": ticker, "exchangeName": "NMS",
                "instrumentType": "INDEX" if ticker.startswith("^") else "EQUITY",
                "exchangeTimezoneName": "America/New_York", "timezone": tzname, "gmtoffset": offset,
                "dataGranularity": interval,
                "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]}
        stamps = bar_starts(interval, start, end)
        if interval in INTRADAY_MINUTES:
            periods = []
            for day in _days(start, end):
                if is_trading_day(day):
                    open_, close = _local(day, OPEN_MINUTES), _local(day, CLOSE_MINUTES)
                    name, off = _tz_meta(open_)
                    periods.append([{"timezone": name, "gmtoffset": off,
                                     "start": int(open_.timestamp()), "end": int(close.timestamp())}])
            meta["tradingPeriods"] = periods
        result: dict = {"meta": meta}
        if not stamps:  # Yahoo's answer for a range without trading
            result["indicators"] = {"quote": [{}], "adjclose": [{}]}
            return {"chart": {"result": [result], "error": None}}
        values = [bar_values(ticker, interval, ts) for ts in stamps]
        quote = {k: [v[k] for v in values] for k in ("open", "high", "low", "close", "volume")}
        result["timestamp"] = stamps
        result["indicators"] = {"quote": [quote], "adjclose": [{"adjclose": [v["adjclose"] for v in values]}]}
        return {"chart": {"result": [result], "error": None}}


def _error(code: str, description: str) -> dict:
    return {"chart": {"result": None, "error": {"code": code, "description": description}}}
