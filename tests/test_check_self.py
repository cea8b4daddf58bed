"""`python -m collector check --self`: a container's health check sees its own collector hang."""

import os
import signal
import subprocess
import sys

import pytest

from tests.helpers import settings_env, wait_for

NAME = {"MDC_COLLECTOR_NAME": "{hostname}-selfcheck", "MDC_HEARTBEAT_TTL_SECONDS": "1"}


def check_self(settings, **env):
    full = {**settings_env(settings), **NAME, **env}
    return subprocess.run([sys.executable, "-m", "collector", "check", "--self"], env=full,
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def collector(settings, db, tmp_path):
    with open(tmp_path / "collector.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "collector", "run"], env={**settings_env(settings), **NAME},
                                stdout=log, stderr=subprocess.STDOUT)
    yield proc
    os.kill(proc.pid, signal.SIGCONT)
    proc.kill()
    proc.wait(10)


def test_a_stopped_collector_fails_its_own_check_while_others_may_live(settings, collector):
    alive = wait_for(lambda: (r := check_self(settings)).returncode == 0 and r, timeout=30,
                     message="the collector's first heartbeat")
    assert alive.stdout.startswith(f"collector {os.uname().nodename}-selfcheck alive")
    os.kill(collector.pid, signal.SIGSTOP)  # hung: the process is there, nothing runs
    hung = wait_for(lambda: (r := check_self(settings)).returncode == 1 and r, timeout=15,
                    message="check --self to fail")
    assert "has not beaten for 1 s" in hung.stdout
    os.kill(collector.pid, signal.SIGCONT)
    wait_for(lambda: check_self(settings).returncode == 0, timeout=15, message="check --self to pass again")


def test_check_self_without_a_knowable_name_is_a_usage_error(settings):
    result = check_self(settings, MDC_COLLECTOR_NAME="")
    assert result.returncode == 2 and "set MDC_COLLECTOR_NAME" in result.stderr
