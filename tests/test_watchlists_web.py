"""Watchlists over HTTP as curl and browsers use them: form-encoded in, HTML or JSON out,
422 with a message per field (never a 500), bulk actions on the jobs list."""

import io
import re

import pytest

from collector.store import JobStatus
from tests.helpers import JSON, end_job

pytestmark = pytest.mark.both_databases

FORM = {"name": "tech", "symbols": "AAPL, MSFT\nNVDA", "source": "sim", "interval": "1d", "period": "1mo"}


def create(client, **changes):
    response = client.post("/watchlists", data={**FORM, **changes}, headers=JSON)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_json_201_with_schedule_and_next_run(client):
    body = create(client, schedule="cron", cron="0 18 * * 1-5", timezone="Europe/Paris")
    assert body["id"] == 1 and body["url"] == "/watchlists/1" and body["symbols"] == ["AAPL", "MSFT", "NVDA"]
    schedule = body["schedule"]
    assert schedule["kind"] == "cron" and schedule["paused"] is False and schedule["next_run"].endswith("Z")
    assert schedule["next_run_local"].endswith("Europe/Paris")
    assert [w["name"] for w in client.get("/watchlists", headers=JSON).get_json()["watchlists"]] == ["tech"]


@pytest.mark.parametrize("changes, field", [
    ({"name": ""}, "name"), ({"symbols": "AAPL, <b>x</b>"}, "symbols"), ({"source": "bloomberg"}, "source"),
    ({"interval": "9q"}, "interval"), ({"period": "forever"}, "period"), ({"period": "", "start": "2024-13-45"}, "start"),
    ({"schedule": "sometimes"}, "schedule"), ({"schedule": "every", "every_minutes": "99999"}, "every_minutes"),
    ({"schedule": "every", "every_minutes": "5", "market_hours_only": "maybe"}, "market_hours_only"),
    ({"calendar": "NOWHERE"}, "calendar"), ({"offset_minutes": "x"}, "offset_minutes"),
    ({"schedule": "cron", "cron": "* *"}, "cron"), ({"schedule": "cron", "cron": "0 1 * * *", "timezone": "Nowhere/X"}, "timezone"),
    ({"delay": "-4"}, "delay"), ({"name": "x" * 65}, "name"),
])
def test_bad_input_is_422_with_a_message_per_field(client, changes, field):
    response = client.post("/watchlists", data={**FORM, **changes}, headers=JSON)
    assert response.status_code == 422 and field in response.get_json()["errors"]
    page = client.post("/watchlists", data={**FORM, **changes})
    assert page.status_code == 422 and b"Please fix the fields marked below" in page.data
    assert b"<b>x</b>" not in page.data


def test_symbols_from_an_uploaded_csv_and_a_bad_csv_is_a_field_error(client):
    data = {**FORM, "symbols": "", "symbols_file": (io.BytesIO(b"symbol,name\nIBM,x\nORCL,y\n"), "list.csv")}
    body = client.post("/watchlists", data=data, headers=JSON, content_type="multipart/form-data").get_json()
    assert body["symbols"] == ["IBM", "ORCL"]
    bad = {**FORM, "name": "b", "symbols_file": (io.BytesIO(b"ticker\nIBM\n"), "list.csv")}
    response = client.post("/watchlists", data=bad, headers=JSON, content_type="multipart/form-data")
    assert response.status_code == 422 and "no 'symbol' column" in response.get_json()["errors"]["symbols_file"]


def test_run_now_detail_and_the_jobs_of_the_run(client, db):
    create(client, schedule="none")
    run = client.post("/watchlists/1/run", headers=JSON)
    assert run.status_code == 201
    body = run.get_json()
    assert (body["number"], body["total"], body["status"], body["trigger"]) == (1, 3, "RUNNING", "manual")
    jobs = client.get(f"/jobs?tab=all&run={body['id']}", headers=JSON).get_json()["jobs"]
    assert {j["symbol"] for j in jobs} == {"AAPL", "MSFT", "NVDA"} and {j["run_id"] for j in jobs} == {body["id"]}
    end_job(db, jobs[0]["id"], JobStatus.FAILED, "boom")
    detail = client.get("/watchlists/1", headers=JSON).get_json()
    assert [r["number"] for r in detail["runs"]] == [1] and detail["runs"][0]["failed"] == 1
    assert {s["symbol"] for s in detail["series"]} == {"AAPL", "MSFT", "NVDA"}
    page = client.get("/watchlists/1")
    assert b"run #1 of tech: 0 of 3 completed, 1 failed, 2 to go" in page.data and b"Retry 1 failed" in page.data
    banner = client.get("/banner").data
    assert banner.count(b'class="banner-job banner-run') == 1 and b'data-job=' not in banner


