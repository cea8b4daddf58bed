"""Watchlists through the collector's API: validation, runs claimed once per slot, catch-up,
waiting runs, pause / resume / delete, bulk retry and cancel. The clock is given."""

import threading
from datetime import datetime, timedelta, timezone

import pytest

from collector.jobs import JobFilter, ValidationError
from collector.schedules import Scheduler, symbols_from_csv
from collector.store import JobStatus
from tests.helpers import end_job

pytestmark = pytest.mark.both_databases

UTC = timezone.utc
TECH = {"name": "tech", "symbols": "AAPL, msft\nNVDA", "source": "sim", "interval": "1d", "period": "1mo",
        "schedule": "every", "every_minutes": "60"}


@pytest.fixture
def watchlists(services):
    return services.watchlists


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def statuses(manager, run_id):
    return sorted(j.status for j in manager.list(run_id=run_id).items)


def finish_all(db, manager, run_id, status=JobStatus.COMPLETED):
    for job in manager.list(run_id=run_id).items:
        end_job(db, job.id, status)


def test_create_normalises_and_validates_every_field(watchlists):
    w = watchlists.create(TECH)
    assert (w.name, w.symbols, w.kind, w.period) == ("tech", ["AAPL", "MSFT", "NVDA"], "trades", "1mo")
    assert w.schedule["kind"] == "every" and w.schedule["every_minutes"] == 60
    with pytest.raises(ValidationError) as exc:
        watchlists.create(TECH)
    assert "already exists" in exc.value.errors["name"]


