"""Nothing deleted under a running job, no history wiped by one call, and volume caps
(issue 13). Each test runs on SQLite and on PostgreSQL."""

import subprocess
import sys
from dataclasses import replace

import pytest

from collector import ValidationError, connect
from collector.store.models import JobStatus
from tests.e2e import wait_alive
from tests.helpers import (
    JSON,
    THREE_MONTHS,
    end_job,
    finished,
    make_aged_job,
    running_on,
    settings_env,
    sim_frame,
    store_bars,
)

pytestmark = pytest.mark.both_databases

FORM = {"symbol": "AAPL", "source": "sim", "interval": "1h", "period": "1mo"}


# --- deleting a series a job writes ------------------------------------------------------------

def test_delete_is_refused_with_409_and_the_job_while_a_job_targets_the_series(client, db, manager, french_catalog):
    store_bars(db, sim_frame())
    job = client.post("/jobs", data=FORM, headers=JSON).get_json()
    refused = client.post("/data/sim/AAPL/1h/delete", headers=JSON)
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["jobs"] == [{"id": job["id"], "url": f"/jobs/{job['id']}", "status": "PENDING"}]
    assert f"Job #{job['id']} is writing this series" in body["message"]
    french = client.post("/data/sim/AAPL/1h/delete", headers={**JSON, "Accept-Language": "fr"}).get_json()
    assert f"Le job n°{job['id']} écrit dans cette série" in french["message"]
    page = client.post("/data/sim/AAPL/1h/delete")
    assert page.status_code == 409 and f'href="/jobs/{job["id"]}"' in page.get_data(as_text=True)
    assert client.get("/data/sim/AAPL/1h", headers=JSON).get_json()["bars"] == 264  # nothing went
    end_job(db, job["id"], JobStatus.COMPLETED)
    assert client.post("/data/sim/AAPL/1h/delete", headers=JSON).get_json() == {"deleted": True, "bars": 264}


def test_the_delete_button_says_why_it_is_disabled(client, db):
    store_bars(db, sim_frame())
    store_bars(db, sim_frame(kind="bid"), kind="bid")
    job = client.post("/jobs", data=FORM, headers=JSON).get_json()
    html = client.get("/data/sim/AAPL/1h").get_data(as_text=True)
    assert 'disabled aria-describedby="delete-busy"' in html and "Cannot be deleted while this job writes it" in html
    assert f'href="/jobs/{job["id"]}">Job #{job["id"]}</a> (pending)' in html
    confirm = client.get("/data/sim/AAPL/1h/delete").get_data(as_text=True)
    assert "Cannot be deleted" in confirm and "disabled" in confirm
    other_kind = client.get("/data/sim/AAPL/1h?kind=bid").get_data(as_text=True)  # no job writes the bids
    assert "Cannot be deleted" not in other_kind and "/data/sim/AAPL/1h/delete?kind=bid" in other_kind


def test_a_series_a_collector_is_writing_keeps_every_bar_its_job_counted(client, manager, collectors, db, settings):
    collectors.start("c1")
    wait_alive(settings, {"c1"})  # a collector takes seconds to start on a busy machine
    job = client.post("/jobs", data={**THREE_MONTHS, "delay": "0.3"}, headers=JSON).get_json()
    running_on(manager, job["id"], "c1", done=1)
    assert client.post("/data/sim/AAPL/1m/delete", headers=JSON).status_code == 409
    done = finished(manager, job["id"], timeout=60)
    assert done.status == JobStatus.COMPLETED
    assert client.get("/data/sim/AAPL/1m", headers=JSON).get_json()["bars"] == done.rows_new


# --- cleanup of the whole history -------------------------------------------------------------

