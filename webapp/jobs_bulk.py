"""Bulk actions on the jobs list: retry every failed job, or cancel every pending and
running job, that matches the list's filters (symbol, source, run). The page asks for a
confirmation that states the count; curl posts the same fields."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for

from collector import SOURCES, JobFilter, parse_whole, upper_ascii

from . import services
from .auth import safe_next
from .errors import wants_json
from .params import MAX_ID
from .serialize import job_to_dict

bp = Blueprint("jobs_bulk", __name__)


def job_filter(values) -> JobFilter:
    """The jobs list's filters from query or form values; 422 naming a bad one."""
    symbol = upper_ascii((values.get("symbol") or "").strip()) or None
    source = (values.get("source") or "").strip().lower() or None
    if source and source not in SOURCES:
        abort(422, f"Unknown source {source!r}: use one of {', '.join(SOURCES)}.")
    raw_run = (values.get("run") or "").strip()
    run_id = parse_whole(raw_run) if raw_run else None
    if raw_run and (run_id is None or not 1 <= run_id <= MAX_ID):
        abort(422, f"run must be a run number such as 12; got {raw_run[:20]!r}.")
    if symbol and len(symbol) > 32:
        abort(422, "A ticker symbol has at most 32 characters.")
    return JobFilter(symbol=symbol, source=source, run_id=run_id)


@bp.post("/jobs/retry")
def retry():
    """Submit again every failed job matching the filters."""
    results = services.get().jobs.retry_failed(job_filter(request.form))
    created = [r for r in results if r.created]
    if wants_json():
        return {"retried": len(created), "already_active": len(results) - len(created),
                "jobs": [job_to_dict(r.job) for r in created]}, 201 if created else 200
    if results:
        flash(f"{len(created):,} failed job{'s' * (len(created) != 1)} submitted again"
              + (f"; {len(results) - len(created):,} were already running again." if len(created) < len(results) else "."),
              "ok")
    else:
        flash("No failed jobs match these filters.", "warn")
    return redirect(safe_next(request.form.get("next"), _list_url("running")), code=303)


@bp.post("/jobs/cancel")
def cancel():
    """Cancel every pending or running job matching the filters."""
    at_once, stopping = services.get().jobs.cancel_matching(job_filter(request.form))
    if wants_json():
        return {"cancelled": at_once, "stopping": stopping}
    if at_once or stopping:
        flash(f"{at_once:,} waiting job{'s' * (at_once != 1)} cancelled; {stopping:,} running "
              f"job{'s' * (stopping != 1)} stop after their current chunk.", "ok")
    else:
        flash("No pending or running jobs match these filters.", "warn")
    return redirect(safe_next(request.form.get("next"), _list_url("all")), code=303)


def _list_url(tab: str) -> str:
    form = request.form
    return url_for("jobs.index", tab=tab, symbol=form.get("symbol") or None, source=form.get("source") or None,
                   run=form.get("run") or None)
