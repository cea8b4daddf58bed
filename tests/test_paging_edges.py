"""A page number past the last one (a stale bookmark, a list that shrank after a clean-up or a
delete) says which page is the last and links to it, in every paginated view: never "Collect
some data" as if nothing were stored, never "Symbols 801–250 of 250", never a pager whose
"previous" leads to another empty page."""

import re

from tests.helpers import JSON, sim_frame, store_bars, visible_text


def hrefs(page: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]*)"', page)]


def test_jobs_page_past_the_last_links_to_the_last(client, manager):
    for i in range(30):  # 25 a page: 2 pages
        manager.submit({"source": "sim", "symbol": f"S{i:02d}", "interval": "1d", "period": "5d"})
    page = client.get("/jobs?tab=all&symbol=S&page=9").get_data(as_text=True)
    text = visible_text(page)
    assert "There is no page 9: the last one is page 2." in text and "Collect some data" not in text
    assert "/jobs?tab=all&page=2&symbol=S" in hrefs(page)
    french = visible_text(client.get("/jobs?tab=all&page=9&lang=fr").get_data(as_text=True))
    assert "Il n'y a pas de page 9 : la dernière est la page 2." in french
    assert client.get("/jobs?tab=all&page=9", headers=JSON).get_json()["jobs"] == []  # scripts: unchanged


def test_data_list_page_past_the_last_links_to_the_last(client, db):
    store_bars(db, sim_frame("AAPL", "1d", "2024-01-01", "2024-01-10"), interval="1d")
    page = client.get("/data?page=3&sort=bars").get_data(as_text=True)
    assert "There is no page 3: the last one is page 1." in visible_text(page)
    assert "Collect some data" not in visible_text(page) and "/data?sort=bars&page=1" in hrefs(page)


def test_bars_page_past_the_last_leads_back_to_the_last_page_not_the_one_before(client, db):
    store_bars(db, sim_frame())  # 264 bars, 50 a page: 6 pages
    page = client.get("/data/sim/AAPL/1h?page=40").get_data(as_text=True)
    assert "There is no page 40: the last one is page 6." in visible_text(page)
    assert not any("page=39" in h for h in hrefs(page)), "← Newer must not lead to page 39, empty too"
    assert any(h.startswith("/data/sim/AAPL/1h?") and "page=6" in h for h in hrefs(page))


def test_watchlist_symbols_page_past_the_last_links_to_the_last(client):
    symbols = " ".join(f"T{i:03d}" for i in range(150))  # 100 a page: 2 pages
    form = {"name": "big", "symbols": symbols, "source": "sim", "interval": "1d", "period": "5d", "schedule": "none"}
    assert client.post("/watchlists", data=form, headers=JSON).status_code == 201
    page = client.get("/watchlists/1?page=7").get_data(as_text=True)
    text = visible_text(page)
    assert "There is no page 7: the last one is page 2." in text and "701–150" not in text.replace(",", "")
    assert "/watchlists/1?page=2" in hrefs(page) and "/watchlists/1?page=6" not in hrefs(page)
    assert "Last bar" not in text  # no table of nothing above the message
