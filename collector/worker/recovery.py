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
from typing import TYPE_CHECKING

import redis
from sqlalchemy import or_, select

from collector.jobs import lifecycle
from collector.jobs.cleanup import cleanup
from collector.queue.streams import Entry
from collector.store.db import retry_db
from collector.store.models import ACTIVE_STATUSES, Job, JobStatus
from collector.timespec import utcnow

if TYPE_CHECKING:
    from .loop import Collector

log = logging.getLogger("mdc.collector")

CHECK_LIMIT = 5000  # active jobs checked against the stream per pass


def try_lock(client: redis.Redis, key: str, owner: str, ttl_s: float) -> bool:
    """Take `key` for `ttl_s` seconds unless someone holds it; it is never released early,
    so the TTL is also the period of the duty it guards."""
    return bool(client.set(key, owner, nx=True, px=max(1, int(ttl_s * 1000))))


class Recovery:
    def __init__(self, collector: "Collector"):
        self.c = collector
        idle = collector.settings.claim_idle_seconds
        self.period_s = min(5.0, idle / 2)
        self.grace_s = min(5.0, idle)  # a publish in flight finishes well within this

    def may_judge_others(self) -> bool:
        """After a Redis outage every claim looks stale: wait one idle timeout, during
        which live collectors refresh theirs, before treating anyone as gone."""
        return self.c.health.up_for() >= self.c.settings.claim_idle_seconds

    def owner_still_running(self, entry: Entry, job: Job) -> bool:
        """A reclaimed entry of a job whose collector still beats and runs it: either a
        stray duplicate entry (ack it) or the owner's own entry that it could not refresh
        in time, e.g. right after Redis came back (give it back). Never run a job twice."""
        c = self.c
        owner = job.collector
        info = c.registry.info(owner)
        beat = float(info.get("last_beat") or 0)
        if info.get("current_job") != str(job.id) or time.time() - beat > c.settings.claim_idle_seconds:
            return False
        if info.get("entry") == entry.id:
            c.queue.give_back(owner, entry.id)
            log.info("%s: job %s still runs on %s; gave its entry back", c.name, job.id, owner)
        else:
            c.queue.ack(entry.id)
            log.info("%s: job %s runs on %s under another entry; dropped duplicate %s",
                     c.name, job.id, owner, entry.id)
        return True

    def poison(self, entry: Entry, job: Job, stops: int) -> None:
        """The entry was delivered more than MDC_MAX_DELIVERIES times: FAILED, and acked."""
        c = self.c
        message = (f"The collector stopped {stops} times while running this job; "
                   "it was given up so that it stops circulating.")
        failed = retry_db(lambda: lifecycle.fail_unowned(c.db, job.id, message))
        if failed is not None:
            c.stats["failed"] += 1
            c.queue.add_event(job.id, state="FAILED", done=failed.progress_done, total=failed.progress_total,
                              rows_new=failed.rows_new, rows_updated=failed.rows_updated, message=message)
        c.queue.ack(entry.id)

    def reconcile(self) -> None:
        c = self.c
        if not try_lock(c.redis, f"{c.settings.key_prefix}:lock:reconcile", c.name, self.period_s):
            return
        published = retry_db(lambda: c.jobs.publish_outbox(older_than_s=self.grace_s))
        if published:
            log.info("%s: queued %d job(s) saved while Redis was unreachable", c.name, published)
        if not self.may_judge_others():
            return
        backlog, pending = c.queue.queued_job_ids()  # before reading the database: see below
        # A job published after the snapshot has published_at within the grace period and
        # is left alone; a job claimed after it is RUNNING under a live collector.
        cutoff = utcnow() - timedelta(seconds=self.grace_s)
        with c.db.read() as session:
            rows = session.execute(
                select(Job.id, Job.status, Job.collector).where(
                    Job.status.in_(ACTIVE_STATUSES),
                    or_(Job.status == JobStatus.RUNNING, Job.published_at < cutoff))
                .order_by(Job.id).limit(CHECK_LIMIT)).all()
        for job_id, status, owner in rows:
            if status == JobStatus.PENDING and job_id not in backlog and job_id not in pending:
                self._requeue(job_id, "Queued again: its queue entry was lost (Redis restarted or was cleared).")
            elif (status == JobStatus.RUNNING and job_id not in pending
                  and (owner is None or c.registry.silent_for(owner) > c.settings.claim_idle_seconds)):
                if retry_db(lambda: lifecycle.requeue(c.db, job_id, owner)):
                    self._requeue(job_id, f"Queued again: its collector {owner} stopped and its queue "
                                          "entry was lost; it resumes from its checkpoint.")

    def _requeue(self, job_id: int, message: str) -> None:
        c = self.c
        if c.jobs.publish(job_id):
            log.warning("%s: job %s: %s", c.name, job_id, message)
            job = c.jobs.get(job_id)
            try:
                c.queue.add_event(job_id, state=JobStatus.PENDING, done=job.progress_done, total=job.progress_total,
                                  rows_new=job.rows_new, rows_updated=job.rows_updated, message=message,
                                  collector=c.name)
            except redis.RedisError:
                pass

    def cleanup(self) -> None:
        c = self.c
        if not try_lock(c.redis, f"{c.settings.key_prefix}:lock:cleanup", c.name,
                        c.settings.cleanup_every_seconds):
            return
        result = retry_db(lambda: cleanup(c.db, c.queue, c.settings.retention_days))
        log.info("%s: retention cleanup: %s", c.name, result.summary())
