"""GET /metrics in Prometheus text format, computed at scrape time from the database and
Redis, so every web worker answers the same and nothing is lost on restart."""

from __future__ import annotations

import redis
from flask import Blueprint, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from collector import Services

from . import services

bp = Blueprint("metrics", __name__)

DURATION_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)


class MdcCollector:
    """A prometheus-client collector reading mdc's state."""

    def __init__(self, svc: Services):
        self.svc = svc

    def collect(self):
        svc = self.svc
        jobs = GaugeMetricFamily("mdc_jobs", "Jobs in the database by state", labels=["state"])
        for state, count in svc.jobs.counts().items():
            jobs.add_metric([state.lower()], count)
        yield jobs

        histogram = svc.job_stats.durations(DURATION_BUCKETS)
        buckets = [(str(bound), count) for bound, count in histogram.buckets] + [("+Inf", histogram.count)]
        yield HistogramMetricFamily("mdc_job_duration_seconds", "Run time of completed jobs still in the database",
                                    buckets=buckets, sum_value=histogram.total)

        up = GaugeMetricFamily("mdc_redis_up", "1 when Redis answers")
        try:
            totals = svc.queue_stats.bars_total()
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
