"""Wait for the database at start-up, so `run` and `migrate` started together with
PostgreSQL (docker compose, a reboot) neither crash-loop nor print tracebacks.

One plain line per attempt, then a clear message after MDC_DB_WAIT_SECONDS:
    database not reachable at postgres:5432 (connection refused); retrying in 2 s
Errors that waiting cannot fix (a wrong password, a missing database) end the wait at once.
"""

from __future__ import annotations

import time
from typing import Callable

from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from .db import Database

BACKOFF_S = (1, 2, 4)  # then every CAP_S
CAP_S = 5

# (what the driver says, lowercased) -> the few words we say
_REASONS = (
    ("connection refused", "connection refused"),
    ("could not translate host name", "host name not found"),
    ("name or service not known", "host name not found"),
    ("failed to resolve host", "host name not found"),
    ("temporary failure in name resolution", "host name not found"),
    ("timeout", "timed out"),
    ("timed out", "timed out"),
    ("the database system is starting up", "it is starting up"),
    ("the database system is shutting down", "it is shutting down"),
    ("no route to host", "no route to host"),
)
_FINAL = ("password authentication failed", "does not exist", "no password supplied")


class DatabaseUnreachable(Exception):
    """The database did not answer within the limit, or refused us for good."""


def where(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


def reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    lowered = text.lower()
    for needle, words in _REASONS:
        if needle in lowered:
            return words
    first = text.splitlines()[0] if text else type(exc).__name__
    return first.removeprefix("connection failed: ")[:200]


def wait_for_database(db: Database, limit_s: float, say: Callable[[str], None]) -> float:
    """Return once `db` answers (the seconds it took); raise DatabaseUnreachable after `limit_s`."""
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            db.ping()
            return time.monotonic() - started
        except (OperationalError, InterfaceError) as exc:
            why = reason(exc)
            if any(final in str(exc).lower() for final in _FINAL):
                raise DatabaseUnreachable(f"the database at {where(db.url)} refused the connection: {why}. "
                                          "Check DATABASE_URL and the password (PGPASSWORD).") from None
            waited = time.monotonic() - started
            if waited >= limit_s:
                raise DatabaseUnreachable(
                    f"database not reachable at {where(db.url)} after {waited:.0f} s ({why}); giving up. "
                    "Check that it runs and that DATABASE_URL points at it "
                    "(MDC_DB_WAIT_SECONDS sets how long to wait).") from None
            delay = min(BACKOFF_S[attempt] if attempt < len(BACKOFF_S) else CAP_S, max(1, limit_s - waited))
            say(f"database not reachable at {where(db.url)} ({why}); retrying in {delay:.0f} s")
            time.sleep(delay)
            attempt += 1
