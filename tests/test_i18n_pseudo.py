"""The pseudo-locale check: every string a person reads on the pages translated so far is
marked for translation. Phase A covers the shell every page shares (navigation, language
switch, footer), the sign-in page and the error pages; the other pages follow."""

import pytest

from tests.helpers import sim_frame, store_bars
from tests.pseudo import section, unwrapped

TOKEN = "a-token-long-enough-1234"
PAGES = ["/collect", "/jobs", "/data", "/monitor"]


def test_the_checker_finds_a_string_that_was_not_translated():
    assert unwrapped("<p>⟦Sign in⟧ · 12 <b>Forgot</b></p>") == ["Forgot"]
    assert unwrapped('<a title="Open it">⟦Go⟧</a>') == ["Open it"]
    assert unwrapped("<p>⟦the value of <code>MDC_AUTH_TOKEN</code> on the server⟧ (42)</p>") == []
    assert unwrapped('<span translate="no">AAPL</span><time>Nov 30, 2026</time><p>mdc · 1,234</p>') == []


@pytest.mark.parametrize("path", PAGES)
def test_navigation_switch_and_footer_are_translated_on_every_page(make_pseudo_client, path):
    page = make_pseudo_client().get(path).get_data(as_text=True)
    for part in ("header", "footer"):  # the page's own title and content come in phase B
        assert unwrapped(section(page, part)) == [], part
    assert "⟦" in section(page, "header")  # the pseudo-language is on


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
    ("/data/sim/AAPL/1h.csv?start=yesterday", "get", 422),  # a message made in collector/timespec.py
])
def test_error_pages_are_translated(make_pseudo_client, db, path, method, code):
    store_bars(db, sim_frame(end="2024-01-02"))
    answer = getattr(make_pseudo_client(), method)(path)
    assert answer.status_code == code
    assert unwrapped(answer.get_data(as_text=True)) == []
