"""Duty locks: SET NX with a TTL, so all collectors together run a duty once per period."""

from __future__ import annotations

import redis


def try_lock(client: redis.Redis, key: str, owner: str, ttl_s: float) -> bool:
    """Take `key` for `ttl_s` seconds unless someone holds it; it is never released early,
    so the TTL is also the period of the duty it guards."""
    return bool(client.set(key, owner, nx=True, px=max(1, int(ttl_s * 1000))))
