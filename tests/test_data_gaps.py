"""Gap detection against the NYSE calendar (holidays, half days), the simulated calendar and
plain spacing; and the jobs that fill gaps, update to now, or collect only what is missing."""

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from collector.sources.sim import simulate
from collector.store import gaps
from tests.helpers import JSON, sim_frame, store_bars, wait_for


def epoch(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").timestamp())


def weekdays(start: str, end: str, skip=()) -> np.ndarray:
    days = pd.date_range(start, end, freq="B", tz="UTC")
    return np.array([int(d.timestamp()) for d in days if d.strftime("%Y-%m-%d") not in skip], dtype=np.int64)


def session_bars(day: str, open_utc: str, close_utc: str, step: int = 300) -> np.ndarray:
    return np.arange(epoch(f"{day} {open_utc}"), epoch(f"{day} {close_utc}"), step, dtype=np.int64)


def test_daily_holidays_are_not_gaps():
    # Thanksgiving (Nov 28) and Christmas (Dec 25) have no bars; the half days (Nov 29, Dec 24) do.
    ts = weekdays("2024-11-01", "2024-12-31", skip={"2024-11-28", "2024-12-25"})
    report = gaps.find_gaps(ts, "yahoo", "AAPL", "1d")
    assert (report.method, report.count, report.missing) == ("nyse", 0, 0)
    # 2025-01-09: NYSE closed for President Carter's national day of mourning.
    ts = weekdays("2025-01-02", "2025-01-31", skip={"2025-01-09", "2025-01-20"})
    assert gaps.find_gaps(ts, "yahoo", "SPY", "1d").count == 0


def test_daily_missing_sessions_around_a_holiday_are_one_gap():
    ts = weekdays("2024-11-01", "2024-12-31", skip={"2024-11-27", "2024-11-28", "2024-11-29", "2024-12-25", "2024-12-10"})
    report = gaps.find_gaps(ts, "ibkr", "BRK.B", "1d")
    assert report.count == 2 and report.missing == 3 and report.unit == "sessions"
    thanksgiving, december = report.gaps
    assert (thanksgiving.start_dt.date().isoformat(), thanksgiving.end_dt.date().isoformat()) == ("2024-11-27", "2024-11-30")
    assert thanksgiving.missing == 2  # Nov 27 and the half day Nov 29; the holiday between is not missing
    assert (december.start, december.end, december.missing) == (epoch("2024-12-10"), epoch("2024-12-11"), 1)
    assert gaps.fill_ranges(report, 1) == [(thanksgiving.start, december.end)]
    assert gaps.fill_ranges(report, 5) == [(thanksgiving.start, thanksgiving.end), (december.start, december.end)]


def test_intraday_half_day_and_holiday_are_not_gaps_but_a_missing_bar_is():
    # 5-minute bars: Nov 27 full session (14:30-21:00 UTC), Nov 28 closed, Nov 29 closes at 13:00 ET.
    full = np.concatenate([session_bars("2024-11-27", "14:30", "21:00"), session_bars("2024-11-29", "14:30", "18:00"),
                           session_bars("2024-12-02", "14:30", "21:00")])
    report = gaps.find_gaps(full, "yahoo", "SPY", "5m")
    assert (report.method, report.count) == ("nyse", 0)
    holed = full[(full != epoch("2024-11-29 16:00")) & (full != epoch("2024-11-29 16:05"))]
    report = gaps.find_gaps(holed, "yahoo", "SPY", "5m")
    assert [(g.start, g.end, g.missing) for g in report.gaps] == [(epoch("2024-11-29 16:00"), epoch("2024-11-29 16:10"), 2)]
    # The whole half day gone: 42 bars (09:30-13:00 ET), not 78.
    no_friday = full[(full < epoch("2024-11-29")) | (full >= epoch("2024-11-30"))]
    assert gaps.find_gaps(no_friday, "yahoo", "SPY", "5m").missing == 42


def test_intraday_hourly_bars_at_the_half_hour_or_the_hour_both_cover_the_session():
    yahoo = session_bars("2024-07-01", "13:30", "20:00", 3600)  # 09:30, 10:30 ... 15:30 ET
    ib = np.concatenate(([epoch("2024-07-01 13:30")], np.arange(epoch("2024-07-01 14:00"), epoch("2024-07-01 20:00"), 3600)))
    for ts in (yahoo, ib):
        assert gaps.find_gaps(np.concatenate([ts, ts + 86400]), "ibkr", "AAPL", "1h").count == 0


def test_simulated_calendar_is_exact():
    ts = simulate("X", "1h", "trades", pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-02-01", tz="UTC")).index.as_unit("s").asi8
    assert gaps.find_gaps(ts, "sim", "X", "1h").count == 0
    report = gaps.find_gaps(np.delete(ts, [5, 6, 40]), "sim", "X", "1h")
    assert report.method == "sim" and report.count == 2 and report.missing == 3


def test_other_series_get_their_largest_spaces():
    ts = np.concatenate([np.arange(0, 86400 * 3, 3600), np.arange(86400 * 5, 86400 * 6, 3600)])
    report = gaps.find_gaps(ts, "yahoo", "EURUSD=X", "1h")
    assert report.method == "largest" and report.count == 1 and report.missing is None
    assert (report.gaps[0].start, report.gaps[0].end) == (86400 * 3 - 3600 + 3600, 86400 * 5)
    assert gaps.method_for("yahoo", "^GSPC", "1d") == "largest"
    assert gaps.method_for("yahoo", "AAPL", "1w") == "largest"


def test_fill_gaps_submits_jobs_for_the_holes(client, db):
    frame = sim_frame("AAPL", "1h", "2024-01-01", "2024-02-01")
    store_bars(db, frame.drop(frame.index[[5, 6, 40]]))
    page = client.post("/data/sim/AAPL/1h/fill?kind=trades")
    assert page.status_code == 303
    assert "2 jobs submitted to fill the gaps" in client.get(page.headers["Location"]).get_data(as_text=True)
    jobs = client.get("/jobs?tab=all", headers=JSON).get_json()["jobs"]
    ranges = sorted((j["start"], j["end"]) for j in jobs)
    assert ranges[0] == ("2024-01-01T20:00:00Z", "2024-01-02T16:00:00Z")
    assert ranges[1] == (datetime.fromtimestamp(int(frame.index[40].timestamp()), timezone.utc).isoformat().replace("+00:00", "Z"),
                         datetime.fromtimestamp(int(frame.index[40].timestamp()) + 3600, timezone.utc).isoformat().replace("+00:00", "Z"))


def test_update_to_now_starts_at_the_last_stored_bars(client, db):
    store_bars(db, sim_frame("AAPL", "1d", "2024-01-01", "2024-02-01"), interval="1d")
    job = client.post("/data/sim/AAPL/1d/update", headers=JSON)
    assert job.status_code == 201
    data = job.get_json()
    # the last three stored bars (Jan 29-31) are fetched again: the overlap check compares them
    assert data["start"] == "2024-01-29T00:00:00Z" and data["interval"] == "1d" and data["kind"] == "trades"
    assert abs(pd.Timestamp(data["end"]) - pd.Timestamp.now(tz="UTC")) < pd.Timedelta(minutes=1)
    browser = client.post("/data/sim/AAPL/1d/update")
    assert browser.status_code == 303 and "already pending" in client.get(browser.headers["Location"]).get_data(as_text=True)


def test_only_what_is_missing_trims_the_request(client, db):
    frame = sim_frame("AAPL", "1d", "2024-01-01", "2024-02-01")
    store_bars(db, frame.drop(frame.index[[10]]), interval="1d")
    form = {"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "custom",
            "start": "2023-12-01", "end": "2024-02-29", "only_missing": "1"}
    jobs = client.post("/jobs", data=form, headers=JSON).get_json()
    assert [(j["start"], j["end"]) for j in jobs] == [
        ("2023-12-01T00:00:00Z", "2024-01-01T00:00:00Z"),
        (frame.index[10].isoformat().replace("+00:00", "Z"), (frame.index[10] + pd.Timedelta(days=1)).isoformat().replace("+00:00", "Z")),
        ("2024-01-29T00:00:00Z", "2024-03-01T00:00:00Z")]  # the tail from the last stored bars on
    inside = client.post("/jobs", data={**form, "start": "2024-01-02", "end": "2024-01-10"}, headers=JSON)
    assert inside.status_code == 422 and "Nothing is missing" in inside.get_json()["errors"]["only_missing"]
    html = client.post("/jobs", data={**form, "start": "2024-01-02", "end": "2024-01-10"}).get_data(as_text=True)
    assert "Nothing is missing" in html and 'name="only_missing" value="1" checked' in html
    fresh = client.post("/jobs", data={**form, "symbol": "NEW"}, headers=JSON).get_json()
    assert (fresh["start"], fresh["end"]) == ("2023-12-01T00:00:00Z", "2024-03-01T00:00:00Z")


def test_fill_gaps_end_to_end_with_a_collector(client, db, collectors):
    frame = sim_frame("GAPPY", "1h", "2024-01-01", "2024-01-20")
    store_bars(db, frame.drop(frame.index[[3, 4, 5, 30]]), symbol="GAPPY")
    assert client.get("/data/sim/GAPPY/1h", headers=JSON).get_json()["gaps"]["missing"] == 4
    assert client.post("/data/sim/GAPPY/1h/fill", headers=JSON).status_code == 201
    collectors.start("c1")
    wait_for(lambda: client.get("/data/sim/GAPPY/1h", headers=JSON).get_json()["gaps"]["count"] == 0,
             timeout=30, message="the gaps to be filled")
    assert client.get("/data/sim/GAPPY/1h", headers=JSON).get_json()["bars"] == len(frame)


@pytest.mark.parametrize("url", ["/data/sim/NOPE/1h/update", "/data/sim/NOPE/1h/fill", "/data/sim/NOPE/1h/delete"])
def test_actions_on_unknown_series_are_404(client, url):
    assert client.post(url).status_code == 404


def test_a_simulated_daily_bar_exists_only_once_its_session_opened():
    """A job run at 13:59 UTC stored that day's bar, before the simulated 14:30 open."""
    day = pd.Timestamp("2024-03-05", tz="UTC")  # a Tuesday
    before_open = simulate("AAPL", "1d", "trades", day - pd.Timedelta(days=1), day + pd.Timedelta(hours=13, minutes=59))
    after_open = simulate("AAPL", "1d", "trades", day - pd.Timedelta(days=1), day + pd.Timedelta(hours=15))
    assert list(before_open.index) == [day - pd.Timedelta(days=1)]
    assert list(after_open.index) == [day - pd.Timedelta(days=1), day]
