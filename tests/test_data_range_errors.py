"""A chart range that cannot be read (typed in From/to, or a bad link) is answered like a
form: the chart of the whole series, the error beside the fields, what was typed kept.
JSON and the bars fragment still answer a plain 422."""

import re

import pytest

from tests.helpers import JSON, sim_frame, store_bars

HX_CHART = {"HX-Request": "true", "HX-Target": "chart"}
INVERTED = "/data/sim/AAPL/1h?kind=trades&start=2024-01-05T15:00&end=2024-01-04T16:00"


@pytest.mark.parametrize("headers", [{}, HX_CHART], ids=["page", "htmx-chart"])
def test_inverted_range_keeps_the_chart_and_says_what_is_wrong_by_the_fields(client, db, headers):
    store_bars(db, sim_frame())
    response = client.get(INVERTED, headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.count('id="chart"') == 1 and 'data-chart' in html  # the chart is still there
    error = re.search(r'<span class="field-error" id="range-error" role="alert">([^<]*)</span>', html)
    assert error and "End must be after start" in error.group(1) and "whole series" in error.group(1)
    assert 'value="2024-01-05T15:00"' in html and 'value="2024-01-04T16:00"' in html  # as typed
    assert html.count('aria-invalid="true" aria-describedby="range-error"') == 2
    if headers:
        assert "<html" not in html and 'id="main"' not in html  # a fragment, not a page inside the page


def test_a_hostile_typed_value_comes_back_escaped_and_cut(client, db):
    store_bars(db, sim_frame())
    attack = '"><script>alert(1)</script>' + "x" * 500
    response = client.get("/data/sim/AAPL/1h", query_string={"kind": "trades", "start": attack}, headers=HX_CHART)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<script>alert" not in html and "&#34;&gt;&lt;script&gt;" in html
    assert "x" * 100 not in html  # only the first 64 characters are shown back


def test_unknown_range_link_shows_the_whole_series_with_the_choices(client, db):
    store_bars(db, sim_frame())
    response = client.get("/data/sim/AAPL/1h?kind=trades&range=forever")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Unknown range" in html and "1h, 4h, 1d" in html and 'data-chart' in html


def test_json_and_the_bars_fragment_still_answer_a_plain_422(client, db):
    store_bars(db, sim_frame())
    as_json = client.get(INVERTED, headers=JSON)
    assert as_json.status_code == 422 and "End must be after start" in as_json.get_json()["message"]
    bars = client.get(INVERTED, headers={"HX-Request": "true", "HX-Target": "bars"})
    assert bars.status_code == 422 and "End must be after start" in bars.get_data(as_text=True)


def test_french_reader_gets_the_error_in_french(client, db):
    store_bars(db, sim_frame())
    html = client.get(INVERTED, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "La série entière est affichée à la place." in html


def test_the_range_form_sends_kind_once_with_javascript(client, db):
    store_bars(db, sim_frame())
    html = client.get("/data/sim/AAPL/1h?kind=trades").get_data(as_text=True)
    form = re.search(r'<form method="get" action="([^"]*)" hx-get="([^"]*)"', html)
    assert form.group(1).endswith("?kind=trades")  # without JS the browser drops this query...
    assert "?" not in form.group(2)  # ...htmx does not: the hidden field carries kind for both


def test_htmx_restoring_a_page_for_back_gets_it_with_200(client, db):
    # htmx swaps only 2xx/3xx when it reloads a page missing from its history cache.
    store_bars(db, sim_frame())
    response = client.get(INVERTED, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert response.status_code == 200 and 'id="range-error"' in response.get_data(as_text=True)


def test_times_typed_with_a_zone_come_back_as_the_field_writes_them(client, db):
    store_bars(db, sim_frame())
    response = client.get("/data/sim/AAPL/1h?kind=trades&start=2024-01-06T15:00Z&end=2024-01-05")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="range-error"' in html
    # a datetime-local field shows nothing for "…Z"; a bare end date is the next midnight
    assert 'value="2024-01-06T15:00"' in html and 'value="2024-01-06T00:00"' in html
