"""The collect form, and the parts of it that follow what is chosen: the source's intervals
and options (when the source changes) and a live explanation when the interval and period
do not fit the source (when anything else changes)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from . import services
from .forms import form_context, job_fields

bp = Blueprint("collect", __name__)


def home():
    """The start page is the collect form."""
    return redirect(url_for("collect.index"))


@bp.get("/collect")
def index():
    """The form that submits collection jobs."""
    return render_template("collect/index.html", **form_context(dict(request.args.items()), {}))


@bp.get("/collect/fields")
def fields():
    """The source-dependent part of the form, redrawn with what was typed when the source changes."""
    context = form_context(dict(request.args.items()), {})
    if context["values"].get("interval") not in context["intervals"]:
        context["values"]["interval"] = "1d" if "1d" in context["intervals"] else context["intervals"][0]
    context["hint"] = _explain(context["values"]["interval"])
    return render_template("collect/_source_fields.html", **context)


@bp.get("/collect/hint")
def hint():
    """Only the explanation under the interval: redrawn when the period, the dates or the interval change."""
    return render_template("collect/_hint.html", hint=_explain(request.args.get("interval", "")))


def _explain(interval: str) -> str | None:
    """Explain now, not after submit, when this interval does not fit this period at this source."""
    checked = job_fields(request.args)
    checked["interval"] = interval
    return services.get().jobs.explain(checked)
