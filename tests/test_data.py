"""The Data page: series list, series page, chart, CSV and Parquet exports, bad input.
Exports run on SQLite and PostgreSQL alike (marked both_databases)."""

import csv
import io
import re

import numpy as np
import pandas as pd
import pytest

from tests.helpers import JSON, sim_frame, store_bars

HX = {"HX-Request": "true"}


def odd_frame() -> pd.DataFrame:
    """Bars with awkward floats, missing wap/trades and huge volumes: what must survive export."""
    index = pd.DatetimeIndex(pd.to_datetime([1704205800, 1704206100, 1704206400, 1704292200], unit="s", utc=True), name="ts")
    return pd.DataFrame({"open": [0.1 + 0.2, 187.15, 1e-7, 123456.789012345],
                         "high": [1 / 3, 187.2, 2e-7, 123457.0], "low": [0.1, 187.0, 5e-8, 123400.5],
                         "close": [0.3, 187.19999999999999, 1.5e-7, 123456.0],
                         "volume": [12345678901.0, 0.0, 1.5, 3.0], "wap": [np.nan, 187.1, np.nan, 2.5],
                         "trades": [np.nan, 42, 7, np.nan]}, index=index)


@pytest.fixture
def data_client(client, db):
    """A client and its database (on SQLite and PostgreSQL for tests marked both_databases)."""
    return client, db


def test_list_shows_series_with_counts_filters_and_sorting(client, db):
    store_bars(db, sim_frame())
    store_bars(db, sim_frame("MSFT", "1d", "2023-01-01", "2024-01-01"), symbol="MSFT", interval="1d")
    store_bars(db, sim_frame(kind="bid"), kind="bid")
    store_bars(db, sim_frame("NVDA", "1m", "2024-01-02", "2024-01-05"), symbol="NVDA", interval="1m")
    html = client.get("/data").get_data(as_text=True)
    assert "4 series" in html and "/data/sim/AAPL/1h?kind=bid" in html and "/data/sim/MSFT/1d?kind=trades" in html
    counts = re.findall(r'<td class="num" data-label="Bars">([0-9,]+)</td>', html)
    assert sorted(counts) == sorted(["264", "264", "260", "1,170"])  # every series' bars, with thousands separators
    assert 'hx-get="/data/sim/AAPL/1h/gaps?kind=trades"' in html
    filtered = client.get("/data?symbol=ms").get_data(as_text=True)
    assert "MSFT" in filtered and "/data/sim/AAPL" not in filtered
    assert "No series match" in client.get("/data?source=yahoo").get_data(as_text=True)
    rows = client.get("/data?sort=bars&dir=desc", headers=JSON).get_json()["series"]
    assert [r["bars"] for r in rows] == sorted((r["bars"] for r in rows), reverse=True)
    assert rows[0]["csv"].startswith("/data/sim/")


def test_series_page_has_chart_gaps_bars_and_jobs(client, db, manager):
    job = manager.submit({"symbol": "AAPL", "source": "sim", "interval": "1h", "start": "2024-01-01",
                          "end": "2024-02-29"})[0].job
    frame = sim_frame()
    store_bars(db, frame.drop(frame.index[[5, 6]]))
    html = client.get("/data/sim/AAPL/1h").get_data(as_text=True)
    assert '<svg class="chart price"' in html and 'data-mode="line"' in html
    assert "1 gap, 2 bars missing" in html and "Fill gaps" in html and "Update to now" in html
    assert f'href="/jobs/{job.id}"' in html
    assert "Feb 29, 2024, 20:00:00 UTC" in html  # newest bar first in the table (Babel, English)
    assert client.get("/data/sim/AAPL/1h", headers=JSON).get_json()["gaps"]["missing"] == 2


def test_chart_candles_when_zoomed_in_and_htmx_partials(client, db):
    store_bars(db, sim_frame())
    page = client.get("/data/sim/AAPL/1h?range=1w", headers={**HX, "HX-Target": "chart"})
    html = page.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="chart"') and 'data-mode="candles"' in html
    assert html.count('<g class="up">') + html.count('<g class="down">') == 30  # 5 days x 6 bars
    assert "HX-Request" in page.headers["Vary"]
    bars = client.get("/data/sim/AAPL/1h?page=2", headers={**HX, "HX-Target": "bars"}).get_data(as_text=True)
    assert bars.lstrip().startswith('<section id="bars"') and "Page 2 of 6" in bars


