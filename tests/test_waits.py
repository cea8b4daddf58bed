"""Jobs that wait: a cancel cuts a retry's backoff or an IB pacing wait short, and a source
that cannot be reached fails after one retry in plain words, saying meanwhile that it retries.
Real collector processes, the real yfinance and ib_insync clients, the local fakes."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e import finished, messages, submit
from tests.fakes.ib_gateway import FakeIbGateway
from tests.helpers import JSON, wait_for

UTC = timezone.utc
YAHOO_DOWN = "Cannot reach Yahoo Finance from this machine: check internet access or MDC_YAHOO_BASE_URL."


def closed_port() -> int:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def last_message(client, job_id: int) -> str:
    events = client.get(f"/jobs/{job_id}", headers=JSON).get_json()["events"]
    return events[-1]["message"] if events else ""


def cancel_and_wait(client, job_id: int) -> dict:
    """Cancel, then the job's JSON once it ended: within 10 s, where the wait it was in lasts 60."""
    assert client.post(f"/jobs/{job_id}/cancel", headers=JSON).status_code == 200
    return finished(client, job_id, timeout=10)


def test_a_cancel_ends_a_job_waiting_to_retry_at_once(client, collectors, yahoo_fake):
    collectors.start("y1", MDC_YAHOO_BASE_URL=yahoo_fake.url, MDC_YAHOO_PACING_SECONDS="0.01",
                     MDC_RETRY_BASE_SECONDS="60")
    yahoo_fake.fail_next(100, status=429)
    job = submit(client, symbol="SPY", source="yahoo", interval="1d", period="1mo")
    wait_for(lambda: "Retrying 1/5 in" in last_message(client, job["id"]), timeout=60,
             message="the job to wait before its first retry")
    ended = cancel_and_wait(client, job["id"])
    assert ended["status"] == "CANCELLED" and ended["error"] == "Cancelled on request."
    assert not [m for m in messages(ended) if "Retrying 2/5" in m]


def test_a_cancel_ends_a_job_waiting_for_ib_pacing_at_once(settings, client, collectors, redis_client):
    with FakeIbGateway() as gateway:
        collectors.start("ib1", MDC_IB_PORT=str(gateway.port), MDC_IB_REQUEST_TIMEOUT_SECONDS="5",
                         MDC_IB_CONNECT_TIMEOUT_SECONDS="2")
        # As after a pacing violation: every collector holds back IB requests for a minute.
        redis_client.set(f"{settings.key_prefix}:pacing:ib:penalty", "1", px=60_000)
        day = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
        job = submit(client, symbol="AAPL", source="ibkr", interval="1h", start=day, end=day)
        wait_for(lambda: "waiting for IB pacing" in last_message(client, job["id"]), timeout=60,
                 message="the job to wait for IB pacing")
        ended = cancel_and_wait(client, job["id"])
        collectors.stop_all()
    assert ended["status"] == "CANCELLED" and ended["rows_new"] == 0


@pytest.mark.parametrize("address", ["refused", "no such host"])
def test_unreachable_yahoo_fails_after_one_retry_in_plain_words(client, collectors, address):
    url = f"http://127.0.0.1:{closed_port()}" if address == "refused" else "http://mdc-test.invalid"
    collectors.start("y1", MDC_YAHOO_BASE_URL=url, MDC_RETRY_BASE_SECONDS="0.5")
    job = finished(client, submit(client, symbol="SPY", source="yahoo", interval="1d", period="1mo")["id"])
    assert job["status"] == "FAILED" and job["error"] == YAHOO_DOWN
    retries = [e for e in job["events"] if "Retrying" in e["message"]]
    assert len(retries) == 1 and retries[0]["message"].startswith(YAHOO_DOWN + " Retrying 1/1 in")
    assert retries[0]["retry"] == "1/1" and float(retries[0]["retry_at"]) > retries[0]["ts"]
