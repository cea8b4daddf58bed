"""Job lifecycle guarantees with real collector processes: kill -9, long jobs, poison
entries, warm and cold shutdown. Short timeouts keep each test to a few seconds."""

import signal
import time

from collector.queue.streams import GROUP
from collector.store.models import JobStatus
from tests.helpers import THREE_MONTHS, assert_exact, finished, messages, running_on, wait_for

FAST = {"MDC_CLAIM_IDLE_SECONDS": "1"}


def start_two(collectors, queue, **env):
    """Two collectors, both beating (so both are reading the queue) before a job arrives."""
    procs = {name: collectors.start(name, **env) for name in ("c1", "c2")}
    for name in procs:
        wait_for(lambda: queue.redis.zscore(f"{queue.prefix}:collectors", name), message=f"{name} to beat")
    return procs


def owner_and_other(manager, job_id, procs, done=0):
    """(name running the job once it saved more than `done` chunks, the other name)."""
    job = wait_for(lambda: (j := manager.get(job_id)).status == "RUNNING" and j.progress_done > done and j,
                   message=f"job {job_id} under way")
    other = next(name for name in procs if name != job.collector)
    return job.collector, other


def test_kill_9_mid_job_another_collector_resumes_from_the_checkpoint(manager, collectors, queue, db):
    procs = start_two(collectors, queue, **FAST)
    (submitted,) = manager.submit({**THREE_MONTHS, "options": {"delay": "0.5"}})  # ~2.5 s left after chunk 2
    job_id = submitted.job.id
    victim, heir = owner_and_other(manager, job_id, procs, done=1)
    procs[victim].kill()
    procs[victim].wait(5)
    checkpoint = manager.get(job_id).checkpoint["next_chunk"]

    job = finished(manager, job_id)
    assert_exact(job, db)
    assert job.collector == heir and job.attempts == 2
    log = messages(queue, job_id)
    assert sum(m.startswith("Started by") for m in log) == 1
    assert (f"Resumed by {heir} at chunk {checkpoint + 1} of {job.progress_total} "
            f"(its previous collector {victim} stopped).") in log
    assert queue.redis.xpending(queue.stream, GROUP)["pending"] == 0


def test_a_job_longer_than_the_idle_timeout_is_never_taken_over_while_its_collector_lives(
        manager, collectors, queue, db):
    # The idle one looks for entries idle over 3 s (a stall of the owner shorter than that must
    # not count); the job lasts more than twice as long.
    procs = start_two(collectors, queue, MDC_CLAIM_IDLE_SECONDS="3")
    (submitted,) = manager.submit({**THREE_MONTHS, "options": {"delay": "1.0"}})  # 7 chunks: ~7 s
    owner, other = owner_and_other(manager, submitted.job.id, procs)
    job = finished(manager, submitted.job.id)
    assert_exact(job, db)
    assert job.attempts == 1 and job.collector == owner
    assert (job.finished_at - job.started_at).total_seconds() > 6
    log = messages(queue, job.id)
    assert sum(m.startswith(f"Started by {owner}") for m in log) == 1
    assert not [m for m in log if "Resumed" in m or other in m]


def test_an_entry_whose_collector_dies_every_time_ends_failed_and_acked(manager, collectors, queue):
    env = {**FAST, "MDC_MAX_DELIVERIES": "2"}
    (submitted,) = manager.submit({**THREE_MONTHS, "period": "6mo", "options": {"delay": "0.3"}})
    job_id = submitted.job.id
    for name in ("c1", "c2"):
        proc = collectors.start(name, **env)
        running_on(manager, job_id, name)
        proc.kill()
        proc.wait(5)
    collectors.start("c3", **env)
    job = finished(manager, job_id)
    assert job.status == JobStatus.FAILED
    assert "collector stopped 2 times while running this job" in job.error
    assert 1 <= job.progress_done < job.progress_total
    assert queue.last_event(job_id)["state"] == "FAILED"
    wait_for(lambda: queue.redis.xpending(queue.stream, GROUP)["pending"] == 0, message="entry acked")
    assert queue.redis.xlen(queue.stream) == 1  # not queued again


def test_first_sigterm_hands_back_and_another_collector_takes_it_at_once(manager, collectors, queue, db):
    # A 30 s idle timeout: any wait for it would show.
    procs = start_two(collectors, queue, MDC_CLAIM_IDLE_SECONDS="30")
    (submitted,) = manager.submit({**THREE_MONTHS, "period": "6mo", "options": {"delay": "0.3"}})
    job_id = submitted.job.id
    first, second = owner_and_other(manager, job_id, procs, done=1)
    sent = time.monotonic()
    procs[first].send_signal(signal.SIGTERM)
    assert procs[first].wait(10) == 0
    wait_for(lambda: any(m.startswith(f"Resumed by {second}") for m in messages(queue, job_id)),
             timeout=10, message="the other collector to resume")
    assert time.monotonic() - sent < 15  # half the idle timeout: handed back, not taken over

    job = finished(manager, job_id)
    assert_exact(job, db)
    assert job.collector == second
    assert any(m.startswith(f"Handed back by {first}") for m in messages(queue, job_id))
    summary = [line for line in procs[first].log_path.read_text().splitlines() if "stopped after" in line]
    assert len(summary) == 1 and "0 completed, 0 failed, 0 cancelled, 1 handed back" in summary[0]


def test_second_sigterm_exits_at_once_and_the_job_is_taken_over(manager, collectors, queue, db):
    c1 = collectors.start("c1", **FAST)
    (submitted,) = manager.submit({**THREE_MONTHS, "period": "5d", "options": {"delay": "5"}})  # one chunk
    job_id = submitted.job.id
    wait_for(lambda: any(m.startswith("Started by c1") for m in messages(queue, job_id)), message="start")
    c1.send_signal(signal.SIGTERM)
    # Two signals sent before Python runs its handler would count as one: wait for the first.
    wait_for(lambda: "warm shutdown" in c1.log_path.read_text(), timeout=4, message="the warm shutdown to begin")
    sent = time.monotonic()
    c1.send_signal(signal.SIGTERM)
    assert c1.wait(5) == 1
    assert time.monotonic() - sent < 2.0  # did not wait for the chunk (seconds of it left) to finish
    assert manager.get(job_id).status == JobStatus.RUNNING  # not handed back: the entry is still pending
    output = c1.log_path.read_text()
    assert "cold shutdown" in output
    assert len([line for line in output.splitlines() if "stopped after" in line]) == 1

    collectors.start("c2", **FAST)
    job = finished(manager, job_id, timeout=40)
    assert_exact(job, db)
    assert job.collector == "c2" and job.attempts == 2
