"""Figures kept in Redis for the monitor page and /metrics: bars written, the work stream,
the server itself.

Bars written are counted in Redis as they are written (an hourly hash per source kept for
8 days, plus running totals), so "bars per hour" is exact and survives job cleanup.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import redis

from collector.timespec import utcnow

from .streams import GROUP, Queue

HOURLY_TTL_SECONDS = 8 * 86400


def _hour_key(prefix: str, when: datetime) -> str:
    return f"{prefix}:stats:bars:{when.astimezone(timezone.utc):%Y%m%d%H}"


def record_bars(pipe: Any, prefix: str, source: str, count: int, when: datetime | None = None) -> None:
    """Queue on `pipe` (a pipeline the caller executes) the count of `count` bars written
    (new or updated) for `source`."""
    if count <= 0:
        return
    key = _hour_key(prefix, when or utcnow())
    pipe.hincrby(key, source, count)
    pipe.expire(key, HOURLY_TTL_SECONDS)
    pipe.hincrby(f"{prefix}:stats:bars_total", source, count)


class QueueStats:
    """What Redis knows: bars written per hour and source, the work stream, the server."""

    def __init__(self, queue: Queue):
        self.queue = queue
        self.redis: redis.Redis = queue.redis
        self.prefix = queue.prefix

    def bars_total(self) -> dict[str, int]:
        """Bars written since the counters began, by source."""
        return {k: int(v) for k, v in self.redis.hgetall(f"{self.prefix}:stats:bars_total").items()}

    def bars_per_hour(self, hours: int, now: datetime | None = None) -> list[tuple[datetime, int]]:
        """(hour start, bars written in that hour), oldest first, `hours` buckets ending now."""
        now = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
        starts = [now - timedelta(hours=h) for h in range(hours - 1, -1, -1)]
        pipe = self.redis.pipeline(transaction=False)
        for start in starts:
            pipe.hvals(_hour_key(self.prefix, start))
        return [(start, sum(int(v) for v in values)) for start, values in zip(starts, pipe.execute())]

    def stream(self) -> dict[str, Any]:
        """Length, pending, lag, age of the oldest pending entry, the most-delivered entry."""
        queue = self.queue
        info = queue.stream_info()
        summary_reply = self.redis.xpending(queue.stream, GROUP)
        oldest_age = None
        if summary_reply and summary_reply.get("pending"):
            oldest_ms = int(str(summary_reply["min"]).split("-")[0])
            oldest_age = max(0.0, time.time() - oldest_ms / 1000)
        most = None
        for row in self.redis.xpending_range(queue.stream, GROUP, min="-", max="+", count=100):
            if most is None or row["times_delivered"] > most["times_delivered"]:
                most = row
        if most is not None:
            fields = self.redis.xrange(queue.stream, min=most["message_id"], max=most["message_id"])
            most = {"id": most["message_id"], "consumer": most["consumer"], "deliveries": most["times_delivered"],
                    "job_id": int(fields[0][1].get("job_id", 0)) if fields else None}
        return {**info, "oldest_pending_age_s": oldest_age, "most_delivered": most}

    def server(self) -> dict[str, Any]:
        """Which server, its memory, clients, uptime and persistence."""
        info = self.redis.info()
        aof = str(info.get("aof_enabled", 0)) == "1"
        return {"version": info.get("valkey_version") or info.get("redis_version"),
                "server": "Valkey" if info.get("valkey_version") or info.get("server_name") == "valkey" else "Redis",
                "memory": info.get("used_memory_human"), "memory_bytes": info.get("used_memory"),
                "clients": info.get("connected_clients"),
                "uptime_s": info.get("uptime_in_seconds"), "aof": aof,
                "aof_status": info.get("aof_last_write_status"),
                "rdb_last_save": info.get("rdb_last_save_time"),
                "rdb_changes": info.get("rdb_changes_since_last_save")}
