"""Job JSON exactly as DESIGN "Contracts" names it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for

from collector import Job, source_label


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def job_to_dict(job: Job, event: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": job.id, "url": url_for("jobs.detail", job_id=job.id),
        "symbol": job.symbol, "source": job.source, "source_label": source_label(job.source),
        "interval": job.interval, "kind": job.kind, "period": job.period,
        "start": iso(job.start), "end": iso(job.end), "options": job.options or {},
        "status": job.status,
        "progress": {"done": job.progress_done, "total": job.progress_total},
        "rows_new": job.rows_new, "rows_updated": job.rows_updated, "rows_unchanged": job.rows_unchanged,
        "suspect_bars": job.suspect_bars or 0,
        "error": job.error, "attempts": job.attempts, "collector": job.collector,
        "cancel_requested": job.cancel_requested, "retry_of": job.retry_of,
        "created_at": iso(job.created_at), "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "duration_s": None if job.duration_s is None else round(job.duration_s, 3),
        "run_id": job.run_id, "watchlist_id": job.watchlist_id,
    }
    if event is not None:
        data["message"] = event.get("message")
    return data
