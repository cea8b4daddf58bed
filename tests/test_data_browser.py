"""A person in headless Chromium: find a series, see its chart, zoom in, download the CSV."""

import csv
import io

import pytest

from tests.helpers import sim_frame, store_bars

pytestmark = pytest.mark.browser


def test_open_a_series_see_the_chart_and_download_csv(page, db, tmp_path):
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


def test_chart_of_minute_bars_candles_crosshair_zoom_and_readable_labels(browser, live_server, db, screenshots):
    store_bars(db, sim_frame("AAPL", "1m", "2024-01-08", "2024-01-13"), interval="1m")  # a week of sessions
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto("/data/sim/AAPL/1m?kind=trades")
        chart = page.locator("#chart svg.chart")
        assert chart.get_attribute("data-mode") == "envelope"
        labels = page.locator("#chart .chart-labels .x").all_inner_texts()
        assert len(labels) == len(set(labels)) >= 3
        page.get_by_role("link", name="1H", exact=True).click()  # 60 one-minute candles
        page.locator("#chart svg[data-mode='candles']").wait_for()
        assert page.locator("#chart g.up, #chart g.down").count() == 60

        box = page.locator("#chart svg").bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.4)
        readout = page.locator("#chart .readout")
        readout.wait_for()
        text = readout.inner_text()
        assert " O " in text and " H " in text and " L " in text and " C " in text and "Vol " in text and "UTC" in text

        page.get_by_role("link", name="All", exact=True).click()
        page.locator("#chart svg[data-mode='envelope']").wait_for()
        box = page.locator("#chart svg").bounding_box()
        y = box["y"] + box["height"] * 0.5
        page.mouse.move(box["x"] + box["width"] * 0.30, y)  # drag across a part of the week to zoom in
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.33, y, steps=5)
        page.mouse.up()
        page.wait_for_url("**start=*")
        page.locator("#chart svg[data-mode='line'], #chart svg[data-mode='candles']").wait_for()
        assert page.locator("#chart input[name=start]").input_value() != ""  # the range, as date and time
        zoomed = int(page.locator("#chart svg").get_attribute("data-bars"))
        assert 0 < zoomed < 1950
        page.locator("#chart svg").hover()
        page.mouse.wheel(0, 300)  # a plain wheel scrolls the page: the chart stays as it is
        page.wait_for_timeout(500)
        assert int(page.locator("#chart svg").get_attribute("data-bars")) == zoomed
        page.locator("#chart svg").hover()
        page.keyboard.down("Control")
        page.mouse.wheel(0, 300)  # Ctrl + wheel: out again
        page.keyboard.up("Control")
        page.wait_for_function(f"() => +document.querySelector('#chart svg').dataset.bars > {zoomed}")
        wide = int(page.locator("#chart svg").get_attribute("data-bars"))
        page.locator("#chart [data-chart]").focus()  # the keyboard: + twice zooms in twice
        page.keyboard.press("+")
        page.wait_for_function(f"() => +document.querySelector('#chart svg').dataset.bars < {wide}")
        once = int(page.locator("#chart svg").get_attribute("data-bars"))
        page.wait_for_function("() => document.activeElement.matches('#chart [data-chart]')")  # focus came back
        page.keyboard.press("+")
        page.wait_for_function(f"() => +document.querySelector('#chart svg').dataset.bars < {once}")
        screenshots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshots / "data-series.png"))
    finally:
        context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server)
    page = phone.new_page()
    try:
        page.goto("/data/sim/AAPL/1m?kind=trades&range=1d")
        size = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('.chart-labels span')).fontSize)")
        assert size >= 11  # not shrunk with the picture
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        assert page.get_by_role("button", name="Show").is_visible()
        page.screenshot(path=str(screenshots / "phone-series.png"))
    finally:
        phone.close()


def test_the_first_time_label_reads_its_zone_after_it_not_over_it(page, db):
    store_bars(db, sim_frame("AAPL", "1h", "2024-01-01", "2024-03-01"))
    page.goto("/data/sim/AAPL/1h?kind=trades")
    label = page.locator(".chart-labels .x.first")
    zone = label.locator("span")
    assert zone.inner_text() == "UTC"
    text_end = page.evaluate("""e => { const r = document.createRange(); r.setStart(e.firstChild, 0);
        r.setEnd(e.firstChild, e.firstChild.data.trimEnd().length); return r.getBoundingClientRect().right; }""",
                             label.element_handle())
    assert zone.bounding_box()["x"] >= text_end + 2  # "2024 UTC", a space between, not "2024UTC"
