"""Figures about jobs for the monitor page and /metrics, computed in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from collector.store import ACTIVE_STATUSES, Database, Job, JobStatus
from collector.store.models import seconds_between
from collector.timespec import utcnow

ENDED = (JobStatus.COMPLETED, JobStatus.FAILED)


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


@dataclass(frozen=True)
class Histogram:
    buckets: list[tuple[float, int]]  # (upper bound, cumulative count)
    count: int
    total: float


class JobStats:
    def __init__(self, db: Database):
        self.db = db

    def summary(self, now: datetime | None = None) -> Summary:
        """Queued and running now; completed, failed, average wait and run time over 24 hours."""
        since = (now or utcnow()) - timedelta(hours=24)
        with self.db.read() as session:
            active = dict(session.execute(select(Job.status, func.count()).where(
                Job.status.in_(ACTIVE_STATUSES)).group_by(Job.status)).all())
            ended = dict(session.execute(select(Job.status, func.count()).where(
                Job.finished_at >= since, Job.status.in_(ENDED)).group_by(Job.status)).all())
            avg_wait = session.scalar(select(func.avg(seconds_between(Job.created_at, Job.started_at)))
                                      .where(Job.started_at >= since))
            avg_run = session.scalar(select(func.avg(Job.duration_s)).where(
                Job.finished_at >= since, Job.status == JobStatus.COMPLETED, Job.started_at.is_not(None)))
        return Summary(queued=active.get(JobStatus.PENDING, 0), running=active.get(JobStatus.RUNNING, 0),
                       completed_24h=ended.get(JobStatus.COMPLETED, 0), failed_24h=ended.get(JobStatus.FAILED, 0),
                       avg_wait_s=None if avg_wait is None else float(avg_wait),
                       avg_run_s=None if avg_run is None else float(avg_run))

    def per_hour(self, hours: int, now: datetime | None = None) -> list[tuple[datetime, int, int]]:
        """(hour start, completed, failed), oldest first, `hours` buckets ending now."""
        now = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
        since = now - timedelta(hours=hours - 1)
        buckets = {since + timedelta(hours=h): [0, 0] for h in range(hours)}
        with self.db.read() as session:
            rows = session.execute(select(Job.finished_at, Job.status).where(
                Job.finished_at >= since, Job.status.in_(ENDED))).all()
        for finished, status in rows:
            bucket = buckets.get(finished.replace(minute=0, second=0, microsecond=0))
            if bucket is not None:
                bucket[0 if status == JobStatus.COMPLETED else 1] += 1
        return [(start, done, failed) for start, (done, failed) in buckets.items()]

    def durations(self, bounds: tuple[float, ...]) -> Histogram:
        """Run time of the completed jobs still kept, as a cumulative histogram."""
        duration = Job.duration_s
        columns = [func.count(), func.coalesce(func.sum(duration), 0)]
        columns += [func.sum(case((duration <= b, 1), else_=0)) for b in bounds]
        with self.db.read() as session:
            total, seconds, *cumulative = session.execute(select(*columns).where(
                Job.status == JobStatus.COMPLETED, Job.started_at.is_not(None))).one()
        return Histogram([(float(b), int(c or 0)) for b, c in zip(bounds, cumulative)], int(total), float(seconds or 0))
