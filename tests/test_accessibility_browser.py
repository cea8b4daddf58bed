"""Every page through axe-core in headless Chromium, light and dark, desktop and phone: no
serious or critical violation (contrast included). Then the keyboard alone: skip link, the
collect form without losing focus, focus on the summary after a submit."""

import json

import pytest

from collector.jobs import lifecycle
from collector.store.models import JobStatus
from tests.helpers import JSON, accessibility_problems, end_job, sim_frame, store_bars

pytestmark = pytest.mark.browser

PAGES = ["/collect", "/jobs?tab=running", "/jobs?tab=completed", "/jobs?tab=failed", "/jobs?tab=cancelled",
         "/jobs?tab=all", "/jobs/1", "/jobs/2", "/jobs/3", "/data", "/data/sim/AAPL/1h?kind=trades",
         "/data/sim/AAPL/1h?range=1w", "/data/sim/AAPL/1h/delete", "/monitor", "/jobs/999"]


@pytest.fixture
def jobs_in_every_state(client, db, queue):
    store_bars(db, sim_frame("AAPL", "1h", "2024-01-01", "2024-03-01"))
    form = {"source": "sim", "interval": "1h", "start": "2024-01-01", "end": "2024-03-01"}
    running = client.post("/jobs", data={**form, "symbol": "AAPL"}, headers=JSON).get_json()["id"]
    lifecycle.claim(db, running, "c1")
    lifecycle.set_total(db, running, "c1", 4)
    queue.add_event(running, state="RUNNING", message="Retrying 1/5 in 9 s.", retry="1/5", retry_at="9999999999")
    failed = client.post("/jobs", data={**form, "symbol": "MSFT"}, headers=JSON).get_json()["id"]
    end_job(db, failed, JobStatus.FAILED, "Simulated permanent failure at chunk 1.")
    done = client.post("/jobs", data={**form, "symbol": "NVDA"}, headers=JSON).get_json()["id"]
    end_job(db, done, JobStatus.COMPLETED)
    client.post("/jobs", data={**form, "symbol": "TSLA"}, headers=JSON)  # pending
    return running, failed, done


@pytest.mark.parametrize("scheme,width", [("light", 1280), ("dark", 1280), ("light", 390), ("dark", 390)])
def test_every_page_has_no_serious_accessibility_problem(browser, live_server, jobs_in_every_state, scheme, width,
                                                        screenshots):
    context = browser.new_context(viewport={"width": width, "height": 844}, base_url=live_server, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems = {}
    try:
        for url in PAGES:
            page.goto(url)
            page.wait_for_load_state("networkidle")
            if found := accessibility_problems(page):
                problems[url] = found
            if url == "/jobs?tab=all" and (scheme, width) in (("dark", 1280), ("light", 390)):
                screenshots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshots / ("dark-jobs.png" if scheme == "dark" else "phone-jobs.png")))
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                problems.setdefault(url, []).append(f"{overflow} px wider than the {width} px screen")
    finally:
        context.close()
    assert problems == {}, json.dumps(problems, indent=1)


def test_keyboard_alone_skip_link_form_and_focus_after_submit(page, collectors):
    page.goto("/collect")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.focus("#field-symbol")
    page.keyboard.type("AAPL, MSFT")
    page.focus("#field-interval")
    page.keyboard.press("ArrowDown")  # a change of interval redraws only the hint: focus stays
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    assert page.evaluate("document.activeElement.id") == "field-interval"
    page.focus("#field-start")
    page.keyboard.type("01022020")  # typing a date chooses "custom"
    assert page.eval_on_selector("#field-period", "e => e.value") == "custom"
    page.focus("#field-end")
    page.keyboard.type("01032020")
    page.focus("#field-symbol")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'submitted'")  # focus moves once htmx settles
    assert "Jobs #1–#2" in page.locator("#submitted").inner_text()
    page.fill("#field-symbol", "A$")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.classList.contains('error-summary')")
