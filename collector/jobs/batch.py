"""Creating many jobs at once: one transaction for the rows, one pipelined batch of XADDs
(see JobManager.create_many), with the same de-duplication by request as one at a time."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.store import ACTIVE_STATUSES, Job, JobStatus
from collector.timespec import utcnow

from .validation import JobSpec

Tags = dict[str, Any]  # run_id, watchlist_id


def new_job(spec: JobSpec, tags: Tags | None = None) -> Job:
    """A PENDING row for `spec`, marked as queued: if the XADD fails the mark is cleared and
    the outbox queues it later; if the process dies in between, the collectors' reconcile
    duty finds a PENDING job without a queue entry."""
    now = utcnow()
    return Job(source=spec.source, symbol=spec.symbol, interval=spec.interval, kind=spec.kind,
               start=spec.start, end=spec.end, period=spec.period, options=spec.options,
               status=JobStatus.PENDING, progress_done=0, progress_total=0, rows_new=0,
               rows_updated=0, rows_unchanged=0, attempts=0, cancel_requested=False,
               created_at=now, published_at=now, request_key=spec.request_key, **(tags or {}))


def insert_new(session: Session, specs: Sequence[JobSpec],
               tags: Tags | Sequence[Tags | None] | None = None) -> list[tuple[Job, bool]]:
    """Insert a job per spec in `session`, except where the same request is already pending
    or running (or asked twice in `specs`): that job is returned instead, with False.

    `tags` applies to every job, or is a list with one entry per spec. A concurrent insert
    of the same request raises IntegrityError at flush; the caller retries the transaction.
    """
    per_spec = list(tags) if isinstance(tags, (list, tuple)) else [tags] * len(specs)
    active = _active_by_key(session, {spec.request_key for spec in specs})
    result: list[tuple[Job, bool]] = []
    fresh: list[Job] = []
    for spec, spec_tags in zip(specs, per_spec):
        existing = active.get(spec.request_key)
        if existing is not None:  # active already, or asked earlier in this batch
            result.append((existing, False))
            continue
        job = new_job(spec, spec_tags)
        active[spec.request_key] = job
        fresh.append(job)
        result.append((job, True))
    session.add_all(fresh)
    session.flush()  # ids, in one INSERT ... RETURNING per batch of rows
    return result


def _active_by_key(session: Session, keys: Iterable[str]) -> dict[str, Job]:
    keys = list(keys)
    found: dict[str, Job] = {}
    for lo in range(0, len(keys), 900):  # well under every driver's limit of bound values
        rows = session.scalars(select(Job).where(Job.request_key.in_(keys[lo:lo + 900]),
                                                 Job.status.in_(ACTIVE_STATUSES)))
        found.update({job.request_key: job for job in rows})
    return found
