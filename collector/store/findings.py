"""Reading what the quality checks found: the flags stored on each bar (exact counts), with the
times of the suspect bars capped per check, for the series list, a series' page, its chart
and GET /data/<series>/quality. The partial index on flagged bars makes these cheap."""

from __future__ import annotations

from dataclasses import dataclass

from collector import quality
from collector.notes import CHECK_LABELS

from .db import Database, driver_sql

TIMES_SHOWN = 100  # suspect bar times kept per check in a report


@dataclass(frozen=True)
class Finding:
    check: str
    label: str
    explanation: str
    count: int
    times: list[int]  # the first TIMES_SHOWN, oldest first

    @property
    def capped(self) -> bool:
        return self.count > len(self.times)


@dataclass(frozen=True)
class QualityReport:
    suspect: int  # bars at least one check flagged
    findings: list[Finding]  # the checks that flagged something


def report(db: Database, sid: int, shown: int = TIMES_SHOWN) -> QualityReport:
    with db.read() as session:
        conn = session.connection()
        sql = "SELECT flags, count(*) FROM bars WHERE series_id = :sid AND flags != 0 GROUP BY flags"
        groups = conn.exec_driver_sql(driver_sql(sql, db.dialect), {"sid": sid}).fetchall()
        counts = {name: sum(n for flags, n in groups if flags & bit) for name, bit in quality.CHECKS.items()}
        findings = []
        for name, count in counts.items():
            if not count:
                continue
            sql = ("SELECT ts FROM bars WHERE series_id = :sid AND flags != 0 AND (flags & :bit) != 0 "
                   "ORDER BY ts LIMIT :n")
            times = [r[0] for r in conn.exec_driver_sql(driver_sql(sql, db.dialect),
                                                        {"sid": sid, "bit": quality.CHECKS[name], "n": shown})]
            label, explanation = CHECK_LABELS[name]
            findings.append(Finding(name, label, explanation, count, times))
    return QualityReport(sum(n for _, n in groups), findings)


def suspect_counts(db: Database, series_ids: list[int]) -> dict[int, int]:
    """Suspect bars of these series (those without any are left out). Read from the partial
    index of flagged bars only, so the cost follows the suspect bars, not the stored ones."""
    if not series_ids:
        return {}
    ids = ", ".join(str(int(sid)) for sid in series_ids)
    with db.read() as session:
        rows = session.connection().exec_driver_sql(
            f"SELECT series_id, count(*) FROM bars WHERE flags != 0 AND series_id IN ({ids}) "
            "GROUP BY series_id").fetchall()
    return {sid: n for sid, n in rows}


def marks(db: Database, sid: int, start: int, end: int, limit: int = 500) -> list[tuple[int, int]]:
    """(time, flags) of the suspect bars in [start, end), for a chart."""
    sql = ("SELECT ts, flags FROM bars WHERE series_id = :sid AND flags != 0 AND ts >= :lo AND ts < :hi "
           "ORDER BY ts LIMIT :n")
    with db.read() as session:
        rows = session.connection().exec_driver_sql(driver_sql(sql, db.dialect),
                                                    {"sid": sid, "lo": start, "hi": end, "n": limit}).fetchall()
    return [(int(ts), int(flags)) for ts, flags in rows]
