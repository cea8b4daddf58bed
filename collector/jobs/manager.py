"""The job manager: what people (web, curl, CLI) do with jobs — submit, retry, cancel,
clean up, update a stored series — on top of the state changes in `lifecycle`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Mapping

import redis
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from collector.i18n import N_, N_plural, job_numbers, join_messages
from collector.queue import Queue, Registry
from collector.settings import Settings
from collector.sources import SourceSet
from collector.store import ACTIVE_STATUSES, Database, Job, JobStatus, Series, SeriesStore, ledger
from collector.timespec import utcnow

from . import incremental, lifecycle
from .batch import Tags, insert_new, new_job
from .cleanup import MAX_CLEANUP_DAYS, CleanupResult, cleanup
from .queries import JobFilter, JobQueries
from .validation import MAX_SYMBOLS_PER_SUBMIT, JobSpec, ValidationError, build_spec, estimated_bars, split_symbols

log = logging.getLogger("mdc.jobs")

CANCEL_REQUESTED = N_("Cancel requested: the job stops once the chunk it is fetching is in, or at once while it "
                      "waits.")
EXAMPLE_SYMBOL = "AAPL"  # stands in for the symbol when the form asks whether the rest fits
BULK_LIMIT = 5000  # jobs one bulk retry submits at most


@dataclass(frozen=True)
class Submitted:
    job: Job
    created: bool  # False: an identical job was already pending or running
    queued: bool  # False: Redis was unreachable; the job starts once it is back


class JobManager(JobQueries):
    def __init__(self, db: Database, queue: Queue, settings: Settings, sources: SourceSet,
                 registry: Registry | None = None):
        super().__init__(db)
        self.queue = queue
        self.settings = settings
        self.sources = sources
        self.registry = registry or Registry(queue.redis, queue.prefix, ttl_seconds=settings.heartbeat_ttl_seconds)
        self.series = SeriesStore(db)

    # --- submit -----------------------------------------------------------------------
    def validate(self, fields: Mapping[str, Any]) -> list[JobSpec]:
        """One spec per symbol in fields["symbol"]; ValidationError with every problem."""
        symbols = split_symbols(str(fields.get("symbol") or ""))
        if len(symbols) > MAX_SYMBOLS_PER_SUBMIT:
            raise ValidationError({"symbol": N_("At most {most} symbols at once; got {got}.",
                                                most=MAX_SYMBOLS_PER_SUBMIT, got=len(symbols))})
        specs, errors = [], {}
        for symbol in symbols or [""]:
            try:
                specs.append(build_spec(fields, symbol, self.sources.get))
            except ValidationError as exc:
                for key, message in exc.errors.items():
                    if key == "symbol" and len(symbols) > 1 and key in errors:
                        errors[key] = join_messages([errors[key], message])
                    else:
                        errors.setdefault(key, message)
        if errors:
            raise ValidationError(errors)
        self._check_volume(specs)
        return specs

    def _check_volume(self, specs: list[JobSpec]) -> None:
        """One submit may not ask for more bars than MDC_MAX_BARS_PER_SUBMIT, all symbols together."""
        bars = sum(estimated_bars(spec) for spec in specs)
        most = self.settings.max_bars_per_submit
        if bars > most:
            what = N_("{n} symbols together", n=len(specs)) if len(specs) > 1 else N_("this symbol")
            raise ValidationError({"bars": N_(
                "This asks for about {bars} bars ({what}, counting the whole period divided by the interval); "
                "one submit may ask for at most {most} (MDC_MAX_BARS_PER_SUBMIT): choose fewer symbols, "
                "a shorter period or a longer interval.", bars=bars, what=what, most=most)})

    def _check_room(self, adding: int) -> None:
        """No more than MDC_MAX_ACTIVE_JOBS pending and running jobs at once."""
        most = self.settings.max_active_jobs
        with self.db.read() as session:
            active = session.scalar(select(func.count()).select_from(Job).where(Job.status.in_(ACTIVE_STATUSES))) or 0
        if active + adding > most:
            raise ValidationError({"jobs": N_(
                "{active} jobs are pending or running and at most {most} may be at once (MDC_MAX_ACTIVE_JOBS); "
                "this would add {adding}. Wait for some to finish, or cancel some.", active=active, most=most,
                adding=adding)})

    def explain(self, fields: Mapping[str, Any]) -> str | None:
        """What is wrong with the fields other than the symbol (for a hint while the form is
        being filled in), or None when they fit the source."""
        try:
            build_spec(fields, EXAMPLE_SYMBOL, self.sources.get)
        except ValidationError as exc:
            problems = [m for k, m in exc.errors.items() if k != "symbol"]
            return join_messages(problems) if problems else None
        return None

    def submit(self, fields: Mapping[str, Any], *, only_missing: bool = False) -> list[Submitted]:
        """Validate and create one job per symbol, then queue them. With `only_missing`,
        each is cut down to the parts its stored series lacks."""
        specs = self.validate(fields)
        if only_missing:
            specs = [part for spec in specs for part in incremental.missing_specs(self.series, spec)]
            if not specs:
                raise ValidationError({"only_missing": N_("Nothing is missing: every bar of that range is already "
                                                          "stored.")})
        self._check_room(len(specs))
        self._check_not_stopping(specs)
        return [self.create(spec) for spec in specs]

    def _check_not_stopping(self, specs: list[JobSpec]) -> None:
        """The same request, cancelled but still finishing its chunk, holds its place until it
        stops: say so, rather than hand back a job that is about to end CANCELLED."""
        with self.db.read() as session:
            stopping = session.scalars(select(Job.id).where(
                Job.request_key.in_([spec.request_key for spec in specs]), Job.status == JobStatus.RUNNING,
                Job.cancel_requested.is_(True))).all()
        if stopping:
            raise ValidationError({"symbol": N_plural(
                "Job {ids} asks for the same bars and is stopping after a cancel: submit again once it has stopped, "
                "in a few seconds.", "Jobs {ids} ask for the same bars and are stopping after a cancel: submit again "
                "once they have stopped, in a few seconds.", len(stopping), ids=job_numbers(stopping))})

    def create(self, spec: JobSpec, tags: Tags | None = None, *, retry_of: int | None = None) -> Submitted:
        job = new_job(spec, {**(tags or {}), "retry_of": retry_of})  # marked as queued in the same write (see new_job)
        try:
            with self.db.write() as session:
                session.add(job)
        except IntegrityError:
            existing = self._active_with_key(spec.request_key)
            if existing is None:  # finished between our insert and this read: try once more
                return self.create(spec, tags, retry_of=retry_of)
            return Submitted(existing, created=False, queued=existing.published_at is not None)
        try:
            self.queue.publish(job.id)
        except redis.RedisError as exc:
            log.warning("job %s saved but not queued (Redis: %s); it is queued once Redis is back", job.id, exc)
            lifecycle.mark_unpublished(self.db, job.id)
            job.published_at = None
            return Submitted(job, created=True, queued=False)
        return Submitted(job, created=True, queued=True)

    def create_many(self, specs: list[JobSpec], tags: Tags | list[Tags | None] | None = None) -> list[Submitted]:
        """Jobs for many specs in one transaction and one pipelined batch of XADDs (a request
        already pending or running gives that job back, as `create` does)."""
        for attempt in range(3):
            try:
                with self.db.write() as session:
                    pairs = insert_new(session, specs, tags)
                break
            except IntegrityError:  # the same request inserted meanwhile (PostgreSQL): look again
                if attempt == 2:
                    raise
        return self.publish_created(pairs)

    def publish_created(self, pairs: list[tuple[Job, bool]]) -> list[Submitted]:
        """Queue the jobs just inserted (True in `pairs`) in one round trip; those Redis did
        not take are left to the outbox."""
        fresh = [job.id for job, created in pairs if created]
        failed = self.queue.publish_many(fresh)
        if failed:
            log.warning("%d job(s) saved but not queued (Redis unreachable); queued once Redis is back", len(failed))
            lifecycle.mark_unpublished(self.db, *failed)
        return [Submitted(job, created, queued=(job.id not in failed) if created else job.published_at is not None)
                for job, created in pairs]

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
        lifecycle.mark_published(self.db, job_id)
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
        """Submit the same request again (for a failed or cancelled job), linked to it and in
        the same run; a failure that is retried counts as seen."""
        old = self.get(job_id)
        if old is None:
            raise LookupError(job_id)
        self._check_room(1)
        result = self.create(_again(old), _tags(old), retry_of=old.id)
        lifecycle.dismiss(self.db, [old.id])
        return result

    def dismiss(self, job_ids: list[int] | None = None) -> int:
        """Failures seen: off the banner and the failure count (these, or all of them)."""
        return lifecycle.dismiss(self.db, job_ids)

    def retry_failed(self, where: JobFilter) -> list[Submitted]:
        """Submit again every failed job matching `where` (at most BULK_LIMIT), at once, each
        linked to the job it retries; those failures count as seen."""
        with self.db.read() as session:
            failed = list(session.scalars(select(Job).where(*where.conditions("failed"))
                                          .order_by(Job.id).limit(BULK_LIMIT)))
        if not failed:
            return []
        self._check_room(len(failed))
        results = self.create_many([_again(job) for job in failed],
                                   [{**_tags(job), "retry_of": job.id} for job in failed])
        lifecycle.dismiss(self.db, [job.id for job in failed])
        return results

    def cancel_matching(self, where: JobFilter) -> tuple[int, int]:
        """Cancel every pending or running job matching `where`: (cancelled at once, stopping
        after their current chunk)."""
        at_once, flagged = lifecycle.cancel_many(self.db, where.conditions())
        try:
            pipe = self.queue.redis.pipeline(transaction=False)
            for job_id in at_once:
                self.queue.add_event(job_id, state=JobStatus.CANCELLED, message=lifecycle.CANCELLED_BEFORE_START,
                                     pipe=pipe)
            for job_id in flagged:
                self.queue.add_event(job_id, state=JobStatus.RUNNING, pipe=pipe, message=CANCEL_REQUESTED)
            pipe.execute()
        except redis.RedisError:
            pass  # events are a courtesy; the rows say what happened
        return len(at_once), len(flagged)

    # --- stored series ----------------------------------------------------------------
    def update_series(self, series: Series) -> Submitted:
        """A job from the series' last stored bar to now; ValidationError when it cannot be."""
        spec = incremental.update_spec(self.series, series, self.sources.get)
        self._check_room(1)
        return self.create(spec)

    def recollect_series(self, series: Series) -> Submitted:
        """The whole series again; when that job completes, a "revised" mark on it is cleared."""
        submitted = self.create(incremental.recollect_spec(self.series, series, self.sources.get))
        with self.db.write() as session:
            ledger.set_recollect(session, series.id, submitted.job.id)
        return submitted

    def fill_series(self, series: Series) -> tuple[list[Submitted], dict[str, str]]:
        """Jobs that fill the series' gaps, and why the source refuses the others."""
        specs, refused = incremental.fill_specs(self.series, series, self.sources.get)
        if specs:
            self._check_room(len(specs))
        return [self.create(spec) for spec in specs], refused

    # --- cancel, clean up ---------------------------------------------------------------
    def cancel(self, job_id: int) -> Job:
        """PENDING -> CANCELLED at once; RUNNING -> its collector stops after the current chunk."""
        job, at_once = lifecycle.cancel(self.db, job_id)
        if job is None:
            raise LookupError(job_id)
        if at_once:
            self.queue.add_job_event(job, lifecycle.CANCELLED_BEFORE_START)
        elif job.status == JobStatus.RUNNING:
            self.queue.add_job_event(job, CANCEL_REQUESTED)
        return job

    def cleanup(self, days: int | None = None, *, confirm: bool = False) -> CleanupResult:
        """Remove finished jobs older than `days` (default: the retention setting). Days = 0
        removes the whole finished history, so it needs `confirm`; ValidationError otherwise."""
        days = self.settings.retention_days if days is None else days
        if not 0 <= days <= MAX_CLEANUP_DAYS:
            raise ValidationError({"days": N_("Days must be a whole number from 1 to {most} (or 0 with confirm=yes: "
                                              "every finished job).", most=MAX_CLEANUP_DAYS)})
        if days == 0 and not confirm:
            raise ValidationError({"days": N_("0 days removes every finished job, whatever its age: confirm it "
                                              "(confirm=yes, or --yes on the command line), or give 1 or more.")})
        return cleanup(self.db, self.queue, self.registry, days)


def _again(old: Job) -> JobSpec:
    return JobSpec(source=old.source, symbol=old.symbol, interval=old.interval, kind=old.kind,
                   start=old.start, end=old.end, period=None, options=dict(old.options or {}), end_is_now=False)


def _tags(job: Job) -> Tags:
    return {"run_id": job.run_id, "watchlist_id": job.watchlist_id}
