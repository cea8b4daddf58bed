"""Redis clients per role: a page must say "Redis unreachable" quickly rather than hang; a
collector retries a little inside redis-py, its loop owns the longer backoff."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

ROLES: dict[str, dict] = {
    "web": dict(socket_timeout=2, socket_connect_timeout=1),
    "collector": dict(socket_timeout=10, socket_connect_timeout=2,
                      retry=Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), 2)),
    "cli": dict(socket_timeout=5, socket_connect_timeout=3),
}


def redis_client(url: str, role: str) -> redis.Redis:
    """A client for `role` ("web", "collector" or "cli"); it connects on first use."""
    return redis.Redis.from_url(url, decode_responses=True, **ROLES[role])
