"""What an acceptance pass in both languages found: texts frozen in the language of whichever
request first compiled a template, and the EN | FR switch turned into a link off the site."""

import re

import pytest

pytestmark = pytest.mark.usefixtures("french_catalog")


def test_a_filter_on_a_literal_follows_each_request_language(client):
    """Jinja folds a filter applied to a constant ('sim'|source_label) when it compiles the
    template: the first request's language then stood for every later one."""
    english = client.get("/collect?source=sim&lang=en").get_data(as_text=True)
    french = client.get("/collect?source=sim&lang=fr").get_data(as_text=True)
    assert '<span class="simulated">Simulated</span>' in english
    assert '<span class="simulated">Simulé</span>' in french


@pytest.mark.parametrize("path", ["/%5Cevil.example", "/%09/evil.example", "/%5C%5Cevil.example/x",
                                  "/data/sim/%5Cevil.example/1d", "/%0A/evil.example"])
def test_the_language_switch_never_links_off_the_site(client, path):
    """Browsers read a backslash as a slash and drop tabs and newlines in a link, so a switch
    link to '/\\evil.example' (on the 404 page of that address) led to another site."""
    page = client.get(path).get_data(as_text=True)
    links = re.findall(r'<a href="([^"]*)" hreflang="(?:en|fr)"', page)
    assert len(links) == 2
    for link in links:
        assert link.startswith("/") and not re.search(r"[\\\s]", link) and not link.startswith("//"), link
