"""Pipeline throughput and latency: mdc against the Celery design it replaces, in one run.

    python bench/pipeline.py [--jobs 2000] [--rounds 3] [--bars-days 5]

The same workload through both systems: N jobs of the simulated source with no delay,
daily bars over 5 days (one chunk, 5 bars, a new series each), the same database writes
per job (job row PENDING -> RUNNING -> COMPLETED with counts, bars upserted by
`collector.store.upsert_bars`), progress reported once per chunk.

- mdc: 2 collector processes (`python -m collector run`), jobs created with
  `JobManager.create` (INSERT row, XADD to the work stream).
- Celery (bench/celery_baseline.py): one worker with concurrency 2, prefork and threads
  pools; jobs created by inserting the same row and `apply_async`.

All against one private valkey-server (collector.embedded.EmbeddedRedis, FLUSHALL before
each run) and a fresh SQLite database per run. Workers start first; then the bench
process submits all N jobs as fast as it can and waits until every row is finished.
Runs alternate (mdc, Celery prefork, Celery threads, mdc, ...) and the medians of the
rounds are reported, with mdc/Celery ratios.

Figures per run:
  jobs/s       N / (last finished_at - time the first submit started)
  done p50/p99 job created_at -> finished_at
  prog p50/p99 job created_at -> first progress visible to a web app (mdc: `ts` of the
               job's first event in its event stream; Celery: time its first update_state
               was written, recorded by the task)
  RSS          peak resident set (VmHWM) of each worker process, polled from /proc:
               the largest one and the sum over all worker processes (prefork children too)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from processes import RssWatch, stop_all  # noqa: E402  (bench/ is on sys.path when run as a script)
from sqlalchemy import func, select  # noqa: E402

from collector import Settings, connect  # noqa: E402
from collector.embedded import EmbeddedRedis, free_port  # noqa: E402
from collector.jobs import JobManager  # noqa: E402
from collector.store import FINISHED_STATUSES, Database, Job, JobStatus  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday: 5 days = 5 daily bars


# --- shared pieces -----------------------------------------------------------------------
def make_specs(manager: JobManager, n: int, days: int) -> list:
    """N validated job specs, one symbol each (fields as the web form sends them)."""
    specs = []
    symbols = [f"B{i:05d}" for i in range(n)]
    for start in range(0, n, 50):
        specs += manager.validate({"source": "sim", "symbol": ",".join(symbols[start:start + 50]),
                                   "interval": "1d", "start": START.date().isoformat(),
                                   "end": (START + timedelta(days=days)).date().isoformat(),
                                   "options": {"delay": "0"}})
    return specs


def wait_finished(db: Database, n: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with db.read() as session:
        while True:
            done = session.scalar(select(func.count()).select_from(Job).where(Job.status.in_(FINISHED_STATUSES)))
            session.rollback()  # a fresh snapshot next time
            if done >= n:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {done} of {n} jobs finished within {timeout_s:.0f} s")
            time.sleep(0.05)


def job_times(db: Database) -> list[tuple[int, float, float, str, int]]:
    """(id, created, finished, status, rows_new) per job, times as epoch seconds."""
    with db.read() as session:
        rows = session.execute(select(Job.id, Job.created_at, Job.finished_at, Job.status, Job.rows_new)
                               .order_by(Job.id)).all()
    return [(i, c.timestamp(), f.timestamp(), s, r) for i, c, f, s, r in rows]


def summarize(label: str, t0: float, submitted: float, rows, first_progress: dict[int, float],
              watch: RssWatch, bars: int) -> dict:
    bad = [r for r in rows if r[3] != JobStatus.COMPLETED or r[4] != bars]
    if bad:
        raise RuntimeError(f"{label}: {len(bad)} jobs did not complete with {bars} new bars, e.g. {bad[:3]}")
    missing = [r[0] for r in rows if r[0] not in first_progress]
    if missing:
        raise RuntimeError(f"{label}: no progress seen for {len(missing)} jobs, e.g. {missing[:3]}")
    done = sorted((r[2] - r[1]) * 1000 for r in rows)
    prog = sorted((first_progress[r[0]] - r[1]) * 1000 for r in rows)
    end = max(r[2] for r in rows)
    rss = [kib / 1024 for kib in watch.peak.values()]
    return {"jobs_s": len(rows) / (end - t0), "submit_s": len(rows) / (submitted - t0),
            "done_p50": _pct(done, 50), "done_p99": _pct(done, 99),
            "prog_p50": _pct(prog, 50), "prog_p99": _pct(prog, 99),
            "rss_max": max(rss), "rss_sum": sum(rss), "procs": len(rss)}


def _pct(values: list[float], p: int) -> float:
    return values[min(len(values) - 1, max(0, -(-len(values) * p // 100) - 1))]


# --- mdc -----------------------------------------------------------------------------------
def run_mdc(work: Path, redis_url: str, args, tag: str) -> dict:
    settings = Settings(data_dir=work, redis_url=redis_url, key_prefix=f"bench{tag}", sim_delay_seconds=0.0)
    services = connect(settings)
    db, client, queue, manager = services.db, services.redis, services.queue, services.jobs
    db.migrate()
    specs = make_specs(manager, args.jobs, args.bars_days)
    env = dict(os.environ, REDIS_URL=redis_url, MDC_DATA_DIR=str(work), MDC_KEY_PREFIX=settings.key_prefix,
               MDC_SIM_DELAY_SECONDS="0", PYTHONPATH=str(ROOT))
    env.pop("DATABASE_URL", None)
    log = open(work / "collectors.log", "w")
    procs = [subprocess.Popen([sys.executable, "-m", "collector", "run", "--log-level", "WARNING"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT) for _ in range(args.collectors)]
    try:
        with RssWatch([p.pid for p in procs]) as watch:
            registry = services.registry
            deadline = time.monotonic() + 60
            while registry.live_count() < args.collectors:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError("mdc collectors did not start")
                time.sleep(0.05)
            t0 = time.time()
            for spec in specs:
                manager.create(spec)
            submitted = time.time()
            wait_finished(db, args.jobs, args.timeout)
            rows = job_times(db)
            pipe = client.pipeline(transaction=False)
            for row in rows:
                pipe.xrange(queue.events_key(row[0]), count=1)
            first = {row[0]: float(events[0][1]["ts"]) for row, events in zip(rows, pipe.execute()) if events}
    finally:
        stop_all(procs)
        log.close()
        db.dispose()
    return summarize("mdc", t0, submitted, rows, first, watch, args.bars)


# --- Celery --------------------------------------------------------------------------------
def run_celery(work: Path, redis_url: str, args, pool: str) -> dict:
    db_url = f"sqlite:///{(work / 'celery.db').resolve()}"
    db = Database(db_url)
    db.migrate()
    settings = Settings(data_dir=work, redis_url=redis_url, sim_delay_seconds=0.0)
    manager = connect(settings, db=db).jobs
    specs = make_specs(manager, args.jobs, args.bars_days)
    broker = redis_url.rsplit("/", 1)[0] + "/1"
    env = dict(os.environ, BENCH_BROKER_URL=broker, DATABASE_URL=db_url,
               PYTHONPATH=os.pathsep.join([str(ROOT / "bench"), str(ROOT)]))
    os.environ["BENCH_BROKER_URL"] = broker  # for the app imported here, to send tasks
    import celery_baseline  # noqa: E402  (bench/ is on sys.path when run as a script)

    app = celery_baseline.app
    app.conf.broker_url = app.conf.result_backend = broker
    cmd = [sys.executable, "-m", "celery", "-A", "celery_baseline", "worker", "--pool", pool,
           "--concurrency", str(args.collectors), "--loglevel", "WARNING", "-n", f"bench-{pool}@%h"]
    log = open(work / "worker.log", "w")
    procs = [subprocess.Popen(cmd, cwd=ROOT / "bench", env=env, stdout=log, stderr=subprocess.STDOUT)]
    try:
        with RssWatch([p.pid for p in procs]) as watch:
            deadline = time.monotonic() + 60
            while not app.control.ping(timeout=0.5):
                if time.monotonic() > deadline or procs[0].poll() is not None:
                    raise RuntimeError("Celery worker did not start")
            t0 = time.time()
            task_ids = {}
            for spec in specs:
                job = Job(source=spec.source, symbol=spec.symbol, interval=spec.interval, kind=spec.kind,
                          start=spec.start, end=spec.end, period=spec.period, options=spec.options,
                          status=JobStatus.PENDING, progress_done=0, progress_total=0, rows_new=0,
                          rows_updated=0, rows_unchanged=0, attempts=0, cancel_requested=False,
                          created_at=_utcnow(), request_key=spec.request_key)
                with db.write() as session:
                    session.add(job)
                task_ids[job.id] = celery_baseline.collect.apply_async((job.id,)).id
            submitted = time.time()
            wait_finished(db, args.jobs, args.timeout)
            rows = job_times(db)
            first = {}
            for job_id, task_id in task_ids.items():
                result = app.AsyncResult(task_id).result
                if isinstance(result, dict) and result.get("first_progress"):
                    first[job_id] = result["first_progress"]
    finally:
        stop_all(procs)
        log.close()
        db.dispose()
    return summarize(f"celery {pool}", t0, submitted, rows, first, watch, args.bars)


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- report --------------------------------------------------------------------------------
METRICS = [("jobs_s", "jobs/s end to end", "{:8.1f}", True), ("submit_s", "submit rate (jobs/s)", "{:8.1f}", True),
           ("done_p50", "submit->completed p50 ms", "{:8.0f}", False),
           ("done_p99", "submit->completed p99 ms", "{:8.0f}", False),
           ("prog_p50", "submit->first progress p50 ms", "{:8.0f}", False),
           ("prog_p99", "submit->first progress p99 ms", "{:8.0f}", False),
           ("rss_max", "peak RSS, largest process MiB", "{:8.1f}", False),
           ("rss_sum", "peak RSS, all processes MiB", "{:8.1f}", False)]


def print_run(label: str, r: dict) -> None:
    print(f"  {label:<15} {r['jobs_s']:7.1f} jobs/s (submit {r['submit_s']:6.1f}/s)  done p50 {r['done_p50']:6.0f} "
          f"p99 {r['done_p99']:6.0f} ms  progress p50 {r['prog_p50']:6.0f} p99 {r['prog_p99']:6.0f} ms  "
          f"RSS max {r['rss_max']:5.1f} sum {r['rss_sum']:5.1f} MiB ({r['procs']} procs)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--collectors", type=int, default=2, help="mdc collectors = Celery concurrency")
    parser.add_argument("--bars-days", type=int, default=5, help="days of daily bars per job (weekdays from Mon)")
    parser.add_argument("--systems", default="mdc,prefork,threads", help="which runs, in this order per round")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for one run's jobs")
    args = parser.parse_args()
    days = args.bars_days
    args.bars = sum(1 for d in range(days) if (START.weekday() + d) % 7 < 5)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    began = time.time()
    print(f"pipeline: {args.jobs:,} sim jobs (1d bars, {args.bars} per job, 1 chunk), {args.collectors} mdc "
          f"collectors vs Celery concurrency {args.collectors}, {args.rounds} rounds, {os.cpu_count()} cores", flush=True)
    results: dict[str, list[dict]] = {s: [] for s in systems}
    with tempfile.TemporaryDirectory(prefix="mdc-pipeline-") as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", free_port(), appendonly=False).start()
        try:
            admin = redis.Redis.from_url(server.url)
            for rnd in range(1, args.rounds + 1):
                print(f"round {rnd}", flush=True)
                for system in systems:
                    admin.flushall()
                    work = Path(tmp) / f"r{rnd}-{system}"
                    work.mkdir()
                    if system == "mdc":
                        r = run_mdc(work, server.url, args, str(rnd))
                    else:
                        r = run_celery(work, server.url, args, system)
                    results[system].append(r)
                    print_run(system, r)
        finally:
            server.stop()
    med = {s: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for s, rs in results.items()}
    print(f"\n  {'medians of ' + str(args.rounds) + ' rounds':<30}" + "".join(f" | {s:>9}" for s in systems)
          + "".join(f" | mdc/{s}" for s in systems if s != "mdc"))
    for key, label, fmt, _higher in METRICS:
        line = f"  {label:<30}" + "".join(" | " + fmt.format(med[s][key]).strip().rjust(9) for s in systems)
        if "mdc" in med:
            line += "".join(" | " + f"{med['mdc'][key] / med[s][key]:.2f}x".rjust(len(s) + 4)
                            for s in systems if s != "mdc")
        print(line)
    print("(ratios are mdc / Celery: above 1 is better for jobs/s, below 1 is better for times and memory)")
    print("command: python bench/pipeline.py " + " ".join(sys.argv[1:]) + f"   ({time.time() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
