"""The collector loop: read a job id from the stream, claim the job, run its chunks, ack.

    install signal handlers -> while not stopping: periodic duties (outbox and lost
    entries, retention, take over entries of stopped collectors) -> blocking read -> run
    -> finally: teardown.

First SIGTERM/SIGINT is warm: finish the current chunk, hand the job back (another
collector resumes it at once), exit. A second one exits immediately; the job's entry then
stays pending and is taken over after the idle timeout.

Redis or the database unreachable: retry with capped exponential backoff. A job whose
database writes keep failing is left RUNNING with its entry unacked, so it is taken over
(by any collector, this one included) and resumed from its checkpoint once things recover.
"""

from __future__ import annotations

import logging
import os
import signal
import time

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry
from sqlalchemy.exc import DBAPIError

from collector.jobs import lifecycle
from collector.jobs.manager import JobManager
from collector.queue.registry import Registry
from collector.queue.streams import GROUP, Entry, Queue
from collector.settings import Settings
from collector.sources import PermanentError, Source, TransientError, load_source
from collector.sources.base import Request
from collector.store.db import Database, is_outage, retry_db
from collector.store.models import Job, JobStatus

from .heartbeat import Heartbeat, RedisHealth
from .progress import Progress, backoff
from .recovery import Recovery

log = logging.getLogger("mdc.collector")

RECONNECT_BASE_S = 0.2  # first wait after Redis or the database failed; doubles, capped
RECONNECT_CAP_S = 5.0


class _Stopping(Exception):
    """Shutdown was requested while waiting to retry."""


