"""Bulk upsert of bars, returning how many were new, updated (a value changed) or unchanged.

No per-row ORM objects: rows go to the driver as plain tuples in one executemany
(SQLite) or as column arrays through unnest (PostgreSQL). Runs inside the caller's
transaction so bars, counts and the job's checkpoint commit together.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from collector.sources.base import BAR_COLUMNS as VALUE_COLUMNS

from .models import Series


@dataclass(frozen=True)
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: "UpsertCounts") -> "UpsertCounts":
        return UpsertCounts(self.new + other.new, self.updated + other.updated,
                            self.unchanged + other.unchanged)

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged

    @property
    def written(self) -> int:
        """Bars that changed the table: new or updated."""
        return self.new + self.updated


def series_id(session: Session, source: str, symbol: str, interval: str, kind: str) -> int:
    """Id of the series, created on first use (safe against concurrent creators)."""
    key = dict(source=source, symbol=symbol, interval=interval, kind=kind)
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(Series).values(bar_count=0, **key).on_conflict_do_nothing())
    return session.execute(select(Series.id).filter_by(**key)).scalar_one()


def frame_to_rows(frame: pd.DataFrame, sid: int) -> list[tuple]:
    """Tuples (series_id, ts, open, high, low, close, volume, wap, trades), deduplicated by ts.

    Rows with a missing price are dropped (a bar without prices is no bar); missing volume
    counts as 0. Missing wap/trades stay NaN: SQLite stores NaN as NULL, and the PostgreSQL
    statement turns NaN into NULL itself, so no per-value Python work is needed.
    """
    if frame.empty:
        return []
    if frame.index.has_duplicates:
        frame = frame[~frame.index.duplicated(keep="last")]
    prices = frame[["open", "high", "low", "close"]].to_numpy(dtype="float64", na_value=np.nan)
    if np.isnan(prices).any():
        frame = frame[~np.isnan(prices).any(axis=1)]
    n = len(frame)
    ts = (frame.index.as_unit("ns").asi8 // 1_000_000_000).tolist()
    cols = []
    for name in VALUE_COLUMNS:
        if name not in frame:
            cols.append([np.nan] * n)
            continue
        values = frame[name].to_numpy(dtype="float64", na_value=np.nan)
        if name == "volume":
            values = np.nan_to_num(values, nan=0.0)
        cols.append(values.tolist())
    # Half a million small tuples would otherwise trigger several full GC passes.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return list(zip([sid] * n, ts, *cols))
    finally:
        if gc_was_enabled:
            gc.enable()


def upsert_bars(session: Session, *, source: str, symbol: str, interval: str, kind: str,
                frame: pd.DataFrame, sid: int | None = None) -> UpsertCounts:
    """Insert or update the bars of `frame` (UTC index "ts", columns VALUE_COLUMNS); `sid`
    when the caller already has the series' id."""
    if sid is None:
        sid = series_id(session, source, symbol, interval, kind)
    rows = frame_to_rows(frame, sid)
    if not rows:
        return UpsertCounts()
    if session.bind.dialect.name == "postgresql":
        new, updated = _upsert_postgresql(session, rows)
    else:
        new, updated = _upsert_sqlite(session, sid, rows)
    counts = UpsertCounts(new, updated, len(rows) - new - updated)
    _update_series(session, sid, rows, counts.new)
    return counts


_SQLITE_UPSERT = """
INSERT INTO bars (series_id, ts, open, high, low, close, volume, wap, trades)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (series_id, ts) DO UPDATE SET
  open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
  volume = excluded.volume, wap = excluded.wap, trades = excluded.trades
WHERE bars.open IS NOT excluded.open OR bars.high IS NOT excluded.high
   OR bars.low IS NOT excluded.low OR bars.close IS NOT excluded.close
   OR bars.volume IS NOT excluded.volume OR bars.wap IS NOT excluded.wap
   OR bars.trades IS NOT excluded.trades
"""
_SQLITE_COUNT = "SELECT count(*) FROM bars WHERE series_id = ? AND ts BETWEEN ? AND ?"


def _upsert_sqlite(session: Session, sid: int, rows: list[tuple]) -> tuple[int, int]:
    # SQLite reports one change per row inserted or actually updated (the WHERE skips equal
    # rows); the rows present in the frame's time range before and after tell which were new.
    # Exact, because the write transaction holds SQLite's only write lock.
    dbapi = session.connection().connection.driver_connection
    lo, hi = min(r[1] for r in rows), max(r[1] for r in rows)
    cur = dbapi.cursor()
    try:
        before = cur.execute(_SQLITE_COUNT, (sid, lo, hi)).fetchone()[0]
        changes_before = dbapi.total_changes
        cur.executemany(_SQLITE_UPSERT, rows)
        changed = dbapi.total_changes - changes_before
        after = cur.execute(_SQLITE_COUNT, (sid, lo, hi)).fetchone()[0]
    finally:
        cur.close()
    new = after - before
    return new, changed - new


# PostgreSQL: rows go to a session-local staging table by binary COPY (psycopg adapts
# Python lists for unnest() element by element, which was 5x slower), then one INSERT ... SELECT
# upserts them and the server counts what it inserted (xmax = 0) and what it changed.
_PG_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS mdc_bar_stage (
  series_id int4, ts int8, open float8, high float8, low float8, close float8,
  volume float8, wap float8, trades float8
) ON COMMIT DELETE ROWS
"""
_PG_STAGE_TYPES = ["int4", "int8"] + ["float8"] * 7
_PG_UPSERT = """
WITH written AS (
  INSERT INTO bars (series_id, ts, open, high, low, close, volume, wap, trades)
  SELECT series_id, ts, open, high, low, close, volume, NULLIF(wap, 'NaN'), NULLIF(trades, 'NaN')::bigint
  FROM mdc_bar_stage
  ON CONFLICT (series_id, ts) DO UPDATE SET
    open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
    volume = excluded.volume, wap = excluded.wap, trades = excluded.trades
  WHERE (bars.open, bars.high, bars.low, bars.close, bars.volume, bars.wap, bars.trades)
    IS DISTINCT FROM
        (excluded.open, excluded.high, excluded.low, excluded.close, excluded.volume,
         excluded.wap, excluded.trades)
  RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written
"""


def _upsert_postgresql(session: Session, rows: list[tuple]) -> tuple[int, int]:
    dbapi = session.connection().connection.driver_connection
    with dbapi.cursor() as cur:
        cur.execute(_PG_STAGE)
        cur.execute("DELETE FROM mdc_bar_stage")  # in case of an earlier upsert in this transaction
        with cur.copy("COPY mdc_bar_stage FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_PG_STAGE_TYPES)
            for row in rows:
                copy.write_row(row)
        cur.execute(_PG_UPSERT)
        new, updated = cur.fetchone()
    return int(new), int(updated)


def _update_series(session: Session, sid: int, rows: Iterable[tuple], new: int) -> None:
    lo = min(r[1] for r in rows)
    hi = max(r[1] for r in rows)
    series = session.get(Series, sid, with_for_update=session.bind.dialect.name == "postgresql")
    series.bar_count = (series.bar_count or 0) + new
    series.first_ts = lo if series.first_ts is None else min(series.first_ts, lo)
    series.last_ts = hi if series.last_ts is None else max(series.last_ts, hi)
    series.updated_at = datetime.now(timezone.utc)
    if new:  # new bar times can open or close gaps; changed values cannot
        series.gap_method = series.gap_count = series.gap_missing = None
    session.flush()
