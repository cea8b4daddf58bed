"""Jobs: submit, list by tab, detail, cancel, retry, clean now. HTML, htmx fragments or JSON."""

from __future__ import annotations

import re

import redis
from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for

from collector import SOURCES, TABS, ValidationError

from . import services
from .auth import safe_next
from .errors import wants_json
from .forms import form_context, job_fields
from .params import page_arg
from .serialize import job_to_dict

bp = Blueprint("jobs", __name__)

PER_PAGE = 25
_EVENT_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


@bp.post("/jobs")
def create():
    """Submit one job per symbol; 303 to the job for browsers, 201 JSON, 422 with field errors."""
    fields = job_fields(request.form)
    values = dict(request.form.items())
    try:
        results = services.get().jobs.submit(fields, only_missing=bool(request.form.get("only_missing")))
    except ValidationError as exc:
        if wants_json():
            return {"errors": exc.errors}, 422
        template = "collect/_form.html" if request.htmx else "collect/index.html"
        return render_template(template, **form_context(values, exc.errors)), 422
    if wants_json():
        payload = [dict(job_to_dict(r.job), created=r.created, queued=r.queued) for r in results]
        return (payload[0] if len(payload) == 1 else payload), 201
    if request.htmx:
        # Stay on the form (ready for the next ticker); the banner picks the jobs up at once.
        values["symbol"] = ""
        messages = [(_submitted_message(r), r.job.id, "ok" if r.queued else "warn") for r in results]
        response = make_response(render_template("collect/_form.html", **form_context(values, {}, submitted=messages)))
        response.headers["HX-Trigger"] = "jobs-changed"
        return response
    for r in results:
        flash(_submitted_message(r), "ok" if r.queued else "warn")
    target = url_for("jobs.detail", job_id=results[0].job.id) if len(results) == 1 else url_for("jobs.index", tab="running")
    return redirect(target, code=303)


def _submitted_message(result) -> str:
    job = result.job
    if not result.created:
        return f"Job #{job.id} ({job.symbol}) is already {job.status.lower()}: not submitted twice."
    if not result.queued:
        return f"Job #{job.id} ({job.symbol}) saved — it will start when Redis is reachable again."
    return f"Job #{job.id} ({job.symbol}) queued — follow it in the banner."


@bp.get("/jobs")
def index():
    """Jobs by tab (running, completed, failed, cancelled, all), newest first."""
    svc = services.get()
    tab = request.args.get("tab", "running")
    if tab not in TABS:
        abort(422, f"Unknown tab {tab!r}: use one of {', '.join(TABS)}.")
    page = page_arg()
    symbol = (request.args.get("symbol") or "").strip().upper() or None
    source = (request.args.get("source") or "").strip().lower() or None
    if source and source not in SOURCES:
        abort(422, f"Unknown source {source!r}: use one of {', '.join(SOURCES)}.")
    result = svc.jobs.list(tab, page=page, per_page=PER_PAGE, symbol=symbol, source=source)
    if wants_json():
        return {"tab": tab, "page": page, "pages": result.pages, "total": result.total,
                "jobs": [job_to_dict(j) for j in result.items]}
    events = _last_events([j.id for j in result.items if j.is_active])
    context = dict(tab=tab, page=result, symbol=symbol or "", source=source or "", events=events,
                   tabs=TABS, counts=svc.jobs.tab_counts(), sources=SOURCES,
                   retention_days=svc.settings.retention_days)
    template = "jobs/_list.html" if request.htmx else "jobs/index.html"
    response = make_response(render_template(template, **context))
    response.vary.add("HX-Request")
    return response


def _last_events(job_ids: list[int]) -> dict[int, dict]:
    try:
        return services.get().queue.last_events(job_ids)
    except redis.RedisError:
        return {}


@bp.get("/jobs/<int:job_id>")
def detail(job_id: int):
    """One job: parameters, state, progress, counts and its event log."""
    svc = services.get()
    job = svc.jobs.get(job_id)
    if job is None:
        abort(404, f"There is no job #{job_id}.")
    try:
        events = svc.queue.events(job_id)
    except redis.RedisError:
        events = None
    if wants_json():
        data = job_to_dict(job, events[-1] if events else None)
        data["events"] = events or []
        return data
    cursor = events[-1]["id"] if events else None
    return render_template("jobs/detail.html", job=job, events=events, cursor=cursor)


@bp.get("/jobs/<int:job_id>/live")
def live(job_id: int):
    """The live part of a job page, plus the events after the cursor `after`."""
    svc = services.get()
    job = svc.jobs.get(job_id)
    if job is None:
        abort(404, f"There is no job #{job_id}.")
    after = request.args.get("after") or None
    if after is not None and not _EVENT_ID.fullmatch(after):
        abort(422, "after must be an event id such as 1732412345678-0.")
    try:
        new_events = svc.queue.events(job_id, after=after)
    except redis.RedisError:
        new_events = []
    cursor = new_events[-1]["id"] if new_events else after
    response = make_response(render_template("jobs/_live.html", job=job, cursor=cursor, oob_events=new_events))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/jobs/<int:job_id>/cancel")
def cancel(job_id: int):
    """Cancel: at once when pending, after the current chunk when running."""
    svc = services.get()
    try:
        job = svc.jobs.cancel(job_id)
    except LookupError:
        abort(404, f"There is no job #{job_id}.")
    if wants_json():
        return job_to_dict(job)
    if job.status == "CANCELLED":
        flash(f"Job #{job_id} cancelled.", "ok")
    elif job.cancel_requested:
        flash(f"Job #{job_id} stops after its current chunk.", "ok")
    else:
        flash(f"Job #{job_id} had already {job.status.lower().replace('completed', 'finished')}; nothing to cancel.", "warn")
    return redirect(safe_next(request.form.get("next"), url_for("jobs.detail", job_id=job_id)), code=303)


@bp.post("/jobs/<int:job_id>/retry")
def retry(job_id: int):
    """Submit the same request again."""
    svc = services.get()
    try:
        result = svc.jobs.retry(job_id)
    except LookupError:
        abort(404, f"There is no job #{job_id}.")
    if wants_json():
        return dict(job_to_dict(result.job), created=result.created, queued=result.queued), 201
    flash(_submitted_message(result), "ok")
    return redirect(url_for("jobs.detail", job_id=result.job.id), code=303)


@bp.post("/jobs/cleanup")
def cleanup():
    """Remove finished jobs older than the retention period (default 7 days)."""
    svc = services.get()
    raw = request.form.get("days", "")
    days = svc.settings.retention_days
    if raw:
        try:
            days = int(raw)
        except ValueError:
            days = -1
        if not 0 <= days <= 3650:
            if wants_json():
                return {"errors": {"days": "Days must be a whole number from 0 to 3650."}}, 422
            abort(422, "Days must be a whole number from 0 to 3650.")
    result = svc.jobs.cleanup(days)
    if wants_json():
        return {"jobs_removed": result.jobs_removed, "event_streams_removed": result.event_streams_removed,
                "queue_entries_trimmed": result.queue_entries_trimmed, "days": days,
                "message": result.summary()}
    flash(result.summary(), "ok")
    return redirect(url_for("jobs.index", tab=request.form.get("tab") or "all"), code=303)
