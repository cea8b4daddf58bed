"""A throwaway `docker compose` project of the repository's own docker-compose.yml: its own
project name, env file, host port and image tag, driven as an operator would (the docker CLI)
and used over HTTP as the README shows (curl-like form posts, JSON, a Bearer token)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pandas as pd
import pytest

from collector.embedded import free_port
from collector.sources.sim import simulate

ROOT = Path(__file__).resolve().parents[1]
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


def require_docker() -> None:
    """Skip (or, with MDC_REQUIRE_CONTAINERS=1, fail) when Docker or Compose v2 is not usable."""
    reason = None
    if shutil.which("docker") is None:
        reason = "docker is not installed (as root: ../shared/containers/standins.sh)"
    elif subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode != 0:
        reason = "the Docker daemon is not running or not reachable (docker info failed)"
    elif subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode != 0:
        reason = "the Docker Compose v2 plugin is missing (docker compose version failed)"
    if reason and os.environ.get("MDC_REQUIRE_CONTAINERS"):
        pytest.fail(reason)
    if reason:
        pytest.skip(reason)


class ComposeProject:
    def __init__(self, workdir: Path, **settings: str):
        self.name = f"mdct{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self.token = settings.get("MDC_AUTH_TOKEN", "")
        # One tag per checkout: the build cache is reused, and two checkouts never swap images.
        image = f"mdc-test:{hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]}"
        self.env_file = workdir / ".env"
        values = {"MDC_WEB_PORT": str(self.port), "MDC_IMAGE": image, **settings}
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))

    # --- docker ---------------------------------------------------------------------------
    def compose(self, *args: str, timeout: float = 240) -> str:
        command = ["docker", "compose", "-p", self.name, "-f", str(ROOT / "docker-compose.yml"),
                   "--env-file", str(self.env_file), *args]
        # Only the env file configures the project: no MDC_* or DATABASE_URL leaks from this shell.
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME") or k.startswith("DOCKER_")}
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def containers(self) -> list[dict]:
        """Every container of the project, running or not: Service, ID, State, Health."""
        out = self.compose("ps", "--all", "--format", "json")
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def wait_healthy(self, timeout: float = 180) -> None:
        """Every long-running service's containers running and healthy (migrate: exited 0)."""
        deadline = time.monotonic() + timeout
        while True:
            states = {c["Name"]: (c["State"], c["Health"], c["ExitCode"]) for c in self.containers()}
            waiting = {name: s for name, s in states.items()
                       if not (s[1] == "healthy" or ("-migrate-" in name and s[0] == "exited" and s[2] == 0))}
            if not waiting:
                return
            assert time.monotonic() < deadline, f"not healthy after {timeout} s: {waiting}"
            time.sleep(1)

    def exec(self, service: str, *command: str) -> str:
        return self.compose("exec", "-T", service, *command, timeout=60)

    def signal(self, container: str, signal: str) -> None:
        """`docker kill --signal`: KILL as the OOM killer or a lost host would (no warm shutdown),
        STOP to freeze a collector as a hang would."""
        subprocess.run(["docker", "kill", "--signal", signal, container], check=True, capture_output=True,
                       timeout=60)

    def health_check(self, container: str) -> int:
        """Exit code of the command the container's health check runs, run there now."""
        test = self.containers_inspect(container)["Config"]["Healthcheck"]["Test"]
        assert test[0] == "CMD", test
        return subprocess.run(["docker", "exec", container, *test[1:]], capture_output=True,
                              timeout=60).returncode

    def containers_inspect(self, container: str) -> dict:
        out = subprocess.run(["docker", "inspect", container], check=True, capture_output=True, text=True,
                             timeout=60).stdout
        return json.loads(out)[0]

    def down(self) -> None:
        self.compose("down", "-v", "--remove-orphans", "--timeout", "20", timeout=180)

    # --- HTTP, as curl ---------------------------------------------------------------------
    def http(self, method: str, path: str, form: dict | None = None, *, token: bool = True,
             headers: dict | None = None) -> tuple[int, dict, bytes]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        all_headers = {"Accept": "application/json", **(headers or {})}
        if token and self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def get_json(self, path: str):
        status, _headers, body = self.http("GET", path)
        assert status == 200, (path, status, body[:500])
        return json.loads(body)

    def submit(self, **form: str) -> list[dict]:
        status, _headers, body = self.http("POST", "/jobs", form)
        assert status == 201, (status, body[:500])
        created = json.loads(body)
        return created if isinstance(created, list) else [created]

    def job(self, job_id: int) -> dict:
        return self.get_json(f"/jobs/{job_id}")

    def wait_job(self, job_id: int, until, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if until(job):
                return job
            assert time.monotonic() < deadline, f"job {job_id} after {timeout} s: {job['status']} {job['progress']}"
            time.sleep(0.5)

    def finished(self, job_id: int, timeout: float = 120) -> dict:
        return self.wait_job(job_id, lambda j: j["status"] in TERMINAL, timeout)

    def bars_csv(self, symbol: str, interval: str) -> str:
        status, _headers, body = self.http("GET", f"/data/sim/{symbol}/{interval}.csv")
        assert status == 200, (status, body[:500])
        return body.decode()


def assert_exact(csv_text: str, job: dict) -> None:
    """The series' CSV export holds exactly what the sim source generates for the job's range,
    and the job counted each bar once."""
    expected = simulate(job["symbol"], job["interval"], job["kind"], pd.Timestamp(job["start"]),
                        pd.Timestamp(job["end"]))
    assert job["status"] == "COMPLETED", job
    assert (job["rows_new"], job["rows_updated"]) == (len(expected), 0), job
    back = pd.read_csv(io.StringIO(csv_text), index_col="ts")
    back.index = pd.to_datetime(back.index, utc=True).as_unit("ns")
    expected.index = expected.index.as_unit("ns")
    pd.testing.assert_frame_equal(back, expected, check_exact=True, check_dtype=False, check_freq=False)


def messages(job: dict) -> list[str]:
    return [event["message"] for event in job["events"]]
