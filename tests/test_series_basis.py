"""Splits, dividends and revised history, end to end: real collector processes with the real
yfinance against the Yahoo fake, whose history is adjusted as of its own clock. A test
collects, moves the fake's clock past a split, updates to now, and checks every stored bar."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from tests.e2e import assert_same_bars, finished, messages, stored_bars, submit, when
from tests.fakes.yahoo_market import is_trading_day
from tests.helpers import JSON, store_bars

UTC = timezone.utc
FAST = {"MDC_YAHOO_PACING_SECONDS": "0.01"}


@pytest.fixture
def settings(settings, yahoo_fake):
    return replace(settings, yahoo_base_url=yahoo_fake.url)


@pytest.fixture
def collector(collectors):
    return collectors.start("y1", **FAST)


def session_days_ago(n: int) -> date:
    """The NYSE session n sessions before today."""
    day = datetime.now(UTC).date()
    while n:
        day -= timedelta(days=1)
        n -= is_trading_day(day)
    return day


def evening(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 0, tzinfo=UTC)


def update(client, path: str) -> dict | None:
    """Update to now; None when the series is already current (no bar can have started since)."""
    series, _, query = path.partition("?")
    response = client.post(f"/data/yahoo/{series}/update{'?' + query if query else ''}", headers=JSON)
    if response.status_code == 200 and response.get_json().get("current"):
        return None
    assert response.status_code == 201, response.get_json()
    return finished(client, response.get_json()["id"])


def continue_series(client, db, symbol: str) -> dict:
    """What Update to now submits, whatever the time of day: a job from the last stored bars
    (a watchlist run does the same)."""
    tail = stored_bars(db, "yahoo", symbol, "1d", "trades").index[-3]
    return finished(client, submit(client, symbol=symbol, source="yahoo", interval="1d",
                                   start=tail.isoformat())["id"])


def test_a_split_brings_every_earlier_daily_bar_to_the_new_basis(client, collector, yahoo_fake, db):
    split = session_days_ago(8)
    yahoo_fake.add_split("NVDA", split, 4)
    yahoo_fake.now = evening(split - timedelta(days=5))
    first = finished(client, submit(client, symbol="NVDA", source="yahoo", interval="1d", start="2026-03-02")["id"])
    assert first["status"] == "COMPLETED", first["error"]
    start = when(first["start"])
    before = stored_bars(db, "yahoo", "NVDA", "1d", "trades")
    assert_same_bars(before, yahoo_fake.expected_bars("NVDA", "1d", start, yahoo_fake.now))  # pre-split prices

    yahoo_fake.now = None  # the split has happened: Yahoo divides every earlier price by 4
    job = update(client, "NVDA/1d")
    assert job["status"] == "COMPLETED", job["error"]
    after = stored_bars(db, "yahoo", "NVDA", "1d", "trades")
    assert_same_bars(after, yahoo_fake.expected_bars("NVDA", "1d", start, datetime.now(UTC)))
    earlier = len(before[before.index < when(job["start"])])
    note = f"Split 4:1 on {split.isoformat()}: {earlier:,} earlier bars re-adjusted by job #{job['id']}."
    assert note in messages(job)
    assert not [m for m in messages(job) if "revised its history" in m]  # the split explains the overlap
    series = client.get("/data/yahoo/NVDA/1d", headers=JSON).get_json()
    splits = [a for a in series["actions"] if a["kind"] == "split"]
    assert [(a["text"], a["in_prices"], a["adjusted"]["job"]) for a in splits] == [(note, True, job["id"])]
    dividends = [a for a in series["actions"] if a["kind"] == "dividend"]  # the fake's 2026-06-15 one
    assert [(a["ex_date"], a["in_prices"]) for a in dividends] == [("2026-06-15", False)]
    assert series["revised"] is None and series["suspect_bars"] == 0

    again = continue_series(client, db, "NVDA")  # nothing new: no second re-adjustment
    assert again["status"] == "COMPLETED" and not [m for m in messages(again) if "Split" in m]


def test_one_minute_bars_older_than_yahoo_keeps_are_divided_by_the_ratio(client, collector, yahoo_fake, db):
    split = session_days_ago(3)
    yahoo_fake.add_split("TSLA", split, 2)
    yahoo_fake.now = evening(split - timedelta(days=1))
    now = datetime.now(UTC)
    old_start, old_end = now - timedelta(days=40), now - timedelta(days=37)
    # collected back then, before the split, and since aged out of Yahoo's 30 days
    store_bars(db, yahoo_fake.expected_bars("TSLA", "1m", old_start, old_end), source="yahoo", symbol="TSLA",
               interval="1m")
    recent = finished(client, submit(client, symbol="TSLA", source="yahoo", interval="1m",
                                     start=(split - timedelta(days=6)).isoformat())["id"])
    assert recent["status"] == "COMPLETED", recent["error"]

    yahoo_fake.now = None
    job = update(client, "TSLA/1m")
    assert job["status"] == "COMPLETED", job["error"]
    stored = stored_bars(db, "yahoo", "TSLA", "1m", "trades")
    old = stored[stored.index < old_end]
    assert_same_bars(old, yahoo_fake.expected_bars("TSLA", "1m", old_start, old_end))  # exactly the new basis
    assert_same_bars(stored[stored.index >= old_end],
                     yahoo_fake.expected_bars("TSLA", "1m", when(recent["start"]), datetime.now(UTC)))
    assert any(m.startswith(f"Split 2:1 on {split.isoformat()}:") for m in messages(job))


def test_a_new_dividend_re_adjusts_an_adjusted_series(client, collector, yahoo_fake, db):
    paid = session_days_ago(6)
    yahoo_fake.add_dividend("AAPL", paid, 2.5)
    yahoo_fake.now = evening(paid - timedelta(days=3))
    form = {"symbol": "AAPL", "source": "yahoo", "interval": "1d", "start": "2026-09-01", "adjusted": "on"}
    first = finished(client, submit(client, **form)["id"])
    assert first["status"] == "COMPLETED", first["error"]
    yahoo_fake.now = None
    job = update(client, "AAPL/1d?kind=adjusted")
    assert job["status"] == "COMPLETED", job["error"]
    assert_same_bars(stored_bars(db, "yahoo", "AAPL", "1d", "adjusted"),
                     yahoo_fake.expected_bars("AAPL", "1d", when(first["start"]), datetime.now(UTC), adjusted=True))
    assert any(m.startswith(f"Dividend of 2.5 on {paid.isoformat()}:") for m in messages(job))


def test_revised_history_is_marked_and_one_click_re_collects_it(client, collector, yahoo_fake, db):
    ended = session_days_ago(10).isoformat()
    first = finished(client, submit(client, symbol="MSFT", source="yahoo", interval="1d", start="2026-10-01",
                                    end=ended)["id"])
    assert first["status"] == "COMPLETED", first["error"]
    clean = update(client, "MSFT/1d")
    assert clean["status"] == "COMPLETED" and not [m for m in messages(clean) if "revised" in m]  # no false alarm

    yahoo_fake.revise("MSFT", datetime(2026, 10, 1, tzinfo=UTC), datetime.now(UTC), 1.01)
    job = continue_series(client, db, "MSFT")
    assert job["status"] == "COMPLETED"
    revised = [m for m in messages(job) if "revised its history" in m]
    assert revised and revised[0].startswith("Yahoo Finance revised its history: 2 re-fetched bars differ")
    series = client.get("/data/yahoo/MSFT/1d", headers=JSON).get_json()
    assert series["revised"]["bars"] == 2 and series["revised"]["job"] == job["id"]
    assert "Re-collect" in client.get("/data/yahoo/MSFT/1d").get_data(as_text=True)

    response = client.post("/data/yahoo/MSFT/1d/recollect", headers=JSON)
    assert response.status_code == 201
    again = finished(client, response.get_json()["id"])
    assert again["status"] == "COMPLETED" and again["start"] == first["start"]
    assert client.get("/data/yahoo/MSFT/1d", headers=JSON).get_json()["revised"] is None
    assert_same_bars(stored_bars(db, "yahoo", "MSFT", "1d", "trades"),
                     yahoo_fake.expected_bars("MSFT", "1d", when(first["start"]), datetime.now(UTC)))


def test_a_scheduled_run_also_checks_the_stored_tail(client, collector, yahoo_fake, db):
    """A watchlist run's update starts at the third-newest stored bar, so revisions are seen."""
    first = finished(client, submit(client, symbol="TSLA", source="yahoo", interval="1d", start="2026-10-01",
                                    end=session_days_ago(10).isoformat())["id"])
    assert first["status"] == "COMPLETED", first["error"]
    yahoo_fake.revise("TSLA", datetime(2026, 10, 1, tzinfo=UTC), datetime.now(UTC), 1.02)
    response = client.post("/watchlists", headers=JSON, data={"name": "chips", "symbols": "TSLA", "source": "yahoo",
                                                              "interval": "1d", "period": "1mo", "schedule": "none"})
    assert response.status_code == 201, response.get_json()
    run = client.post(f"/watchlists/{response.get_json()['id']}/run", headers=JSON).get_json()
    job = client.get(f"/jobs?tab=all&run={run['id']}", headers=JSON).get_json()["jobs"][0]
    assert when(job["start"]) == stored_bars(db, "yahoo", "TSLA", "1d", "trades").index[-3]
    job = finished(client, job["id"])
    assert job["status"] == "COMPLETED" and [m for m in messages(job) if "revised its history" in m]
    assert client.get("/data/yahoo/TSLA/1d", headers=JSON).get_json()["revised"]["job"] == job["id"]


def test_a_setting_re_collects_revised_history_by_itself(client, collectors, yahoo_fake, db):
    collectors.start("y1", MDC_RECOLLECT_REVISED="true", **FAST)
    first = finished(client, submit(client, symbol="SPY", source="yahoo", interval="1d", start="2026-10-01",
                                    end=session_days_ago(10).isoformat())["id"])
    yahoo_fake.revise("SPY", datetime(2026, 10, 1, tzinfo=UTC), datetime.now(UTC), 0.98)
    job = update(client, "SPY/1d")
    recollecting = [m for m in messages(job) if m.startswith("Re-collecting the series as job #")]
    assert recollecting
    again = finished(client, int(recollecting[0].rstrip(".").rsplit("#", 1)[1]))
    assert again["status"] == "COMPLETED" and again["start"] == first["start"]
    assert client.get("/data/yahoo/SPY/1d", headers=JSON).get_json()["revised"] is None
    assert_same_bars(stored_bars(db, "yahoo", "SPY", "1d", "trades"),
                     yahoo_fake.expected_bars("SPY", "1d", when(first["start"]), datetime.now(UTC)))
