"""Changing jobs: submit, cancel, retry, dismiss a failure, clean now. Form-encoded POSTs:
303 for browsers, the form fragment for htmx, JSON when asked, 4xx with the reason."""

from __future__ import annotations

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for

from collector import (
    MAX_CLEANUP_DAYS,
    N_,
    TABS,
    YES_NO_HELP,
    ValidationError,
    join_messages,
    parse_bool,
    parse_whole,
    shown,
)

from . import services
from .auth import safe_next
from .errors import wants_json
from .forms import form_context, job_fields
from .i18n import flash_message
from .jobs import no_job
from .serialize import job_to_dict

bp = Blueprint("job_actions", __name__)


@bp.post("/jobs")
def create():
    """Submit one job per symbol; 303 to the job for browsers, 201 JSON (200 when nothing new was
    made), 422 with field errors."""
    fields = job_fields(request.form)
    values = dict(request.form.items())
    try:
        only_missing = parse_bool(request.form.get("only_missing"), empty=False)
        if only_missing is None:  # "false" and "no" must not switch it on
            raise ValidationError({"only_missing": N_("must be {yes_no}, got {value!r}", yes_no=YES_NO_HELP,
                                                      value=shown(request.form["only_missing"]))})
        results = services.get().jobs.submit(fields, only_missing=only_missing)
    except ValidationError as exc:
        if wants_json():
            return {"errors": exc.errors}, 422
        if "period" in exc.errors and values.get("start"):
            values["period"] = "custom"  # dates typed: show them as what counts, ready to send again
        template = "collect/_form.html" if request.htmx else "collect/index.html"
        return render_template(template, **form_context(values, exc.errors)), 422
    if wants_json():
        payload = [dict(job_to_dict(r.job), created=r.created, queued=r.queued) for r in results]
        # 201 when a job was made; 200 when each symbol was already queued or running (created: false)
        return (payload[0] if len(payload) == 1 else payload), 201 if any(r.created for r in results) else 200
    if request.htmx:
        # Stay on the form (ready for the next ticker) with one live line about what was submitted.
        values["symbol"] = ""
        context = form_context(values, {}, submitted=[r.job for r in results], notes=_notes(results))
        response = make_response(render_template("collect/_form.html", **context))
        response.headers["HX-Trigger"] = "jobs-changed"
        return response
    for r in results:
        flash_message(_submitted_message(r), "ok" if r.queued else "warn")
    target = url_for("jobs.detail", job_id=results[0].job.id) if len(results) == 1 else url_for("jobs.index", tab="running")
    return redirect(target, code=303)


def _notes(results) -> list[str]:
    """What the live line cannot say: duplicates not submitted twice, jobs waiting for Redis."""
    return [_submitted_message(r) for r in results if not (r.created and r.queued)]


def _submitted_message(result) -> str:
    job = result.job
    said = dict(id=job.id, symbol=job.symbol)
    if not result.created and job.status == "RUNNING":
        return N_("Job #{id!s} ({symbol}) is already running: not submitted twice.", **said)
    if not result.created:
        return N_("Job #{id!s} ({symbol}) is already pending: not submitted twice.", **said)
    if not result.queued:
        return N_("Job #{id!s} ({symbol}) saved — it will start when Redis is reachable again.", **said)
    return N_("Job #{id!s} ({symbol}) queued — follow it in the banner.", **said)


@bp.post("/jobs/<int:job_id>/cancel")
def cancel(job_id: int):
    """Cancel: at once when pending or waiting, after the chunk being fetched otherwise."""
    svc = services.get()
    try:
        job = svc.jobs.cancel(job_id)
    except LookupError:
        abort(404, no_job(job_id))
    if wants_json():
        return job_to_dict(job)
    if job.status == "CANCELLED":
        flash_message(N_("Job #{id!s} cancelled.", id=job_id), "ok")
    elif not job.cancel_requested:
        flash_message(N_("Job #{id!s} had already finished; nothing to cancel.", id=job_id) if job.status == "COMPLETED"
                      else N_("Job #{id!s} had already failed; nothing to cancel.", id=job_id), "warn")
    # A running job's page and row say "cancelling…" live, then "Cancelled": no flash that would go stale.
    return redirect(safe_next(request.form.get("next"), url_for("jobs.detail", job_id=job_id)), code=303)


@bp.post("/jobs/<int:job_id>/retry")
def retry(job_id: int):
    """Submit the same request again, linked to this job."""
    svc = services.get()
    try:
        result = svc.jobs.retry(job_id)
    except LookupError:
        abort(404, no_job(job_id))
    except ValidationError as exc:  # too many active jobs
        if wants_json():
            return {"errors": exc.errors}, 422
        abort(422, join_messages(exc.errors.values()))
    if wants_json():
        return dict(job_to_dict(result.job), created=result.created, queued=result.queued), 201 if result.created else 200
    flash_message(_submitted_message(result), "ok")
    return redirect(url_for("jobs.detail", job_id=result.job.id), code=303)


@bp.post("/jobs/<int:job_id>/dismiss")
def dismiss(job_id: int):
    """A failure seen: off the banner and the navigation's count (it stays in the Failed tab)."""
    svc = services.get()
    if svc.jobs.get(job_id) is None:
        abort(404, no_job(job_id))
    return _dismissed(svc.jobs.dismiss([job_id]))


@bp.post("/jobs/dismiss")
def dismiss_all():
    """Every failure seen."""
    return _dismissed(services.get().jobs.dismiss())


def _dismissed(count: int):
    if wants_json():
        return {"dismissed": count}
    if request.htmx:
        response = make_response("", 204)
        response.headers["HX-Trigger"] = "jobs-changed"  # the banner redraws itself
        return response
    return redirect(safe_next(request.form.get("next") or request.referrer, url_for("jobs.index", tab="failed")), code=303)


@bp.post("/jobs/cleanup")
def cleanup():
    """Remove finished jobs older than the retention period (default 7 days); 0 days (every
    finished job) only with confirm=yes, which a browser is asked for first."""
    svc = services.get()
    raw = (request.form.get("days") or "").strip()
    days = parse_whole(raw) if raw else None
    try:
        if raw and days is None:
            raise ValidationError({"days": N_("Days must be a whole number from 1 to {most} (or 0 with "
                                              "confirm=yes); got {got!r}.", most=MAX_CLEANUP_DAYS, got=shown(raw, 20))})
        result = svc.jobs.cleanup(days, confirm=parse_bool(request.form.get("confirm")) is True)
    except ValidationError as exc:
        if wants_json():
            return {"errors": exc.errors}, 422
        if days == 0:
            return render_template("jobs/cleanup_confirm.html", finished=svc.jobs.counts(),
                                   tab=_tab(request.form.get("tab"))), 422
        abort(422, exc.errors["days"])
    if wants_json():
        return {"jobs_removed": result.jobs_removed, "event_streams_removed": result.event_streams_removed,
                "queue_entries_trimmed": result.queue_entries_trimmed, "days": result.days,
                "message": result.summary()}
    flash_message(result.summary(), "ok")
    return redirect(url_for("jobs.index", tab=_tab(request.form.get("tab"))), code=303)


def _tab(name: str | None) -> str:
    return name if name in TABS else "all"
