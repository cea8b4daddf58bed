"""Tables of watchlists and their runs (collector/schedules): which series to keep current,
and one row per run, unique per watchlist and slot."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from collector.i18n import restore

from .models import Base


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
    # What note and problems were made from, to show them in the reader's language (collector.i18n).
    note_i18n: Mapped[dict[str, Any] | None]
    problems_i18n: Mapped[dict[str, Any] | None]
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]

    @property
    def note_message(self) -> str | None:
        """The note as the web app shows it, in the reader's language (older rows: as stored)."""
        return restore(self.note, self.note_i18n)

    @property
    def problem_messages(self) -> dict[str, str]:
        """Symbol -> why it has no job, in the reader's language where it was kept."""
        kept = self.problems_i18n or {}
        return {symbol: restore(why, kept.get(symbol)) for symbol, why in (self.problems or {}).items()}

    __table_args__ = (
        UniqueConstraint("watchlist_id", "slot", name="uq_watchlist_runs_slot"),
        Index("ix_watchlist_runs_watchlist_number", "watchlist_id", "number"),
        {"sqlite_autoincrement": True},  # a deleted run's id is never handed out again
    )
