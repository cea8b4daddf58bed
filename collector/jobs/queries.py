"""Reading jobs: one job, a tab of the jobs list, counts per state, the active ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from collector.store import ACTIVE_STATUSES, FINISHED_STATUSES, Database, Job, JobStatus, Page
from collector.timespec import utcnow


@dataclass(frozen=True)
class Tab:
    name: str
    label: str
    statuses: tuple[str, ...]


TABS: dict[str, Tab] = {tab.name: tab for tab in (
    Tab("running", "Running", tuple(ACTIVE_STATUSES)),
    Tab("completed", "Completed", (JobStatus.COMPLETED,)),
    Tab("failed", "Failed", (JobStatus.FAILED,)),
    Tab("cancelled", "Cancelled", (JobStatus.CANCELLED,)),
    Tab("all", "All", tuple(JobStatus)),
)}


# `run_id + 0` cannot use the run_id index, which keeps the planner on the (status, id) and
# finished_at indexes: on a busy install most jobs belong to runs, and an index on run_id
# would read all of them to find the few active ones (the banner asks every second).
IN_A_RUN = (Job.run_id + 0).is_not(None)
IN_NO_RUN = (Job.run_id + 0).is_(None)


@dataclass(frozen=True)
class JobFilter:
    """What the jobs list is narrowed to (besides its tab): the same for listing, counting
    and the bulk actions, so "retry every failed job shown" means exactly those."""

    symbol: str | None = None
    source: str | None = None
    run_id: int | None = None
    watchlist_id: int | None = None

    def conditions(self, tab: str = "all") -> list:
        conditions = []
        if tab != "all":
            conditions.append(Job.status.in_(TABS[tab].statuses))
        if self.symbol:
            conditions.append(Job.symbol == self.symbol.upper())
        if self.source:
            conditions.append(Job.source == self.source)
        if self.run_id is not None:
            conditions.append(Job.run_id == self.run_id)
        if self.watchlist_id is not None:
            conditions.append(Job.watchlist_id == self.watchlist_id)
        return conditions


class JobQueries:
    def __init__(self, db: Database):
        self.db = db

    def get(self, job_id: int) -> Job | None:
        with self.db.read() as session:
            return session.get(Job, job_id)

    def list(self, tab: str = "all", *, page: int = 1, per_page: int = 50,
             symbol: str | None = None, source: str | None = None, run_id: int | None = None) -> Page[Job]:
        """One page of a tab, newest first, optionally filtered by symbol, source and run."""
        conditions = JobFilter(symbol, source, run_id).conditions(tab)
        with self.db.read() as session:
            total = session.scalar(select(func.count()).select_from(Job).where(*conditions)) or 0
            items = session.scalars(select(Job).where(*conditions).order_by(Job.id.desc())
                                    .offset((page - 1) * per_page).limit(per_page)).all()
        return Page(list(items), total, page, per_page)

    def counts(self, where: JobFilter | None = None) -> dict[str, int]:
        """Jobs per status (matching `where`), every status present."""
        conditions = where.conditions() if where else []
        with self.db.read() as session:
            rows = session.execute(select(Job.status, func.count()).where(*conditions).group_by(Job.status)).all()
        counts = {status.value: 0 for status in JobStatus}
        counts.update({status: n for status, n in rows})
        return counts

    def tab_counts(self) -> dict[str, int]:
        """Jobs per tab of the jobs list."""
        counts = self.counts()
        return {tab.name: sum(counts[s] for s in tab.statuses) for tab in TABS.values()}

    def active(self, limit: int = 3, *, outside_runs: bool = False) -> tuple[list[Job], int]:
        """The oldest active jobs (running first) and how many are active in all; with
        `outside_runs`, only jobs that are no part of a watchlist's run."""
        where = [Job.status.in_(ACTIVE_STATUSES)] + ([IN_NO_RUN] if outside_runs else [])
        with self.db.read() as session:
            total = session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
            items = session.scalars(select(Job).where(*where).order_by(Job.status.desc(), Job.id).limit(limit)).all()
        return list(items), total

    def recently_finished(self, seconds: float, limit: int, *, outside_runs: bool = False) -> list[Job]:
        """Jobs that finished in the last `seconds`, newest first."""
        since = utcnow() - timedelta(seconds=seconds)
        # `status || ''`: on the finished_at index (the status index would read every finished job)
        where = [Job.finished_at > since, (Job.status + "").in_(FINISHED_STATUSES)]
        where += [IN_NO_RUN] if outside_runs else []
        with self.db.read() as session:
            return list(session.scalars(select(Job).where(*where).order_by(Job.finished_at.desc()).limit(limit)))
