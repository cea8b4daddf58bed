"""A fake TWS / IB Gateway speaking enough of the TWS socket protocol for the real
ib_insync client: handshake, connect sequence, contract details, historical bars, errors.

It runs an asyncio server on 127.0.0.1 (port 0) in a thread of its own, serves
deterministic bars (a pure function of symbol, whatToShow and bar time), records every
request, and can be told to fail: an IB error code, a dropped socket, no answer at all.
Field orders follow ib_insync 0.9.86's client.py / decoder.py at server version 176.
"""

from __future__ import annotations

import asyncio
import math
import re
import struct
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd

from collector.sources.base import BAR_COLUMNS, empty_bars

UTC = timezone.utc
BAR_SIZES = {"1 secs": 1, "5 secs": 5, "10 secs": 10, "15 secs": 15, "30 secs": 30,
             "1 min": 60, "2 mins": 120, "3 mins": 180, "5 mins": 300, "10 mins": 600,
             "15 mins": 900, "20 mins": 1200, "30 mins": 1800, "1 hour": 3600, "2 hours": 7200,
             "3 hours": 10800, "4 hours": 14400, "8 hours": 28800, "1 day": 86400,
             "1 week": 7 * 86400, "1 month": 30 * 86400}
DURATION_UNITS = {"S": 1, "D": 86400, "W": 7 * 86400, "M": 30 * 86400, "Y": 365 * 86400}
# symbol -> (conId, primary exchange, currency, long name)
DEFAULT_SYMBOLS = {
    "AAPL": (265598, "NASDAQ", "USD", "APPLE INC"),
    "MSFT": (272093, "NASDAQ", "USD", "MICROSOFT CORP"),
    "IBM": (8314, "NYSE", "USD", "INTL BUSINESS MACHINES CORP"),
    "SPY": (756733, "ARCA", "USD", "SPDR S&P 500 ETF TRUST"),
}
PACING_TEXT = "Historical Market Data Service error message:Historical data request pacing violation"
NO_DATA_TEXT = "Historical Market Data Service error message:HMDS query returned no data: {}@SMART {}"
NO_PERMISSION_TEXT = ("Historical Market Data Service error message:No market data permissions "
                      "for NASDAQ STK")
NO_SECDEF_TEXT = "No security definition has been found for the request"
CLIENT_ID_TEXT = "Unable to connect as the client id is already in use. Retry with a unique client id."


@dataclass(frozen=True)
class HistoricalRequest:
    client_id: int
    req_id: int
    symbol: str
    con_id: int
    end: datetime
    end_raw: str
    duration: str
    bar_size: str
    what_to_show: str
    use_rth: bool
    format_date: int
    received: float  # time.monotonic() when it arrived

    @property
    def duration_seconds(self) -> int:
        n, unit = self.duration.split()
        return int(n) * DURATION_UNITS[unit]


@dataclass(frozen=True)
class ContractRequest:
    client_id: int
    req_id: int
    symbol: str
    sec_type: str
    exchange: str
    primary_exchange: str
    currency: str


def bar_values(symbol: str, what: str, t: int) -> tuple:
    """(open, high, low, close, volume, wap, count) of the bar starting at epoch `t`."""
    h = zlib.crc32(f"{symbol}|{what}|{t}".encode())
    base = 20 + zlib.crc32(symbol.encode()) % 400
    o = round(base + (h % 1000) / 100, 2)
    c = round(base + ((h >> 10) % 1000) / 100, 2)
    hi = round(max(o, c) + ((h >> 20) % 50) / 100, 2)
    lo = round(min(o, c) - ((h >> 26) % 50) / 100, 2)
    if what not in ("TRADES", "ADJUSTED_LAST"):
        return o, hi, lo, c, -1, -1.0, -1  # IB has no volume for quotes
    return o, hi, lo, c, 100 + h % 10000, round((hi + lo + c) / 3, 4), 1 + (h >> 5) % 500


NEW_YORK = ZoneInfo("America/New_York")


