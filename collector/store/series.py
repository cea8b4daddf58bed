"""Reading and removing stored series: the list, one series' bars (pages, ranges, streamed
batches, downsampled buckets for a chart) and the jobs that wrote it.

Everything here reads through `Database`; no Flask. Times in and out are epoch seconds UTC,
as in the `bars` table, except where a datetime is the natural answer (jobs, listing).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

import numpy as np
from sqlalchemy import asc, delete, desc, func, select, update

from collector.i18n import N_plural, job_numbers
from collector.parse import upper_ascii
from collector.sources.base import BAR_COLUMNS as VALUE_COLUMNS

from . import findings, ledger
from .db import Database, driver_sql
from .gaps import GapReport, find_gaps, unit_for
from .models import ACTIVE_STATUSES, Bar, Job, Series, SeriesAction
from .paging import Page

BAR_COLUMNS = ("ts", *VALUE_COLUMNS)  # as read back: the bar time, then its values
SORTS = {"symbol": Series.symbol, "source": Series.source, "interval": Series.interval,
         "kind": Series.kind, "bars": Series.bar_count, "first": Series.first_ts,
         "last": Series.last_ts, "collected": Series.updated_at}
STREAM_BATCH_ROWS = 20_000


@dataclass(frozen=True)
class Buckets:
    """A range cut into equal time buckets; only buckets holding bars are kept."""

    ts: np.ndarray  # first bar time in each bucket
    last: np.ndarray  # the bucket's last second (its bars start before it)
    close_min: np.ndarray
    close_max: np.ndarray
    volume: np.ndarray
    counts: np.ndarray  # bars in each bucket
    count: int  # bars in all


class SeriesStore:
    """The stored series of one database: listing, reading, gaps and removal."""

    def __init__(self, db: Database):
        self.db = db

    def list(self, *, symbol: str | None = None, source: str | None = None, sort: str = "symbol",
             descending: bool = False, page: int = 1, per_page: int = 50) -> Page[Series]:
        """One page of the series matching the filters; symbol matches a prefix, case-insensitively."""
        conditions = []
        if symbol:
            conditions.append(Series.symbol.startswith(upper_ascii(symbol), autoescape=True))
        if source:
            conditions.append(Series.source == source)
        order = desc if descending else asc
        column = SORTS.get(sort, Series.symbol)
        query = (select(Series).where(*conditions)
                 .order_by(order(column), Series.symbol, Series.source, Series.interval, Series.kind)
                 .offset((page - 1) * per_page).limit(per_page))
        with self.db.read() as session:
            total = session.scalar(select(func.count()).select_from(Series).where(*conditions)) or 0
            return Page(list(session.scalars(query)), total, page, per_page)

    def find(self, source: str, symbol: str, interval: str, kind: str | None = None) -> list[Series]:
        """The series with this source/symbol/interval (every kind, or one kind)."""
        query = select(Series).where(Series.source == source, Series.symbol == symbol,
                                     Series.interval == interval)
        if kind:
            query = query.where(Series.kind == kind)
        with self.db.read() as session:
            return list(session.scalars(query.order_by(Series.kind)))

    def count(self, sid: int, start: int | None = None, end: int | None = None) -> int:
        """Bars of series `sid` with start <= ts < end (either bound optional)."""
        query = select(func.count()).select_from(Bar).where(Bar.series_id == sid, *_range(start, end))
        with self.db.read() as session:
            return session.scalar(query) or 0

    def span(self, sid: int, start: int | None = None, end: int | None = None) -> tuple[int | None, int | None]:
        """First and last bar time in the range, (None, None) when it holds no bars. Two
        one-row index reads: min() and max() together make SQLite scan the whole range."""
        where = (Bar.series_id == sid, *_range(start, end))
        with self.db.read() as session:
            lo = session.scalar(select(Bar.ts).where(*where).order_by(Bar.ts).limit(1))
            hi = session.scalar(select(Bar.ts).where(*where).order_by(Bar.ts.desc()).limit(1))
        return lo, hi

    def tail_start(self, sid: int, bars: int) -> int | None:
        """Time of the `bars`-th newest bar (the oldest bar when there are fewer)."""
        return self.tail_starts([sid], bars).get(sid)

    def tail_starts(self, sids: list[int], bars: int) -> dict[int, int]:
        """tail_start of many series in one session: an indexed LIMIT query each (a window over
        every bar of 500 series would read them all)."""
        starts = {}
        with self.db.read() as session:
            for sid in sids:
                stamps = session.scalars(select(Bar.ts).where(Bar.series_id == sid)
                                         .order_by(Bar.ts.desc()).limit(bars)).all()
                if stamps:
                    starts[sid] = stamps[-1]
        return starts

    def page(self, sid: int, page: int, per_page: int) -> Page[tuple]:
        """The latest bars as tuples of BAR_COLUMNS, newest first, one page of them."""
        columns = [getattr(Bar, name) for name in BAR_COLUMNS]
        with self.db.read() as session:
            total = session.scalar(select(func.count()).select_from(Bar).where(Bar.series_id == sid)) or 0
            rows = session.execute(select(*columns).where(Bar.series_id == sid).order_by(Bar.ts.desc())
                                   .offset((page - 1) * per_page).limit(per_page)).all()
        return Page([tuple(r) for r in rows], total, page, per_page)

    def bars(self, sid: int, start: int | None = None, end: int | None = None) -> list[tuple]:
        """All bars of a (small) range as BAR_COLUMNS tuples, oldest first."""
        return [row for batch in self.iter_bars(sid, start, end) for row in batch]

    def iter_bars(self, sid: int, start: int | None = None, end: int | None = None,
                  batch_rows: int = STREAM_BATCH_ROWS) -> Iterator[list[tuple]]:
        """Bars oldest first, in batches of at most `batch_rows` tuples (BAR_COLUMNS).

        Keyset pagination on ts: each batch is its own short read, so an export of millions of
        bars holds one batch in memory and never a long-running transaction.
        """
        sql = ("SELECT ts, open, high, low, close, volume, wap, trades FROM bars "
               "WHERE series_id = :sid AND ts >= :lo AND ts < :hi ORDER BY ts LIMIT :n")
        sql = _param(sql, self.db)
        lo = -(2**62) if start is None else start
        hi = 2**62 if end is None else end
        while True:
            with self.db.read() as session:
                # The driver's own cursor: SQLAlchemy's row objects would cost a third more time.
                cur = session.connection().connection.driver_connection.cursor()
                try:
                    cur.execute(sql, {"sid": sid, "lo": lo, "hi": hi, "n": batch_rows})
                    rows = cur.fetchall()
                finally:
                    cur.close()
            if not rows:
                return
            yield rows
            if len(rows) < batch_rows:
                return
            lo = rows[-1][0] + 1

    def times(self, sid: int, start: int | None = None, end: int | None = None) -> np.ndarray:
        """Bar times of the series (start <= ts < end, either optional), sorted (int64 epoch seconds)."""
        lo = -(2**62) if start is None else start
        hi = 2**62 if end is None else end
        with self.db.read() as session:
            rows = session.connection().exec_driver_sql(
                _param("SELECT ts FROM bars WHERE series_id = :sid AND ts >= :lo AND ts < :hi ORDER BY ts", self.db),
                {"sid": sid, "lo": lo, "hi": hi}).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def buckets(self, sid: int, start: int, end: int, n: int) -> Buckets:
        """First bar time, lowest and highest close, volume and bar count in `n` equal time
        buckets of [start, end), for a chart; `last` is where each bucket ends.

        SQLite: one indexed range query per bucket (a GROUP BY over an expression would sort
        every bar first; separate range scans over the clustered key are about twice as fast).
        PostgreSQL: one GROUP BY. Each aggregate costs about a fifth more per bar, so only these.
        """
        width = max(1, -(-(end - start) // n))
        columns = "min(ts), min(close), max(close), sum(volume), count(*)"
        if self.db.dialect == "postgresql":
            sql = (f"SELECT (ts - %(lo)s) / %(w)s AS b, {columns} FROM bars "
                   "WHERE series_id = %(sid)s AND ts >= %(lo)s AND ts < %(hi)s GROUP BY b ORDER BY b")
            with self.db.read() as session:
                rows = [tuple(r) for r in session.connection().exec_driver_sql(
                    sql, {"lo": start, "w": width, "sid": sid, "hi": end}).fetchall()]
        else:
            sql = f"SELECT {columns} FROM bars WHERE series_id = ? AND ts >= ? AND ts < ?"
            with self.db.read() as session:
                cur = session.connection().connection.driver_connection.cursor()
                try:
                    rows = [(i, *cur.execute(sql, (sid, lo, lo + width)).fetchone())
                            for i, lo in enumerate(range(start, end, width))]
                finally:
                    cur.close()
                rows = [r for r in rows if r[-1]]
        if not rows:
            none_i, none_f = np.array([], dtype=np.int64), np.array([], dtype=np.float64)
            return Buckets(none_i, none_i, none_f, none_f, none_f, none_i, 0)
        index, ts, c_min, c_max, volume, counts = (np.array(col) for col in zip(*rows))
        counts = counts.astype(np.int64)
        last = np.minimum(start + (index.astype(np.int64) + 1) * width, end) - 1
        return Buckets(ts.astype(np.int64), last, c_min.astype(np.float64), c_max.astype(np.float64),
                       np.nan_to_num(volume.astype(np.float64)), counts, int(counts.sum()))

    def jobs_for(self, series: Series, limit: int = 20) -> tuple[list[Job], int]:
        """Jobs that wrote this series (same source, symbol, interval and kind), newest first."""
        where = (Job.source == series.source, Job.symbol == series.symbol,
                 Job.interval == series.interval, Job.kind == series.kind)
        with self.db.read() as session:
            total = session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
            jobs = session.scalars(select(Job).where(*where).order_by(Job.id.desc()).limit(limit)).all()
        return list(jobs), total

    def latest_options(self, series: Series) -> dict | None:
        """Options of the newest job that wrote the series (so new jobs ask the same way)."""
        jobs, _ = self.jobs_for(series, limit=1)
        return dict(jobs[0].options or {}) if jobs else None

    def active_jobs(self, series: Series) -> list[Job]:
        """Pending and running jobs that will write this series, oldest first."""
        with self.db.read() as session:
            return list(session.scalars(_active_jobs(series)))

    def delete(self, series: Series) -> int:
        """Remove a series and its bars; returns how many bars went. SeriesBusy while a pending
        or running job targets it: its later chunks would start the series afresh and the
        earlier ones would be lost without a trace (checked in the deleting transaction)."""
        with self.db.write() as session:
            busy = list(session.scalars(_active_jobs(series)))
            if busy:
                session.expunge_all()  # the rollback would expire them
                raise SeriesBusy(busy)
            removed = session.execute(delete(Bar).where(Bar.series_id == series.id)).rowcount or 0
            session.execute(delete(SeriesAction).where(SeriesAction.series_id == series.id))
            session.execute(delete(Series).where(Series.id == series.id))
        return removed

    def quality(self, series: Series) -> findings.QualityReport:
        """What the quality checks found in the series (exact counts, capped times)."""
        return findings.report(self.db, series.id)

    def suspect_counts(self, series_ids: list[int]) -> dict[int, int]:
        """Suspect bars per series id, for a page of the list."""
        return findings.suspect_counts(self.db, series_ids)

    def suspect_marks(self, sid: int, start: int, end: int) -> list[tuple[int, int]]:
        """(time, flags) of the suspect bars in a range, for the chart."""
        return findings.marks(self.db, sid, start, end)

    def actions(self, series: Series) -> list[ledger.ActionView]:
        """The splits and dividends in the ledger for the series' symbol, newest first."""
        with self.db.read() as session:
            return ledger.views(session, series)

    def gaps(self, series: Series) -> GapReport:
        """The gap report of a series, cached until the series changes (a write moves its
        bar count, bounds or updated_at, which are part of the cache key). Its summary is kept
        with the series for the list (see `known_gaps`)."""
        report = _gaps(self.db, series.id, series.source, series.symbol, series.interval,
                       series.bar_count, series.first_ts, series.last_ts, series.updated_at)
        if series.gap_method is None:
            with self.db.write() as session:  # unless new bars came meanwhile: then it is stale already
                session.execute(update(Series).where(Series.id == series.id, Series.bar_count == series.bar_count)
                                .values(gap_method=report.method, gap_count=report.count, gap_missing=report.missing))
        return report

    @staticmethod
    def known_gaps(series: Series) -> GapReport | None:
        """The kept gap summary (counts, no list of gaps); None until computed for these bars."""
        if series.gap_method is None:
            return None
        return GapReport(series.gap_method, unit_for(series.gap_method, series.interval),
                         count=series.gap_count or 0, missing=series.gap_missing)


class SeriesBusy(Exception):
    """A series cannot be deleted while jobs write it; `jobs` are those jobs."""

    def __init__(self, jobs: list[Job]):
        ids = job_numbers(job.id for job in jobs)
        super().__init__(N_plural("Job {ids} is writing this series: wait until it ends or cancel it, then delete.",
                                  "Jobs {ids} are writing this series: wait until they end or cancel them, then "
                                  "delete.", len(jobs), ids=ids))
        self.jobs = jobs


def _active_jobs(series: Series):
    return (select(Job).where(Job.source == series.source, Job.symbol == series.symbol,
                              Job.interval == series.interval, Job.kind == series.kind,
                              Job.status.in_(ACTIVE_STATUSES)).order_by(Job.id))


@lru_cache(maxsize=256)
def _gaps(db: Database, sid: int, source: str, symbol: str, interval: str, *_version) -> GapReport:
    return find_gaps(SeriesStore(db).times(sid), source, symbol, interval)


def _range(start: int | None, end: int | None) -> list:
    conditions = []
    if start is not None:
        conditions.append(Bar.ts >= start)
    if end is not None:
        conditions.append(Bar.ts < end)
    return conditions

def _param(sql: str, db: Database) -> str:
    return driver_sql(sql, db.dialect)
