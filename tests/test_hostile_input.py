"""Hostile and malformed input answers a 4xx that says why, never a 500 (issue 13).
Each class of defect is tested at its root and through every route that reaches it."""

import logging
import re

import pytest

from tests.helpers import JSON, sim_frame, store_bars

pytestmark = pytest.mark.both_databases  # each test runs on SQLite and on PostgreSQL

FORM = {"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "1mo"}
TOO_BIG = str(2**63)  # one past SQLite's largest INTEGER
TOO_BIG_FOR_POSTGRES = str(2**31)  # one past PostgreSQL's int4, the type of the id columns there


@pytest.fixture
def series_client(client, db):
    store_bars(db, sim_frame())
    return client


# --- dates at the edge of what Python can represent -----------------------------------

@pytest.mark.parametrize("query", ["end=9999-12-31", "start=0001-01-01", "end=9999-12-31%20America/New_York",
                                   "start=0001-01-01T00:00%2B01:00", "end=9999-12-31T23:59:59-23:59"])
@pytest.mark.parametrize("path", ["/data/sim/AAPL/1h", "/data/sim/AAPL/1h.csv", "/data/sim/AAPL/1h.parquet"])
def test_dates_out_of_range_in_series_page_and_exports_are_422(series_client, path, query):
    for headers in (JSON, {}):
        response = series_client.get(f"{path}?{query}", headers=headers)
        assert response.status_code == 422, response.get_data(as_text=True)[:300]
        assert "outside the years 1900-2200" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/data/sim/AAPL/1h.csv", "/data/sim/AAPL/1h.parquet"])
def test_a_failed_download_is_json_for_scripts_and_a_page_for_browsers(series_client, path):
    curl = series_client.get(f"{path}?start=zz", headers={"Accept": "*/*"})  # curl -OJ would save the body
    assert curl.status_code == 422 and curl.is_json and "Start is not a date" in curl.get_json()["message"]
    browser = series_client.get(f"{path}?start=zz")
    assert browser.status_code == 422 and browser.mimetype == "text/html"


@pytest.mark.parametrize("dates", [{"start": "2024-01-01", "end": "9999-12-31"}, {"start": "0001-01-01"},
                                   {"start": "2024-01-01", "end": "9999-12-31 Asia/Tokyo"}])
def test_dates_out_of_range_on_submit_and_the_form_hint(client, dates):
    response = client.post("/jobs", data={**FORM, "period": "", **dates}, headers=JSON)
    assert response.status_code == 422
    assert "outside the years 1900-2200" in " ".join(response.get_json()["errors"].values())
    hint = client.get("/collect/fields", query_string={**FORM, "period": "custom", **dates})
    assert hint.status_code == 422 and "outside the years 1900-2200" in hint.get_data(as_text=True)


def test_a_long_unknown_zone_is_not_echoed_whole(client):
    response = client.post("/jobs", data={**FORM, "period": "", "start": "2024-01-01 x/" + "y" * 5000}, headers=JSON)
    message = response.get_json()["errors"]["start"]
    assert "unknown time zone" in message and len(message) < 200


# --- ids past 2^63 -----------------------------------------------------------------------

def test_every_route_with_an_id_answers_404_past_2_63(app, client):
    client.post("/jobs", data=FORM, headers=JSON)
    routes = [r for r in app.url_map.iter_rules() if "<int:" in r.rule]
    assert {r.endpoint for r in routes} >= {"jobs.detail", "jobs.live", "job_actions.cancel", "job_actions.retry",
                                            "job_actions.dismiss"}
    for rule in routes:
        method = "POST" if "POST" in rule.methods else "GET"
        for bad in (TOO_BIG, TOO_BIG_FOR_POSTGRES, "99999999999999999999", "0", "١"):  # ١: an Arabic-Indic one, which int() reads
            path = re.sub(r"<int:\w+>", bad, rule.rule)
            response = client.open(path, method=method, headers=JSON)
            assert response.status_code == 404, (path, response.status_code)
    assert client.get(f"/jobs/{2**31 - 1}", headers=JSON).get_json()["message"] == f"There is no job #{2**31 - 1}."


# --- digits that are not ASCII ------------------------------------------------------------

@pytest.mark.parametrize("value", ["²", "١", "1_0", "٣"])
def test_unicode_digits_in_page_and_cleanup_days_are_422(client, value):
    assert client.get(f"/jobs?page={value}", headers=JSON).status_code == 422
    response = client.post("/jobs/cleanup", data={"days": value}, headers=JSON)
    assert response.status_code == 422 and "whole number" in response.get_json()["errors"]["days"]


@pytest.mark.parametrize("ids", ["1,²", "١", f"1,{2**31}", "999999999999", "-1"])
def test_job_ids_in_the_summary_line_are_ascii_and_in_range(client, ids):
    client.post("/jobs", data=FORM, headers=JSON)
    response = client.get("/jobs/summary", query_string={"ids": ids}, headers=JSON)
    assert response.status_code == 422 and "ids must be 1 to 50 job numbers" in response.get_json()["message"]


def test_sim_fail_with_a_unicode_digit_is_refused(make_app):
    client = make_app(sim_failure_option=True).test_client()
    response = client.post("/jobs", data={**FORM, "fail": "transient:²"}, headers=JSON)
    assert response.status_code == 422 and "fail" in response.get_json()["errors"]


# --- redirects ----------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/jobs\r\nSet-Cookie: x=1", "/jobs\n", "/\t/evil.example", "/\x00/evil.example",
                                    "/ /evil.example", "https://evil.example", "//evil.example", "/\\evil.example",
                                    "javascript:alert(1)", "http:/evil.example", "/\u2028/evil.example"])
