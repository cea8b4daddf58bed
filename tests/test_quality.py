"""Quality checks: each one on crafted bars, no false alarm on clean data (a simulated year,
NYSE half days, holidays and daylight-saving weeks), flags carried across chunks, and a job
that says how many suspect bars it wrote."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import pytest

from collector.quality import Bars, Rules, check, flag_names
from collector.sources.base import Fetched
from collector.store import SeriesStore
from collector.store.chunks import SeriesKey, write_chunk
from collector.store.gaps import method_for
from tests.e2e import finished, messages, submit
from tests.fakes.yahoo import YahooFake
from tests.fakes.yahoo_market import OPEN_MINUTES, local
from tests.helpers import JSON, sim_frame

UTC = timezone.utc


def flags_of(frame: pd.DataFrame, interval: str, source: str = "sim", symbol: str = "X", kind: str = "trades",
             rules: Rules = Rules()) -> dict[pd.Timestamp, list[str]]:
    """The flagged bars of a frame and the checks that flagged each."""
    flags = check(Bars.of_frame(frame), interval, method_for(source, symbol, interval), kind.endswith("_eth"), rules)
    return {frame.index[i]: flag_names(int(flags[i])) for i in np.flatnonzero(flags)}


def clean(interval: str = "1d", start: str = "2024-01-01", end: str = "2024-07-01", kind: str = "trades") -> pd.DataFrame:
    return sim_frame("X", interval, start, end, kind).copy()


@pytest.mark.parametrize("column, value, expected", [
    ("high", "below_close", ["ohlc"]),
    ("low", "above_open", ["ohlc"]),
    ("volume", -5.0, ["volume"]),
])
def test_inconsistent_bars_are_flagged_alone(column, value, expected):
    frame = clean()
    at = frame.index[60]
    if value == "below_close":
        value = frame.at[at, "close"] * 0.99
        frame.at[at, "open"] = frame.at[at, "close"] * 0.995
    elif value == "above_open":
        value = max(frame.at[at, "open"], frame.at[at, "close"]) * 1.001
    frame.at[at, column] = value
    assert flags_of(frame, "1d") == {at: expected}


def test_a_price_at_or_below_zero_is_flagged():
    frame = clean()
    at = frame.index[40]
    frame.loc[at, ["open", "high", "low", "close"]] = [0.0, 0.0, 0.0, 0.0]
    assert "price" in flags_of(frame, "1d")[at]


def test_a_return_far_outside_the_recent_spread_is_a_spike_and_the_way_back_is_not():
    frame = clean()
    at = frame.index[80]
    frame.loc[at, ["open", "high", "low", "close"]] *= 100  # prices 100x off for one bar
    assert flags_of(frame, "1d") == {at: ["spike"]}
    wick = clean()
    wick.at[wick.index[90], "high"] *= 1.4  # a bad tick in the high only
    assert flags_of(wick, "1d") == {wick.index[90]: ["spike"]}


def test_the_spike_threshold_is_a_setting():
    frame = clean()
    at = frame.index[80]
    frame.loc[at, ["open", "high", "low", "close"]] *= 1.25
    assert flags_of(frame, "1d") == {at: ["spike"]}
    assert flags_of(frame, "1d", rules=Rules(spike_sigmas=1000)) == {}


def test_frozen_prices_and_runs_without_volume():
    frame = clean()
    frozen = frame.index[50:62]
    frame.loc[frozen, ["open", "high", "low", "close"]] = frame.at[frame.index[49], "close"]  # stuck at the last price
    found = flags_of(frame, "1d")
    assert [t for t, names in found.items() if "frozen" in names] == list(frozen)
    assert set(found) - set(frozen) <= {frame.index[62]}  # the jump when the feed comes back may be a spike
    assert not [t for t, names in flags_of(frame, "1d", rules=Rules(run_bars=13)).items() if "frozen" in names]
    quiet = clean()
    quiet.loc[quiet.index[20:31], "volume"] = 0.0
    assert flags_of(quiet, "1d") == {t: ["no_volume"] for t in quiet.index[20:31]}
    short = clean()
    short.loc[short.index[20:29], "volume"] = 0.0  # 9 bars: under the run length
    assert flags_of(short, "1d") == {}


def test_series_without_volume_are_not_flagged_for_it():
    assert flags_of(clean("1h", kind="midpoint"), "1h", kind="midpoint") == {}  # midpoints have no volume


def test_bars_off_the_grid_or_outside_sessions():
    frame = clean("1h", "2024-03-04", "2024-03-09")
    moved = frame.index[7] + pd.Timedelta(minutes=7)
    weekend = pd.Timestamp("2024-03-09 15:00", tz="UTC")  # a Saturday, on the hour
    night = pd.Timestamp("2024-03-05 03:00", tz="UTC")
    extra = frame.iloc[[0, 0, 0]].set_axis(pd.DatetimeIndex([moved, weekend, night], name="ts"))
    frame = pd.concat([frame.drop(frame.index[7]), extra]).sort_index()
    assert flags_of(frame, "1h") == {moved: ["grid"], weekend: ["session"], night: ["session"]}


def test_nyse_bars_on_a_holiday_or_after_a_half_day_close_are_outside_sessions():
    fake = YahooFake()
    frame = fake.expected_bars("SPY", "5m", datetime(2024, 11, 25, tzinfo=UTC), datetime(2024, 12, 3, tzinfo=UTC))
    assert flags_of(frame, "5m", "yahoo", "SPY") == {}  # Thanksgiving closed, the 29th closes at 13:00
    holiday = pd.Timestamp("2024-11-28 15:00", tz="UTC")
    late = pd.Timestamp("2024-11-29 19:00", tz="UTC")  # 14:00 New York on the half day
    extra = frame.iloc[[0, 0]].set_axis(pd.DatetimeIndex([holiday, late], name="ts"))
    assert flags_of(pd.concat([frame, extra]).sort_index(), "5m", "yahoo", "SPY") == {
        holiday: ["session"], late: ["session"]}
    # with extended hours (IB's _eth kinds) 14:00 on the half day is fine, the holiday is not
    assert flags_of(pd.concat([frame, extra]).sort_index(), "5m", "ibkr", "SPY", kind="trades_eth") == {
        holiday: ["session"]}


@pytest.mark.parametrize("interval, start, end", [
    ("1d", "2023-01-01", "2024-01-01"), ("1h", "2023-01-01", "2024-01-01"), ("5m", "2023-06-01", "2024-01-01"),
    ("1m", "2023-10-01", "2023-12-01"), ("1w", "2020-01-01", "2024-01-01"),
])
@pytest.mark.parametrize("kind", ["trades", "midpoint", "bid"])
def test_no_false_alarm_on_a_clean_simulated_year(interval, start, end, kind):
    assert flags_of(clean(interval, start, end, kind), interval, kind=kind) == {}


@pytest.mark.parametrize("interval, start, end", [
    ("1d", "2024-01-01", "2026-01-01"),  # holidays, half days, a national day of mourning (2025-01-09)
    ("1h", "2025-10-20", "2025-12-31"),  # the end of daylight saving time, Thanksgiving, Christmas
    ("5m", "2025-03-03", "2025-03-21"),  # the start of daylight saving time in New York (March 9)
    ("90m", "2025-11-17", "2025-12-31"),
])
def test_no_false_alarm_on_nyse_sessions_half_days_holidays_and_dst(interval, start, end):
    fake = YahooFake()
    yahoo = {"1h": "60m"}.get(interval, interval)
    frame = fake.expected_bars("AAPL", yahoo if yahoo != "60m" else "1h", pd.Timestamp(start, tz="UTC"),
                               pd.Timestamp(end, tz="UTC"))
    assert len(frame) > 20 and flags_of(frame, interval, "yahoo", "AAPL") == {}


def test_flags_are_stored_and_a_run_carries_across_chunks(db):
    frame = clean("1h", "2024-01-01", "2024-02-01")
    run = frame.index[60:72]
    frame.loc[run, ["open", "high", "low", "close"]] = frame.at[frame.index[59], "close"]
    frame.at[frame.index[100], "high"] = frame.at[frame.index[100], "close"] * 0.99
    key = SeriesKey("sim", "X", "1h", "trades")
    suspect = 0
    for part in (frame.iloc[:66], frame.iloc[66:]):  # the run is split between two chunks
        with db.write() as session:
            suspect += write_chunk(session, key, Fetched(part), None, Rules()).suspect
    store = SeriesStore(db)
    (series,) = store.find("sim", "X", "1h")
    report = store.quality(series)
    found = {f.check: f for f in report.findings}
    assert found["frozen"].count == 12 and found["frozen"].times == [int(t.timestamp()) for t in run]
    assert found["ohlc"].times == [int(frame.index[100].timestamp())]
    expected = report.suspect  # the run, the bad high, and maybe the jump when the feed comes back
    assert expected in (13, 14) and store.suspect_counts([series.id]) == {series.id: expected}
    assert suspect == expected - 6  # each chunk counts its own bars: the second saw the run through its context
    with db.write() as session:  # the same bars again: nothing counted twice
        write_chunk(session, key, Fetched(frame), None, Rules())
    assert store.quality(series).suspect == expected


@pytest.fixture
def settings(settings, yahoo_fake):
    return replace(settings, yahoo_base_url=yahoo_fake.url)


def test_a_job_says_how_many_suspect_bars_it_wrote(client, collectors, yahoo_fake):
    collectors.start("q1", MDC_YAHOO_PACING_SECONDS="0.01")
    stamps = [int(local(date(2025, 3, d), OPEN_MINUTES).timestamp()) for d in (4, 12, 20)]  # as Yahoo stamps days
    yahoo_fake.serve_bad("MSFT", "1d", stamps[0], high=1.0)  # high below everything
    yahoo_fake.serve_bad("MSFT", "1d", stamps[1], open=-3.0)
    yahoo_fake.serve_bad("MSFT", "1d", stamps[2], volume=-100)
    job = finished(client, submit(client, symbol="MSFT", source="yahoo", interval="1d",
                                  start="2025-01-01", end="2025-06-30")["id"])
    assert job["status"] == "COMPLETED" and job["suspect_bars"] == 3
    assert messages(job)[-1].endswith("unchanged bars; 3 suspect bars.")
    quality = client.get("/data/yahoo/MSFT/1d/quality", headers=JSON).get_json()
    days = {c["check"]: [t[:10] for t in c["times"]] for c in quality["checks"]}
    assert quality["suspect_bars"] == 3
    assert days["price"] == ["2025-03-12"] and days["volume"] == ["2025-03-20"]
    assert days["ohlc"] == ["2025-03-04", "2025-03-12"]  # a negative open is also below the low
    listing = client.get("/data", headers=JSON).get_json()["series"]
    assert [s["suspect_bars"] for s in listing] == [3]
    page = client.get("/data/yahoo/MSFT/1d").get_data(as_text=True)
    assert "3 suspect bars" in page and "Negative volume" in page and 'class="quality-marks" data-marks="3"' in page
    assert ">3 suspect</a>" in client.get("/data").get_data(as_text=True)


def test_a_spike_before_the_series_has_a_spread_is_found_by_its_way_back():
    frame = clean()
    at = frame.index[20]  # 19 returns before it: too early to judge by itself
    frame.loc[at, ["open", "high", "low", "close"]] *= 3
    assert flags_of(frame, "1d") == {at: ["spike"]}
