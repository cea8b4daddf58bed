"""The monitor page in a real browser, with two live collectors, one of them killed."""

import signal

import pytest

from tests.helpers import JSON, wait_for

pytestmark = pytest.mark.browser


def test_monitor_shows_live_collectors_queue_figures_and_a_dead_one(page, collectors, client, screenshots):
    ttl = {"MDC_HEARTBEAT_TTL_SECONDS": "1.5"}  # a silent collector counts as dead after 1.5 s
    survivor = collectors.start("alpha", **ttl)
    victim = collectors.start("beta", **ttl)
    client.post("/jobs", data={"symbol": "AAPL,MSFT", "source": "sim", "interval": "1m", "period": "3mo",
                               "delay": "0.5"}, headers=JSON)
    page.goto("/monitor")
    for name in ("alpha", "beta"):
        page.locator(f"tr[data-collector='{name}'].alive").wait_for()
    page.locator("tr[data-collector] a[href^='/jobs/']").first.wait_for()  # a link to a current job
    assert "Work stream" in page.content() and "append-only file on" in page.content()
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots / "monitor.png"), full_page=True)

    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    # no reload: the live block refreshes itself every 2 s
    page.locator("tr[data-collector='beta'].dead").get_by_text("Dead").wait_for(timeout=20_000)
    assert page.locator("tr[data-collector='alpha'].alive").count() == 1
    assert survivor.poll() is None
    wait_for(lambda: page.locator(".stat .n").nth(2).inner_text() != "0", timeout=30,
             message="completed jobs to show in the summary")
