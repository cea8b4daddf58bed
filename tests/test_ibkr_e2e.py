"""IBKR end to end: jobs submitted through the HTTP API (as curl or the form sends them),
run by real collector processes with the real ib_insync client, against the fake IB
Gateway running in this process. IB's pacing windows are scaled down
(MDC_IB_PACING_SCALE) so nothing waits for minutes."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e import (
    assert_same_bars,
    chunk_numbers,
    finished,
    messages,
    refused,
    stored_bars,
    submit,
    wait_alive,
    when,
)
from tests.fakes.ib_gateway import NO_DATA_TEXT, NO_PERMISSION_TEXT, PACING_TEXT, FakeIbGateway

UTC = timezone.utc
# IB's windows a thousand times shorter (15 s -> 15 ms, 10 min -> 0.6 s); short timeouts.
FAST = {"MDC_IB_PACING_SCALE": "0.001", "MDC_IB_REQUEST_TIMEOUT_SECONDS": "5",
        "MDC_IB_CONNECT_TIMEOUT_SECONDS": "2", "MDC_IB_RECONNECT_SECONDS": "0.05"}


@pytest.fixture
def gateway():
    with FakeIbGateway() as fake:
        yield fake


@pytest.fixture
def settings(settings, gateway):
    """Every process of the test (web app, collectors) talks to the fake gateway."""
    return replace(settings, ib_port=gateway.port)


@pytest.fixture
def collector(collectors):
    return collectors.start("ib1", **FAST)


def recent_wednesday() -> datetime:
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=7)
    while day.weekday() != 2:
        day -= timedelta(days=1)
    return day


def one_day(**form) -> dict:
    day = recent_wednesday().date().isoformat()
    return {"symbol": "AAPL", "source": "ibkr", "interval": "5s", "start": day, "end": day, **form}


def test_a_day_of_five_second_bars_for_aapl(client, collector, gateway, db):
    job = finished(client, submit(client, **one_day())["id"])

    assert job["status"] == "COMPLETED", job["error"]
    start, end = when(job["start"]), when(job["end"])
    assert end - start == timedelta(days=1)
    expected = gateway.expected_bars("AAPL", "TRADES", 5, start, end)
    got = stored_bars(db, "ibkr", "AAPL", "5s", "trades")
    assert_same_bars(got, expected)
    assert len(got) == 6.5 * 3600 / 5
    assert got.index.min().tz_convert("America/New_York").strftime("%H:%M") == "09:30"  # stored in UTC
    assert job["rows_new"] == len(expected) and job["options"]["rth"] is True
    # only the 6.5 trading hours are asked for, an hour at a time: 7 requests, not 24
    assert job["progress"] == {"done": 7, "total": 7}
    assert chunk_numbers(job) == [(k, 7) for k in range(1, 8)]
    sent = gateway.requests_for()
    assert len(sent) == 7 and {(r.duration, r.bar_size, r.format_date) for r in sent} == {("3600 S", "5 secs", 2)}
    assert all(r.end_raw.endswith(" UTC") for r in sent)


def test_daily_bars_for_a_year(client, collector, gateway, db):
    job = finished(client, submit(client, symbol="MSFT", source="ibkr", interval="1d", period="1y")["id"])

    assert job["status"] == "COMPLETED", job["error"]
    expected = gateway.expected_bars("MSFT", "TRADES", 86400, when(job["start"]), when(job["end"]))
    got = stored_bars(db, "ibkr", "MSFT", "1d", "trades")
    assert_same_bars(got, expected)
    assert (got.index.hour == 0).all() and len(got) > 250
    (sent,) = gateway.requests_for()
    assert (sent.duration, sent.bar_size) == ("1 Y", "1 day")


def test_midpoint_and_all_hours_from_form_fields(client, collector, gateway, db):
    body = submit(client, **one_day(interval="1h", what_to_show="midpoint", rth="false"))
    assert body["kind"] == "midpoint_eth" and body["options"]["rth"] is False
    job = finished(client, body["id"])
    assert job["status"] == "COMPLETED", job["error"]
    expected = gateway.expected_bars("AAPL", "MIDPOINT", 3600, when(job["start"]), when(job["end"]), rth=False)
    assert_same_bars(stored_bars(db, "ibkr", "AAPL", "1h", "midpoint_eth"), expected)
    assert gateway.requests_for()[0].use_rth is False


@pytest.mark.parametrize("value, rth", [(None, True), ("on", True), ("y", True), ("", True), ("true", True),
                                        ("false", False), ("0", False), ("off", False)])
def test_rth_values_a_form_or_curl_may_send(client, value, rth):
    form = one_day(interval="1h") if value is None else one_day(interval="1h", rth=value)
    body = submit(client, **form)
    assert body["options"]["rth"] is rth and body["kind"] == ("trades" if rth else "trades_eth")


def test_bad_options_and_limits_are_refused_at_submit(client):
    assert "what_to_show" in refused(client, **one_day(what_to_show="sideways"))
    assert "rth" in refused(client, **one_day(rth="maybe"))
    assert "currency" in refused(client, **one_day(currency="dollars"))
    errors = refused(client, **one_day(start="2020-01-02", end="2020-01-02"))
    assert errors["start"].startswith("IB keeps 5-second bars for the last 6 months only: choose a start after")
    assert "does not offer 90m bars" in refused(client, **one_day(interval="90m"))["interval"]


# -- errors ------------------------------------------------------------------------------


def test_a_pacing_violation_is_waited_out_and_retried(client, collector, gateway, db):
    gateway.fail_next(162, PACING_TEXT)
    job = finished(client, submit(client, **one_day(interval="1h"))["id"])
    assert job["status"] == "COMPLETED", job["error"]
    assert any("IB reported a pacing violation for AAPL" in m and "Retrying" in m for m in messages(job))
    assert len(gateway.requests_for()) == 2 and job["rows_new"] == 6


def test_no_data_for_one_chunk_completes_it_with_no_rows(client, collector, gateway, db):
    gateway.fail_next(162, NO_DATA_TEXT.format("AAPL", "Trades"))  # the newest chunk
    day = recent_wednesday()
    form = one_day(start=f"{day:%Y-%m-%d}T14:00", end=f"{day:%Y-%m-%d}T17:00")
    job = finished(client, submit(client, **form)["id"])
    assert job["status"] == "COMPLETED", job["error"]
    assert chunk_numbers(job) == [(1, 3), (2, 3), (3, 3)]
    assert messages(job)[1].startswith("Chunk 1 of 3: 0 new")
    expected = gateway.expected_bars("AAPL", "TRADES", 5, day + timedelta(hours=14), day + timedelta(hours=16))
    assert_same_bars(stored_bars(db, "ibkr", "AAPL", "5s", "trades"), expected)
    assert len(gateway.requests_for()) == 3  # not retried
    assert "HMDS query returned no data" not in collector.log_path.read_text()  # quieted


@pytest.mark.parametrize("inject, form, error", [
    ((162, NO_PERMISSION_TEXT), {}, "No market data permissions for AAPL on this IB account (IB error 162: "
                                    + NO_PERMISSION_TEXT + ")"),
    (None, {"symbol": "ZZZZ"}, "IB has no security definition for ZZZZ: check the symbol, currency and "
                               "primary exchange"),
    ((200, "No security definition has been found for the request"), {},
     "IB has no security definition for AAPL: check the symbol, currency and primary exchange"),
    ((321, "Error validating request.-'bX' : cause - Invalid bar size"), {},
     "IB rejected the request for AAPL (error 321): Error validating request.-'bX' : cause - Invalid bar size"),
])
def test_permanent_errors_fail_the_job_with_ibs_reason(client, collector, gateway, inject, form, error):
    if inject:
        gateway.fail_next(*inject)
    job = finished(client, submit(client, **one_day(interval="1h", **form))["id"])
    assert job["status"] == "FAILED" and job["error"] == error
    assert not [m for m in messages(job) if "Retrying" in m]


def test_gateway_not_running_says_so_then_fails(client, collectors):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    collectors.start("ib1", MDC_MAX_RETRIES="5", **{**FAST, "MDC_IB_PORT": str(port)})
    job = finished(client, submit(client, **one_day(interval="1h"))["id"])
    unreachable = (f"Cannot reach IB Gateway at 127.0.0.1:{port} from this machine: check that TWS or IB "
                   "Gateway is running with the API enabled, or MDC_IB_HOST and MDC_IB_PORT.")
    assert job["status"] == "FAILED" and job["error"] == unreachable  # one retry, not five
    retries = [m for m in messages(job) if m.startswith(unreachable + " Retrying")]
    assert len(retries) == 1 and retries[0].startswith(unreachable + " Retrying 1/1 in")


def test_reconnects_after_a_dropped_connection(client, collector, gateway, db):
    gateway.drop_next()  # the socket closes under the first request
    first = finished(client, submit(client, **one_day(interval="1h"))["id"])
    assert first["status"] == "COMPLETED", first["error"]
    assert any("closed the connection" in m or "Lost the connection" in m for m in messages(first))
    assert len(gateway.client_ids) == 2

    gateway.drop_connections()  # a drop while the collector is idle between jobs
    second = finished(client, submit(client, **one_day(interval="1h", symbol="MSFT"))["id"])
    assert second["status"] == "COMPLETED", second["error"]
    assert second["rows_new"] == 6 and len(gateway.client_ids) == 3


def test_two_collectors_share_ib_pacing(settings, client, collectors, db):
    # Scale 0.005: at most 60 small-bar requests per 3 s across both collectors. The fake
    # gateway enforces a slightly shorter window and counts violations.
    rules = {"identical": 0.07, "burst_window": 0.005, "burst_max": 5, "window": 2.5, "window_max": 60}
    with FakeIbGateway(pacing=rules) as gateway:
        env = {**FAST, "MDC_IB_PACING_SCALE": "0.005", "MDC_IB_PORT": str(gateway.port)}
        collectors.start("ib1", **env)
        collectors.start("ib2", **env)
        wait_alive(settings, {"ib1", "ib2"})
        # all hours (04:00-20:00 New York): 4 x 16 requests, more than the 60 a window allows
        bodies = submit(client, **one_day(symbol="AAPL, MSFT, IBM, SPY", rth="false"))
        jobs = [finished(client, body["id"], timeout=60) for body in bodies]
        assert [j["status"] for j in jobs] == ["COMPLETED"] * 4, [j["error"] for j in jobs]
        sent = gateway.requests_for()
    assert len(sent) == 64 and gateway.pacing_violations == 0
    assert {j["collector"] for j in jobs} == {"ib1", "ib2"}
    assert len({r.client_id for r in sent}) == 2  # each collector has its own client id
    times = sorted(r.received for r in sent)
    assert times[60] - times[0] >= 2.5  # never more than 60 in the window
    if times[59] - times[0] < 2.0:  # not on a machine so busy that the window never filled
        # the 61st request was held back for a second or more, and the job said so
        assert any(m.startswith("waiting for IB pacing, resumes in") for j in jobs for m in messages(j))
    for job in jobs:
        symbol = job["symbol"]
        assert_same_bars(stored_bars(db, "ibkr", symbol, "5s", "trades_eth"),
                         gateway.expected_bars(symbol, "TRADES", 5, when(job["start"]), when(job["end"]), rth=False))
