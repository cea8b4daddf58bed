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


class JobQueries:
    def __init__(self, db: Database):
        self.db = db

    def get(self, job_id: int) -> Job | None:
        with self.db.read() as session:
            return session.get(Job, job_id)

    def list(self, tab: str = "all", *, page: int = 1, per_page: int = 50,
             symbol: str | None = None, source: str | None = None) -> Page[Job]:
        """One page of a tab, newest first, optionally filtered by symbol and source."""
        conditions = []
        if tab != "all":
            conditions.append(Job.status.in_(TABS[tab].statuses))
        if symbol:
            conditions.append(Job.symbol == symbol.upper())
        if source:
            conditions.append(Job.source == source)
        with self.db.read() as session:
            total = session.scalar(select(func.count()).select_from(Job).where(*conditions)) or 0
            items = session.scalars(select(Job).where(*conditions).order_by(Job.id.desc())
                                    .offset((page - 1) * per_page).limit(per_page)).all()
        return Page(list(items), total, page, per_page)

    def counts(self) -> dict[str, int]:
        """Jobs per status, every status present."""
        with self.db.read() as session:
            rows = session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
        counts = {status.value: 0 for status in JobStatus}
        counts.update({status: n for status, n in rows})
        return counts

    def tab_counts(self) -> dict[str, int]:
        """Jobs per tab of the jobs list."""
        counts = self.counts()
        return {tab.name: sum(counts[s] for s in tab.statuses) for tab in TABS.values()}

    def active(self, limit: int = 3) -> tuple[list[Job], int]:
        """The oldest active jobs (running first) and how many are active in all."""
        with self.db.read() as session:
            total = session.scalar(select(func.count()).select_from(Job)
                                   .where(Job.status.in_(ACTIVE_STATUSES))) or 0
            items = session.scalars(select(Job).where(Job.status.in_(ACTIVE_STATUSES))
                                    .order_by(Job.status.desc(), Job.id).limit(limit)).all()
        return list(items), total

    def recently_finished(self, seconds: float, limit: int) -> list[Job]:
        """Jobs that finished in the last `seconds`, newest first."""
        since = utcnow() - timedelta(seconds=seconds)
        with self.db.read() as session:
            return list(session.scalars(select(Job).where(Job.finished_at > since, Job.status.in_(FINISHED_STATUSES))
                                        .order_by(Job.finished_at.desc()).limit(limit)))
