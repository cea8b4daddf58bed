"""Bar upsert throughput: mdc's bulk upsert vs pandas DataFrame.to_sql, in one run.

    python bench/bars_upsert.py [--rows 500000] [--repeat 3] [--postgres-url URL]

Workload: one month of 5-second bars (500,000 rows) for one series. Reports rows/s for
new bars and for re-upserting bars already stored (counts included), and pandas' to_sql
(plain INSERTs, no conflict handling, no counts) on the same frame and the same database
kind as the baseline. Medians of --repeat runs, each on a fresh database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector.store.db import Database  # noqa: E402
from collector.store.upsert import upsert_bars  # noqa: E402


def month_of_5s_bars(rows: int) -> pd.DataFrame:
    index = pd.date_range("2026-10-01", periods=rows, freq="5s", tz="UTC", name="ts")
    rng = np.random.default_rng(7)
    close = 100 + np.cumsum(rng.normal(0, 0.01, rows))
    return pd.DataFrame({"open": close, "high": close + 0.01, "low": close - 0.01, "close": close,
                         "volume": rng.integers(1, 1000, rows).astype(float), "wap": close,
                         "trades": rng.integers(1, 50, rows).astype(float)}, index=index)


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run_once(url: str, frame: pd.DataFrame) -> dict[str, float]:
    db = Database(url)
    db.migrate()

    def upsert():
        with db.write() as session:
            return upsert_bars(session, source="sim", symbol="BENCH", interval="5s", kind="trades", frame=frame)

    t_new, counts = timed(upsert)
    assert counts.new == len(frame), counts
    t_again, counts = timed(upsert)
    assert counts.unchanged == len(frame), counts
    # Baseline: pandas appends plain INSERTs into a table of the same columns.
    engine = create_engine(url)
    baseline = frame.reset_index(drop=True)
    baseline.insert(0, "ts", frame.index.as_unit("ns").asi8 // 1_000_000_000)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bars_to_sql"))
    t_to_sql, _ = timed(lambda: baseline.to_sql("bars_to_sql", engine, if_exists="append", index=False,
                                                 chunksize=50_000))
    engine.dispose()
    db.dispose()
    n = len(frame)
    return {"new": n / t_new, "again": n / t_again, "to_sql": n / t_to_sql}


def fresh_sqlite(tmp: Path, i: int) -> str:
    return f"sqlite:///{tmp / f'bench-{i}.db'}"


def fresh_postgres(base_url: str, i: int) -> str:
    import psycopg

    name = f"mdc_bench_{i}"
    admin = base_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.rsplit("/", 1)[0] + "/" + name


def report(label: str, results: list[dict[str, float]]) -> dict[str, float]:
    med = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print(f"{label:<11} new {med['new']:>10,.0f} rows/s   re-upsert {med['again']:>10,.0f} rows/s   "
          f"to_sql {med['to_sql']:>10,.0f} rows/s   new/to_sql {med['new'] / med['to_sql']:.2f}x   "
          f"re-upsert/to_sql {med['again'] / med['to_sql']:.2f}x")
    return med


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres-url", help="postgresql+psycopg://user@host:port/dbname (a server you run)")
    args = parser.parse_args()
    frame = month_of_5s_bars(args.rows)
    print(f"bar upsert, {args.rows:,} rows of 5-second bars, median of {args.repeat}")
    with tempfile.TemporaryDirectory() as tmp:
        report("sqlite", [run_once(fresh_sqlite(Path(tmp), i), frame) for i in range(args.repeat)])
    if args.postgres_url:
        report("postgresql", [run_once(fresh_postgres(args.postgres_url, i), frame) for i in range(args.repeat)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
