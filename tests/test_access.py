"""Access (issue 13): sessions tied to the token and revocable, Bearer in any case, no short
tokens, limits on wrong tokens, no open redirect, /healthz that keeps its reasons, and a
secret key every worker agrees on."""

import logging
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from collector import Settings, SettingsError
from tests.helpers import JSON, settings_env
from webapp import create_app

TOKEN = "s3cret-token-0123456789"
FORM = {"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "1y"}
COOKIE = "mdc_session"


@pytest.fixture
def secured(make_app):
    return make_app(auth_token=TOKEN)


def signed_in(app, address="127.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    response = client.post("/login", data={"token": TOKEN})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return client


def copy_cookie(source, target) -> None:
    target.set_cookie(COOKIE, source.get_cookie(COOKIE).value)


# --- redirects ------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", " //evil.example",
                                    "/\x0b/evil.example", "/\u3000/evil.example"])
def test_sign_in_never_redirects_off_site_through_invisible_characters(secured, target):
    response = secured.test_client().post("/login", data={"token": TOKEN, "next": target})
    assert response.status_code == 303 and response.headers["Location"] == "/collect"


# --- sessions -------------------------------------------------------------------------------

def test_a_new_token_ends_every_session(secured, make_app):
    browser = signed_in(secured)
    assert browser.get("/jobs").status_code == 200
    rotated = make_app(auth_token="another-token-9876543210").test_client()
    copy_cookie(browser, rotated)
    response = rotated.get("/jobs")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert rotated.get("/jobs", headers=JSON).status_code == 401


def test_sign_out_revokes_a_copied_cookie(secured):
    browser = signed_in(secured)
    thief = secured.test_client()
    copy_cookie(browser, thief)
    assert thief.get("/jobs").status_code == 200
    assert browser.post("/logout").status_code == 303
    assert browser.get("/jobs").status_code == 302
    assert thief.get("/jobs").status_code == 302  # the copy died with the session, not only the cookie


def test_scripts_without_the_token_get_401_not_a_sign_in_page_saved_as_data(secured):
    """curl -OJ saved the sign-in page as 1d.csv, and pd.read_parquet(url) failed on HTML."""
    client = secured.test_client()
    for accept in ("*/*", "application/octet-stream"):
        export = client.get("/data/sim/AAPL/1d.csv", headers={"Accept": accept})
        assert export.status_code == 401 and export.is_json and "Bearer" in export.get_json()["message"]
    assert client.get("/data/sim/AAPL/1d.csv").status_code == 302  # a browser goes to the sign-in page


def test_an_ended_session_sends_htmx_requests_to_the_sign_in_page_not_into_the_page(secured):
    """The banner polls every second: after a sign-out elsewhere it must not swap the sign-in
    page into itself, but have htmx load it, coming back to the page afterwards."""
    browser = signed_in(secured)
    hx = {"HX-Request": "true", "HX-Current-URL": "http://localhost/jobs?tab=failed"}
    assert browser.get("/banner", headers=hx).status_code == 200
    browser.post("/logout")
    response = browser.get("/banner", headers=hx)
    assert response.status_code == 401 and response.get_data() == b""
    assert response.headers["HX-Redirect"] == "/login?next=/jobs?tab%3Dfailed"
    evil = {"HX-Request": "true", "HX-Current-URL": "http://localhost//evil.example/x"}
    assert browser.get("/banner", headers=evil).headers["HX-Redirect"] == "/login?next=/collect"


def test_while_redis_is_down_a_cookie_of_the_current_token_still_reads_pages(secured, make_app, caplog):
    browser = signed_in(secured)
    outage = make_app(auth_token=TOKEN, redis_url="redis://127.0.0.1:1/0").test_client()
    copy_cookie(browser, outage)
    with caplog.at_level(logging.WARNING, logger="mdc.web"):
        assert outage.get("/jobs?tab=all").status_code == 200
    assert any("sessions are not checked for sign-out" in r.getMessage() for r in caplog.records)
    rotated = make_app(auth_token="another-token-9876543210", redis_url="redis://127.0.0.1:1/0").test_client()
    copy_cookie(browser, rotated)
    assert rotated.get("/jobs").status_code == 302  # the token check needs no Redis


