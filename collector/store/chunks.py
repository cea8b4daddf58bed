"""Writing one fetched chunk: the bars (upsert), their quality flags (with the stored bars on
either side as context, so runs and returns carry across chunks), and the corporate actions
the source reported with them into the ledger. One call, inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from collector import quality
from collector.sources.base import Fetched

from . import ledger
from .db import driver_sql
from .gaps import method_for
from .upsert import UpsertCounts, series_id, upsert_bars


@dataclass(frozen=True)
class SeriesKey:
    source: str
    symbol: str
    interval: str
    kind: str


@dataclass(frozen=True)
class Written:
    counts: UpsertCounts
    suspect: int = 0  # bars of the chunk that a quality check flagged


_CONTEXT = {
    "before": "SELECT ts, open, high, low, close, volume, flags FROM bars WHERE series_id = :sid AND ts < :lo "
              "ORDER BY ts DESC LIMIT :n",
    "after": "SELECT ts, open, high, low, close, volume, flags FROM bars WHERE series_id = :sid AND ts > :hi "
             "ORDER BY ts LIMIT :n",
}
_CLEAR = "UPDATE bars SET flags = 0 WHERE series_id = :sid AND ts >= :lo AND ts <= :hi AND flags != 0"
_SET = "UPDATE bars SET flags = :flags WHERE series_id = :sid AND ts = :ts"
_ADD = "UPDATE bars SET flags = flags | :flags WHERE series_id = :sid AND ts = :ts"


def write_chunk(session: Session, key: SeriesKey, fetched: Fetched, job_id: int | None,
                rules: quality.Rules) -> Written:
    ledger.record(session, key.source, key.symbol, fetched.actions, job_id)
    sid = series_id(session, key.source, key.symbol, key.interval, key.kind)
    counts = upsert_bars(session, source=key.source, symbol=key.symbol, interval=key.interval, kind=key.kind,
                         frame=fetched.bars, sid=sid)
    if not counts.total:
        return Written(counts)
    return Written(counts, flag_chunk(session, sid, key, fetched.bars, rules))


def flag_chunk(session: Session, sid: int, key: SeriesKey, frame, rules: quality.Rules) -> int:
    """Check the chunk's bars with their stored neighbours; store the flags; count the suspect."""
    chunk = quality.Bars.of_frame(frame)
    lo, hi = int(chunk.ts[0]), int(chunk.ts[-1])
    conn = session.connection()
    before = conn.exec_driver_sql(_sql(_CONTEXT["before"], conn), {"sid": sid, "lo": lo, "n": quality.CONTEXT_BARS}).fetchall()[::-1]
    after = conn.exec_driver_sql(_sql(_CONTEXT["after"], conn), {"sid": sid, "hi": hi, "n": quality.CONTEXT_BARS}).fetchall()
    window = _join(before, chunk, after)
    flags = quality.check(window, key.interval, method_for(key.source, key.symbol, key.interval),
                          key.kind.endswith("_eth"), rules)
    mine = flags[len(before):len(before) + chunk.ts.size]
    conn.exec_driver_sql(_sql(_CLEAR, conn), {"sid": sid, "lo": lo, "hi": hi})
    _update(conn, _SET, sid, chunk.ts, mine)
    # Stored neighbours only gain flags (a run or a return that now reaches them).
    old = np.array([row[6] for row in before + after], dtype=np.uint16)
    theirs = np.r_[flags[:len(before)], flags[len(before) + chunk.ts.size:]]
    gained = theirs & ~old
    _update(conn, _ADD, sid, np.array([row[0] for row in before + after], dtype=np.int64), gained)
    return int(np.count_nonzero(mine))


def recheck(session: Session, sid: int, key: SeriesKey, lo: int, hi: int, rules: quality.Rules,
            batch: int = 20_000) -> None:
    """Check the stored bars of [lo, hi) again, and the CONTEXT_BARS after it, after their
    prices changed underneath (a split applied to them): flags are set anew, not only added."""
    conn = session.connection()
    after = conn.exec_driver_sql(_sql("SELECT ts FROM bars WHERE series_id = :sid AND ts >= :hi ORDER BY ts "
                                      "LIMIT 1 OFFSET :n", conn), {"sid": sid, "hi": hi, "n": quality.CONTEXT_BARS}).first()
    stop = after[0] + 1 if after else 2**62
    sql = _sql("SELECT ts, open, high, low, close, volume FROM bars WHERE series_id = :sid AND ts >= :lo "
               "AND ts < :hi ORDER BY ts LIMIT :n", conn)
    while True:
        rows = conn.exec_driver_sql(sql, {"sid": sid, "lo": lo, "hi": stop, "n": batch}).fetchall()
        if not rows:
            return
        table = np.array(rows, dtype=np.float64)
        frame = pd.DataFrame(table[:, 1:], columns=["open", "high", "low", "close", "volume"],
                             index=pd.to_datetime(table[:, 0].astype(np.int64), unit="s", utc=True))
        flag_chunk(session, sid, key, frame, rules)
        if len(rows) < batch:
            return
        lo = int(rows[-1][0]) + 1


def _update(conn, sql: str, sid: int, ts: np.ndarray, flags: np.ndarray) -> None:
    pick = np.flatnonzero(flags)
    if pick.size:
        conn.exec_driver_sql(_sql(sql, conn), [{"sid": sid, "ts": int(ts[i]), "flags": int(flags[i])} for i in pick])


def _join(before: list, chunk: quality.Bars, after: list) -> quality.Bars:
    def column(rows, i):
        return np.array([row[i] for row in rows], dtype=np.float64)

    parts = [(column(before, i), getattr(chunk, name), column(after, i))
             for i, name in enumerate(("ts", "open", "high", "low", "close", "volume"))]
    ts, *values = (np.concatenate(p) for p in parts)
    return quality.Bars(ts.astype(np.int64), *values)


def _sql(text: str, conn) -> str:
    return driver_sql(text, conn.dialect.name)
