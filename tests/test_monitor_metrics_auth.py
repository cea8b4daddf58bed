"""Monitor page, Prometheus metrics and access protection."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from collector.jobs import lifecycle
from collector.queue import record_bars
from collector.queue.registry import Registry
from collector.store.models import JobStatus
from tests.helpers import JSON, end_job, visible_text

pytestmark = pytest.mark.both_databases  # each test runs on SQLite and on PostgreSQL

FORM = {"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "1y"}


def record(client, prefix, count):
    pipe = client.pipeline()
    record_bars(pipe, prefix, "sim", count)
    pipe.execute()


def test_monitor_shows_summary_collectors_stream_redis_and_charts(client, db, redis_client, settings):
    job = client.post("/jobs", data=FORM, headers=JSON).get_json()
    lifecycle.claim(db, job["id"], "c1")
    registry = Registry(redis_client, settings.key_prefix)
    registry.beat("c1", current_job=job["id"], started_at="1700000000", jobs_done=4, jobs_failed=1, state="running")
    record(redis_client, settings.key_prefix, 12_345)
    html = client.get("/monitor").get_data(as_text=True)
    assert "c1" in html and f'href="/jobs/{job["id"]}"' in html and "4 / 1" in html
    assert "12,345" in html  # bars written today
    assert "append-only file on" in html and "Valkey 9" in visible_text(html)
    assert html.count("<svg") == 4
    part = client.get("/monitor", headers={"HX-Request": "true"})
    assert 'id="monitor-live"' in part.get_data(as_text=True) and "<html" not in part.get_data(as_text=True)


def test_monitor_shows_a_dead_collector_as_dead(client, redis_client, settings):
    registry = Registry(redis_client, settings.key_prefix, ttl_seconds=15)
    registry.beat("gone")
    redis_client.delete(registry.key("gone"))  # its TTL ran out
    html = client.get("/monitor").get_data(as_text=True)
    assert 'data-collector="gone"' in html and "Dead" in html


def test_monitor_without_redis_says_so(make_app):
    html = make_app(redis_url="redis://127.0.0.1:1/0").test_client().get("/monitor").get_data(as_text=True)
    assert "Redis cannot be reached" in html


def test_metrics_parse_with_prometheus_parser(client, db, redis_client, settings):
    done = client.post("/jobs", data=FORM, headers=JSON).get_json()
    client.post("/jobs", data={**FORM, "symbol": "MSFT"}, headers=JSON)
    end_job(db, done["id"], JobStatus.COMPLETED)
    record(redis_client, settings.key_prefix, 500)
    Registry(redis_client, settings.key_prefix).beat("c1")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    families = {f.name: f for f in text_string_to_metric_families(response.get_data(as_text=True))}
    states = {s.labels["state"]: s.value for s in families["mdc_jobs"].samples}
    assert states["completed"] == 1 and states["pending"] == 1
    duration = {s.name: s for s in families["mdc_job_duration_seconds"].samples}
    assert duration["mdc_job_duration_seconds_count"].value == 1
    assert [s.value for s in families["mdc_bars_written"].samples if s.name.endswith("_total")] == [500]
    assert families["mdc_queue_length"].samples[0].value == 2
    assert families["mdc_collectors_live"].samples[0].value == 1
    assert families["mdc_redis_up"].samples[0].value == 1


def test_metrics_without_redis_still_answer(make_app):
    body = make_app(redis_url="redis://127.0.0.1:1/0").test_client().get("/metrics").get_data(as_text=True)
    assert "mdc_redis_up 0.0" in body and "mdc_jobs" in body


@pytest.fixture
def secured(make_app):
    return make_app(auth_token="s3cret-token-0123456789").test_client()


def test_auth_on_browsers_go_to_login_scripts_get_401(secured):
    page = secured.get("/jobs")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=/jobs")
    api = secured.get("/jobs", headers=JSON)
    assert api.status_code == 401 and api.headers["WWW-Authenticate"].startswith("Bearer")
    assert secured.post("/jobs", data=FORM).status_code == 401
    assert secured.get("/healthz").status_code == 200

def test_metrics_with_a_token_answer_401_to_prometheus_never_the_login_page(secured):
    scrape = secured.get("/metrics", headers={"Accept": "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"})
    assert scrape.status_code == 401 and scrape.headers["WWW-Authenticate"].startswith("Bearer")
    ok = secured.get("/metrics", headers={"Authorization": "Bearer s3cret-token-0123456789"})
    assert ok.status_code == 200 and "mdc_jobs" in ok.get_data(as_text=True)


def test_metrics_content_type_names_its_charset_once(client):
    content_type = client.get("/metrics").headers["Content-Type"]
    assert content_type.startswith("text/plain") and content_type.count("charset") == 1


def test_auth_bearer_token_works_for_curl(secured):
    ok = secured.post("/jobs", data=FORM, headers={**JSON, "Authorization": "Bearer s3cret-token-0123456789"})
    assert ok.status_code == 201
    bad = secured.get("/jobs", headers={**JSON, "Authorization": "Bearer wrong"})
    assert bad.status_code == 401


def test_auth_login_sets_a_session_and_logout_clears_it(secured):
    wrong = secured.post("/login", data={"token": "nope"})
    assert wrong.status_code == 401 and "not right" in wrong.get_data(as_text=True)
    signed = secured.post("/login", data={"token": "s3cret-token-0123456789", "next": "/jobs?tab=all"})
    assert signed.status_code == 303 and signed.headers["Location"] == "/jobs?tab=all"
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert secured.get("/jobs").status_code == 200
    assert "Sign out" in secured.get("/jobs").get_data(as_text=True)
    secured.post("/logout")
    assert secured.get("/jobs").status_code == 302


def test_login_never_redirects_off_site(secured):
    response = secured.post("/login", data={"token": "s3cret-token-0123456789", "next": "//evil.example/x"})
    assert response.headers["Location"] == "/collect"


def test_auth_off_everything_open(client):
    assert client.get("/jobs").status_code == 200
    assert client.get("/login").status_code == 302


@pytest.mark.parametrize("headers, status", [
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Sec-Fetch-Site": "same-site"}, 403),
    ({"Origin": "http://evil.example"}, 403),
    ({"Sec-Fetch-Site": "same-origin"}, 201),
    ({"Origin": "http://localhost"}, 201),
    ({}, 201),  # curl sends neither header
])
def test_cross_origin_posts_are_refused(client, headers, status):
    assert client.post("/jobs", data=FORM, headers={**JSON, **headers}).status_code == status
