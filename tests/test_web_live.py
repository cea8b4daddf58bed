"""Pages that follow a job's state (issue 14): one live line for submitted jobs, a job page
whose buttons follow its state, failures that stay until dismissed, links from jobs to their
data and between a job and its retry, dates that are never ignored, a jobs list that sorts
and filters as a trader expects. Through the Flask test client."""

import re
import time
from datetime import timedelta

import pytest

from collector.jobs import lifecycle
from collector.store.models import JobStatus
from collector.timespec import utcnow
from tests.helpers import HX, JSON, end_claimed, end_job, sim_frame, store_bars

pytestmark = pytest.mark.both_databases

FORM = {"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "1y"}


def submit(client, **changes):
    return client.post("/jobs", data={**FORM, **changes}, headers=JSON).get_json()


def complete(db, job_id, rows=0):
    lifecycle.claim(db, job_id, "c1")
    with db.write() as session:
        from collector.store.models import Job
        session.get(Job, job_id).rows_new = rows
    return end_claimed(db, job_id, JobStatus.COMPLETED)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_several_submitted_jobs_give_one_live_line(client, db):
    html = client.post("/jobs", data={**FORM, "symbol": "A, B, C, D"}, headers=HX).get_data(as_text=True)
    assert html.count('id="submitted"') == 1 and "Jobs #1–#4" in html and "4 waiting" in text(html)
    assert 'hx-get="/jobs/summary?ids=1,2,3,4"' in html and "autofocus" in html
    for job_id in (1, 2, 3):
        complete(db, job_id, rows=5)
    lifecycle.claim(db, 4, "c1")
    line = client.get("/jobs/summary?ids=1,2,3,4", headers={**HX, "HX-Target": "submitted"}).get_data(as_text=True)
    assert "3 done, 1 running" in text(line) and "View data" in line and "autofocus" not in line
    end_claimed(db, 4, JobStatus.COMPLETED)
    done = client.get("/jobs/summary?ids=1,2,3,4").get_data(as_text=True)
    assert "4 done" in text(done) and "hx-trigger" not in done  # stops asking once all ended
    assert client.get("/jobs/summary?ids=1,x").status_code == 422


def test_typed_dates_count_on_the_form_and_both_is_a_422_elsewhere(client):
    form = {**FORM, "period": "5d", "start": "2020-01-01", "end": "2020-02-01"}
    job = client.post("/jobs", data={**form, "dates": "win"}, headers=JSON).get_json()
    assert job["start"] == "2020-01-01T00:00:00Z" and job["end"] == "2020-02-02T00:00:00Z" and job["period"] is None
    errors = client.post("/jobs", data=form, headers=JSON).get_json()["errors"]
    assert "Dates count with period custom" in errors["period"] and "leave start out" in errors["period"]
    page = client.post("/jobs", data=form, headers=HX)
    assert page.status_code == 422
    assert re.search(r'<option value="custom" selected', page.get_data(as_text=True))  # ready to send again


def test_hint_redraws_alone_and_source_fields_keep_what_was_typed(client):
    hint = client.get("/collect/hint?source=yahoo&interval=1m&period=1y").get_data(as_text=True)
    assert hint.strip().startswith('<p id="interval-hint"') and "30 days" in hint and "<select" not in hint
    fields = client.get("/collect/fields?source=sim&interval=5m&delay=2.5").get_data(as_text=True)
    assert 'value="2.5"' in fields and '<option value="5m" selected' in fields


def test_job_page_buttons_follow_its_state(client, db):
    job = submit(client)
    lifecycle.claim(db, job["id"], "c1")
    client.post(f"/jobs/{job['id']}/cancel")
    live = client.get(f"/jobs/{job['id']}/live").get_data(as_text=True)
    assert "cancelling" in live and 'id="job-actions"' in live and ">Cancel<" not in live
    end_claimed(db, job["id"], JobStatus.CANCELLED, lifecycle.CANCELLED_ON_REQUEST)
    live = client.get(f"/jobs/{job['id']}/live").get_data(as_text=True)
    actions = live.split('id="job-actions"')[1]
    assert 'hx-swap-oob="true"' in live and ">Retry<" in actions and "Cancel<" not in actions


def test_a_failure_stays_on_the_banner_and_counts_in_the_navigation_until_dismissed(client, db):
    job = submit(client)
    end_job(db, job["id"], JobStatus.FAILED, "Simulated permanent failure at chunk 1.")
    with db.write() as session:  # long past the 15 s a finished job stays on the banner
        from sqlalchemy import update

        from collector.store.models import Job
        session.execute(update(Job).values(finished_at=utcnow() - timedelta(hours=1)))
    banner = client.get("/banner").get_data(as_text=True)
    assert f'data-job="{job["id"]}"' in banner and "Dismiss" in banner and "1 failed" in text(banner)
    page = client.get("/collect").get_data(as_text=True)
    assert re.search(r'id="nav-failed"[^>]*href="/jobs\?tab=failed"\s*><span aria-hidden="true">1</span><span class="visually-hidden">1 failed job<', page)
    assert client.post(f"/jobs/{job['id']}/dismiss", headers=HX).headers["HX-Trigger"] == "jobs-changed"
    assert f'data-job="{job["id"]}"' not in client.get("/banner").get_data(as_text=True)
    assert re.search(r'id="nav-failed"[^>]*hidden', client.get("/collect").get_data(as_text=True))
    assert client.post("/jobs/999/dismiss").status_code == 404
    monitor = client.get("/monitor").get_data(as_text=True)
    assert re.search(r'<a class="stat" href="/jobs\?tab=failed"><span class="n">1</span>', monitor)


def test_banner_announces_state_changes_only(client, db):
    job = submit(client)
    quiet = client.get(f"/banner?seen={job['id']}P").get_data(as_text=True)
    assert 'id="announcer"' not in quiet
    lifecycle.claim(db, job["id"], "c1")
    said = client.get(f"/banner?seen={job['id']}P").get_data(as_text=True)
    assert re.search(rf'id="announcer" hx-swap-oob="innerHTML">Job #{job["id"]} AAPL started\.', said)
    assert 'aria-live' not in said.split('id="announcer"')[0]  # the banner itself is not a live region


def test_a_job_waiting_to_retry_says_so_on_the_banner_and_its_row(client, db, queue):
    job = submit(client)
    lifecycle.claim(db, job["id"], "c1")
    retry_at = time.time() + 6.4
    queue.add_event(job["id"], state="RUNNING", message="Yahoo is limiting requests. Retrying 3/5 in 6 s.",
                    retry="3/5", retry_at=f"{retry_at:.3f}")
    for url in ("/banner", "/jobs?tab=running"):
        # The count is rounded at render time, so a slow machine may show 5: accept what the clock allowed.
        before = time.time()
        html = client.get(url).get_data(as_text=True)
        after = time.time()
        seconds = "|".join(str(n) for n in range(round(retry_at - after), round(retry_at - before) + 1))
        assert re.search(rf'class="warn-text retry-note"[^>]*>retrying 3/5 in ({seconds}) sec?<', html), url


def test_completed_jobs_link_to_their_data_and_a_retry_links_both_ways(client, db):
    store_bars(db, sim_frame("AAPL", "1d", "2024-01-01", "2024-02-01"), interval="1d")
    job = submit(client)
    complete(db, job["id"], rows=22)
    series = "/data/sim/AAPL/1d?kind=trades"
    for url in (f"/jobs/{job['id']}", "/jobs?tab=completed", "/banner"):
        assert f'href="{series}"' in client.get(url).get_data(as_text=True).replace("&amp;", "&"), url
    failed = submit(client, symbol="MSFT")
    end_job(db, failed["id"], JobStatus.FAILED, "boom")
    again = client.post(f"/jobs/{failed['id']}/retry", headers=JSON).get_json()
    assert client.get(f"/jobs/{again['id']}", headers=JSON).get_json()["retry_of"] == failed["id"]
    assert client.get(f"/jobs/{failed['id']}", headers=JSON).get_json()["retries"] == [again["id"]]
    assert f'href="/jobs/{failed["id"]}"' in client.get(f"/jobs/{again['id']}").get_data(as_text=True)
    assert f'href="/jobs/{again["id"]}"' in client.get(f"/jobs/{failed['id']}").get_data(as_text=True)


def test_options_read_as_a_person_would_and_the_banner_numbers_jobs(client):
    job = client.post("/jobs", data={**FORM, "source": "yahoo", "adjusted": "false"}, headers=JSON).get_json()
    page = text(client.get(f"/jobs/{job['id']}").get_data(as_text=True))
    assert "as traded (not adjusted)" in page and "adjusted=False" not in page
    assert f"#{job['id']} AAPL" in text(client.get("/banner").get_data(as_text=True))


def test_progress_bars_say_where_a_job_stands(client, db):
    job = submit(client)
    lifecycle.claim(db, job["id"], "c1")
    lifecycle.set_total(db, job["id"], "c1", 27)
    html = client.get("/banner").get_data(as_text=True)
    assert f'aria-label="Job #{job["id"]} AAPL progress"' in html and 'aria-valuetext="0 of 27 chunks"' in html


def test_update_to_now_on_a_current_series_queues_nothing(client, db):
    from datetime import datetime, timedelta, timezone

    import pandas as pd

    from collector.sources.sim import simulate
    today = pd.Timestamp(datetime.now(timezone.utc).date(), tz="UTC")
    store_bars(db, simulate("AAPL", "1d", "trades", today - timedelta(days=20), today + timedelta(days=1)), interval="1d")
    answer = client.post("/data/sim/AAPL/1d/update", headers=JSON)
    assert answer.status_code == 200 and answer.get_json()["current"] is True
    assert "already current" in answer.get_json()["message"]
    assert client.get("/jobs?tab=all", headers=JSON).get_json()["total"] == 0
    page = client.post("/data/sim/AAPL/1d/update", follow_redirects=True).get_data(as_text=True)
    assert "already current" in page


def test_jobs_list_prefix_search_counts_that_follow_filters_sorting_and_running_first(client, db):
    ids = {s: submit(client, symbol=s)["id"] for s in ("AAPL", "AAL", "MSFT", "ZZ")}
    lifecycle.claim(db, ids["AAL"], "c1")  # running, yet older than the pending AAPL
    end_job(db, ids["MSFT"], JobStatus.FAILED, "x")
    found = client.get("/jobs?tab=all&symbol=aa", headers=JSON).get_json()
    assert sorted(j["symbol"] for j in found["jobs"]) == ["AAL", "AAPL"]
    html = client.get("/jobs?tab=running&symbol=AA").get_data(as_text=True)
    assert re.search(r'Running <span class="count">2</span>', html) and re.search(r'Failed <span class="count">0</span>', html)
    running = client.get("/jobs?tab=running", headers=JSON).get_json()["jobs"]
    assert [j["symbol"] for j in running] == ["AAL", "ZZ", "AAPL"]  # running first, then newest pending
    by_symbol = client.get("/jobs?tab=all&sort=symbol&dir=asc", headers=JSON).get_json()["jobs"]
    assert [j["symbol"] for j in by_symbol] == ["AAL", "AAPL", "MSFT", "ZZ"]
    assert client.get("/jobs?sort=bogus").status_code == 422
    assert 'aria-sort="ascending"' in client.get("/jobs?tab=all&sort=symbol&dir=asc").get_data(as_text=True)


def test_pages_have_a_skip_link_and_label_times_with_their_zone(client, db):
    job = submit(client)
    html = client.get(f"/jobs/{job['id']}").get_data(as_text=True)
    assert '<a class="skip-link" href="#main">' in html and '<main id="main"' in html
    assert re.search(r'<time datetime="[^"]+Z" title="\d{4}-\d\d-\d\d \d\d:\d\d UTC" data-local-title>', html)
