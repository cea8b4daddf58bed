"""A person keeps three simulated series current from the browser: create the watchlist,
Run now, watch the run's one line on the banner reach Completed, see every symbol current."""

import pytest

pytestmark = pytest.mark.browser


def test_create_run_now_banner_line_completes_and_every_symbol_is_current(page, collectors, screenshots):
    collectors.start("c1")
    page.goto("/watchlists")
    page.fill("input[name=name]", "tech")
    page.fill("textarea[name=symbols]", "AAPL, MSFT\nNVDA")
    page.select_option("select[name=period]", "1mo")
    page.select_option("select[name=schedule]", "after_close")
    page.click("#watchlist-form button[type=submit]")
    page.get_by_text("Watchlist tech created with 3 symbols.").wait_for()
    assert "30 min after each close of XNYS" in page.locator("section.card").first.inner_text()
    page.get_by_role("button", name="Run now").click()
    page.get_by_text("Run #1 of tech started").wait_for()
    line = page.locator("#banner .banner-run[data-run='1']")
    line.locator(".badge.completed").get_by_text("Completed").wait_for()  # no reload: the banner polls itself
    assert "run #1 of tech: 3 of 3 completed" in line.inner_text()
    assert page.locator("#banner .banner-job[data-job]").count() == 0  # one line for the run, not three
    page.reload()
    rows = page.locator("table.series tbody tr")
    assert rows.count() == 3
    for i in range(3):
        assert rows.nth(i).locator("td.current").inner_text().strip() == "Current"
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots / "watchlist.png"), full_page=True)
    page.once("dialog", lambda dialog: (dialog.message.startswith("Delete watchlist tech? 0 unfinished jobs")
                                        and dialog.accept()) or dialog.dismiss())
    page.get_by_role("button", name="Delete").click()
    page.get_by_text("Watchlist tech deleted: 0 waiting jobs cancelled").wait_for()
