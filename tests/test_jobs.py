"""Job manager: create, de-duplicate, list, cancel, and compare-and-set transitions."""

import threading
from datetime import timedelta

import pytest
import redis

from collector import connect
from collector.jobs import lifecycle
from collector.store.models import JobStatus
from collector.timespec import utcnow
from tests.helpers import end_claimed, end_job

pytestmark = pytest.mark.both_databases  # each test runs on SQLite and on PostgreSQL

SIM = {"source": "sim", "symbol": "AAPL", "interval": "1d", "period": "1mo"}


def test_submit_creates_pending_job_and_queue_entry(manager, queue):
    (result,) = manager.submit(SIM)
    assert result.created and result.queued
    assert result.job.status == JobStatus.PENDING
    assert result.job.published_at is not None
    assert queue.redis.xlen(queue.stream) == 1


def test_identical_active_job_is_returned_not_duplicated(manager, queue):
    (first,) = manager.submit(SIM)
    (second,) = manager.submit({**SIM, "symbol": "aapl"})
    assert not second.created and second.job.id == first.job.id
    assert queue.redis.xlen(queue.stream) == 1
    (other,) = manager.submit({**SIM, "interval": "1h"})
    assert other.created


def test_same_request_after_completion_is_a_new_job(manager, db):
    (first,) = manager.submit(SIM)
    end_job(db, first.job.id, JobStatus.COMPLETED)
    (again,) = manager.submit(SIM)
    assert again.created and again.job.id != first.job.id


def test_several_symbols_one_job_each(manager):
    results = manager.submit({**SIM, "symbol": "AAPL, MSFT, NVDA"})
    assert [r.job.symbol for r in results] == ["AAPL", "MSFT", "NVDA"]


def test_list_by_tab_with_pagination_and_filters(manager, db):
    for symbol in ["A", "B", "C", "D", "E"]:
        manager.submit({**SIM, "symbol": symbol})
    end_job(db, 1, JobStatus.FAILED, "boom")
    page = manager.list("running", page=1, per_page=2)
    assert page.total == 4 and page.pages == 2 and [j.symbol for j in page.items] == ["E", "D"]
    assert [j.symbol for j in manager.list("failed").items] == ["A"]
    assert manager.list("all", symbol="c").total == 1
    assert manager.list("all", source="yahoo").total == 0
    assert manager.counts()["FAILED"] == 1 and manager.counts()["PENDING"] == 4


def test_cancel_pending_is_immediate(manager, queue):
    (result,) = manager.submit(SIM)
    job = manager.cancel(result.job.id)
    assert job.status == JobStatus.CANCELLED and job.finished_at is not None
    assert queue.last_event(job.id)["state"] == "CANCELLED"


def test_cancel_running_sets_flag_and_never_overwrites_finish(manager, db):
    (result,) = manager.submit(SIM)
    lifecycle.claim(db, result.job.id, "c1")
    job = manager.cancel(result.job.id)
    assert job.status == JobStatus.RUNNING and job.cancel_requested
    end_claimed(db, job.id, JobStatus.CANCELLED)
    # a late cancel on a finished job changes nothing
    assert manager.cancel(job.id).status == JobStatus.CANCELLED


def test_only_one_of_many_racing_claims_wins(manager, db):
    (result,) = manager.submit(SIM)
    winners = []
    barrier = threading.Barrier(6)

    def race(name):
        barrier.wait()
        if lifecycle.claim(db, result.job.id, name) is not None:
            winners.append(name)

    threads = [threading.Thread(target=race, args=(f"c{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert manager.get(result.job.id).collector == winners[0]


def test_a_collector_that_lost_the_job_cannot_write(manager, db):
    (result,) = manager.submit(SIM)
    lifecycle.claim(db, result.job.id, "old")
    assert lifecycle.take_over(db, result.job.id, "new", "old") is not None
    try:
        end_claimed(db, result.job.id, JobStatus.COMPLETED, collector="old")
    except lifecycle.LostJob:
        pass
    else:
        raise AssertionError("the old owner finished a job it lost")
    assert manager.get(result.job.id).status == JobStatus.RUNNING


def test_submit_while_redis_is_down_is_saved_then_published(db, settings):
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, decode_responses=True)
    offline = connect(settings, db=db, client=dead).jobs
    (result,) = offline.submit(SIM)
    assert result.created and not result.queued
    assert offline.get(result.job.id).published_at is None


def test_outbox_publishes_jobs_that_never_reached_the_stream(manager, db, queue):
    from sqlalchemy import update

    from collector.store.models import Job

    (result,) = manager.submit(SIM)
    queue.redis.delete(queue.stream)
    queue.ensure_group()
    with db.write() as session:
        session.execute(update(Job).values(published_at=None, created_at=utcnow() - timedelta(minutes=1)))
    assert manager.publish_outbox() == 1
    assert queue.read_new("c1", block_ms=10)[0].job_id == result.job.id
    assert manager.publish_outbox() == 0


def test_retry_submits_the_same_request(manager, db):
    (result,) = manager.submit(SIM)
    end_job(db, result.job.id, JobStatus.FAILED, "nope")
    again = manager.retry(result.job.id)
    assert again.created and again.job.symbol == "AAPL" and again.job.start == result.job.start
