"""Pages, htmx partials and their live behaviour, through the Flask test client."""

import re

import pytest

from collector.jobs import lifecycle
from collector.store.models import JobStatus
from tests.helpers import JSON, end_claimed, end_job

pytestmark = pytest.mark.both_databases  # each test runs on SQLite and on PostgreSQL

HX = {"HX-Request": "true"}
FORM = {"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "1y"}


def submit(client, **changes):
    return client.post("/jobs", data={**FORM, **changes}, headers=JSON).get_json()


@pytest.mark.parametrize("url", ["/collect", "/jobs", "/jobs?tab=completed", "/jobs?tab=failed",
                                 "/jobs?tab=cancelled", "/jobs?tab=all"])
def test_pages_render_with_banner_and_navigation(client, url):
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="banner"' in html and "htmx-2.0.11.min.js" in html
    assert "unpkg" not in html and "cdn" not in html.lower()


def test_home_goes_to_the_collect_form(client):
    assert client.get("/").headers["Location"] == "/collect"


def test_banner_idle_waits_for_events_and_stops_polling(client):
    html = client.get("/banner", headers=HX).get_data(as_text=True)
    trigger = re.search(r'hx-trigger="([^"]*)"', html).group(1)
    assert "load delay" not in trigger and "jobs-changed" in trigger
    assert "idle" in html


def test_banner_polls_while_jobs_are_active_and_shows_progress(client, db):
    job = submit(client)
    lifecycle.claim(db, job["id"], "c1")
    lifecycle.set_total(db, job["id"], "c1", 8)
    html = client.get("/banner", headers=HX).get_data(as_text=True)
    assert "load delay:1s" in html
    assert "AAPL" in html and "Running" in html and "0 / 8 chunks · 0%" in html and f"/jobs/{job['id']}" in html


def test_banner_shows_three_and_counts_the_rest(client):
    for symbol in "ABCDE":
        submit(client, symbol=symbol)
    html = client.get("/banner").get_data(as_text=True)
    assert html.count('class="banner-job ') == 3 and "+2 more" in html


def test_banner_says_when_no_collector_is_alive(client):
    submit(client)
    html = client.get("/banner").get_data(as_text=True)
    assert "No collector is running" in html and "python -m collector run" in html


def test_banner_says_when_redis_is_unreachable(make_app):
    app = make_app(redis_url="redis://127.0.0.1:1/0")
    client = app.test_client()
    html = client.get("/banner").get_data(as_text=True)
    assert "Redis cannot be reached" in html
    assert client.get("/jobs").status_code == 200  # pages still work from the database


def test_htmx_submit_returns_the_form_with_a_message_and_triggers_the_banner(client):
    response = client.post("/jobs", data=FORM, headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "jobs-changed"
    html = response.get_data(as_text=True)
    assert "Job #1</strong>" in html and "1 waiting — follow it in the banner" in html and 'href="/jobs/1"' in html
    assert "<html" not in html


def test_htmx_submit_with_errors_is_a_422_fragment_keeping_input(client):
    response = client.post("/jobs", data={**FORM, "symbol": "A$", "interval": "5s", "source": "yahoo"}, headers=HX)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'value="A$"' in html
    assert 'id="symbol-error"' in html and 'id="interval-error"' in html


def test_source_fields_follow_the_source_and_explain_limits(client):
    yahoo = client.get("/collect/fields?source=yahoo&interval=5s&period=1mo").get_data(as_text=True)
    assert 'name="adjusted"' in yahoo and '<option value="5s"' not in yahoo and '<option value="1m"' in yahoo
    ibkr = client.get("/collect/fields?source=ibkr&interval=1d&period=1y").get_data(as_text=True)
    assert 'name="what_to_show"' in ibkr and 'name="rth"' in ibkr
    too_far = client.get("/collect/fields?source=yahoo&interval=1m&period=1y")
    assert too_far.status_code == 422  # the form as filled in would be refused; htmx swaps it all the same
    assert "30 days" in too_far.get_data(as_text=True) and "hint problem" in too_far.get_data(as_text=True)
    assert client.get("/collect/fields?source=sim&interval=1d&period=1y").status_code == 200


def test_jobs_list_branches_on_hx_request_and_varies(client):
    submit(client)
    full = client.get("/jobs")
    part = client.get("/jobs", headers=HX)
    assert "HX-Request" in full.headers["Vary"] and "HX-Request" in part.headers["Vary"]
    assert "<html" in full.get_data(as_text=True) and "<html" not in part.get_data(as_text=True)
    assert 'id="job-list"' in part.get_data(as_text=True)
    assert "load delay:2s" in part.get_data(as_text=True)  # live while the tab shows active jobs


def test_tabs_show_counts_and_tab_specific_columns(client, db):
    submit(client)
    done = submit(client, symbol="MSFT")
    end_job(db, done["id"], JobStatus.COMPLETED)
    html = client.get("/jobs?tab=completed").get_data(as_text=True)
    assert re.search(r"Running <span class=\"count\">1</span>", html)
    assert re.search(r"Completed <span class=\"count\">1</span>", html)
    assert "New / updated / unchanged" in html and "Duration" in html and "MSFT" in html
    running = client.get("/jobs?tab=running").get_data(as_text=True)
    assert "Collector" in running and "Cancel" in running


def test_failed_tab_shows_escaped_error_and_retry(client, db):
    job = submit(client)
    end_job(db, job["id"], JobStatus.FAILED, '<img src=x onerror="alert(1)">')
    html = client.get("/jobs?tab=failed").get_data(as_text=True)
    assert "&lt;img src=x onerror=" in html and "<img src=x" not in html
    assert f'/jobs/{job["id"]}/retry' in html
    detail = client.get(f"/jobs/{job['id']}").get_data(as_text=True)
    assert "&lt;img src=x" in detail and "<img src=x" not in detail


def test_pagination_and_filters(client):
    for i in range(30):
        submit(client, symbol=f"S{i}")
    page2 = client.get("/jobs?tab=all&page=2").get_data(as_text=True)
    assert "Page 2 of 2" in page2 and "30 jobs" in page2
    filtered = client.get("/jobs?tab=all&symbol=s7", headers=JSON).get_json()
    assert filtered["total"] == 1 and filtered["jobs"][0]["symbol"] == "S7"
    assert "matching the filter" in client.get("/jobs?tab=all&symbol=NONE").get_data(as_text=True)


def test_job_live_returns_only_new_events_and_stops_when_done(client, db, queue):
    job = submit(client)
    lifecycle.claim(db, job["id"], "c1")
    first = queue.add_event(job["id"], state="RUNNING", message="first")
    html = client.get(f"/jobs/{job['id']}/live?after={first}").get_data(as_text=True)
    assert "first" not in html and "load delay:1s" in html
    queue.add_event(job["id"], state="RUNNING", message="second <b>bold</b>")
    html = client.get(f"/jobs/{job['id']}/live?after={first}").get_data(as_text=True)
    assert 'hx-swap-oob="beforeend:#events"' in html and "second &lt;b&gt;bold&lt;/b&gt;" in html
    end_claimed(db, job["id"], JobStatus.COMPLETED)
    done = client.get(f"/jobs/{job['id']}/live").get_data(as_text=True)
    assert "hx-trigger" not in done.split("</section>")[0]
    assert client.get(f"/jobs/{job['id']}/live?after=bogus").status_code == 422
    assert client.get("/jobs/999/live").status_code == 404


def test_flash_after_cancel_and_cleanup(client):
    job = submit(client)
    page = client.post(f"/jobs/{job['id']}/cancel", follow_redirects=True).get_data(as_text=True)
    assert f"Job #{job['id']} cancelled." in page
    page = client.post("/jobs/cleanup", follow_redirects=True).get_data(as_text=True)
    assert "Removed 0 finished jobs older than 7 days" in page


def test_a_job_range_with_times_names_its_zone_once(client):
    submit(client, period="", start="2024-03-01T09:30", end="2024-03-05T16:00")
    html = client.get("/jobs?tab=all").get_data(as_text=True)
    assert "UTC UTC" not in html and "UTC" in html.split('data-label="Bars"')[1].split("</td>")[0]
