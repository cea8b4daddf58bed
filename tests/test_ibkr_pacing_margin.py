"""IB counts pacing from when a request arrives, on its own clock: seen from the (fake)
Gateway's side, collectors never send more than IB's limit inside one window, even when an
early request arrives late (issue 13)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from collector.sources.base import Request
from collector.sources.ibkr.pacing import PacingRules
from collector.sources.ibkr.source import IbkrSource
from tests.fakes.ib_gateway import FakeIbGateway
from tests.test_ibkr_source import recent_weekday

WINDOW, MOST = 1.5, 3  # seconds, requests: IB's 10 minutes / 60 requests, shrunk
LAG = 0.15  # how late the first request reaches the Gateway


def test_the_request_after_a_full_window_waits_past_ibs_edge(settings, redis_client):
    rules = PacingRules(identical_window=0.05, burst_window=0.05, burst_max=50, window=WINDOW, window_max=MOST,
                        min_margin=0.4)
    with FakeIbGateway(pacing={"identical": 0.05, "burst_window": 0.05, "burst_max": 50, "window": WINDOW,
                               "window_max": MOST}) as gateway:
        gateway.lag_next(LAG)
        collectors = [IbkrSource(dataclasses.replace(settings, ib_port=gateway.port), redis=redis_client,
                                 pacing=rules, connect_timeout=2.0, request_timeout=5.0) for _ in range(2)]
        try:
            day = recent_weekday()
            request = Request("AAPL", "5s", day + timedelta(hours=14), day + timedelta(hours=18))
            for i, chunk in enumerate(collectors[0].plan(request)[:MOST + 1]):
                collectors[i % 2].fetch(request, chunk, lambda message: None)
        finally:
            for source in collectors:
                source.close()
    arrived = sorted(r.received for r in gateway.requests_for())
    assert len(arrived) == MOST + 1 and len({r.client_id for r in gateway.requests_for()}) == 2
    assert gateway.pacing_violations == 0
    assert arrived[MOST] - arrived[0] >= WINDOW  # the 4th came after the 1st left IB's window


def test_the_margin_is_one_percent_and_at_least_a_second_at_full_scale():
    rules = PacingRules()
    assert rules.padded(600) == 606 and rules.padded(15) == 16 and rules.padded(2) == 3
    fast = rules.scaled(0.01)
    assert fast.padded(fast.window) == 6.06 and round(fast.padded(fast.burst_window), 6) == 0.03
