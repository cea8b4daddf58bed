"""Every state change of a job, each a compare-and-set UPDATE.

    PENDING -> RUNNING -> COMPLETED | FAILED | CANCELLED, and PENDING -> CANCELLED.

A collector owns a job while `status = RUNNING AND collector = <its name>`; every write it
makes is conditioned on that, so a collector that lost the job (taken over after it went
silent) can never overwrite the new owner's work, and a cancel is never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import case, func, update
from sqlalchemy.orm import Session

from collector.corporate import LedgerEntry
from collector.i18n import N_, message_data
from collector.quality import Rules
from collector.sources.base import Fetched
from collector.store import Database, Job, JobStatus, UpsertCounts, chunks, ledger
from collector.store.chunks import SeriesKey, Written, write_chunk
from collector.store.models import ACTIVE_STATUSES
from collector.timespec import utcnow

CANCELLED_BEFORE_START = N_("Cancelled before it started.")
CANCELLED_ON_REQUEST = N_("Cancelled on request.")


class LostJob(Exception):
    """The job is no longer ours (taken over or finished elsewhere)."""


@dataclass(frozen=True)
class ChunkSaved:
    counts: UpsertCounts
    cancel_requested: bool
    suspect: int = 0  # bars of the chunk a quality check flagged


@dataclass(frozen=True)
class Ended:
    status: JobStatus  # what the row says now: a cancel that came during the last chunk wins
    counts: UpsertCounts  # bars of the last chunk written in the same transaction
    suspect: int = 0


@dataclass(frozen=True)
class Writing:
    """How a collector writes a job's chunks: the quality rules, and what to keep in the
    checkpoint besides the next chunk (the series as it was before the job wrote to it)."""

    rules: Rules = Rules()
    keep: dict[str, Any] = field(default_factory=dict)


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


def save_chunk(db: Database, job: Job, collector: str, fetched: Fetched | pd.DataFrame, next_chunk: int,
               writing: Writing = Writing()) -> ChunkSaved:
    """Write the chunk (bars, flags, reported actions) and move the checkpoint in one
    transaction, so a resumed job neither loses nor double-counts a chunk. Raises LostJob
    when the job is not ours."""
    with db.write() as session:
        written = _write_chunk(session, job, fetched, writing)
        row = session.execute(_owned(job.id, collector).values(**_checkpoint(written, next_chunk, writing))
                              .returning(Job.cancel_requested)
                              .execution_options(synchronize_session=False)).first()
        if row is None:
            session.rollback()
            raise LostJob(job.id)
    return ChunkSaved(written.counts, bool(row[0]), written.suspect)


def save_rewrite(db: Database, job: Job, collector: str, fetched: Fetched | pd.DataFrame,
                 writing: Writing = Writing()) -> Written:
    """Write bars the job fetched again (earlier bars brought to a new basis) without moving
    its checkpoint or counts. Raises LostJob when the job is not ours."""
    with db.write() as session:
        written = _write_chunk(session, job, fetched, writing)
        if not session.execute(_owned(job.id, collector).values(collector=collector)).rowcount:
            session.rollback()
            raise LostJob(job.id)
    return written


def bring_in_line(db: Database, job: Job, collector: str, series_id: int, entry: LedgerEntry, *, method: str,
                  bars: int, kept: int = 0, rescale: tuple[int, int] | None = None,
                  recheck: tuple[int, int] | None = None, writing: Writing = Writing()) -> int:
    """Record that the series is in line with a ledger entry; with `rescale` (a range of
    earlier bars), divide them by the split's ratio in the same transaction, so a resumed job
    never does it twice; with `recheck`, check the bars of that range (and just after it)
    again, their prices having changed. Returns the bars rescaled. Raises LostJob when the
    job is not ours."""
    with db.write() as session:
        rescaled = ledger.rescale(session, series_id, rescale[0], rescale[1], entry.value) if rescale else 0
        if recheck is not None:
            key = SeriesKey(job.source, job.symbol, job.interval, job.kind)
            chunks.recheck(session, series_id, key, recheck[0], recheck[1], writing.rules)
        ledger.mark_applied(session, series_id, entry, job.id, method, bars + rescaled, kept)
        if not session.execute(_owned(job.id, collector).values(collector=collector)).rowcount:
            session.rollback()
            raise LostJob(job.id)
    return rescaled


def mark_revised(db: Database, job: Job, series_id: int, bars: int, first_ts: int) -> None:
    """The overlap check found the source's history changed under the series."""
    with db.write() as session:
        ledger.mark_revised(session, series_id, job.id, bars, first_ts)


