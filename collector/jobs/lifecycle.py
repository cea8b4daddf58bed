"""State transitions a collector makes on a job, each a compare-and-set UPDATE.

A collector owns a job while `status = RUNNING AND collector = <its name>`; every write it
makes is conditioned on that, so a collector that lost the job (taken over after it went
silent) can never overwrite the new owner's work.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import case, func, update

from collector.store.db import Database
from collector.store.models import Job, JobStatus
from collector.store.upsert import UpsertCounts, upsert_bars
from collector.timespec import utcnow


class LostJob(Exception):
    """The job is no longer ours (taken over or finished elsewhere)."""


@dataclass(frozen=True)
class ChunkSaved:
    counts: UpsertCounts
    cancel_requested: bool
    finished: str | None = None  # COMPLETED / CANCELLED when the last chunk also ended the job


def claim(db: Database, job_id: int, collector: str, total: int | None = None) -> Job | None:
    """PENDING -> RUNNING for `collector` (and its chunk count, when known); None when the
    job is not PENDING. One UPDATE and one read."""
    values = dict(status=JobStatus.RUNNING, collector=collector, attempts=Job.attempts + 1,
                  started_at=func.coalesce(Job.started_at, utcnow()))
    if total is not None:
        values["progress_total"] = total
    with db.write() as session:
        changed = session.execute(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.PENDING).values(**values)
            .execution_options(synchronize_session=False)).rowcount
        return session.get(Job, job_id) if changed else None


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


def save_chunk(db: Database, job: Job, collector: str, frame: pd.DataFrame, next_chunk: int,
               last: bool = False) -> ChunkSaved:
    """Upsert the bars and move the checkpoint in one transaction, so a resumed job
    neither loses nor double-counts a chunk; the last chunk also ends the job (COMPLETED, or
    CANCELLED when a cancel arrived meanwhile). Raises LostJob when the job is not ours."""
    with db.write() as session:
        counts = upsert_bars(session, source=job.source, symbol=job.symbol, interval=job.interval,
                             kind=job.kind, frame=frame)
        values = dict(progress_done=next_chunk, checkpoint={"next_chunk": next_chunk},
                      rows_new=Job.rows_new + counts.new, rows_updated=Job.rows_updated + counts.updated,
                      rows_unchanged=Job.rows_unchanged + counts.unchanged)
        if last:
            values.update(status=case((Job.cancel_requested, JobStatus.CANCELLED), else_=JobStatus.COMPLETED),
                          finished_at=utcnow())
        row = session.execute(_owned(job.id, collector).values(**values)
                              .returning(Job.cancel_requested, Job.status)
                              .execution_options(synchronize_session=False)).first()
        if row is None:
            session.rollback()
            raise LostJob(job.id)
    return ChunkSaved(counts, bool(row[0]), str(row[1]) if last else None)


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
