"""The chart's zoom, pressed faster than the server answers, and browsed back and forth."""

import pytest

from tests.helpers import sim_frame, store_bars

pytestmark = pytest.mark.browser

BARS = "() => +document.querySelector('#chart svg').dataset.bars"
FOCUSED = "() => document.activeElement.matches('#chart [data-chart]')"


def _chart_requests(page) -> list[str]:
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url) if "start=" in r.url and "/data/" in r.url else None)
    return urls


def test_keys_pressed_while_a_zoom_loads_zoom_once_more_not_four_times_the_same(page, db):
    store_bars(db, sim_frame("AAPL", "1m", "2024-01-08", "2024-01-13"), interval="1m")
    page.goto("/data/sim/AAPL/1m?kind=trades&range=1d")
    page.locator("#chart svg[data-mode]").wait_for()
    day = page.evaluate(BARS)
    requests = _chart_requests(page)
    page.locator("#chart [data-chart]").focus()
    # Four + in one go (as a held key repeats): the first zooms, the others arrive while it
    # loads; the last of them zooms the chart that comes back.
    page.evaluate("""() => { const chart = document.querySelector('#chart [data-chart]');
        for (let i = 0; i < 4; i++) chart.dispatchEvent(new KeyboardEvent('keydown', {key: '+', bubbles: true})); }""")
    page.wait_for_function(f"() => location.search.includes('start=') && {BARS[6:]} < {day} / 3")
    page.wait_for_function(FOCUSED)
    page.wait_for_timeout(300)  # nothing more is coming
    assert len(requests) == 2 and len(set(requests)) == 2, requests
    twice = page.evaluate(BARS)
    page.keyboard.press("-")  # the keyboard still works on the chart that came last
    page.wait_for_function(f"{BARS} > {twice}")


def test_back_and_forward_show_the_chart_the_address_names_and_it_still_works(page, db):
    store_bars(db, sim_frame("AAPL", "1m", "2024-01-08", "2024-01-13"), interval="1m")
    page.goto("/data/sim/AAPL/1m?kind=trades")
    page.locator("#chart svg[data-mode]").wait_for()
    everything = page.evaluate(BARS)
    page.get_by_role("link", name="1D", exact=True).click()  # a range link: htmx pushes it
    page.wait_for_url("**range=1d")
    page.wait_for_function(f"{BARS} < {everything}")
    day, day_url = page.evaluate(BARS), page.url
    page.locator("#chart [data-chart]").focus()
    page.keyboard.press("+")  # zooms are pushed too, the same way
    page.wait_for_function(f"{BARS} < {day}")
    page.wait_for_function(FOCUSED)
    once, once_url = page.evaluate(BARS), page.url
    page.keyboard.press("+")
    page.wait_for_function(f"{BARS} < {once}")
    twice = page.evaluate(BARS)

    for bars, url in ((once, once_url), (day, day_url), (everything, None)):
        page.go_back()
        page.wait_for_function(f"{BARS} === {bars}")
        assert url is None or page.url.split("#")[0] == url.split("#")[0]
    for bars in (day, once, twice):
        page.go_forward()
        page.wait_for_function(f"{BARS} === {bars}")
    page.go_back()
    page.go_back()
    page.wait_for_function(f"{BARS} === {day}")
    page.locator("#chart [data-chart]").focus()  # a chart brought back from history still zooms
    page.keyboard.press("+")
    page.wait_for_function(f"{BARS} < {day}")


def test_plus_at_the_closest_zoom_adds_no_history_entry(page, db):
    store_bars(db, sim_frame("AAPL", "1m", "2024-01-08", "2024-01-13"), interval="1m")
    page.goto("/data/sim/AAPL/1m?kind=trades&range=1h")
    page.locator("#chart svg[data-mode]").wait_for()
    page.locator("#chart [data-chart]").focus()
    previous, still = (page.evaluate(BARS), page.url), 0
    while still < 2:  # in until + changes nothing, twice in a row
        page.keyboard.press("+")
        page.wait_for_timeout(400)
        page.wait_for_function(FOCUSED)
        now = (page.evaluate(BARS), page.url)
        still = still + 1 if now == previous else 0
        previous = now
    entries = page.evaluate("() => history.length")
    requests = _chart_requests(page)
    page.keyboard.press("+")
    page.keyboard.press("+")
    page.wait_for_timeout(400)
    assert page.evaluate("() => history.length") == entries and requests == []


def test_from_after_to_keeps_the_chart_and_shows_the_error_by_the_fields(page, db):
    store_bars(db, sim_frame("AAPL", "1h", "2024-01-01", "2024-03-01"))
    page.goto("/data/sim/AAPL/1h?kind=trades")
    page.locator("#chart svg[data-mode]").wait_for()
    page.fill("#chart input[name=start]", "2024-02-05T15:00")
    page.fill("#chart input[name=end]", "2024-02-04T16:00")
    page.get_by_role("button", name="Show").click()
    page.locator("#range-error").wait_for()
    assert "End must be after start" in page.locator("#range-error").inner_text()
    assert page.locator("#chart svg.chart").count() == 1 and page.locator("main").count() == 1
    assert page.locator("#chart input[name=start]").input_value() == "2024-02-05T15:00"
    assert page.url.count("kind=trades") == 1


