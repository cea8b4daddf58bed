"""A person in a real browser: headless Chromium (Debian's package) driven by Playwright,
against the real web app and real collector processes."""

import pytest

from tests.helpers import JSON, wait_for

pytestmark = pytest.mark.browser


def test_submit_follow_in_banner_until_completed(page, collectors, client, screenshots):
    collectors.start("c1")
    page.goto("/collect")
    page.fill("input[name=symbol]", "AAPL")
    page.select_option("select[name=period]", "3mo")  # redraws only the hint: nothing typed is lost
    page.select_option("select[name=interval]", "1m")
    page.fill("input[name=delay]", "1")
    page.click("button[type=submit]")
    page.locator("#submitted").get_by_text("Job #1", exact=True).wait_for()
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
    row.get_by_role("button", name=f"Cancel job #{slow['id']}").click()
    row.get_by_text("cancelling…").wait_for()
    wait_for(lambda: client.get(f"/jobs/{slow['id']}", headers=JSON).get_json()["status"] == "CANCELLED",
             message="the collector to honour the cancel")
    page.get_by_role("link", name="Cancelled").click()
    page.locator(f"tr[data-job='{slow['id']}']").get_by_text("Cancelled on request.").wait_for()

    page.goto("/jobs?tab=failed")
    failed_row = page.locator(f"tr[data-job='{broken['id']}']")
    failed_row.get_by_text("Simulated permanent failure at chunk 1.").wait_for()
    failed_row.get_by_role("button", name=f"Retry job #{broken['id']}").click()
    page.wait_for_url("**/jobs/3")
    page.get_by_text("Job #3 (BAD) queued").wait_for()

    page.goto("/jobs?tab=running")
    page.get_by_role("link", name="All").click()
    page.wait_for_url("**tab=all")
    assert page.locator("tr[data-job]").count() == 3


def test_a_job_page_follows_a_cancel_and_a_failure_waits_on_the_banner(page, collectors, client):
    collectors.start("c1")
    slow = client.post("/jobs", data={"symbol": "SLOW", "source": "sim", "interval": "1m", "period": "3mo",
                                      "delay": "1"}, headers=JSON).get_json()
    page.goto(f"/jobs/{slow['id']}")
    page.locator("#job-live .badge.running").wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#job-actions").get_by_role("button", name="Cancel").click()
    page.locator("#job-live .badge.cancelled").wait_for()  # no reload: state and buttons follow
    page.locator("#job-actions").get_by_role("button", name="Retry").wait_for()
    assert page.locator("#job-actions").get_by_role("button", name="Cancel").count() == 0

    broken = client.post("/jobs", data={"symbol": "BAD", "source": "sim", "interval": "1d", "period": "1y",
                                        "fail": "permanent:0"}, headers=JSON).get_json()
    page.goto("/collect")
    line = page.locator(f"#banner .banner-job[data-job='{broken['id']}']")
    line.get_by_text("Failed").wait_for()
    page.locator("#nav-failed").get_by_text("1", exact=True).wait_for()
    page.wait_for_timeout(16_000)  # past the 15 s a finished job stays: a failure stays until dismissed
    page.reload()
    line.get_by_role("button", name=f"Dismiss failed job #{broken['id']}").click()
    line.wait_for(state="detached")
    assert page.locator("#nav-failed").is_hidden()


def test_phone_banner_folds_into_one_line_and_stays_in_view(browser, live_server, collectors, client):
    collectors.start("c1")
    for symbol in ("AAPL", "MSFT", "NVDA"):
        client.post("/jobs", data={"symbol": symbol, "source": "sim", "interval": "1m", "period": "3mo",
                                   "delay": "1"}, headers=JSON)
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto("/jobs?tab=all")
        toggle = page.get_by_role("button", name="Jobs:")
        toggle.get_by_text("running").wait_for()  # the collector is up (no "no collector" alert)
        assert page.locator("#banner").bounding_box()["height"] < 60 and page.locator("#banner-jobs").is_hidden()
        toggle.click()
        page.locator("#banner-jobs").wait_for()
        assert toggle.get_attribute("aria-expanded") == "true"
        page.wait_for_timeout(1_500)  # the banner redraws itself: it stays open
        assert page.locator("#banner-jobs").is_visible()
        page.mouse.wheel(0, 600)
        page.wait_for_timeout(300)
        assert page.locator("#banner").bounding_box()["y"] == 0  # sticky
        label = page.locator("tr[data-job] td[data-label='State']").first
        assert page.evaluate("e => getComputedStyle(e, '::before').content", label.element_handle()) == '"State"'
    finally:
        context.close()


def test_times_switch_to_the_browsers_zone_and_stay_switched(browser, live_server, client, queue):
    """Event times follow the switch; the job's range is a range of bars, and stays in UTC like them."""
    client.post("/jobs", data={"symbol": "AAPL", "source": "sim", "interval": "1h", "start": "2024-01-02T09:30",
                               "end": "2024-01-03T16:00"}, headers=JSON)
    queue.add_event(1, state="PENDING", message="Waiting for a collector.")
    context = browser.new_context(base_url=live_server, timezone_id="Europe/Berlin")
    page = context.new_page()
    try:
        page.goto("/jobs/1")
        event, start = page.locator("#events time[data-local]").first, page.locator("time[datetime^=\"2024-01-02\"]")
        assert event.inner_text().endswith(" UTC") and start.inner_text() == "2024-01-02 09:30 UTC"
        page.get_by_role("button", name="Times in UTC").click()
        assert event.inner_text().endswith(" GMT+1") and start.inner_text() == "2024-01-02 09:30 UTC"
        page.goto("/jobs/1")  # remembered
        assert page.locator("#events time[data-local]").first.inner_text().endswith(" GMT+1")
    finally:
        context.close()


def test_the_collect_forms_own_requests_log_no_errors(page):
    """The form's hx-disabled-elt ("find button[type=submit]") was inherited by its fields'
    requests, where it finds nothing: an error in the console on every change."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/collect")
    with page.expect_response(lambda r: "/collect/" in r.url):
        page.select_option("select[name=source]", "yahoo")
    with page.expect_response(lambda r: "/collect/" in r.url):
        page.select_option("select[name=period]", "3mo")
    page.wait_for_timeout(200)
    assert errors == []