def test_edit_pause_resume_delete(client):
    create(client)
    edited = client.post("/watchlists/1", data={**FORM, "symbols": "IBM", "schedule": "every", "every_minutes": "15"},
                         headers=JSON)
    assert edited.status_code == 200 and edited.get_json()["symbols"] == ["IBM"]
    assert client.post("/watchlists/1", data={**FORM, "every_minutes": "0", "schedule": "every"},
                       headers=JSON).status_code == 422
    assert client.post("/watchlists/1/pause", headers=JSON).get_json()["schedule"]["next_run"] is None
    assert client.post("/watchlists/1/resume", headers=JSON).get_json()["schedule"]["paused"] is False
    assert client.get("/watchlists/1/edit").status_code == 200
    client.post("/watchlists/1/run", headers=JSON)
    gone = client.post("/watchlists/1/delete", headers=JSON).get_json()
    assert gone == {"deleted": True, "id": 1, "jobs_cancelled": 1, "jobs_stopping": 0}
    assert client.get("/watchlists/1", headers=JSON).status_code == 404


@pytest.mark.parametrize("method, url, status", [
    ("get", "/watchlists/99", 404), ("post", "/watchlists/99/run", 404), ("post", "/watchlists/99/pause", 404),
    ("post", "/watchlists/99/delete", 404), ("post", "/watchlists/99", 404), ("get", "/watchlists/99/edit", 404),
    ("get", "/watchlists/1/run", 405), ("get", "/jobs?run=abc", 422), ("post", "/jobs/retry?x=1", 303),
])
def test_bad_urls_are_4xx_never_500(client, method, url, status):
    assert getattr(client, method)(url).status_code == status


@pytest.mark.parametrize("data", [{"run": "abc"}, {"run": "-3"}, {"source": "bloomberg"}, {"symbol": "X" * 40}])
def test_bulk_actions_refuse_bad_filters(client, data):
    for url in ("/jobs/retry", "/jobs/cancel"):
        response = client.post(url, data=data, headers=JSON)
        assert response.status_code == 422 and "message" in response.get_json()


def test_bulk_retry_and_cancel_over_curl_and_on_the_jobs_page(client, db):
    for symbol in ("AAPL", "MSFT", "IBM"):
        client.post("/jobs", data={"symbol": symbol, "source": "sim", "interval": "1d", "period": "1y"}, headers=JSON)
    end_job(db, 1, JobStatus.FAILED, "x")
    end_job(db, 2, JobStatus.FAILED, "y")
    page = client.get("/jobs?tab=all").data
    assert b"Retry 2 failed" in page and b"Submit again the 2 failed jobs" in page and b"Cancel 1 unfinished" in page
    assert b"Retry 1 failed" in client.get("/jobs?tab=all&symbol=AAPL").data
    retried = client.post("/jobs/retry", data={"symbol": "AAPL"}, headers=JSON).get_json()
    assert retried["retried"] == 1 and retried["jobs"][0]["symbol"] == "AAPL"
    assert client.post("/jobs/cancel", data={}, headers=JSON).get_json() == {"cancelled": 2, "stopping": 0}
    browser = client.post("/jobs/cancel", data={"next": "https://evil.example/"})
    assert browser.status_code == 303 and browser.headers["Location"].startswith("/jobs")


def test_a_long_watchlist_shows_its_symbols_a_page_at_a_time(client):
    symbols = " ".join(f"S{i:03d}" for i in range(150))
    create(client, symbols=symbols)
    first = client.get("/watchlists/1", headers=JSON).get_json()
    second = client.get("/watchlists/1?page=2", headers=JSON).get_json()
    assert (len(first["series"]), len(second["series"]), first["series_pages"]) == (100, 50, 2)
    assert second["series"][0]["symbol"] == "S100"
    assert b"Symbols 101\xe2\x80\x93150 of 150" in client.get("/watchlists/1?page=2").data
    assert client.get("/watchlists/1?page=zero").status_code == 422


