"""Keeping a series whole while a job writes it.

- Splits and dividends: a source like Yahoo adjusts its history on the day it answers, so bars
  stored before a split and bars fetched after it are in different units. When a job learns of
  an action (reported with its chunks, or asked for when its range does not reach the present)
  that the stored bars' prices include but that the series has not been brought in line with,
  it re-fetches the earlier bars the source still serves (exact) and divides older ones by the
  split's ratio, in the same job, and records what it did on the series.
- The overlap check: a job that continues a stored series (starts inside it) compares the bars
  it fetched again with the stored ones; beyond rounding, the series is marked "revised".

The series as it was before the job wrote to it (first and last bar) is kept in the job's
checkpoint, so a resumed job decides the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import numpy as np
import pandas as pd
from sqlalchemy import select

from collector import corporate, notes
from collector.corporate import LedgerEntry
from collector.jobs import lifecycle
from collector.jobs.incremental import OVERLAP_BARS
from collector.quality import ROUNDING, Rules
from collector.sources import Source, source_label
from collector.sources.base import Chunk, Fetched, Request
from collector.store import Bar, Database, Job, Series, SeriesStore, ledger
from collector.timespec import is_intraday, utcnow

from .progress import Progress

log = logging.getLogger("mdc.collector")

VOLUME_SLACK = 0.01  # sources finish counting a day's volume late: 1% is not a revision
ADJUSTED_SLACK = 0.005  # absolute: prices we adjusted ourselves match the source's to the cent


@dataclass(frozen=True)
class Snapshot:
    """The stored series before this job wrote to it."""

    first: int | None
    last: int | None


class SeriesKeeper:
    def __init__(self, db: Database, job: Job, source: Source, progress: Progress, collector: str, *,
                 fetch: Callable[[Request, Chunk], Fetched], retry: Callable, recollect: Callable[[Series], int] | None,
                 rules: Rules):
        self.db, self.job, self.source, self.progress, self.collector = db, job, source, progress, collector
        self.fetch, self.retry, self.recollect, self.rules = fetch, retry, recollect, rules
        self.kinds = corporate.in_bars(job.source, job.kind)  # actions the stored prices include
        self.daily = not is_intraday(job.interval)
        self.snapshot = Snapshot(None, None)

    # --- the job's steps -----------------------------------------------------------------
    def start(self) -> lifecycle.Writing:
        """Before the first chunk: learn of actions the job's own answers would not report, and
        bring the series in line with those already in the ledger."""
        kept = self.job.checkpoint or {}
        if "series_first" in kept:
            self.snapshot = Snapshot(kept["series_first"], kept["series_last"])
        else:
            series = self._series()
            self.snapshot = Snapshot(series.first_ts, series.last_ts) if series else Snapshot(None, None)
        writing = lifecycle.Writing(self.rules, {"series_first": self.snapshot.first, "series_last": self.snapshot.last})
        if self.kinds and self.snapshot.last is not None and not self._reaches_present():
            self._ask_for_actions()
        self.bring_in_line()
        return writing

    def writes_apart(self, fetched: Fetched) -> bool:
        """A last chunk that reports actions is written before the job ends, so the series can
        be brought in line while the job is still running."""
        return bool(self.kinds and fetched.actions)

    def bring_in_line(self) -> None:
        """Every ledger entry the series' prices include and it has not recorded yet."""
        if not self.kinds:
            return
        with self.db.read() as session:
            series = self._series(session)
            if series is None:
                return
            done = {a.entry.id for a in ledger.applied(session, series.id)}
            todo = [e for e in ledger.entries(session, self.job.source, self.job.symbol)
                    if e.kind in self.kinds and e.id not in done]
        for entry in todo:
            self._bring(series, entry)

    def check_overlap(self, fetched: Fetched) -> None:
        """Compare the re-fetched tail of a continued series with what is stored (but its newest
        bar, which may have been collected before it was finished)."""
        first, last = self.snapshot.first, self.snapshot.last
        start = int(self.job.start.timestamp())
        if first is None or not first < start <= last or fetched.bars.empty:
            return
        with self.db.read() as session:
            series = self._series(session)
            rows = session.execute(select(Bar.ts, Bar.open, Bar.high, Bar.low, Bar.close, Bar.volume)
                                   .where(Bar.series_id == series.id, Bar.ts >= start, Bar.ts < last)
                                   .order_by(Bar.ts.desc()).limit(OVERLAP_BARS)).all()
            pending = self._pending(session, series, fetched)
        differ = _differing(rows[::-1], fetched.bars, pending, self.daily)
        if not differ:
            return
        lifecycle.mark_revised(self.db, self.job, series.id, len(differ), differ[0])
        self.progress.event(notes.revised_text(source_label(self.job.source), len(differ), differ[0]))
        if self.recollect is not None:
            self.progress.event(notes.recollecting_text(self.recollect(series)))

    # --- helpers ---------------------------------------------------------------------------
    def _series(self, session=None) -> Series | None:
        query = select(Series).where(Series.source == self.job.source, Series.symbol == self.job.symbol,
                                     Series.interval == self.job.interval, Series.kind == self.job.kind)
        if session is not None:
            return session.scalars(query).first()
        with self.db.read() as own:
            return own.scalars(query).first()

    def _reaches_present(self) -> bool:
        """The job's own answers report every action since the last stored bar."""
        start, end = self.job.start.timestamp(), self.job.end.timestamp()
        return start <= self.snapshot.last and end >= self.job.created_at.timestamp() - 60

    def _ask_for_actions(self) -> None:
        ask = getattr(self.source, "actions", None)
        if ask is None:
            return
        since = datetime.fromtimestamp(self.snapshot.last, tz=utcnow().tzinfo) - timedelta(days=1)
        actions = self.retry(lambda waits: ask(self.job.symbol, since, utcnow(), waits))
        with self.db.write() as session:
            ledger.record(session, self.job.source, self.job.symbol, actions, self.job.id)

    def _pending(self, session, series: Series, fetched: Fetched) -> list[LedgerEntry]:
        """Actions the stored prices include that the series is not yet in line with."""
        if not self.kinds:
            return []
        done = {a.entry.id for a in ledger.applied(session, series.id)}
        entries = ledger.entries(session, self.job.source, self.job.symbol)
        unique = {(e.kind, e.ex_date): e for e in entries if e.id not in done}
        finished = {(e.kind, e.ex_date) for e in entries if e.id in done}
        for a in fetched.actions:  # reported with this chunk, not in the ledger yet
            if (a.kind, a.ex_date) not in finished:
                unique.setdefault((a.kind, a.ex_date), LedgerEntry(-1, a.kind, a.ex_date, a.value, a.starts_at))
        return [e for e in unique.values() if e.kind in self.kinds]

    def _bring(self, series: Series, entry: LedgerEntry) -> None:
        boundary = entry.boundary(self.daily)
        first = self.snapshot.first
        if first is None or first >= boundary:
            lifecycle.bring_in_line(self.db, self.job, self.collector, series.id, entry, method="none", bars=0)
            return
        start, end = int(self.job.start.timestamp()), int(self.job.end.timestamp())
        ranges = [(first, min(boundary, start))] + ([(max(end, first), boundary)] if boundary > end else [])
        oldest = getattr(self.source, "earliest", None)
        edge = int(oldest(self.job.interval).timestamp()) if oldest else first
        refetched = [(max(lo, edge), hi) for lo, hi in ranges if max(lo, edge) < hi]
        older = [(lo, min(hi, edge)) for lo, hi in ranges if lo < min(hi, edge)]
        if not refetched and not older:  # the job's own range holds every earlier bar
            lifecycle.bring_in_line(self.db, self.job, self.collector, series.id, entry, method="none", bars=0)
            return
        updated, checked = self._refetch(series.id, refetched)
        rescale = None
        method = "refetch" if refetched else "none"
        if older and entry.kind == corporate.SPLIT and (updated or not checked):
            rescale, method = (older[0][0], older[-1][1]), "both" if refetched else "ratio"
        elif checked and not updated:
            method = "already"
        kept = self._count(series.id, older) if older and rescale is None and method != "already" else 0
        rescaled = lifecycle.bring_in_line(self.db, self.job, self.collector, series.id, entry, method=method,
                                           bars=updated, kept=kept, rescale=rescale,
                                           recheck=(ranges[0][0], ranges[-1][1]), writing=lifecycle.Writing(self.rules))
        self.progress.event(notes.in_line_text(entry, method, updated + rescaled, kept, self.job.id))

    def _refetch(self, sid: int, ranges: list[tuple[int, int]]) -> tuple[int, int]:
        """Fetch the ranges again and rewrite the bars stored there (never adding others);
        (bars whose values changed, bars fetched)."""
        updated = checked = 0
        store = SeriesStore(self.db)
        for lo, hi in ranges:
            request = Request(self.job.symbol, self.job.interval, _dt(lo), _dt(hi), dict(self.job.options or {}))
            for chunk in self.source.plan(request):
                fetched = self.fetch(request, chunk)
                stored = store.times(sid, int(chunk.start.timestamp()), int(chunk.end.timestamp()))
                stamps = pd.DatetimeIndex(fetched.bars.index).as_unit("s").asi8
                fetched = Fetched(fetched.bars[np.isin(stamps, stored)], fetched.actions)
                written = lifecycle.save_rewrite(self.db, self.job, self.collector, fetched,
                                                 lifecycle.Writing(self.rules))
                updated += written.counts.updated
                checked += written.counts.total
        return updated, checked

    def _count(self, sid: int, ranges: list[tuple[int, int]]) -> int:
        store = SeriesStore(self.db)
        return sum(store.count(sid, lo, hi) for lo, hi in ranges)


