"""The scheduler: a duty collectors run between jobs (no process of its own to start or
watch). On each tick, for every scheduled watchlist that is not paused, it finds the newest
slot that is due and claims it; then it starts the runs that waited for a previous one.

Exactly once comes from the database: a run is a row unique per (watchlist, slot), written
in the same transaction as its jobs, and a scheduled slot older than one already claimed is
never claimed. The Redis lock around the duty (worker/loop.py) only saves repeated work.

After downtime that missed several slots, only the newest is claimed: one catch-up run,
marked late, not one per missed slot. The clock is injected, so tests can be any day.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import func, select

from collector.i18n import N_
from collector.store import RunStatus, Watchlist, WatchlistRun
from collector.timespec import to_utc, utcnow

from . import runs
from .watchlists import WatchlistManager

log = logging.getLogger("mdc.scheduler")

LATE_AFTER = timedelta(seconds=60)  # a slot claimed later than this is marked late


class Scheduler:
    def __init__(self, watchlists: WatchlistManager, name: str, clock: Callable[[], datetime] = utcnow):
        self.watchlists, self.name, self.clock = watchlists, name, clock
        self.db = watchlists.db

    def tick(self) -> list[runs.Started]:
        """Claim every due slot and start every run whose wait is over; what was started."""
        now = self.clock()
        started = []
        for watchlist, last_slot in self._scheduled():
            try:
                result = self._claim_due(watchlist, last_slot, now)
            except LookupError:  # deleted meanwhile
                continue
            if result is not None:
                started.append(result)
        for run in self._waiting():
            try:
                result = runs.start_waiting(self.watchlists.jobs, run)
            except LookupError:
                continue
            if result is not None:
                log.info("watchlist %s: run #%s started (it waited for the previous one)", run.watchlist_id, run.number)
                started.append(result)
        return started

    def _claim_due(self, watchlist: Watchlist, last_slot: datetime | None, now: datetime) -> runs.Started | None:
        schedule = self.watchlists.schedule(watchlist)
        slot = schedule.previous(now)
        if slot is None or slot < watchlist.schedule_since or (last_slot is not None and slot <= last_slot):
            return None
        since = max(watchlist.schedule_since, last_slot) if last_slot else watchlist.schedule_since
        earlier = schedule.previous(slot - timedelta(microseconds=1))
        missed = earlier is not None and earlier > since
        late = missed or now - slot > LATE_AFTER
        note = None
        if missed:
            note = N_("Catch-up: one run for the slots since {since}, missed while no collector ran.",
                      since=_when(since))
        elif late:
            note = N_("Late by {seconds} s (no collector was free at {slot}).",
                      seconds=int((now - slot).total_seconds()), slot=_when(slot))
        result = runs.start(self.watchlists.jobs, watchlist.id, slot, trigger="schedule", late=late,
                            note=note, by=self.name)
        if result is not None:
            log.info("watchlist %s (%s): run #%s for %s%s: %s", watchlist.id, watchlist.name, result.run.number,
                     _when(slot), " (late)" if late else "", result.run.status.lower())
        return result

    def _scheduled(self) -> list[tuple[Watchlist, datetime | None]]:
        """Watchlists that run on a schedule, each with its newest claimed slot."""
        newest = (select(WatchlistRun.watchlist_id, func.max(WatchlistRun.slot).label("slot"))
                  .where(WatchlistRun.trigger == "schedule").group_by(WatchlistRun.watchlist_id).subquery())
        with self.db.read() as session:
            rows = session.execute(select(Watchlist, newest.c.slot)
                                   .outerjoin(newest, newest.c.watchlist_id == Watchlist.id)
                                   .where(Watchlist.deleted_at.is_(None), Watchlist.paused.is_(False))).all()
        out = []
        for watchlist, slot in rows:
            if (watchlist.schedule or {}).get("kind", "none") != "none":
                out.append((watchlist, _aware(slot)))
        return out

    def _waiting(self) -> list[WatchlistRun]:
        with self.db.read() as session:
            return list(session.scalars(select(WatchlistRun).where(WatchlistRun.status == RunStatus.WAITING)
                                        .order_by(WatchlistRun.id)))


def _aware(value: datetime | None) -> datetime | None:
    """A max() over a UTC column comes back without the type's zone on some drivers."""
    return to_utc(value) if value is not None else None


def _when(slot: datetime) -> str:
    return slot.strftime("%Y-%m-%d %H:%M:%S UTC")
