"""`docker compose up`, for real: the repository's Dockerfile and docker-compose.yml with
Redis, PostgreSQL (a password full of URL syntax), migrate, web and two collectors; jobs over
HTTP as the README shows, bars checked exact, a collector killed with SIGKILL mid-job, a
`stop`/`start` and a `down`/`up` with work in flight.

Skipped when Docker is not there (as root: ../shared/containers/standins.sh); required when
MDC_REQUIRE_CONTAINERS=1 (CI). The tests run in file order on one project; it is removed with
its volumes however they end.
"""

import json
import time

import pytest

from tests.compose import ComposeProject, assert_exact, messages, require_docker

pytestmark = [pytest.mark.containers, pytest.mark.timeout(900)]

PASSWORD = "Xy9/a+b=c@d"  # broke the database URL before it travelled as PGPASSWORD
TOKEN = "compose-test-token"
SETTINGS = {
    "POSTGRES_PASSWORD": PASSWORD,
    "MDC_AUTH_TOKEN": TOKEN,
    "MDC_CLAIM_IDLE_SECONDS": "10",  # a killed collector's job is taken over within the test's time
    "MDC_HEARTBEAT_TTL_SECONDS": "6",  # and a frozen one is noticed sooner
    "MDC_KEY_PREFIX": "ct",
    "MDC_YAHOO_PACING_SECONDS": "0.7",  # dropped silently before every setting was passed
}
SIX_MONTHS = {"source": "sim", "interval": "1m", "start": "2024-01-01", "end": "2024-06-30"}  # 14 chunks


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    require_docker()
    project = ComposeProject(tmp_path_factory.mktemp("compose"), **SETTINGS)
    try:
        started = time.monotonic()
        project.compose("build", timeout=900)
        built = time.monotonic()
        project.compose("up", "-d", "--scale", "collector=2")
        project.wait_healthy()
        print(f"\ncompose: build {built - started:.0f} s, up to every service healthy {time.monotonic() - built:.0f} s")
        yield project
    finally:
        project.down()


def test_every_service_healthy_settings_passed_and_the_token_guards_metrics(project):
    services = sorted(c["Service"] for c in project.containers())
    assert services == ["collector", "collector", "migrate", "postgres", "redis", "web"]
    env = dict(line.split("=", 1) for line in project.exec("collector", "env").splitlines() if "=" in line)
    assert {k: env.get(k) for k in SETTINGS if k.startswith("MDC_")} == {k: v for k, v in SETTINGS.items()
                                                                          if k.startswith("MDC_")}
    assert PASSWORD not in env["DATABASE_URL"] and env["PGPASSWORD"] == PASSWORD
    assert json.loads(project.exec("web", "python", "-c", "import urllib.request; print(urllib.request"
                                   ".urlopen('http://127.0.0.1:8000/healthz').read().decode())"))["database"] == "ok"
    status, headers, _body = project.http("GET", "/metrics", token=False, headers={"Accept": "text/plain"})
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    status, headers, body = project.http("GET", "/metrics")
    assert status == 200 and b"mdc_collectors_live 2.0" in body
    assert headers["Content-Type"].count("charset") == 1


def test_a_frozen_collector_fails_its_own_health_check_while_its_peer_passes(project):
    frozen, peer = [c["ID"] for c in project.containers() if c["Service"] == "collector"]
    project.signal(frozen, "STOP")  # hung: the process is there, nothing in it runs
    try:
        deadline = time.monotonic() + 30
        while project.health_check(frozen) == 0:
            assert time.monotonic() < deadline, "check --self still passes for a frozen collector"
            time.sleep(1)
        assert project.health_check(peer) == 0
    finally:
        project.signal(frozen, "CONT")
    project.wait_healthy()


def test_sim_jobs_over_http_store_exactly_the_simulated_bars(project):
    jobs = project.submit(symbol="AAA,BBB", source="sim", interval="5m", start="2024-01-01", end="2024-03-31")
    for created in jobs:
        job = project.finished(created["id"])
        assert_exact(project.bars_csv(job["symbol"], "5m"), job)


def test_a_collector_killed_mid_job_the_job_completes_elsewhere_exactly(project):
    (created,) = project.submit(symbol="KILL", delay="1", **SIX_MONTHS)
    running = project.wait_job(created["id"], lambda j: j["status"] == "RUNNING" and j["progress"]["done"] >= 2)
    victim = running["collector"]  # the container's hostname, its short id
    project.signal(victim, "KILL")
    job = project.finished(created["id"], timeout=180)
    assert job["collector"] != victim
    assert any(f"(its previous collector {victim} stopped)" in m for m in messages(job)), messages(job)
    assert_exact(project.bars_csv("KILL", "1m"), job)


def test_stop_then_start_hands_the_running_job_back_warm(project):
    (created,) = project.submit(symbol="STOP", delay="1", **SIX_MONTHS)
    project.wait_job(created["id"], lambda j: j["status"] == "RUNNING" and j["progress"]["done"] >= 1)
    project.compose("stop", timeout=180)
    project.compose("start", timeout=180)  # also the collector killed above
    project.wait_healthy()
    job = project.finished(created["id"], timeout=180)
    log = messages(job)
    handed = [m for m in log if m.startswith("Handed back by ")]
    assert len(handed) == 1, log  # warm, once: PostgreSQL outlived the collectors
    assert not any("its previous collector" in m for m in log), log  # never taken over after the idle timeout
    assert_exact(project.bars_csv("STOP", "1m"), job)
    logs = project.compose("logs", "--no-color", "collector")
    assert "1 handed back" in logs and "2 handed back" not in logs


def test_down_then_up_keeps_jobs_and_bars_and_hands_the_running_job_back(project):
    (created,) = project.submit(symbol="DOWN", delay="1", **SIX_MONTHS)
    project.wait_job(created["id"], lambda j: j["status"] == "RUNNING" and j["progress"]["done"] >= 1)
    before = project.get_json("/jobs?tab=all")
    csv = project.bars_csv("AAA", "5m")
    project.compose("down", timeout=180)  # containers and network go; the volumes stay
    project.compose("up", "-d", "--scale", "collector=2")
    project.wait_healthy()
    job = project.finished(created["id"], timeout=180)
    assert [m for m in messages(job) if m.startswith("Handed back by ")] != [], messages(job)
    assert not any("its previous collector" in m for m in messages(job)), messages(job)
    assert_exact(project.bars_csv("DOWN", "1m"), job)
    after = project.get_json("/jobs?tab=all")
    assert [(j["id"], j["symbol"]) for j in after["jobs"]] == [(j["id"], j["symbol"]) for j in before["jobs"]]
    assert after["total"] == 5 and {j["status"] for j in after["jobs"]} == {"COMPLETED"}
    assert project.bars_csv("AAA", "5m") == csv
