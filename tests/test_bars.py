"""Bulk bar upsert on SQLite and PostgreSQL: counts of new, updated and unchanged rows."""

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from collector.store import Bar, Series, upsert_bars

pytestmark = pytest.mark.both_databases  # every test runs on SQLite and on PostgreSQL


def frame(n=100, start="2024-01-02 14:30", freq="1min", price=100.0):
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="ts")
    close = price + np.arange(n) * 0.01
    return pd.DataFrame({"open": close, "high": close + 0.1, "low": close - 0.1, "close": close,
                         "volume": np.arange(n, dtype=float), "wap": np.nan, "trades": np.nan}, index=index)


def upsert(db, f, kind="trades"):
    with db.write() as session:
        return upsert_bars(session, source="sim", symbol="AAPL", interval="1m", kind=kind, frame=f)


def test_new_then_unchanged_then_updated(db):
    f = frame()
    first = upsert(db, f)
    assert (first.new, first.updated, first.unchanged) == (100, 0, 0)
    again = upsert(db, f)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 100)
    changed = f.copy()
    changed.iloc[:7, changed.columns.get_loc("close")] += 1
    result = upsert(db, changed)
    assert (result.new, result.updated, result.unchanged) == (0, 7, 93)
    with db.read() as session:
        stored = session.scalars(select(Bar.close).order_by(Bar.ts)).all()
    assert stored[:7] == pytest.approx(list(changed["close"][:7]))


def test_overlap_counts_new_and_unchanged(db):
    upsert(db, frame(100))
    result = upsert(db, frame(150))
    assert (result.new, result.updated, result.unchanged) == (50, 0, 100)
    with db.read() as session:
        series = session.scalars(select(Series)).one()
    assert series.bar_count == 150
    assert series.first_ts == int(pd.Timestamp("2024-01-02 14:30", tz="UTC").timestamp())


def test_kinds_never_overwrite_each_other(db):
    upsert(db, frame(10, price=100), kind="trades")
    result = upsert(db, frame(10, price=200), kind="midpoint")
    assert result.new == 10
    with db.read() as session:
        closes = session.execute(select(Series.kind, Bar.close).join(Bar, Bar.series_id == Series.id)
                                 .where(Bar.ts == int(pd.Timestamp("2024-01-02 14:30", tz="UTC").timestamp()))).all()
    assert dict(closes) == {"trades": 100.0, "midpoint": 200.0}


def test_missing_prices_dropped_duplicates_collapsed_optional_columns_null(db):
    f = frame(5)
    f.iloc[1, f.columns.get_loc("close")] = np.nan
    f = pd.concat([f, f.iloc[[4]]])  # a duplicated timestamp
    f["wap"] = [1.0, np.nan, 2.0, np.nan, 3.0, 3.0]
    result = upsert(db, f)
    assert result.total == 4
    with db.read() as session:
        waps = session.scalars(select(Bar.wap).order_by(Bar.ts)).all()
    assert waps == [1.0, 2.0, None, 3.0]


def test_empty_frame_is_a_no_op(db):
    assert upsert(db, frame(0)).total == 0
