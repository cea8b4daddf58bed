"""One way to build the clients every part of mdc uses: the web app, collectors and the CLI
differ only in how long they wait for Redis (see queue/client.py)."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from .jobs import JobManager, JobStats
from .queue import FailedAttempts, Queue, QueueStats, Registry, WebSessions
from .queue.client import redis_client
from .settings import Settings
from .sources import SourceSet
from .store import Database, SeriesStore


@dataclass
class Services:
    """Everything a process needs to work with jobs, series and the queue."""

    settings: Settings
    db: Database
    redis: redis.Redis
    queue: Queue
    registry: Registry
    sources: SourceSet
    jobs: JobManager
    series: SeriesStore
    job_stats: JobStats
    queue_stats: QueueStats
    web_sessions: WebSessions
    failed_attempts: FailedAttempts

    def close(self) -> None:
        self.sources.close()
        self.db.dispose()
        self.redis.close()


def connect(settings: Settings, role: str = "cli", *, db: Database | None = None,
            client: redis.Redis | None = None) -> Services:
    """Build the clients for `role` ("web", "collector" or "cli"), or around the database and
    Redis client given. Nothing is contacted yet: connections open on first use."""
    db = db or Database(settings.sqlalchemy_url)
    client = client or redis_client(settings.redis_url, role)
    queue = Queue(client, settings.key_prefix, events_maxlen=settings.events_maxlen)
    registry = Registry(client, settings.key_prefix, ttl_seconds=settings.heartbeat_ttl_seconds)
    # Only collectors fetch, so only their sources get the client that paces requests.
    sources = SourceSet(settings, redis=client if role == "collector" else None)
    jobs = JobManager(db, queue, settings, sources, registry)
    attempts = FailedAttempts(client, settings.key_prefix, limit=settings.auth_failures_per_minute)
    return Services(settings, db, client, queue, registry, sources, jobs, jobs.series, JobStats(db), QueueStats(queue),
                    WebSessions(client, settings.key_prefix), attempts)