class Collector:
    def __init__(self, settings: Settings, *, name: str | None = None, db: Database | None = None):
        self.settings = settings
        self.name = name or settings.consumer_name
        # Few quick retries inside redis-py; the loop below owns the longer backoff.
        self.redis = redis.Redis.from_url(settings.redis_url, decode_responses=True,
                                          socket_timeout=10, socket_connect_timeout=2,
                                          retry=Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), 2))
        self.queue = Queue(self.redis, settings.key_prefix, events_maxlen=settings.events_maxlen)
        self.registry = Registry(self.redis, settings.key_prefix, ttl_seconds=settings.heartbeat_ttl_seconds)
        self.db = db or Database(settings.sqlalchemy_url)
        self.jobs = JobManager(self.db, self.queue, settings, source_factory=self._make_source)
        self.stopping = False
        self.current: Entry | None = None
        self.current_job: int | None = None
        self.stats = {"completed": 0, "failed": 0, "cancelled": 0, "handed_back": 0}
        self.started = time.time()
        self.health = RedisHealth()
        self.heartbeat = Heartbeat(self)
        self.recovery = Recovery(self)
        self._signals = 0
        self._unacked: list[str] = []  # entries of finished jobs whose XACK failed (Redis down)

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
        self.heartbeat.start()
        failures = 0
        next_duties = 0.0
        recovered = False
        idle_ms = int(self.settings.claim_idle_seconds * 1000)
        try:
            while not self.stopping:
                try:
                    if not recovered:  # first our own unacked entries (a restart under the same name)
                        self.queue.ensure_group()
                        self._drain(lambda: self.queue.read_own_pending(self.name))
                        recovered = True
                    if time.monotonic() >= next_duties:
                        self.recovery.reconcile()
                        self.recovery.cleanup()
                        if self.recovery.may_judge_others():
                            self._drain(lambda: self.queue.autoclaim(self.name, min_idle_ms=idle_ms))
                        next_duties = time.monotonic() + self.recovery.period_s
                    if self.stopping:  # a warm shutdown began during the duties: read nothing new
                        break
                    entries = self.queue.read_new(self.name, block_ms=200 if burst else 1000)
                    self._flush_unacked()
                    if self.health.ok():
                        log.info("%s: Redis is reachable again", self.name)
                    if failures:
                        log.info("%s: working again", self.name)
                        failures = 0
                    if not entries and burst:
                        break
                    for entry in entries:
                        self.handle(entry)
                except (redis.RedisError, DBAPIError) as exc:
                    if isinstance(exc, DBAPIError) and not is_outage(exc):
                        raise
                    if isinstance(exc, redis.RedisError):
                        self.health.failed()
                    failures += 1
                    delay = backoff(failures, RECONNECT_BASE_S, cap=RECONNECT_CAP_S)
                    log.warning("%s: %s unavailable (%s); retrying in %.1f s", self.name,
                                "Redis" if isinstance(exc, redis.RedisError) else "database",
                                str(exc).splitlines()[0] if str(exc) else type(exc).__name__, delay)
                    self._sleep(delay, interruptible=True)
        except _Stopping:
            pass  # warm shutdown while waiting to reconnect
        finally:
            self.heartbeat.stop()
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

    def _drain(self, read) -> None:
        """Handle entries from `read()` one at a time until it returns none."""
        while not self.stopping:
            entries = read()
            if not entries:
                return
            for entry in entries:
                self.handle(entry)

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
        if self.stopping and job.status == JobStatus.PENDING:
            self._pass_on(entry)
            return
        if entry.reclaimed and job.status == JobStatus.RUNNING and job.collector not in (None, self.name):
            if self.recovery.owner_still_running(entry, job):
                return
        if entry.reclaimed:
            _owner, deliveries = self.queue.delivery(entry.id)
            if deliveries > self.settings.max_deliveries:
                self.recovery.poison(entry, job, deliveries - 1)
                return
        previous = job.collector
        if job.status == JobStatus.PENDING:
            total = self._plan_size(job)
            claimed = retry_db(lambda: lifecycle.claim(self.db, job.id, self.name, total))
        elif job.status == JobStatus.RUNNING and entry.reclaimed:
            claimed = retry_db(lambda: lifecycle.take_over(self.db, job.id, self.name, previous))
        else:
            claimed = None  # finished, cancelled, or a duplicate entry of a job running elsewhere
        if claimed is None:
            self.queue.ack(entry.id)
            return
        self.execute(entry, claimed, resumed_from=previous if entry.reclaimed else None)

    def _pass_on(self, entry: Entry) -> None:
        """Warm shutdown: an entry read in the last moment (often a job a peer just handed
        back) is queued again untouched for a collector that stays, not claimed only to be
        handed back once more. Publish before ack: dying in between leaves a duplicate
        entry, which the worker skips, never a job without one."""
        self.jobs.publish(entry.job_id)
        self._ack(entry)
        log.info("%s: shutting down: left job %s for another collector", self.name, entry.job_id)

    def _plan_size(self, job: Job) -> int | None:
        """Chunk count, so the claim can record it in the same UPDATE."""
        try:
            return len(self.jobs.source(job.source).plan(_request(job)))
        except Exception:  # planning errors are reported by _run_chunks, with the job claimed
            return None

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
        request = _request(job)
        progress = Progress(self, job)
        try:
            plan = source.plan(request)
            first = int((job.checkpoint or {}).get("next_chunk", 0))
            if job.progress_total != len(plan):
                retry_db(lambda: lifecycle.set_total(self.db, job.id, self.name, len(plan)))
            progress.total, progress.done = len(plan), first
            if first or resumed_from:  # a take-over says so even when no chunk was saved yet
                who = f" (its previous collector {resumed_from} stopped)" if resumed_from and resumed_from != self.name else ""
                progress.event(f"Resumed by {self.name} at chunk {first + 1} of {len(plan)}{who}.")
            else:
                progress.event(f"Started by {self.name}: {len(plan)} chunk{'s' * (len(plan) != 1)} to fetch.")
            log.info("%s: job %s %s %s %s: %s at chunk %d of %d", self.name, job.id, job.symbol, job.source,
                     job.interval, "resuming" if first or resumed_from else "starting", first + 1, len(plan))
            for index in range(first, len(plan)):
                if self.stopping:
                    raise _Stopping()
                frame = self._fetch(source, request, plan[index], progress)
                last = index + 1 == len(plan)
                saved = retry_db(lambda: lifecycle.save_chunk(self.db, job, self.name, frame, index + 1, last))
                progress.add(saved.counts)
                progress.done = index + 1
                chunk_message = (f"Chunk {index + 1} of {len(plan)}: {saved.counts.new:,} new, "
                                 f"{saved.counts.updated:,} updated, {saved.counts.unchanged:,} unchanged.")
                written = saved.counts.new + saved.counts.updated
                if saved.finished:  # the row is final already: both events and the ack in one round trip
                    status = JobStatus(saved.finished)
                    self._finish(entry, job, status, None if status == JobStatus.COMPLETED else "Cancelled on request.",
                                 progress, written=True, chunk=(chunk_message, written))
                    return
                progress.event(chunk_message, bars_written=written)
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
        except DBAPIError as exc:
            if not is_outage(exc):
                self._fail_internal(entry, job, exc, progress)
                return
            # Not the job's fault: leave it RUNNING with its entry unacked; it is taken
            # over and resumed from its checkpoint once the database answers again.
            log.warning("%s: database unavailable while running job %s; it resumes from its checkpoint "
                        "after %.0f s", self.name, job.id, self.settings.claim_idle_seconds)
            progress.event("Database unavailable; the job resumes from its last checkpoint once it is back.")
            raise
        except Exception as exc:  # a bug, not the person's fault: fail the job, keep the collector
            self._fail_internal(entry, job, exc, progress)

    def _fail_internal(self, entry: Entry, job: Job, exc: Exception, progress: Progress) -> None:
        log.exception("%s: job %s failed unexpectedly", self.name, job.id)
        self._finish(entry, job, JobStatus.FAILED, f"Internal error ({type(exc).__name__}: {exc}).", progress)

    def _fetch(self, source: Source, request: Request, chunk, progress: Progress):
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

    def _finish(self, entry: Entry, job: Job, status: JobStatus, error: str | None, progress: Progress,
                *, written: bool = False, chunk: tuple[str, int] | None = None) -> None:
        """Make the row final (unless the last chunk's save already did), report it, then ack."""
        if not written:
            retry_db(lambda: lifecycle.finish(self.db, job.id, self.name, status, error))
        self.stats[{"COMPLETED": "completed", "FAILED": "failed", "CANCELLED": "cancelled"}[status]] += 1
        if status == JobStatus.COMPLETED:
            message = (f"Completed: {progress.rows_new:,} new, {progress.rows_updated:,} updated, "
                       f"{progress.rows_unchanged:,} unchanged bars.")
        else:
            message = error or status.title()
        self.current = None  # the row is final: stop refreshing the claim before it is acked
        try:  # only now is the entry acked: the row has reached a terminal state
            pipe = self.redis.pipeline(transaction=False)
            if chunk is not None:
                progress.event(chunk[0], bars_written=chunk[1], pipe=pipe)
            progress.event(message, state=status, pipe=pipe)
            pipe.xack(self.queue.stream, GROUP, entry.id)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("%s: could not report the end of job %s (%s); acking it alone", self.name, job.id, exc)
            self._ack(entry)
        log.info("%s: job %s %s %s %s: %s", self.name, job.id, job.symbol, job.source, job.interval,
                 message if status == JobStatus.COMPLETED else f"{status} — {message}")

    def _hand_back(self, entry: Entry, job: Job, progress: Progress) -> None:
        """Warm shutdown: PENDING again with its checkpoint and a fresh entry that any other
        collector reads at once. Ack first: should we die in between, the job is PENDING
        and unpublished, which the outbox duty queues, never a stray entry of a job running
        elsewhere."""
        if retry_db(lambda: lifecycle.hand_back(self.db, job.id, self.name)):
            self.stats["handed_back"] += 1
            progress.event(f"Handed back by {self.name} (shutting down); resumes at chunk "
                           f"{progress.done + 1} of {progress.total}.", state=JobStatus.PENDING)
            self._ack(entry)
            try:
                self.jobs.publish(job.id)
            except DBAPIError as exc:  # queued, but not marked: the outbox may queue it twice, harmless
                log.warning("%s: job %s queued but not marked as queued: %s", self.name, job.id, exc)
        else:
            self._ack(entry)

    def _ack(self, entry: Entry) -> None:
        try:
            self.queue.ack(entry.id)
        except redis.RedisError as exc:
            # Acked as soon as Redis answers again (and, should this collector stop first, by
            # whoever takes the entry over and finds the job finished).
            self._unacked.append(entry.id)
            log.warning("%s: could not ack entry %s of job %s (%s); acking it once Redis is back",
                        self.name, entry.id, entry.job_id, exc)

    def _flush_unacked(self) -> None:
        while self._unacked:
            self.queue.ack(self._unacked[0])
            self._unacked.pop(0)


def _redact(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def configure_logging(name: str, level: str = "INFO") -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format=f"%(asctime)s %(levelname)s [{name}] %(message)s")


def _request(job: Job) -> Request:
    return Request(job.symbol, job.interval, job.start, job.end, dict(job.options or {}))
