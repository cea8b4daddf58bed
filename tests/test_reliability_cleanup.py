"""Collectors run the retention cleanup by themselves, one at a time."""

import time

from collector.store.models import JobStatus
from tests.helpers import make_aged_job, wait_for


def test_collectors_clean_up_by_themselves_under_one_lock(manager, db, queue, collectors):
    old = make_aged_job(manager, db, "OLD", JobStatus.COMPLETED, 8)
    recent = make_aged_job(manager, db, "NEW", JobStatus.COMPLETED, 1)
    gone = f"{queue.prefix}:collectors"
    queue.redis.zadd(gone, {"dead-for-an-hour": time.time() - 3600})

    procs = [collectors.start(name) for name in ("c1", "c2")]
    wait_for(lambda: manager.get(old) is None, message="the old job to be removed")
    assert manager.get(recent) is not None
    assert not queue.redis.exists(queue.events_key(old)) and queue.redis.exists(queue.events_key(recent))
    # pruning dead collectors follows the job cleanup in the same duty: wait for it too
    wait_for(lambda: queue.redis.zscore(gone, "dead-for-an-hour") is None, message="the dead collector to go")
    wait_for(lambda: all(queue.redis.zscore(gone, n) for n in ("c1", "c2")), message="both collectors up")
    ran = [p for p in procs if "retention cleanup" in p.log_path.read_text()]
    assert len(ran) == 1  # the lock lasts an hour: the other one skipped it
    assert queue.redis.pttl(f"{queue.prefix}:lock:cleanup") > 3_500_000
