"""The corporate-action ledger and what a series records about it.

Every split and dividend a source reports is kept once per (source, symbol, kind, ex-date),
with when it was first seen and by which job. A series records each entry it has been
brought in line with (`series_actions`): how, how many earlier bars changed, by which job.
A series is also marked when its source revised its history (the overlap check).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from collector.corporate import LedgerEntry, in_bars, ledger_keys
from collector.i18n import join_messages
from collector.notes import action_text, in_line_text
from collector.sources.base import Action
from collector.timespec import utcnow

from .db import driver_sql
from .models import CorporateAction, Series, SeriesAction


@dataclass(frozen=True)
class Applied:
    """A ledger entry as one series recorded it."""

    entry: LedgerEntry
    job_id: int | None
    method: str
    bars: int
    kept: int
    at: datetime


@dataclass(frozen=True)
class ActionView:
    """A split or dividend that speaks for a series, and what the series did about it."""

    entry: LedgerEntry
    text: str
    in_prices: bool  # the stored prices include this kind of action (else the read side applies it)
    applied: Applied | None  # what a job did to bring the series in line (None: nothing yet)


def views(session: Session, series: Series) -> list[ActionView]:
    """The entries that speak for a series, newest first, with what it did about each."""
    done = {a.entry.id: a for a in applied(session, series.id)}
    included = in_bars(series.source, series.kind)
    out = []
    for entry in reversed(entries(session, series.source, series.symbol)):
        mark = done.get(entry.id)
        if mark is not None and mark.method != "none":
            text = in_line_text(entry, mark.method, mark.bars, mark.kept, mark.job_id)
        else:
            text = join_messages([action_text(entry, first=True), "."], "")
        out.append(ActionView(entry, text, entry.kind in included, mark))
    return out


def record(session: Session, source: str, symbol: str, actions: Iterable[Action], job_id: int | None) -> None:
    """Add reported actions to the ledger; ones already there keep their first sighting, and
    take a revised amount or ratio."""
    rows = [dict(source=source, symbol=symbol, kind=a.kind, ex_date=a.ex_date, starts_at=a.starts_at,
                 value=a.value, first_seen_at=utcnow(), first_seen_job_id=job_id) for a in actions]
    if not rows:
        return
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    statement = insert(CorporateAction).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["source", "symbol", "kind", "ex_date"], set_={"value": statement.excluded.value},
        where=CorporateAction.value != statement.excluded.value)
    session.execute(statement)


def entries(session: Session, source: str, symbol: str) -> list[LedgerEntry]:
    """Every ledger entry that speaks for a series of this source and symbol, oldest first."""
    keys = ledger_keys(source, symbol)
    if not keys:
        return []
    where = or_(*(and_(CorporateAction.source == s, CorporateAction.symbol == y) for s, y in keys))
    rows = session.scalars(select(CorporateAction).where(where).order_by(CorporateAction.ex_date, CorporateAction.id))
    # An action reported by two ledgers counts once: the series' own source wins.
    seen: dict[tuple, LedgerEntry] = {}
    for row in sorted(rows, key=lambda r: keys.index((r.source, r.symbol))):
        seen.setdefault((row.kind, row.ex_date), _entry(row))
    return sorted(seen.values(), key=lambda e: (e.ex_date, e.kind))


def applied(session: Session, series_id: int) -> list[Applied]:
    """What the series recorded about ledger entries, oldest ex-date first."""
    rows = session.execute(select(SeriesAction, CorporateAction)
                           .join(CorporateAction, CorporateAction.id == SeriesAction.action_id)
                           .where(SeriesAction.series_id == series_id)
                           .order_by(CorporateAction.ex_date)).all()
    return [Applied(_entry(action), mark.job_id, mark.method, mark.bars, mark.kept, mark.at) for mark, action in rows]


def mark_applied(session: Session, series_id: int, entry: LedgerEntry, job_id: int | None, method: str,
                 bars: int, kept: int = 0) -> None:
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(SeriesAction).values(
        series_id=series_id, action_id=entry.id, job_id=job_id, method=method, bars=bars, kept=kept,
        at=utcnow()).on_conflict_do_nothing())


def rescale(session: Session, series_id: int, lo: int, hi: int, ratio: float) -> int:
    """Put bars in [lo, hi) on the basis after a split of `ratio`; how many changed."""
    sql = ("UPDATE bars SET open = open / :r, high = high / :r, low = low / :r, close = close / :r, "
           "wap = wap / :r, volume = volume * :r WHERE series_id = :sid AND ts >= :lo AND ts < :hi")
    conn = session.connection()
    return conn.exec_driver_sql(driver_sql(sql, conn.dialect.name),
                                {"r": ratio, "sid": series_id, "lo": lo, "hi": hi}).rowcount or 0


def mark_revised(session: Session, series_id: int, job_id: int, bars: int, first_ts: int) -> None:
    session.execute(update(Series).where(Series.id == series_id).values(
        revised_at=utcnow(), revised_job_id=job_id, revised_bars=bars, revised_from_ts=first_ts,
        recollect_job_id=None))


def set_recollect(session: Session, series_id: int, job_id: int) -> None:
    session.execute(update(Series).where(Series.id == series_id).values(recollect_job_id=job_id))


def clear_revised(session: Session, job_id: int) -> None:
    """The re-collect job `job_id` completed: its series is whole again."""
    session.execute(update(Series).where(Series.recollect_job_id == job_id).values(
        revised_at=None, revised_job_id=None, revised_bars=None, revised_from_ts=None, recollect_job_id=None))


def _entry(row: CorporateAction) -> LedgerEntry:
    return LedgerEntry(row.id, row.kind, row.ex_date, row.value, row.starts_at)
