"""The collector loop: read a job id from the stream, claim the job, run it, ack.

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
from sqlalchemy.exc import DBAPIError

from collector.jobs import lifecycle
from collector.queue import Entry
from collector.services import connect
from collector.settings import Settings
from collector.store import Database, JobStatus, is_outage, retry_db

from .heartbeat import Heartbeat, RedisHealth
from .progress import backoff
from .recovery import Recovery
from .runner import JobRunner, Stopping
from .state import WorkerState

log = logging.getLogger("mdc.collector")

RECONNECT_BASE_S = 0.2  # first wait after Redis or the database failed; doubles, capped
RECONNECT_CAP_S = 5.0


class Collector:
    def __init__(self, settings: Settings, *, name: str | None = None, db: Database | None = None):
        self.settings = settings
        self.services = connect(settings, "collector", db=db)
        self.queue, self.registry, self.jobs = self.services.queue, self.services.registry, self.services.jobs
        self.state = WorkerState(name or settings.consumer_name)
        self.health = RedisHealth()
        self.heartbeat = Heartbeat(self.registry, self.queue, self.state, self.health, settings.heartbeat_seconds)
        self.recovery = Recovery(self.jobs, self.registry, self.state, self.health, settings)
        self.runner = JobRunner(self.jobs, self.state, settings)
        self._signals = 0

    @property
    def name(self) -> str:
        return self.state.name

    # --- lifecycle --------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum, _frame) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("warm shutdown: finishing the current chunk, then handing the job back")
            self.state.stopping = True
            return
        job_id = self.state.now().job_id
        if job_id:
            log.warning("cold shutdown: exiting now; job %s will be taken over after %s s",
                        job_id, self.settings.claim_idle_seconds)
        else:
            log.warning("cold shutdown: exiting now")
        log.info(self.state.summary())
        os._exit(1)

    def run(self, *, burst: bool = False) -> None:
        """Work until stopped (or, with burst, until the queue is empty)."""
        log.info("collector starting (redis %s, database %s)", _redact(self.settings.redis_url),
                 self.services.db.dialect)
        self.heartbeat.start()
        try:
            self._work(burst)
        except Stopping:
            pass  # warm shutdown while waiting to reconnect
        finally:
            self.heartbeat.stop()
            try:
                self.registry.remove(self.name)
            except redis.RedisError:
                pass
            self.services.sources.close()
            log.info(self.state.summary())

    def _work(self, burst: bool) -> None:
        failures = 0
        next_duties = 0.0
        recovered = False
        while not self.state.stopping:
            try:
                if not recovered:  # first our own unacked entries (a restart under the same name)
                    self.queue.ensure_group()
                    self._drain(lambda: self.queue.read_own_pending(self.name))
                    recovered = True
                if time.monotonic() >= next_duties:
                    self._duties()
                    next_duties = time.monotonic() + self.recovery.period_s
                if self.state.stopping:  # a warm shutdown began during the duties: read nothing new
                    return
                entries = self.queue.read_new(self.name, block_ms=200 if burst else 1000)
                self.runner.flush_unacked()
                if self.health.ok():
                    log.info("Redis is reachable again")
                if failures:
                    log.info("working again")
                    failures = 0
                if not entries and burst:
                    return
                for entry in entries:
                    self.handle(entry)
            except (redis.RedisError, DBAPIError) as exc:
                if isinstance(exc, DBAPIError) and not is_outage(exc):
                    raise
                if isinstance(exc, redis.RedisError):
                    self.health.failed()
                failures += 1
                delay = backoff(failures, RECONNECT_BASE_S, cap=RECONNECT_CAP_S)
                log.warning("%s unavailable (%s); retrying in %.1f s",
                            "Redis" if isinstance(exc, redis.RedisError) else "database",
                            str(exc).splitlines()[0] if str(exc) else type(exc).__name__, delay)
                self.runner.sleep(delay)

    def _duties(self) -> None:
        self.recovery.reconcile()
        self.recovery.cleanup()
        if self.recovery.may_judge_others():
            idle_ms = int(self.settings.claim_idle_seconds * 1000)
            self._drain(lambda: self.queue.autoclaim(self.name, min_idle_ms=idle_ms))

    def _drain(self, read) -> None:
        """Handle entries from `read()` one at a time until it returns none."""
        while not self.state.stopping:
            entries = read()
            if not entries:
                return
            for entry in entries:
                self.handle(entry)

    # --- one entry --------------------------------------------------------------------
    def handle(self, entry: Entry) -> None:
        """Claim the entry's job (or take it over from a stopped collector) and run it."""
        job = retry_db(lambda: self.jobs.get(entry.job_id)) if entry.job_id else None
        if job is None:
            log.warning("entry %s names no known job; dropping it", entry.id)
            self.queue.ack(entry.id)
            return
        if self.state.stopping and job.status == JobStatus.PENDING:
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
        plan = None
        if job.status == JobStatus.PENDING:
            plan = self.runner.plan(job)
            total = None if isinstance(plan, Exception) else len(plan)
            claimed = retry_db(lambda: lifecycle.claim(self.jobs.db, job.id, self.name, total))
        elif job.status == JobStatus.RUNNING and entry.reclaimed:
            claimed = retry_db(lambda: lifecycle.take_over(self.jobs.db, job.id, self.name, previous))
        else:
            claimed = None  # finished, cancelled, or a duplicate entry of a job running elsewhere
        if claimed is None:
            self.queue.ack(entry.id)
            return
        self.state.working_on(entry, claimed.id)
        try:
            self.runner.run(entry, claimed, plan if plan is not None else self.runner.plan(claimed),
                            resumed_from=previous if entry.reclaimed else None)
        except lifecycle.LostJob:
            log.warning("job %s was taken over by another collector; leaving it", job.id)
        finally:
            self.state.working_on(None, None)


    def _pass_on(self, entry: Entry) -> None:
        """Warm shutdown: an entry read in the last moment (often a job a peer just handed
        back) is queued again untouched for a collector that stays, not claimed only to be
        handed back once more. Publish before ack: dying in between leaves a duplicate
        entry, which the worker skips, never a job without one."""
        self.jobs.publish(entry.job_id)
        self.runner.ack(entry)
        log.info("shutting down: left job %s for another collector", entry.job_id)


def _redact(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def configure_logging(name: str, level: str = "INFO") -> None:
    """Every line names the collector, so the log calls need not."""
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format=f"%(asctime)s %(levelname)s [{name}] %(message)s")
