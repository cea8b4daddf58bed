"""Engine and sessions. SQLite runs in WAL mode with a busy timeout and takes the write
lock at BEGIN for writing transactions, so the web app and several collectors write at
once without "database is locked"; PostgreSQL needs none of that."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

log = logging.getLogger("mdc.db")

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10
_WRITE = "mdc_write"


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # libpq waits forever for a host that drops packets; a bound wait lets callers retry.
        connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        return create_engine(url, pool_pre_ping=True, future=True, connect_args=connect_args)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                              "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A deferred transaction that later writes can fail at once with SQLITE_BUSY
        # (the busy timeout does not apply to lock upgrades); IMMEDIATE waits instead.
        if not conn.get_execution_options().get(_WRITE, False):
            conn.exec_driver_sql("BEGIN")
            return
        _begin_immediate(conn.connection.driver_connection)

    return engine


def _begin_immediate(raw) -> None:
    """BEGIN IMMEDIATE, polling for the write lock.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries, so a waiter
    keeps missing a lock that is held for about a millisecond (measured: submits took 22-30 ms
    instead of 3 ms while collectors wrote). Poll from 0.2 ms, backing off to 5 ms so a long
    hold costs little CPU, up to the same 30 s deadline.
    """
    raw.execute("PRAGMA busy_timeout=0")
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.0002
    try:
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(0.005, pause * 1.5)
    finally:
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


class Database:
    """One per process: an engine plus read and write sessions."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._write_engine = self.engine.execution_options(**{_WRITE: True})

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on error."""
        with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (safe to run every start)."""
        from .migrate import upgrade

        upgrade(self.engine)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.engine.dispose()


def driver_sql(sql: str, dialect: str) -> str:
    """SQL written with :name parameters, in the style the database driver takes."""
    return re.sub(r":(\w+)", r"%(\1)s", sql) if dialect == "postgresql" else sql


def is_outage(exc: BaseException) -> bool:
    """True for database trouble that passes (server restarted or unreachable, lock
    timeouts, a connection dropped), as opposed to a bug or bad data."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def retry_db(fn, *, attempts: int = 10, base: float = 0.05, cap: float = 2.0, on_retry=None):
    """Run fn(), retrying database outages (PostgreSQL restart, lock timeouts) with backoff.

    About 10 s of patience (SQLite's busy timeout comes on top); after that the error
    goes to the caller, whose job stays claimable (see worker)."""
    for attempt in range(attempts):
        try:
            return fn()
        except DBAPIError as exc:
            if not is_outage(exc) or attempt == attempts - 1:
                raise
            delay = min(cap, base * 2 ** attempt)
            log.warning("database unavailable (%s); retrying in %.2f s", _first_line(exc), delay)
            if on_retry:
                on_retry(exc, attempt)
            time.sleep(delay)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
