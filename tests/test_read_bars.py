"""read_bars on SQLite and PostgreSQL: the stored bars as a DataFrame, adjusted from the
ledger, resampled by session (half days, daylight-saving weeks), and the same through the
exports."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import pytest

from collector import read_bars
from collector.sources.base import Action
from collector.store import ledger
from tests.fakes.yahoo import YahooFake
from tests.helpers import sim_frame, store_bars

UTC = timezone.utc
NEW_YORK = "America/New_York"
pytestmark = pytest.mark.both_databases


@pytest.fixture
def read(settings, db):
    """read_bars on the test's database (DATABASE_URL as the collector sees it)."""
    def call(*args, **kwargs):
        return read_bars(*args, database_url=settings.sqlalchemy_url, **kwargs)
    return call


def minute_bars(start: str, end: str, symbol: str = "AAPL") -> pd.DataFrame:
    """Yahoo's 1-minute bars (the fake's, on the NYSE calendar) for [start, end)."""
    return YahooFake().expected_bars(symbol, "1m", pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"))


def test_the_stored_bars_indexed_by_utc_time(read, db):
    frame = sim_frame("AAPL", "1h", "2024-01-01", "2024-03-01")
    store_bars(db, frame)
    got = read("AAPL", "1h", source="sim")
    assert got.index.name == "ts" and str(got.index.tz) == "UTC"
    assert list(got.columns) == ["open", "high", "low", "close", "volume", "wap", "trades"]
    pd.testing.assert_frame_equal(got, ns(frame.astype("float64")), check_freq=False)
    part = read("AAPL", "1h", start="2024-02-01", end="2024-02-02")  # an end date includes that day
    assert part.index[0] == pd.Timestamp("2024-02-01 15:00", tz="UTC") and part.index[-1] < pd.Timestamp("2024-02-03", tz="UTC")
    assert len(part) == 12
    assert len(read("AAPL", "1h", start=datetime(2024, 2, 1, 15, tzinfo=UTC), end=pd.Timestamp("2024-02-01 17:00Z"))) == 2


def test_wap_and_trades_only_where_the_source_gives_them(read, db):
    store_bars(db, sim_frame("MID", "1d", "2024-01-01", "2024-02-01", kind="midpoint"), symbol="MID", interval="1d",
               kind="midpoint")
    assert list(read("MID", "1d", kind="midpoint").columns) == ["open", "high", "low", "close", "volume"]


def test_unknown_series_and_bad_arguments_say_what_to_do(read, db):
    frame = sim_frame("AAPL", "1d", "2024-01-01", "2024-02-01")
    store_bars(db, frame, interval="1d")
    store_bars(db, frame, source="ibkr", interval="1d")
    with pytest.raises(ValueError, match="AAPL 1d trades is stored from ibkr, sim: pass source="):
        read("AAPL", "1d")
    with pytest.raises(LookupError, match=r"No AAPL 1d midpoint bars are stored \(stored for AAPL 1d: ibkr trades, sim trades\)"):
        read("AAPL", "1d", kind="midpoint")
    with pytest.raises(ValueError, match="adjust must be empty, 'splits' or 'all'"):
        read("AAPL", "1d", source="sim", adjust="yes")
    with pytest.raises(ValueError, match="1d bars resample to 1w 1mo 3mo, not '5m'"):
        read("AAPL", "1d", source="sim", resample="5m")
    with pytest.raises(ValueError, match="Start is not a date like 2024-03-01"):
        read("AAPL", "1d", source="sim", start="yesterday")


def test_unadjusted_ib_bars_are_adjusted_from_the_ledger(read, db):
    days = pd.date_range("2024-06-03", periods=10, freq="B", tz="UTC", name="ts")
    close = np.array([400.0, 404, 408, 412, 416, 104, 105, 106, 107, 108])  # a 4:1 split on day 6
    frame = pd.DataFrame({"open": close, "high": close + 1, "low": close - 1, "close": close,
                          "volume": 1000.0, "wap": close, "trades": 10.0}, index=days)
    store_bars(db, frame, source="ibkr", interval="1d")
    split, paid = days[5].date(), days[8].date()
    with db.write() as session:  # what a Yahoo job reported for the same company
        ledger.record(session, "yahoo", "AAPL", [Action("split", split, 4.0, _midnight_ny(split)),
                                                 Action("dividend", paid, 1.06, _midnight_ny(paid))], None)
    raw = read("AAPL", "1d", source="ibkr")
    assert raw["close"].tolist() == close.tolist()
    splits = read("AAPL", "1d", source="ibkr", adjust="splits")
    assert splits["close"].tolist() == [100.0, 101, 102, 103, 104, 104, 105, 106, 107, 108]
    assert splits["volume"].tolist() == [4000.0] * 5 + [1000.0] * 5
    everything = read("AAPL", "1d", source="ibkr", adjust="all")
    factor = 1 - 1.06 / 106  # the close before the dividend's ex-date
    np.testing.assert_allclose(everything["close"].to_numpy()[:8], splits["close"].to_numpy()[:8] * factor, rtol=1e-12)
    assert everything["close"].tolist()[8:] == [107.0, 108.0]
    assert everything["wap"].tolist()[8:] == [107.0, 108.0]


def test_yahoo_prices_already_include_splits_so_only_dividends_are_applied(read, db):
    frame = sim_frame("KO", "1d", "2024-01-01", "2024-02-01")
    store_bars(db, frame, source="yahoo", symbol="KO", interval="1d")
    paid = date(2024, 1, 16)
    with db.write() as session:
        ledger.record(session, "yahoo", "KO", [Action("split", date(2024, 1, 10), 2.0, _midnight_ny(date(2024, 1, 10))),
                                               Action("dividend", paid, 0.5, _midnight_ny(paid))], None)
    stored = read("KO", "1d", source="yahoo")
    pd.testing.assert_frame_equal(read("KO", "1d", source="yahoo", adjust="splits"), stored)
    adjusted = read("KO", "1d", source="yahoo", adjust="all")
    before = stored.index < pd.Timestamp(paid, tz="UTC")
    factor = 1 - 0.5 / stored["close"][before].iloc[-1]
    np.testing.assert_allclose(adjusted["close"][before], stored["close"][before] * factor, rtol=1e-12)
    assert (adjusted["close"][~before] == stored["close"][~before]).all()


def reference(frame: pd.DataFrame, hours: float) -> pd.DataFrame:
    """Session bins computed the plain way: New York local time, anchored at 09:30."""
    local = frame.index.tz_convert(NEW_YORK)
    opening = local.normalize() + pd.Timedelta(hours=9, minutes=30)
    step = pd.Timedelta(hours=hours)
    bins = (opening + (local - opening) // step * step).tz_convert("UTC")
    price = (frame["high"] + frame["low"] + frame["close"]) / 3
    grouped = frame.assign(pv=price * frame["volume"]).groupby(bins)
    out = pd.DataFrame({"open": grouped["open"].first(), "high": grouped["high"].max(), "low": grouped["low"].min(),
                        "close": grouped["close"].last(), "volume": grouped["volume"].sum()})
    out["wap"] = grouped["pv"].sum() / out["volume"]
    out.index = pd.DatetimeIndex(out.index, name="ts").as_unit("ns")
    return out


@pytest.mark.parametrize("start, end, label", [
    ("2025-11-24", "2025-12-02", "Thanksgiving (closed) and the half day after it (13:00 close)"),
    ("2025-03-06", "2025-03-12", "New York moves to daylight saving time on March 9"),
    ("2025-10-30", "2025-11-05", "and back on November 2"),
])
def test_resampling_follows_sessions_across_half_days_and_dst(read, db, start, end, label):
    frame = minute_bars(start, end)
    store_bars(db, frame, source="yahoo", interval="1m")
    hourly = read("AAPL", "1m", source="yahoo", resample="1h")
    expected = reference(frame, 1)
    pd.testing.assert_frame_equal(hourly, expected, check_freq=False, rtol=1e-12)
    local = hourly.index.tz_convert(NEW_YORK)
    assert set(local.strftime("%H:%M")) <= {f"{h:02d}:30" for h in range(9, 16)}  # never across the close
    half_day = [d for d in set(local.date) if local[local.date == d].max().hour == 12]
    for day in half_day:  # the last bin of a half day ends with the session at 13:00
        last = hourly[local.date == day].iloc[-1]
        assert last["volume"] == frame[frame.index.tz_convert(NEW_YORK).date == day]["volume"].iloc[-30:].sum()
    daily = read("AAPL", "1m", source="yahoo", resample="1d")
    sessions = sorted(set(frame.index.tz_convert(NEW_YORK).date))
    assert list(daily.index) == [pd.Timestamp(d, tz="UTC") for d in sessions]  # one bar per session, on its date
    assert daily["volume"].sum() == frame["volume"].sum()


def test_five_minute_bins_start_at_the_open_and_carry_vwap_of_wap(read, db):
    frame = sim_frame("AAPL", "1m", "2024-03-04", "2024-03-06")
    store_bars(db, frame, interval="1m")
    got = read("AAPL", "1m", resample="5m")
    assert got.index[0] == pd.Timestamp("2024-03-04 14:30", tz="UTC") and len(got) == 2 * 78
    first = frame.iloc[:5]
    assert got["wap"].iloc[0] == pytest.approx((first["wap"] * first["volume"]).sum() / first["volume"].sum(), rel=1e-12)
    assert got["trades"].iloc[0] == first["trades"].sum()


def test_exports_resample_and_adjust_with_a_name_that_says_so(client, db):
    frame = minute_bars("2025-11-24", "2025-12-02")
    store_bars(db, frame, source="yahoo", interval="1m")
    response = client.get("/data/yahoo/AAPL/1m.csv?resample=1h&adjust=splits&start=2025-11-24&end=2025-12-01")
    assert response.status_code == 200
    assert "AAPL_yahoo_1m_trades_resampled-1h_adjusted-splits_2025-11-24_2025-12-01.csv" in response.headers["Content-Disposition"]
    csv = pd.read_csv(io.StringIO(response.get_data(as_text=True)))
    expected = reference(frame, 1)
    assert len(csv) == len(expected) and csv["volume"].sum() == expected["volume"].sum()
    parquet = client.get("/data/yahoo/AAPL/1m.parquet?resample=1d")
    assert "AAPL_yahoo_1m_trades_resampled-1d_" in parquet.headers["Content-Disposition"]
    table = pd.read_parquet(io.BytesIO(parquet.get_data()))
    assert len(table) == 5 and table["volume"].sum() == frame["volume"].sum()  # five sessions
    bad = client.get("/data/yahoo/AAPL/1m.csv?resample=7m")
    assert bad.status_code == 422 and "1m bars resample to 2m 3m 5m" in bad.get_data(as_text=True)
    assert client.get("/data/yahoo/AAPL/1m.parquet?adjust=maybe").status_code == 422


def ns(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_axis(pd.DatetimeIndex(frame.index).as_unit("ns"))


def _midnight_ny(day: date) -> int:
    return int(pd.Timestamp(day, tz=NEW_YORK).timestamp())
