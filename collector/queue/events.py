"""Progress events of one job (`{prefix}:job:{id}:events`): one way to build them, one way
to read them back. An event carries state, done, total, rows_new, rows_updated, message, ts
(DESIGN.md), plus optional extras such as the collector's name."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

EVENT_FIELDS = ("state", "done", "total", "rows_new", "rows_updated", "message", "ts")
_COUNTS = ("done", "total", "rows_new", "rows_updated")


@dataclass(frozen=True)
class Counts:
    """Where a job stands: chunks done of total, bars new and updated so far."""

    done: int = 0
    total: int = 0
    rows_new: int = 0
    rows_updated: int = 0

    @classmethod
    def of(cls, job: Any) -> "Counts":
        """The counts a job row (or anything with its progress attributes) holds."""
        return cls(job.progress_done or 0, job.progress_total or 0, job.rows_new or 0, job.rows_updated or 0)


def event_fields(state: str, counts: Counts, message: str, **extra: Any) -> dict[str, str]:
    fields = {"state": str(state), "done": counts.done, "total": counts.total, "rows_new": counts.rows_new,
              "rows_updated": counts.rows_updated, "message": message, "ts": f"{time.time():.3f}"}
    fields.update({k: str(v) for k, v in extra.items() if v is not None})
    return fields


def parse_event(entry_id: str, fields: dict[str, str]) -> dict[str, Any]:
    """A stored event as a dict with numbers as numbers and its stream id as `id`."""
    event: dict[str, Any] = dict(fields)
    event["id"] = entry_id
    for key in _COUNTS:
        try:
            event[key] = int(fields.get(key, 0))
        except ValueError:
            event[key] = 0
    try:
        event["ts"] = float(fields.get("ts", 0))
    except ValueError:
        event["ts"] = 0.0
    return event
