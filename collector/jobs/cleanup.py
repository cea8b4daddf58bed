"""Retention: remove finished jobs older than N days with their event streams, trim the
work stream by age (its ids are millisecond timestamps, so one XTRIM MINID does it) and
forget collectors that stopped beating. Used by the collectors' hourly duty, the CLI and
the web app's "Clean now" alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from collector.queue import Queue, Registry
from collector.store import FINISHED_STATUSES, Database, Job
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
        return (f"Removed {self.jobs_removed:,} finished job{'s' * (self.jobs_removed != 1)} older than "
                f"{self.days} day{'s' * (self.days != 1)}, {self.event_streams_removed:,} event "
                f"stream{'s' * (self.event_streams_removed != 1)} and {self.queue_entries_trimmed:,} "
                f"old queue entr{'ies' if self.queue_entries_trimmed != 1 else 'y'}"
                + (f", and forgot {self.collectors_forgotten:,} stopped collector"
                   f"{'s' * (self.collectors_forgotten != 1)}." if self.collectors_forgotten else "."))


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
    lifecycle.unpublish_older_than(db, cutoff)  # their entries are trimmed next: queued again, not lost
    trimmed = queue.trim_before(int(cutoff.timestamp() * 1000))
    forgotten = registry.prune()  # heartbeats of collectors gone for good
    return CleanupResult(jobs_removed, streams_removed, trimmed, days, forgotten)
