"""A local stand-in for Yahoo's v8 chart API, so the real yfinance code runs offline.

Point yfinance at it through `MDC_YAHOO_BASE_URL` (settings.yahoo_base_url):

    fake = YahooFake().start()
    ... settings = replace(settings, yahoo_base_url=fake.url) ...
    fake.expected_bars("MSFT", "1d", start, end)   # what the source should return
    fake.stop()

Data is a pure function of (ticker, interval, bar timestamp) and the fake's clock: the
same question always gets the same bars. The market trades on the New York Stock Exchange's
sessions (holidays, and half days closing at 13:00, from mdc's calendar). Like Yahoo it
refuses 1m spans over 8 days and intraday ranges older than its lookback, answers 404 for
unknown symbols, and can be told to answer 429 (`fail_next`) or to be slow (`stall_next`).
Every request is recorded in `requests`.

Corporate actions, like Yahoo's: `add_split(ticker, day, 4)` and `add_dividend(ticker, day,
amount)` (every ticker pays a 3% dividend on 2026-06-15 unless told otherwise). Prices are
split-adjusted and adjusted closes dividend-adjusted *as of the fake's clock* (`now`, real
time unless set), and the chart answers carry the events up to it, so a test can collect,
move the clock past a split and collect again.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pandas as pd

from .yahoo_market import DAILY, INTRADAY_MINUTES, NEW_YORK, Market, bar_starts, is_trading_day, local_days, session_of

UTC = timezone.utc
DEFAULT_TICKERS = ("MSFT", "AAPL", "SPY", "^GSPC", "EURUSD=X", "ES=F", "BRK-B", "NVDA", "TSLA")
CRUMB = "fakecrumb123"
# Yahoo's own limits: (how far back in days, longest span per request in days).
LIMITS = {"1m": (30, 8), "2m": (60, 60), "5m": (60, 60), "15m": (60, 60), "30m": (60, 60),
          "90m": (60, 60), "60m": (730, 730), "1h": (730, 730)}


def _tz_meta(moment: datetime) -> tuple[str, int]:
    local = moment.astimezone(NEW_YORK)
    return local.tzname() or "EST", int(local.utcoffset().total_seconds())


@dataclass
class YahooFake:
    """A threaded HTTP server answering like Yahoo's chart API on 127.0.0.1."""

    tickers: tuple[str, ...] = DEFAULT_TICKERS
    market: Market = field(default_factory=Market)
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
        """Forget recorded requests, pending failures or stalls, added actions and the clock."""
        with self._lock:
            self.requests.clear()
            self._fail.clear()
            self._stall.clear()
            self.market = Market()

    @property
    def now(self) -> datetime | None:
        return self.market.now

    @now.setter
    def now(self, moment: datetime | None) -> None:
        """Set the fake's clock (None: real time). Bars exist up to it, and history is
        adjusted for the splits and dividends up to it."""
        self.market.now = moment

    def __getattr__(self, name: str):
        """add_split, add_dividend, revise and serve_bad: the market's controls (yahoo_market)."""
        if name in Market.CONTROLS:
            return getattr(self.market, name)
        raise AttributeError(name)

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
        """The bars a source should return for [start, end), as of the fake's clock: UTC
        index "ts", BAR_COLUMNS.

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
            for ts in self._stamps(yahoo, start - margin, end + margin):
                v = self.market.values(ticker, yahoo, ts)
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

    def _stamps(self, interval: str, start: datetime, end: datetime) -> list[int]:
        """Bars of [start, end) that exist by the clock."""
        clock = self.market.clock().timestamp()
        return [ts for ts in bar_starts(interval, start, end) if ts < clock]

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
        now = self.market.clock()
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
        stamps = self._stamps(interval, start, end)
        if interval in INTRADAY_MINUTES:
            periods = []
            for day in local_days(start, end):
                if (session := session_of(day)) is not None:
                    name, off = _tz_meta(datetime.fromtimestamp(session[0], UTC))
                    periods.append([{"timezone": name, "gmtoffset": off, "start": session[0], "end": session[1]}])
            meta["tradingPeriods"] = periods
        result: dict = {"meta": meta}
        if events := self.market.events(ticker, start, end):
            result["events"] = events
        if not stamps:  # Yahoo's answer for a range without trading
            result["indicators"] = {"quote": [{}], "adjclose": [{}]}
            return {"chart": {"result": [result], "error": None}}
        values = [self.market.values(ticker, interval, ts) for ts in stamps]
        quote = {k: [v[k] for v in values] for k in ("open", "high", "low", "close", "volume")}
        result["timestamp"] = stamps
        result["indicators"] = {"quote": [quote], "adjclose": [{"adjclose": [v["adjclose"] for v in values]}]}
        return {"chart": {"result": [result], "error": None}}


def _error(code: str, description: str) -> dict:
    return {"chart": {"result": None, "error": {"code": code, "description": description}}}
