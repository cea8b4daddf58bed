"""Reading jobs: one job, a tab of the jobs list, counts per state, the active ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import asc, case, desc, func, select

from collector.parse import upper_ascii
from collector.store import ACTIVE_STATUSES, Database, Job, JobStatus, Page
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

# Running jobs before pending ones, then the rest (a state's rank, for sorting by state).
_STATE_RANK = case({JobStatus.RUNNING: 0, JobStatus.PENDING: 1, JobStatus.FAILED: 2, JobStatus.CANCELLED: 3},
                   value=Job.status, else_=4)
# What the jobs list can be sorted by; the job number breaks ties (newest first).
JOB_SORTS = {"id": Job.id, "symbol": Job.symbol, "state": _STATE_RANK, "submitted": Job.created_at,
             "started": Job.started_at, "finished": Job.finished_at, "duration": Job.duration_s}


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
             source: str | None = None, sort: str | None = None, descending: bool = True) -> Page[Job]:
        """One page of a tab, optionally filtered (symbol: a prefix, "AA" finds AAPL) and sorted
        by a JOB_SORTS key. By default newest first, and on the Running tab running before pending."""
        conditions = _filters(symbol, source)
        if tab != "all":
            conditions.append(Job.status.in_(TABS[tab].statuses))
        order = [] if sort is None else [(desc if descending else asc)(JOB_SORTS[sort]).nulls_last()]
        if sort is None and tab == "running":
            order.append(_STATE_RANK)
        order.append(Job.id.desc() if descending or sort is None else Job.id.asc())
        with self.db.read() as session:
            total = session.scalar(select(func.count()).select_from(Job).where(*conditions)) or 0
            items = session.scalars(select(Job).where(*conditions).order_by(*order)
                                    .offset((page - 1) * per_page).limit(per_page)).all()
        return Page(list(items), total, page, per_page)

    def counts(self, *, symbol: str | None = None, source: str | None = None) -> dict[str, int]:
        """Jobs per status (matching the filters), every status present."""
        with self.db.read() as session:
            rows = session.execute(select(Job.status, func.count()).where(*_filters(symbol, source))
                                   .group_by(Job.status)).all()
        counts = {status.value: 0 for status in JobStatus}
        counts.update({status: n for status, n in rows})
        return counts

    def tab_counts(self, *, symbol: str | None = None, source: str | None = None) -> dict[str, int]:
        """Jobs per tab of the jobs list, counting only those matching the filters."""
        counts = self.counts(symbol=symbol, source=source)
        return {tab.name: sum(counts[s] for s in tab.statuses) for tab in TABS.values()}

    def unseen_failures(self, limit: int = 3, *, count_up_to: int = 100) -> tuple[list[Job], int]:
        """Failed jobs nobody has dismissed yet (newest first, up to `limit`), and how many there
        are, counted up to `count_up_to` (the banner asks every second; "99+" says enough)."""
        where = (Job.status == JobStatus.FAILED, Job.dismissed_at.is_(None))
        with self.db.read() as session:
            items = list(session.scalars(select(Job).where(*where).order_by(Job.id.desc()).limit(limit)))
            total = len(items)
            if total == limit:
                some = select(Job.id).where(*where).limit(count_up_to).subquery()
                total = session.scalar(select(func.count()).select_from(some)) or 0
        return items, total

    def retries_of(self, job_id: int) -> list[Job]:
        """The jobs submitted as retries of this one, oldest first."""
        with self.db.read() as session:
            return list(session.scalars(select(Job).where(Job.retry_of == job_id).order_by(Job.id)))

    def active(self, limit: int = 3) -> tuple[list[Job], int]:
        """The oldest active jobs (running first) and how many are active in all."""
        with self.db.read() as session:
            items = list(session.scalars(select(Job).where(Job.status.in_(ACTIVE_STATUSES))
                                         .order_by(Job.status.desc(), Job.id).limit(limit)))
            if len(items) < limit:  # all of them: no need to count (the banner asks every second)
                return items, len(items)
            total = session.scalar(select(func.count()).select_from(Job)
                                   .where(Job.status.in_(ACTIVE_STATUSES))) or 0
        return items, total

    def recently_finished(self, seconds: float, limit: int, *, exclude: tuple[int, ...] = ()) -> list[Job]:
        """Jobs that finished in the last `seconds`, newest first (but for `exclude`).

        Only finished_at is asked in SQL (only a finished job has one): a condition on status
        too lets SQLite prefer a status index and read every finished job (~70 ms at 100,000)."""
        since = utcnow() - timedelta(seconds=seconds)
        with self.db.read() as session:
            jobs = session.scalars(select(Job).where(Job.finished_at > since)
                                   .order_by(Job.finished_at.desc()).limit(limit + len(exclude)))
            return [job for job in jobs if job.is_finished and job.id not in exclude][:limit]

    def many(self, job_ids: list[int]) -> list[Job]:
        """These jobs (those that exist), by number."""
        with self.db.read() as session:
            return list(session.scalars(select(Job).where(Job.id.in_(job_ids)).order_by(Job.id))) if job_ids else []


def _filters(symbol: str | None, source: str | None) -> list:
    conditions = []
    if symbol:
        conditions.append(Job.symbol.startswith(upper_ascii(symbol), autoescape=True))
    if source:
        conditions.append(Job.source == source)
    return conditions
