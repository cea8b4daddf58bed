"""The pseudo-locale check: every string a person reads is marked for translation, on every
page and every htmx partial, filled with something of everything they can show (see
tests/pseudo_world.py): in the pseudo-language each translated string is wrapped in ⟦ ⟧, and
any visible text with letters outside the markers was never marked. A string added later
without translation fails here."""

import pytest

from tests import pseudo_world
from tests.helpers import sim_frame, store_bars
from tests.pseudo import section, unwrapped

TOKEN = "a-token-long-enough-1234"
HTMX = {"HX-Request": "true"}
SERIES = "/data/sim/AAPL/1h"
YAHOO = "/data/yahoo/AAPL/1d"


def test_the_checker_finds_a_string_that_was_not_translated():
    assert unwrapped("<p>⟦Sign in⟧ · 12 <b>Forgot</b></p>") == ["Forgot"]
    assert unwrapped('<a title="Open it">⟦Go⟧</a>') == ["Open it"]
    assert unwrapped("<p>⟦the value of <code>MDC_AUTH_TOKEN</code> on the server⟧ (42)</p>") == []
    assert unwrapped('<span translate="no">AAPL</span><time>Nov 30, 2026</time><p>mdc · 1,234</p>') == []
    assert unwrapped("<p>⟦Job ⟦Failed⟧ at ⟦3 min⟧⟧ late</p>") == ["late"]  # markers nest
    assert unwrapped('<svg><title>⟦Jobs⟧ per hour</title><text>1.5k</text></svg>') == ["per hour", "1.5k"]
    assert unwrapped('<td data-label="Symbol">x</td><form data-confirm="⟦Sure?⟧"></form>') == ["x", "Symbol"]
    assert unwrapped('<script type="application/json">{"words": {"o": "O", "c": "⟦C⟧"}, "t": [1]}</script>') == ["O"]


@pytest.fixture
def world(make_pseudo_client, settings, db, queue):
    client = make_pseudo_client()
    return client, pseudo_world.build(client, settings, db, queue)


def leftovers(client, paths, **headers) -> dict:
    """Untranslated texts per path (a page that fails to render counts as one)."""
    found = {}
    for path in paths:
        answer = client.get(path, headers=headers)
        html = answer.get_data(as_text=True)
        if answer.status_code >= 500 or "⟦" not in html:
            found[path] = [f"HTTP {answer.status_code}"]
        elif texts := unwrapped(html):
            found[path] = texts
    return found


def test_every_page_is_translated(world, services):
    client, w = world
    pages = ["/collect", "/collect?source=yahoo", "/collect?source=ibkr", "/watchlists", "/watchlists/1",
             "/watchlists/1/edit", "/data", "/data?symbol=ZZZ", "/data?page=9", SERIES, f"{SERIES}?range=1w",
             f"{SERIES}?page=99", YAHOO, f"{SERIES}/delete", f"{YAHOO}/delete", "/monitor"]
    pages += [f"/jobs?tab={tab}" for tab in ("running", "completed", "failed", "cancelled", "all")]
    pages += ["/jobs?tab=all&run=1", "/jobs?tab=all&symbol=ZZZ", "/jobs?tab=all&page=9", "/jobs?tab=all&sort=symbol&page=2"]
    pages += [f"/jobs/{job_id}" for job_id in w.jobs]
    assert leftovers(client, pages) == {}
    services.registry.beat("c1", current_job=w.running, started_at="1", jobs_done=3, jobs_failed=1, state="running")
    services.registry.beat("c2", state="idle", started_at="1")
    assert leftovers(client, ["/monitor", "/collect"]) == {}


