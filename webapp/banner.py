"""The global banner: active jobs with live progress on every page; the jobs of a
watchlist's run are one line for the run ("run #12 of tech: 48 of 50 completed").

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
    runs: list = field(default_factory=list)  # (RunView, watchlist name)
    runs_going: int = 0
    active_total: int = 0  # every active job, a run's too
    outside_total: int = 0  # active jobs that are no part of a run (the ones shown one per line)
    events: dict[int, dict] = field(default_factory=dict)
    redis_ok: bool = True
    live_collectors: int | None = None

    @property
    def more(self) -> int:
        shown_active = sum(1 for j in self.jobs if j.is_active)
        return max(0, self.outside_total - shown_active)

    @property
    def polling(self) -> bool:
        return bool(self.jobs) or bool(self.runs) or not self.redis_ok

    @property
    def waiting_without_collector(self) -> bool:
        return self.active_total > 0 and self.live_collectors == 0

    @property
    def more_runs(self) -> int:
        return max(0, self.runs_going - sum(1 for view, _name in self.runs if view.active))


def banner_state() -> BannerState:
    svc = services.get()
    runs, runs_going = svc.watchlists.live_runs(RECENT_SECONDS, limit=SHOWN)
    room = max(1, SHOWN - len(runs))
    active, total = svc.jobs.active(limit=room, outside_runs=True)
    jobs = list(active)
    if len(jobs) < room:
        jobs += svc.jobs.recently_finished(RECENT_SECONDS, limit=room - len(jobs), outside_runs=True)
    in_runs = sum(view.active for view, _name in runs) if runs_going <= len(runs) else svc.jobs.active(0)[1] - total
    state = BannerState(jobs=jobs, runs=runs, runs_going=runs_going, active_total=total + in_runs, outside_total=total)
    try:
        svc.redis.ping()  # say so even when no job is active: submits would only be saved
        state.events = svc.queue.last_events([j.id for j in jobs if j.is_active])
        state.live_collectors = svc.registry.live_count() if state.active_total else None
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
