"""State transitions a collector makes on a job, each a compare-and-set UPDATE.

A collector owns a job while `status = RUNNING AND collector = <its name>`; every write it
makes is conditioned on that, so a collector that lost the job (taken over after it went
silent) can never overwrite the new owner's work.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select, update

from .bars import UpsertCounts, upsert_bars
from .db import Database
from .models import Job, JobStatus
from .timespec import utcnow


class LostJob(Exception):
    """The job is no longer ours (taken over or finished elsewhere)."""


@dataclass(frozen=True)
class ChunkSaved:
    counts: UpsertCounts
    cancel_requested: bool


def claim(db: Database, job_id: int, collector: str, total: int | None = None) -> Job | None:
    """PENDING -> RUNNING for `collector`; None when the job is not PENDING."""
    now = utcnow()
    with db.write() as session:
        job = session.get(Job, job_id)
        if job is None or job.status != JobStatus.PENDING:
            return None
        changed = session.execute(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.PENDING)
            .values(status=JobStatus.RUNNING, collector=collector, attempts=Job.attempts + 1,
                    started_at=job.started_at or now)).rowcount
        if not changed:
            return None
        session.refresh(job)
        return job


def take_over(db: Database, job_id: int, collector: str, previous: str | None) -> Job | None:
    """RUNNING (held by a collector that stopped) -> RUNNING for `collector`."""
    with db.write() as session:
        condition = [Job.id == job_id, Job.status == JobStatus.RUNNING]
        condition.append(Job.collector.is_(None) if previous is None else Job.collector == previous)
        changed = session.execute(update(Job).where(*condition)
                                  .values(collector=collector, attempts=Job.attempts + 1)).rowcount
        return session.get(Job, job_id) if changed else None


def set_total(db: Database, job_id: int, collector: str, total: int) -> None:
    with db.write() as session:
        session.execute(_owned(job_id, collector).values(progress_total=total))


def save_chunk(db: Database, job: Job, collector: str, frame: pd.DataFrame, next_chunk: int) -> ChunkSaved:
    """Upsert the bars and move the checkpoint in one transaction, so a resumed job
    neither loses nor double-counts a chunk. Raises LostJob when the job is not ours."""
    with db.write() as session:
        counts = upsert_bars(session, source=job.source, symbol=job.symbol, interval=job.interval,
                             kind=job.kind, frame=frame)
        result = session.execute(
            _owned(job.id, collector).values(
                progress_done=next_chunk, checkpoint={"next_chunk": next_chunk},
                rows_new=Job.rows_new + counts.new, rows_updated=Job.rows_updated + counts.updated,
                rows_unchanged=Job.rows_unchanged + counts.unchanged))
        if result.rowcount == 0:
            session.rollback()
            raise LostJob(job.id)
        cancel = session.scalar(select(Job.cancel_requested).where(Job.id == job.id))
    return ChunkSaved(counts, bool(cancel))


def finish(db: Database, job_id: int, collector: str, status: JobStatus, error: str | None = None) -> Job:
    """RUNNING -> COMPLETED / FAILED / CANCELLED."""
    with db.write() as session:
        changed = session.execute(_owned(job_id, collector).values(
            status=status, finished_at=utcnow(), error=error)).rowcount
        if not changed:
            raise LostJob(job_id)
        return session.get(Job, job_id)


def fail_unowned(db: Database, job_id: int, error: str) -> Job | None:
    """PENDING or RUNNING -> FAILED whoever holds it (poison entries)."""
    with db.write() as session:
        changed = session.execute(update(Job).where(
            Job.id == job_id, Job.status.in_((JobStatus.PENDING, JobStatus.RUNNING)))
            .values(status=JobStatus.FAILED, finished_at=utcnow(), error=error)).rowcount
        return session.get(Job, job_id) if changed else None


def hand_back(db: Database, job_id: int, collector: str) -> bool:
    """RUNNING -> PENDING with the checkpoint kept, for another collector to resume."""
    with db.write() as session:
        return bool(session.execute(_owned(job_id, collector).values(
            status=JobStatus.PENDING, collector=None, published_at=None)).rowcount)


def requeue(db: Database, job_id: int, previous: str | None) -> bool:
    """RUNNING (its collector gone and its queue entry lost) -> PENDING, checkpoint kept,
    unpublished so it is queued again. Conditioned on the collector that held it."""
    with db.write() as session:
        condition = [Job.id == job_id, Job.status == JobStatus.RUNNING]
        condition.append(Job.collector.is_(None) if previous is None else Job.collector == previous)
        return bool(session.execute(update(Job).where(*condition).values(
            status=JobStatus.PENDING, collector=None, published_at=None)).rowcount)


def _owned(job_id: int, collector: str):
    return update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.collector == collector)
