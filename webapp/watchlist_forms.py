"""The watchlist form: reading it (browser, curl, an uploaded CSV) into the fields the
watchlist manager validates, drawing it again with what the person typed, and the JSON
of a watchlist as DESIGN "Watchlists and schedules" names it."""

from __future__ import annotations

from datetime import datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

from flask import url_for
from werkzeug.datastructures import FileStorage, MultiDict

from collector import DEFAULT_CALENDAR, SCHEDULE_KINDS, ValidationError, symbols_from_csv

from .forms import form_context, job_fields
from .serialize import iso

SCHEDULE_FIELDS = ("schedule", "calendar", "offset_minutes", "every_minutes", "market_hours_only", "cron", "timezone")
DEFAULTS = {"schedule": "after_close", "calendar": DEFAULT_CALENDAR, "offset_minutes": "30", "every_minutes": "60",
            "timezone": "UTC", "period": "1y"}
SUGGESTED_CALENDARS = ("XNYS", "NASDAQ", "XLON", "XPAR", "XETR", "XTKS", "XHKG", "XTSE", "XASX", "CME_Equity")


def watchlist_fields(form: MultiDict, files: MultiDict | None = None) -> dict[str, Any]:
    """The collect form's fields and source options, the name, the symbols (typed, plus the
    `symbol` column of an uploaded CSV) and the schedule's fields."""
    fields = job_fields(form)
    fields.pop("symbol", None)
    fields["name"] = form.get("name") or ""
    fields["symbols"] = form.get("symbols") or ""
    upload: FileStorage | None = (files or {}).get("symbols_file")
    if upload is not None and upload.filename:
        pasted = symbols_from_csv(upload.read())  # ValidationError names the file's problem
        fields["symbols"] = "\n".join(part for part in (fields["symbols"], pasted) if part.strip())
    for name in SCHEDULE_FIELDS:
        fields[name] = (form.get(name) or "").strip()
    return fields


def edit_context(values: dict, errors: dict, *, watchlist=None) -> dict:
    """Everything the form templates need (the collect form's source part included)."""
    values = {**DEFAULTS, **{k: v for k, v in values.items() if v not in (None, "")}}
    context = form_context(values, errors)
    context.update(watchlist=watchlist, kinds=SCHEDULE_KINDS, calendars=SUGGESTED_CALENDARS,
                   # fields this form shows next to themselves; the source part lists the others (options)
                   standard_fields=(*context["standard_fields"], "name", "symbols", "symbols_file", *SCHEDULE_FIELDS))
    return context


def values_of(watchlist) -> dict[str, Any]:
    """What the edit form shows for a stored watchlist."""
    values = {"name": watchlist.name, "symbols": "\n".join(watchlist.symbols), "source": watchlist.source,
              "interval": watchlist.interval, "period": watchlist.period or "custom",
              "start": _start_text(watchlist.start)}
    values.update({k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                   for k, v in (watchlist.options or {}).items()})
    schedule = dict(watchlist.schedule or {})
    values.update({k: str(schedule.get(k, "")) for k in SCHEDULE_FIELDS if k != "schedule"})
    values["market_hours_only"] = "true" if schedule.get("market_hours_only") else ""
    values["schedule"] = schedule.get("kind", "none")
    return values


def read_fields(form: MultiDict, files: MultiDict) -> tuple[dict[str, Any], dict[str, str]]:
    """(fields, errors of the upload): a bad CSV is one more field error, not a crash."""
    try:
        return watchlist_fields(form, files), {}
    except ValidationError as exc:
        return watchlist_fields(form, None), exc.errors


def local(when: datetime | None, zone: str) -> str:
    """'Fri 2026-11-27 13:30 America/New_York' for a schedule's own time zone."""
    if when is None:
        return "–"
    return when.astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M ") + zone


def to_dict(svc, watchlist, *, detail: bool = False, page: int = 1) -> dict[str, Any]:
    schedule = svc.watchlists.schedule(watchlist)
    next_run = svc.watchlists.next_run(watchlist)
    data: dict[str, Any] = {
        "id": watchlist.id, "url": url_for("watchlists.detail", watchlist_id=watchlist.id), "name": watchlist.name,
        "symbols": list(watchlist.symbols), "source": watchlist.source, "interval": watchlist.interval,
        "kind": watchlist.kind, "options": watchlist.options or {}, "period": watchlist.period,
        "start": iso(watchlist.start),
        "schedule": {**(watchlist.schedule or {}), "description": schedule.describe(), "zone": schedule.zone,
                     "next_run": iso(next_run), "next_run_local": local(next_run, schedule.zone) if next_run else None,
                     "paused": watchlist.paused},
        "created_at": iso(watchlist.created_at), "updated_at": iso(watchlist.updated_at),
    }
    if detail:
        data["runs"] = [run_to_dict(v) for v in svc.watchlists.runs(watchlist.id)]
        series = svc.watchlists.series(watchlist, page=page)
        data["series"] = [state_to_dict(s) for s in series.items]
        data["series_page"], data["series_pages"] = series.page, series.pages
    return data


def run_to_dict(view) -> dict[str, Any]:
    run = view.run
    return {"id": run.id, "number": run.number, "slot": iso(run.slot), "trigger": run.trigger,
            "started_at": iso(run.started_at), "finished_at": iso(view.finished_at), "status": view.status,
            "late": run.late, "note": run.note, "done": view.completed, "failed": view.failed,
            "cancelled": view.cancelled, "active": view.active, "total": run.total, "problems": run.problems or {},
            "jobs_url": url_for("jobs.index", tab="all", run=run.id)}


def state_to_dict(state) -> dict[str, Any]:
    job = state.last_job
    gaps = state.gaps
    return {"symbol": state.symbol, "last_bar": iso(state.last_bar), "current": state.current,
            "gaps": None if gaps is None else {"count": gaps.count, "missing": gaps.missing, "unit": gaps.unit},
            "last_job": None if job is None else {"id": job.id, "status": job.status,
                                                  "url": url_for("jobs.detail", job_id=job.id)}}


def _start_text(start) -> str:
    """A start at midnight UTC as its day (the date picker's value); any other moment in full,
    so saving the form unchanged keeps it."""
    if start is None:
        return ""
    utc = start if start.tzinfo is None else start.astimezone(timezone.utc)  # naive ones are UTC already
    return utc.date().isoformat() if utc.time() == time(0) else iso(start)
