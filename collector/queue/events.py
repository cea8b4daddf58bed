"""Progress events of one job (`{prefix}:job:{id}:events`): one way to build them, one way
to read them back. An event carries state, done, total, rows_new, rows_updated, message, ts
(DESIGN.md), plus optional extras such as the collector's name.

`message` is English text; when it was a collector.i18n Message, `message_i18n` keeps what it
was made from (JSON), so a reader sees it in their language later. Reading an event gives the
Message back in `message` (older events: their text as stored)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from collector.i18n import message_data, restore

EVENT_FIELDS = ("state", "done", "total", "rows_new", "rows_updated", "message", "ts")
MESSAGE_DATA = "message_i18n"
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
              "rows_updated": counts.rows_updated, "message": str(message), "ts": f"{time.time():.3f}"}
    fields.update({k: str(v) for k, v in extra.items() if v is not None})
    data = message_data(message)
    if data is not None:
        fields[MESSAGE_DATA] = json.dumps(data, separators=(",", ":"))
    return fields


def parse_event(entry_id: str, fields: dict[str, str]) -> dict[str, Any]:
    """A stored event as a dict with numbers as numbers and its stream id as `id`."""
    event: dict[str, Any] = dict(fields)
    event["id"] = entry_id
    kept = event.pop(MESSAGE_DATA, None)
    if kept is not None:
        try:
            event["message"] = restore(event.get("message"), json.loads(kept))
        except ValueError:  # not JSON: the English text stands
            pass
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
