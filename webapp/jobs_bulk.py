"""Bulk actions on the jobs list: retry every failed job, or cancel every pending and
running job, that matches the list's filters (symbol, source, run). The page asks for a
confirmation that states the count; curl posts the same fields."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for

from collector import N_, SOURCES, JobFilter, N_plural, parse_whole, shown, upper_ascii

from . import services
from .auth import safe_next
from .errors import wants_json
from .i18n import flash_message
from .params import MAX_ID
from .serialize import job_to_dict

bp = Blueprint("jobs_bulk", __name__)


def unknown_source(source: str) -> str:
    return N_("Unknown source {source!r}: use one of {choices}.", source=shown(source), choices=", ".join(SOURCES))


def job_filter(values) -> JobFilter:
    """The jobs list's filters from query or form values; 422 naming a bad one."""
    symbol = upper_ascii((values.get("symbol") or "").strip()) or None
    source = (values.get("source") or "").strip().lower() or None
    if source and source not in SOURCES:
        abort(422, unknown_source(source))
    raw_run = (values.get("run") or "").strip()
    run_id = parse_whole(raw_run) if raw_run else None
    if raw_run and (run_id is None or not 1 <= run_id <= MAX_ID):
        abort(422, N_("run must be a run number such as 12; got {got!r}.", got=shown(raw_run, 20)))
    if symbol and len(symbol) > 32:
        abort(422, N_("A ticker symbol has at most 32 characters."))
    return JobFilter(symbol=symbol, source=source, run_id=run_id)


@bp.post("/jobs/retry")
def retry():
    """Submit again every failed job matching the filters."""
    results = services.get().jobs.retry_failed(job_filter(request.form))
    created = [r for r in results if r.created]
    if wants_json():
        return {"retried": len(created), "already_active": len(results) - len(created),
                "jobs": [job_to_dict(r.job) for r in created]}, 201 if created else 200
    if results and len(created) < len(results):
        flash_message(N_plural("{n} failed job submitted again; {again} were already running again.",
                               "{n} failed jobs submitted again; {again} were already running again.", len(created),
                               again=len(results) - len(created)), "ok")
    elif results:
        flash_message(N_plural("{n} failed job submitted again.", "{n} failed jobs submitted again.", len(created)), "ok")
    else:
        flash_message(N_("No failed jobs match these filters."), "warn")
    return redirect(safe_next(request.form.get("next"), _list_url("running")), code=303)


@bp.post("/jobs/cancel")
def cancel():
    """Cancel every pending or running job matching the filters."""
    at_once, stopping = services.get().jobs.cancel_matching(job_filter(request.form))
    if wants_json():
        return {"cancelled": at_once, "stopping": stopping}
    if at_once or stopping:
        flash_message(N_("{waiting} cancelled; {running} stop after their current chunk.",
                         waiting=N_plural("{n} waiting job", "{n} waiting jobs", at_once),
                         running=N_plural("{n} running job", "{n} running jobs", stopping)), "ok")
    else:
        flash_message(N_("No pending or running jobs match these filters."), "warn")
    return redirect(safe_next(request.form.get("next"), _list_url("all")), code=303)


def _list_url(tab: str) -> str:
    form = request.form
    return url_for("jobs.index", tab=tab, symbol=form.get("symbol") or None, source=form.get("source") or None,
                   run=form.get("run") or None)
