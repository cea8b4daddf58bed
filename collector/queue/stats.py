"""Figures for the monitor page and /metrics, from the database and Redis.

Bars written are counted in Redis as they are written (an hourly hash per source kept for
8 days, plus running totals), so "bars per hour" is exact and survives job cleanup.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import redis
from sqlalchemy import func, select

from collector.store.db import Database
from collector.store.models import Job, JobStatus
from collector.timespec import utcnow

from .streams import GROUP, Queue

HOURLY_TTL_SECONDS = 8 * 86400


def _hour_key(prefix: str, when: datetime) -> str:
    return f"{prefix}:stats:bars:{when.astimezone(timezone.utc):%Y%m%d%H}"


def record_bars(client: redis.Redis, prefix: str, source: str, count: int, when: datetime | None = None) -> None:
    """Count `count` bars written (new or updated) for `source`.

    Given a pipeline, the commands are only queued on it (the caller executes it)."""
    if count <= 0:
        return
    key = _hour_key(prefix, when or utcnow())
    own = not isinstance(client, redis.client.Pipeline)
    pipe = client.pipeline(transaction=False) if own else client
    pipe.hincrby(key, source, count)
    pipe.expire(key, HOURLY_TTL_SECONDS)
    pipe.hincrby(f"{prefix}:stats:bars_total", source, count)
    if own:
        pipe.execute()


def bars_total(client: redis.Redis, prefix: str) -> dict[str, int]:
    return {k: int(v) for k, v in client.hgetall(f"{prefix}:stats:bars_total").items()}


def bars_per_hour(client: redis.Redis, prefix: str, hours: int, now: datetime | None = None) -> list[tuple[datetime, int]]:
    """(hour start, bars written in that hour), oldest first, `hours` buckets ending now."""
    now = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
    starts = [now - timedelta(hours=h) for h in range(hours - 1, -1, -1)]
    pipe = client.pipeline(transaction=False)
    for start in starts:
        pipe.hvals(_hour_key(prefix, start))
    return [(start, sum(int(v) for v in values)) for start, values in zip(starts, pipe.execute())]


def jobs_per_hour(db: Database, hours: int, now: datetime | None = None) -> list[tuple[datetime, int, int]]:
    """(hour start, completed, failed), oldest first."""
    now = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
    since = now - timedelta(hours=hours - 1)
    buckets = {since + timedelta(hours=h): [0, 0] for h in range(hours)}
    with db.read() as session:
        rows = session.execute(select(Job.finished_at, Job.status).where(
            Job.finished_at >= since, Job.status.in_((JobStatus.COMPLETED, JobStatus.FAILED)))).all()
    for finished, status in rows:
        bucket = buckets.get(finished.replace(minute=0, second=0, microsecond=0))
        if bucket is not None:
            bucket[0 if status == JobStatus.COMPLETED else 1] += 1
    return [(start, done, failed) for start, (done, failed) in buckets.items()]


@dataclass(frozen=True)
class Summary:
    queued: int
    running: int
    completed_24h: int
    failed_24h: int
    avg_wait_s: float | None
    avg_run_s: float | None

    @property
    def success_rate(self) -> float | None:
        finished = self.completed_24h + self.failed_24h
        return self.completed_24h / finished if finished else None


def summary(db: Database, now: datetime | None = None) -> Summary:
    now = now or utcnow()
    since = now - timedelta(hours=24)
    with db.read() as session:
        by_status = dict(session.execute(select(Job.status, func.count()).where(
            Job.status.in_((JobStatus.PENDING, JobStatus.RUNNING))).group_by(Job.status)).all())
        finished = dict(session.execute(select(Job.status, func.count()).where(
            Job.finished_at >= since, Job.status.in_((JobStatus.COMPLETED, JobStatus.FAILED)))
            .group_by(Job.status)).all())
        started = session.execute(select(Job.created_at, Job.started_at).where(Job.started_at >= since)).all()
        runs = session.execute(select(Job.started_at, Job.finished_at).where(
            Job.finished_at >= since, Job.status == JobStatus.COMPLETED, Job.started_at.is_not(None))).all()
    waits = [(s - c).total_seconds() for c, s in started]
    run_times = [(f - s).total_seconds() for s, f in runs]
    return Summary(queued=by_status.get("PENDING", 0), running=by_status.get("RUNNING", 0),
                   completed_24h=finished.get("COMPLETED", 0), failed_24h=finished.get("FAILED", 0),
                   avg_wait_s=sum(waits) / len(waits) if waits else None,
                   avg_run_s=sum(run_times) / len(run_times) if run_times else None)


def stream_details(queue: Queue) -> dict[str, Any]:
    """Length, pending, lag, age of the oldest pending entry, the most-delivered entry."""
    info = queue.stream_info()
    summary_reply = queue.redis.xpending(queue.stream, GROUP)
    oldest_age = None
    if summary_reply and summary_reply.get("pending"):
        oldest_ms = int(str(summary_reply["min"]).split("-")[0])
        oldest_age = max(0.0, time.time() - oldest_ms / 1000)
    most = None
    for row in queue.redis.xpending_range(queue.stream, GROUP, min="-", max="+", count=100):
        if most is None or row["times_delivered"] > most["times_delivered"]:
            most = row
    if most is not None:
        fields = queue.redis.xrange(queue.stream, min=most["message_id"], max=most["message_id"])
        most = {"id": most["message_id"], "consumer": most["consumer"], "deliveries": most["times_delivered"],
                "job_id": int(fields[0][1].get("job_id", 0)) if fields else None}
    return {**info, "oldest_pending_age_s": oldest_age, "most_delivered": most}


def redis_details(client: redis.Redis) -> dict[str, Any]:
    info = client.info()
    aof = str(info.get("aof_enabled", 0)) == "1"
    return {"version": info.get("valkey_version") or info.get("redis_version"),
            "server": "Valkey" if info.get("valkey_version") or info.get("server_name") == "valkey" else "Redis",
            "memory": info.get("used_memory_human"), "clients": info.get("connected_clients"),
            "uptime_s": info.get("uptime_in_seconds"), "aof": aof,
            "aof_status": info.get("aof_last_write_status"),
            "rdb_last_save": info.get("rdb_last_save_time"),
            "rdb_changes": info.get("rdb_changes_since_last_save")}
