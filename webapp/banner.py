"""The global banner: active jobs with live progress on every page.

The banner is one self-replacing element: while it shows active (or just finished) jobs it
asks for itself again after a second; when there is nothing to show it renders without that
trigger and waits for a `jobs-changed` event (sent when a job is submitted from the page).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis
from flask import Blueprint, make_response, render_template

from collector import Job

from . import services

bp = Blueprint("banner", __name__)

SHOWN = 3
RECENT_SECONDS = 15  # a finished job stays on the banner this long, so people see it end


@dataclass
class BannerState:
    jobs: list[Job] = field(default_factory=list)
    active_total: int = 0
    events: dict[int, dict] = field(default_factory=dict)
    redis_ok: bool = True
    live_collectors: int | None = None

    @property
    def more(self) -> int:
        shown_active = sum(1 for j in self.jobs if j.is_active)
        return max(0, self.active_total - shown_active)

    @property
    def polling(self) -> bool:
        return bool(self.jobs) or not self.redis_ok

    @property
    def waiting_without_collector(self) -> bool:
        return self.active_total > 0 and self.live_collectors == 0


def banner_state() -> BannerState:
    svc = services.get()
    active, total = svc.jobs.active(limit=SHOWN)
    jobs = list(active)
    if len(jobs) < SHOWN:
        jobs += svc.jobs.recently_finished(RECENT_SECONDS, limit=SHOWN - len(jobs))
    state = BannerState(jobs=jobs, active_total=total)
    try:
        svc.redis.ping()  # say so even when no job is active: submits would only be saved
        state.events = svc.queue.last_events([j.id for j in jobs if j.is_active])
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
    """The banner fragment htmx polls."""
    response = make_response(render_template("_banner.html", banner=banner_state()))
    response.headers["Cache-Control"] = "no-store"
    return response
