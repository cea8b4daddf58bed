"""Watchlists: list, create, edit, run now, pause, resume, delete; a watchlist's page with
its schedule, runs and how current each series is. HTML, or JSON when asked; form-encoded
POSTs answer 303 for browsers, 201/200 JSON, 422 with a message per field."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from collector import N_, N_plural, ValidationError

from . import services
from .errors import wants_json
from .i18n import flash_message
from .params import page_arg
from .series_args import series_url
from .watchlist_forms import edit_context, read_fields, run_to_dict, to_dict, values_of

bp = Blueprint("watchlists", __name__)


@bp.get("/watchlists")
def index():
    """Every watchlist with its schedule and next run, and the form for a new one."""
    svc = services.get()
    lists = svc.watchlists.list()
    if wants_json():
        return {"watchlists": [to_dict(svc, w) for w in lists]}
    return render_template("watchlists/index.html", lists=lists, svc=svc, **edit_context({}, {}))


@bp.post("/watchlists")
def create():
    """A new watchlist; 303 to its page, 201 JSON, 422 with the fields that are wrong."""
    svc = services.get()
    fields, errors = read_fields(request.form, request.files)
    try:
        if errors:
            raise ValidationError(errors)
        watchlist = svc.watchlists.create(fields)
    except ValidationError as exc:
        return _invalid(exc, None)
    if wants_json():
        return to_dict(svc, watchlist), 201
    flash_message(N_plural("Watchlist {name} created with {n} symbol.", "Watchlist {name} created with {n} symbols.",
                           len(watchlist.symbols), name=watchlist.name), "ok")
    return redirect(url_for("watchlists.detail", watchlist_id=watchlist.id), code=303)


# One rule for reading (GET) and editing (POST) a watchlist: with two rules on one path, an id
# the converter refuses answers 405 instead of 404.
@bp.route("/watchlists/<int:watchlist_id>", methods=["GET", "POST"])
def detail(watchlist_id: int):
    """Its schedule in plain words, its runs, and each symbol's last bar, currency, gaps and
    job; POST changes it."""
    if request.method == "POST":
        return update(watchlist_id)
    svc = services.get()
    watchlist = _get(watchlist_id)
    page = page_arg()
    if wants_json():
        return to_dict(svc, watchlist, detail=True, page=page)
    schedule = svc.watchlists.schedule(watchlist)
    return render_template("watchlists/detail.html", w=watchlist, schedule=schedule, series_url=series_url,
                           next_run=svc.watchlists.next_run(watchlist), runs=svc.watchlists.runs(watchlist_id),
                           states=svc.watchlists.series(watchlist, page=page),
                           unfinished=svc.watchlists.unfinished_jobs(watchlist_id))


@bp.get("/watchlists/<int:watchlist_id>/edit")
def edit(watchlist_id: int):
    """The form, filled in with the watchlist as it is."""
    watchlist = _get(watchlist_id)
    return render_template("watchlists/edit.html", **edit_context(values_of(watchlist), {}, watchlist=watchlist))


def update(watchlist_id: int):
    """Change a watchlist (same fields as creating one); a new schedule counts from now."""
    svc = services.get()
    watchlist = _get(watchlist_id)
    fields, errors = read_fields(request.form, request.files)
    try:
        if errors:
            raise ValidationError(errors)
        watchlist = svc.watchlists.update(watchlist_id, fields)
    except ValidationError as exc:
        return _invalid(exc, watchlist)
    if wants_json():
        return to_dict(svc, watchlist)
    flash_message(N_("Watchlist {name} saved.", name=watchlist.name), "ok")
    return redirect(url_for("watchlists.detail", watchlist_id=watchlist_id), code=303)


@bp.post("/watchlists/<int:watchlist_id>/run")
def run(watchlist_id: int):
    """Run now (paused or not): 201 with the run."""
    svc = services.get()
    watchlist = _get(watchlist_id)
    try:
        view = svc.watchlists.run_now(watchlist_id)
    except LookupError:
        abort(404, _no_watchlist(watchlist_id))
    if wants_json():
        return run_to_dict(view), 201
    if view.run.status == "STARTED":
        flash_message(N_plural("Run #{number!s} of {name} started: {n} symbol, one job each — follow it in the banner.",
                               "Run #{number!s} of {name} started: {n} symbols, one job each — follow it in the "
                               "banner.", len(watchlist.symbols), number=view.run.number, name=watchlist.name), "ok")
    else:
        flash_message(N_("Run #{number!s} of {name}: {note}", number=view.run.number, name=watchlist.name,
                         note=view.run.note_message or ""), "warn")
    return redirect(url_for("watchlists.detail", watchlist_id=watchlist_id), code=303)


@bp.post("/watchlists/<int:watchlist_id>/pause")
def pause(watchlist_id: int):
    """No scheduled run until resumed; a run in progress finishes."""
    watchlist = _change(watchlist_id, "pause")
    return _done(watchlist, N_("Watchlist {name} paused: no scheduled runs until you resume it (a run in progress "
                               "finishes; Run now still works).", name=watchlist.name))


@bp.post("/watchlists/<int:watchlist_id>/resume")
def resume(watchlist_id: int):
    """Scheduled again from now on."""
    watchlist = _change(watchlist_id, "resume")
    return _done(watchlist, N_("Watchlist {name} resumed: the next scheduled run is the next slot from now (slots "
                               "missed while paused are not caught up).", name=watchlist.name))


@bp.post("/watchlists/<int:watchlist_id>/delete")
def delete(watchlist_id: int):
    """Remove it; its unfinished jobs are cancelled, bars and finished jobs stay."""
    svc = services.get()
    _get(watchlist_id)
    deleted = svc.watchlists.delete(watchlist_id)
    if wants_json():
        return {"deleted": True, "id": watchlist_id, "jobs_cancelled": deleted.cancelled,
                "jobs_stopping": deleted.stopping}
    flash_message(N_("Watchlist {name} deleted: {waiting} cancelled, {running} stop after their current chunk. "
                     "Stored bars are kept.", name=deleted.watchlist.name,
                     waiting=N_plural("{n} waiting job", "{n} waiting jobs", deleted.cancelled),
                     running=N_plural("{n} running job", "{n} running jobs", deleted.stopping)), "ok")
    return redirect(url_for("watchlists.index"), code=303)


def _get(watchlist_id: int):
    watchlist = services.get().watchlists.get(watchlist_id)
    if watchlist is None:
        abort(404, _no_watchlist(watchlist_id))
    return watchlist


def _no_watchlist(watchlist_id: int) -> str:
    return N_("There is no watchlist #{id!s}.", id=watchlist_id)


def _change(watchlist_id: int, action: str):
    _get(watchlist_id)
    try:
        return getattr(services.get().watchlists, action)(watchlist_id)
    except LookupError:
        abort(404, _no_watchlist(watchlist_id))


def _done(watchlist, message: str):
    if wants_json():
        return to_dict(services.get(), watchlist)
    flash_message(message, "ok")
    return redirect(url_for("watchlists.detail", watchlist_id=watchlist.id), code=303)


def _invalid(exc: ValidationError, watchlist):
    if wants_json():
        return {"errors": exc.errors}, 422
    values = {k: v for k, v in request.form.items()}
    template = "watchlists/edit.html" if watchlist is not None else "watchlists/index.html"
    svc = services.get()
    return render_template(template, lists=svc.watchlists.list(), svc=svc,
                           **edit_context(values, exc.errors, watchlist=watchlist)), 422
