"""Source tuning knobs (MDC_YAHOO_PACING_SECONDS, MDC_IB_*) and the quiet ib_insync log."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from collector.sources.ib_pacing import PacingRules, tunable
from collector.sources.ibkr import IbkrSource
from collector.sources.yahoo import YahooSource


def test_ib_knobs_come_from_the_environment(settings, monkeypatch):
    monkeypatch.setenv("MDC_IB_PACING_SCALE", "0.01")
    monkeypatch.setenv("MDC_IB_REQUEST_TIMEOUT_SECONDS", "7")
    monkeypatch.setenv("MDC_IB_CONNECT_TIMEOUT_SECONDS", "3")
    monkeypatch.setenv("MDC_IB_RECONNECT_SECONDS", "0.5")
    src = IbkrSource(settings)
    assert src.pacer.rules == PacingRules().scaled(0.01)
    assert src.pacer.rules.window == pytest.approx(6.0) and src.pacer.rules.window_max == 60
    assert src.request_timeout == 7.0
    assert (src.connection.connect_timeout, src.connection.backoff_base) == (3.0, 0.5)


def test_ib_defaults_are_ibs_own_rules(settings, monkeypatch):
    for var in ("MDC_IB_PACING_SCALE", "MDC_IB_REQUEST_TIMEOUT_SECONDS", "MDC_IB_CONNECT_TIMEOUT_SECONDS",
                "MDC_IB_RECONNECT_SECONDS"):
        monkeypatch.delenv(var, raising=False)
    src = IbkrSource(settings)
    assert src.pacer.rules == PacingRules() and src.request_timeout == 120.0
    assert (src.connection.connect_timeout, src.connection.backoff_base) == (10.0, 1.0)


def test_a_settings_field_or_extra_wins_over_the_environment(settings, monkeypatch):
    monkeypatch.setenv("MDC_IB_PACING_SCALE", "0.5")
    assert tunable(replace(settings, extra={"ib_pacing_scale": "0.25"}), "ib_pacing_scale", 1.0,
                   low=0.0001, high=1) == 0.25
    assert tunable(settings, "ib_pacing_scale", 1.0, low=0.0001, high=1) == 0.5


@pytest.mark.parametrize("value", ["abc", "0", "2", "-1", "nan"])
def test_a_bad_knob_is_logged_and_the_default_used(settings, monkeypatch, caplog, value):
    monkeypatch.setenv("MDC_IB_PACING_SCALE", value)
    with caplog.at_level(logging.WARNING, logger="mdc.ibkr"):
        assert tunable(settings, "ib_pacing_scale", 1.0, low=0.0001, high=1) == 1.0
    assert "MDC_IB_PACING_SCALE must be a number from 0.0001 to 1" in caplog.text


def test_yahoo_pacing_from_the_environment(settings, monkeypatch, caplog):
    monkeypatch.setenv("MDC_YAHOO_PACING_SECONDS", "0.05")
    assert YahooSource(settings).pacer.spacing == 0.05
    monkeypatch.setenv("MDC_YAHOO_PACING_SECONDS", "soon")
    with caplog.at_level(logging.WARNING, logger="mdc.yahoo"):
        assert YahooSource(settings).pacer.spacing == 0.5
    assert "MDC_YAHOO_PACING_SECONDS" in caplog.text
    monkeypatch.delenv("MDC_YAHOO_PACING_SECONDS")
    assert YahooSource(settings).pacer.spacing == 0.5


def test_ib_no_data_errors_are_not_logged_other_errors_are(settings):
    IbkrSource(settings)  # installs the filter
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    logger = logging.getLogger("ib_insync.wrapper")
    handler = Keep()
    logger.addHandler(handler)
    try:
        logger.error("Error 162, reqId 7: Historical Market Data Service error message:HMDS query returned "
                     "no data: AAPL@SMART Trades, contract: Stock(symbol='AAPL')")
        logger.error("Error 162, reqId 8: Historical Market Data Service error message:Historical data "
                     "request pacing violation")
        logger.error("Error 200, reqId 9: No security definition has been found for the request")
    finally:
        logger.removeHandler(handler)
    assert len(seen) == 2 and "pacing violation" in seen[0] and seen[1].startswith("Error 200")
