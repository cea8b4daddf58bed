"""`python -m collector ...`: bad arguments get usage and exit 2, never a traceback."""

import json
import subprocess
import sys

import pytest

from tests.helpers import settings_env


def run(settings, *args):
    return subprocess.run([sys.executable, "-m", "collector", *args], env=settings_env(settings),
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args, fragment", [
    ([], "required: COMMAND"),
    (["fly"], "invalid choice"),
    (["submit", "--source", "sim"], "required"),
    (["submit", "--source", "sim", "--symbol", "A", "--interval", "1d", "--period", "1y", "--start", "2024-01-01"], "not allowed with"),
    (["cleanup", "--days", "week"], "not a whole number of days"),
    (["cleanup", "--days", "-3"], "0 or more"),
    (["submit", "--source", "sim", "--symbol", "A", "--interval", "1d", "--period", "1y", "--option", "nonsense"], "NAME=VALUE"),
])
def test_bad_arguments_exit_2_with_usage(settings, args, fragment):
    result = run(settings, *args)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_job_fields_exit_2_naming_the_field(settings, db):
    result = run(settings, "submit", "--source", "sim", "--symbol", "A$", "--interval", "7x", "--period", "1y")
    assert result.returncode == 2
    assert "--symbol:" in result.stderr and "--interval:" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_is_explained(settings):
    env = settings_env(settings)
    env["MDC_IB_PORT"] = "lots"
    result = subprocess.run([sys.executable, "-m", "collector", "check"], env=env, capture_output=True, text=True)
    assert result.returncode == 2 and "MDC_IB_PORT must be a whole number" in result.stderr


def test_submit_prints_the_id_and_cleanup_reports(settings, db):
    result = run(settings, "submit", "--source", "sim", "--symbol", "AAPL,MSFT", "--interval", "1d", "--period", "1y", "--json")
    assert result.returncode == 0, result.stderr
    ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    assert ids == [1, 2]
    again = run(settings, "submit", "--source", "sim", "--symbol", "AAPL", "--interval", "1d", "--period", "1y")
    assert again.stdout.strip() == "1" and "not submitted twice" in again.stderr
    cleaned = run(settings, "cleanup", "--days", "7")
    assert cleaned.returncode == 0 and cleaned.stdout.startswith("Removed 0 finished jobs")


def test_unreachable_redis_is_a_plain_message(settings):
    env = settings_env(settings)
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"
    result = subprocess.run([sys.executable, "-m", "collector", "check"], env=env, capture_output=True, text=True)
    assert result.returncode == 1 and "cannot reach Redis" in result.stderr and "Traceback" not in result.stderr
