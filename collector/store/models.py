"""Database tables: jobs, series and bars (SQLAlchemy 2, typed).

Bars are stored per series: `series` names (source, symbol, interval, kind) once and
`bars` is keyed by (series_id, ts) with ts in epoch seconds UTC. That is the logical key
(source, symbol, interval, kind, ts) without repeating four strings on every row, which
keeps the table small and the bulk upsert fast on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC, whatever the database does with zones."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class JobStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING)
FINISHED_STATUSES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class seconds_between(FunctionElement):
    """SQL for `later - earlier` in seconds, however the database subtracts times."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between, "postgresql")
def _seconds_pg(element, compiler, **kw):
    earlier, later = element.clauses
    return f"EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)}))"


@compiles(seconds_between)
def _seconds_sqlite(element, compiler, **kw):
    earlier, later = element.clauses
    return f"((julianday({compiler.process(later, **kw)}) - julianday({compiler.process(earlier, **kw)})) * 86400.0)"


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    symbol: Mapped[str] = mapped_column(String(32))
    interval: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(32))
    start: Mapped[datetime]
    end: Mapped[datetime]
    period: Mapped[str | None] = mapped_column(String(8))  # preset the person chose, if any
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default=JobStatus.PENDING)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    checkpoint: Mapped[dict[str, Any] | None]
    rows_new: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_updated: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_unchanged: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    collector: Mapped[str | None] = mapped_column(String(128))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]  # set once the queue entry exists (outbox)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    request_key: Mapped[str] = mapped_column(String(64))  # hash of what was asked, for de-duplication
    retry_of: Mapped[int | None] = mapped_column(Integer)  # the job this one repeats (Retry)
    dismissed_at: Mapped[datetime | None]  # a failure someone has seen: off the banner and the count
    # Set on the jobs of a watchlist's run. Plain numbers, not foreign keys: a job outlives
    # its run in the history, and retention removes runs on their own schedule.
    run_id: Mapped[int | None] = mapped_column(Integer)
    watchlist_id: Mapped[int | None] = mapped_column(Integer)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @hybrid_property
    def duration_s(self) -> float | None:
        """Seconds from start to finish (to now while it runs); None before it started."""
        if self.started_at is None:
            return None
        end = self.finished_at or datetime.now(timezone.utc)
        return max(0.0, (end - self.started_at).total_seconds())

    @duration_s.inplace.expression
    @classmethod
    def _duration_s_sql(cls):
        return seconds_between(cls.started_at, cls.finished_at)

    __table_args__ = (
        Index("ix_jobs_status_id", "status", "id"),
        Index("ix_jobs_finished_at", "finished_at"),
        Index("ix_jobs_retry_of", "retry_of"),
        Index("ix_jobs_status_dismissed", "status", "dismissed_at"),  # the banner's failure count
        Index("ix_jobs_run_id", "run_id", "symbol"),
        Index("ix_jobs_watchlist_symbol", "watchlist_id", "symbol"),
        # At most one active job per request, even with several web workers racing.
        Index("uq_jobs_active_request", "request_key", unique=True,
              sqlite_where=text("status IN ('PENDING', 'RUNNING')"),
              postgresql_where=text("status IN ('PENDING', 'RUNNING')")),
    )


class Series(Base):
    __tablename__ = "series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    symbol: Mapped[str] = mapped_column(String(32))
    interval: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(32))
    bar_count: Mapped[int] = mapped_column(BigInteger, default=0)
    first_ts: Mapped[int | None] = mapped_column(BigInteger)
    last_ts: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime | None]
    # The gap summary, computed from the bar times when first asked for and cleared when new
    # bars arrive (store.upsert), so listing series never reads their bars. None: not known.
    gap_method: Mapped[str | None] = mapped_column(String(8))
    gap_count: Mapped[int | None] = mapped_column(BigInteger)
    gap_missing: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("source", "symbol", "interval", "kind", name="uq_series_key"),)


class Bar(Base):
    __tablename__ = "bars"

    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # bar start, epoch seconds UTC
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    volume: Mapped[float] = mapped_column(Float)
    wap: Mapped[float | None] = mapped_column(Float)
    trades: Mapped[int | None] = mapped_column(BigInteger)

    # Clustered on the key in SQLite: the upsert's lookups and range reads hit one b-tree.
    __table_args__ = {"sqlite_with_rowid": False}


class Watchlist(Base):
    """Series to keep current: symbols of one source and interval, and when to update them."""

    __tablename__ = "watchlists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    symbols: Mapped[list[str]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16))
    interval: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(32))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    period: Mapped[str | None] = mapped_column(String(8))  # how far back the first run goes, or:
    start: Mapped[datetime | None]
    schedule: Mapped[dict[str, Any]] = mapped_column(default=dict)  # timing.Schedule's fields
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    schedule_since: Mapped[datetime]  # slots before this never run (created, edited, resumed)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]  # kept for the history of its runs and jobs

    __table_args__ = (
        Index("uq_watchlists_name", "name", unique=True, sqlite_where=text("deleted_at IS NULL"),
              postgresql_where=text("deleted_at IS NULL")),
    )


class RunStatus(StrEnum):
    WAITING = "WAITING"  # its slot came while the previous run was still going
    SKIPPED = "SKIPPED"  # another slot came while it waited, or its watchlist was paused or deleted
    STARTED = "STARTED"  # jobs submitted; how they fare is read from the jobs


class WatchlistRun(Base):
    """One run of a watchlist. The unique (watchlist, slot) row is what makes every
    scheduled slot run once, whatever the number of collectors and whatever Redis loses."""

    __tablename__ = "watchlist_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("watchlists.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # run #12 of this watchlist
    slot: Mapped[datetime]  # the scheduled time; for Run now, the time it was asked
    trigger: Mapped[str] = mapped_column(String(12))  # schedule | manual
    late: Mapped[bool] = mapped_column(Boolean, default=False)  # a catch-up after missed slots
    status: Mapped[str] = mapped_column(String(12))
    total: Mapped[int] = mapped_column(Integer, default=0)  # symbols
    note: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[dict[str, Any]] = mapped_column(default=dict)  # symbol -> why no job
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("watchlist_id", "slot", name="uq_watchlist_runs_slot"),
        Index("ix_watchlist_runs_watchlist_number", "watchlist_id", "number"),
    )
