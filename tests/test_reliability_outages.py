"""Outages with real processes: Redis down at submit (outbox), Redis restarted under
running and queued jobs (AOF), Redis losing its latest writes, database locked or
restarted mid-job. Each test runs a server of its own that it stops and starts."""

import subprocess
import sys
import time

from collector import connect
from collector.embedded import port_open
from collector.queue.streams import GROUP
from collector.store.db import Database
from collector.store.models import JobStatus
from tests.helpers import THREE_MONTHS, assert_exact, finished, messages, running_on, wait_for

FAST = {"MDC_CLAIM_IDLE_SECONDS": "1"}


def test_a_job_submitted_while_redis_is_down_is_saved_then_runs_once_redis_is_back(
        own_redis, own_redis_manager, own_redis_collectors, db):
    manager = own_redis_manager
    collectors = own_redis_collectors
    c1 = collectors.start("c1", **FAST)
    wait_for(lambda: manager.queue.redis.zscore(f"{manager.queue.prefix}:collectors", "c1"), message="c1 up")
    own_redis.stop()
    (submitted,) = manager.submit({**THREE_MONTHS, "period": "1mo"})
    assert submitted.created and not submitted.queued
    job = manager.get(submitted.job.id)
    assert job.status == JobStatus.PENDING and job.published_at is None

    time.sleep(1)  # the collector notices the outage and backs off
    own_redis.start()
    job = finished(manager, job.id)
    assert_exact(job, db)
    assert job.published_at is not None and job.attempts == 1
    assert "Redis unavailable" in c1.log_path.read_text()


def test_redis_restart_running_and_queued_jobs_continue_and_finish_exactly(
        own_redis, own_redis_manager, own_redis_collectors, db):
    manager, queue = own_redis_manager, own_redis_manager.queue
    env = {"MDC_CLAIM_IDLE_SECONDS": "2"}
    for name in ("c1", "c2"):  # both reading the queue before the jobs come, so each takes one
        own_redis_collectors.start(name, **env)
    for name in ("c1", "c2"):
        wait_for(lambda: queue.redis.zscore(f"{queue.prefix}:collectors", name), message=f"{name} to beat")
    # 0.5 s chunks: seconds of the first two jobs are left when Redis stops, so C and D are still queued
    results = manager.submit({**THREE_MONTHS, "symbol": "A,B,C,D", "options": {"delay": "0.5"}})
    ids = [r.job.id for r in results]
    wait_for(lambda: sum(manager.get(i).progress_done >= 2 for i in ids) == 2, message="two jobs under way")
    own_redis.stop()  # SIGTERM: valkey writes its AOF out before it exits
    assert not port_open(own_redis.port)
    time.sleep(1)
    # the running ones may even finish during the outage; the queued ones can only start after it
    queued = [i for i in ids if manager.get(i).status == "PENDING"]
    restarted = time.time()
    own_redis.start()

    jobs = [finished(manager, i, timeout=40) for i in ids]
    for job in jobs:
        assert_exact(job)
        assert job.attempts == 1, messages(queue, job.id)  # nobody took a live collector's job
    assert len(queued) == 2
    for job_id in queued:  # their progress is reported after the restart, up to the end
        later = [e for e in queue.events(job_id) if e["ts"] > restarted]
        assert later and later[-1]["state"] == "COMPLETED", (job_id, later)
    assert queue.redis.xpending(queue.stream, GROUP)["pending"] == 0


def test_a_pending_job_whose_entry_redis_lost_is_queued_again(own_redis_manager, own_redis_collectors, db):
    manager, queue = own_redis_manager, own_redis_manager.queue
    results = manager.submit({**THREE_MONTHS, "symbol": "LOST,KEPT", "period": "5d"})
    lost, kept = (r.job.id for r in results)
    (entry_id, _), = [(i, f) for i, f in queue.redis.xrange(queue.stream) if f["job_id"] == str(lost)]
    queue.redis.xdel(queue.stream, entry_id)  # as if Redis died before its AOF held the XADD

    own_redis_collectors.start("c1", **FAST)
    for job_id in (lost, kept):
        assert_exact(finished(manager, job_id))
    assert any(m.startswith("Queued again: its queue entry was lost") for m in messages(queue, lost))
    assert not any(m.startswith("Queued again") for m in messages(queue, kept))


