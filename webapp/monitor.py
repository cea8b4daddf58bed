"""Monitor: what Flower showed, plus what it forgot on restart — collectors, the work stream,
Redis, and throughput charts over 24 hours and 7 days."""

from __future__ import annotations

import redis
from flask import Blueprint, make_response, render_template, request

from collector import parse_whole, utcnow

from . import services
from .barchart import bar_chart
from .i18n import gettext

bp = Blueprint("monitor", __name__)

JOB_COLOURS = ("#1f8a4c", "#c53030")  # completed, failed (the page's legend says so too)
BARS_COLOUR = "#2b6cb0"


def _day_buckets(hourly):
    """Fold hourly (start, values...) rows into days."""
    days: dict = {}
    for start, *values in hourly:
        day = start.replace(hour=0)
        days.setdefault(day, [0] * len(values))
        days[day] = [a + b for a, b in zip(days[day], values)]
    return [(day, tuple(values)) for day, values in days.items()]


def monitor_context() -> dict:
    svc = services.get()
    summary = svc.job_stats.summary()
    context = {"summary": summary, "redis_ok": True, "now": utcnow()}
    jobs_hourly = svc.job_stats.per_hour(24 * 7)
    jobs = [(gettext("completed"), JOB_COLOURS[0]), (gettext("failed"), JOB_COLOURS[1])]
    bars = [(gettext("bars written"), BARS_COLOUR)]
    context["jobs_24h"] = bar_chart([(t, (c, f)) for t, c, f in jobs_hourly[-24:]], jobs,
                                    title=gettext("Jobs completed and failed per hour, last 24 hours"))
    context["jobs_7d"] = bar_chart(_day_buckets(jobs_hourly), jobs, label_every=1, label_format="EEE d",
                                   title=gettext("Jobs completed and failed per day, last 7 days"))
    try:
        bars_hourly = svc.queue_stats.bars_per_hour(24 * 7)
        today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        context["bars_today"] = sum(n for t, n in bars_hourly if t >= today)
        context["bars_24h"] = bar_chart([(t, (n,)) for t, n in bars_hourly[-24:]], bars,
                                        title=gettext("Bars written per hour, last 24 hours"))
        context["bars_7d"] = bar_chart(_day_buckets(bars_hourly), bars, label_every=1, label_format="EEE d",
                                       title=gettext("Bars written per day, last 7 days"))
        context["collectors"] = svc.registry.collectors(keep_dead_seconds=300)
        running = {job_id for c in context["collectors"] if (job_id := parse_whole(c.get("current_job"))) is not None}
        context["current_jobs"] = {job_id: svc.jobs.get(job_id) for job_id in running}
        context["stream"] = svc.queue_stats.stream()
        context["redis"] = svc.queue_stats.server()
    except redis.RedisError as exc:
        context.update(redis_ok=False, redis_error=str(exc), collectors=[], current_jobs={})
    return context


@bp.get("/monitor")
def index():
    """Collectors, queue, Redis and throughput; the live part refreshes itself every 2 s."""
    template = "monitor/_live.html" if request.htmx else "monitor/index.html"
    response = make_response(render_template(template, **monitor_context()))
    response.vary.add("HX-Request")
    response.headers["Cache-Control"] = "no-store"
    return response
