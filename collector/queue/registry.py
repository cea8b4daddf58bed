"""Collector heartbeats: a hash with a TTL per collector plus a sorted set by last beat,
so a dead collector ages out by itself and `check` can answer from Redis alone."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import redis


class Registry:
    def __init__(self, client: redis.Redis, prefix: str = "mdc", *, ttl_seconds: float = 15.0):
        self.redis = client
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.index = f"{prefix}:collectors"

    def key(self, name: str) -> str:
        return f"{self.prefix}:collector:{name}"

    def beat(self, name: str, **fields: Any) -> None:
        now = time.time()
        data = {"name": name, "host": socket.gethostname(), "pid": os.getpid(), "last_beat": f"{now:.3f}"}
        data.update({k: "" if v is None else str(v) for k, v in fields.items()})
        pipe = self.redis.pipeline()
        pipe.hset(self.key(name), mapping=data)
        pipe.pexpire(self.key(name), int(self.ttl_seconds * 1000))
        pipe.zadd(self.index, {name: now})
        pipe.execute()

    def remove(self, name: str) -> None:
        pipe = self.redis.pipeline()
        pipe.delete(self.key(name))
        pipe.zrem(self.index, name)
        pipe.execute()

    def alive(self, name: str) -> bool:
        return bool(self.redis.exists(self.key(name)))

    def info(self, name: str) -> dict[str, str]:
        """The collector's last heartbeat ({} once it aged out)."""
        return self.redis.hgetall(self.key(name)) or {}

    def silent_for(self, name: str) -> float:
        """Seconds since the collector's last beat (infinity once it aged out)."""
        last = self.info(name).get("last_beat")
        return time.time() - float(last) if last else float("inf")

    def prune(self, keep_dead_seconds: float = 300.0) -> int:
        """Forget collectors silent for longer than `keep_dead_seconds`; returns how many."""
        return int(self.redis.zremrangebyscore(self.index, "-inf", time.time() - keep_dead_seconds))

    def collectors(self, *, keep_dead_seconds: float = 300.0) -> list[dict[str, Any]]:
        """Every collector seen recently, newest beat first; `alive` False once its TTL ran out.

        Collectors silent for longer than `keep_dead_seconds` are dropped from the index.
        """
        self.prune(keep_dead_seconds)
        names = self.redis.zrevrange(self.index, 0, -1, withscores=True)
        pipe = self.redis.pipeline(transaction=False)
        for name, _ in names:
            pipe.hgetall(self.key(name))
        result = []
        for (name, last), data in zip(names, pipe.execute()):
            info = dict(data) if data else {"name": name}
            info["alive"] = bool(data)
            info["last_beat"] = float(info.get("last_beat") or last)
            result.append(info)
        return result

    def live_count(self) -> int:
        """Collectors that beat within the TTL: one read, cheap enough for the banner's poll."""
        return int(self.redis.zcount(self.index, time.time() - self.ttl_seconds, "+inf"))
