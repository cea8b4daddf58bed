"""The scheduler inside real collector processes (3 of them), on a schedule of short slots
(every-N-minutes with a 2-second minute, MDC_SCHEDULE_MINUTE_SECONDS): every slot runs
once, a collector killed during a run loses and doubles nothing, and a downtime across
several slots ends in exactly one late catch-up run."""

import dataclasses
import os
import signal
import time
from collections import Counter
from datetime import timedelta

import pytest

from collector import connect
from collector.jobs import JobFilter
from tests.fixtures.processes import CollectorProcs
from tests.helpers import wait_for

pytestmark = pytest.mark.both_databases

SLOT_S = 2.0  # every_minutes=1 with a 2-second minute


@pytest.fixture
def fast(settings):
    return dataclasses.replace(settings, schedule_minute_seconds=SLOT_S, schedule_check_seconds=0.3)


@pytest.fixture
def fast_services(fast, db):
    svc = connect(fast, "cli", db=db)
    yield svc
    svc.redis.close()


@pytest.fixture
def procs(fast, tmp_path):
    collectors = CollectorProcs(fast, tmp_path)
    yield collectors
    collectors.stop_all()


def watch(svc, every=1, delay="0", symbols="AAA, BBB, CCC"):
    return svc.watchlists.create({"name": "fast", "symbols": symbols, "source": "sim", "interval": "1d",
                                  "period": "1mo", "options": {"delay": delay}, "schedule": "every",
                                  "every_minutes": str(every)})


def runs_of(svc, watchlist_id):
    return sorted(svc.watchlists.runs(watchlist_id, limit=1000), key=lambda v: v.run.slot)


def check_every_slot_once(svc, watchlist, step_s):
    """Consecutive scheduled runs are one slot apart, or the later is a late catch-up that
    says so; every started run has one job per symbol, each completed once."""
    views = [v for v in runs_of(svc, watchlist.id) if v.run.trigger == "schedule"]
    step = timedelta(seconds=step_s)
    for before, after in zip(views, views[1:]):
        assert after.run.slot - before.run.slot >= step
        if after.run.slot - before.run.slot > step:
            assert after.run.late and "Catch-up" in after.run.note, (before.run.slot, after.run.slot)
    for view in views:
        if view.run.status != "STARTED":
            continue
        jobs = svc.jobs.list(run_id=view.run.id, per_page=1000).items
        assert sorted(j.symbol for j in jobs) == sorted(watchlist.symbols), view.run.number
        assert all(j.status == "COMPLETED" for j in jobs), [(j.symbol, j.status, j.error) for j in jobs]
    return views


def settled(svc, watchlist_id, n):
    """At least n scheduled runs, every one of them finished."""
    views = [v for v in runs_of(svc, watchlist_id) if v.run.trigger == "schedule"]
    return len(views) >= n and all(not v.is_going for v in views) and views


def test_three_collectors_run_every_slot_exactly_once(procs, fast_services):
    w = watch(fast_services, every=2)  # 4-second slots: room for a busy machine
    for name in ("c1", "c2", "c3"):
        procs.start(name)
    wait_for(lambda: settled(fast_services, w.id, 5), timeout=120, message="5 finished scheduled runs")
    views = check_every_slot_once(fast_services, w, 2 * SLOT_S)
    assert Counter(v.run.slot for v in views).most_common(1)[0][1] == 1
    claimers = {v.run.claimed_by for v in views}
    assert claimers <= {"c1", "c2", "c3"}


