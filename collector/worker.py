"""The collector loop: read a job id from the stream, claim the job, run its chunks, ack.

    install signal handlers -> while not stopping: periodic duties (take over entries of
    stopped collectors, queue the outbox) -> blocking read -> run -> finally: teardown.

First SIGTERM/SIGINT is warm: finish the current chunk, hand the job back (another
collector resumes it at once), exit. A second one exits immediately; the job's entry then
stays pending and is taken over after the idle timeout.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time

import redis
from sqlalchemy.exc import OperationalError

from . import lifecycle
from .db import Database, retry_db
from .jobs import JobManager
from .models import Job, JobStatus
from .queue import Entry, Queue
from .registry import Registry
from .settings import Settings
from .sources import PermanentError, Source, TransientError, load_source
from .sources.base import Request

log = logging.getLogger("mdc.collector")

OUTBOX_EVERY_S = 5.0


class _Stopping(Exception):
    """Shutdown was requested while waiting to retry."""


class Collector:
    def __init__(self, settings: Settings, *, name: str | None = None, db: Database | None = None):
        self.settings = settings
        self.name = name or settings.consumer_name
        self.redis = redis.Redis.from_url(settings.redis_url, decode_responses=True,
                                          socket_timeout=10, socket_connect_timeout=5)
        self.queue = Queue(self.redis, settings.key_prefix, events_maxlen=settings.events_maxlen)
        self.registry = Registry(self.redis, settings.key_prefix, ttl_seconds=settings.heartbeat_ttl_seconds)
        self.db = db or Database(settings.sqlalchemy_url)
        self.jobs = JobManager(self.db, self.queue, settings, source_factory=self._make_source)
        self.stopping = False
        self.current: Entry | None = None
        self.current_job: int | None = None
        self.stats = {"completed": 0, "failed": 0, "cancelled": 0, "handed_back": 0}
        self.started = time.time()
        self._beat_stop = threading.Event()
        self._signals = 0

    def _make_source(self, name: str) -> Source:
        return load_source(name, self.settings, redis=self.redis)

    # --- lifecycle --------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum, _frame) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("%s: warm shutdown: finishing the current chunk, then handing the job back", self.name)
            self.stopping = True
        else:
            if self.current_job:
                log.warning("%s: cold shutdown: exiting now; job %s will be taken over after %s s",
                            self.name, self.current_job, self.settings.claim_idle_seconds)
            else:
                log.warning("%s: cold shutdown: exiting now", self.name)
            self._log_summary()
            os._exit(1)

    def run(self, *, burst: bool = False) -> None:
        """Work until stopped (or, with burst, until the queue is empty)."""
        log.info("%s: collector starting (redis %s, database %s)", self.name,
                 _redact(self.settings.redis_url), self.db.dialect)
        beat = threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True)
        beat.start()
        failures = 0
        next_duties = 0.0
        recovered = False
        try:
            while not self.stopping:
                try:
                    if not recovered:
                        self.queue.ensure_group()
                        for entry in self.queue.read_own_pending(self.name):
                            self.handle(entry)
                        recovered = True
                    if time.monotonic() >= next_duties:
                        for entry in self.queue.autoclaim(self.name, min_idle_ms=int(self.settings.claim_idle_seconds * 1000)):
                            self.handle(entry)
                        self.jobs.publish_outbox()
                        next_duties = time.monotonic() + min(OUTBOX_EVERY_S, self.settings.claim_idle_seconds / 2)
                    entries = self.queue.read_new(self.name, block_ms=200 if burst else 1000)
                    if not entries and burst:
                        break
                    for entry in entries:
                        self.handle(entry)
                    failures = 0
                except (redis.RedisError, OperationalError) as exc:
                    failures += 1
                    delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                    log.warning("%s: %s unavailable (%s); retrying in %.1f s", self.name,
                                "Redis" if isinstance(exc, redis.RedisError) else "database", exc, delay)
                    self._sleep(delay, interruptible=True)
        finally:
            self._beat_stop.set()
            beat.join(timeout=5)
            try:
                self.registry.remove(self.name)
            except redis.RedisError:
                pass
            for source in list(self.jobs._sources.values()):
                source.close()
            self._log_summary()

    def _log_summary(self) -> None:
        s = self.stats
        log.info("%s: stopped after %.0f s: %d completed, %d failed, %d cancelled, %d handed back",
                 self.name, time.time() - self.started, s["completed"], s["failed"], s["cancelled"],
                 s["handed_back"])

    def _heartbeat_loop(self) -> None:
        while True:
            try:
                self.registry.beat(self.name, current_job=self.current_job, started_at=f"{self.started:.0f}",
                                   jobs_done=self.stats["completed"], jobs_failed=self.stats["failed"],
                                   state="stopping" if self.stopping else ("running" if self.current_job else "idle"))
                entry = self.current
                if entry is not None and not self.queue.refresh(self.name, entry.id):
                    log.warning("%s: lost the queue entry of job %s", self.name, entry.job_id)
            except redis.RedisError as exc:
                log.debug("heartbeat failed: %s", exc)
            if self._beat_stop.wait(self.settings.heartbeat_seconds):
                return

    def _sleep(self, seconds: float, *, interruptible: bool) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if interruptible and self.stopping:
                raise _Stopping()
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    # --- one entry --------------------------------------------------------------------
    def handle(self, entry: Entry) -> None:
        job = retry_db(lambda: self.jobs.get(entry.job_id)) if entry.job_id else None
        if job is None:
            log.warning("%s: entry %s names no known job; dropping it", self.name, entry.id)
            self.queue.ack(entry.id)
            return
        if entry.reclaimed:
            _owner, deliveries = self.queue.delivery(entry.id)
            if deliveries > self.settings.max_deliveries:
                self._poison(entry, job, deliveries - 1)
                return
        previous = job.collector
        if job.status == JobStatus.PENDING:
            claimed = retry_db(lambda: lifecycle.claim(self.db, job.id, self.name))
        elif job.status == JobStatus.RUNNING and entry.reclaimed:
            claimed = retry_db(lambda: lifecycle.take_over(self.db, job.id, self.name, previous))
        else:
            claimed = None  # finished, cancelled, or a duplicate entry of a job running elsewhere
        if claimed is None:
            self.queue.ack(entry.id)
            return
        self.execute(entry, claimed, resumed_from=previous if entry.reclaimed else None)

    def _poison(self, entry: Entry, job: Job, stops: int) -> None:
        message = f"Collector stopped {stops} times while running this job; giving up so it stops circulating."
        failed = retry_db(lambda: lifecycle.fail_unowned(self.db, job.id, message))
        if failed is not None:
            self.stats["failed"] += 1
            self.queue.add_event(job.id, state="FAILED", done=failed.progress_done, total=failed.progress_total,
                                 rows_new=failed.rows_new, rows_updated=failed.rows_updated, message=message)
        self.queue.ack(entry.id)

    def execute(self, entry: Entry, job: Job, *, resumed_from: str | None = None) -> None:
        self.current, self.current_job = entry, job.id
        try:
            self._run_chunks(entry, job, resumed_from)
        except lifecycle.LostJob:
            log.warning("%s: job %s was taken over by another collector; leaving it", self.name, job.id)
        finally:
            self.current = self.current_job = None

    def _run_chunks(self, entry: Entry, job: Job, resumed_from: str | None) -> None:
        source = self.jobs.source(job.source)
        request = Request(job.symbol, job.interval, job.start, job.end, dict(job.options or {}))
        progress = _Progress(self, job)
        try:
            plan = source.plan(request)
            first = int((job.checkpoint or {}).get("next_chunk", 0))
            retry_db(lambda: lifecycle.set_total(self.db, job.id, self.name, len(plan)))
            progress.total, progress.done = len(plan), first
            if first:
                who = f" (its previous collector {resumed_from} stopped)" if resumed_from and resumed_from != self.name else ""
                progress.event(f"Resumed by {self.name} at chunk {first + 1} of {len(plan)}{who}.")
            else:
                progress.event(f"Started by {self.name}: {len(plan)} chunk{'s' * (len(plan) != 1)} to fetch.")
            for index in range(first, len(plan)):
                if self.stopping:
                    raise _Stopping()
                frame = self._fetch(source, request, plan[index], progress)
                saved = retry_db(lambda: lifecycle.save_chunk(self.db, job, self.name, frame, index + 1))
                progress.add(saved.counts)
                progress.done = index + 1
                progress.event(f"Chunk {index + 1} of {len(plan)}: {saved.counts.new:,} new, "
                               f"{saved.counts.updated:,} updated, {saved.counts.unchanged:,} unchanged.")
                if saved.cancel_requested:
                    self._finish(entry, job, JobStatus.CANCELLED, "Cancelled on request.", progress)
                    return
            self._finish(entry, job, JobStatus.COMPLETED, None, progress)
        except _Stopping:
            self._hand_back(entry, job, progress)
        except PermanentError as exc:
            self._finish(entry, job, JobStatus.FAILED, str(exc), progress)
        except lifecycle.LostJob:
            raise
        except Exception as exc:  # a bug, not the person's fault: fail the job, keep the collector
            log.exception("%s: job %s failed unexpectedly", self.name, job.id)
            self._finish(entry, job, JobStatus.FAILED, f"Internal error ({type(exc).__name__}: {exc}).", progress)

    def _fetch(self, source: Source, request: Request, chunk, progress: "_Progress"):
        attempt = 0
        while True:
            try:
                return source.fetch(request, chunk, progress.waiting)
            except TransientError as exc:
                attempt += 1
                if attempt > self.settings.max_retries:
                    raise PermanentError(f"Gave up after {self.settings.max_retries} retries: {exc}") from exc
                delay = exc.retry_after if exc.retry_after is not None else backoff(
                    attempt, self.settings.retry_base_seconds)
                progress.event(f"{exc} Retrying in {delay:.0f} s (attempt {attempt} of {self.settings.max_retries}).")
                self._sleep(delay, interruptible=True)

    def _finish(self, entry: Entry, job: Job, status: JobStatus, error: str | None, progress: "_Progress") -> None:
        retry_db(lambda: lifecycle.finish(self.db, job.id, self.name, status, error))
        self.stats[{"COMPLETED": "completed", "FAILED": "failed", "CANCELLED": "cancelled"}[status]] += 1
        if status == JobStatus.COMPLETED:
            message = (f"Completed: {progress.rows_new:,} new, {progress.rows_updated:,} updated, "
                       f"{progress.rows_unchanged:,} unchanged bars.")
        else:
            message = error or status.title()
        progress.event(message, state=status)
        self.queue.ack(entry.id)  # only now: the row has reached a terminal state

    def _hand_back(self, entry: Entry, job: Job, progress: "_Progress") -> None:
        if retry_db(lambda: lifecycle.hand_back(self.db, job.id, self.name)):
            self.jobs.publish(job.id)
            self.stats["handed_back"] += 1
            progress.event(f"Handed back by {self.name} (shutting down); resumes at chunk "
                           f"{progress.done + 1} of {progress.total}.", state=JobStatus.PENDING)
        self.queue.ack(entry.id)


class _Progress:
    """Running totals of one job and the events that report them."""

    def __init__(self, collector: Collector, job: Job):
        self.collector, self.job_id = collector, job.id
        self.done, self.total = job.progress_done, job.progress_total
        self.rows_new, self.rows_updated, self.rows_unchanged = job.rows_new, job.rows_updated, job.rows_unchanged
        self._last_wait = 0.0

    def add(self, counts) -> None:
        self.rows_new += counts.new
        self.rows_updated += counts.updated
        self.rows_unchanged += counts.unchanged

    def event(self, message: str, state: str = JobStatus.RUNNING) -> None:
        try:
            self.collector.queue.add_event(self.job_id, state=str(state), done=self.done, total=self.total,
                                           rows_new=self.rows_new, rows_updated=self.rows_updated,
                                           message=message, collector=self.collector.name)
        except redis.RedisError as exc:  # progress is best effort; the database has the truth
            log.warning("could not record progress of job %s: %s", self.job_id, exc)

    def waiting(self, message: str) -> None:
        """A source waits (pacing, rate limit): say so, at most every 2 s."""
        now = time.monotonic()
        if now - self._last_wait >= 2.0:
            self._last_wait = now
            self.event(message)


def backoff(attempt: int, base: float, cap: float = 120.0) -> float:
    """Exponential backoff with full jitter on the upper half."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _redact(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def configure_logging(name: str, level: str = "INFO") -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format=f"%(asctime)s %(levelname)s [{name}] %(message)s")

