"""The job manager: create, get, list, cancel, retry, and every state transition.

Each transition is a conditional UPDATE (`... WHERE status = :expected`), so two
collectors can never both run a job and a cancel can never be overwritten.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Mapping

import redis
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from collector.queue.streams import Queue
from collector.settings import Settings
from collector.sources import Source, load_source
from collector.store.db import Database
from collector.store.models import ACTIVE_STATUSES, Job, JobStatus
from collector.store.paging import Page
from collector.timespec import utcnow

from .validation import (
    MAX_SYMBOLS_PER_SUBMIT,
    JobSpec,
    ValidationError,
    build_spec,
    split_symbols,
)

log = logging.getLogger("mdc.jobs")

TABS: dict[str, tuple[str, ...]] = {
    "running": ("PENDING", "RUNNING"),
    "completed": ("COMPLETED",),
    "failed": ("FAILED",),
    "cancelled": ("CANCELLED",),
    "all": tuple(JobStatus),
}


@dataclass(frozen=True)
class Submitted:
    job: Job
    created: bool  # False: an identical job was already pending or running
    queued: bool  # False: Redis was unreachable; the job starts once it is back


class JobManager:
    def __init__(self, db: Database, queue: Queue, settings: Settings,
                 source_factory: Callable[[str], Source] | None = None):
        self.db = db
        self.queue = queue
        self.settings = settings
        self._sources: dict[str, Source] = {}
        self._source_factory = source_factory or (lambda name: load_source(name, settings))

    def source(self, name: str) -> Source:
        if name not in self._sources:
            self._sources[name] = self._source_factory(name)
        return self._sources[name]

    # --- create -----------------------------------------------------------------------
    def validate(self, fields: Mapping[str, Any]) -> list[JobSpec]:
        """One spec per symbol in fields["symbol"]; ValidationError with every problem."""
        symbols = split_symbols(str(fields.get("symbol") or ""))
        if len(symbols) > MAX_SYMBOLS_PER_SUBMIT:
            raise ValidationError({"symbol": f"At most {MAX_SYMBOLS_PER_SUBMIT} symbols at once; got {len(symbols)}."})
        specs, errors = [], {}
        for symbol in symbols or [""]:
            try:
                specs.append(build_spec(fields, symbol, self.source))
            except ValidationError as exc:
                for key, message in exc.errors.items():
                    if key == "symbol" and len(symbols) > 1 and key in errors:
                        errors[key] += " " + message
                    else:
                        errors.setdefault(key, message)
        if errors:
            raise ValidationError(errors)
        return specs

    def submit(self, fields: Mapping[str, Any]) -> list[Submitted]:
        """Validate and create one job per symbol, then queue them."""
        return [self.create(spec) for spec in self.validate(fields)]

    def create(self, spec: JobSpec) -> Submitted:
        job = Job(source=spec.source, symbol=spec.symbol, interval=spec.interval, kind=spec.kind,
                  start=spec.start, end=spec.end, period=spec.period, options=spec.options,
                  status=JobStatus.PENDING, progress_done=0, progress_total=0, rows_new=0,
                  rows_updated=0, rows_unchanged=0, attempts=0, cancel_requested=False,
                  created_at=utcnow(), published_at=utcnow(), request_key=spec.request_key)
        # Marked as queued in the same transaction (one write per submit): if the XADD fails
        # the mark is cleared and the outbox queues it later; if this process dies in between,
        # the collectors' reconcile duty finds a PENDING job without a queue entry.
        try:
            with self.db.write() as session:
                session.add(job)
        except IntegrityError:
            existing = self._active_with_key(spec.request_key)
            if existing is None:  # finished between our insert and this read: try once more
                return self.create(spec)
            return Submitted(existing, created=False, queued=existing.published_at is not None)
        try:
            self.queue.publish(job.id)
        except redis.RedisError as exc:
            log.warning("job %s saved but not queued (Redis: %s); it is queued once Redis is back", job.id, exc)
            with self.db.write() as session:
                session.execute(update(Job).where(Job.id == job.id).values(published_at=None))
            job.published_at = None
            return Submitted(job, created=True, queued=False)
        return Submitted(job, created=True, queued=True)

    def _active_with_key(self, key: str) -> Job | None:
        with self.db.read() as session:
            return session.scalars(select(Job).where(Job.request_key == key,
                                                     Job.status.in_(ACTIVE_STATUSES))).first()

    def publish(self, job_id: int) -> bool:
        """Put the job on the work stream; False when Redis is unreachable (outbox keeps it)."""
        try:
            self.queue.publish(job_id)
        except redis.RedisError as exc:
            log.warning("job %s saved but not queued (Redis: %s); it is queued once Redis is back", job_id, exc)
            return False
        with self.db.write() as session:
            session.execute(update(Job).where(Job.id == job_id).values(published_at=utcnow()))
        return True

    def publish_outbox(self, older_than_s: float = 5.0, limit: int = 100) -> int:
        """Queue PENDING jobs whose publish failed (Redis was down). Returns how many."""
        cutoff = utcnow() - timedelta(seconds=older_than_s)
        with self.db.read() as session:
            ids = session.scalars(select(Job.id).where(
                Job.status == JobStatus.PENDING, Job.published_at.is_(None),
                Job.created_at < cutoff).order_by(Job.id).limit(limit)).all()
        return sum(1 for job_id in ids if self.publish(job_id))

    def retry(self, job_id: int) -> Submitted:
        """Submit the same request again (for a failed or cancelled job)."""
        old = self.get(job_id)
        if old is None:
            raise LookupError(job_id)
        spec = JobSpec(source=old.source, symbol=old.symbol, interval=old.interval, kind=old.kind,
                       start=old.start, end=old.end, period=None, options=dict(old.options or {}),
                       end_is_now=False)
        return self.create(spec)

    # --- read -------------------------------------------------------------------------
    def get(self, job_id: int) -> Job | None:
        with self.db.read() as session:
            return session.get(Job, job_id)

    def list(self, tab: str = "all", *, page: int = 1, per_page: int = 50,
             symbol: str | None = None, source: str | None = None) -> Page:
        statuses = TABS[tab]
        query = select(Job)
        counter = select(func.count()).select_from(Job)
        conditions = []
        if tab != "all":
            conditions.append(Job.status.in_(statuses))
        if symbol:
            conditions.append(Job.symbol == symbol.upper())
        if source:
            conditions.append(Job.source == source)
        if conditions:
            query = query.where(*conditions)
            counter = counter.where(*conditions)
        with self.db.read() as session:
            total = session.scalar(counter) or 0
            items = session.scalars(query.order_by(Job.id.desc()).offset((page - 1) * per_page)
                                    .limit(per_page)).all()
        return Page(list(items), total, page, per_page)

    def counts(self) -> dict[str, int]:
        """Jobs per status, every status present."""
        with self.db.read() as session:
            rows = session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
        counts = {status.value: 0 for status in JobStatus}
        counts.update({status: n for status, n in rows})
        return counts

    def active(self, limit: int = 3) -> tuple[list[Job], int]:
        """The oldest active jobs (running first) and how many are active in all."""
        with self.db.read() as session:
            total = session.scalar(select(func.count()).select_from(Job)
                                   .where(Job.status.in_(ACTIVE_STATUSES))) or 0
            items = session.scalars(select(Job).where(Job.status.in_(ACTIVE_STATUSES))
                                    .order_by(Job.status.desc(), Job.id).limit(limit)).all()
        return list(items), total

    # --- cancel -----------------------------------------------------------------------
    def cancel(self, job_id: int) -> Job:
        """PENDING -> CANCELLED at once; RUNNING -> flag the collector honours after its chunk."""
        now = utcnow()
        with self.db.write() as session:
            done = session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.PENDING)
                                   .values(status=JobStatus.CANCELLED, finished_at=now,
                                           error="Cancelled before it started.")).rowcount
            if not done:
                session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING)
                                .values(cancel_requested=True))
            job = session.get(Job, job_id)
        if job is None:
            raise LookupError(job_id)
        try:
            if done:
                self.queue.add_event(job_id, state="CANCELLED", done=job.progress_done,
                                     total=job.progress_total, message="Cancelled before it started.")
            elif job.status == JobStatus.RUNNING:
                self.queue.add_event(job_id, state="RUNNING", done=job.progress_done, total=job.progress_total,
                                     rows_new=job.rows_new, rows_updated=job.rows_updated,
                                     message="Cancel requested: stopping after the current chunk.")
        except redis.RedisError:
            pass  # the database already holds the decision; the event is only for the log
        return job
