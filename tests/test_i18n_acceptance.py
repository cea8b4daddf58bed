"""What an acceptance pass in both languages found: texts frozen in the language of whichever
request first compiled a template, and the EN | FR switch turned into a link off the site."""

import re

import pytest
from babel.support import Translations

from collector.jobs.cleanup import CleanupResult
from tests.helpers import JSON, ROOT, visible_text

pytestmark = pytest.mark.usefixtures("french_catalog")
NBSP = "\u00a0"  # before : ; ? ! in French


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


def french() -> Translations:
    return Translations.load(str(ROOT / "translations"), ["fr"])


def test_french_counts_agree_with_one_and_none(client, french_catalog):
    """French puts 0 and 1 in the singular: '1 restants', '0 terminés' or '1 collecteur arrêté
    oubliés' read wrong, so these counts are either plural forms or stand after a label."""
    client.post("/watchlists", data={"name": "one", "symbols": "AAPL", "source": "sim", "interval": "1d",
                                     "period": "1mo", "schedule": "none"}, headers=JSON)
    client.post("/watchlists/1/run", headers=JSON)
    page = visible_text(client.get("/watchlists/1?lang=fr").data.decode())
    assert re.search("exécution n°1 de one : 0 sur 1 terminé, 1 restant(?!s)", page)
    confirm = visible_text(client.post("/jobs/cleanup?lang=fr", data={"days": "0"}).data.decode())
    assert "terminés : 0, en échec : 0, annulés : 0" in confirm and "0 terminés" not in confirm
    catalogue = french()
    summary = CleanupResult(1, 1, 1, 7, collectors_forgotten=1).summary()
    assert summary.translate(catalogue.ugettext, catalogue.ungettext).replace(NBSP, " ") == (
        "Supprimé : 1 job terminé de plus de 7 jours, 1 journal d'événements et 1 ancienne entrée de la file ; "
        "oublié : 1 collecteur arrêté.")


def test_redis_memory_on_the_monitor_follows_the_language(client, redis_client):
    """Redis' own '1.83M' put an English decimal point on the French page."""
    french_page = visible_text(client.get("/monitor?lang=fr").data.decode())
    english_page = visible_text(client.get("/monitor?lang=en").data.decode())
    assert re.search(r"Mémoire utilisée ?\d+(,\d)?\s?[kMG]o\b", french_page), french_page
    assert re.search(r"Memory used ?\d+(\.\d)?\s?[kMG]B\b", english_page), english_page


def test_a_fractional_chart_axis_label_has_a_french_decimal_comma(client):
    """The monitor's charts, empty or nearly so, label their half-way line 0.5: '0,5' in French."""
    page = client.get("/monitor?lang=fr").data.decode()
    axis = re.findall(r'class="axis" text-anchor="end">([^<]*)<', page)
    assert "0,5" in axis and "0.5" not in axis, axis


def test_the_line_under_the_collect_form_puts_a_no_break_space_before_its_colon(client):
    """'Jobs n°1 à n°2 (M&M, BRK/B):' had its colon outside the translated text, glued on in French."""
    form = {"symbol": "M&M, BRK/B", "source": "sim", "interval": "1d", "period": "1mo"}
    french_line = client.post("/jobs?lang=fr", data=form, headers={"HX-Request": "true"}).data.decode()
    assert re.search(rf'<strong>Jobs n°1 à n°2</strong>\s*\(<span translate="no">M&amp;M, BRK/B</span>\){NBSP}:',
                     french_line), french_line
    english_line = client.get("/jobs/summary?ids=1,2&lang=en", headers={"HX-Request": "true"}).data.decode()
    assert re.search(r'<strong>Jobs #1–#2</strong>\s*\(<span translate="no">M&amp;M, BRK/B</span>\):', english_line)
