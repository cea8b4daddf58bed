"""PostgreSQL not up yet at start-up: `run` and `migrate` wait with backoff, one plain line
per attempt, and give up with a clear message (exit 1, no traceback) after MDC_DB_WAIT_SECONDS."""

import subprocess
import sys
import time

import pytest

from collector.embedded import free_port
from tests.helpers import settings_env
from tests.postgres import new_cluster


def cli(settings, *args, **env):
    full = settings_env(settings)
    full.update(env)
    return subprocess.Popen([sys.executable, "-m", "collector", *args], env=full, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("command", ["migrate", "run"])
def test_no_database_waits_then_exits_1_with_a_plain_message(settings, command):
    port = free_port()  # nothing listens there
    started = time.monotonic()
    proc = cli(settings, command, DATABASE_URL=f"postgresql+psycopg://mdc@127.0.0.1:{port}/mdc",
               MDC_DB_WAIT_SECONDS="3")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert time.monotonic() - started < 20
    attempts = [line for line in err.splitlines() if "retrying in" in line]
    assert len(attempts) == 2, err  # at 0 s and 1 s; the limit (3 s) is reached at the third
    assert attempts[0].endswith(f"database not reachable at 127.0.0.1:{port} (connection refused); retrying in 1 s")
    assert attempts[1].endswith("retrying in 2 s")
    assert f"database not reachable at 127.0.0.1:{port} after 3 s (connection refused); giving up" in err
    assert "Traceback" not in err


def test_a_database_that_comes_up_during_the_wait_is_used(settings):
    server = new_cluster("mdc-wait-")  # its port is chosen, nothing listens yet
    proc = cli(settings, "migrate", DATABASE_URL=server.url, MDC_DB_WAIT_SECONDS="60")
    try:
        first = proc.stderr.readline()
        assert "database not reachable" in first and "retrying in 1 s" in first
        server.start()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "database schema is up to date" in out and "Traceback" not in err
    finally:
        proc.kill()
        server.destroy()