def _differing(rows: list, fetched: pd.DataFrame, pending: list[LedgerEntry], daily: bool) -> list[int]:
    """Times of the stored bars (ts, open, high, low, close, volume) that the source now sends
    differently."""
    if not rows:
        return []
    stored = np.array(rows, dtype=np.float64)
    ts = stored[:, 0].astype(np.int64)
    fresh = fetched.reindex(pd.to_datetime(ts, unit="s", utc=True).as_unit(fetched.index.unit))
    closes = stored[:, 4]

    def close_before(moment: int) -> float | None:
        k = int(np.searchsorted(ts, moment, side="left"))
        return float(closes[k - 1]) if k else None

    price, volume = corporate.Adjustment.build(pending, corporate.KINDS, daily, close_before).factors(ts)
    slack = np.where(price != 1, ADJUSTED_SLACK, 0.0)
    differ = np.zeros(ts.size, dtype=bool)
    for i, name in enumerate(("open", "high", "low", "close"), start=1):
        expected, got = stored[:, i] * price, fresh[name].to_numpy(dtype=np.float64)
        differ |= np.abs(got - expected) > ROUNDING * np.abs(expected) + slack
    expected, got = stored[:, 5] * volume, fresh["volume"].fillna(0).to_numpy(dtype=np.float64)
    differ |= np.abs(got - expected) > VOLUME_SLACK * np.abs(expected)
    differ &= fresh["close"].notna().to_numpy()  # a bar the source no longer sends is not compared
    return [int(t) for t in ts[differ]]


def _dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=utcnow().tzinfo)
