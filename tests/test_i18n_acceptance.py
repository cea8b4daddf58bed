"""What an acceptance pass in both languages found: texts frozen in the language of whichever
request first compiled a template, and the EN | FR switch turned into a link off the site."""

import pytest

pytestmark = pytest.mark.usefixtures("french_catalog")


def test_a_filter_on_a_literal_follows_each_request_language(client):
    """Jinja folds a filter applied to a constant ('sim'|source_label) when it compiles the
    template: the first request's language then stood for every later one."""
    english = client.get("/collect?source=sim&lang=en").get_data(as_text=True)
    french = client.get("/collect?source=sim&lang=fr").get_data(as_text=True)
    assert '<span class="simulated">Simulated</span>' in english
    assert '<span class="simulated">Simulé</span>' in french

