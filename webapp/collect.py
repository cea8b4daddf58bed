"""The collect form, and the parts of it that follow what is chosen: the source's intervals
and options (when the source changes) and a live explanation when the interval and period
do not fit the source (when anything else changes)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from . import services
from .errors import wants_json
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
    """The source-dependent part of the form, redrawn with what was typed when the source changes;
    422 (the same part, explaining) when the fields as filled in would be refused."""
    context = form_context(dict(request.args.items()), {})
    if context["values"].get("interval") not in context["intervals"]:
        context["values"]["interval"] = "1d" if "1d" in context["intervals"] else context["intervals"][0]
    context["hint"] = _explain(context["values"]["interval"])
    return _answer(render_template("collect/_source_fields.html", **context), context["hint"])


@bp.get("/collect/hint")
def hint():
    """Only the explanation under the interval: redrawn when the period, the dates or the interval change."""
    explained = _explain(request.args.get("interval", ""))
    return _answer(render_template("collect/_hint.html", hint=explained), explained)


def _explain(interval: str) -> str | None:
    """Explain now, not after submit, when this interval does not fit this period at this source."""
    checked = job_fields(request.args)
    checked["interval"] = interval
    return services.get().jobs.explain(checked)


def _answer(html: str, problem: str | None):
    """422 when the form as filled in would be refused (curl sees a refusal; htmx swaps 422 as
    well); JSON with the explanation to clients that ask for it."""
    status = 422 if problem else 200
    if wants_json():
        return {"message": problem}, status
    return html, status
