"""GET /metrics in Prometheus text format, computed at scrape time from the database and
Redis, so every web worker answers the same and nothing is lost on restart."""

from __future__ import annotations

import redis
from flask import Blueprint, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import case, func, literal_column, select

from collector.queue import stats
from collector.store.models import Job, JobStatus

from . import services

bp = Blueprint("metrics", __name__)

DURATION_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)


def _duration_expr(dialect: str):
    if dialect == "postgresql":
        return func.extract("epoch", Job.finished_at - Job.started_at)
    return (func.julianday(Job.finished_at) - func.julianday(Job.started_at)) * literal_column("86400.0")


class MdcCollector:
    """A prometheus-client collector reading mdc's state."""

    def __init__(self, svc):
        self.svc = svc

    def collect(self):
        svc = self.svc
        jobs = GaugeMetricFamily("mdc_jobs", "Jobs in the database by state", labels=["state"])
        for state, count in svc.jobs.counts().items():
            jobs.add_metric([state.lower()], count)
        yield jobs

        duration = _duration_expr(svc.db.dialect)
        columns = [func.count(), func.coalesce(func.sum(duration), 0)]
        columns += [func.sum(case((duration <= b, 1), else_=0)) for b in DURATION_BUCKETS]
        with svc.db.read() as session:
            row = session.execute(select(*columns).where(Job.status == JobStatus.COMPLETED,
                                                         Job.started_at.is_not(None))).one()
        total, seconds, *cumulative = row
        buckets = [(str(float(b)), int(c or 0)) for b, c in zip(DURATION_BUCKETS, cumulative)]
        buckets.append(("+Inf", int(total)))
        yield HistogramMetricFamily("mdc_job_duration_seconds", "Run time of completed jobs still in the database",
                                    buckets=buckets, sum_value=float(seconds or 0))

        up = GaugeMetricFamily("mdc_redis_up", "1 when Redis answers")
        try:
            totals = stats.bars_total(svc.redis, svc.settings.key_prefix)
            stream = svc.queue.stream_info()
            live = svc.registry.live_count()
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        bars = CounterMetricFamily("mdc_bars_written", "Bars written (new or updated) by source", labels=["source"])
        for source, count in sorted(totals.items()):
            bars.add_metric([source], count)
        yield bars
        yield GaugeMetricFamily("mdc_queue_length", "Entries in the work stream", value=stream["length"])
        yield GaugeMetricFamily("mdc_queue_pending", "Entries delivered to a collector and not yet acknowledged",
                                value=stream["pending"])
        yield GaugeMetricFamily("mdc_collectors_live", "Collectors with a fresh heartbeat", value=live)


@bp.get("/metrics")
def metrics():
    """Prometheus text exposition."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MdcCollector(services.get()))
    # content_type, not mimetype: Flask would append a second "; charset=utf-8".
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
