"""Duties a collector runs between jobs so that no job is ever left without a way to run.

- **Outbox**: PENDING jobs whose XADD failed (Redis was down) are queued.
- **Taking over**: an entry idle past the timeout (XAUTOCLAIM) is checked before its job is
  resumed: an owner that still beats keeps its job; an entry delivered too often fails it.
- **Lost entries**: Redis with `appendfsync everysec` may lose its last second of writes
  when it dies, and a cleared or replaced Redis loses everything. The database is the
  truth, so each active job is checked against one atomic snapshot of the work stream:
  a PENDING job with no entry is queued again; a RUNNING job with no pending entry whose
  collector has gone silent is put back to PENDING (checkpoint kept) and queued.
- **Retention**: the 7-day cleanup, hourly, by one collector at a time.

Each duty runs under a Redis lock (SET NX with a TTL), so all collectors together run it
once per period; they are idempotent anyway, a duplicate entry is skipped by the worker.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import or_, select

from collector.i18n import N_
from collector.jobs import JobManager, lifecycle
from collector.queue import Entry, Registry, try_lock
from collector.settings import Settings
from collector.store import ACTIVE_STATUSES, Job, JobStatus, retry_db
from collector.timespec import utcnow

from .heartbeat import RedisHealth
from .state import WorkerState

log = logging.getLogger("mdc.collector")

CHECK_LIMIT = 5000  # active jobs checked against the stream per pass


class Recovery:
    def __init__(self, jobs: JobManager, registry: Registry, state: WorkerState, health: RedisHealth,
                 settings: Settings):
        self.jobs, self.registry, self.state, self.health, self.settings = jobs, registry, state, health, settings
        self.queue, self.db, self.redis = jobs.queue, jobs.db, jobs.queue.redis
        idle = settings.claim_idle_seconds
        self.period_s = min(5.0, idle / 2)
        self.grace_s = min(5.0, idle)  # a publish in flight finishes well within this

    def may_judge_others(self) -> bool:
        """After a Redis outage every claim looks stale: wait one idle timeout, during
        which live collectors refresh theirs, before treating anyone as gone."""
        return self.health.up_for() >= self.settings.claim_idle_seconds

    def owner_still_running(self, entry: Entry, job: Job) -> bool:
        """A reclaimed entry of a job whose collector still beats and runs it: either a
        stray duplicate entry (ack it) or the owner's own entry that it could not refresh
        in time, e.g. right after Redis came back (give it back). Never run a job twice."""
        owner = job.collector
        info = self.registry.info(owner)
        beat = float(info.get("last_beat") or 0)
        if info.get("current_job") != str(job.id) or time.time() - beat > self.settings.claim_idle_seconds:
            return False
        if info.get("entry") == entry.id:
            self.queue.give_back(owner, entry.id)
            log.info("job %s still runs on %s; gave its entry back", job.id, owner)
        else:
            self.queue.ack(entry.id)
            log.info("job %s runs on %s under another entry; dropped duplicate %s", job.id, owner, entry.id)
        return True

    def poison(self, entry: Entry, job: Job, stops: int) -> None:
        """The entry was delivered more than MDC_MAX_DELIVERIES times: FAILED, and acked."""
        message = N_("The collector stopped {stops} times while running this job; it was given up so that it "
                     "stops circulating.", stops=stops)
        failed = retry_db(lambda: lifecycle.fail_unowned(self.db, job.id, message))
        if failed is not None:
            self.state.count("failed")
            self.queue.add_job_event(failed, message)
        self.queue.ack(entry.id)

    def reconcile(self) -> None:
        if not try_lock(self.redis, f"{self.settings.key_prefix}:lock:reconcile", self.state.name, self.period_s):
            return
        published = retry_db(lambda: self.jobs.publish_outbox(older_than_s=self.grace_s))
        if published:
            log.info("queued %d job(s) saved while Redis was unreachable", published)
        if not self.may_judge_others():
            return
        backlog, pending = self.queue.queued_job_ids()  # before reading the database: see below
        # A job published after the snapshot has published_at within the grace period and
        # is left alone; a job claimed after it is RUNNING under a live collector.
        cutoff = utcnow() - timedelta(seconds=self.grace_s)
        with self.db.read() as session:
            rows = session.execute(
                select(Job.id, Job.status, Job.collector).where(
                    Job.status.in_(ACTIVE_STATUSES),
                    or_(Job.status == JobStatus.RUNNING, Job.published_at < cutoff))
                .order_by(Job.id).limit(CHECK_LIMIT)).all()
        for job_id, status, owner in rows:
            if status == JobStatus.PENDING and job_id not in backlog and job_id not in pending:
                self._requeue(job_id, N_("Queued again: its queue entry was lost (Redis restarted or was cleared)."))
            elif (status == JobStatus.RUNNING and job_id not in pending
                  and (owner is None or self.registry.silent_for(owner) > self.settings.claim_idle_seconds)):
                if retry_db(lambda: lifecycle.requeue(self.db, job_id, owner)):
                    self._requeue(job_id, N_("Queued again: its collector {owner} stopped and its queue entry was "
                                             "lost; it resumes from its checkpoint.", owner=owner))

    def _requeue(self, job_id: int, message: str) -> None:
        if self.jobs.publish(job_id):
            log.warning("job %s: %s", job_id, message)
            self.queue.add_job_event(self.jobs.get(job_id), message, collector=self.state.name)

    def cleanup(self) -> None:
        if not try_lock(self.redis, f"{self.settings.key_prefix}:lock:cleanup", self.state.name,
                        self.settings.cleanup_every_seconds):
            return
        result = retry_db(lambda: self.jobs.cleanup())
        log.info("retention cleanup: %s", result.summary())
