"""The global banner: active jobs with live progress on every page, the failures nobody has
dismissed yet, and the jobs that just finished. The jobs of a watchlist's run are one line
for the run ("run #12 of tech: 48 of 50 completed, 2 failed"), not one per job.

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
    active_total: int = 0  # every active job, a run's too (for "no collector is running")
    failed_total: int = 0
    runs: list = field(default_factory=list)  # (RunView, watchlist name): going, or just finished
    runs_going: int = 0
    outside_total: int = 0  # active jobs that are no part of a run (the ones shown one per line)
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
        return max(0, self.outside_total - len(self.active))

    @property
    def more_runs(self) -> int:
        return max(0, self.runs_going - sum(1 for view, _name in self.runs if view.active))

    @property
    def polling(self) -> bool:
        return bool(self.active or self.recent or self.runs) or not self.redis_ok

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
    runs, runs_going = svc.watchlists.live_runs(RECENT_SECONDS, limit=SHOWN)
    room = max(1, SHOWN - len(runs))
    active, total = svc.jobs.active(limit=room, outside_runs=True)
    failures, failed_total = svc.jobs.unseen_failures(limit=SHOWN, outside_runs=True)
    in_runs = sum(view.active for view, _name in runs) if runs_going <= len(runs) else svc.jobs.active(0)[1] - total
    state = BannerState(active=active, failures=failures, active_total=total + in_runs, failed_total=failed_total,
                        runs=runs, runs_going=runs_going, outside_total=total)
    if len(active) < room:
        recent = svc.jobs.recently_finished(RECENT_SECONDS, limit=room, exclude=tuple(j.id for j in failures),
                                            outside_runs=True)
        state.recent = [j for j in recent if j.status != "FAILED" or j.dismissed_at is None][:room - len(active)]
    before = {int(job_id): letter for job_id, letter in _SEEN.findall(seen or "")}
    state.changes = [j for j in state.jobs if j.id in before and before[j.id] != j.status[0]]
    try:
        svc.redis.ping()  # say so even when no job is active: submits would only be saved
        state.events = svc.queue.last_events([j.id for j in active])
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
    """The banner fragment htmx polls (with the failure count and announcements out of band)."""
    state = banner_state(request.args.get("seen", "")[:400])
    response = make_response(render_template("_banner.html", banner=state, oob=True))
    response.headers["Cache-Control"] = "no-store"
    return response