def test_a_hostile_name_is_escaped_in_html_and_in_the_confirm_question(client):
    create(client, name="x'); alert(1); ('<b>")
    page = client.get("/watchlists/1").data.decode()
    assert "<b>" not in page and "alert(1); ('" not in page
    # The question is an attribute the page's script reads (app.js), not code: escaped as HTML.
    assert 'data-confirm="Delete watchlist x&#39;); alert(1); (&#39;&lt;b&gt;? 0 unfinished jobs' in page


def test_every_calendar_the_form_suggests_is_one_mdc_accepts():
    from collector.calendar import resolve_calendar
    from webapp.watchlist_forms import SUGGESTED_CALENDARS
    assert [name for name in SUGGESTED_CALENDARS if resolve_calendar(name) is None] == []


def test_the_jobs_of_a_run_are_labelled_as_the_banner_names_the_run(client):
    """The banner says 'run #1 of b&b' but /jobs?run=<id> said 'jobs of run 2 only': the run's
    database id, not its number in its watchlist, and no watchlist."""
    create(client, name="first")
    create(client, name="b&b <x>", symbols="M&M BRK/B")
    client.post("/watchlists/1/run", headers=JSON)
    run = client.post("/watchlists/2/run", headers=JSON).get_json()
    assert (run["id"], run["number"], run["jobs_url"]) == (2, 1, "/jobs?tab=all&run=2")
    page = client.get(run["jobs_url"]).get_data(as_text=True)
    assert 'jobs of run #1 of <a href="/watchlists/2">b&amp;b &lt;x&gt;</a> only' in page
    assert "jobs of run 2 only" not in page
    french = client.get(run["jobs_url"] + "&lang=fr").get_data(as_text=True)
    assert 'uniquement les jobs de l\'exécution n°1 de <a href="/watchlists/2">b&amp;b &lt;x&gt;</a>' in french
    assert "jobs of run 99 only" in client.get("/jobs?tab=all&run=99&lang=en").get_data(as_text=True)  # no such run


@pytest.mark.parametrize("start, shown, kind", [("2024-03-05", "2024-03-05", "date"),
                                                ("2024-03-05 09:30 America/New_York", "2024-03-05T14:30:00Z", "text")])
def test_the_edit_form_keeps_the_start_as_stored(client, start, shown, kind):
    """A start with a time (from curl or the CLI) is shown in full, as text: a date picker would
    blank it, and saving the form unchanged must not move it to midnight."""
    wid = create(client, period="custom", start=start)["id"]
    form = client.get(f"/watchlists/{wid}/edit").get_data(as_text=True)
    assert re.search(rf'<input name="start" type="{kind}" value="{re.escape(shown)}"', form), form
    before = client.get(f"/watchlists/{wid}", headers=JSON).get_json()["start"]
    saved = client.post(f"/watchlists/{wid}", data={**FORM, "period": "custom", "start": shown}, headers=JSON)
    assert saved.status_code == 200 and saved.get_json()["start"] == before


def test_a_watchlist_whose_first_run_asks_for_too_many_bars_is_refused_like_a_submit(client):
    """2,000 symbols of 1-second bars over a month is 5 billion bars: a run may ask for no more
    than one submit (MDC_MAX_BARS_PER_SUBMIT), on creation and on edit."""
    many = " ".join(f"W{i}" for i in range(2000))
    refused = client.post("/watchlists", data={**FORM, "symbols": many, "interval": "1s"}, headers=JSON)
    assert refused.status_code == 422
    assert "a run may ask for at most 20,000,000 (MDC_MAX_BARS_PER_SUBMIT)" in refused.get_json()["errors"]["period"]
    wid = create(client, symbols=many)["id"]  # daily bars: about 21 a symbol, fine
    edit = client.post(f"/watchlists/{wid}", data={**FORM, "symbols": many, "interval": "1m"}, headers=JSON)
    assert edit.status_code == 422 and "period" in edit.get_json()["errors"]
