"""Changing a stored series: update it to now, collect it again (after its source revised its
history), fill its gaps, delete it (after a page that says how many bars will go). Form-encoded POSTs: 303 for browsers, JSON when asked."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for

from collector import N_, AlreadyCurrent, N_plural, SeriesBusy, ValidationError, job_numbers, join_messages, message_of

from . import services
from .errors import wants_json
from .i18n import flash_message
from .serialize import job_to_dict
from .series_args import SERIES, find_series, series_url

bp = Blueprint("data_actions", __name__)


@bp.post(SERIES + "/update")
def update(source: str, symbol: str, interval: str):
    """Submit a job from the last stored bar to now."""
    svc = services.get()
    s = find_series(source, symbol, interval)
    try:
        result = svc.jobs.update_series(s)
    except AlreadyCurrent as exc:  # nothing to fetch: say so instead of queueing a job for nothing
        message = exc.errors["series"]
        if wants_json():
            return {"current": True, "created": False, "message": message}
        flash_message(message, "ok")
        return redirect(series_url(s), code=303)
    except ValidationError as exc:
        return _refused(exc)
    return _answer_submitted(s, result, N_("from the last stored bar to now"))


@bp.post(SERIES + "/recollect")
def recollect(source: str, symbol: str, interval: str):
    """Submit a job that collects the whole series again (clears "revised" when it completes)."""
    svc = services.get()
    s = find_series(source, symbol, interval)
    try:
        result = svc.jobs.recollect_series(s)
    except ValidationError as exc:
        return _refused(exc)
    return _answer_submitted(s, result, N_("the whole series again"))


def _answer_submitted(s, result, what: str):
    """The job a series action submitted: as JSON (201, or 200 when it was already there), or said in a
    flash on the series page."""
    if wants_json():
        return dict(job_to_dict(result.job), created=result.created, queued=result.queued), 201 if result.created else 200
    flash_message(_submitted(result, what), "ok" if result.queued else "warn")
    return redirect(series_url(s), code=303)


@bp.post(SERIES + "/fill")
def fill(source: str, symbol: str, interval: str):
    """Submit the jobs that would fill the series' gaps."""
    svc = services.get()
    s = find_series(source, symbol, interval)
    try:
        results, problems = svc.jobs.fill_series(s)
    except ValidationError as exc:
        return _refused(exc)
    if wants_json():
        payload = {"jobs": [dict(job_to_dict(r.job), created=r.created, queued=r.queued) for r in results],
                   "refused": problems}
        return payload, (201 if any(r.created for r in results) else 422 if problems and not results else 200)
    if results:
        ids = job_numbers(r.job.id for r in results)
        flash_message(N_plural("{n} job submitted to fill the gaps: {ids}.", "{n} jobs submitted to fill the gaps: {ids}.",
                               len(results), ids=ids), "ok")
    elif not problems:
        flash_message(N_("No gaps to fill."), "ok")
    for where, message in problems.items():
        flash_message(N_("Not submitted for {where}: {problem}", where=where, problem=message), "warn")
    return redirect(series_url(s), code=303)


@bp.get(SERIES + "/delete")
def confirm_delete(source: str, symbol: str, interval: str):
    """What deleting would remove, and the button that does it (or why it cannot yet)."""
    svc = services.get()
    s = find_series(source, symbol, interval)
    return render_template("data/delete.html", s=s, bars=svc.series.count(s.id), busy=svc.series.active_jobs(s))


@bp.post(SERIES + "/delete")
def delete(source: str, symbol: str, interval: str):
    """Remove the series and all its bars (jobs stay in the history); 409 while jobs write it."""
    svc = services.get()
    s = find_series(source, symbol, interval)
    try:
        removed = svc.series.delete(s)
    except SeriesBusy as exc:
        if wants_json():
            return {"error": "Conflict", "message": message_of(exc),
                    "jobs": [{"id": j.id, "url": url_for("jobs.detail", job_id=j.id), "status": j.status}
                             for j in exc.jobs]}, 409
        return render_template("data/delete.html", s=s, bars=svc.series.count(s.id), busy=exc.jobs), 409
    if wants_json():
        return {"deleted": True, "bars": removed}
    flash_message(N_plural("Deleted {series}: {n} bar removed.", "Deleted {series}: {n} bars removed.", removed,
                           series=f"{s.symbol} {s.interval} {s.kind} ({s.source})"), "ok")
    return redirect(url_for("data.index"), code=303)


def _refused(exc: ValidationError):
    if wants_json():
        return {"errors": exc.errors}, 422
    abort(422, join_messages(exc.errors.values()))


def _submitted(result, what: str) -> str:
    """'Job #12 (AAPL, from the last stored bar to now) queued.'"""
    job = result.job
    said = dict(id=job.id, symbol=job.symbol, what=what)
    if result.created:
        return N_("Job #{id!s} ({symbol}, {what}) queued.", **said)
    if job.status == "RUNNING":
        return N_("Job #{id!s} ({symbol}, {what}) already running.", **said)
    return N_("Job #{id!s} ({symbol}, {what}) already pending.", **said)
