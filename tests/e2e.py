"""Helpers for end-to-end tests: submit through the HTTP API exactly as curl does
(form-encoded, Accept: application/json), follow the job, read back the stored bars."""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd
from sqlalchemy import select

from collector.sources.base import BAR_COLUMNS
from collector.store.models import Bar, Series
from tests.helpers import JSON, wait_for

TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


def submit(client, **form) -> dict:
    """POST /jobs like `curl -H 'Accept: application/json' -d k=v ...`; the 201 body."""
    response = client.post("/jobs", data=form, headers=JSON)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def refused(client, **form) -> dict:
    """POST /jobs expecting 422; the field errors."""
    response = client.post("/jobs", data=form, headers=JSON)
    assert response.status_code == 422, response.get_json()
    return response.get_json()["errors"]


def finished(client, job_id: int, timeout: float = 60.0) -> dict:
    """GET /jobs/<id> until the job is COMPLETED, FAILED or CANCELLED; its JSON with events.

    On a timeout the assertion shows where the job got to, so a slow or stuck run explains itself.
    """
    last: dict = {}

    def done():
        last.update(client.get(f"/jobs/{job_id}", headers=JSON).get_json())
        return dict(last) if last["status"] in TERMINAL else None

    try:
        return wait_for(done, timeout=timeout, interval=0.1, message=f"job {job_id} to finish")
    except AssertionError as exc:
        state = {k: last.get(k) for k in ("status", "progress", "collector", "error")}
        raise AssertionError(f"{exc}; it is {state}, events: {messages(last)[-5:] if last else []}") from None


def wait_alive(settings, names: set[str], timeout: float = 60.0) -> None:
    """Until every named collector has sent a heartbeat (so work is shared from the start)."""
    import redis

    from collector.queue.registry import Registry

    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        registry = Registry(client, settings.key_prefix)
        wait_for(lambda: all(registry.alive(n) for n in names), timeout=timeout, interval=0.1,
                 message=f"collectors {sorted(names)} to beat")
    finally:
        client.close()


def messages(job: dict) -> list[str]:
    return [e["message"] for e in job.get("events") or []]


def chunk_numbers(job: dict) -> list[tuple[int, int]]:
    """(k, N) of every "Chunk k of N: ..." progress event, in order."""
    found = []
    for message in messages(job):
        if m := re.match(r"Chunk (\d+) of (\d+):", message):
            found.append((int(m.group(1)), int(m.group(2))))
    return found


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def stored_bars(db, source: str, symbol: str, interval: str, kind: str) -> pd.DataFrame:
    """One series as the frame sources return: UTC "ts" index, BAR_COLUMNS, NaN for NULL."""
    with db.read() as session:
        rows = session.execute(
            select(Bar.ts, Bar.open, Bar.high, Bar.low, Bar.close, Bar.volume, Bar.wap, Bar.trades)
            .join(Series, Series.id == Bar.series_id)
            .where(Series.source == source, Series.symbol == symbol, Series.interval == interval,
                   Series.kind == kind)
            .order_by(Bar.ts)).all()
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=("ts",) + BAR_COLUMNS)
    index = pd.to_datetime(frame["ts"].astype("int64"), unit="s", utc=True)
    frame.index = pd.DatetimeIndex(index, name="ts").as_unit("ns")
    return frame.drop(columns="ts").astype("float64")


def assert_same_bars(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert len(expected) > 0
    expected = expected.copy()
    expected.index = expected.index.as_unit("ns")
    expected["volume"] = expected["volume"].fillna(0.0)  # stored as 0 when a source has none (bars.py)
    pd.testing.assert_frame_equal(got, expected, check_freq=False, check_dtype=False, rtol=1e-12)
