"""The HTTP contract of DESIGN "Contracts", as curl and scripts use it."""

import pytest

from collector.store.models import JobStatus
from tests.helpers import JSON, end_job, sim_frame, store_bars

pytestmark = pytest.mark.both_databases  # each test runs on SQLite and on PostgreSQL

FORM = {"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "1y"}


def test_submit_json_201_with_id_and_url(client):
    response = client.post("/jobs", data=FORM, headers=JSON)
    assert response.status_code == 201
    body = response.get_json()
    assert body["id"] == 1 and body["url"] == "/jobs/1" and body["status"] == "PENDING"
    for key in ("symbol", "source", "interval", "kind", "start", "end", "progress", "rows_new", "rows_updated",
                "rows_unchanged", "error", "created_at", "started_at", "finished_at", "duration_s"):
        assert key in body


def test_submit_several_symbols_gives_a_list(client):
    response = client.post("/jobs", data={**FORM, "symbol": "AAPL, MSFT"}, headers=JSON)
    assert response.status_code == 201
    assert [j["symbol"] for j in response.get_json()] == ["AAPL", "MSFT"]


def test_a_job_already_pending_is_returned_with_200_not_created_again(client):
    first = client.post("/jobs", data=FORM, headers=JSON)
    again = client.post("/jobs", data=FORM, headers=JSON)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"] and again.get_json()["created"] is False
    mixed = client.post("/jobs", data={**FORM, "symbol": "AAPL, MSFT"}, headers=JSON)  # one of them is new
    assert mixed.status_code == 201 and [j["created"] for j in mixed.get_json()] == [False, True]


def test_browser_submit_redirects_303_with_a_message(client):
    response = client.post("/jobs", data=FORM)
    assert response.status_code == 303 and response.headers["Location"] == "/jobs/1"
    page = client.get("/jobs/1")
    assert b"Job #1 (AAPL) queued" in page.data


@pytest.mark.parametrize("changes, field", [
    ({"symbol": ""}, "symbol"), ({"source": "nope"}, "source"), ({"interval": "9q"}, "interval"),
    ({"period": "forever"}, "period"), ({"period": "", "start": "2024-13-45"}, "start"),
])
def test_bad_input_is_422_with_field_errors(client, changes, field):
    response = client.post("/jobs", data={**FORM, **changes}, headers=JSON)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_bad_input_in_a_browser_keeps_what_was_typed(client):
    response = client.post("/jobs", data={**FORM, "symbol": "<b>x</b>"})
    assert response.status_code == 422
    assert b"&lt;b&gt;x&lt;/b&gt;" in response.data and b"<b>x</b>" not in response.data


def test_list_and_detail_json(client, manager):
    client.post("/jobs", data=FORM, headers=JSON)
    listing = client.get("/jobs?tab=running", headers=JSON).get_json()
    assert listing["total"] == 1 and listing["jobs"][0]["symbol"] == "AAPL"
    assert client.get("/jobs?tab=completed", headers=JSON).get_json()["total"] == 0
    detail = client.get("/jobs/1", headers=JSON).get_json()
    assert detail["id"] == 1 and detail["events"] == []


@pytest.mark.parametrize("url, status", [
    ("/jobs/999", 404), ("/jobs?tab=bogus", 422), ("/jobs?page=0", 422), ("/jobs?page=abc", 422),
    ("/jobs?source=bloomberg", 422), ("/nowhere", 404),
])
def test_bad_urls_are_4xx_never_500(client, url, status):
    assert client.get(url, headers=JSON).status_code == status
    assert client.get(url).status_code == status


def test_wrong_method_is_405(client):
    assert client.get("/jobs/1/cancel").status_code == 405
    assert client.delete("/jobs").status_code == 405


def test_cancel_pending_and_unknown(client):
    client.post("/jobs", data=FORM, headers=JSON)
    response = client.post("/jobs/1/cancel", headers=JSON)
    assert response.status_code == 200 and response.get_json()["status"] == "CANCELLED"
    assert client.post("/jobs/42/cancel", headers=JSON).status_code == 404
    browser = client.post("/jobs/1/cancel")
    assert browser.status_code == 303


def test_retry_failed_job(client, manager, db):
    client.post("/jobs", data=FORM, headers=JSON)
    end_job(db, 1, JobStatus.FAILED, "<script>alert(1)</script>")
    page = client.get("/jobs?tab=failed")
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.data and b"<script>alert(1)" not in page.data
    response = client.post("/jobs/1/retry", headers=JSON)
    assert response.status_code == 201 and response.get_json()["id"] == 2


def test_cleanup_endpoint(client):
    body = client.post("/jobs/cleanup", headers=JSON).get_json()
    assert body["jobs_removed"] == 0 and body["days"] == 7
    assert client.post("/jobs/cleanup", data={"days": "-1"}, headers=JSON).status_code == 422
    assert client.post("/jobs/cleanup").status_code == 303


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["redis"] == "ok"


def test_healthz_503_when_redis_is_unreachable(make_app):
    app = make_app(redis_url="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and "unreachable" in response.get_json()["redis"]


def test_submit_when_redis_is_down_is_saved_and_says_so(make_app):
    app = make_app(redis_url="redis://127.0.0.1:1/0")
    client = app.test_client()
    body = client.post("/jobs", data=FORM, headers=JSON).get_json()
    assert body["queued"] is False and body["status"] == "PENDING"
    client.post("/jobs", data={**FORM, "symbol": "MSFT"})
    page = client.get("/jobs/2")
    assert b"saved \xe2\x80\x94 it will start when Redis is reachable again" in page.data


def test_cancel_never_redirects_off_site(client):
    client.post("/jobs", data=FORM, headers=JSON)
    response = client.post("/jobs/1/cancel", data={"next": "https://evil.example/phish"})
    assert response.status_code == 303 and response.headers["Location"] == "/jobs/1"
    local = client.post("/jobs/1/cancel", data={"next": "/jobs?tab=all"})
    assert local.headers["Location"] == "/jobs?tab=all"


@pytest.mark.parametrize("said, only_missing", [("false", False), ("no", False), ("0", False), ("", False),
                                                ("true", True), ("on", True)])
def test_only_missing_reads_yes_and_no_like_every_other_field(client, db, said, only_missing):
    store_bars(db, sim_frame("AAPL", "1d", "2020-01-01", "2021-01-01"), interval="1d")
    body = client.post("/jobs", data={**FORM, "period": "", "start": "2020-01-01", "end": "2021-03-01",
                                      "only_missing": said}, headers=JSON).get_json()
    assert (body["start"] > "2020-12-01") == only_missing, body  # after the stored days, or the whole range


def test_only_missing_that_is_neither_yes_nor_no_is_a_422(client):
    response = client.post("/jobs", data={**FORM, "only_missing": "perhaps"}, headers=JSON)
    assert response.status_code == 422 and "yes or no" in response.get_json()["errors"]["only_missing"]


def test_a_request_whose_job_is_stopping_after_a_cancel_says_so_instead_of_returning_that_job(client, db):
    from collector.jobs import lifecycle

    first = client.post("/jobs", data=FORM, headers=JSON).get_json()
    lifecycle.claim(db, first["id"], "c1")
    client.post(f"/jobs/{first['id']}/cancel", headers=JSON)  # running: it stops after its chunk
    again = client.post("/jobs", data=FORM, headers=JSON)
    assert again.status_code == 422
    assert (f"Job #{first['id']} asks for the same bars and is stopping after a cancel"
            in again.get_json()["errors"]["symbol"])
