"""The collect form, and the fragment that follows the chosen source (intervals, options,
and a live explanation when the interval and period do not fit the source)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from collector.jobs.incremental import missing_specs
from collector.jobs.validation import ValidationError, build_spec
from collector.sources import SOURCES
from collector.timespec import PERIODS

from . import services
from .forms import job_fields

bp = Blueprint("collect", __name__)

DEFAULTS = {"source": "sim", "period": "1mo", "interval": "1d"}
SOURCE_NOTES = {
    "yahoo": "Yahoo keeps 1-minute bars for 30 days, 2–90-minute bars for 60 days, hourly bars for 730 days, "
             "daily and longer for the whole history.",
    "ibkr": "Needs TWS or IB Gateway with the API enabled. IB keeps bars of 30 seconds or less for 6 months.",
    "sim": "Simulated prices, generated offline: for trying mdc out. Not market data.",
}


def home():
    """The start page is the collect form."""
    return redirect(url_for("collect.index"))


def option_names() -> dict[str, tuple[str, ...]]:
    svc = services.get()
    return {name: tuple(getattr(svc.jobs.source(name), "option_names", ())) for name in SOURCES}


def form_context(values: dict, errors: dict, *, submitted=None) -> dict:
    """Everything the form templates need; `values` are what the person typed."""
    values = {**DEFAULTS, **{k: v for k, v in values.items() if v is not None}}
    source = values.get("source") if values.get("source") in SOURCES else DEFAULTS["source"]
    values["source"] = source
    intervals = tuple(services.get().jobs.source(source).intervals)
    return {"values": values, "errors": errors, "sources": SOURCES, "periods": PERIODS,
            "intervals": intervals, "note": SOURCE_NOTES.get(source, ""), "submitted": submitted or [],
            "hint": None}


@bp.get("/collect")
def index():
    """The form that submits collection jobs."""
    return render_template("collect/index.html", **form_context(dict(request.args.items()), {}))


@bp.get("/collect/fields")
def fields():
    """The source-dependent part of the form, re-rendered when source, period or interval change."""
    values = dict(request.args.items())
    context = form_context(values, {})
    if context["values"].get("interval") not in context["intervals"]:
        context["values"]["interval"] = "1d" if "1d" in context["intervals"] else context["intervals"][0]
    # Explain now, not after submit, when this interval does not fit this period at this source.
    checked = job_fields(request.args, option_names())
    checked["interval"] = context["values"]["interval"]
    try:
        build_spec(checked, "AAPL", services.get().jobs.source)
    except ValidationError as exc:
        problems = [m for k, m in exc.errors.items() if k != "symbol"]
        context["hint"] = " ".join(problems) or None
    return render_template("collect/_source_fields.html", **context)


def submit_jobs(fields: dict, form) -> list:
    """Submit the form's jobs; with "only what is missing" ticked, each one is cut down to
    the parts its stored series lacks (see collector.incremental.missing_specs)."""
    svc = services.get()
    if not form.get("only_missing"):
        return svc.jobs.submit(fields)
    specs = [part for spec in svc.jobs.validate(fields) for part in missing_specs(svc.db, spec)]
    if not specs:
        raise ValidationError({"only_missing": "Nothing is missing: every bar of that range is already stored."})
    return [svc.jobs.create(spec) for spec in specs]
