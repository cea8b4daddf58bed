"""`make run` (webapp.devserver) refuses plainly what would fail later and quietly."""

import socket
import subprocess
import sys

from collector.embedded import free_port
from tests.helpers import ROOT, settings_env


def test_a_web_port_in_use_stops_make_run_with_a_message_and_exit_2(settings):
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        env = settings_env(settings) | {"MDC_WEB_PORT": str(port)}
        result = subprocess.run([sys.executable, "-m", "webapp.devserver"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"port {port} is already in use" in result.stderr and f"MDC_WEB_PORT={port + 1}" in result.stderr
    assert "Traceback" not in result.stderr
