"""A database and a Redis with something of everything a page can show, for the pseudo-language
check (tests/test_i18n_pseudo.py): jobs in every state with the events and errors a real
collector writes, a series with gaps and quality findings, a Yahoo series with a split, a
dividend and a revised history, a watchlist with runs (started, waiting, skipped, with a refused
symbol), and a collector on the monitor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import select, update

from collector import N_
from collector.corporate import LedgerEntry
from collector.i18n import message_data
from collector.jobs import lifecycle
from collector.quality import Rules
from collector.sources.base import Action, Fetched
from collector.store import Series, WatchlistRun, ledger
from collector.store.chunks import SeriesKey, write_chunk
from collector.worker import Collector
from tests.helpers import JSON, sim_frame

SIM = {"source": "sim", "interval": "1h"}


@dataclass
class World:
    completed: int
    failed: int
    gave_up: int
    pending: int
    running: int
    cancelling: int
    cancelled: int
    retry: int

    @property
    def jobs(self) -> list[int]:
        return [self.completed, self.failed, self.gave_up, self.pending, self.running, self.cancelling,
                self.cancelled, self.retry]


def submit(client, symbol: str, **fields) -> int:
    answer = client.post("/jobs", data={**SIM, "symbol": symbol, **fields}, headers=JSON)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()["id"]


def build(client, settings, db, queue) -> World:
    """Jobs a collector really ran (events, errors), then the ones left in other states."""
    completed = submit(client, "AAPL", start="2024-01-01", end="2024-01-20")
    submit(client, "AAPL", start="2024-02-01", end="2024-03-01")  # the gap between them
    failed = submit(client, "MSFT", start="2024-01-01", end="2024-01-10", fail="permanent:0")
    gave_up = submit(client, "NVDA", start="2024-01-01", end="2024-01-10", fail="transient:0")
    Collector(settings, name="c1", db=db).run(burst=True)
    pending = submit(client, "TSLA", period="1mo")
    running = submit(client, "AMZN", period="1mo")
    lifecycle.claim(db, running, "c1", 4)
    queue.add_event(running, state="RUNNING", message=N_("{error} Retrying {attempt!s}/{limit!s} in {delay:.0f} s.",
        error=N_("Yahoo is limiting requests (HTTP 429 Too Many Requests)."), attempt=1, limit=5, delay=9),
                    retry="1/5", retry_at="9999999999")
    cancelling = submit(client, "META", period="1mo")
    lifecycle.claim(db, cancelling, "c1", 4)
    client.post(f"/jobs/{cancelling}/cancel", headers=JSON)
    cancelled = submit(client, "ORCL", period="1mo")
    client.post(f"/jobs/{cancelled}/cancel", headers=JSON)
    retry = client.post(f"/jobs/{failed}/retry", headers=JSON).get_json()["id"]
    client.post(f"/jobs/{failed}/dismiss", headers={})  # one failure dismissed, one kept on the banner
    _quality_finding(db)
    _yahoo_series(db, completed)
    _watchlist(client, db)
    return World(completed, failed, gave_up, pending, running, cancelling, cancelled, retry)


def _quality_finding(db) -> None:
    """A bar whose high is below its close: the OHLC check flags it."""
    frame = sim_frame("AAPL", "1h", "2024-01-10", "2024-01-11")
    frame.iloc[2, frame.columns.get_loc("high")] = frame.iloc[2]["close"] * 0.9
    with db.write() as session:
        write_chunk(session, SeriesKey("sim", "AAPL", "1h", "trades"), Fetched(frame), None, Rules())


def _yahoo_series(db, job_id: int) -> None:
    """Daily Yahoo bars, a split the series was brought in line with, a dividend it was not, and
    a revised history."""
    frame = sim_frame("AAPL", "1d", "2024-01-01", "2024-04-01")
    split = Action("split", date(2024, 2, 1), 4.0, int(pd.Timestamp("2024-02-01", tz="America/New_York").timestamp()))
    dividend = Action("dividend", date(2024, 3, 1), 0.24,
                      int(pd.Timestamp("2024-03-01", tz="America/New_York").timestamp()))
    with db.write() as session:
        write_chunk(session, SeriesKey("yahoo", "AAPL", "1d", "trades"), Fetched(frame, (split, dividend)),
                    job_id, Rules())
        series = session.scalars(select(Series).where(Series.source == "yahoo")).one()
        entries = ledger.entries(session, "yahoo", "AAPL")
        first: LedgerEntry = next(e for e in entries if e.kind == "split")
        ledger.mark_applied(session, series.id, first, job_id, "refetch", 21, 3)
        ledger.mark_revised(session, series.id, job_id, 2, int(frame.index[-2].timestamp()))


def _watchlist(client, db) -> None:
    """A run going, one waiting for it, one skipped, and a symbol the run could not collect."""
    client.post("/watchlists", data={"name": "tech", "symbols": "AAPL MSFT", **SIM, "period": "1mo",
                                     "schedule": "every", "every_minutes": "15", "market_hours_only": "true"},
                headers=JSON)
    for _ in range(3):
        client.post("/watchlists/1/run", headers=JSON)
    why = N_("Yahoo has no data for {symbol}: the symbol may be wrong or delisted", symbol="ZZZ")
    with db.write() as session:
        first = session.scalars(select(WatchlistRun).order_by(WatchlistRun.id)).first()
        session.execute(update(WatchlistRun).where(WatchlistRun.id == first.id).values(
            problems={"ZZZ": str(why)}, problems_i18n={"ZZZ": message_data(why)}))