def end(db: Database, job: Job, collector: str, status: JobStatus, error: str | None = None, *,
        last_chunk: tuple[Fetched | pd.DataFrame, int] | None = None, writing: Writing = Writing()) -> Ended:
    """RUNNING -> COMPLETED / FAILED / CANCELLED. With `last_chunk` (its bars and the chunk
    count) the bars are written in the same transaction, and a cancel that arrived while
    they were fetched turns COMPLETED into CANCELLED. A completed re-collect job clears its
    series' "revised" mark. Raises LostJob when the job is not ours."""
    with db.write() as session:
        written = Written(UpsertCounts())
        values: dict = dict(finished_at=utcnow(), status=status, **error_values(error))
        if last_chunk is not None:
            fetched, next_chunk = last_chunk
            written = _write_chunk(session, job, fetched, writing)
            values.update(_checkpoint(written, next_chunk, writing))
            if status == JobStatus.COMPLETED:
                values["status"] = case((Job.cancel_requested, JobStatus.CANCELLED), else_=JobStatus.COMPLETED)
                values["error"] = case((Job.cancel_requested, str(CANCELLED_ON_REQUEST)), else_=None)
        row = session.execute(_owned(job.id, collector).values(**values).returning(Job.status)
                              .execution_options(synchronize_session=False)).first()
        if row is None:
            session.rollback()
            raise LostJob(job.id)
        if row[0] == JobStatus.COMPLETED:  # an indexed no-op unless the job re-collects a revised series
            ledger.clear_revised(session, job.id)
        if row[0] == JobStatus.CANCELLED and status == JobStatus.COMPLETED:  # the cancel won: its words too
            session.execute(update(Job).where(Job.id == job.id)
                            .values(error_i18n=message_data(CANCELLED_ON_REQUEST)))
    return Ended(JobStatus(row[0]), written.counts, written.suspect)


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
                                  .values(status=JobStatus.FAILED, finished_at=utcnow(), **error_values(error))).rowcount
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
            .values(status=JobStatus.CANCELLED, finished_at=utcnow(), **error_values(CANCELLED_BEFORE_START))).rowcount)
        if not at_once:
            session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING)
                            .values(cancel_requested=True))
        return session.get(Job, job_id), at_once


def cancel_many(db: Database, where: list) -> tuple[list[int], list[int]]:
    """`cancel` for every job matching `where` (SQL conditions on Job), in one transaction:
    returns (ids cancelled at once, ids of running jobs flagged to stop)."""
    with db.write() as session:
        at_once = session.scalars(
            update(Job).where(Job.status == JobStatus.PENDING, *where)
            .values(status=JobStatus.CANCELLED, finished_at=utcnow(), **error_values(CANCELLED_BEFORE_START))
            .returning(Job.id).execution_options(synchronize_session=False)).all()
        flagged = session.scalars(
            update(Job).where(Job.status == JobStatus.RUNNING, Job.cancel_requested.is_(False), *where)
            .values(cancel_requested=True).returning(Job.id).execution_options(synchronize_session=False)).all()
    return list(at_once), list(flagged)


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


def mark_unpublished(db: Database, *job_ids: int) -> None:
    """The XADD failed: the collectors' outbox duty queues these jobs once Redis is back."""
    with db.write() as session:
        session.execute(update(Job).where(Job.id.in_(job_ids)).values(published_at=None)
                        .execution_options(synchronize_session=False))


def unpublish_older_than(db: Database, cutoff: datetime) -> None:
    """Active jobs whose queue entries are about to be trimmed get queued again, not lost."""
    with db.write() as session:
        session.execute(update(Job).where(Job.status.in_(ACTIVE_STATUSES), Job.published_at < cutoff)
                        .values(published_at=None))


def error_values(error: str | None) -> dict:
    """A job's error in English (API, CLI) and, beside it, what it was made from (the web app
    shows it in the reader's language)."""
    return {"error": None if error is None else str(error), "error_i18n": message_data(error)}


def _write_chunk(session: Session, job: Job, fetched: Fetched | pd.DataFrame, writing: Writing) -> Written:
    key = SeriesKey(job.source, job.symbol, job.interval, job.kind)
    return write_chunk(session, key, Fetched.of(fetched), job.id, writing.rules)


def _checkpoint(written: Written, next_chunk: int, writing: Writing) -> dict:
    counts = written.counts
    return dict(progress_done=next_chunk, checkpoint={**writing.keep, "next_chunk": next_chunk},
                rows_new=Job.rows_new + counts.new, rows_updated=Job.rows_updated + counts.updated,
                rows_unchanged=Job.rows_unchanged + counts.unchanged,
                suspect_bars=Job.suspect_bars + written.suspect)


def _owned(job_id: int, collector: str):
    return update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.collector == collector)


def _held_by(job_id: int, previous: str | None) -> list:
    holder = Job.collector.is_(None) if previous is None else Job.collector == previous
    return [Job.id == job_id, Job.status == JobStatus.RUNNING, holder]
