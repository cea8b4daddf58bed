"""A 500-symbol watchlist run: from its slot to every job COMPLETED, and batch submission
against the same 500 jobs submitted one by one, in one run.

    python bench/watchlist.py [--symbols 500] [--collectors 2] [--rounds 3]

A sim watchlist of daily bars (its first run backfills one month, about 21 bars per
symbol, one chunk per job) on an every-N-minutes schedule with a 5-second minute
(MDC_SCHEDULE_MINUTE_SECONDS), so its slot comes within seconds; 2 collector processes run
the scheduler duty and the jobs. SQLite, a private valkey-server.

Per round, with the collectors running:
  run        slot -> the run claimed (the scheduler's lag) -> every job COMPLETED
  batch      the same 500 "update to now" jobs through JobManager.create_many: one
             transaction, one pipelined batch of XADDs; submit time, then -> all COMPLETED
  one by one the same jobs through JobManager.create, one transaction and one XADD each
Goals (issue 16): the run finishes in 10 s or less; batch submission >= 5x faster.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from processes import stop_all  # noqa: E402  (bench/ is on sys.path when run as a script)
from sqlalchemy import func, select  # noqa: E402

from collector import Settings, connect  # noqa: E402
from collector.embedded import EmbeddedRedis, free_port  # noqa: E402
from collector.schedules.runs import specs_for  # noqa: E402
from collector.store import ACTIVE_STATUSES, Job, WatchlistRun  # noqa: E402

MINUTE_S = 5.0


def wait_idle(db, timeout_s: float = 300) -> float:
    """Block until no job is pending or running; the newest finished_at as epoch seconds."""
    deadline = time.monotonic() + timeout_s
    while True:
        with db.read() as session:
            active = session.scalar(select(func.count()).select_from(Job).where(Job.status.in_(ACTIVE_STATUSES)))
            last = session.scalar(select(func.max(Job.finished_at)))
        if not active:
            return last.timestamp()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{active} jobs still unfinished after {timeout_s:.0f} s")
        time.sleep(0.05)


def scheduled_run(svc, watchlist_id: int) -> dict:
    """Wait for the watchlist's first scheduled run, pause it, time it to the last job."""
    while True:
        with svc.db.read() as session:
            run = session.scalars(select(WatchlistRun).where(WatchlistRun.watchlist_id == watchlist_id)).first()
        if run is not None and run.started_at is not None:
            break
        time.sleep(0.02)
    svc.watchlists.pause(watchlist_id)
    done = wait_idle(svc.db)
    view = svc.watchlists.run(run.id)
    if view.completed != run.total:
        raise RuntimeError(f"run #{run.number}: {view.completed} of {run.total} completed, {view.failed} failed")
    slot = run.slot.timestamp()
    return {"run_s": done - slot, "claim_lag_s": run.created_at.timestamp() - slot}


def submit_timed(svc, specs, batch: bool) -> dict:
    t0 = time.time()
    if batch:
        results = svc.jobs.create_many(specs)
    else:
        results = [svc.jobs.create(spec) for spec in specs]
    submitted = time.time()
    if sum(r.created for r in results) != len(specs):
        raise RuntimeError("some jobs were not created (an identical job was still active)")
    done = wait_idle(svc.db)
    return {"submit_s": submitted - t0, "total_s": done - t0}


def one_round(work: Path, redis_url: str, args, tag: str) -> dict:
    settings = Settings(data_dir=work, redis_url=redis_url, key_prefix=f"wl{tag}", sim_delay_seconds=0.0,
                        schedule_minute_seconds=MINUTE_S, schedule_check_seconds=0.2)
    svc = connect(settings)
    svc.db.migrate()
    symbols = " ".join(f"W{i:05d}" for i in range(args.symbols))
    env = dict(os.environ, REDIS_URL=redis_url, MDC_DATA_DIR=str(work), MDC_KEY_PREFIX=settings.key_prefix,
               MDC_SIM_DELAY_SECONDS="0", MDC_SCHEDULE_MINUTE_SECONDS=str(MINUTE_S),
               MDC_SCHEDULE_CHECK_SECONDS="0.2", PYTHONPATH=str(ROOT))
    env.pop("DATABASE_URL", None)
    log = open(work / "collectors.log", "w")
    procs = [subprocess.Popen([sys.executable, "-m", "collector", "run", "--log-level", "WARNING"], cwd=ROOT,
                              env=env, stdout=log, stderr=subprocess.STDOUT) for _ in range(args.collectors)]
    try:
        deadline = time.monotonic() + 60
        while svc.registry.live_count() < args.collectors:
            if time.monotonic() > deadline:
                raise RuntimeError("collectors did not start")
            time.sleep(0.05)
        watchlist = svc.watchlists.create({"name": "bench", "symbols": symbols, "source": "sim", "interval": "1d",
                                           "period": "1mo", "schedule": "every", "every_minutes": "1"})
        result = scheduled_run(svc, watchlist.id)
        specs, problems = specs_for(svc.jobs, svc.watchlists.get(watchlist.id))
        assert not problems and len(specs) == args.symbols
        batch = submit_timed(svc, specs, batch=True)
        single = submit_timed(svc, specs, batch=False)
    finally:
        stop_all(procs)
        log.close()
        svc.db.dispose()
    return {**result, "batch_submit_s": batch["submit_s"], "batch_total_s": batch["total_s"],
            "single_submit_s": single["submit_s"], "single_total_s": single["total_s"]}


LABELS = [("run_s", "scheduled run: slot -> every job COMPLETED"), ("claim_lag_s", "  slot -> run claimed"),
          ("batch_submit_s", "batch submit (create_many)"), ("batch_total_s", "batch: submit -> all COMPLETED"),
          ("single_submit_s", "one by one submit (create x N)"),
          ("single_total_s", "one by one: submit -> all COMPLETED")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--collectors", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    began = time.time()
    print(f"watchlist: {args.symbols:,} sim symbols of daily bars (1 month, 1 chunk each), {args.collectors} "
          f"collectors, {args.rounds} rounds, {os.cpu_count()} cores", flush=True)
    rounds = []
    with tempfile.TemporaryDirectory(prefix="mdc-watchlist-") as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", free_port(), appendonly=False).start()
        try:
            for i in range(1, args.rounds + 1):
                work = Path(tmp) / f"r{i}"
                work.mkdir()
                r = one_round(work, server.url, args, str(i))
                rounds.append(r)
                print(f"  round {i}: " + "  ".join(f"{k} {v:.2f}" for k, v in r.items()), flush=True)
        finally:
            server.stop()
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print(f"\n  median of {args.rounds} rounds")
    for key, label in LABELS:
        print(f"  {label:<48} {med[key]:8.2f} s")
    ratio = med["single_submit_s"] / med["batch_submit_s"]
    met = {True: "met", False: "NOT met"}
    print(f"  batch submission is {ratio:.1f}x faster than one by one (goal >= 5x: {met[ratio >= 5]})")
    print(f"  the run took {med['run_s']:.2f} s from its slot (goal <= 10 s: {met[med['run_s'] <= 10]})")
    print("command: python bench/watchlist.py " + " ".join(sys.argv[1:]) + f"   ({time.time() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
