"""The web app refuses to start when it cannot be safe, with a message that says what to do:
published beyond loopback without a token, or a data directory it may not write."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from collector.embedded import free_port
from collector.settings import SettingsError
from tests.helpers import settings_env

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")

# Root may write anywhere: import everything first (the interpreter may live where only root
# reads), then become nobody, as the container's uid 10001 meets a root-owned bind mount.
AS_ANOTHER_USER = """
import os
from webapp import create_app
create_app({"SECRET_KEY": "warm-up"})
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
import wsgi
"""


@pytest.mark.parametrize("bind, token, refused", [
    ("0.0.0.0", "", True),
    ("192.168.1.20", "", True),
    ("::", "", True),
    ("0.0.0.0", "s3cret", False),
    ("127.0.0.1", "", False),
    ("[::1]", "", False),
    ("localhost", "", False),
    ("", "", False),  # not under compose: make run judges MDC_WEB_HOST itself
])
def test_published_beyond_loopback_without_a_token_is_refused(make_app, bind, token, refused):
    if not refused:
        make_app(web_bind=bind, auth_token=token)
        return
    with pytest.raises(SettingsError, match=f"MDC_WEB_BIND={bind} publishes .* MDC_AUTH_TOKEN is empty"):
        make_app(web_bind=bind, auth_token=token)


def test_gunicorn_stops_with_one_plain_message_not_a_traceback_per_worker(settings):
    env = settings_env(settings)
    env["MDC_WEB_BIND"] = "0.0.0.0"
    result = subprocess.run([str(GUNICORN), "--workers", "2", "--bind", f"127.0.0.1:{free_port()}", "wsgi:app"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 4  # gunicorn's "App failed to load": the master stops, no respawn loop
    assert "mdc: refusing to start: MDC_WEB_BIND=0.0.0.0" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_data_directory_the_app_may_not_write_says_what_to_do(settings, tmp_path):
    """A bind-mounted /data owned by root, as the web container (uid 10001) finds it."""
    data = tmp_path / "root-owned"
    data.mkdir(mode=0o755)
    env = settings_env(settings)
    env["MDC_DATA_DIR"] = str(data)
    env.pop("MDC_SECRET_KEY", None)
    if os.geteuid() != 0:
        data.chmod(0o555)
    result = subprocess.run([sys.executable, "-c", AS_ANOTHER_USER], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 4, result.stderr
    assert f"cannot write the session key file {data / 'secret_key'} (Permission denied)" in result.stderr
    assert "chown -R" in result.stderr and "MDC_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr

    env["MDC_SECRET_KEY"] = "k" * 64  # the other way out
    assert subprocess.run([sys.executable, "-c", AS_ANOTHER_USER], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60).returncode == 0
