"""The Yahoo source, with the real yfinance talking to a local fake of Yahoo's chart API."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from collector.sources import load_source
from collector.sources.base import BAR_COLUMNS, Chunk, PermanentError, Request, TransientError, Unreachable
from collector.sources.yahoo.source import YahooSource
from tests.fakes.yahoo import YahooFake
from tests.helpers import assert_paced

UTC = timezone.utc


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def source(settings, yahoo_fake):
    src = YahooSource(replace(settings, yahoo_base_url=yahoo_fake.url), pacing_seconds=0)
    yield src
    src.close()


def collect(src: YahooSource, request: Request) -> pd.DataFrame:
    """Run a whole request the way the worker does: plan, then fetch chunk by chunk."""
    frames = [src.fetch(request, chunk, lambda message: None).bars for chunk in src.plan(request)]
    return pd.concat(frames) if frames else None


def assert_same_bars(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(BAR_COLUMNS)
    assert str(got.index.tz) == "UTC" and got.index.name == "ts"
    assert len(expected) > 0
    pd.testing.assert_frame_equal(got, expected, check_freq=False, rtol=1e-12)


# -- validation ---------------------------------------------------------------------------

@pytest.mark.parametrize("symbol, interval, days_back, field, words", [
    ("MS FT", "1d", 10, "symbol", "not a Yahoo symbol"),
    ("", "1d", 10, "symbol", "not a Yahoo symbol"),
    ("A" * 21, "1d", 10, "symbol", "1-20 letters"),
    ("MSFT$", "1d", 10, "symbol", "^GSPC"),
    ("MSFT", "3m", 10, "interval", "1m, 2m, 5m, 15m, 30m, 90m, 1h, 1d, 5d, 1w, 1mo, 3mo"),
    ("MSFT", "1s", 1, "interval", "does not serve"),
    ("MSFT", "1m", 31, "start", "Yahoo keeps 1-minute bars for the last 30 days only"),
    ("MSFT", "5m", 61, "start", "Yahoo keeps 5-minute bars for the last 60 days only"),
    ("MSFT", "90m", 61, "start", "90-minute bars for the last 60 days"),
    ("MSFT", "1h", 731, "start", "Yahoo keeps 1-hour bars for the last 730 days only"),
])
def test_validate_rejects(source, symbol, interval, days_back, field, words):
    now = datetime.now(UTC)
    errors = source.validate(Request(symbol, interval, now - timedelta(days=days_back), now))
    assert field in errors and words in errors[field], errors


def test_validate_names_the_first_allowed_date(source):
    now = datetime.now(UTC)
    errors = source.validate(Request("MSFT", "1m", now - timedelta(days=40), now))
    earliest = (now - timedelta(days=30)).date().isoformat()
    assert errors == {"start": "Yahoo keeps 1-minute bars for the last 30 days only: "
                               f"choose a start after {earliest}"}


@pytest.mark.parametrize("symbol", ["^GSPC", "EURUSD=X", "ES=F", "BRK-B", "VOD.L", "msft"])
def test_validate_accepts_indices_fx_and_futures(source, symbol):
    now = datetime.now(UTC)
    assert source.validate(Request(symbol, "1m", now - timedelta(days=29), now)) == {}
    assert source.validate(Request(symbol, "1d", utc(1990, 1, 1), now)) == {}
    assert source.validate(Request(symbol, "1h", now - timedelta(days=729), now)) == {}


@pytest.mark.parametrize("value, adjusted", [
    (True, True), (False, False), ("on", True), ("off", False), ("true", True), ("False", False),
    ("1", True), ("0", False), ("yes", True), ("no", False), (1, True), (0, False), ("", False),
])
def test_adjusted_option(source, value, adjusted):
    options, errors = source.normalize_options({"adjusted": value})
    assert errors == {} and options == {"adjusted": adjusted}
    assert source.kind(options) == ("adjusted" if adjusted else "trades")


def test_bad_and_unknown_options_are_errors(source):
    _, errors = source.normalize_options({"adjusted": "maybe", "prepost": "1"})
    assert set(errors) == {"adjusted", "prepost"}
    assert source.normalize_options({}) == ({"adjusted": False}, {})
    now = datetime.now(UTC)
    assert "prepost" in source.validate(Request("MSFT", "1d", now - timedelta(days=5), now, {"prepost": 1}))


def test_registry_builds_the_yahoo_source(settings, redis_client):
    src = load_source("yahoo", settings, redis=redis_client)
    assert isinstance(src, YahooSource) and src.name == "yahoo" and "1w" in src.intervals
    src.close()


# -- planning -----------------------------------------------------------------------------

def test_plan_cuts_one_minute_bars_into_eight_day_requests(source):
    end = today()
    request = Request("MSFT", "1m", end - timedelta(days=30), end)
    chunks = source.plan(request)
    assert len(chunks) == 4
    assert all(c.end - c.start <= timedelta(days=8) for c in chunks)
    assert chunks[0].start == request.start and chunks[-1].end == request.end
    assert all(a.end == b.start for a, b in zip(chunks, chunks[1:]))


@pytest.mark.parametrize("interval, days, count", [
    ("5m", 59, 1), ("1h", 729, 1), ("1d", 365 * 12, 3), ("1mo", 365 * 40, 8),
])
def test_plan_spans(source, interval, days, count):
    end = today()
    chunks = source.plan(Request("MSFT", interval, end - timedelta(days=days), end))
    assert len(chunks) == count
    assert chunks == sorted(chunks, key=lambda c: c.start)


# -- fetching -----------------------------------------------------------------------------

def test_daily_bars_over_two_years_match_bar_for_bar(source, yahoo_fake):
    request = Request("MSFT", "1d", utc(2024, 1, 1), utc(2026, 1, 1))
    got = collect(source, request)
    assert_same_bars(got, yahoo_fake.expected_bars("MSFT", "1d", request.start, request.end))
    assert (got.index == got.index.normalize()).all()  # 00:00 UTC of each trading date
    assert pd.Timestamp("2025-12-25", tz="UTC") not in got.index
    assert len(yahoo_fake.chart_requests("MSFT")) == len(source.plan(request)) == 1


def test_one_minute_bars_in_utc_match_the_fake(source, yahoo_fake):
    end = today() - timedelta(days=1)
    request = Request("AAPL", "1m", end - timedelta(days=10), end)
    got = collect(source, request)
    assert_same_bars(got, yahoo_fake.expected_bars("AAPL", "1m", request.start, request.end))
    history = yahoo_fake.chart_requests("AAPL")
    assert len(history) == len(source.plan(request)) == 2
    assert all(int(r["params"]["period2"]) - int(r["params"]["period1"]) <= 8 * 86400 for r in history)
    # 09:30 New York is 14:30 UTC in winter, 13:30 in summer
    first_of_day = got.groupby(got.index.normalize()).head(1).index
    assert set(first_of_day.strftime("%H:%M")) <= {"13:30", "14:30"}


def test_thirty_minute_bars(source, yahoo_fake):
    end = today()
    request = Request("MSFT", "30m", end - timedelta(days=7), end)
    got = collect(source, request)
    assert_same_bars(got, yahoo_fake.expected_bars("MSFT", "30m", request.start, request.end))
    assert (got.index.minute % 30 == 0).all()
    assert {r["params"]["interval"] for r in yahoo_fake.chart_requests("MSFT")} == {"15m"}


def test_chunk_keeps_only_its_own_bars(source, yahoo_fake):
    day = today() - timedelta(days=7)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    request = Request("MSFT", "5m", day, day + timedelta(days=1))
    chunk = Chunk(day + timedelta(hours=15, minutes=2), day + timedelta(hours=16, minutes=7))
    got = source.fetch(request, chunk, lambda m: None).bars
    assert_same_bars(got, yahoo_fake.expected_bars("MSFT", "5m", chunk.start, chunk.end))


def test_weekly_bars_use_the_shared_interval_name(source, yahoo_fake):
    request = Request("SPY", "1w", utc(2025, 1, 6), utc(2025, 6, 2))
    got = collect(source, request)
    assert_same_bars(got, yahoo_fake.expected_bars("SPY", "1w", request.start, request.end))
    assert {r["params"]["interval"] for r in yahoo_fake.chart_requests("SPY")} == {"1wk"}


def test_adjusted_prices_come_from_adjclose(source, yahoo_fake):
    request = Request("MSFT", "1d", utc(2026, 5, 1), utc(2026, 7, 1), {"adjusted": "on"})
    assert source.kind(request.options) == "adjusted"
    got = collect(source, request)
    assert_same_bars(got, yahoo_fake.expected_bars("MSFT", "1d", request.start, request.end, adjusted=True))
    raw = yahoo_fake.expected_bars("MSFT", "1d", request.start, request.end)
    before = got.index < pd.Timestamp("2026-06-15", tz="UTC")
    assert (got["close"][before] < raw["close"][before]).all()  # the fake's dividend
    assert (got["close"][~before] == raw["close"][~before]).all()


def test_a_holiday_is_an_empty_frame_not_an_error(source, yahoo_fake):
    for interval in ("1d", "1h"):
        got = source.fetch(Request("MSFT", interval, utc(2025, 12, 25), utc(2025, 12, 26)),
                           Chunk(utc(2025, 12, 25), utc(2025, 12, 26)), lambda m: None).bars
        assert got.empty and list(got.columns) == list(BAR_COLUMNS)
    assert len(yahoo_fake.chart_requests("MSFT")) == 2


def test_unknown_symbol_is_a_permanent_error_in_plain_words(source):
    request = Request("ZZZZ", "1d", utc(2025, 1, 1), utc(2025, 2, 1))
    with pytest.raises(PermanentError) as info:
        source.fetch(request, source.plan(request)[0], lambda m: None)
    assert str(info.value) == "Yahoo has no data for ZZZZ: the symbol may be wrong or delisted"


def test_rate_limit_is_transient_and_the_next_call_succeeds(source, yahoo_fake):
    request = Request("MSFT", "1d", utc(2025, 3, 1), utc(2025, 4, 1))
    chunk = source.plan(request)[0]
    first = source.fetch(request, chunk, lambda m: None).bars  # warms cookie, crumb and timezone
    yahoo_fake.fail_next(2, status=429)  # yfinance retries once by itself
    with pytest.raises(TransientError, match="429"):
        source.fetch(request, chunk, lambda m: None)
    again = source.fetch(request, chunk, lambda m: None).bars  # asks again: nothing kept in memory
    pd.testing.assert_frame_equal(again, first)
    assert len(yahoo_fake.chart_requests("MSFT")) == 4


@pytest.mark.parametrize("gone", ["refused", "no such host"])
def test_a_server_that_cannot_be_reached_is_worth_one_retry_in_plain_words(settings, gone):
    if gone == "refused":
        with YahooFake() as stopped:
            url = stopped.url
    else:
        url = "http://mdc-test.invalid"  # .invalid never resolves
    src = YahooSource(replace(settings, yahoo_base_url=url), pacing_seconds=0)
    request = Request("MSFT", "1d", utc(2025, 3, 1), utc(2025, 4, 1))
    with pytest.raises(Unreachable) as caught:
        src.fetch(request, src.plan(request)[0], lambda m: None)
    assert str(caught.value) == ("Cannot reach Yahoo Finance from this machine: "
                                 "check internet access or MDC_YAHOO_BASE_URL.")
    assert caught.value.retries == 1
    src.close()


def test_a_timeout_is_transient(settings, yahoo_fake):
    src = YahooSource(replace(settings, yahoo_base_url=yahoo_fake.url), pacing_seconds=0, timeout=0.3)
    request = Request("MSFT", "1d", utc(2025, 3, 1), utc(2025, 4, 1))
    src.fetch(request, src.plan(request)[0], lambda m: None)  # timezone known, so the next call is one request
    yahoo_fake.stall_next(1, seconds=1.0)
    with pytest.raises(TransientError, match="did not answer within 0.3 s"):
        src.fetch(request, src.plan(request)[0], lambda m: None)
    src.close()


def test_a_new_base_url_is_honoured(settings, yahoo_fake):
    request = Request("MSFT", "1d", utc(2025, 3, 1), utc(2025, 4, 1))
    first = YahooSource(replace(settings, yahoo_base_url=yahoo_fake.url), pacing_seconds=0)
    expected = first.fetch(request, first.plan(request)[0], lambda m: None).bars
    with YahooFake() as other:
        second = YahooSource(replace(settings, yahoo_base_url=other.url), pacing_seconds=0)
        before = len(yahoo_fake.requests)
        got = second.fetch(request, second.plan(request)[0], lambda m: None).bars
        assert len(other.chart_requests("MSFT")) == 1
        assert len(yahoo_fake.requests) == before  # nothing went to the first server
        second.close()
    pd.testing.assert_frame_equal(got, expected)
    first.close()


# -- pacing -------------------------------------------------------------------------------

def test_pacing_is_shared_through_redis(settings, redis_client, yahoo_fake):
    spacing = 0.1
    cfg = replace(settings, yahoo_base_url=yahoo_fake.url)
    sources = [YahooSource(cfg, redis=redis_client, pacing_seconds=spacing) for _ in range(2)]
    request = Request("MSFT", "1d", utc(2025, 3, 1), utc(2025, 4, 1))
    errors: list[BaseException] = []

    def run(src):
        try:
            for _ in range(2):
                src.fetch(request, Chunk(request.start, request.end), lambda m: None)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors
    times = sorted(r["time"] for r in yahoo_fake.requests)
    assert len(yahoo_fake.chart_requests("MSFT")) == 4
    assert_paced(times, spacing)
    assert redis_client.exists(f"{settings.key_prefix}:pacing:yahoo")
    for s in sources:
        s.close()


def test_a_long_pacing_wait_is_reported(settings, redis_client, yahoo_fake):
    src = YahooSource(replace(settings, yahoo_base_url=yahoo_fake.url), redis=redis_client,
                      pacing_seconds=0.05)
    seconds, micros = redis_client.time()
    busy_until = seconds * 1000 + micros // 1000 + 1500  # another collector holds the next 1.5 s
    redis_client.set(f"{settings.key_prefix}:pacing:yahoo", busy_until, px=5000)
    messages: list[str] = []
    request = Request("MSFT", "1d", utc(2025, 3, 1), utc(2025, 4, 1))
    started = time.monotonic()
    src.fetch(request, Chunk(request.start, request.end), messages.append)
    assert time.monotonic() - started >= 1.0
    # Rounded up from what is left when the source looks: 2 s, or 1 s on a machine slow to get there.
    assert messages and messages[0] in ("waiting for Yahoo pacing, resumes in 2 s",
                                        "waiting for Yahoo pacing, resumes in 1 s"), messages
    src.close()