def test_kill_9_during_a_run_loses_and_doubles_nothing(procs, fast_services):
    w = watch(fast_services, every=2, delay="1.5")  # each job takes 1.5 s
    victims = {name: procs.start(name) for name in ("c1", "c2", "c3")}
    running = wait_for(lambda: next((j for j in fast_services.jobs.list("running").items
                                     if j.status == "RUNNING" and j.run_id), None),
                       timeout=90, message="a job of a run running")
    os.kill(victims[running.collector].pid, signal.SIGKILL)
    # On a slow machine the kill may come after the job's one chunk: then nobody had to take it over.
    killed_mid_job = fast_services.jobs.get(running.id).status == "RUNNING"
    wait_for(lambda: fast_services.jobs.get(running.id).status == "COMPLETED", timeout=90,
             message="the killed collector's job taken over and completed")
    first_after = runs_of(fast_services, w.id)[-1].run.number
    wait_for(lambda: (views := settled(fast_services, w.id, 1)) and views[-1].run.number > first_after + 1,
             timeout=120, message="two more runs after the kill, all finished")
    fast_services.watchlists.pause(w.id)
    wait_for(lambda: settled(fast_services, w.id, 1), timeout=90, message="the last run to finish")
    check_every_slot_once(fast_services, w, 2 * SLOT_S)
    assert fast_services.jobs.get(running.id).attempts == (2 if killed_mid_job else 1)
    counts = fast_services.jobs.counts(JobFilter(watchlist_id=w.id))
    assert counts["FAILED"] == counts["CANCELLED"] == counts["PENDING"] == counts["RUNNING"] == 0


def test_all_collectors_stopped_across_three_slots_give_one_catch_up_run(procs, fast_services):
    w = watch(fast_services, every=1)
    started = [procs.start(name) for name in ("c1", "c2", "c3")]
    wait_for(lambda: settled(fast_services, w.id, 2), timeout=90, message="2 finished scheduled runs")
    for proc in started:
        proc.send_signal(signal.SIGTERM)
    for proc in started:
        proc.wait(30)
    before = runs_of(fast_services, w.id)[-1]
    time.sleep(SLOT_S * 3.5)  # three slots pass with no collector
    restarted_at = fast_services.watchlists.schedule(w).previous(__import__("collector").utcnow())
    for name in ("c4", "c5", "c6"):
        procs.start(name)
    wait_for(lambda: runs_of(fast_services, w.id)[-1].run.slot >= restarted_at, timeout=60,
             message="a run after the restart")
    after = [v for v in runs_of(fast_services, w.id) if v.run.slot > before.run.slot]
    catch_up = after[0]
    assert catch_up.run.late and "Catch-up" in catch_up.run.note
    assert catch_up.run.slot - before.run.slot >= timedelta(seconds=3 * SLOT_S)
    assert [v for v in after if v.run.late and "Catch-up" in (v.run.note or "")] == [catch_up]
    fast_services.watchlists.pause(w.id)
    wait_for(lambda: settled(fast_services, w.id, 1), timeout=90, message="the last run to finish")
    check_every_slot_once(fast_services, w, SLOT_S)


def test_pause_during_a_run_lets_it_finish_and_no_slot_runs_after(procs, fast_services):
    w = watch(fast_services, every=1, delay="1")
    procs.start("c1")
    first = wait_for(lambda: next((v for v in runs_of(fast_services, w.id) if v.run.status == "STARTED"), None),
                     timeout=60, message="a scheduled run")
    fast_services.watchlists.pause(w.id)
    paused_at = runs_of(fast_services, w.id)[-1].run.number
    wait_for(lambda: not fast_services.watchlists.run(first.run.id).is_going, timeout=60, message="the run to end")
    assert fast_services.watchlists.run(first.run.id).status == "COMPLETED"  # its jobs finish, as the page says
    time.sleep(SLOT_S * 3)
    assert runs_of(fast_services, w.id)[-1].run.number == paused_at
    assert all(v.run.status != "WAITING" for v in runs_of(fast_services, w.id))


def test_delete_during_a_run_cancels_waiting_jobs_at_once_and_running_ones_after_their_chunk(procs, fast_services):
    w = fast_services.watchlists.create({"name": "slow", "symbols": "AAA BBB CCC", "source": "sim", "interval": "1d",
                                         "period": "1mo", "options": {"delay": "5"}, "schedule": "none"})
    procs.start("c1")
    run = fast_services.watchlists.run_now(w.id)
    wait_for(lambda: fast_services.watchlists.run(run.run.id).counts["RUNNING"] == 1, timeout=60,
             message="one job of the run running")
    deleted = fast_services.watchlists.delete(w.id)
    assert (deleted.cancelled, deleted.stopping) == (2, 1)
    wait_for(lambda: not fast_services.watchlists.run(run.run.id).is_going, timeout=60, message="the run to end")
    jobs = fast_services.jobs.list(run_id=run.run.id).items
    assert sorted(j.status for j in jobs) == ["CANCELLED"] * 3