def bar_times(bar_seconds: int, start: datetime, end: datetime, rth: bool) -> list[int]:
    """Epoch starts of the bars in [start, end): weekdays only; intraday bars within New York's
    session (09:30-16:00 regular hours, 04:00-20:00 with extended hours, following daylight
    saving time as the exchange does), daily bars at the date's 00:00 UTC, weekly on Mondays,
    monthly on the 1st."""
    lo, hi = math.ceil(start.timestamp()), math.ceil(end.timestamp())
    if bar_seconds < 86400:
        first = -(-lo // bar_seconds) * bar_seconds
        session = (9 * 60 + 30, 16 * 60) if rth else (4 * 60, 20 * 60)
        times = []
        for t in range(first, hi, bar_seconds):
            local = datetime.fromtimestamp(t, NEW_YORK)
            if local.weekday() < 5 and session[0] <= local.hour * 60 + local.minute < session[1]:
                times.append(t)
        return times
    times = []
    for t in range(-(-lo // 86400) * 86400, hi, 86400):
        day = datetime.fromtimestamp(t, UTC)
        if (bar_seconds == 86400 and day.weekday() < 5 or bar_seconds == 7 * 86400 and day.weekday() == 0
                or bar_seconds >= 28 * 86400 and day.day == 1):
            times.append(t)
    return times


def parse_end(text: str) -> datetime:
    text = text.strip()
    if not text:
        return datetime.now(UTC).replace(microsecond=0)
    m = re.fullmatch(r"(\d{8})[ -](\d\d:\d\d:\d\d)(?: (\S+))?", text)
    if not m or m.group(3) not in (None, "UTC", "GMT"):
        raise ValueError(f"unsupported endDateTime {text!r}")
    return datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H:%M:%S").replace(tzinfo=UTC)


class FakeIbGateway:
    def __init__(self, *, server_version: int = 176, symbols: dict | None = None,
                 account: str = "DU1234567", busy_client_ids=(), pacing: dict | None = None,
                 no_data_as_error: bool = True):
        self.server_version = server_version
        self.symbols = dict(DEFAULT_SYMBOLS if symbols is None else symbols)
        self.account = account
        self.busy_client_ids = set(busy_client_ids)
        self.pacing = pacing  # {"identical": s, "burst_window": s, "burst_max": n, "window": s, "window_max": n}
        self.no_data_as_error = no_data_as_error
        self.port = 0
        self.historical: list[HistoricalRequest] = []
        self.contract_requests: list[ContractRequest] = []
        self.client_ids: list[int] = []  # every startApi, refused ones included
        self.pacing_violations = 0
        self._actions: dict[str, deque] = {"historical": deque(), "contract": deque()}
        self._lags: deque = deque()  # seconds the next historical requests spend on the way
        self._writers: dict[asyncio.StreamWriter, int | None] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> "FakeIbGateway":
        ready = threading.Event()

        def main() -> None:
            self._loop = asyncio.new_event_loop()
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", 0))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._shutdown())
            self._loop.close()

        self._thread = threading.Thread(target=main, name="fake-ib-gateway", daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    async def _shutdown(self) -> None:
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> "FakeIbGateway":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- what tests control ---------------------------------------------------------------

    def fail_next(self, code: int, text: str = "", *, kind: str = "historical", times: int = 1) -> None:
        """Answer the next `times` requests of `kind` with IB error `code`."""
        with self._lock:
            self._actions[kind].extend([("error", code, text)] * times)

    def drop_next(self, kind: str = "historical") -> None:
        """Close the socket when the next request of `kind` arrives."""
        with self._lock:
            self._actions[kind].append(("drop",))

    def hang_next(self, kind: str = "historical") -> None:
        """Never answer the next request of `kind` (the client times out)."""
        with self._lock:
            self._actions[kind].append(("hang",))

    def error_next(self, code: int, text: str, *, kind: str = "historical") -> None:
        """On the next request, send a connection-wide error (reqId -1) and no answer."""
        with self._lock:
            self._actions[kind].append(("broadcast", code, text))

    def lag_next(self, seconds: float, times: int = 1) -> None:
        """The next `times` historical requests arrive `seconds` late (a slow network or a busy
        Gateway): their pacing counts from the late arrival, as IB's does."""
        with self._lock:
            self._lags.extend([seconds] * times)

    def drop_connections(self) -> None:
        async def drop() -> None:
            for writer in list(self._writers):
                writer.close()
        asyncio.run_coroutine_threadsafe(drop(), self._loop).result(5)

    @property
    def connected_client_ids(self) -> list[int]:
        with self._lock:
            return sorted(cid for cid in self._writers.values() if cid is not None)

    def requests_for(self, client_id: int | None = None) -> list[HistoricalRequest]:
        with self._lock:
            return [r for r in self.historical if client_id is None or r.client_id == client_id]

    def expected_bars(self, symbol: str, what_to_show: str, bar_size_seconds: int,
                      start: datetime, end: datetime, rth: bool = True) -> pd.DataFrame:
        """The bars an IB source should return for [start, end), as a bar frame."""
        rows = []
        for t in bar_times(bar_size_seconds, start, end, rth):
            o, h, lo, c, v, wap, n = bar_values(symbol, what_to_show, t)
            nan = float("nan")
            rows.append((t, o, h, lo, c, nan if v < 0 else float(v), nan if wap < 0 else wap,
                         nan if n < 0 else float(n)))
        if not rows:
            return empty_bars()
        frame = pd.DataFrame.from_records(rows, columns=("ts",) + BAR_COLUMNS)
        frame["ts"] = pd.to_datetime(frame["ts"], unit="s", utc=True).dt.as_unit(empty_bars().index.unit)
        return frame.set_index("ts").astype("float64")

    # -- protocol -------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self._writers[writer] = None
        try:
            if await reader.readexactly(4) != b"API\0":
                return
            hello = (await self._read_frame(reader)).decode()
            m = re.match(r"v(\d+)\.\.(\d+)", hello)
            version = min(self.server_version, int(m.group(2)))
            self._send(writer, version, datetime.now(UTC).strftime("%Y%m%d %H:%M:%S UTC"))
            while not writer.is_closing():
                fields = (await self._read_frame(reader)).decode().split("\0")[:-1]
                await self._handle(writer, version, fields)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            with self._lock:
                self._writers.pop(writer, None)
            writer.close()

    @staticmethod
    async def _read_frame(reader: asyncio.StreamReader) -> bytes:
        (size,) = struct.unpack(">I", await reader.readexactly(4))
        return await reader.readexactly(size)

    @staticmethod
    def _send(writer: asyncio.StreamWriter, *fields) -> None:
        if writer.is_closing():
            return
        payload = "".join(f"{f}\0" for f in fields).encode()
        writer.write(struct.pack(">I", len(payload)) + payload)

    def _error(self, writer, version: int, req_id: int, code: int, text: str) -> None:
        extra = [""] if version >= 166 else []  # advancedOrderRejectJson
        self._send(writer, 4, 2, req_id, code, text, *extra)

    async def _handle(self, writer, version: int, fields: list[str]) -> None:
        msg = int(fields[0])
        if msg == 71:  # startApi: 71, 2, clientId, optionalCapabilities
            await self._start_api(writer, version, int(fields[2]))
        elif msg == 61:  # positions
            self._send(writer, 62, 1)
        elif msg == 6 and fields[2] == "1":  # account updates: 6, 2, subscribe, account
            self._send(writer, 54, 1, fields[3])
        elif msg == 76:  # account updates multi: 76, 1, reqId, ...
            self._send(writer, 74, 1, fields[2])
        elif msg == 7:  # executions: 7, 3, reqId, ...
            self._send(writer, 55, 1, fields[2])
        elif msg == 5:  # open orders
            self._send(writer, 53, 1)
        elif msg == 99:  # completed orders
            self._send(writer, 102)
        elif msg == 49:  # current time
            self._send(writer, 49, 1, int(time.time()))
        elif msg == 9:
            await self._contract_details(writer, version, fields)
        elif msg == 20:
            await self._historical(writer, version, fields)
        await writer.drain()

    async def _start_api(self, writer, version: int, client_id: int) -> None:
        with self._lock:
            self.client_ids.append(client_id)
            taken = client_id in self.busy_client_ids or client_id in self._writers.values()
            if not taken:
                self._writers[writer] = client_id
        if taken:  # like TWS: say so, then hang up
            self._error(writer, version, -1, 326, CLIENT_ID_TEXT)
            await writer.drain()
            writer.close()
            return
        self._send(writer, 9, 1, 1)
        self._send(writer, 15, 1, self.account)
        self._error(writer, version, -1, 2104, "Market data farm connection is OK:usfarm")
        self._error(writer, version, -1, 2106, "HMDS data farm connection is OK:ushmds")

    async def _act(self, writer, version: int, kind: str, req_id: int) -> bool:
        """Carry out an injected action; True when the request was answered by it."""
        with self._lock:
            action = self._actions[kind].popleft() if self._actions[kind] else None
        if action is None:
            return False
        if action[0] == "error":
            self._error(writer, version, req_id, action[1], action[2])
        elif action[0] == "broadcast":
            self._error(writer, version, -1, action[1], action[2])
        elif action[0] == "drop":
            writer.close()
        return True  # "hang": no answer at all

    async def _contract_details(self, writer, version: int, fields: list[str]) -> None:
        # 9, 8, reqId, conId, symbol, secType, lastTrade, strike, right, multiplier,
        # exchange, primaryExchange, currency, localSymbol, tradingClass, includeExpired, ...
        req_id = int(fields[2])
        request = ContractRequest(self._client_of(writer), req_id, fields[4], fields[5], fields[10],
                                  fields[11], fields[12])
        with self._lock:
            self.contract_requests.append(request)
        if await self._act(writer, version, "contract", req_id):
            return
        known = self.symbols.get(request.symbol)
        if (known is None or request.sec_type != "STK" or request.currency not in ("", known[2])
                or request.primary_exchange not in ("", known[1])):
            self._error(writer, version, req_id, 200, NO_SECDEF_TEXT)
            return
        con_id, primary, currency, long_name = known
        exchange = request.exchange or primary
        self._send(writer, 10, req_id, request.symbol, "STK", "", "0", "", exchange, currency,
                   request.symbol, "NMS", "NMS", con_id, "0.01",
                   "", "ACTIVETIM,AD,LMT,MKT,STP", f"SMART,{primary}", "1", "0", long_name,
                   primary, "", "Technology", "Computers", "", "US/Eastern", "", "", "", "",
                   "0",  # no secIds
                   "1", "", "", "26", "", "COMMON", "1", "1", "100")
        self._send(writer, 52, 1, req_id)

    async def _historical(self, writer, version: int, fields: list[str]) -> None:
        # 20, reqId, conId, symbol, secType, ..., includeExpired(14), endDateTime(15),
        # barSize(16), duration(17), useRTH(18), whatToShow(19), formatDate(20), ...
        req_id = int(fields[1])
        with self._lock:
            lag = self._lags.popleft() if self._lags else 0.0
        if lag:
            await asyncio.sleep(lag)
        request = HistoricalRequest(
            self._client_of(writer), req_id, fields[3], int(fields[2] or 0), parse_end(fields[15]),
            fields[15], fields[17], fields[16], fields[19], fields[18] == "1", int(fields[20]),
            time.monotonic())
        with self._lock:
            violated = self._violates_pacing(request)
            self.historical.append(request)
        if await self._act(writer, version, "historical", req_id):
            return
        if violated:
            self.pacing_violations += 1
            self._error(writer, version, req_id, 162, PACING_TEXT)
            return
        if request.symbol not in self.symbols:
            self._error(writer, version, req_id, 200, NO_SECDEF_TEXT)
            return
        bar_seconds = BAR_SIZES[request.bar_size]
        start = request.end - timedelta(seconds=request.duration_seconds)
        times = bar_times(bar_seconds, start, request.end, request.use_rth)
        if not times and self.no_data_as_error:
            text = NO_DATA_TEXT.format(request.symbol, request.what_to_show.title())
            self._error(writer, version, req_id, 162, text)
            return
        out: list = []
        for t in times:
            when = (datetime.fromtimestamp(t, UTC).strftime("%Y%m%d") if bar_seconds >= 86400
                    else str(t) if request.format_date == 2
                    else datetime.fromtimestamp(t, UTC).strftime("%Y%m%d %H:%M:%S"))
            out += [when, *bar_values(request.symbol, request.what_to_show, t)]
        fmt = "%Y%m%d %H:%M:%S"
        self._send(writer, 17, req_id, start.strftime(fmt), request.end.strftime(fmt), len(times), *out)

    def _client_of(self, writer) -> int:
        with self._lock:
            return self._writers.get(writer) or -1

    def _violates_pacing(self, req: HistoricalRequest) -> bool:
        rules = self.pacing
        if not rules:
            return False
        now = req.received
        small = BAR_SIZES[req.bar_size] <= 30
        same = [r for r in self.historical if r.con_id == req.con_id and r.what_to_show == req.what_to_show]
        if any(now - r.received < rules["identical"] and
               (r.end_raw, r.duration, r.bar_size, r.use_rth) == (req.end_raw, req.duration, req.bar_size,
                                                                  req.use_rth) for r in same):
            return True
        if sum(now - r.received < rules["burst_window"] for r in same) >= rules["burst_max"]:
            return True
        weight = lambda r: 2 if r.what_to_show == "BID_ASK" else 1  # noqa: E731
        recent = sum(weight(r) for r in self.historical
                     if BAR_SIZES[r.bar_size] <= 30 and now - r.received < rules["window"])
        return small and recent + weight(req) > rules["window_max"]
