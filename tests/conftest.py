"""Shared fixtures: a real Redis-protocol server for the session, settings on a fresh
key prefix and a fresh database per test."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
import redis

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


@pytest.fixture
def settings(tmp_path: Path, redis_url: str, key_prefix: str) -> Settings:
    return Settings(data_dir=tmp_path, redis_url=redis_url, key_prefix=key_prefix,
                    sim_delay_seconds=0.0, retry_base_seconds=0.01,
                    heartbeat_seconds=0.2, claim_idle_seconds=5.0)