def test_every_htmx_partial_is_translated(world):
    client, w = world
    seen = "".join(f"{job_id}X" for job_id in w.jobs)  # every job "changed": every announcement
    partials = [f"/banner?seen={seen}", "/banner", "/monitor", f"/jobs/summary?ids={','.join(map(str, w.jobs))}",
                "/collect/fields?source=ibkr", "/collect/fields?source=yahoo&interval=1m&period=1y",
                "/collect/hint?source=yahoo&interval=1m&period=1y", "/collect/hint?source=sim&interval=1d",
                f"{SERIES}/gaps", "/data/sim/MSFT/1h/gaps", f"{YAHOO}/gaps"]
    partials += [f"/jobs?tab={tab}" for tab in ("running", "completed", "failed", "cancelled", "all")]
    partials += [f"/jobs/{job_id}/live" for job_id in w.jobs]
    assert leftovers(client, partials, **HTMX) == {}
    for target in ("chart", "bars"):
        assert leftovers(client, [SERIES, f"{SERIES}?range=1d", f"{SERIES}?start=2030-01-01"],
                         **HTMX, **{"HX-Target": target}) == {}


def test_forms_with_errors_are_translated(world):
    client, _ = world
    bad_job = {"symbol": "ß, A$", "source": "yahoo", "interval": "5s", "period": "7y", "start": "yesterday",
               "adjusted": "maybe"}
    answers = [client.post("/jobs", data=bad_job), client.post("/jobs", data=bad_job, headers=HTMX),
               client.post("/jobs", data={"symbol": "AAPL", "source": "ibkr", "interval": "1m", "period": "1mo",
                                          "rth": "perhaps", "currency": "dollars", "primary_exchange": "N Y"}),
               client.post("/jobs", data={"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "1mo",
                                          "delay": "-1", "only_missing": "1"}, headers=HTMX),
               client.post("/jobs", data={"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "1mo"},
                           headers=HTMX),
               client.post("/watchlists", data={"name": "", "symbols": "A$ %% ß", "source": "sim", "interval": "1h",
                                                "schedule": "cron", "cron": "every day", "timezone": "Mars/Olympus",
                                                "calendar": "NOPE"}),
               client.post("/watchlists/1", data={"name": "tech", "symbols": "AAPL", "source": "sim",
                                                  "interval": "1h", "schedule": "every", "every_minutes": "0",
                                                  "market_hours_only": "perhaps"}),
               client.post("/watchlists", data={"name": "x", "symbols": "", "source": "sim", "interval": "1h"},
                           content_type="multipart/form-data")]
    found = {i: unwrapped(a.get_data(as_text=True)) for i, a in enumerate(answers)}
    assert {i: texts for i, texts in found.items() if texts} == {}
    assert [a.status_code for a in answers] == [422, 422, 422, 422, 200, 422, 422, 422]


def test_flash_messages_and_confirmation_pages_are_translated(world, db):
    client, w = world
    store_bars(db, sim_frame("SPY", "1d"), symbol="SPY", interval="1d")
    steps = [("/jobs", {"symbol": "AAPL, MSFT", "source": "sim", "interval": "1d", "period": "1mo"}),
             ("/jobs", {"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "1mo"}),
             (f"/jobs/{w.pending}/cancel", {}), (f"/jobs/{w.completed}/cancel", {}), (f"/jobs/{w.gave_up}/retry", {}),
             ("/jobs/retry", {"symbol": "NONE"}), ("/jobs/retry", {}), ("/jobs/cancel", {"symbol": "NONE"}),
             ("/jobs/cancel", {"symbol": "TSLA"}), ("/jobs/dismiss", {}), ("/jobs/cleanup", {"days": "3"}),
             (f"{SERIES}/update", {}), (f"{SERIES}/fill", {}), (f"{YAHOO}/recollect", {}), ("/data/sim/SPY/1d/delete", {}),
             ("/watchlists", {"name": "energy", "symbols": "XOM CVX", "source": "sim", "interval": "1d",
                              "period": "1mo", "schedule": "none"}),
             ("/watchlists/2/run", {}), ("/watchlists/1/run", {}), ("/watchlists/1/pause", {}),
             ("/watchlists/1/resume", {}), ("/watchlists/1", {"name": "tech", "symbols": "AAPL", "source": "sim",
                                                              "interval": "1h", "period": "1mo"}),
             ("/watchlists/2/delete", {})]
    found = {}
    for path, form in steps:
        page = client.post(path, data=form, follow_redirects=True)
        if page.status_code >= 400 or unwrapped(page.get_data(as_text=True)):
            found[path] = (page.status_code, unwrapped(page.get_data(as_text=True)))
    assert found == {}
    confirm = client.post("/jobs/cleanup", data={"days": "0"})
    assert confirm.status_code == 422 and unwrapped(confirm.get_data(as_text=True)) == []


@pytest.mark.parametrize("path", ["/collect", "/jobs", "/data", "/monitor", "/watchlists"])
def test_navigation_switch_and_footer_are_translated_on_every_page(make_pseudo_client, path):
    page = make_pseudo_client().get(path).get_data(as_text=True)
    for part in ("header", "footer"):
        assert unwrapped(section(page, part)) == [], part
    assert "⟦" in section(page, "header")  # the pseudo-language is on


def test_pages_say_plainly_that_redis_cannot_be_reached(make_pseudo_client, db):
    client = make_pseudo_client(redis_url="redis://127.0.0.1:9/0")
    client.post("/jobs", data={"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "1mo"})
    assert leftovers(client, ["/collect", "/monitor", "/jobs/1"]) == {}
    assert leftovers(client, ["/banner"], **HTMX) == {}


def test_sign_in_page_with_its_error_is_translated(make_pseudo_client):
    client = make_pseudo_client(auth_token=TOKEN)
    assert unwrapped(client.get("/login").get_data(as_text=True)) == []
    refused = client.post("/login", data={"token": "wrong"})
    assert refused.status_code == 401 and unwrapped(refused.get_data(as_text=True)) == []
    client.post("/login", data={"token": TOKEN})
    signed_out = client.post("/logout", follow_redirects=True).get_data(as_text=True)
    assert "⟦Signed out.⟧" in signed_out and unwrapped(signed_out) == []


@pytest.mark.parametrize("path, method, code", [
    ("/no-such-page", "get", 404),
    ("/jobs/1/cancel", "get", 405),
    ("/jobs/99", "get", 404),
    ("/jobs?tab=later", "get", 422),
    ("/jobs?page=0", "get", 422),
    ("/jobs?sort=price", "get", 422),
    ("/jobs?source=nasdaq", "get", 422),
    ("/data/nasdaq/AAPL/1h", "get", 404),
    ("/data/sim/ZZZ/1h", "get", 404),
    ("/data/sim/AAPL/1h?kind=bid", "get", 404),
    ("/data/sim/AAPL/1h?range=2w", "get", 422),
    ("/data/sim/AAPL/1h.csv?start=yesterday", "get", 422),  # a message made in collector/timespec.py
    ("/data/sim/AAPL/1h.csv?start=2024-02-01&end=2024-01-01", "get", 422),
    ("/data/sim/AAPL/1h.csv?resample=7m", "get", 422),
    ("/data/sim/AAPL/1h.csv?adjust=some", "get", 422),
    ("/jobs/1/live?after=later", "get", 422),
    ("/jobs/summary?ids=x", "get", 422),
    ("/jobs/cleanup", "post", 422),
    ("/watchlists/9", "get", 404),
])
def test_error_pages_are_translated(make_pseudo_client, db, path, method, code):
    store_bars(db, sim_frame(end="2024-01-02"))
    client = make_pseudo_client()
    client.post("/jobs", data={"symbol": "AAPL", "source": "sim", "interval": "1h", "period": "1mo"})
    answer = getattr(client, method)(path, **({"data": {"days": "x"}} if method == "post" else {}))
    assert answer.status_code == code
    assert unwrapped(answer.get_data(as_text=True)) == []


def test_a_series_that_jobs_write_cannot_be_deleted_and_says_so(world):
    client, _ = world
    answer = client.post(f"{SERIES}/delete")  # the watchlist's run writes it
    assert answer.status_code == 409 and unwrapped(answer.get_data(as_text=True)) == []
