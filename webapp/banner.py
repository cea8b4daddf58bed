"""The global banner: active jobs with live progress on every page, the failures nobody has
dismissed yet, and the jobs that just finished.

The banner is one self-replacing element: while it shows active (or just finished) jobs it
asks for itself again after a second; otherwise it renders without that trigger and waits
for a `jobs-changed` event (sent when a job is submitted or dismissed from the page). It is
not a live region (it changes every second): each poll says which states it showed, and
the answer announces only the changes (started, completed, failed, cancelled) out of band.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import redis
from flask import Blueprint, make_response, render_template, request

from collector import Job

from . import services

bp = Blueprint("banner", __name__)

SHOWN = 3
RECENT_SECONDS = 15  # a finished job stays on the banner this long, so people see it end
_SEEN = re.compile(r"(\d{1,12})([A-Z])")


@dataclass
class BannerState:
    active: list[Job] = field(default_factory=list)
    recent: list[Job] = field(default_factory=list)  # finished in the last RECENT_SECONDS (failures aside)
    failures: list[Job] = field(default_factory=list)  # failed and not dismissed yet
    active_total: int = 0
    failed_total: int = 0
    events: dict[int, dict] = field(default_factory=dict)
    redis_ok: bool = True
    live_collectors: int | None = None
    changes: list[Job] = field(default_factory=list)  # jobs whose state changed since the last poll
    now: float = field(default_factory=time.time)

    @property
    def jobs(self) -> list[Job]:
        return self.active + self.recent + self.failures

    @property
    def more(self) -> int:
        return max(0, self.active_total - len(self.active))

    @property
    def polling(self) -> bool:
        return bool(self.active or self.recent) or not self.redis_ok

    @property
    def waiting_without_collector(self) -> bool:
        return self.active_total > 0 and self.live_collectors == 0

    @property
    def seen(self) -> str:
        """What this banner shows, for the next poll to tell what changed: '12R13P'."""
        return "".join(f"{j.id}{j.status[0]}" for j in self.jobs)

    def count(self, status: str) -> int:
        return sum(1 for j in self.active + self.recent if j.status == status)


def banner_state(seen: str = "") -> BannerState:
    svc = services.get()
    active, total = svc.jobs.active(limit=SHOWN)
    failures, failed_total = svc.jobs.unseen_failures(limit=SHOWN)
    state = BannerState(active=active, failures=failures, active_total=total, failed_total=failed_total)
    if len(active) < SHOWN:
        recent = svc.jobs.recently_finished(RECENT_SECONDS, limit=SHOWN, exclude=tuple(j.id for j in failures))
        state.recent = [j for j in recent if j.status != "FAILED" or j.dismissed_at is None][:SHOWN - len(active)]
    before = {int(job_id): letter for job_id, letter in _SEEN.findall(seen or "")}
    state.changes = [j for j in state.jobs if j.id in before and before[j.id] != j.status[0]]
    try:
        svc.redis.ping()  # say so even when no job is active: submits would only be saved
        state.events = svc.queue.last_events([j.id for j in active])
        state.live_collectors = svc.registry.live_count() if total else None
    except redis.RedisError:
        state.redis_ok = False
    return state


@bp.app_context_processor
def inject_banner():
    """Full pages render the banner inline, so it works on first paint and without JavaScript."""
    return {"banner_state": banner_state}


@bp.get("/banner")
def banner():
    """The banner fragment htmx polls (with the failure count and announcements out of band)."""
    state = banner_state(request.args.get("seen", "")[:400])
    response = make_response(render_template("_banner.html", banner=state, oob=True))
    response.headers["Cache-Control"] = "no-store"
    return response
