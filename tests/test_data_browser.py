"""A person in headless Chromium: find a series, see its chart, zoom in, download the CSV."""

import csv
import io

import pytest

from tests.helpers import sim_frame, store_bars

pytestmark = pytest.mark.browser


def test_open_a_series_see_the_chart_and_download_csv(page, db, tmp_path, screenshots):
    store_bars(db, sim_frame("AAPL", "1h", "2024-01-01", "2024-03-01"))
    page.goto("/data")
    row = page.locator("tr[data-series='sim/AAPL/1h/trades']")
    row.locator(".gaps-cell").get_by_text("none").wait_for()  # loaded by htmx after the page
    row.get_by_role("link", name="AAPL").click()
    page.wait_for_url("**/data/sim/AAPL/1h?kind=trades")
    chart = page.locator("#chart svg.chart")
    chart.wait_for()
    assert chart.get_attribute("data-mode") == "line" and chart.get_attribute("data-bars") == "264"
    assert page.locator("#chart polyline.close").count() == 1

    page.get_by_role("link", name="1W", exact=True).click()  # htmx swaps the chart and pushes the URL
    page.locator("#chart svg[data-mode='candles']").wait_for()
    assert page.url.endswith("range=1w") and page.locator("#chart g.up, #chart g.down").count() == 30

    page.get_by_role("link", name="Older →").click()
    page.get_by_text("Page 2 of 6").wait_for()

    page.fill("#export input[name=start]", "2024-02-01")
    page.fill("#export input[name=end]", "2024-02-02")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == "AAPL_sim_1h_trades_2024-02-01_2024-02-02.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0] == ["ts", "open", "high", "low", "close", "volume", "wap", "trades"]
    assert len(rows) == 1 + 12 and rows[1][0] == "2024-02-01T15:00:00Z"
    page.screenshot(path=str(screenshots / "data-series.png"))