def test_back_while_a_zoom_loads_shows_the_page_of_the_address_and_drops_the_zoom(page, db):
    store_bars(db, sim_frame("AAPL", "1h", "2024-01-01", "2024-03-01"))
    page.goto("/data/sim/AAPL/1h?kind=trades&range=1w")
    page.locator("#chart svg[data-mode]").wait_for()
    week = page.evaluate(BARS)
    page.get_by_role("link", name="1M", exact=True).click()
    page.wait_for_url("**range=1m")
    page.wait_for_function(f"{BARS} > {week}")
    entries = page.evaluate("() => history.length")

    def slowly(route):  # the zoom's answer comes late: Back is pressed before it
        page.wait_for_timeout(600)
        try:
            route.continue_()
        except Exception:  # noqa: BLE001  (the browser gave the request up: what this test wants)
            pass

    page.route("**/data/sim/AAPL/1h?*start=*", slowly)
    page.locator("#chart [data-chart]").focus()
    page.evaluate("""() => { document.querySelector('#chart [data-chart]')
        .dispatchEvent(new KeyboardEvent('keydown', {key: '+', bubbles: true})); history.back(); }""")
    page.wait_for_function(f"{BARS} === {week}")
    page.wait_for_timeout(1000)  # the late answer, had it not been dropped, has come by now
    assert page.url.endswith("range=1w") and page.evaluate(BARS) == week
    assert page.evaluate("() => history.length") == entries
    page.unroute_all(behavior="ignoreErrors")
    page.locator("#chart [data-chart]").focus()  # the chart on screen still zooms
    page.keyboard.press("+")
    page.wait_for_function(f"{BARS} < {week}")


def test_plus_on_a_typed_range_that_cannot_zoom_further_sends_nothing(page, db):
    store_bars(db, sim_frame("AAPL", "1h", "2024-01-01", "2024-03-01"))
    page.goto("/data/sim/AAPL/1h?kind=trades&start=2024-02-29T15:00&end=2024-02-29T18:00")  # 3 bars
    page.locator("#chart svg[data-mode]").wait_for()
    assert page.evaluate(BARS) == 3
    entries, requests = page.evaluate("() => history.length"), _chart_requests(page)
    page.locator("#chart [data-chart]").focus()
    page.keyboard.press("+")
    page.wait_for_timeout(400)
    assert requests == [] and page.evaluate("() => history.length") == entries


def _slowly(page, ms=600):
    def handler(route):
        page.wait_for_timeout(ms)
        try:
            route.continue_()
        except Exception:  # noqa: BLE001  (the browser gave the request up)
            pass
    return handler


def test_a_zoom_landing_while_you_type_a_date_leaves_the_focus_in_the_field(page, db):
    store_bars(db, sim_frame("AAPL", "1h", "2024-01-01", "2024-03-01"))
    page.goto("/data/sim/AAPL/1h?kind=trades&range=1m")
    page.locator("#chart svg[data-mode]").wait_for()
    month = page.evaluate(BARS)
    page.route("**/data/sim/AAPL/1h?*start=*", _slowly(page))
    page.locator("#chart [data-chart]").focus()
    page.evaluate("""() => { document.querySelector('#chart [data-chart]')
        .dispatchEvent(new KeyboardEvent('keydown', {key: '+', bubbles: true}));
        document.querySelector('#chart-start').focus(); }""")
    page.wait_for_function(f"{BARS} < {month}")
    page.wait_for_timeout(200)
    assert page.evaluate("() => document.activeElement.id") == "chart-start"
    page.unroute_all(behavior="ignoreErrors")


def test_nothing_starts_while_htmx_fetches_a_page_for_back(page, db):
    store_bars(db, sim_frame("AAPL", "1h", "2024-01-01", "2024-03-01"))
    page.goto("/data/sim/AAPL/1h?kind=trades&range=1w")
    page.locator("#chart svg[data-mode]").wait_for()
    week = page.evaluate(BARS)
    page.evaluate("() => { htmx.config.historyCacheSize = 0; }")  # every Back fetches its page
    page.get_by_role("link", name="1M", exact=True).click()
    page.wait_for_url("**range=1m")
    page.wait_for_function(f"{BARS} > {week}")
    entries, requests = page.evaluate("() => history.length"), _chart_requests(page)
    page.route("**/data/sim/AAPL/1h?kind=trades&range=1w", _slowly(page))
    page.evaluate("""() => { history.back(); setTimeout(() => document.querySelector('#chart [data-chart]')
        .dispatchEvent(new KeyboardEvent('keydown', {key: '+', bubbles: true})), 100); }""")
    page.wait_for_function(f"() => location.search.endsWith('range=1w') && {BARS[6:]} === {week}")
    page.wait_for_timeout(800)
    assert requests == [] and page.url.endswith("range=1w") and page.evaluate(BARS) == week
    assert page.evaluate("() => history.length") == entries
    page.unroute_all(behavior="ignoreErrors")


def test_a_key_pressed_as_soon_as_a_range_link_swapped_the_chart_zooms_it(page, db):
    """htmx sets new content up (htmx:load) only at its settle step, 20 ms after the swap;
    stretched to 3 s here, a + pressed in between must still zoom the chart on screen."""
    store_bars(db, sim_frame("AAPL", "1m", "2024-01-08", "2024-01-13"), interval="1m")
    page.goto("/data/sim/AAPL/1m?kind=trades")
    page.locator("#chart svg[data-mode]").wait_for()
    everything = page.evaluate(BARS)
    page.evaluate("() => { htmx.config.defaultSettleDelay = 3000; }")
    page.get_by_role("link", name="1D", exact=True).click()
    page.wait_for_function(f"{BARS} < {everything}")
    day = page.evaluate(BARS)
    assert page.evaluate("() => !!document.querySelector('.htmx-settling')")  # still in the gap
    page.locator("#chart [data-chart]").focus()
    page.keyboard.press("+")
    page.wait_for_function(f"{BARS} < {day}", timeout=2500)  # before the settle step would have set it up
