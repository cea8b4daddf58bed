"""The Yahoo source reports the splits and dividends in Yahoo's answers (real yfinance against
the fake, whose history is adjusted as of its clock)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from collector.sources.base import Action, Request
from collector.sources.yahoo.source import YahooSource
from tests.test_yahoo_source import assert_same_bars, utc


@pytest.fixture
def source(settings, yahoo_fake):
    src = YahooSource(replace(settings, yahoo_base_url=yahoo_fake.url), pacing_seconds=0)
    yield src
    src.close()


def test_splits_and_dividends_come_with_the_bars(source, yahoo_fake):
    yahoo_fake.add_split("NVDA", date(2025, 6, 10), 4)
    yahoo_fake.add_dividend("NVDA", date(2025, 6, 20), 0.25)
    request = Request("NVDA", "1d", utc(2025, 6, 1), utc(2025, 7, 1))
    fetched = source.fetch(request, source.plan(request)[0], lambda m: None)
    new_york = pd.Timestamp("2025-06-10", tz="America/New_York")
    assert fetched.actions == (
        Action("split", date(2025, 6, 10), 4.0, int(new_york.timestamp())),
        Action("dividend", date(2025, 6, 20), 0.25, int(pd.Timestamp("2025-06-20", tz="America/New_York").timestamp())))
    assert_same_bars(fetched.bars, yahoo_fake.expected_bars("NVDA", "1d", request.start, request.end))
    hourly = Request("NVDA", "1h", utc(2025, 6, 9), utc(2025, 6, 12))
    assert source.fetch(hourly, source.plan(hourly)[0], lambda m: None).actions[0].ex_date == date(2025, 6, 10)
    outside = Request("NVDA", "1d", utc(2025, 7, 1), utc(2025, 8, 1))
    assert source.fetch(outside, source.plan(outside)[0], lambda m: None).actions == ()
    # asked on their own: one daily request over the span
    yahoo_fake.clear()
    assert [a.kind for a in source.actions("NVDA", utc(2025, 1, 1), utc(2025, 12, 31), lambda m: None)] == [
        "split", "dividend"]
    assert [r["params"]["interval"] for r in yahoo_fake.chart_requests("NVDA")] == ["1d"]


def test_splits_yahoo_has_not_seen_yet_are_not_reported(source, yahoo_fake):
    yahoo_fake.add_split("NVDA", date(2025, 6, 10), 4)
    yahoo_fake.now = utc(2025, 6, 5, 22)
    request = Request("NVDA", "1d", utc(2025, 6, 1), utc(2025, 7, 1))
    fetched = source.fetch(request, source.plan(request)[0], lambda m: None)
    assert fetched.actions == () and fetched.bars.index[-1] == pd.Timestamp("2025-06-05", tz="UTC")
    assert_same_bars(fetched.bars, yahoo_fake.expected_bars("NVDA", "1d", request.start, request.end))
