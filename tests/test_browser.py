"""A person in a real browser: headless Chromium (Debian's package) driven by Playwright,
against the real web app and real collector processes."""

import pytest

from tests.helpers import JSON, wait_for

pytestmark = pytest.mark.browser


def settle(page):
    """Wait until no htmx request is in flight (the form redraws its source fields)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def test_submit_follow_in_banner_until_completed(page, collectors, client, screenshots):
    collectors.start("c1")
    page.goto("/collect")
    page.fill("input[name=symbol]", "AAPL")
    page.select_option("select[name=period]", "3mo")
    settle(page)
    page.select_option("select[name=interval]", "1m")
    settle(page)
    page.fill("input[name=delay]", "1")
    page.click("button[type=submit]")
    page.get_by_text("Job #1 (AAPL) queued — follow it in the banner").wait_for()
    banner_job = page.locator("#banner .banner-job[data-job='1']")
    banner_job.get_by_text("Running").wait_for()
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots / "collect.png"))
    first = banner_job.locator(".progress").get_attribute("aria-valuenow")
    wait_for(lambda: int(banner_job.locator(".progress").get_attribute("aria-valuenow") or 0) > int(first or 0),
             timeout=30, message="banner progress to move")
    page.goto("/jobs?tab=all")  # the job may already be done on a busy machine: All always lists it
    page.locator("tr[data-job='1']").wait_for()
    page.screenshot(path=str(screenshots / "jobs-running.png"))
    page.goto("/jobs/1")
    page.locator("#events li").nth(2).wait_for()
    page.locator("#job-live .badge.completed").wait_for(timeout=30_000)  # no reload: the live block updates itself
    page.locator("#banner .banner-job[data-job='1']").get_by_text("Completed").wait_for()
    page.screenshot(path=str(screenshots / "job-detail.png"), full_page=True)
    assert "Completed:" in page.locator("#events").inner_text()


def test_cancel_retry_and_tabs(page, collectors, client):
    collectors.start("c1")
    slow = client.post("/jobs", data={"symbol": "SLOW", "source": "sim", "interval": "1m", "period": "3mo",
                                      "delay": "1"}, headers=JSON).get_json()
    broken = client.post("/jobs", data={"symbol": "BAD", "source": "sim", "interval": "1d", "period": "1y",
                                        "fail": "permanent:0"}, headers=JSON).get_json()
    assert broken["status"] == "PENDING"
    page.goto("/jobs?tab=running")
    row = page.locator(f"tr[data-job='{slow['id']}']")
    row.get_by_text("Running").wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Cancel").click()
    page.get_by_text(f"Job #{slow['id']} stops after its current chunk.").wait_for()
    row.get_by_text("cancelling…").wait_for()
    wait_for(lambda: client.get(f"/jobs/{slow['id']}", headers=JSON).get_json()["status"] == "CANCELLED",
             message="the collector to honour the cancel")
    page.get_by_role("link", name="Cancelled").click()
    page.locator(f"tr[data-job='{slow['id']}']").get_by_text("Cancelled on request.").wait_for()

    page.goto("/jobs?tab=failed")
    failed_row = page.locator(f"tr[data-job='{broken['id']}']")
    failed_row.get_by_text("Simulated permanent failure at chunk 1.").wait_for()
    failed_row.get_by_role("button", name="Retry").click()
    page.wait_for_url("**/jobs/3")
    page.get_by_text("Job #3 (BAD) queued").wait_for()

    page.goto("/jobs?tab=running")
    page.get_by_role("link", name="All").click()
    page.wait_for_url("**tab=all")
    assert page.locator("tr[data-job]").count() == 3
