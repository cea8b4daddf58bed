"""French in a real browser (headless Chromium through Playwright), against the real web app and
a real collector: the EN | FR switch, a job submitted and followed in the banner, the Jobs tabs,
a confirmation question and the chart's readout, all in French."""

import pytest

from tests.helpers import JSON, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("french_catalog")]


def test_switch_to_french_submit_and_follow_the_job(page, collectors, client, screenshots):
    collectors.start("c1")
    page.goto("/collect")
    page.locator("nav.lang").get_by_role("link", name="FR").click()  # the switch: a plain link, remembered
    page.wait_for_url("**lang=fr")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.get_by_role("heading", name="Collecter des barres").wait_for()
    page.get_by_label("Ticker(s)").fill("AAPL")
    page.select_option("select[name=period]", "3mo")
    page.select_option("select[name=interval]", "1m")  # 7 chunks of 2 s: long enough to see it run
    page.fill("input[name=delay]", "2")
    page.get_by_role("button", name="Collecter").click()
    page.locator("#submitted").get_by_text("Job n°1", exact=True).wait_for()
    banner_job = page.locator("#banner .banner-job[data-job='1']")
    banner_job.get_by_text("En cours").wait_for()  # the job's state on the banner, in French
    assert "tranche" in banner_job.inner_text() and "Détails" in banner_job.inner_text()
    assert page.locator("#banner .banner-toggle").inner_text().strip().startswith("Jobs\u00a0: 1 en cours")

    page.goto("/jobs?tab=running")  # the cookie keeps French without ?lang=
    labels = page.locator("nav.tabs a").all_inner_texts()
    assert [label.rsplit(" ", 1)[0] for label in labels] == ["En cours", "Terminés", "Échoués", "Annulés", "Tous"]
    page.locator("tr[data-job='1']").get_by_text("En cours").wait_for()
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots / "fr-jobs.png"))
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator("tr[data-job='1']").get_by_role("button", name="Annuler le job n°1").click()
    wait_for(lambda: asked, message="the confirmation")
    assert asked == ["Annuler le job n°1 (AAPL)\u00a0?"]  # dismissed: the job runs on

    wait_for(lambda: client.get("/jobs/1", headers=JSON).get_json()["status"] == "COMPLETED", timeout=60,
             message="the job to complete")
    page.get_by_role("link", name="Terminés").click()
    page.locator("tr[data-job='1']").get_by_text("Terminé").wait_for()
    page.locator("tr[data-job='1']").get_by_role("link", name="Voir les données").click()
    page.get_by_role("heading", name="Qualité").wait_for()
    readout = page.locator(".readout")
    page.locator("[data-chart]").focus()  # the readout shows the newest point (a slot of many 1m bars), in French
    wait_for(lambda: "barres" in readout.inner_text(), message="the readout")
    text = readout.inner_text()
    assert " UTC → " in text and "clôture" in text and "Vol" in text and "," in text  # 123,45


def test_the_forms_fit_a_phone_in_french(browser, live_server):
    """French labels and options are longer ("Seulement quand je clique sur Exécuter maintenant"):
    a select as wide as its longest option pushed the page sideways."""
    phone = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server, locale="fr-FR",
                                extra_http_headers={"Accept-Language": "fr"})
    page = phone.new_page()
    try:
        for url in ("/collect?lang=fr", "/watchlists?lang=fr"):
            page.goto(url)
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, url
    finally:
        phone.close()
