"""Warm shutdown: a stopping collector never takes a job a peer just handed back."""

import pytest

from collector.store import JobStatus
from collector.worker import Collector

pytestmark = pytest.mark.both_databases

FORM = {"source": "sim", "symbol": "AAPL", "interval": "1d", "period": "1y"}


def test_an_entry_read_while_stopping_is_queued_again_untouched(settings, manager, queue, db):
    queue.ensure_group()
    (submitted,) = manager.submit(FORM)
    stopping = Collector(settings, name="stopping", db=db)
    try:
        (entry,) = stopping.queue.read_new("stopping", block_ms=100)
        stopping.state.stopping = True  # SIGTERM arrived while it was blocked reading
        stopping.handle(entry)
    finally:
        stopping.services.redis.close()
    job = manager.get(submitted.job.id)
    assert job.status == JobStatus.PENDING and job.collector is None and job.started_at is None
    assert stopping.state.counts == {"completed": 0, "failed": 0, "cancelled": 0, "handed_back": 0}
    assert queue.delivery(entry.id) == (None, 0)  # its entry is acked...
    (fresh,) = queue.read_new("stays", block_ms=100)  # ...and a fresh one waits for a collector that stays
    assert fresh.job_id == job.id and fresh.id != entry.id
    assert queue.events(job.id) == []  # nothing was claimed, so nothing to report