def test_chart_downsamples_big_ranges(client, db):
    index = pd.date_range("2020-01-01", periods=200_000, freq="1min", tz="UTC", name="ts")
    close = 100 + np.sin(np.arange(200_000) / 5000)
    store_bars(db, pd.DataFrame({"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1.0,
                            "wap": np.nan, "trades": np.nan}, index=index), interval="1m")
    html = client.get("/data/sim/AAPL/1m", headers={**HX, "HX-Target": "chart"}).get_data(as_text=True)
    assert 'data-mode="envelope"' in html and 'data-bars="200000"' in html
    points = re.search(r'points="([^"]*)"', html).group(1).split()
    assert len(points) <= 800 and len(html) < 80_000  # SVG plus the 400 slots' figures for the readout


@pytest.mark.parametrize("symbol, path, name", [("EURUSD=X", "EURUSD%3DX", '"EURUSD=X_sim_1h_trades'),
                                                ("BRK/B", "BRK%2FB", "BRK_B_sim_1h_trades"),
                                                ("M&M", "M%26M", "M_M_sim_1h_trades")])
def test_export_file_names_keep_what_yahoo_keeps_and_replace_what_a_path_cannot_hold(data_client, symbol, path, name):
    client, db = data_client
    store_bars(db, sim_frame(symbol), symbol=symbol)
    response = client.get(f"/data/sim/{path}/1h.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith(f"attachment; filename={name}_2024-01-01")


@pytest.mark.both_databases
def test_csv_parses_back_to_exactly_the_stored_bars(data_client):
    client, db = data_client
    frame = odd_frame()
    store_bars(db, frame, source="yahoo", symbol="^GSPC", interval="5m")
    response = client.get("/data/yahoo/%5EGSPC/5m.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=^GSPC_yahoo_5m_trades_2024-01-02_2024-01-03.csv"
    text = response.get_data(as_text=True)
    assert text.splitlines()[0] == "ts,open,high,low,close,volume,wap,trades"
    assert text.splitlines()[1].startswith("2024-01-02T14:30:00Z,0.30000000000000004,")
    back = pd.read_csv(io.StringIO(text), index_col="ts")
    back.index = pd.to_datetime(back.index, utc=True).as_unit("ns")
    expected = frame.copy()
    expected.index = expected.index.as_unit("ns")
    pd.testing.assert_frame_equal(back, expected, check_exact=True, check_dtype=False, check_freq=False)


@pytest.mark.both_databases
def test_csv_date_range_filter_and_end_day_inclusive(data_client):
    client, db = data_client
    store_bars(db, sim_frame())
    rows = list(csv.reader(io.StringIO(client.get("/data/sim/AAPL/1h.csv?start=2024-01-02&end=2024-01-03").get_data(as_text=True))))
    assert rows[0][0] == "ts" and len(rows) == 1 + 12
    assert rows[1][0] == "2024-01-02T15:00:00Z" and rows[-1][0] == "2024-01-03T20:00:00Z"
    empty = client.get("/data/sim/AAPL/1h.csv?start=2030-01-01")
    assert empty.status_code == 200 and empty.get_data(as_text=True) == "ts,open,high,low,close,volume,wap,trades\n"


@pytest.mark.both_databases
def test_parquet_round_trips_with_types_and_utc(data_client):
    pq = pytest.importorskip("pyarrow.parquet")
    client, db = data_client
    frame = odd_frame()
    store_bars(db, frame, source="ibkr", symbol="SPY", interval="5m", kind="midpoint")
    response = client.get("/data/ibkr/SPY/5m.parquet?kind=midpoint&start=2024-01-02&end=2024-01-02")
    assert response.status_code == 200 and response.mimetype == "application/vnd.apache.parquet"
    assert "SPY_ibkr_5m_midpoint_2024-01-02_2024-01-02.parquet" in response.headers["Content-Disposition"]
    table = pq.read_table(io.BytesIO(response.get_data()))
    assert str(table.schema.field("ts").type) == "timestamp[ms, tz=UTC]"
    assert str(table.schema.field("trades").type) == "int64" and str(table.schema.field("close").type) == "double"
    assert table.schema.metadata[b"kind"] == b"midpoint"
    back = table.to_pandas().set_index("ts")
    assert str(back.index.tz) == "UTC" and len(back) == 3
    assert back.index[0] == pd.Timestamp("2024-01-02T14:30:00Z")
    np.testing.assert_array_equal(back["close"].to_numpy(), frame["close"].to_numpy()[:3])
    assert back["trades"].isna().tolist() == [True, False, False] and back["trades"].iloc[1] == 42


@pytest.mark.parametrize("url, status, message", [
    ("/data/sim/NOPE/1h", 404, "No NOPE 1h bars"),
    ("/data/sim/AAPL/1h?kind=bid", 404, "kinds stored: trades"),
    ("/data/nasdaq/AAPL/1h", 404, "Unknown source"),
    ("/data/sim/AAPL/7x", 404, ""),
    ("/data/sim/AAPL/1h.csv?start=yesterday", 422, "Start is not a date"),
    ("/data/sim/AAPL/1h.parquet?start=2024-02-01&end=2024-01-01", 422, "End must be after start"),
    ("/data/sim/AAPL/1h?start=2024-01-01&end=2023-01-01", 422, "End must be after start"),
    ("/data/sim/AAPL/1h?page=-1", 422, "Page must be"),
    ("/data/sim/AAPL/1h?page=99999999999", 422, "Page must be"),
    ("/data/sim/AAPL/1h?range=forever", 422, "Unknown range"),
    ("/data?source=nasdaq", 422, "Unknown source"),
    ("/data?sort=price", 422, "Unknown sort"),
    ("/data/sim/AAPL/1h.csv?end=3000-01-01T00:00:00%2B99:00", 422, "End"),
])
def test_bad_input_is_4xx_with_a_message(client, db, url, status, message):
    store_bars(db, sim_frame())
    response = client.get(url, headers=JSON)
    assert response.status_code == status
    assert message in response.get_json()["message"]
    assert client.get(url).status_code == status  # and as an HTML page


def test_page_past_the_end_is_empty_not_an_error(client, db):
    store_bars(db, sim_frame())
    response = client.get("/data/sim/AAPL/1h?page=5000")
    assert response.status_code == 200
    assert "There is no page 5,000: the last one is page 6." in response.get_data(as_text=True)


def test_delete_confirms_with_a_count_then_removes(client, db):
    store_bars(db, sim_frame())
    store_bars(db, sim_frame(kind="bid"), kind="bid")
    confirm = client.get("/data/sim/AAPL/1h/delete?kind=trades").get_data(as_text=True)
    assert "This removes <strong>264 bars</strong>" in confirm and 'method="post"' in confirm
    response = client.post("/data/sim/AAPL/1h/delete?kind=trades")
    assert response.status_code == 303 and response.headers["Location"] == "/data"
    assert "264 bars removed" in client.get("/data").get_data(as_text=True)
    assert client.get("/data/sim/AAPL/1h?kind=trades").status_code == 404
    assert client.get("/data/sim/AAPL/1h?kind=bid").status_code == 200  # the other kind stays
    assert client.post("/data/sim/AAPL/1h/delete?kind=bid", headers=JSON).get_json() == {"deleted": True, "bars": 264}
    assert client.post("/data/sim/AAPL/1h/delete?kind=bid").status_code == 404


def test_symbols_with_odd_characters_are_escaped(client, db):
    store_bars(db, sim_frame("EUR/USD"), symbol="EUR/USD")
    store_bars(db, sim_frame("<B>"), symbol="<B>")
    html = client.get("/data").get_data(as_text=True)
    assert "<B>" not in html and "&lt;B&gt;" in html
    assert client.get("/data/sim/EUR/USD/1h").status_code == 200
    assert client.get("/data/sim/%3CB%3E/1h").status_code == 200
    assert "filename=EUR_USD_sim_1h_trades" in client.get("/data/sim/EUR/USD/1h.csv").headers["Content-Disposition"]
