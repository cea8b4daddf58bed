"""The design mdc replaces, as a benchmark baseline: one Celery task per collection job.

Celery on a Redis broker with the Redis result backend; the task moves the job row
PENDING -> RUNNING, fetches each chunk from the source, upserts the bars with the same
`collector.store.upsert_bars` mdc uses and adds the counts to the row in the same
transaction, reports progress with `update_state` once per chunk (what the old web app
polled), and finally marks the row COMPLETED. It returns the time its first
`update_state` was written, so the benchmark can tell when progress became visible.

Not a dependency of mdc (Celery is in requirements-dev.txt only). Started by
bench/pipeline.py as

    BENCH_BROKER_URL=redis://... DATABASE_URL=sqlite:///... \\
        python -m celery -A celery_baseline worker --pool prefork|threads --concurrency 2

with bench/ and the repository root on PYTHONPATH.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from celery import Celery  # noqa: E402
from sqlalchemy import update  # noqa: E402

from collector.settings import Settings  # noqa: E402
from collector.sources.base import Request  # noqa: E402
from collector.sources.sim import SimSource  # noqa: E402
from collector.store.db import Database  # noqa: E402
from collector.store.models import Job, JobStatus  # noqa: E402
from collector.store.upsert import upsert_bars  # noqa: E402
from collector.timespec import utcnow  # noqa: E402

BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6390/1")
BACKEND_URL = os.environ.get("BENCH_BACKEND_URL", BROKER_URL)

app = Celery("mdc_baseline", broker=BROKER_URL, backend=BACKEND_URL)
# Celery's defaults (prefetch 4, early ack), as the old design ran; JSON for both ways.
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"],
                broker_connection_retry_on_startup=True, worker_hijack_root_logger=False)

_local = threading.local()  # one engine per process (forked children must not share one)


def _database() -> Database:
    db = getattr(_local, "db", None)
    if db is None or getattr(_local, "pid", None) != os.getpid():
        db = _local.db = Database(os.environ["DATABASE_URL"])
        _local.pid = os.getpid()
    return db


_source = SimSource(Settings(sim_delay_seconds=0.0))


@app.task(bind=True, name="collect")
def collect(self, job_id: int) -> dict:
    db = _database()
    with db.read() as session:
        job = session.get(Job, job_id)
    request = Request(job.symbol, job.interval, job.start, job.end, dict(job.options or {}))
    plan = _source.plan(request)
    with db.write() as session:
        started = session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.PENDING).values(
            status=JobStatus.RUNNING, collector=self.request.hostname, attempts=Job.attempts + 1,
            started_at=utcnow(), progress_total=len(plan))).rowcount
    if not started:
        return {"skipped": True}
    first_progress = None
    new = updated = unchanged = 0
    for index, chunk in enumerate(plan):
        frame = _source.fetch(request, chunk, lambda _message: None)
        with db.write() as session:
            counts = upsert_bars(session, source=job.source, symbol=job.symbol, interval=job.interval,
                                 kind=job.kind, frame=frame)
            session.execute(update(Job).where(Job.id == job_id).values(
                progress_done=index + 1, rows_new=Job.rows_new + counts.new,
                rows_updated=Job.rows_updated + counts.updated,
                rows_unchanged=Job.rows_unchanged + counts.unchanged))
        new, updated, unchanged = new + counts.new, updated + counts.updated, unchanged + counts.unchanged
        self.update_state(state="PROGRESS", meta={"done": index + 1, "total": len(plan), "rows_new": new,
                                                  "rows_updated": updated})
        if first_progress is None:
            first_progress = time.time()
    with db.write() as session:
        session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING).values(
            status=JobStatus.COMPLETED, finished_at=utcnow()))
    return {"first_progress": first_progress, "rows_new": new, "rows_updated": updated,
            "rows_unchanged": unchanged}