def test_a_running_job_whose_collector_died_and_whose_entry_redis_lost_is_resumed(
        own_redis_manager, own_redis_collectors, db):
    manager, queue = own_redis_manager, own_redis_manager.queue
    c1 = own_redis_collectors.start("c1", **FAST)
    (submitted,) = manager.submit({**THREE_MONTHS, "options": {"delay": "0.2"}})
    job_id = submitted.job.id
    running_on(manager, job_id, "c1", done=1)
    # Redis forgets the delivery (and the entry), then the collector dies.
    queue.redis.delete(queue.stream)
    c1.kill()
    c1.wait(5)
    own_redis_collectors.start("c2", **FAST)
    job = finished(manager, job_id)
    assert_exact(job, db)
    log = messages(queue, job_id)
    assert any(m.startswith("Queued again: its collector c1 stopped") for m in log)
    assert any(m.startswith("Resumed by c2") for m in log)


def test_sqlite_locked_by_another_process_for_seconds_the_job_still_completes(manager, collectors, settings, db):
    collectors.start("c1", **FAST)
    (submitted,) = manager.submit({**THREE_MONTHS, "options": {"delay": "0.2"}})
    job_id = submitted.job.id
    running_on(manager, job_id, "c1", done=1)
    path = settings.sqlalchemy_url.removeprefix("sqlite:///")
    locker = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time\n"
        f"conn = sqlite3.connect({path!r}, isolation_level=None)\n"
        "conn.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(5)\n"
        "conn.execute('COMMIT')\n")], stdout=subprocess.PIPE, text=True)
    with locker.stdout:
        assert locker.stdout.readline().strip() == "locked"
    held = manager.get(job_id).progress_done  # reads still work in WAL mode
    time.sleep(1.5)
    assert manager.get(job_id).progress_done <= held + 1  # writes wait for the lock
    assert locker.wait(10) == 0

    job = finished(manager, job_id)
    assert_exact(job, db)
    assert job.attempts == 1


def test_postgresql_restart_mid_job_the_job_completes_exactly(own_postgres, settings, tmp_path):
    import dataclasses

    from tests.fixtures.processes import CollectorProcs

    pg_settings = dataclasses.replace(settings, database_url=own_postgres.url)
    database = Database(own_postgres.url)
    database.migrate()
    manager = connect(pg_settings, db=database).jobs
    procs = CollectorProcs(pg_settings, tmp_path)
    try:
        c1 = procs.start("c1", **FAST)
        (submitted,) = manager.submit({**THREE_MONTHS, "options": {"delay": "0.3"}})
        job_id = submitted.job.id
        wait_for(lambda: manager.get(job_id).progress_done >= 2, message="two chunks")
        assert manager.get(job_id).progress_done < manager.get(job_id).progress_total  # mid-job
        own_postgres.stop()
        time.sleep(1)
        own_postgres.start()
        wait_for(lambda: _get_or_none(manager, job_id), message="database back")
        job = finished(manager, job_id, timeout=40)
        assert_exact(job, database)
        assert job.attempts == 1
        assert "database unavailable" in c1.log_path.read_text()
    finally:
        procs.stop_all()
        manager.queue.redis.close()
        database.dispose()


def _get_or_none(manager, job_id):
    from sqlalchemy.exc import OperationalError

    try:
        return manager.get(job_id)
    except OperationalError:
        return None


def test_redis_killed_hard_nothing_is_lost(own_redis, own_redis_manager, own_redis_collectors, db):
    """kill -9 of Redis (appendfsync everysec may lose its last second): every job still
    ends COMPLETED with exact bars, whatever Redis forgot."""
    manager, queue = own_redis_manager, own_redis_manager.queue
    own_redis_collectors.start("c1", **FAST)
    own_redis_collectors.start("c2", **FAST)
    results = manager.submit({**THREE_MONTHS, "symbol": "K1,K2,K3,K4", "period": "1mo",
                              "options": {"delay": "0.2"}})
    ids = [r.job.id for r in results]
    wait_for(lambda: sum(manager.get(i).status == "COMPLETED" for i in ids) >= 1, message="work under way")
    own_redis.stop(kill=True)
    time.sleep(0.5)
    own_redis.start()
    for job_id in ids:
        assert_exact(finished(manager, job_id, timeout=40))
    wait_for(lambda: queue.redis.xpending(queue.stream, GROUP)["pending"] == 0, message="no entry left pending")
