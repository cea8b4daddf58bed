"""Yahoo end to end: jobs submitted through the HTTP API (as curl or the form sends them),
run by real collector processes with the real yfinance, against the local Yahoo fake.
Stored bars are read back from the database and compared with what the fake served."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e import (
    assert_same_bars,
    chunk_numbers,
    finished,
    messages,
    refused,
    stored_bars,
    submit,
    wait_alive,
    when,
)
from tests.helpers import assert_paced

UTC = timezone.utc
FAST = {"MDC_YAHOO_PACING_SECONDS": "0.01"}  # the fake needs no pacing; the rule is tested elsewhere


@pytest.fixture
def settings(settings, yahoo_fake):
    """Every process of the test (web app, collectors) talks to the fake."""
    return replace(settings, yahoo_base_url=yahoo_fake.url)


@pytest.fixture
def collector(collectors):
    return collectors.start("y1", **FAST)


def days_ago(n: int) -> str:
    return (datetime.now(UTC) - timedelta(days=n)).date().isoformat()


def test_a_year_of_daily_bars_then_the_same_again_adds_nothing(client, collector, yahoo_fake, db):
    form = {"symbol": "MSFT", "source": "yahoo", "interval": "1d", "period": "1y"}
    job = finished(client, submit(client, **form)["id"])

    assert job["status"] == "COMPLETED", job["error"]
    expected = yahoo_fake.expected_bars("MSFT", "1d", when(job["start"]), when(job["end"]))
    got = stored_bars(db, "yahoo", "MSFT", "1d", "trades")
    assert_same_bars(got, expected)
    assert (got.index == got.index.normalize()).all() and len(got) > 240
    assert job["kind"] == "trades" and job["rows_new"] == len(expected)
    assert job["progress"] == {"done": 1, "total": 1} and chunk_numbers(job) == [(1, 1)]

    again = finished(client, submit(client, **form)["id"])
    assert again["id"] != job["id"] and again["status"] == "COMPLETED"
    assert (again["rows_new"], again["rows_updated"], again["rows_unchanged"]) == (0, 0, len(expected))
    assert len(yahoo_fake.chart_requests("MSFT")) == 2  # asked Yahoo again, nothing kept in memory


def test_thirty_days_of_one_minute_bars_in_chunks(client, collector, yahoo_fake, db):
    job = finished(client, submit(client, symbol="AAPL", source="yahoo", interval="1m",
                                  start=days_ago(29))["id"])

    assert job["status"] == "COMPLETED", job["error"]
    expected = yahoo_fake.expected_bars("AAPL", "1m", when(job["start"]), when(job["end"]))
    assert_same_bars(stored_bars(db, "yahoo", "AAPL", "1m", "trades"), expected)
    total = job["progress"]["total"]
    assert total == 4 and job["progress"]["done"] == total
    assert chunk_numbers(job) == [(k, total) for k in range(1, total + 1)]  # progress per chunk
    history = yahoo_fake.chart_requests("AAPL")
    assert len(history) == total
    assert all(int(r["params"]["period2"]) - int(r["params"]["period1"]) <= 8 * 86400 for r in history)
    assert job["rows_new"] == len(expected) > 15 * 390


def test_the_one_month_preset_of_one_minute_bars_gets_what_yahoo_still_has(client, collector, yahoo_fake, db):
    job = finished(client, submit(client, symbol="AAPL", source="yahoo", interval="1m", period="1mo")["id"])

    assert job["status"] == "COMPLETED", job["error"]
    start, end = when(job["start"]), when(job["end"])
    assert end - start == timedelta(days=30)
    got = stored_bars(db, "yahoo", "AAPL", "1m", "trades")
    # the first minutes of the month may have aged out of Yahoo's 30 days by the time they are asked for
    settled = start + timedelta(hours=1)
    assert_same_bars(got[got.index >= settled], yahoo_fake.expected_bars("AAPL", "1m", settled, end))
    assert len(got[got.index < settled]) <= 60
    assert chunk_numbers(job)[-1] == (job["progress"]["total"],) * 2


def test_adjusted_prices_from_a_browser_checkbox(client, collector, yahoo_fake, db):
    form = {"symbol": "MSFT", "source": "yahoo", "interval": "1d", "start": "2026-05-01", "end": "2026-06-30"}
    plain = submit(client, **form)  # an unchecked checkbox sends nothing
    ticked = submit(client, **form, adjusted="on")
    assert (plain["kind"], ticked["kind"]) == ("trades", "adjusted")
    for body in (plain, ticked):
        assert finished(client, body["id"])["status"] == "COMPLETED"
    start, end = when(plain["start"]), when(plain["end"])
    assert_same_bars(stored_bars(db, "yahoo", "MSFT", "1d", "adjusted"),
                     yahoo_fake.expected_bars("MSFT", "1d", start, end, adjusted=True))
    assert_same_bars(stored_bars(db, "yahoo", "MSFT", "1d", "trades"),
                     yahoo_fake.expected_bars("MSFT", "1d", start, end))


@pytest.mark.parametrize("value, kind", [("y", "adjusted"), ("true", "adjusted"), ("off", "trades"),
                                         ("", "trades")])
def test_adjusted_values_a_form_or_curl_may_send(client, value, kind):
    body = submit(client, symbol="MSFT", source="yahoo", interval="1d", period="1mo", adjusted=value)
    assert body["kind"] == kind


def test_limits_are_refused_at_submit_with_the_first_allowed_date(client, yahoo_fake):
    earliest = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    errors = refused(client, symbol="AAPL", source="yahoo", interval="1m", start=days_ago(40))
    assert errors == {"start": f"Yahoo keeps 1-minute bars for the last 30 days only: choose a start after {earliest}"}
    errors = refused(client, symbol="AAPL", source="yahoo", interval="5m", period="3mo")
    assert errors["period"].startswith("Yahoo keeps 5-minute bars for the last 60 days only")  # the range came from it
    errors = refused(client, symbol="AAPL", source="yahoo", interval="5s", period="1d")
    assert "does not offer 5s bars" in errors["interval"]
    errors = refused(client, symbol="AAPL", source="yahoo", interval="1d", period="1y", adjusted="maybe")
    assert "adjusted" in errors
    # the presets that land exactly on a limit are accepted
    for interval, period in (("1m", "1mo"), ("5m", "1mo"), ("1h", "2y")):
        assert submit(client, symbol="AAPL", source="yahoo", interval=interval, period=period)["status"] == "PENDING"
    assert yahoo_fake.requests == []  # nothing was asked of Yahoo at submit time


@pytest.mark.parametrize("interval", ["1d", "1h"])
def test_a_holiday_completes_with_no_rows(client, collector, interval):
    job = finished(client, submit(client, symbol="MSFT", source="yahoo", interval=interval,
                                  start="2025-12-25", end="2025-12-25")["id"])
    assert job["status"] == "COMPLETED", job["error"]
    assert (job["rows_new"], job["rows_updated"], job["rows_unchanged"]) == (0, 0, 0)
    assert job["error"] is None


def test_a_bad_ticker_fails_at_once_in_plain_words(client, collector):
    job = finished(client, submit(client, symbol="ZZZZ", source="yahoo", interval="1d", period="1y")["id"])
    assert job["status"] == "FAILED"
    assert job["error"] == "Yahoo has no data for ZZZZ: the symbol may be wrong or delisted"
    assert not [m for m in messages(job) if "Retrying" in m]


def test_rate_limited_then_served(client, collector, yahoo_fake, db):
    yahoo_fake.fail_next(3, status=429)
    job = finished(client, submit(client, symbol="SPY", source="yahoo", interval="1d",
                                  start="2025-01-01", end="2025-03-31")["id"])
    assert job["status"] == "COMPLETED", job["error"]
    retries = [m for m in messages(job) if "HTTP 429" in m]
    assert retries and retries[0].startswith("Yahoo is limiting requests (HTTP 429 Too Many Requests). Retrying 1/5 in")
    assert_same_bars(stored_bars(db, "yahoo", "SPY", "1d", "trades"),
                     yahoo_fake.expected_bars("SPY", "1d", when(job["start"]), when(job["end"])))


def test_rate_limited_until_it_gives_up(client, collectors, yahoo_fake):
    collectors.start("y1", MDC_MAX_RETRIES="2", **FAST)
    yahoo_fake.fail_next(100, status=429)
    job = finished(client, submit(client, symbol="SPY", source="yahoo", interval="1d", period="1mo")["id"])
    assert job["status"] == "FAILED"
    assert job["error"] == "Gave up after 2 retries: Yahoo is limiting requests (HTTP 429 Too Many Requests)."
    assert [re.search(r"Retrying \d/\d", m).group() for m in messages(job) if "Retrying" in m] == [
        "Retrying 1/2", "Retrying 2/2"]


def test_two_collectors_share_one_yahoo_pace(settings, client, collectors, yahoo_fake, db):
    for name in ("y1", "y2"):
        collectors.start(name, MDC_YAHOO_PACING_SECONDS="0.1")
    wait_alive(settings, {"y1", "y2"})
    bodies = submit(client, symbol="MSFT, AAPL, SPY, ^GSPC", source="yahoo", interval="1d",
                    start="2025-01-01", end="2025-06-30")
    jobs = [finished(client, body["id"]) for body in bodies]
    assert [j["status"] for j in jobs] == ["COMPLETED"] * 4, [j["error"] for j in jobs]
    assert {j["collector"] for j in jobs} == {"y1", "y2"}
    times = sorted(r["time"] for r in yahoo_fake.requests)  # cookie, crumb, timezone and chart
    assert len(times) >= 8
    assert_paced(times, 0.1)
    for job in jobs:
        assert_same_bars(stored_bars(db, "yahoo", job["symbol"], "1d", "trades"),
                         yahoo_fake.expected_bars(job["symbol"], "1d", when(job["start"]), when(job["end"])))
