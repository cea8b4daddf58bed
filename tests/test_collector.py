"""Real collector processes against a real Redis-protocol server and a real database."""

import signal
import subprocess
import sys

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from collector.queue import QueueStats
from collector.sources.sim import simulate
from collector.store.models import Bar, JobStatus
from tests.helpers import THREE_MONTHS, bar_count, expected_bars, finished, messages, settings_env, wait_for

pytestmark = pytest.mark.both_databases  # each test runs on SQLite and on PostgreSQL

def test_sim_job_end_to_end_then_again_unchanged_then_updated(manager, collectors, db, queue):
    collectors.start("c1")
    (submitted,) = manager.submit(THREE_MONTHS)
    job = finished(manager, submitted.job.id)
    assert job.status == JobStatus.COMPLETED, job.error
    n = expected_bars(job)
    assert n > 10_000 and job.rows_new == n and bar_count(db) == n
    assert job.progress_done == job.progress_total > 1
    assert queue.last_event(job.id)["state"] == "COMPLETED"
    assert QueueStats(queue).bars_total() == {"sim": n}  # what the monitor and /metrics show

    again = manager.retry(job.id)
    second = finished(manager, again.job.id)
    assert (second.rows_new, second.rows_updated, second.rows_unchanged) == (0, 0, n)

    with db.write() as session:
        first_ts = session.scalar(select(func.min(Bar.ts)))
        session.execute(update(Bar).where(Bar.ts < first_ts + 5 * 60).values(close=Bar.close + 1))
    third = finished(manager, manager.retry(job.id).job.id)
    assert (third.rows_new, third.rows_updated, third.rows_unchanged) == (0, 5, n - 5)


def test_two_collectors_never_run_the_same_job(manager, collectors, queue):
    collectors.start("c1")
    collectors.start("c2")
    results = manager.submit({**THREE_MONTHS, "symbol": "A,B,C,D,E,F", "period": "1mo",
                              "options": {"delay": "0.05"}})
    jobs = [finished(manager, r.job.id) for r in results]
    assert all(j.status == "COMPLETED" for j in jobs)
    assert all(j.attempts == 1 for j in jobs)
    for j in jobs:
        started = [m for m in messages(queue, j.id) if m.startswith("Started by")]
        assert len(started) == 1, started
    assert {j.collector for j in jobs} == {"c1", "c2"}


def test_cancel_while_running_stops_after_the_chunk(manager, collectors):
    collectors.start("c1")
    (submitted,) = manager.submit({**THREE_MONTHS, "options": {"delay": "0.4"}})
    wait_for(lambda: manager.get(submitted.job.id).progress_done >= 1, message="first chunk")
    manager.cancel(submitted.job.id)
    job = finished(manager, submitted.job.id)
    assert job.status == JobStatus.CANCELLED
    assert 1 <= job.progress_done < job.progress_total


def test_sigterm_hands_the_job_back_and_it_completes_exactly(manager, collectors, queue, db):
    first = collectors.start("c1")
    (submitted,) = manager.submit({**THREE_MONTHS, "options": {"delay": "0.6"}})  # seconds left after two chunks
    wait_for(lambda: manager.get(submitted.job.id).progress_done >= 2, message="two chunks")
    first.send_signal(signal.SIGTERM)
    assert first.wait(10) == 0
    job = manager.get(submitted.job.id)
    assert job.status == JobStatus.PENDING and job.checkpoint["next_chunk"] >= 2
    log = first.log_path.read_text()
    assert "warm shutdown" in log and "1 handed back" in log

    collectors.start("c2")
    job = finished(manager, submitted.job.id)
    assert job.status == JobStatus.COMPLETED
    n = expected_bars(job)
    assert job.rows_new == n and job.rows_unchanged == 0 and bar_count(db) == n
    log_lines = messages(queue, job.id)
    assert any(m.startswith("Handed back by c1") for m in log_lines)
    assert any(m.startswith("Resumed by c2") for m in log_lines)


def test_source_errors_end_as_failed_with_the_reason(manager, collectors, settings):
    collectors.start("c1", MDC_MAX_RETRIES="2")
    (permanent,) = manager.submit({**THREE_MONTHS, "symbol": "P", "options": {"fail": "permanent:1"}})
    (transient,) = manager.submit({**THREE_MONTHS, "symbol": "T", "options": {"fail": "transient:0"}})
    p = finished(manager, permanent.job.id)
    t = finished(manager, transient.job.id)
    assert p.status == "FAILED" and p.error == "Simulated permanent failure at chunk 2."
    assert p.progress_done == 1
    assert t.status == "FAILED" and t.error.startswith("Gave up after 2 retries: Simulated transient failure")


def test_check_command_follows_the_heartbeat(collectors, settings):
    env = settings_env(settings)
    check = [sys.executable, "-m", "collector", "check"]
    assert subprocess.run(check, env=env, capture_output=True).returncode == 1
    proc = collectors.start("c1")
    wait_for(lambda: subprocess.run(check, env=env, capture_output=True).returncode == 0,
             message="check to see the collector")
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)
    assert subprocess.run(check, env=env, capture_output=True).returncode == 1


def test_sim_bars_do_not_depend_on_chunking():
    whole = simulate("X", "5m", "trades", pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-02-01", tz="UTC"))
    parts = pd.concat([simulate("X", "5m", "trades", pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC"))
                       for a, b in [("2024-01-01", "2024-01-10"), ("2024-01-10", "2024-02-01")]])
    assert whole.equals(parts)
    assert (whole.index.day_of_week < 5).all()
