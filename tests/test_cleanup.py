"""Retention cleanup: only finished jobs older than the limit go, with their event streams."""

import pytest

from collector.store.models import JobStatus
from tests.helpers import make_aged_job

pytestmark = pytest.mark.both_databases  # each test runs on SQLite and on PostgreSQL

def test_removes_only_finished_jobs_older_than_the_limit(manager, db, queue):
    old_done = make_aged_job(manager, db, "A", JobStatus.COMPLETED, 8)
    old_failed = make_aged_job(manager, db, "B", JobStatus.FAILED, 30)
    recent_done = make_aged_job(manager, db, "C", JobStatus.COMPLETED, 6)
    old_running = make_aged_job(manager, db, "D", JobStatus.RUNNING, 9)
    old_pending = make_aged_job(manager, db, "E", JobStatus.PENDING, 9)

    result = manager.cleanup(7)
    assert result.jobs_removed == 2 and result.event_streams_removed == 2
    assert manager.get(old_done) is None and manager.get(old_failed) is None
    for kept in (recent_done, old_running, old_pending):
        assert manager.get(kept) is not None
        assert queue.last_event(kept) is not None
    assert queue.last_event(old_done) is None
    # the still-pending job's queue entry may be trimmed, so it is queued again (outbox)
    assert manager.get(old_pending).published_at is None
    assert "Removed 2 finished jobs older than 7 days" in result.summary()


def test_trims_queue_entries_by_age(manager, queue):
    queue.redis.xadd(queue.stream, {"job_id": "1"}, id="1000-0")  # 1970: very old
    queue.publish(2)
    result = manager.cleanup(7)
    assert result.queue_entries_trimmed == 1
    assert queue.redis.xlen(queue.stream) == 1


def test_cleanup_forgets_collectors_that_stopped_long_ago(manager, queue):
    import time

    from collector.queue.registry import Registry

    registry = Registry(queue.redis, queue.prefix)
    queue.redis.zadd(registry.index, {"gone": time.time() - 3600})
    registry.beat("alive")
    result = manager.cleanup(7)
    assert result.collectors_forgotten == 1 and "forgot 1 stopped collector." in result.summary()
    assert [c["name"] for c in registry.collectors()] == ["alive"]


def test_ids_of_removed_jobs_are_never_handed_out_again(manager, db):
    """Series' revision marks, the ledger and retries keep naming jobs after cleanup removed
    them: a new job must never take such an id (SQLite reused the highest one)."""
    newest = max(make_aged_job(manager, db, s, JobStatus.COMPLETED, 30) for s in ("A", "B", "C"))
    assert manager.cleanup(7).jobs_removed == 3
    (fresh,) = manager.submit({"source": "sim", "interval": "1d", "period": "1mo", "symbol": "D"})
    assert fresh.job.id > newest
