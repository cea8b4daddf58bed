"""The collect form: reading it (browser or curl) into the fields the job manager validates,
and everything its templates need to draw it again with what the person typed."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.datastructures import MultiDict

from collector import N_, PERIODS, SOURCES

from . import services

STANDARD_FIELDS = ("symbol", "source", "interval", "period", "start", "end")
DEFAULTS = {"source": "sim", "period": "1mo", "interval": "1d"}
SOURCE_NOTES = {
    "yahoo": N_("Yahoo keeps 1-minute bars for 30 days, 2–90-minute bars for 60 days, hourly bars for 730 days, "
                "daily and longer for the whole history."),
    "ibkr": N_("Needs TWS or IB Gateway with the API enabled. IB keeps bars of 30 seconds or less for 6 months."),
    "sim": N_("Simulated prices, generated offline: for trying mdc out. Not market data."),
}
# How the form names the fields whose problems it lists under the source's options.
FIELD_LABELS = {
    "adjusted": N_("Adjusted prices"), "what_to_show": N_("Data type"), "rth": N_("Hours"),
    "currency": N_("Currency"), "primary_exchange": N_("Primary exchange"), "delay": N_("Pause per chunk"),
    "kind": N_("Prices"), "fail": N_("Simulated failure"), "bars": N_("Bars"), "jobs": N_("Jobs"),
}


def job_fields(form: MultiDict) -> dict[str, Any]:
    """Standard fields plus the options the chosen source knows (others' are ignored, so one
    form can carry every source's option inputs)."""
    fields: dict[str, Any] = {name: (form.get(name) or "").strip() for name in STANDARD_FIELDS}
    # "custom" means the dates count. The collect form also says that typed dates win over
    # the preset still selected (without JavaScript nothing switches the select to custom);
    # anyone else sending both gets a 422 that says which one counts.
    if fields["period"] == "custom" or (fields["start"] and form.get("dates") == "win"):
        fields["period"] = ""
    source = fields["source"].lower()
    names = services.get().sources.option_names().get(source, ()) if source in SOURCES else ()
    fields["options"] = {name: form.get(name) for name in names if name in form}
    return fields


def form_context(values: dict, errors: dict, *, submitted=None, notes=None) -> dict:
    """Everything the form templates need; `values` are what the person typed, `submitted`
    the jobs just submitted (one live line about them), `notes` what that line cannot say."""
    values = {**DEFAULTS, **{k: v for k, v in values.items() if v is not None}}
    source = values.get("source") if values.get("source") in SOURCES else DEFAULTS["source"]
    values["source"] = source
    sources = services.get().sources
    return {"values": values, "errors": errors, "sources": SOURCES, "periods": PERIODS,
            "intervals": tuple(sources.get(source).intervals), "choices": sources.option_choices(source),
            "note": SOURCE_NOTES.get(source, ""), "submitted_jobs": submitted or [], "notes": notes or [],
            "hint": None, "field_labels": FIELD_LABELS,
            "standard_fields": STANDARD_FIELDS}


def date_input(value: str) -> str:
    """The input type for a date field: a date picker would blank a date and time (typed with
    curl, stored from the CLI), so those are shown as text, to be kept or edited."""
    return "date" if not value or _ISO_DAY.fullmatch(value) else "text"


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