def test_cancel_next_with_control_characters_or_a_host_goes_to_the_job(client, target):
    client.post("/jobs", data=FORM, headers=JSON)
    response = client.post("/jobs/1/cancel", data={"next": target})
    assert response.status_code == 303 and response.headers["Location"] == "/jobs/1"


# --- the catch-all 500 handler ------------------------------------------------------------

@pytest.fixture
def broken_client(make_app):
    app = make_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("a bug")

    return app.test_client()


def test_an_unexpected_error_is_a_500_in_json_and_html_and_logged(broken_client, caplog):
    with caplog.at_level(logging.ERROR, logger="mdc.web"):
        api = broken_client.get("/boom", headers=JSON)
    assert api.status_code == 500
    assert api.get_json() == {"error": "Internal Server Error",
                              "message": "Something went wrong on our side; it has been logged."}
    page = broken_client.get("/boom")
    assert page.status_code == 500 and "<title>Server error" in page.get_data(as_text=True)
    assert "property object" not in page.get_data(as_text=True)
    record = next(r for r in caplog.records if r.name == "mdc.web")
    assert record.getMessage() == "unhandled error on GET /boom" and record.exc_info[0] is RuntimeError


def test_a_405_keeps_its_allow_header(client):
    response = client.get("/jobs/1/cancel", headers=JSON)
    assert response.status_code == 405 and "POST" in response.headers["Allow"]


# --- symbols --------------------------------------------------------------------------------

@pytest.mark.parametrize("symbol", ["ß", "straße", "ＡＡＰＬ", "ﬁ", "AAPL,ǅ"])
def test_symbols_must_be_ascii_before_upper_casing(client, symbol):
    response = client.post("/jobs", data={**FORM, "symbol": symbol}, headers=JSON)
    assert response.status_code == 422
    assert "letters A-Z" in response.get_json()["errors"]["symbol"]


def test_a_non_ascii_symbol_in_a_url_or_filter_is_never_read_as_another_ticker(client, db):
    store_bars(db, sim_frame("SS"), symbol="SS")
    assert client.get("/data/sim/SS/1h", headers=JSON).status_code == 200
    assert client.get("/data/sim/%C3%9F/1h", headers=JSON).status_code == 404  # ß, not SS
    assert client.get("/data?symbol=%C3%9F", headers=JSON).get_json()["total"] == 0
    assert client.get("/data?symbol=s", headers=JSON).get_json()["total"] == 1


@pytest.mark.parametrize("accept, json", [
    ("application/json;q=2, text/html;q=0", True),  # JSON weighed wrongly, HTML refused: still JSON
    ("application/json;q=2", True),
    ("application/json, text/html;q=0", True),
    ("application/json;q=2, text/html", False),  # HTML accepted, JSON unreadable: the page
    ("text/html;q=0", False),
])
def test_errors_follow_what_the_accept_header_refuses(client, accept, json):
    response = client.get("/jobs/99999", headers={"Accept": accept})
    assert response.status_code == 404
    assert response.is_json == json, response.content_type
