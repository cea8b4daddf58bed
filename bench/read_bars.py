"""read_bars speed, and what the quality checks cost when chunks are written.

    python bench/read_bars.py [--rows 500000] [--repeat 5]

Read: 500,000 one-minute bars of one series from a SQLite file into a pandas DataFrame
indexed by UTC time, by `read_bars` and by the baseline a pandas user would write:
`pd.read_sql` of the same rows (sqlite3 connection), then the same index. Alternating runs,
so both see the same machine load; the median of each is printed, and their ratio. Also
read_bars with resample="5m" and with adjust="splits" (a split in the ledger).
Write: the same bars in chunks of 20,000 through the job's chunk writer (upsert + quality
checks + flags) and through the bare upsert, each into a fresh file, alternating, median of
--repeat rounds.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from collector import read_bars  # noqa: E402
from collector.quality import Rules  # noqa: E402
from collector.sources.base import Action, Fetched  # noqa: E402
from collector.sources.sim import simulate  # noqa: E402
from collector.store import Database, ledger, upsert_bars  # noqa: E402
from collector.store.chunks import SeriesKey, write_chunk  # noqa: E402

SQL = "SELECT ts, open, high, low, close, volume, wap, trades FROM bars WHERE series_id = 1 ORDER BY ts"
CHUNK = 20_000


def bars(rows: int) -> pd.DataFrame:
    frame = simulate("AAPL", "1m", "trades", pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2026-01-01", tz="UTC"))
    return frame.iloc[:rows]


def baseline(path: Path) -> pd.DataFrame:
    with sqlite3.connect(path) as conn:
        frame = pd.read_sql(SQL, conn)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("ts"), unit="s", utc=True), name="ts")
    return frame


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def write(path: Path, frame: pd.DataFrame, checked: bool) -> float:
    db = Database(f"sqlite:///{path}")
    db.migrate()
    key = SeriesKey("sim", "AAPL", "1m", "trades")
    started = time.perf_counter()
    for lo in range(0, len(frame), CHUNK):
        part = frame.iloc[lo:lo + CHUNK]
        with db.write() as session:
            if checked:
                write_chunk(session, key, Fetched(part), None, Rules())
            else:
                upsert_bars(session, source="sim", symbol="AAPL", interval="1m", kind="trades", frame=part)
    elapsed = time.perf_counter() - started
    db.dispose()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    frame = bars(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        checked_path = Path(tmp) / "checked.db"
        plain_runs, checked_runs = [], []
        for i in range(args.repeat):
            plain_runs.append(write(Path(tmp) / f"plain{i}.db", frame, checked=False))
            path = checked_path if i == 0 else Path(tmp) / f"checked{i}.db"
            checked_runs.append(write(path, frame, checked=True))
        seconds_plain, seconds_checked = statistics.median(plain_runs), statistics.median(checked_runs)
        print(f"write {len(frame):,} bars in chunks of {CHUNK:,} (median of {args.repeat}): with quality checks "
              f"{len(frame) / seconds_checked:,.0f} bars/s, upsert alone {len(frame) / seconds_plain:,.0f} bars/s "
              f"(the checks add {100 * (seconds_checked / seconds_plain - 1):.0f}%)")
        db = Database(f"sqlite:///{checked_path}")
        with db.write() as session:
            ledger.record(session, "sim", "AAPL", [Action("split", date(2021, 6, 1), 4.0, 1622505600)], None)
        url = f"sqlite:///{checked_path}"
        ours, theirs = [], []
        for _ in range(args.repeat):
            t, got = timed(lambda: read_bars("AAPL", "1m", source="sim", database_url=url))
            ours.append(t)
            t, expected = timed(lambda: baseline(checked_path))
            theirs.append(t)
        assert len(got) == len(expected) == len(frame)
        assert (got["close"].to_numpy() == expected["close"].to_numpy()).all()
        mine, base = statistics.median(ours), statistics.median(theirs)
        print(f"read {len(frame):,} bars into a DataFrame (median of {args.repeat}): read_bars {mine:.3f} s, "
              f"pd.read_sql {base:.3f} s ({base / mine:.1f}x faster)")
        for label, kwargs in (("resample='5m'", {"resample": "5m"}), ("adjust='splits'", {"adjust": "splits"})):
            runs = [timed(lambda: read_bars("AAPL", "1m", source="sim", database_url=url, **kwargs))[0]
                    for _ in range(args.repeat)]
            print(f"read_bars {label}: {statistics.median(runs):.3f} s")
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