def test_a_cookie_from_before_sessions_were_tied_to_the_token_is_refused(secured):
    client = secured.test_client()
    with client.session_transaction() as session:
        session["signed_in"] = True  # what the cookie held before
    assert client.get("/jobs").status_code == 302


# --- Bearer ---------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_case_insensitive(secured, scheme):
    response = secured.test_client().get("/jobs", headers={**JSON, "Authorization": f"{scheme} {TOKEN}"})
    assert response.status_code == 200


@pytest.mark.parametrize("header", ["Basic " + TOKEN, TOKEN, "Bearer", "Bearer " + TOKEN[:-1], "Bearer  "])
def test_other_authorization_headers_are_401(secured, header):
    response = secured.test_client().get("/jobs", headers={**JSON, "Authorization": header})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


# --- too-short tokens -----------------------------------------------------------------------

def test_a_token_shorter_than_16_characters_is_refused_by_the_settings():
    with pytest.raises(SettingsError, match="MDC_AUTH_TOKEN is 15 characters long: use at least 16"):
        Settings.from_env({"MDC_AUTH_TOKEN": "x" * 15})
    assert Settings.from_env({"MDC_AUTH_TOKEN": "x" * 16}).auth_token == "x" * 16


@pytest.mark.parametrize("command", [["check"], ["run", "--burst"]])
def test_collectors_refuse_to_start_with_a_short_token(settings, command):
    env = {**settings_env(settings), "MDC_AUTH_TOKEN": "short"}
    result = subprocess.run([sys.executable, "-m", "collector", *command], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "MDC_AUTH_TOKEN is 5 characters long" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_web_server_refuses_to_start_with_a_short_token(gunicorn):
    server = gunicorn(wait=False, MDC_AUTH_TOKEN="short")
    assert server.proc.wait(60) != 0
    stderr = server.proc.stderr.read()
    assert "mdc: MDC_AUTH_TOKEN is 5 characters long: use at least 16" in stderr and "Traceback" not in stderr


# --- wrong tokens are limited per address ---------------------------------------------------

def test_wrong_sign_ins_past_the_limit_get_429_with_retry_after_across_workers(secured, make_app):
    other_worker = make_app(auth_token=TOKEN).test_client()  # another process: shares only Redis
    guesser = secured.test_client()
    for client in (guesser, other_worker):
        client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    for i in range(10):
        response = (guesser if i % 2 else other_worker).post("/login", data={"token": f"guess-{i}"})
        assert response.status_code == 401
    blocked = guesser.post("/login", data={"token": TOKEN}, headers=JSON)  # even the right one, now
    assert blocked.status_code == 429 and 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert "Too many wrong tokens" in blocked.get_json()["message"]
    page = other_worker.post("/login", data={"token": "guess"})
    assert page.status_code == 429 and "try again in" in page.get_data(as_text=True)
    assert signed_in(secured, "198.51.100.1").get("/jobs").status_code == 200  # another address is not held back


@pytest.mark.usefixtures("french_catalog")
def test_wrong_bearer_tokens_count_too(secured):
    script = secured.test_client()
    script.environ_base["REMOTE_ADDR"] = "203.0.113.8"
    for i in range(10):
        assert script.get("/jobs", headers={**JSON, "Authorization": f"Bearer guess-{i}"}).status_code == 401
    response = script.get("/jobs", headers={**JSON, "Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 429 and "Retry-After" in response.headers
    french = script.get("/jobs", headers={**JSON, "Authorization": f"Bearer {TOKEN}", "Accept-Language": "fr"})
    assert french.get_json()["message"].startswith("Trop de jetons erronés depuis votre adresse")


def test_the_429_page_is_translated(make_pseudo_client):
    from tests.pseudo import unwrapped

    client = make_pseudo_client(auth_token=TOKEN)
    client.environ_base["REMOTE_ADDR"] = "203.0.113.10"
    for i in range(10):
        client.post("/login", data={"token": f"guess-{i}"})
    page = client.post("/login", data={"token": "guess"})
    assert page.status_code == 429 and unwrapped(page.get_data(as_text=True)) == []


def test_a_signed_in_browser_is_not_held_back_by_a_guesser_at_its_address(secured):
    browser = signed_in(secured, "203.0.113.9")
    guesser = secured.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for i in range(11):
        guesser.post("/login", data={"token": f"guess-{i}"})
    assert browser.get("/jobs").status_code == 200


# --- /healthz -------------------------------------------------------------------------------

def test_healthz_says_what_is_unreachable_but_not_where_unless_the_caller_has_the_token(make_app, caplog):
    app = make_app(auth_token=TOKEN, redis_url="redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING, logger="mdc.web"):
        anonymous = app.test_client().get("/healthz")
    assert anonymous.status_code == 503
    assert anonymous.get_json() == {"status": "unavailable", "database": "ok", "redis": "redis unreachable"}
    assert "127.0.0.1" not in anonymous.get_data(as_text=True)
    assert any("127.0.0.1:1" in r.getMessage() for r in caplog.records)  # the reason is in the log
    operator = app.test_client().get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"})
    assert "127.0.0.1:1" in operator.get_json()["details"]["redis"]


# --- the secret key file --------------------------------------------------------------------

# A gunicorn worker, as a process: imports done, it waits for the start file, then builds the app.
WORKER = """
import os, sys, time
from webapp import create_app
while not os.path.exists(sys.argv[1]):
    time.sleep(0.001)
print(create_app().secret_key)
"""


def test_workers_starting_together_share_one_whole_key(settings, tmp_path):
    # Processes, as gunicorn's workers are (threads would also race in CPython 3.11's own
    # ast module, which Werkzeug uses to build its routes).
    go = tmp_path / "go"
    env = settings_env(settings)
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(go)], env=env, stdout=subprocess.PIPE, text=True)
               for _ in range(6)]
    time.sleep(3)  # let them all import and wait (a late one still finds the key the others made)
    go.touch()
    keys = [w.communicate(timeout=120)[0].strip() for w in workers]
    assert all(w.returncode == 0 for w in workers)
    assert len(keys) == 6 and len(set(keys)) == 1 and len(keys[0]) == 64
    assert [p.name for p in settings.data_dir.iterdir() if "secret" in p.name] == ["secret_key"]


def test_an_empty_key_file_is_never_used(settings):
    (settings.data_dir / "secret_key").write_text("")
    with pytest.raises(SettingsError, match="secret_key is empty: delete it"):
        create_app({"MDC_SETTINGS": settings})


def test_gunicorn_workers_started_together_sign_every_cookie_with_the_same_key(gunicorn, settings):
    server = gunicorn("--workers", "4", MDC_AUTH_TOKEN=TOKEN, MDC_SECRET_KEY="")
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    request = urllib.request.Request(f"{server.url}/login", data=f"token={TOKEN}".encode(), method="POST")
    opener.open(request, timeout=30).close()  # follows the 303 to /collect with the new cookie
    for _ in range(20):  # new connections, spread over the workers
        with opener.open(f"{server.url}/jobs", timeout=30) as response:
            assert response.status == 200 and response.geturl() == f"{server.url}/jobs"  # not sent to /login


# --- logs -----------------------------------------------------------------------------------

def test_the_web_apps_log_lines_reach_gunicorns_error_log(gunicorn):
    server = gunicorn(REDIS_URL="redis://127.0.0.1:1/0")
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(f"{server.url}/healthz", timeout=30)
    answer.value.close()
    assert answer.value.code == 503
    assert "health check: redis unreachable: ConnectionError" in server.log_text()
