"""The watchlist manager: what people (web, curl, CLI) do with watchlists — create, edit,
list, run now, pause, resume, delete — and what their pages read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from collector.i18n import N_, message_data
from collector.jobs import JobFilter, JobManager, ValidationError
from collector.jobs.queries import IN_A_RUN
from collector.settings import Settings
from collector.store import ACTIVE_STATUSES, Job, Page, RunStatus, Watchlist, WatchlistRun
from collector.timespec import utcnow

from . import runs, status, validation
from .timing import Schedule

RUNS_SHOWN = 20
SERIES_PER_PAGE = 100  # a symbol's gaps read all its bar times: a page of them at a time


@dataclass(frozen=True)
class Deleted:
    watchlist: Watchlist
    cancelled: int  # pending jobs cancelled at once
    stopping: int  # running jobs that stop after their current chunk


class WatchlistManager:
    def __init__(self, jobs: JobManager, settings: Settings):
        self.jobs, self.db, self.settings = jobs, jobs.db, settings

    # --- reading ------------------------------------------------------------------------
    def list(self) -> list[Watchlist]:
        with self.db.read() as session:
            return list(session.scalars(select(Watchlist).where(Watchlist.deleted_at.is_(None))
                                        .order_by(Watchlist.name)))

    def get(self, watchlist_id: int) -> Watchlist | None:
        with self.db.read() as session:
            found = session.get(Watchlist, watchlist_id)
        return found if found is not None and found.deleted_at is None else None

    def find(self, name_or_id: str) -> Watchlist | None:
        """By name (exactly, then ignoring case) or by number, for the command line."""
        text = name_or_id.strip()
        lists = self.list()
        for match in (lambda w: w.name == text, lambda w: w.name.lower() == text.lower(),
                      lambda w: text.isdigit() and w.id == int(text)):
            found = next((w for w in lists if match(w)), None)
            if found is not None:
                return found
        return None

    def schedule(self, watchlist: Watchlist) -> Schedule:
        return Schedule(**{**watchlist.schedule, "minute_s": self.settings.schedule_minute_seconds})

    def next_run(self, watchlist: Watchlist, now: datetime | None = None) -> datetime | None:
        if watchlist.paused:
            return None
        now = max(now or utcnow(), watchlist.schedule_since)
        return self.schedule(watchlist).following(now)

    def runs(self, watchlist_id: int, limit: int = RUNS_SHOWN) -> list[runs.RunView]:
        """The newest runs first, with how their jobs fare."""
        with self.db.read() as session:
            rows = list(session.scalars(select(WatchlistRun).where(WatchlistRun.watchlist_id == watchlist_id)
                                        .order_by(WatchlistRun.number.desc()).limit(limit)))
            return runs.views(session, rows)

    def run(self, run_id: int) -> runs.RunView | None:
        with self.db.read() as session:
            row = session.get(WatchlistRun, run_id)
            return runs.views(session, [row])[0] if row is not None else None

    def live_runs(self, recent_s: float, limit: int = 3) -> tuple[list[tuple[runs.RunView, str]], int]:
        """Runs with unfinished jobs, then runs that finished in the last `recent_s` seconds,
        each with its watchlist's name (for the banner), and how many runs are going."""
        since = utcnow() - timedelta(seconds=recent_s)
        with self.db.read() as session:
            going = set(session.scalars(select(Job.run_id).where(Job.status.in_(ACTIVE_STATUSES), IN_A_RUN)
                                        .distinct()))
            # `run_id + 0`: on the finished_at index, not a walk of the run_id index
            ended = set(session.scalars(select(Job.run_id + 0).where(Job.finished_at > since, IN_A_RUN)
                                        .distinct().limit(limit * 4))) - going
            if not going and not ended:
                return [], 0  # the common case on every banner poll: no run to show
            rows = list(session.scalars(select(WatchlistRun).where(WatchlistRun.id.in_(going | ended))
                                        .order_by(WatchlistRun.id)))
            names = dict(session.execute(select(Watchlist.id, Watchlist.name).where(
                Watchlist.id.in_({r.watchlist_id for r in rows}))).all())
            shown = [v for v in runs.views(session, rows) if v.active or (v.finished_at and v.finished_at > since)]
        shown.sort(key=lambda v: (not v.active, v.run.id))
        return [(v, names.get(v.run.watchlist_id, "?")) for v in shown[:limit]], len(going)

    def series(self, watchlist: Watchlist, now: datetime | None = None, *, page: int = 1,
               per_page: int = SERIES_PER_PAGE) -> Page[status.SymbolState]:
        """How current each symbol is, one page of the watchlist's symbols at a time."""
        symbols = watchlist.symbols[(page - 1) * per_page:page * per_page]
        states = status.states(self.jobs, watchlist, symbols, now or utcnow())
        return Page(states, len(watchlist.symbols), page, per_page)

    # --- changing -----------------------------------------------------------------------
    def validate(self, fields: Mapping[str, Any]) -> validation.WatchlistSpec:
        return validation.validate(fields, self.jobs.sources.get, max_bars=self.jobs.settings.max_bars_per_submit)

    def create(self, fields: Mapping[str, Any]) -> Watchlist:
        spec = self.validate(fields)
        now = utcnow()
        watchlist = Watchlist(**_columns(spec), paused=False, schedule_since=now, created_at=now, updated_at=now)
        try:
            with self.db.write() as session:
                session.add(watchlist)
        except IntegrityError:
            raise ValidationError({"name": N_("A watchlist called {name!r} already exists: choose another name.",
                                                 name=spec.name)})
        return watchlist

    def update(self, watchlist_id: int, fields: Mapping[str, Any]) -> Watchlist:
        """Change everything; a changed schedule counts its slots from now on."""
        spec = self.validate(fields)
        current = self._existing(watchlist_id)
        values = dict(_columns(spec), updated_at=utcnow())
        if spec.schedule != current.schedule:
            values["schedule_since"] = utcnow()
        try:
            with self.db.write() as session:
                session.execute(update(Watchlist).where(Watchlist.id == watchlist_id).values(**values))
        except IntegrityError:
            raise ValidationError({"name": N_("A watchlist called {name!r} already exists: choose another name.",
                                                 name=spec.name)})
        return self._existing(watchlist_id)

    def run_now(self, watchlist_id: int) -> runs.RunView:
        """A run at once, paused or not (it waits while the previous run is still going)."""
        self._existing(watchlist_id)
        for _ in range(3):  # two clicks in the same microsecond would ask for the same slot
            started = runs.start(self.jobs, watchlist_id, utcnow(), trigger="manual")
            if started is not None:
                return self.run(started.run.id)
        raise LookupError(watchlist_id)

    def pause(self, watchlist_id: int) -> Watchlist:
        """No scheduled run until resumed; a run in progress finishes, a waiting one is skipped."""
        self._existing(watchlist_id)
        with self.db.write() as session:
            session.execute(update(Watchlist).where(Watchlist.id == watchlist_id)
                            .values(paused=True, updated_at=utcnow()))
            _skip_waiting(session, watchlist_id, N_("Skipped: the watchlist was paused."))
        return self._existing(watchlist_id)

    def resume(self, watchlist_id: int) -> Watchlist:
        """Scheduled again from now on (slots missed while paused are not caught up)."""
        self._existing(watchlist_id)
        with self.db.write() as session:
            session.execute(update(Watchlist).where(Watchlist.id == watchlist_id)
                            .values(paused=False, schedule_since=utcnow(), updated_at=utcnow()))
        return self._existing(watchlist_id)

    def delete(self, watchlist_id: int) -> Deleted:
        """Gone from the lists and the scheduler; its unfinished jobs are cancelled (running
        ones after their current chunk). Stored bars and finished jobs stay."""
        watchlist = self._existing(watchlist_id)
        with self.db.write() as session:
            session.execute(update(Watchlist).where(Watchlist.id == watchlist_id).values(deleted_at=utcnow()))
            _skip_waiting(session, watchlist_id, N_("Skipped: the watchlist was deleted."))
        at_once, stopping = self.jobs.cancel_matching(JobFilter(watchlist_id=watchlist_id))
        return Deleted(watchlist, at_once, stopping)

    def unfinished_jobs(self, watchlist_id: int) -> int:
        counts = self.jobs.counts(JobFilter(watchlist_id=watchlist_id))
        return counts["PENDING"] + counts["RUNNING"]

    def _existing(self, watchlist_id: int) -> Watchlist:
        found = self.get(watchlist_id)
        if found is None:
            raise LookupError(watchlist_id)
        return found


def _columns(spec: validation.WatchlistSpec) -> dict[str, Any]:
    return dict(name=spec.name, symbols=spec.symbols, source=spec.source, interval=spec.interval, kind=spec.kind,
                options=spec.options, period=spec.period, start=spec.start, schedule=spec.schedule)


def _skip_waiting(session, watchlist_id: int, note: str) -> None:
    session.execute(update(WatchlistRun).where(WatchlistRun.watchlist_id == watchlist_id,
                                               WatchlistRun.status == RunStatus.WAITING)
                    .values(status=RunStatus.SKIPPED, note=str(note), note_i18n=message_data(note)))

