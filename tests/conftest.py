"""Shared fixtures: a real Redis-protocol server for the session, settings on a fresh
key prefix and a fresh database per test."""

from __future__ import annotations

import itertools
import os
import shutil
import threading
from pathlib import Path

import pytest
import redis
from werkzeug.serving import make_server

from collector.embedded import EmbeddedRedis, free_port
from collector.settings import Settings

_prefixes = itertools.count(1)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One valkey-server for the whole run (REDIS_URL from the environment is ignored)."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    return redis_server.url


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def key_prefix() -> str:
    """A prefix of its own per test, so tests never see each other's keys."""
    return f"t{os.getpid()}x{next(_prefixes)}"


def pytest_generate_tests(metafunc):
    """Modules marked `both_databases` run every test on SQLite and on PostgreSQL."""
    if "db_backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_databases"):
        metafunc.parametrize("db_backend", ["sqlite", "postgresql"])


@pytest.fixture
def db_backend() -> str:
    return "sqlite"


@pytest.fixture
def settings(request, tmp_path: Path, redis_url: str, key_prefix: str, db_backend: str) -> Settings:
    database_url = ""
    if db_backend == "postgresql":
        database_url = _fresh_postgres_database(request.getfixturevalue("postgres_server"))
    return Settings(data_dir=tmp_path, redis_url=redis_url, key_prefix=key_prefix, database_url=database_url,
                    sim_delay_seconds=0.0, retry_base_seconds=0.01,
                    heartbeat_seconds=0.2, claim_idle_seconds=5.0)


# --- databases ---------------------------------------------------------------------------

def _pg_bin() -> Path | None:
    """Directory of PostgreSQL's server binaries (Debian keeps them off PATH)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").exists():
            return candidate
    return None


def new_postgres_cluster(prefix: str) -> "OwnPostgres":
    """initdb a throwaway cluster (as the postgres user when we are root: initdb refuses
    root), or skip / fail when PostgreSQL is not installed.

    CI installs Debian's postgresql package, so these tests always run there; set
    MDC_REQUIRE_POSTGRES=1 to turn a missing server into a failure.
    """
    import subprocess
    import tempfile

    bin_dir = _pg_bin()
    if bin_dir is None:
        if os.environ.get("MDC_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL server binaries not found (apt-get install postgresql)")
        pytest.skip("PostgreSQL server not installed")
    # Not under pytest's tmp dir: that one is private to root, and the cluster runs as postgres.
    base = Path(tempfile.mkdtemp(prefix=prefix))
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run(run_as + [str(bin_dir / "initdb"), "-D", str(base / "data"), "-A", "trust", "-U", "mdc",
                             "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
    return OwnPostgres(base, bin_dir, run_as)


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL cluster for the run; each test gets a database of its own in it."""
    server = new_postgres_cluster("mdc-pg-").start()
    yield server
    server.stop()
    shutil.rmtree(server.base, ignore_errors=True)


_dbs = itertools.count(1)


