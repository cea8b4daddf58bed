"""Every state change of a job, each a compare-and-set UPDATE.

    PENDING -> RUNNING -> COMPLETED | FAILED | CANCELLED, and PENDING -> CANCELLED.

A collector owns a job while `status = RUNNING AND collector = <its name>`; every write it
makes is conditioned on that, so a collector that lost the job (taken over after it went
silent) can never overwrite the new owner's work, and a cancel is never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import case, func, update
from sqlalchemy.orm import Session

from collector.store import Database, Job, JobStatus, UpsertCounts, upsert_bars
from collector.store.models import ACTIVE_STATUSES
from collector.timespec import utcnow

CANCELLED_BEFORE_START = "Cancelled before it started."
CANCELLED_ON_REQUEST = "Cancelled on request."


class LostJob(Exception):
    """The job is no longer ours (taken over or finished elsewhere)."""


@dataclass(frozen=True)
class ChunkSaved:
    counts: UpsertCounts
    cancel_requested: bool


@dataclass(frozen=True)
class Ended:
    status: JobStatus  # what the row says now: a cancel that came during the last chunk wins
    counts: UpsertCounts  # bars of the last chunk written in the same transaction


# --- a collector takes, runs and ends a job -------------------------------------------------

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
        changed = session.execute(update(Job).where(*_held_by(job_id, previous))
                                  .values(collector=collector, attempts=Job.attempts + 1)).rowcount
        return session.get(Job, job_id) if changed else None


def set_total(db: Database, job_id: int, collector: str, total: int) -> None:
    with db.write() as session:
        session.execute(_owned(job_id, collector).values(progress_total=total))


def save_chunk(db: Database, job: Job, collector: str, frame: pd.DataFrame, next_chunk: int) -> ChunkSaved:
    """Upsert the bars and move the checkpoint in one transaction, so a resumed job neither
    loses nor double-counts a chunk. Raises LostJob when the job is not ours."""
    with db.write() as session:
        counts = _write_chunk(session, job, frame)
        row = session.execute(_owned(job.id, collector).values(**_checkpoint(counts, next_chunk))
                              .returning(Job.cancel_requested)
                              .execution_options(synchronize_session=False)).first()
        if row is None:
            session.rollback()
            raise LostJob(job.id)
    return ChunkSaved(counts, bool(row[0]))


def end(db: Database, job: Job, collector: str, status: JobStatus, error: str | None = None, *,
        last_chunk: tuple[pd.DataFrame, int] | None = None) -> Ended:
    """RUNNING -> COMPLETED / FAILED / CANCELLED. With `last_chunk` (its bars and the chunk
    count) the bars are written in the same transaction, and a cancel that arrived while
    they were fetched turns COMPLETED into CANCELLED. Raises LostJob when the job is not ours."""
    with db.write() as session:
        counts = UpsertCounts()
        values: dict = dict(finished_at=utcnow(), error=error, status=status)
        if last_chunk is not None:
            frame, next_chunk = last_chunk
            counts = _write_chunk(session, job, frame)
            values.update(_checkpoint(counts, next_chunk))
            if status == JobStatus.COMPLETED:
                values["status"] = case((Job.cancel_requested, JobStatus.CANCELLED), else_=JobStatus.COMPLETED)
                values["error"] = case((Job.cancel_requested, CANCELLED_ON_REQUEST), else_=None)
        row = session.execute(_owned(job.id, collector).values(**values).returning(Job.status)
                              .execution_options(synchronize_session=False)).first()
        if row is None:
            session.rollback()
            raise LostJob(job.id)
    return Ended(JobStatus(row[0]), counts)


def hand_back(db: Database, job_id: int, collector: str) -> bool:
    """RUNNING -> PENDING with the checkpoint kept, for another collector to resume."""
    with db.write() as session:
        return bool(session.execute(_owned(job_id, collector).values(
            status=JobStatus.PENDING, collector=None, published_at=None)).rowcount)


# --- recovery ------------------------------------------------------------------------------

def fail_unowned(db: Database, job_id: int, error: str) -> Job | None:
    """PENDING or RUNNING -> FAILED whoever holds it (poison entries)."""
    with db.write() as session:
        changed = session.execute(update(Job).where(Job.id == job_id, Job.status.in_(ACTIVE_STATUSES))
                                  .values(status=JobStatus.FAILED, finished_at=utcnow(), error=error)).rowcount
        return session.get(Job, job_id) if changed else None


def requeue(db: Database, job_id: int, previous: str | None) -> bool:
    """RUNNING (its collector gone and its queue entry lost) -> PENDING, checkpoint kept,
    unpublished so it is queued again. Conditioned on the collector that held it."""
    with db.write() as session:
        return bool(session.execute(update(Job).where(*_held_by(job_id, previous)).values(
            status=JobStatus.PENDING, collector=None, published_at=None)).rowcount)


# --- people ----------------------------------------------------------------------------------

def cancel(db: Database, job_id: int) -> tuple[Job | None, bool]:
    """PENDING -> CANCELLED at once; RUNNING -> flagged, for its collector to stop after the
    current chunk. Returns (the job as it is now, whether it was cancelled at once)."""
    with db.write() as session:
        at_once = bool(session.execute(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.PENDING)
            .values(status=JobStatus.CANCELLED, finished_at=utcnow(), error=CANCELLED_BEFORE_START)).rowcount)
        if not at_once:
            session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING)
                            .values(cancel_requested=True))
        return session.get(Job, job_id), at_once


def dismiss(db: Database, job_ids: list[int] | None = None) -> int:
    """Mark failures as seen (these, or every one): off the banner and the navigation's count."""
    where = [Job.status == JobStatus.FAILED, Job.dismissed_at.is_(None)]
    if job_ids is not None:
        where.append(Job.id.in_(job_ids))
    with db.write() as session:
        return session.execute(update(Job).where(*where).values(dismissed_at=utcnow())).rowcount or 0


# --- the outbox: is the job's queue entry known to exist? -----------------------------------

def mark_published(db: Database, job_id: int) -> None:
    with db.write() as session:
        session.execute(update(Job).where(Job.id == job_id).values(published_at=utcnow()))


def mark_unpublished(db: Database, job_id: int) -> None:
    """The XADD failed: the collectors' outbox duty queues the job once Redis is back."""
    with db.write() as session:
        session.execute(update(Job).where(Job.id == job_id).values(published_at=None))


def unpublish_older_than(db: Database, cutoff: datetime) -> None:
    """Active jobs whose queue entries are about to be trimmed get queued again, not lost."""
    with db.write() as session:
        session.execute(update(Job).where(Job.status.in_(ACTIVE_STATUSES), Job.published_at < cutoff)
                        .values(published_at=None))


def _write_chunk(session: Session, job: Job, frame: pd.DataFrame) -> UpsertCounts:
    return upsert_bars(session, source=job.source, symbol=job.symbol, interval=job.interval,
                       kind=job.kind, frame=frame)


def _checkpoint(counts: UpsertCounts, next_chunk: int) -> dict:
    return dict(progress_done=next_chunk, checkpoint={"next_chunk": next_chunk},
                rows_new=Job.rows_new + counts.new, rows_updated=Job.rows_updated + counts.updated,
                rows_unchanged=Job.rows_unchanged + counts.unchanged)


def _owned(job_id: int, collector: str):
    return update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.collector == collector)


def _held_by(job_id: int, previous: str | None) -> list:
    holder = Job.collector.is_(None) if previous is None else Job.collector == previous
    return [Job.id == job_id, Job.status == JobStatus.RUNNING, holder]
