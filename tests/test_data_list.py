"""The series list is paginated and shows gap counts kept with each series, so a page load
never reads the bars of the series it lists (issue 13)."""

import re

import pytest
from sqlalchemy import event

from tests.helpers import JSON, sim_frame, store_bars

pytestmark = pytest.mark.both_databases


def statements_during(app, request):
    """The SQL the web app runs while answering `request()`, and the answer."""
    seen: list[str] = []
    engine = app.extensions["mdc"].db.engine
    listener = lambda conn, cursor, statement, *rest: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = request()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return seen, response


def test_the_series_list_comes_in_pages(client, db):
    for i in range(53):
        store_bars(db, sim_frame(f"S{i:02d}", "1d", "2024-01-01", "2024-01-10"), symbol=f"S{i:02d}", interval="1d")
    first = client.get("/data", headers=JSON).get_json()
    assert (first["page"], first["pages"], first["total"], len(first["series"])) == (1, 2, 53, 50)
    second = client.get("/data?page=2", headers=JSON).get_json()
    assert [s["symbol"] for s in second["series"]] == ["S50", "S51", "S52"]
    html = client.get("/data?page=2&sort=symbol").get_data(as_text=True)
    assert "Page 2 of 2 · 53 series" in html and "/data?sort=symbol&amp;page=1" in html
    assert client.get("/data?page=0", headers=JSON).status_code == 422


def test_gap_counts_are_kept_with_the_series_and_listing_reads_no_bars(app, client, db):
    frame = sim_frame()
    store_bars(db, frame.drop(frame.index[[5, 6]]))
    listing = client.get("/data", headers=JSON).get_json()["series"][0]
    assert listing["gaps"] is None and listing["gaps_url"] == "/data/sim/AAPL/1h/gaps?kind=trades"
    assert 'hx-get="/data/sim/AAPL/1h/gaps?kind=trades"' in client.get("/data").get_data(as_text=True)
    assert client.get(listing["gaps_url"], headers=JSON).get_json()["missing"] == 2  # computed once, kept
    statements, response = statements_during(app, lambda: client.get("/data", headers=JSON))
    assert response.get_json()["series"][0]["gaps"]["count"] == 1
    assert response.get_json()["series"][0]["gaps"]["missing"] == 2
    reads_of_bars = [s for s in statements if re.search(r"\bfrom\s+bars\b", s, re.I)]
    # The one read of bars is the count of suspect bars of the page's series, which only the
    # partial index of flagged bars answers; the gaps and the bars themselves are not read.
    assert statements and all("flags != 0" in s and "series_id IN" in s for s in reads_of_bars), reads_of_bars
    html = client.get("/data").get_data(as_text=True)
    assert "hx-get" not in html.split("<tbody>")[1] and "1 gap · 2 bars" in html


def test_new_bars_clear_the_kept_gaps_and_the_next_look_counts_again(client, db):
    frame = sim_frame()
    store_bars(db, frame.drop(frame.index[[5, 6, 100]]))
    client.get("/data/sim/AAPL/1h/gaps", headers=JSON)
    assert client.get("/data", headers=JSON).get_json()["series"][0]["gaps"]["count"] == 2
    store_bars(db, frame.iloc[[100]])  # fills one of the two gaps
    assert client.get("/data", headers=JSON).get_json()["series"][0]["gaps"] is None
    assert client.get("/data/sim/AAPL/1h", headers=JSON).get_json()["gaps"]["count"] == 1
    assert client.get("/data", headers=JSON).get_json()["series"][0]["gaps"]["count"] == 1
    store_bars(db, frame.iloc[[0]])  # values again, no new bar time: the kept counts stay right
    assert client.get("/data", headers=JSON).get_json()["series"][0]["gaps"]["count"] == 1
