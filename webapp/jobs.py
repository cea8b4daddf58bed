"""Jobs: the list by tab, one job's page and its live part. HTML, htmx fragments or JSON.
What changes jobs (submit, cancel, retry, dismiss, clean now) is in job_actions."""

from __future__ import annotations

import re

import redis
from flask import Blueprint, abort, make_response, render_template, request

from collector import JOB_SORTS, N_, SOURCES, TABS, parse_whole, shown

from . import services
from .errors import wants_json
from .jobs_bulk import job_filter
from .params import MAX_ID, page_arg
from .serialize import job_to_dict

bp = Blueprint("jobs", __name__)

PER_PAGE = 25
_EVENT_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


@bp.get("/jobs")
def index():
    """Jobs by tab (running, completed, failed, cancelled, all): newest first, or sorted."""
    svc = services.get()
    tab = request.args.get("tab", "running")
    if tab not in TABS:
        abort(422, N_("Unknown tab {tab!r}: use one of {choices}.", tab=shown(tab), choices=", ".join(TABS)))
    page = page_arg()
    where = job_filter(request.args)
    symbol, source, run_id = where.symbol, where.source, where.run_id
    sort = request.args.get("sort") or None
    if sort is not None and sort not in JOB_SORTS:
        abort(422, N_("Unknown sort {sort!r}: use one of {choices}.", sort=shown(sort), choices=", ".join(JOB_SORTS)))
    descending = request.args.get("dir", "desc") != "asc"
    result = svc.jobs.list(tab, page=page, per_page=PER_PAGE, symbol=symbol, source=source, run_id=run_id,
                           sort=sort, descending=descending)
    if wants_json():
        return {"tab": tab, "page": page, "pages": result.pages, "total": result.total,
                "jobs": [job_to_dict(j) for j in result.items]}
    events = _last_events([j.id for j in result.items if j.is_active])
    filters = {"symbol": symbol, "source": source, "run_id": run_id}
    context = dict(tab=tab, page=result, symbol=symbol or "", source=source or "", events=events, run=run_id,
                   run_named=None if request.htmx or run_id is None else _run_named(run_id),
                   matching={} if request.htmx else svc.jobs.counts(where),  # for the bulk buttons
                   tabs=TABS, counts=svc.jobs.tab_counts(**filters), sources=SOURCES, sort=sort,
                   descending=descending, retention_days=svc.settings.retention_days)
    template = "jobs/_list.html" if request.htmx else "jobs/index.html"
    response = make_response(render_template(template, **context))
    response.vary.add("HX-Request")
    return response


def _run_named(run_id: int) -> tuple[int, int, str] | None:
    """(its number in its watchlist, the watchlist's id and name) of run `run_id`: the banner
    and the watchlist page say "run #1 of tech", not the run's id that ?run= carries."""
    svc = services.get()
    view = svc.watchlists.run(run_id)
    watchlist = svc.watchlists.get(view.run.watchlist_id) if view is not None else None
    return (view.run.number, watchlist.id, watchlist.name) if watchlist is not None else None


def no_job(job_id: int) -> str:
    return N_("There is no job #{id!s}.", id=job_id)


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
        abort(404, no_job(job_id))
    try:
        events = svc.queue.events(job_id)
    except redis.RedisError:
        events = None
    retries = svc.jobs.retries_of(job_id)
    if wants_json():
        data = job_to_dict(job, events[-1] if events else None)
        data["retries"] = [r.id for r in retries]
        data["events"] = events or []
        return data
    cursor = events[-1]["id"] if events else None
    return render_template("jobs/detail.html", job=job, events=events, cursor=cursor, retries=retries,
                           last_event=events[-1] if events else None)


@bp.get("/jobs/<int:job_id>/live")
def live(job_id: int):
    """The live part of a job page (with its header's buttons), plus the events after the cursor `after`."""
    svc = services.get()
    job = svc.jobs.get(job_id)
    if job is None:
        abort(404, no_job(job_id))
    after = request.args.get("after") or None
    if after is not None and not _EVENT_ID.fullmatch(after):
        abort(422, N_("after must be an event id such as 1732412345678-0."))
    try:
        new_events = svc.queue.events(job_id, after=after)
    except redis.RedisError:
        new_events = []
    cursor = new_events[-1]["id"] if new_events else after
    response = make_response(render_template(
        "jobs/_live.html", job=job, cursor=cursor, oob_events=new_events, oob=True,
        retries=svc.jobs.retries_of(job_id), last_event=new_events[-1] if new_events else None))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/jobs/summary")
def summary():
    """One live line about the jobs just submitted from the collect form ("#10–#13: 3 done, 1 running")."""
    parts = [part for part in request.args.get("ids", "").split(",") if part.strip()]
    ids = [n for n in map(parse_whole, parts) if n is not None and 1 <= n <= MAX_ID]  # ASCII digits only
    if not ids or len(ids) > 50 or len(ids) != len(parts):
        abort(422, N_("ids must be 1 to 50 job numbers separated by commas, such as 10,11,12."))
    jobs = services.get().jobs.many(ids)
    response = make_response(render_template("collect/_submitted.html", submitted_jobs=jobs, notes=[]))
    response.headers["Cache-Control"] = "no-store"
    return response
