"""The UI's language: chosen per request (?lang=, then the switch's cookie, then
Accept-Language), numbers and times in the reader's convention, JSON keys and status values
in English, exports as machine formats whatever the language."""

import io
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from collector.jobs import lifecycle
from tests.helpers import JSON, sim_frame, store_bars

pytestmark = pytest.mark.usefixtures("french_catalog")

NNBSP = "\u202f"  # the narrow no-break space French puts between thousands
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


def nav(client, path="/collect", **headers) -> str:
    return client.get(path, headers=headers).get_data(as_text=True).split("</header>")[0]


def test_english_by_default_french_from_the_browser(client):
    assert ">Collect</a>" in nav(client) and '<html lang="en">' in nav(client)
    page = nav(client, **FRENCH)
    assert ">Collecte</a>" in page and ">Historique</a>" in page and '<html lang="fr">' in page


def test_lang_overrides_the_browser_and_is_remembered(client):
    answer = client.get("/jobs?lang=fr", headers={"Accept-Language": "en"})
    assert "mdc_lang=fr" in answer.headers["Set-Cookie"] and "Accept-Language" in answer.headers["Vary"]
    assert ">Collecte</a>" in answer.get_data(as_text=True)
    assert ">Collecte</a>" in nav(client, "/data", **{"Accept-Language": "en"})  # the cookie wins
    assert ">Collect</a>" in nav(client, "/data?lang=en", **FRENCH)
    assert ">Collect</a>" in nav(client, "/data", **FRENCH)  # now English is remembered


def test_an_unknown_language_is_ignored(client):
    answer = client.get("/collect?lang=klingon", headers=FRENCH)
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
    assert ">Collecte</a>" in answer.get_data(as_text=True).split("</header>")[0]
    client.set_cookie("mdc_lang", "en")
    assert ">Collect</a>" in nav(client, "/collect?lang=klingon", **FRENCH)  # the remembered choice holds


def test_the_switch_links_to_this_page_in_each_language(client):
    page = nav(client, "/jobs?tab=failed&lang=fr")
    assert 'href="/jobs?tab=failed&amp;lang=en" hreflang="en"' in page
    assert 'href="/jobs?tab=failed&amp;lang=fr" hreflang="fr" lang="fr" translate="no" aria-current="true"' in page


def test_json_errors_follow_the_language_with_english_keys(client):
    answer = client.post("/jobs", data={"source": "nasdaq", "interval": "1d", "period": "1y"},
                         headers={**JSON, **FRENCH})
    errors = answer.get_json()["errors"]
    assert answer.status_code == 422 and set(errors) == {"source", "symbol"}
    assert errors["symbol"] == "Saisissez un ticker, par exemple AAPL."
    assert errors["source"] == "Source inconnue 'nasdaq'\u00a0: choisissez yahoo, ibkr ou sim."
    missing = client.get("/no-such-page", headers={**JSON, **FRENCH}).get_json()
    assert missing["error"] == "Not Found" and missing["message"].startswith("Il n'y a rien à cette adresse")
    english = client.post("/jobs", data={"source": "nasdaq"}, headers=JSON).get_json()["errors"]
    assert english["source"] == "Unknown source 'nasdaq': choose yahoo, ibkr or sim."


def test_form_errors_show_in_french_next_to_their_fields(client):
    page = client.post("/jobs?lang=fr", data={"symbol": "AAPL", "source": "sim", "interval": "1d",
                                              "period": "", "start": "hier"}).get_data(as_text=True)
    assert "La date de début n&#39;est ni une date comme 2024-03-01" in page


def test_job_status_values_stay_english_in_json(client):
    job = client.post("/jobs?lang=fr", data={"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "5d"},
                      headers=JSON).get_json()
    assert job["status"] == "PENDING" and "progress" in job


@pytest.mark.parametrize("lang, expected", [
    ("en", ["1,234,567", "1,234.50", "2 min 14 sec", "1 hr 5 min", "3 min ago", "just now",
            "Nov 30, 2026, 14:30 UTC", "Nov 30, 2026, 14:30:05 UTC", "Nov 30, 2026", "14:30:05",
            "Pending", "Running", "Completed", "Failed", "Cancelled"]),
    ("fr", [f"1{NNBSP}234{NNBSP}567", f"1{NNBSP}234,50", "2\u00a0min 14\u202fs", "1\u202fh 5\u00a0min",
            "il y a 3\u00a0min", "à l'instant", "30 nov. 2026, 14:30 UTC", "30 nov. 2026, 14:30:05 UTC",
            "30 nov. 2026", "14:30:05", "En attente", "En cours", "Terminé", "Échoué", "Annulé"]),
])
def test_numbers_times_and_states_in_the_readers_terms(app, lang, expected):
    from webapp import filters as f

    now = datetime(2026, 11, 30, 14, 30, 5, tzinfo=timezone.utc)
    with app.test_request_context(f"/?lang={lang}"):
        got = [f.thousands(1234567), f.price(1234.5), f.duration(134), f.duration(3900),
               f.ago(now - timedelta(minutes=3), now), f.ago(now, now), f.day(now.replace(second=0)),
               f.exact(now), f.utc(datetime(2026, 11, 30, tzinfo=timezone.utc).timestamp()),
               f.clock(now.timestamp())]
        got += [f.status_label(s) for s in ("PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED")]
    assert got == expected
    assert f.thousands(None) == "–" and f.duration(None) == "–"


@pytest.mark.both_databases
def test_exports_are_machine_formats_whatever_the_language(client, db):
    store_bars(db, sim_frame(end="2024-01-10"))
    for fmt in ("csv", "parquet"):
        english = client.get(f"/data/sim/AAPL/1h.{fmt}?lang=en", headers={"Accept-Language": "en"})
        french = client.get(f"/data/sim/AAPL/1h.{fmt}?lang=fr", headers=FRENCH)
        assert french.status_code == 200 and french.headers["Content-Disposition"] == english.headers["Content-Disposition"]
        if fmt == "csv":
            assert french.get_data() == english.get_data()
            assert french.get_data(as_text=True).splitlines()[1].startswith("2024-01-01T")
        else:
            pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(french.get_data())),
                                          pd.read_parquet(io.BytesIO(english.get_data())))


def test_each_row_count_agrees_with_its_own_number_in_french(make_app, db):
    """French takes the singular for 0 and 1: "0 mise à jour", not "0 mises à jour"."""
    client = make_app().test_client()
    job = client.post("/jobs", data={"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "1mo"},
                      headers=JSON).get_json()
    lifecycle.claim(db, job["id"], "c1")
    page = client.get(f"/jobs/{job['id']}?lang=fr").get_data(as_text=True)
    assert "0 nouvelle · 0 mise à jour · 0 inchangée" in page


def test_a_jobs_pause_per_chunk_is_written_the_readers_way(make_app):
    client = make_app().test_client()
    job = client.post("/jobs", data={"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "1mo",
                                     "delay": "2"}, headers=JSON).get_json()
    assert "2,0\u00a0s" in client.get(f"/jobs/{job['id']}?lang=fr").get_data(as_text=True).replace(" s", "\u00a0s")
    assert "Pause per chunk: 2.0 s" in client.get(f"/jobs/{job['id']}?lang=en").get_data(as_text=True)