@pytest.mark.parametrize("changes, field, fragment", [
    ({"name": ""}, "name", "Give the watchlist a name"),
    ({"symbols": "AAPL, A$, %%"}, "symbols", "2 symbols refused"),
    ({"symbols": ""}, "symbols", "at least one"),
    ({"interval": "7x"}, "interval", "Unknown interval"),
    ({"period": "", "start": ""}, "period", "Choose a period"),
    ({"schedule": "hourly"}, "schedule", "Unknown schedule"),
    ({"every_minutes": "0"}, "every_minutes", "from 1 to 1,440"),
    ({"every_minutes": "abc"}, "every_minutes", "whole number"),
    ({"market_hours_only": "perhaps", "every_minutes": "5"}, "market_hours_only", "yes or no"),
    ({"schedule": "after_close", "calendar": "MOON"}, "calendar", "Unknown exchange calendar"),
    ({"schedule": "cron", "cron": "0 1 * * *", "calendar": "MOON"}, "calendar", "Unknown exchange calendar"),
    ({"schedule": "after_close", "offset_minutes": "-5"}, "offset_minutes", "from 0"),
    ({"schedule": "cron", "cron": "61 * *"}, "cron", "5 fields"),
    ({"schedule": "cron", "cron": "61 * * * *"}, "cron", "minute '61' is not valid: use 0-59"),
    ({"schedule": "cron", "cron": "0 25 * * 1-5"}, "cron", "hour '25' is not valid: use 0-23"),
    ({"schedule": "cron", "cron": "0 0 * * 8"}, "cron", "day of the week '8' is not valid"),
    ({"schedule": "cron", "cron": "0 0 31 2 *"}, "cron", "names no time that ever comes"),  # croniter accepts it
    # croniter 7 reads these as * (every hour, every minute): refused, not run far more often than asked
    ({"schedule": "cron", "cron": "0 9-9 * * *"}, "cron", "range '9-9' does not go from a lower to a higher"),
    ({"schedule": "cron", "cron": "0 17-9 * * *"}, "cron", "range '17-9'"),
    ({"schedule": "cron", "cron": "0 0 31 2-2 *"}, "cron", "range '2-2'"),
    ({"schedule": "cron", "cron": "0 9 * * mon-mon"}, "cron", "range 'mon-mon'"),
    ({"schedule": "cron", "cron": "0 18 * * *", "timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
])
def test_bad_fields_are_named_with_a_message(watchlists, changes, field, fragment):
    with pytest.raises(ValidationError) as exc:
        watchlists.create({**TECH, **changes})
    assert fragment in exc.value.errors[field]


def test_symbols_from_a_csv_column():
    assert symbols_from_csv(b"\xef\xbb\xbfname,Symbol\nApple,AAPL\nMicrosoft, msft \n,\n") == "AAPL\nmsft"
    with pytest.raises(ValidationError) as exc:
        symbols_from_csv("ticker,name\nAAPL,Apple\n")
    assert "no 'symbol' column" in exc.value.errors["symbols_file"]


def test_run_now_backfills_then_updates_from_the_last_bar(watchlists, manager, db):
    w = watchlists.create({**TECH, "schedule": "none"})
    first = watchlists.run_now(w.id)
    assert (first.run.number, first.run.total, first.status) == (1, 3, "RUNNING")
    jobs = manager.list(run_id=first.run.id).items
    assert {j.symbol for j in jobs} == {"AAPL", "MSFT", "NVDA"} and all(j.period == "1mo" for j in jobs)
    assert all(j.watchlist_id == w.id for j in jobs)
    from tests.helpers import sim_frame, store_bars
    store_bars(db, sim_frame("AAPL", "1d", "2024-01-01", "2024-02-01"), symbol="AAPL", interval="1d")
    finish_all(db, manager, first.run.id)
    done = watchlists.run(first.run.id)
    assert (done.status, done.completed, done.finished_at is not None) == ("COMPLETED", 3, True)
    second = watchlists.run_now(w.id)
    aapl = [j for j in manager.list(run_id=second.run.id).items if j.symbol == "AAPL"][0]
    # from its last three stored bars (the newest may have been unfinished, the others are checked)
    assert aapl.period is None and aapl.start == datetime(2024, 1, 29, tzinfo=UTC)


def test_every_slot_is_claimed_once_even_by_racing_schedulers(watchlists, manager):
    w = watchlists.create(TECH)
    clock = Clock(watchlists.next_run(w) + timedelta(seconds=5))
    schedulers = [Scheduler(watchlists, f"c{i}", clock) for i in range(4)]
    barrier = threading.Barrier(4)
    results = []

    def tick(s):
        barrier.wait()
        results.extend(s.tick())

    threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(results) == 1 and len(watchlists.runs(w.id)) == 1
    assert schedulers[0].tick() == []  # the same slot again: nothing
    assert manager.counts(JobFilter(watchlist_id=w.id))["PENDING"] == 3


def test_downtime_over_several_slots_gives_one_late_catch_up_run(watchlists, manager, db):
    w = watchlists.create(TECH)
    clock = Clock(watchlists.next_run(w) + timedelta(seconds=5))
    scheduler = Scheduler(watchlists, "c1", clock)
    (first,) = scheduler.tick()
    assert not first.run.late
    finish_all(db, manager, first.run.id)
    clock.now += timedelta(hours=3, minutes=10)  # three slots pass with no collector running
    (catch_up,) = scheduler.tick()
    assert catch_up.run.late and "Catch-up" in catch_up.run.note
    assert catch_up.run.slot == first.run.slot + timedelta(hours=3)
    assert [r.run.number for r in watchlists.runs(w.id)] == [2, 1]


def test_a_slot_during_a_running_run_waits_and_a_further_one_is_skipped(watchlists, manager, db):
    w = watchlists.create(TECH)
    clock = Clock(watchlists.next_run(w) + timedelta(seconds=5))
    scheduler = Scheduler(watchlists, "c1", clock)
    (first,) = scheduler.tick()
    clock.now += timedelta(hours=1)
    (second,) = scheduler.tick()
    assert second.run.status == "WAITING" and "Waits for run #1" in second.run.note and not second.jobs
    clock.now += timedelta(hours=1)
    (third,) = scheduler.tick()
    assert third.run.status == "SKIPPED" and "already waiting" in third.run.note
    finish_all(db, manager, first.run.id)
    (started,) = scheduler.tick()
    assert started.run.id == second.run.id and len(started.jobs) == 3
    assert watchlists.run(second.run.id).status == "RUNNING"


def test_pause_never_runs_resume_does_not_catch_up_and_run_now_always_works(watchlists):
    w = watchlists.create(TECH)
    clock = Clock(watchlists.next_run(w) + timedelta(seconds=5))
    scheduler = Scheduler(watchlists, "c1", clock)
    watchlists.pause(w.id)
    assert scheduler.tick() == [] and watchlists.next_run(watchlists.get(w.id)) is None
    assert watchlists.run_now(w.id).run.trigger == "manual"
    watchlists.resume(w.id)
    clock.now += timedelta(hours=2)
    (run,) = scheduler.tick()
    assert run.run.slot > watchlists.get(w.id).schedule_since


def test_a_pause_that_lands_while_the_scheduler_looks_wins(watchlists, monkeypatch):
    """The scheduler reads the due watchlists, then claims each slot in its own transaction:
    a pause committed in between must stop the run, as the watchlist's page promises."""
    w = watchlists.create(TECH)
    scheduler = Scheduler(watchlists, "c1", Clock(watchlists.next_run(w) + timedelta(seconds=5)))
    read_before_the_pause = scheduler._scheduled()
    watchlists.pause(w.id)
    monkeypatch.setattr(scheduler, "_scheduled", lambda: read_before_the_pause)
    assert scheduler.tick() == [] and watchlists.runs(w.id) == []


def test_delete_cancels_its_unfinished_jobs_and_keeps_finished_ones(watchlists, manager, db):
    from collector.jobs import lifecycle

    w = watchlists.create(TECH)
    run = watchlists.run_now(w.id)
    aapl, msft, nvda = sorted(manager.list(run_id=run.run.id).items, key=lambda j: j.symbol)
    end_job(db, aapl.id, JobStatus.COMPLETED)
    lifecycle.claim(db, msft.id, "c1")
    deleted = watchlists.delete(w.id)
    assert (deleted.cancelled, deleted.stopping) == (1, 1)
    assert manager.get(nvda.id).status == "CANCELLED" and manager.get(msft.id).cancel_requested
    assert manager.get(aapl.id).status == "COMPLETED"
    assert watchlists.get(w.id) is None and watchlists.list() == []
    with pytest.raises(LookupError):
        watchlists.run_now(w.id)
    assert watchlists.create(TECH).name == "tech"  # the name is free again


def test_bulk_retry_keeps_the_run_and_counts_the_newest_job_per_symbol(watchlists, manager, db):
    w = watchlists.create(TECH)
    run = watchlists.run_now(w.id)
    jobs = manager.list(run_id=run.run.id).items
    for job, status in zip(jobs, (JobStatus.FAILED, JobStatus.FAILED, JobStatus.COMPLETED)):
        end_job(db, job.id, status)
    assert (watchlists.run(run.run.id).failed, watchlists.run(run.run.id).status) == (2, "FAILED")
    retried = manager.retry_failed(JobFilter(run_id=run.run.id))
    assert len(retried) == 2 and all(r.job.run_id == run.run.id and r.created and r.queued for r in retried)
    view = watchlists.run(run.run.id)
    assert (view.failed, view.active, view.completed, view.status) == (0, 2, 1, "RUNNING")
    assert not any(r.created for r in manager.retry_failed(JobFilter(run_id=run.run.id)))  # not twice


def test_bulk_cancel_matches_the_filters_only(manager):
    for symbol in ("AAPL", "MSFT", "NVDA"):
        manager.submit({"source": "sim", "symbol": symbol, "interval": "1d", "period": "1y"})
    assert manager.cancel_matching(JobFilter(symbol="MSFT")) == (1, 0)
    assert statuses(manager, None) == ["CANCELLED", "PENDING", "PENDING"]
    assert manager.cancel_matching(JobFilter()) == (2, 0)


def test_create_many_is_one_batch_and_deduplicates(manager, queue):
    specs = manager.validate({"source": "sim", "symbol": "A1,A2,A3", "interval": "1d", "period": "1y"})
    first = manager.create_many(specs + specs[:1])
    assert [s.created for s in first] == [True, True, True, False] and first[3].job.id == first[0].job.id
    again = manager.create_many(specs)
    assert [s.created for s in again] == [False] * 3
    backlog, _pending = queue.queued_job_ids()
    assert backlog == {s.job.id for s in first}


def test_cleanup_forgets_old_runs_without_jobs_but_keeps_the_newest_the_scheduler_counts_from(watchlists, manager, db):
    from sqlalchemy import update

    from collector.store import Job, WatchlistRun

    w = watchlists.create(TECH)
    clock = Clock(watchlists.next_run(w) + timedelta(seconds=5))
    scheduler = Scheduler(watchlists, "c1", clock)
    old = scheduler.tick()[0].run
    finish_all(db, manager, old.id)
    clock.now += timedelta(hours=1)
    newest = scheduler.tick()[0].run
    finish_all(db, manager, newest.id)
    long_ago = datetime.now(UTC) - timedelta(days=30)
    with db.write() as session:
        session.execute(update(Job).values(finished_at=long_ago))
        session.execute(update(WatchlistRun).values(created_at=long_ago))
    manager.cleanup(7)
    assert [v.run.id for v in watchlists.runs(w.id)] == [newest.id]
    assert scheduler.tick() == []  # the slot it counts from is still known: nothing runs twice


def test_a_run_that_would_pass_the_cap_on_active_jobs_is_skipped_and_says_why(services):
    import dataclasses

    from collector import connect

    capped = connect(dataclasses.replace(services.settings, max_active_jobs=2), "cli", db=services.db)
    w = capped.watchlists.create(TECH)
    view = capped.watchlists.run_now(w.id)
    assert view.run.status == "SKIPPED" and "MDC_MAX_ACTIVE_JOBS" in view.run.note
    assert capped.jobs.counts()["PENDING"] == 0
    capped.redis.close()
