"""Series as JSON: the list's rows, one series with its gaps, quality findings, splits and
dividends, and whether its source revised its history."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import url_for

from collector import Series

from .serialize import iso
from .series_args import series_url


def series_dict(s: Series, suspect: int) -> dict:
    return {"source": s.source, "symbol": s.symbol, "interval": s.interval, "kind": s.kind,
            "bars": s.bar_count, "first": iso(_dt(s.first_ts)), "last": iso(_dt(s.last_ts)),
            "updated_at": iso(s.updated_at), "suspect_bars": suspect, "revised": revised_dict(s),
            "url": series_url(s), "quality": series_url(s, "data.quality"),
            "csv": series_url(s, "data.export_csv"), "parquet": series_url(s, "data.export_parquet")}


def revised_dict(s: Series) -> dict | None:
    """The overlap check found the source's history changed (None: it did not)."""
    if s.revised_at is None:
        return None
    return {"at": iso(s.revised_at), "bars": s.revised_bars, "from": iso(_dt(s.revised_from_ts)),
            "job": s.revised_job_id, "job_url": url_for("jobs.detail", job_id=s.revised_job_id) if s.revised_job_id else None,
            "recollect_job": s.recollect_job_id, "recollect": series_url(s, "data_actions.recollect")}


def gaps_dict(report) -> dict:
    return {"method": report.method, "description": report.description, "count": report.count,
            "missing": report.missing, "unit": report.unit,
            "largest": [{"start": iso(g.start_dt), "end": iso(g.end_dt), "missing": g.missing}
                        for g in report.largest()]}


def quality_dict(report) -> dict:
    return {"suspect_bars": report.suspect,
            "checks": [{"check": f.check, "label": f.label, "explanation": f.explanation, "count": f.count,
                        "times": [iso(_dt(t)) for t in f.times], "times_capped": f.capped}
                       for f in report.findings]}


def action_dict(view) -> dict:
    entry, applied = view.entry, view.applied
    return {"kind": entry.kind, "ex_date": entry.ex_date.isoformat(), "value": entry.value, "text": view.text,
            "in_prices": view.in_prices,
            "adjusted": None if applied is None else {"method": applied.method, "bars": applied.bars,
                                                      "kept": applied.kept, "job": applied.job_id}}


def _dt(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc)
