"""Database tables: jobs, series and bars (SQLAlchemy 2, typed).

Bars are stored per series: `series` names (source, symbol, interval, kind) once and
`bars` is keyed by (series_id, ts) with ts in epoch seconds UTC. That is the logical key
(source, symbol, interval, kind, ts) without repeating four strings on every row, which
keeps the table small and the bulk upsert fast on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
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

from collector.i18n import restore


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
    suspect_bars: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # flagged by quality checks
    error: Mapped[str | None] = mapped_column(Text)  # English, as the JSON API and the CLI show it
    error_i18n: Mapped[dict[str, Any] | None]  # what `error` was made from, to show it translated
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
    def error_message(self) -> str | None:
        """The error as the web app shows it, in the reader's language (older rows: as stored)."""
        return restore(self.error, self.error_i18n)

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
        # Ids are never handed out twice (SQLite would reuse them after a cleanup): other
        # tables keep naming a job after it is gone.
        {"sqlite_autoincrement": True},
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
    # "The source revised its history": the overlap check of an incremental job found stored
    # bars that differ from what the source now sends. Cleared when `recollect_job_id` completes.
    revised_at: Mapped[datetime | None]
    revised_job_id: Mapped[int | None]
    revised_bars: Mapped[int | None]
    revised_from_ts: Mapped[int | None] = mapped_column(BigInteger)
    recollect_job_id: Mapped[int | None]

    __table_args__ = (
        UniqueConstraint("source", "symbol", "interval", "kind", name="uq_series_key"),
        # Every completed job asks whether it was a series' re-collect: answered by the index.
        Index("ix_series_recollect_job_id", "recollect_job_id"),
    )


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
    # Quality checks that found the bar suspect, one bit each (collector.quality); 0 = clean.
    flags: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")

    # Clustered on the key in SQLite: the upsert's lookups and range reads hit one b-tree.
    # The partial index holds only suspect bars, so finding them costs nothing for clean series.
    __table_args__ = (
        Index("ix_bars_flagged", "series_id", "ts", sqlite_where=text("flags != 0"),
              postgresql_where=text("flags != 0")),
        {"sqlite_with_rowid": False},
    )


class CorporateAction(Base):
    """The ledger: a split or dividend of one symbol as one source reported it."""

    __tablename__ = "corporate_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    symbol: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(12))  # "split" or "dividend"
    ex_date: Mapped[date] = mapped_column(Date)
    # Exchange-local midnight of ex_date (epoch s): intraday bars before it are "earlier".
    starts_at: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float] = mapped_column(Float)  # split: new shares per old (4.0 = 4:1); dividend: amount
    first_seen_at: Mapped[datetime]
    first_seen_job_id: Mapped[int | None]

    __table_args__ = (UniqueConstraint("source", "symbol", "kind", "ex_date", name="uq_corporate_action"),)


class SeriesAction(Base):
    """A ledger entry a series has been brought in line with (or had no earlier bars for)."""

    __tablename__ = "series_actions"

    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("corporate_actions.id", ondelete="CASCADE"), primary_key=True)
    job_id: Mapped[int | None]
    method: Mapped[str] = mapped_column(String(12))  # "refetch", "ratio", "both" or "none"
    bars: Mapped[int] = mapped_column(BigInteger, default=0)  # earlier bars whose values changed
    kept: Mapped[int] = mapped_column(BigInteger, default=0)  # earlier bars nobody could bring in line
    at: Mapped[datetime]
