"""Reading jobs: one job, a tab of the jobs list, counts per state, the active ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import asc, case, desc, func, select

from collector.i18n import N_
from collector.parse import upper_ascii
from collector.store import ACTIVE_STATUSES, Database, Job, JobStatus, Page
from collector.timespec import utcnow


@dataclass(frozen=True)
class Tab:
    name: str
    label: str
    statuses: tuple[str, ...]


TABS: dict[str, Tab] = {tab.name: tab for tab in (
    Tab("running", N_("Running"), tuple(ACTIVE_STATUSES)),
    Tab("completed", N_("Completed"), (JobStatus.COMPLETED,)),
    Tab("failed", N_("Failed"), (JobStatus.FAILED,)),
    Tab("cancelled", N_("Cancelled"), (JobStatus.CANCELLED,)),
    Tab("all", N_("All"), tuple(JobStatus)),
)}

# Running jobs before pending ones, then the rest (a state's rank, for sorting by state).
_STATE_RANK = case({JobStatus.RUNNING: 0, JobStatus.PENDING: 1, JobStatus.FAILED: 2, JobStatus.CANCELLED: 3},
                   value=Job.status, else_=4)
# What the jobs list can be sorted by; the job number breaks ties (newest first).
JOB_SORTS = {"id": Job.id, "symbol": Job.symbol, "state": _STATE_RANK, "submitted": Job.created_at,
             "started": Job.started_at, "finished": Job.finished_at, "duration": Job.duration_s}


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
        if self.symbol:  # a prefix: "AA" finds AAPL
            conditions.append(Job.symbol.startswith(upper_ascii(self.symbol), autoescape=True))
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

    def cancel_requested(self, job_id: int) -> bool:
        """Whether someone asked to cancel the job: one primary-key read, for a waiting collector."""
        with self.db.read() as session:
            return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))

    def list(self, tab: str = "all", *, page: int = 1, per_page: int = 50, symbol: str | None = None,
             source: str | None = None, run_id: int | None = None, sort: str | None = None,
             descending: bool = True) -> Page[Job]:
        """One page of a tab, optionally filtered (symbol: a prefix, "AA" finds AAPL; a run) and
        sorted by a JOB_SORTS key. By default newest first, and on the Running tab running before pending."""
        conditions = JobFilter(symbol, source, run_id).conditions(tab)
        order = [] if sort is None else [(desc if descending else asc)(JOB_SORTS[sort]).nulls_last()]
        if sort is None and tab == "running":
            order.append(_STATE_RANK)
        order.append(Job.id.desc() if descending or sort is None else Job.id.asc())
        with self.db.read() as session:
            total = session.scalar(select(func.count()).select_from(Job).where(*conditions)) or 0
            items = session.scalars(select(Job).where(*conditions).order_by(*order)
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

    def tab_counts(self, *, symbol: str | None = None, source: str | None = None,
                   run_id: int | None = None) -> dict[str, int]:
        """Jobs per tab of the jobs list, counting only those matching the filters."""
        counts = self.counts(JobFilter(symbol, source, run_id))
        return {tab.name: sum(counts[s] for s in tab.statuses) for tab in TABS.values()}

    def unseen_failures(self, limit: int = 3, *, count_up_to: int = 100,
                        outside_runs: bool = False) -> tuple[list[Job], int]:
        """Failed jobs nobody has dismissed yet (newest first, up to `limit`; with `outside_runs`
        none of a watchlist run's, which its run's line counts), and how many there are in all,
        counted up to `count_up_to` (the banner asks every second; "99+" says enough)."""
        where = (Job.status == JobStatus.FAILED, Job.dismissed_at.is_(None))
        with self.db.read() as session:
            items = list(session.scalars(select(Job).where(*where, *([IN_NO_RUN] if outside_runs else []))
                                         .order_by(Job.id.desc()).limit(limit)))
            total = len(items)
            if total == limit or outside_runs:
                some = select(Job.id).where(*where).limit(count_up_to).subquery()
                total = session.scalar(select(func.count()).select_from(some)) or 0
        return items, total

    def retries_of(self, job_id: int) -> list[Job]:
        """The jobs submitted as retries of this one, oldest first."""
        with self.db.read() as session:
            return list(session.scalars(select(Job).where(Job.retry_of == job_id).order_by(Job.id)))

    def active(self, limit: int = 3, *, outside_runs: bool = False) -> tuple[list[Job], int]:
        """The oldest active jobs (running first) and how many are active in all; with
        `outside_runs`, only jobs that are no part of a watchlist's run."""
        where = [Job.status.in_(ACTIVE_STATUSES)] + ([IN_NO_RUN] if outside_runs else [])
        with self.db.read() as session:
            items = list(session.scalars(select(Job).where(*where).order_by(Job.status.desc(), Job.id).limit(limit)))
            if len(items) < limit:  # all of them: no need to count (the banner asks every second)
                return items, len(items)
            total = session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
        return items, total

    def recently_finished(self, seconds: float, limit: int, *, exclude: tuple[int, ...] = (),
                          outside_runs: bool = False) -> list[Job]:
        """Jobs that finished in the last `seconds`, newest first (but for `exclude`, and with
        `outside_runs` but for the jobs of watchlist runs).

        Only finished_at is asked in SQL (only a finished job has one): a condition on status
        too lets SQLite prefer a status index and read every finished job (~70 ms at 100,000)."""
        since = utcnow() - timedelta(seconds=seconds)
        where = [Job.finished_at > since] + ([IN_NO_RUN] if outside_runs else [])
        with self.db.read() as session:
            jobs = session.scalars(select(Job).where(*where)
                                   .order_by(Job.finished_at.desc()).limit(limit + len(exclude)))
            return [job for job in jobs if job.is_finished and job.id not in exclude][:limit]

    def many(self, job_ids: list[int]) -> list[Job]:
        """These jobs (those that exist), by number."""
        with self.db.read() as session:
            return list(session.scalars(select(Job).where(Job.id.in_(job_ids)).order_by(Job.id))) if job_ids else []
