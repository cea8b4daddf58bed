"""Retention: remove finished jobs older than N days with their event streams, trim the
work stream by age (its ids are millisecond timestamps, so one XTRIM MINID does it) and
forget collectors that stopped beating. Used by the collectors' hourly duty, the CLI and
the web app's "Clean now" alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select

from collector.i18n import N_, N_plural
from collector.queue import Queue, Registry
from collector.store import FINISHED_STATUSES, Database, Job, WatchlistRun
from collector.timespec import utcnow

from . import lifecycle

BATCH = 500
MAX_CLEANUP_DAYS = 3650  # ten years: anything longer is a typo


@dataclass(frozen=True)
class CleanupResult:
    jobs_removed: int
    event_streams_removed: int
    queue_entries_trimmed: int
    days: int
    collectors_forgotten: int = 0

    def summary(self) -> str:
        """'Removed 3 finished jobs older than 7 days, 3 event streams and 5 old queue entries.'"""
        parts = dict(jobs=N_plural("{n} finished job", "{n} finished jobs", self.jobs_removed),
                     days=N_plural("{n} day", "{n} days", self.days),
                     streams=N_plural("{n} event stream", "{n} event streams", self.event_streams_removed),
                     entries=N_plural("{n} old queue entry", "{n} old queue entries", self.queue_entries_trimmed))
        if self.collectors_forgotten:
            return N_("Removed {jobs} older than {days}, {streams} and {entries}, and forgot {collectors}.",
                      collectors=N_plural("{n} stopped collector", "{n} stopped collectors",
                                          self.collectors_forgotten), **parts)
        return N_("Removed {jobs} older than {days}, {streams} and {entries}.", **parts)


def cleanup(db: Database, queue: Queue, registry: Registry, days: int) -> CleanupResult:
    """Delete COMPLETED/FAILED/CANCELLED jobs that finished more than `days` days ago."""
    cutoff = utcnow() - timedelta(days=days)
    jobs_removed = streams_removed = 0
    while True:
        with db.write() as session:
            ids = session.scalars(select(Job.id).where(Job.status.in_(FINISHED_STATUSES),
                                                       Job.finished_at < cutoff).limit(BATCH)).all()
            if not ids:
                break
            session.execute(delete(Job).where(Job.id.in_(ids)))
        jobs_removed += len(ids)
        streams_removed += queue.delete_events(list(ids))
    _forget_runs(db, cutoff)
    lifecycle.unpublish_older_than(db, cutoff)  # their entries are trimmed next: queued again, not lost
    trimmed = queue.trim_before(int(cutoff.timestamp() * 1000))
    forgotten = registry.prune()  # heartbeats of collectors gone for good
    return CleanupResult(jobs_removed, streams_removed, trimmed, days, forgotten)


def _forget_runs(db: Database, cutoff) -> None:
    """Watchlist runs older than the cutoff whose jobs are gone, except each watchlist's
    newest scheduled and newest manual run: the scheduler counts missed slots from them."""
    newest = select(func.max(WatchlistRun.id)).group_by(WatchlistRun.watchlist_id, WatchlistRun.trigger)
    with db.write() as session:
        session.execute(delete(WatchlistRun).where(
            WatchlistRun.created_at < cutoff, WatchlistRun.id.not_in(newest),
            WatchlistRun.id.not_in(select(Job.run_id).where(Job.run_id.is_not(None)).distinct())))
