"""One typed settings object, read from the environment.

`REDIS_URL` and `DATABASE_URL` keep their conventional names; everything else is `MDC_*`.
Defaults serve the embedded setup (`make run`): a Redis-protocol server on port 6390
and SQLite under ./var.
"""

from __future__ import annotations

import math
import os
import re
import socket
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Mapping, get_type_hints

from .parse import YES_NO_HELP, parse_bool, parse_whole


class SettingsError(ValueError):
    """A setting has a value mdc cannot use; the message names the variable."""


EMBEDDED_REDIS_PORT = 6390  # not 6379, so a system Redis on the same machine never clashes
MIN_TOKEN_LENGTH = 16  # a shorter access token could be guessed, rate limits or not


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    """MDC_DATA_DIR: where SQLite, the embedded Redis' AOF and caches live."""
    redis_url: str = f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"
    """REDIS_URL: the Redis (or Valkey) server carrying the work queue and progress."""
    database_url: str = ""
    """DATABASE_URL: SQLAlchemy URL; empty means sqlite:///<data_dir>/mdc.db."""
    key_prefix: str = "mdc"
    """MDC_KEY_PREFIX: prefix of every Redis key, so several installs can share one Redis."""
    retention_days: int = 7
    """MDC_RETENTION_DAYS: finished jobs older than this are removed by cleanup."""
    cleanup_every_seconds: float = 3600.0
    """MDC_CLEANUP_EVERY_SECONDS: how often collectors run the retention cleanup (one at a time)."""
    schedule_check_seconds: float = 5.0
    """MDC_SCHEDULE_CHECK_SECONDS: how often collectors look for watchlist runs that are due (one at a time)."""
    schedule_minute_seconds: float = 60.0
    """MDC_SCHEDULE_MINUTE_SECONDS: a minute of every-N-minutes schedules; below 60 only for tests and demos."""
    collector_name: str = ""
    """MDC_COLLECTOR_NAME: consumer name; empty means {hostname}:{pid}. `{hostname}` and `{pid}`
    are filled in: compose uses {hostname}, stable per container, so `check --self` knows it."""
    db_wait_seconds: float = 60.0
    """MDC_DB_WAIT_SECONDS: how long `run` and `migrate` wait for the database at start-up."""
    heartbeat_seconds: float = 2.0
    """MDC_HEARTBEAT_SECONDS: how often a collector beats and refreshes its claim."""
    heartbeat_ttl_seconds: float = 15.0
    """MDC_HEARTBEAT_TTL_SECONDS: a collector silent this long counts as gone."""
    claim_idle_seconds: float = 60.0
    """MDC_CLAIM_IDLE_SECONDS: a queue entry idle this long belongs to a dead collector."""
    max_deliveries: int = 5
    """MDC_MAX_DELIVERIES: an entry delivered more often than this ends FAILED."""
    max_retries: int = 5
    """MDC_MAX_RETRIES: transient source errors retried this many times per chunk."""
    retry_base_seconds: float = 2.0
    """MDC_RETRY_BASE_SECONDS: first retry delay; doubles each time, with jitter."""
    events_maxlen: int = 1000
    """MDC_EVENTS_MAXLEN: progress events kept per job (approximate cap)."""
    sim_delay_seconds: float = 0.3
    """MDC_SIM_DELAY_SECONDS: default pause per chunk of the simulated source."""
    sim_max_delay_seconds: float = 5.0
    """MDC_SIM_MAX_DELAY_SECONDS: the longest pause per chunk a simulated job may ask for."""
    sim_failure_option: bool = False
    """MDC_SIM_FAILURE_OPTION: accept the simulated source's `fail` option (a test hook that
    makes a chunk fail); off, it is an unknown option."""
    max_bars_per_submit: int = 20_000_000
    """MDC_MAX_BARS_PER_SUBMIT: bars one submit may ask for, all symbols together, counted as
    each period divided by the interval (nights and weekends included)."""
    max_active_jobs: int = 5_000
    """MDC_MAX_ACTIVE_JOBS: pending and running jobs there may be at once."""
    yahoo_base_url: str = ""
    """MDC_YAHOO_BASE_URL: send Yahoo requests to this address (a proxy, mirror or test fake)."""
    yahoo_pacing_seconds: float = 0.5
    """MDC_YAHOO_PACING_SECONDS: least time between two Yahoo requests, shared by all collectors."""
    ib_host: str = "127.0.0.1"
    """MDC_IB_HOST: TWS / IB Gateway host."""
    ib_port: int = 4002
    """MDC_IB_PORT: TWS / IB Gateway API port (4002 = Gateway paper, 7497 = TWS paper)."""
    ib_client_id: int = 100
    """MDC_IB_CLIENT_ID: first client id; each collector claims its own above it."""
    ib_connect_timeout_seconds: float = 10.0
    """MDC_IB_CONNECT_TIMEOUT_SECONDS: how long to wait for TWS / IB Gateway to accept a connection."""
    ib_request_timeout_seconds: float = 120.0
    """MDC_IB_REQUEST_TIMEOUT_SECONDS: how long one historical-data request may take."""
    ib_reconnect_seconds: float = 1.0
    """MDC_IB_RECONNECT_SECONDS: first reconnect delay; doubles up to 60 s."""
    ib_pacing_scale: float = 1.0
    """MDC_IB_PACING_SCALE: shrinks IB's pacing windows (0 < x <= 1); below 1 only for fakes and demos."""
    quality_spike_sigmas: float = 10.0
    """MDC_QUALITY_SPIKE_SIGMAS: a return this many robust spreads from the recent ones is a spike."""
    quality_run_bars: int = 10
    """MDC_QUALITY_RUN_BARS: this many bars in a row with identical prices, or without volume, are suspect."""
    recollect_revised: bool = False
    """MDC_RECOLLECT_REVISED: when the source revised a series' history, re-collect it at once."""
    secret_key: str = ""
    """MDC_SECRET_KEY: signs the web app's session cookie; empty means a key file in data_dir."""
    auth_token: str = ""
    """MDC_AUTH_TOKEN: when set, the web app asks for this token (login page or Bearer header)."""
    cookie_secure: bool = False
    """MDC_COOKIE_SECURE: send the session cookie over HTTPS only (set it behind TLS)."""
    auth_failures_per_minute: int = 10
    """MDC_AUTH_FAILURES_PER_MINUTE: wrong tokens (sign-in or Bearer) one client address may
    send in any minute; past it, 429 with Retry-After."""
    trusted_proxies: int = 0
    """MDC_TRUSTED_PROXIES: reverse proxies in front of the web app whose X-Forwarded-For /
    -Proto / -Host headers are believed (0: none; the peer's own address is the client's)."""
    web_host: str = "127.0.0.1"
    """MDC_WEB_HOST: address `make run` binds; anything but loopback requires MDC_AUTH_TOKEN."""
    web_port: int = 8000
    """MDC_WEB_PORT: port of the web app started by `make run`."""
    web_bind: str = ""
    """MDC_WEB_BIND: host address docker compose publishes the web port on; compose passes it
    into the web container, which binds 0.0.0.0 inside, so the app can judge its exposure."""
    collectors: int = 2
    """MDC_COLLECTORS: collector processes started by `make run`."""

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mdc.db').resolve()}"

    @property
    def consumer_name(self) -> str:
        name = self.collector_name or "{hostname}:{pid}"
        return name.replace("{hostname}", socket.gethostname()).replace("{pid}", str(os.getpid()))

    def exposed_without_token(self) -> str | None:
        """The address beyond loopback the web app is published on while MDC_AUTH_TOKEN is
        empty (MDC_WEB_BIND under compose), or None when that is not the case."""
        if self.auth_token or not self.web_bind or is_loopback(self.web_bind):
            return None
        return self.web_bind

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """Read settings from `env` (default os.environ); bad values raise SettingsError."""
        env = os.environ if env is None else env
        types = get_type_hints(cls)
        values: dict[str, object] = {}
        for f in fields(cls):
            var = env_name(f.name)
            raw = env.get(var)
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(var, raw, types[f.name])
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        positive = ("cleanup_every_seconds", "heartbeat_seconds", "heartbeat_ttl_seconds", "claim_idle_seconds",
                    "max_deliveries", "events_maxlen", "retention_days", "collectors", "auth_failures_per_minute",
                    "max_bars_per_submit", "max_active_jobs", "quality_spike_sigmas")
        for name in positive:
            if getattr(self, name) <= 0:
                raise SettingsError(f"{env_name(name)} must be greater than 0, got {getattr(self, name)}")
        for name in ("ib_connect_timeout_seconds", "ib_request_timeout_seconds"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{env_name(name)} must be greater than 0, got {getattr(self, name)}")
        if self.quality_run_bars < 2:
            raise SettingsError(f"MDC_QUALITY_RUN_BARS must be 2 or more, got {self.quality_run_bars}")
        if not 0 < self.schedule_check_seconds <= 3600:
            raise SettingsError("MDC_SCHEDULE_CHECK_SECONDS must be above 0 and at most 3600, "
                                f"got {self.schedule_check_seconds}")
        if not 0.5 <= self.schedule_minute_seconds <= 60:
            raise SettingsError("MDC_SCHEDULE_MINUTE_SECONDS must be from 0.5 to 60, "
                                f"got {self.schedule_minute_seconds}")
        if not 0 < self.ib_pacing_scale <= 1:
            raise SettingsError(f"MDC_IB_PACING_SCALE must be above 0 and at most 1, got {self.ib_pacing_scale}")
        for name in ("max_retries", "retry_base_seconds", "sim_delay_seconds", "sim_max_delay_seconds",
                     "yahoo_pacing_seconds", "ib_reconnect_seconds", "db_wait_seconds", "trusted_proxies"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{env_name(name)} must be 0 or more, got {getattr(self, name)}")
        self._check_timing()
        if self.auth_token and any(c.isspace() for c in self.auth_token):
            raise SettingsError("MDC_AUTH_TOKEN contains a space, tab or line break (often a trailing space in "
                                ".env): people would type or paste it without, so it could never match. Remove it.")
        if self.auth_token and len(self.auth_token) < MIN_TOKEN_LENGTH:
            raise SettingsError(f"MDC_AUTH_TOKEN is {len(self.auth_token)} characters long: use at least "
                                f"{MIN_TOKEN_LENGTH} (for example the output of "
                                "python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(f"REDIS_URL must start with redis://, rediss:// or unix://, got {self.redis_url!r}")
        for name in ("ib_port", "web_port"):
            if not 0 < getattr(self, name) < 65536:
                raise SettingsError(f"{env_name(name)} must be a TCP port (1-65535), got {getattr(self, name)}")


    def _check_timing(self) -> None:
        """Numbers that are fine alone but not together, and no infinity or NaN anywhere."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise SettingsError(f"{env_name(f.name)} must be a finite number, got {value}")
        if self.heartbeat_ttl_seconds < 2 * self.heartbeat_seconds:
            raise SettingsError(
                f"MDC_HEARTBEAT_TTL_SECONDS ({self.heartbeat_ttl_seconds:g}) must be at least twice "
                f"MDC_HEARTBEAT_SECONDS ({self.heartbeat_seconds:g}): a collector beats every "
                f"{self.heartbeat_seconds:g} s and would look dead between two beats")
        if self.claim_idle_seconds < 2 * self.heartbeat_seconds:
            raise SettingsError(
                f"MDC_CLAIM_IDLE_SECONDS ({self.claim_idle_seconds:g}) must be at least twice "
                f"MDC_HEARTBEAT_SECONDS ({self.heartbeat_seconds:g}): a running job's claim is refreshed "
                "with every beat, and would be taken over between two")


_ENV_NAMES = {"redis_url": "REDIS_URL", "database_url": "DATABASE_URL"}


def is_loopback(host: str) -> bool:
    return host.strip("[]").lower() in ("localhost", "::1") or host.startswith("127.")


def env_name(field_name: str) -> str:
    return _ENV_NAMES.get(field_name, "MDC_" + field_name.upper())


# ASCII digits only (float() also reads '١' and 'nan' and 'inf'); finite by construction.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


def _convert(var: str, raw: str, kind: type) -> object:
    """The environment's text as the field's type; SettingsError says what was expected."""
    if kind is bool:
        value = parse_bool(raw)
        if value is None:
            raise SettingsError(f"{var} must be {YES_NO_HELP}, got {raw!r}")
        return value
    if kind is int:
        value = parse_whole(raw)
        if value is None:
            raise SettingsError(f"{var} must be a whole number written with the digits 0-9, got {raw!r}")
        return value
    if kind is float:
        if not _NUMBER.fullmatch(raw.strip()):
            raise SettingsError(f"{var} must be a number written with the digits 0-9, such as 2 or 0.5, got {raw!r}")
        return float(raw)
    return kind(raw)
