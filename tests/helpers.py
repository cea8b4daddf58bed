"""Plain helpers the tests share (no fixtures here: those live in tests/fixtures/)."""

from __future__ import annotations

import dataclasses
import html
import os
import re
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select, update

from collector.jobs import lifecycle
from collector.settings import Settings, env_name
from collector.sources.sim import simulate
from collector.store import FINISHED_STATUSES, Bar, Database, Job, JobStatus, upsert_bars
from collector.timespec import utcnow

ROOT = Path(__file__).resolve().parents[1]
JSON = {"Accept": "application/json"}
HX = {"HX-Request": "true"}
THREE_MONTHS = {"source": "sim", "symbol": "AAPL", "interval": "1m", "period": "3mo"}


def visible_text(page: str) -> str:
    """What a person reads on an HTML page: tags dropped (data is wrapped in <span translate="no">),
    entities decoded, runs of whitespace made one space."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment that makes a child process see the same settings: every field, by the
    variable Settings.from_env reads it from."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDC_") and k not in ("REDIS_URL", "DATABASE_URL")}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        env[env_name(field.name)] = str(value).lower() if isinstance(value, bool) else str(value)
    env["DATABASE_URL"] = settings.sqlalchemy_url
    env["PYTHONPATH"] = str(ROOT)
    return env


def assert_paced(times: list[float], spacing: float, jitter: float | None = None) -> None:
    """Request arrival times honour a pace of one per `spacing` seconds. The pacer hands out
    slots, and a request can only arrive after its slot, never before; so the k-th arrives at
    least k slots after the first, give or take how late the first itself arrived (`jitter`,
    one slot by default). Single gaps say nothing on a busy machine: a late request followed
    by one on time leaves a short gap without breaking the pace."""
    jitter = spacing if jitter is None else jitter
    times = sorted(times)
    late = [(k, round(t - times[0], 3)) for k, t in enumerate(times) if t - times[0] < k * spacing - jitter]
    assert not late, f"requests ahead of the pace (k, seconds after the first): {late}"


# --- jobs -------------------------------------------------------------------------------

def finished(manager, job_id, timeout=30):
    return wait_for(lambda: (j := manager.get(job_id)) and j.is_finished and j,
                    timeout=timeout, message=f"job {job_id} to finish")


def end_job(db: Database, job_id: int, status: JobStatus, error: str | None = None, collector: str = "c1"):
    """Claim a pending job and end it, as a collector would."""
    lifecycle.claim(db, job_id, collector)
    return end_claimed(db, job_id, status, error, collector)


def end_claimed(db: Database, job_id: int, status: JobStatus, error: str | None = None, collector: str = "c1"):
    """End a job `collector` holds, as that collector would."""
    with db.read() as session:
        job = session.get(Job, job_id)
    return lifecycle.end(db, job, collector, status, error)


def running_on(manager, job_id, name, done=0):
    """Wait until collector `name` holds the job and has saved more than `done` chunks."""
    return wait_for(lambda: (j := manager.get(job_id)).status == "RUNNING" and j.collector == name
                    and j.progress_done > done and j, message=f"job {job_id} running on {name}")


def assert_exact(job, db=None):
    """The job completed and wrote exactly the simulated bars of its range, once."""
    assert job.status == JobStatus.COMPLETED, job.error
    n = expected_bars(job)
    assert (job.rows_new, job.rows_updated, job.rows_unchanged) == (n, 0, 0)
    assert job.progress_done == job.progress_total
    if db is not None:
        assert bar_count(db) == n


def make_aged_job(manager, db, symbol, status, age_days):
    """A one-month daily sim job in `status` (with an event), created and finished `age_days` ago."""
    (result,) = manager.submit({"source": "sim", "interval": "1d", "period": "1mo", "symbol": symbol})
    job_id = result.job.id
    if status != JobStatus.PENDING:
        lifecycle.claim(db, job_id, "c1")
    if status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
        end_claimed(db, job_id, status)
    manager.queue.add_event(job_id, state=status, message="x")
    when = utcnow() - timedelta(days=age_days)
    with db.write() as session:
        session.execute(update(Job).where(Job.id == job_id).values(
            created_at=when, finished_at=when if status in FINISHED_STATUSES else None, published_at=when))
    return job_id


def messages(queue, job_id):
    return [e["message"] for e in queue.events(job_id)]


# --- bars ------------------------------------------------------------------------------

def expected_bars(job):
    return len(simulate(job.symbol, job.interval, job.kind, job.start, job.end))


def bar_count(db):
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Bar))


def store_bars(db, frame, source="sim", symbol="AAPL", interval="1h", kind="trades"):
    with db.write() as session:
        return upsert_bars(session, source=source, symbol=symbol, interval=interval, kind=kind, frame=frame)


def sim_frame(symbol="AAPL", interval="1h", start="2024-01-01", end="2024-03-01", kind="trades"):
    return simulate(symbol, interval, kind, pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"))


# --- the browser ----------------------------------------------------------------------

AXE = ROOT / "webapp" / "static" / "vendor" / "axe-core-4.14.1.min.js"


def accessibility_problems(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands (WCAG 2.x A and AA,
    contrast included), one line each; [] when there are none."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}, resultTypes: ['violations']})""")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]
