"""The IB source against a fake TWS / IB Gateway, with the real ib_insync client and Redis."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from collector.calendar import trading_windows
from collector.sources import load_source
from collector.sources.base import PermanentError, Request, TransientError, Unreachable
from collector.sources.ibkr.pacing import IbPacer, PacingRules
from collector.sources.ibkr.source import IbkrSource
from tests.fakes.ib_gateway import NO_PERMISSION_TEXT, PACING_TEXT, FakeIbGateway

UTC = timezone.utc
FAST = PacingRules().scaled(0.001)  # IB's rules with windows a thousand times shorter


def recent_weekday(days_back: int = 7) -> datetime:
    """Midnight UTC starting a Wednesday within the last couple of weeks."""
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days_back)
    while day.weekday() != 2:
        day -= timedelta(days=1)
    return day


@pytest.fixture
def fake():
    with FakeIbGateway() as gateway:
        yield gateway


@pytest.fixture
def make_source(settings, redis_client, fake):
    """Build IB sources pointed at the fake, with short timeouts; all closed afterwards."""
    made = []

    def make(**kwargs) -> IbkrSource:
        options = dict(pacing=FAST, connect_timeout=2.0, request_timeout=2.0, backoff_base=0.05)
        options.update(kwargs)
        port = options.pop("port", fake.port)
        source = IbkrSource(dataclasses.replace(settings, ib_port=port), redis=options.pop("redis", redis_client),
                            **options)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


@pytest.fixture
def source(make_source):
    return make_source()


def fetch_all(src: IbkrSource, request: Request, waits: list | None = None) -> pd.DataFrame:
    report = (waits.append if waits is not None else lambda message: None)
    frames = [src.fetch(request, chunk, report) for chunk in src.plan(request)]
    return pd.concat(frames).sort_index()


# -- the happy paths -------------------------------------------------------------------


def test_five_second_bars_for_a_day_come_in_hour_chunks_newest_first(source, fake):
    day = recent_weekday()
    request = Request("AAPL", "5s", day, day + timedelta(days=1))

    bars = fetch_all(source, request)

    pd.testing.assert_frame_equal(bars, fake.expected_bars("AAPL", "TRADES", 5, request.start, request.end))
    assert str(bars.index.tz) == "UTC" and bars.index.name == "ts"
    assert len(bars) == 6.5 * 3600 / 5
    sent = fake.requests_for()
    ((open_, close),) = trading_windows(request.start, request.end)  # only the session is asked for
    assert [r.end for r in sent] == [close - timedelta(hours=h) for h in range(7)]
    assert close - open_ == timedelta(hours=6, minutes=30)
    assert {(r.duration, r.bar_size, r.what_to_show, r.use_rth, r.format_date) for r in sent} == {
        ("3600 S", "5 secs", "TRADES", True, 2)}
    assert all(r.end_raw.endswith(" UTC") for r in sent)
    assert len(fake.contract_requests) == 1  # qualified once, reused for every chunk


def test_daily_bars_for_a_year_are_at_midnight_utc(source, fake):
    end = recent_weekday()
    request = Request("MSFT", "1d", end - timedelta(days=365), end, {"rth": "false"})

    bars = fetch_all(source, request)

    pd.testing.assert_frame_equal(bars, fake.expected_bars("MSFT", "TRADES", 86400, request.start, end))
    assert (bars.index.hour == 0).all() and len(bars) > 250
    (sent,) = fake.requests_for()
    assert (sent.duration, sent.bar_size, sent.use_rth) == ("1 Y", "1 day", False)


def test_midpoint_bars_have_no_volume(source, fake):
    day = recent_weekday()
    request = Request("IBM", "1h", day, day + timedelta(days=2), {"what_to_show": "midpoint"})

    bars = fetch_all(source, request)

    pd.testing.assert_frame_equal(bars, fake.expected_bars("IBM", "MIDPOINT", 3600, request.start, request.end))
    assert bars["volume"].isna().all() and bars["close"].notna().all()
    assert fake.requests_for()[0].what_to_show == "MIDPOINT"


def test_adjusted_last_is_one_request_up_to_now(source, fake):
    end = recent_weekday()
    request = Request("AAPL", "1d", end - timedelta(days=30), end, {"what_to_show": "ADJUSTED_LAST"})

    bars = fetch_all(source, request)

    (sent,) = fake.requests_for()
    assert sent.end_raw == "" and sent.duration.endswith(" D") and sent.what_to_show == "ADJUSTED_LAST"
    pd.testing.assert_frame_equal(bars, fake.expected_bars("AAPL", "ADJUSTED_LAST", 86400, request.start, end))


def test_load_source_builds_it_and_close_disconnects(settings, redis_client, fake):
    src = load_source("ibkr", dataclasses.replace(settings, ib_port=fake.port), redis=redis_client)
    assert isinstance(src, IbkrSource)
    request = Request("SPY", "1h", *_day())
    src.fetch(request, src.plan(request)[0], lambda m: None)
    assert fake.connected_client_ids == [settings.ib_client_id]
    assert redis_client.ttl(f"{settings.key_prefix}:ib:clientid:{settings.ib_client_id}") > 0

    src.close()

    assert _eventually(lambda: fake.connected_client_ids == [])
    assert not redis_client.exists(f"{settings.key_prefix}:ib:clientid:{settings.ib_client_id}")
    other = Request("IBM", "1h", *_day())  # not the same request again: IB's 15 s rule applies
    src.fetch(other, src.plan(other)[0], lambda m: None)  # usable again after close
    assert fake.connected_client_ids == [settings.ib_client_id]
    src.close()


def test_one_connection_serves_many_jobs_from_a_plain_thread(source, fake):
    errors = []

    def worker():
        try:
            for symbol in ("AAPL", "MSFT", "IBM"):
                request = Request(symbol, "1h", *_day())
                source.fetch(request, source.plan(request)[0], lambda m: None)
        except Exception as exc:  # reported below, with the thread's traceback gone
            errors.append(exc)

    for _ in range(2):
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(30)
    assert errors == []
    assert fake.client_ids == [100] and len(fake.requests_for()) == 6


# -- errors ----------------------------------------------------------------------------


def test_unknown_symbol_is_permanent_and_named(source, fake):
    request = Request("ZZZZ", "1h", *_day())
    with pytest.raises(PermanentError, match="ZZZZ"):
        source.fetch(request, source.plan(request)[0], lambda m: None)
    assert fake.requests_for() == []


@pytest.mark.parametrize("code, text, error, match", [
    (162, PACING_TEXT, TransientError, "pacing violation"),
    (162, NO_PERMISSION_TEXT, PermanentError, "No market data permissions"),
    (162, "Historical Market Data Service error message:API historical data query cancelled: 7",
     TransientError, "query cancelled"),
    (200, "No security definition has been found for the request", PermanentError, "AAPL"),
    (321, "Error validating request.-'bX' : cause - Invalid bar size", PermanentError, "Invalid bar size"),
    (322, "Error processing request.-'bY' : cause - Duplicate ticker id", PermanentError, "Duplicate ticker"),
    (504, "Not connected", TransientError, "504"),
])
def test_ib_errors_become_permanent_or_transient(source, fake, code, text, error, match):
    request = Request("AAPL", "1h", *_day())
    fake.fail_next(code, text)
    with pytest.raises(error, match=match) as caught:
        source.fetch(request, source.plan(request)[0], lambda m: None)
    if code == 162 and error is TransientError and "pacing" in text:
        assert caught.value.retry_after and caught.value.retry_after > 0
    assert isinstance(caught.value, error)


def test_a_pacing_violation_holds_back_every_collector(make_source, fake):
    rules = dataclasses.replace(FAST, violation_pause=0.5)
    first, second = make_source(pacing=rules), make_source(pacing=rules)
    fake.fail_next(162, PACING_TEXT)
    request = Request("AAPL", "1h", *_day())
    with pytest.raises(TransientError) as caught:
        first.fetch(request, first.plan(request)[0], lambda m: None)
    assert caught.value.retry_after == pytest.approx(0.5)

    waits = []
    other = Request("MSFT", "1h", *_day())
    started = time.monotonic()
    assert len(second.fetch(other, second.plan(other)[0], waits.append)) > 0
    assert time.monotonic() - started > 0.3
    assert waits == ["waiting for IB pacing, resumes in 1 s"]


def test_no_data_ends_the_chunk_with_no_rows(source, fake):
    request = Request("AAPL", "1h", *_day())
    fake.fail_next(162, "Historical Market Data Service error message:HMDS query returned no data: AAPL@SMART Trades")
    bars = source.fetch(request, source.plan(request)[0], lambda m: None)
    assert bars.empty and list(bars.columns) == ["open", "high", "low", "close", "volume", "wap", "trades"]
    assert str(bars.index.tz) == "UTC"
    # and a range with no trading at all (a weekend) is the same, without any injection
    saturday = recent_weekday() + timedelta(days=3)
    weekend = Request("AAPL", "5m", saturday, saturday + timedelta(days=1))
    assert source.fetch(weekend, source.plan(weekend)[0], lambda m: None).empty


@pytest.mark.parametrize("code", [502, 1100])
def test_connectivity_errors_are_transient_and_reconnect(source, fake, code):
    request = Request("AAPL", "1h", *_day())
    fake.error_next(code, "Connectivity between IB and Trader Workstation has been lost.")
    with pytest.raises(TransientError, match=str(code)):
        source.fetch(request, source.plan(request)[0], lambda m: None)

    bars = source.fetch(request, source.plan(request)[0], lambda m: None)

    assert len(bars) > 0 and len(fake.client_ids) == 2  # a second connection served it


def test_dropped_connection_is_transient_and_the_next_fetch_reconnects(source, fake):
    request = Request("AAPL", "1h", *_day())
    source.fetch(request, source.plan(request)[0], lambda m: None)
    fake.drop_next()
    with pytest.raises(TransientError, match="connection"):
        source.fetch(request, source.plan(request)[0], lambda m: None)
    assert source.fetch(request, source.plan(request)[0], lambda m: None).shape[0] > 0

    fake.drop_connections()  # a drop while idle between jobs is noticed before the next request
    assert source.fetch(request, source.plan(request)[0], lambda m: None).shape[0] > 0
    assert len(fake.client_ids) == 3


def test_a_request_that_never_returns_times_out(make_source, fake):
    src = make_source(request_timeout=0.3)
    request = Request("AAPL", "1h", *_day())
    fake.hang_next()
    started = time.monotonic()
    with pytest.raises(TransientError, match="did not answer"):
        src.fetch(request, src.plan(request)[0], lambda m: None)
    assert time.monotonic() - started < 2
    assert src.fetch(request, src.plan(request)[0], lambda m: None).shape[0] > 0


def test_unreachable_gateway_says_so_and_backs_off(make_source):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    src = make_source(port=port, backoff_base=0.2)
    request = Request("AAPL", "1h", *_day())
    with pytest.raises(Unreachable) as caught:
        src.fetch(request, src.plan(request)[0], lambda m: None)
    assert str(caught.value) == (f"Cannot reach IB Gateway at 127.0.0.1:{port} from this machine: check that "
                                 "TWS or IB Gateway is running with the API enabled, or MDC_IB_HOST and MDC_IB_PORT.")
    assert caught.value.retry_after == pytest.approx(0.2) and caught.value.retries == 1
    waits = []
    with pytest.raises(TransientError) as again:
        src.fetch(request, src.plan(request)[0], waits.append)
    assert waits and waits[0].startswith("reconnecting to IB Gateway")
    assert again.value.retry_after == pytest.approx(0.4)  # doubled


def test_client_id_in_use_takes_another_one(settings, redis_client):
    with FakeIbGateway(busy_client_ids={settings.ib_client_id}) as gateway:
        src = IbkrSource(dataclasses.replace(settings, ib_port=gateway.port), redis=redis_client,
                         pacing=FAST, connect_timeout=2.0, request_timeout=2.0)
        try:
            request = Request("AAPL", "1h", *_day())
            started = time.monotonic()
            src.fetch(request, src.plan(request)[0], lambda m: None)
            assert time.monotonic() - started < 1.5  # no waiting for a connect timeout
            assert gateway.client_ids == [settings.ib_client_id, settings.ib_client_id + 1]
            assert gateway.connected_client_ids == [settings.ib_client_id + 1]
        finally:
            src.close()


def test_two_collectors_claim_different_client_ids(make_source, fake, settings):
    first, second = make_source(), make_source()
    request = Request("AAPL", "1h", *_day())
    for src in (first, second):
        src.fetch(request, src.plan(request)[0], lambda m: None)
    assert fake.connected_client_ids == [settings.ib_client_id, settings.ib_client_id + 1]
    assert 326 not in fake.client_ids and len(fake.client_ids) == 2


def test_client_id_claim_is_refreshed_while_connected(make_source, redis_client, settings):
    src = make_source(clientid_ttl=0.3)
    request = Request("AAPL", "1h", *_day())
    src.fetch(request, src.plan(request)[0], lambda m: None)
    key = f"{settings.key_prefix}:ib:clientid:{settings.ib_client_id}"
    time.sleep(0.7)  # over twice the TTL: only the refresher keeps the key alive
    assert redis_client.exists(key) and 0 < redis_client.pttl(key) <= 300
    src.close()
    assert not redis_client.exists(key)
    assert not [t for t in threading.enumerate() if t.name.startswith("ib-clientid-")]


# -- pacing ------------------------------------------------------------------------------


def test_two_collectors_share_ib_pacing_through_redis(settings, redis_client):
    rules = PacingRules(identical_window=0.2, burst_window=0.2, burst_max=5, window=1.0, window_max=3)
    gateway_rules = {"identical": 0.15, "burst_window": 0.15, "burst_max": 5, "window": 0.9, "window_max": 3}
    with FakeIbGateway(pacing=gateway_rules) as gateway:
        sources = [IbkrSource(dataclasses.replace(settings, ib_port=gateway.port), redis=redis_client,
                              pacing=rules, connect_timeout=2.0, request_timeout=2.0) for _ in range(2)]
        try:
            day = recent_weekday()
            request = Request("AAPL", "5s", day + timedelta(hours=14), day + timedelta(hours=17))
            chunks = sources[0].plan(request)
            waits = []
            for i, chunk in enumerate(chunks + chunks[:3]):  # the repeats are identical requests
                bars = sources[i % 2].fetch(request, chunk, waits.append)
                assert len(bars) > 0
        finally:
            for src in sources:
                src.close()
    sent = gateway.requests_for()
    assert len(sent) == 6 and len({r.client_id for r in sent}) == 2
    assert gateway.pacing_violations == 0
    times = sorted(r.received for r in sent)
    assert all(later - earlier >= 0.9 for earlier, later in zip(times, times[3:]))
    assert any(w.startswith("waiting for IB pacing, resumes in") for w in waits)


def test_pacer_never_lets_two_processes_take_the_last_slot(redis_client, key_prefix):
    rules = PacingRules(identical_window=0.0, burst_window=60, burst_max=100, window=60, window_max=5)

    class Full(Exception):
        pass

    def refuse(seconds):
        raise Full

    granted = []

    def worker(n):
        pacer = IbPacer(redis_client, key_prefix, rules, sleep=refuse)
        try:
            pacer.acquire(signature=f"r{n}", contract_key=f"c{n}", what_to_show="TRADES", bar_seconds=5,
                          report_wait=lambda m: None)
            granted.append(n)
        except Full:
            pass

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 5
    assert redis_client.zcard(f"{key_prefix}:pacing:ib:window") == 5


def test_pacer_rules(redis_client, key_prefix):
    rules = PacingRules(identical_window=0.3, burst_window=0.3, burst_max=2, window=0.5, window_max=3,
                        min_margin=0.0, edge_margin=0.0)  # the rules alone; the margin has its own test
    slept = []
    pacer = IbPacer(redis_client, key_prefix, rules,
                    sleep=lambda s: (slept.append(s), time.sleep(s)))

    def go(sig, contract="c1", what="TRADES", bar=5):
        return pacer.acquire(signature=sig, contract_key=contract, what_to_show=what, bar_seconds=bar,
                             report_wait=lambda m: None)

    assert go("a") == 0
    assert go("a") > 0.2  # identical request: waits out the 0.3 s window
    time.sleep(0.5)
    assert go("b", what="BID_ASK") == 0  # counts twice towards window_max=3
    assert go("c", contract="c2") == 0
    assert go("d", contract="c3") > 0.3  # the small-bar window is full
    time.sleep(0.5)
    assert go("e", bar=3600) == 0 and go("f", bar=3600) == 0  # large bars: only the burst rule
    assert go("g", bar=3600) > 0.2  # third for the same contract within the burst window
    assert len(slept) == 3


# -- submit-time checks ------------------------------------------------------------------


@pytest.mark.parametrize("symbol, interval, start_days_ago, options, field, message", [
    ("AAPL", "5s", 400, {}, "start", "IB keeps 5-second bars for the last 6 months only: choose a start after"),
    ("AAPL", "1s", 200, {}, "start", "IB keeps 1-second bars for the last 6 months"),
    ("AAPL", "90m", 10, {}, "interval", "IB has no 90-minute bars"),
    ("AAPL", "5d", 10, {}, "interval", "IB has no 5-day bars"),
    ("AAPL", "1h", 10, {"what_to_show": "ADJUSTED_LAST"}, "what_to_show", "daily, weekly or monthly"),
    ("AAPL", "1d", 10, {"what_to_show": "bogus"}, "what_to_show", "must be one of TRADES"),
    ("AAPL", "1d", 10, {"rth": "maybe"}, "rth", "yes or no (true/false"),
    ("AAPL", "1d", 10, {"currency": "dollars"}, "currency", "3-letter"),
    ("BRK B", "1d", 10, {}, "symbol", "without spaces"),
    ("A" * 16, "1d", 10, {}, "symbol", "1-15"),
    ("", "1d", 10, {}, "symbol", "1-15"),
])
def test_validation_messages(settings, symbol, interval, start_days_ago, options, field, message):
    src = IbkrSource(settings)
    now = datetime.now(UTC)
    errors = src.validate(Request(symbol, interval, now - timedelta(days=start_days_ago), now, options))
    assert field in errors and message in errors[field], errors


def test_valid_requests_pass_and_options_normalise(settings):
    src = IbkrSource(settings)
    now = datetime.now(UTC)
    assert src.validate(Request("AAPL", "5s", now - timedelta(days=30), now)) == {}
    assert src.validate(Request("BRK.B", "1mo", now - timedelta(days=3650), now,
                                {"what_to_show": "adjusted_last", "rth": "off"})) == {}
    clean, errors = src.normalize_options({"what_to_show": "bid_ask", "rth": "On", "currency": "eur",
                                           "primary_exchange": "ibis"})
    assert errors == {}
    assert clean == {"what_to_show": "BID_ASK", "rth": True, "currency": "EUR", "primary_exchange": "IBIS"}
    assert src.normalize_options({"rth": "0"})[0]["rth"] is False
    assert src.kind({}) == "trades" and src.kind({"what_to_show": "Bid_Ask"}) == "bid_ask"
    assert "90m" not in src.intervals and "5d" not in src.intervals and "3mo" not in src.intervals


@pytest.mark.parametrize("interval, span, count", [
    ("1s", timedelta(seconds=1800), 48), ("10s", timedelta(hours=4), 6), ("30s", timedelta(hours=8), 3),
    ("1m", timedelta(days=1), 1), ("3m", timedelta(days=2), 1), ("30m", timedelta(days=7), 1),
])
def test_plan_is_newest_first_within_each_duration(settings, interval, span, count):
    end = recent_weekday()
    # a non-US contract: no exchange calendar, so whole days are asked for
    chunks = IbkrSource(settings).plan(Request("SAP", interval, end - timedelta(days=1), end, {"currency": "EUR"}))
    assert len(chunks) == count and chunks[0].end == end and chunks[-1].start == end - timedelta(days=1)
    assert all(c.end - c.start <= span for c in chunks)
    assert all(a.start == b.end for a, b in zip(chunks, chunks[1:]))


@pytest.mark.parametrize("day, extended, count", [
    ("2025-11-26", False, 7),   # a full session, 09:30-16:00 New York: 6.5 hours of 1-hour chunks
    ("2025-11-27", False, 0),   # Thanksgiving: closed, nothing to ask for
    ("2025-11-28", False, 4),   # half day, closes 13:00: 3.5 hours
    ("2025-11-29", False, 0),   # Saturday
    ("2025-11-26", True, 16),   # all hours: 04:00-20:00 New York
])
def test_small_us_bars_are_asked_for_trading_hours_only(settings, day, extended, count):
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    chunks = IbkrSource(settings).plan(Request("AAPL", "5s", start, start + timedelta(days=1), {"rth": not extended}))
    assert len(chunks) == count
    assert all(c.end - c.start <= timedelta(hours=1) for c in chunks)
    assert all(a.start >= b.end for a, b in zip(chunks, chunks[1:]))  # newest first


def test_a_month_of_five_second_bars_is_about_150_requests_not_720(settings):
    start = datetime(2025, 10, 1, tzinfo=UTC)
    chunks = IbkrSource(settings).plan(Request("AAPL", "5s", start, start + timedelta(days=30)))
    assert 140 <= len(chunks) <= 160


# -- helpers -----------------------------------------------------------------------------


def _day() -> tuple[datetime, datetime]:
    day = recent_weekday()
    return day, day + timedelta(days=1)


def _eventually(check, timeout=2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()
