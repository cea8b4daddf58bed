"""Read the job form (browser or curl) into the fields the job manager validates."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from collector.sources import SOURCES

STANDARD_FIELDS = ("symbol", "source", "interval", "period", "start", "end")


def job_fields(form: MultiDict, option_names: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """Standard fields plus the options the chosen source knows (others' are ignored, so one
    form can carry every source's option inputs)."""
    fields: dict[str, Any] = {name: (form.get(name) or "").strip() for name in STANDARD_FIELDS}
    # A form sends "custom" when the person picked dates instead of a preset.
    if fields["period"] == "custom":
        fields["period"] = ""
    elif fields["period"]:
        fields["start"] = fields["end"] = ""
    source = fields["source"].lower()
    names = option_names.get(source, ()) if source in SOURCES else ()
    fields["options"] = {name: form.get(name) for name in names if name in form}
    return fields
