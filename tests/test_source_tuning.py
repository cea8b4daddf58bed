"""Source tuning knobs (MDC_YAHOO_PACING_SECONDS, MDC_IB_*) and the quiet ib_insync log."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from collector.settings import Settings, SettingsError
from collector.sources.ibkr.pacing import PacingRules
from collector.sources.ibkr.source import IbkrSource
from collector.sources.yahoo.source import YahooSource


def test_ib_knobs_come_from_settings(settings):
    tuned = Settings.from_env({"MDC_IB_PACING_SCALE": "0.01", "MDC_IB_REQUEST_TIMEOUT_SECONDS": "7",
                               "MDC_IB_CONNECT_TIMEOUT_SECONDS": "3", "MDC_IB_RECONNECT_SECONDS": "0.5"},
                              redis_url=settings.redis_url, data_dir=settings.data_dir)
    src = IbkrSource(tuned)
    assert src.pacer.rules == PacingRules().scaled(0.01)
    assert src.pacer.rules.window == pytest.approx(6.0) and src.pacer.rules.window_max == 60
    assert src.request_timeout == 7.0
    assert (src.connection.connect_timeout, src.connection.backoff_base) == (3.0, 0.5)


def test_ib_defaults_are_ibs_own_rules(settings):
    src = IbkrSource(settings)
    assert src.pacer.rules == PacingRules() and src.request_timeout == 120.0
    assert (src.connection.connect_timeout, src.connection.backoff_base) == (10.0, 1.0)


@pytest.mark.parametrize("var, value, message", [
    ("MDC_IB_PACING_SCALE", "2", "above 0 and at most 1"),
    ("MDC_IB_PACING_SCALE", "abc", "must be a number"),
    ("MDC_IB_REQUEST_TIMEOUT_SECONDS", "0", "greater than 0"),
    ("MDC_YAHOO_PACING_SECONDS", "-1", "0 or more"),
])
def test_a_bad_knob_is_refused_with_its_name(var, value, message):
    with pytest.raises(SettingsError, match=f"{var} (must be )?{message}"):
        Settings.from_env({var: value})


@pytest.mark.parametrize("env, message", [
    ({"MDC_HEARTBEAT_SECONDS": "nan"}, "MDC_HEARTBEAT_SECONDS must be a number written with the digits 0-9"),
    ({"MDC_HEARTBEAT_SECONDS": "inf"}, "MDC_HEARTBEAT_SECONDS must be a number"),
    ({"MDC_SIM_MAX_DELAY_SECONDS": "1e999"}, "MDC_SIM_MAX_DELAY_SECONDS must be a finite number"),
    ({"MDC_MAX_RETRIES": "\u0661"}, "MDC_MAX_RETRIES must be a whole number written with the digits 0-9"),
    ({"MDC_MAX_RETRIES": "\uff11"}, "MDC_MAX_RETRIES must be a whole number"),
    ({"MDC_HEARTBEAT_TTL_SECONDS": "1"}, r"MDC_HEARTBEAT_TTL_SECONDS \(1\) must be at least twice MDC_HEARTBEAT_SECONDS"),
    ({"MDC_HEARTBEAT_SECONDS": "10", "MDC_CLAIM_IDLE_SECONDS": "15", "MDC_HEARTBEAT_TTL_SECONDS": "30"},
     "MDC_CLAIM_IDLE_SECONDS .* must be at least twice"),
    ({"MDC_AUTH_TOKEN": "abcdefghijklmnopqrstu "}, "MDC_AUTH_TOKEN contains a space"),
    ({"MDC_AUTH_TOKEN": " " * 22}, "MDC_AUTH_TOKEN contains a space"),
])
def test_settings_that_would_run_badly_are_refused_with_the_reason(env, message):
    """Each of these was accepted: a heartbeat of NaN busy-looped, infinity killed the heartbeat
    thread, a TTL shorter than the beat made collectors flap, a token with a trailing space
    could never be typed, and int() read Arabic-Indic digits."""
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_yahoo_pacing_from_settings(settings):
    assert YahooSource(replace(settings, yahoo_pacing_seconds=0.05)).pacer.spacing == 0.05
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