def test_cleanup_of_every_finished_job_needs_confirmation(client, manager, db):
    old = make_aged_job(manager, db, "A", JobStatus.COMPLETED, 0)
    refused = client.post("/jobs/cleanup", data={"days": "0"}, headers=JSON)
    assert refused.status_code == 422 and "confirm" in refused.get_json()["errors"]["days"]
    asked = client.post("/jobs/cleanup", data={"days": "0"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 422 and "Remove every finished job?" in html
    assert 'name="confirm" value="yes"' in html and "1 completed" in html
    assert manager.get(old) is not None
    done = client.post("/jobs/cleanup", data={"days": "0", "confirm": "yes"}, headers=JSON)
    assert done.status_code == 200 and done.get_json()["jobs_removed"] == 1


@pytest.mark.parametrize("days", ["-1", "3651", "1e3", " ", "seven"])
def test_cleanup_days_outside_1_to_3650_are_422(client, days):
    response = client.post("/jobs/cleanup", data={"days": days}, headers=JSON)
    assert response.status_code == (200 if days == " " else 422)


def test_cleanup_on_the_command_line_needs_yes_for_0_days(settings, db):
    run = lambda *a: subprocess.run([sys.executable, "-m", "collector", "cleanup", *a],  # noqa: E731
                                    env=settings_env(settings), capture_output=True, text=True, timeout=60)
    refused = run("--days", "0")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert run("--days", "0", "--yes").returncode == 0


# --- volume caps ------------------------------------------------------------------------------

def test_bars_per_submit_are_capped(client):
    symbols = ",".join(f"S{i}" for i in range(50))
    response = client.post("/jobs", data={"symbol": symbols, "source": "sim", "interval": "1s", "period": "1mo"},
                           headers=JSON)
    assert response.status_code == 422
    message = response.get_json()["errors"]["bars"]
    assert "about 129,600,000 bars (50 symbols together" in message and "at most 20,000,000" in message
    assert client.post("/jobs", data={**FORM, "interval": "1s", "period": "1mo"}, headers=JSON).status_code == 201


def test_active_jobs_are_capped(make_app):
    client = make_app(max_active_jobs=3).test_client()
    assert client.post("/jobs", data={**FORM, "symbol": "A,B"}, headers=JSON).status_code == 201
    refused = client.post("/jobs", data={**FORM, "symbol": "C,D"}, headers=JSON)
    assert refused.status_code == 422
    assert "2 jobs are pending or running and at most 3 may be at once" in refused.get_json()["errors"]["jobs"]
    assert client.post("/jobs", data={**FORM, "symbol": "C"}, headers=JSON).status_code == 201
    assert client.post("/jobs/1/retry", headers=JSON).status_code == 422


def test_sim_delay_is_capped_by_a_setting(make_app):
    client = make_app(sim_max_delay_seconds=2.0).test_client()
    for delay in ("2.5", "nan", "inf"):
        response = client.post("/jobs", data={**FORM, "delay": delay}, headers=JSON)
        assert response.status_code == 422 and "from 0 to 2," in response.get_json()["errors"]["delay"]
    assert client.post("/jobs", data={**FORM, "delay": "2"}, headers=JSON).status_code == 201


def test_the_sim_failure_hook_is_off_unless_a_setting_enables_it(make_app):
    off = make_app(sim_failure_option=False).test_client()
    response = off.post("/jobs", data={**FORM, "fail": "permanent:0"}, headers=JSON)
    assert response.status_code == 201 and response.get_json()["options"] == {}  # a form field no source takes
    api = off.post("/jobs", data={**FORM, "symbol": "B"}, headers=JSON)
    assert api.status_code == 201
    on = make_app(sim_failure_option=True).test_client()
    assert on.post("/jobs", data={**FORM, "symbol": "C", "fail": "permanent:0"}, headers=JSON).get_json()["options"] == {
        "fail": "permanent:0"}


def test_the_sim_failure_hook_is_refused_through_the_job_manager_when_off(settings, db):
    services = connect(replace(settings, sim_failure_option=False), db=db)
    with pytest.raises(ValidationError, match="no option 'fail'"):
        services.jobs.submit({**FORM, "options": {"fail": "permanent:0"}})
    services.redis.close()
