"""The collect form, and the fragment that follows the chosen source (intervals, options,
and a live explanation when the interval and period do not fit the source)."""

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
    """The source-dependent part of the form, re-rendered when source, period or interval change;
    422 (with the same part, explaining) when they do not fit together."""
    context = form_context(dict(request.args.items()), {})
    if context["values"].get("interval") not in context["intervals"]:
        context["values"]["interval"] = "1d" if "1d" in context["intervals"] else context["intervals"][0]
    # Explain now, not after submit, when this interval does not fit this period at this source.
    checked = job_fields(request.args)
    checked["interval"] = context["values"]["interval"]
    context["hint"] = services.get().jobs.explain(checked)
    # 422 when the form as filled in would be refused: curl sees it, and htmx swaps 422 too.
    status = 422 if context["hint"] else 200
    if wants_json():
        return {"intervals": list(context["intervals"]), "interval": context["values"]["interval"],
                "message": context["hint"]}, status
    return render_template("collect/_source_fields.html", **context), status