def _fresh_postgres_database(server) -> str:
    import psycopg

    name = f"mdc_{os.getpid()}_{next(_dbs)}"
    with psycopg.connect(f"host=127.0.0.1 port={server.port} user=mdc dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://mdc@127.0.0.1:{server.port}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, migrated database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'mdc.db'}"
    else:
        url = _fresh_postgres_database(request.getfixturevalue("postgres_server"))
    from collector.store.db import Database

    db = Database(url)
    db.migrate()
    db.dispose()
    return url


@pytest.fixture
def db(settings):
    from collector.store.db import Database

    database = Database(settings.sqlalchemy_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def queue(redis_client, key_prefix):
    from collector.queue.streams import Queue

    q = Queue(redis_client, key_prefix)
    q.ensure_group()
    return q


@pytest.fixture
def manager(db, queue, settings):
    from collector.jobs.manager import JobManager

    return JobManager(db, queue, settings)


# --- collector processes -------------------------------------------------------------

def settings_env(settings: Settings) -> dict[str, str]:
    """Environment that makes a child process see the same settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDC_") and k not in ("REDIS_URL", "DATABASE_URL")}
    env.update({
        "MDC_DATA_DIR": str(settings.data_dir), "REDIS_URL": settings.redis_url,
        "DATABASE_URL": settings.sqlalchemy_url, "MDC_KEY_PREFIX": settings.key_prefix,
        "MDC_SIM_DELAY_SECONDS": str(settings.sim_delay_seconds),
        "MDC_RETRY_BASE_SECONDS": str(settings.retry_base_seconds),
        "MDC_HEARTBEAT_SECONDS": str(settings.heartbeat_seconds),
        "MDC_CLAIM_IDLE_SECONDS": str(settings.claim_idle_seconds),
        "MDC_MAX_DELIVERIES": str(settings.max_deliveries),
        "MDC_YAHOO_BASE_URL": settings.yahoo_base_url, "MDC_IB_PORT": str(settings.ib_port),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    })
    return env


class CollectorProcs:
    """Starts `python -m collector run` children and stops them at teardown."""

    def __init__(self, settings: Settings, tmp_path: Path):
        self.settings = settings
        self.tmp_path = tmp_path
        self.procs = []

    def start(self, name: str, **extra_env: str):
        import subprocess
        import sys

        env = settings_env(self.settings)
        env.update(extra_env)
        log_path = self.tmp_path / f"collector-{name.replace(':', '_')}.log"
        with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen([sys.executable, "-m", "collector", "run", "--name", name],
                                    env=env, stdout=log, stderr=subprocess.STDOUT)
        proc.log_path = log_path
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def collectors(settings, tmp_path, db):
    procs = CollectorProcs(settings, tmp_path)
    yield procs
    procs.stop_all()


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05, message: str = "condition"):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


# --- web app ---------------------------------------------------------------------------

@pytest.fixture
def make_app(settings, db):
    """Build web apps on these settings (changed by keyword); their pools are closed at teardown."""
    from dataclasses import replace

    from webapp import create_app

    apps = []

    def build(**changes):
        app = create_app({"TESTING": True, "SECRET_KEY": "test", "MDC_SETTINGS": replace(settings, **changes)})
        apps.append(app)
        return app

    yield build
    for app in apps:
        services = app.extensions.get("mdc")
        if services is not None:
            services.db.dispose()
            services.redis.close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


JSON = {"Accept": "application/json"}


# --- reliability: servers a test may stop and restart ---------------------------------

@pytest.fixture
def own_redis(tmp_path):
    """A Redis-protocol server of this test's own (AOF on) that it may stop and restart
    on the same port and data directory."""
    server = EmbeddedRedis(tmp_path / "own-redis", free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def own_redis_settings(settings, own_redis) -> Settings:
    import dataclasses

    return dataclasses.replace(settings, redis_url=own_redis.url)


@pytest.fixture
def own_redis_manager(own_redis_settings, db):
    """A job manager on `own_redis` whose client gives up at once while Redis is down."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from collector.jobs.manager import JobManager
    from collector.queue.streams import Queue

    client = redis.Redis.from_url(own_redis_settings.redis_url, decode_responses=True, socket_timeout=5,
                                  socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    yield JobManager(db, Queue(client, own_redis_settings.key_prefix), own_redis_settings)
    client.close()


@pytest.fixture
def own_redis_collectors(own_redis_settings, tmp_path, db):
    procs = CollectorProcs(own_redis_settings, tmp_path)
    yield procs
    procs.stop_all()


class OwnPostgres:
    """A PostgreSQL cluster of one test's own, which the test may restart."""

    def __init__(self, base: Path, bin_dir: Path, run_as: list[str]):
        self.base, self.bin_dir, self.run_as = base, bin_dir, run_as
        self.data = base / "data"
        self.port = free_port()
        self.proc = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://mdc@127.0.0.1:{self.port}/postgres"

    def start(self) -> "OwnPostgres":
        import subprocess
        import time

        import psycopg

        self.proc = subprocess.Popen(
            self.run_as + [str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port),
                           "-k", str(self.base), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                           "-c", "full_page_writes=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(f"host=127.0.0.1 port={self.port} user=mdc dbname=postgres").close()
                return self
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("PostgreSQL did not start")
                time.sleep(0.05)

    def stop(self) -> None:
        import subprocess

        if self.proc and self.proc.poll() is None:
            # Fast shutdown: open sessions are cut off, as in a real restart.
            subprocess.run(self.run_as + [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                                          "-w", "stop"], check=True, capture_output=True)
            self.proc.wait(20)
        self.proc = None


@pytest.fixture
def own_postgres():
    """A PostgreSQL cluster for one test, so it can restart it mid-job."""
    server = new_postgres_cluster("mdc-pg-own-").start()
    yield server
    server.stop()
    shutil.rmtree(server.base, ignore_errors=True)


# --- fakes of the data sources ----------------------------------------------------------

@pytest.fixture(scope="module")
def yahoo_fake_server():
    from tests.fakes.yahoo import YahooFake

    with YahooFake() as fake:
        yield fake


@pytest.fixture
def yahoo_fake(yahoo_fake_server):
    """A local Yahoo chart API with a clean request log and no pending failures."""
    yahoo_fake_server.reset()
    yield yahoo_fake_server
    yahoo_fake_server.reset()


# --- a real browser ---------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """docs/screenshots when MDC_UPDATE_SCREENSHOTS=1 (to refresh the README's pictures), else a tmp dir."""
    return DOCS_SCREENSHOTS if os.environ.get("MDC_UPDATE_SCREENSHOTS") else tmp_path


@pytest.fixture
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("MDC_REQUIRE_BROWSER"):
            pytest.fail("Chromium not installed (apt-get install chromium)")
        pytest.skip("Chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=live_server)
    page = context.new_page()
    page.set_default_timeout(30_000)  # generous: CI machines are shared and slow at times
    yield page
    context.close()
