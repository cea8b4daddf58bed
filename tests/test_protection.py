"""Protections a browser relies on when mdc is reachable: loopback names only without a
token (DNS rebinding), headers against framing, sniffing and caching, no token in logs, and
no guessing oracle on /healthz."""

import base64
import urllib.error
import urllib.request

import pytest

from tests.helpers import JSON

TOKEN = "s3cret-token-0123456789"
FORM = {"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "1y"}


@pytest.mark.parametrize("host", ["rebind.attacker.example:8843", "192.168.1.20:8000", "localhost.evil.example",
                                  "127.0.0.1.nip.io"])
def test_without_a_token_a_name_that_is_not_loopback_is_refused(client, host):
    """A page whose name re-resolves to 127.0.0.1 is same-origin to the browser; its Host is not."""
    for response in (client.post("/jobs", data=FORM, headers={**JSON, "Host": host, "Origin": f"http://{host}",
                                                                "Sec-Fetch-Site": "same-origin"}),
                     client.get("/jobs", headers={"Host": host})):
        assert response.status_code == 403
        assert "answers only to localhost, 127.0.0.1 and [::1]" in response.get_data(as_text=True)
    assert client.get("/jobs", headers=JSON).get_json()["total"] == 0  # nothing was submitted
    assert client.get("/healthz", headers={"Host": host}).status_code in (200, 503)  # probes may use any name


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST.:80", "mdc.localhost:8000"])
def test_without_a_token_loopback_names_are_served(client, host):
    assert client.get("/jobs", headers={"Host": host}).status_code == 200


def test_with_a_token_any_name_is_served_to_who_has_it(make_app):
    client = make_app(auth_token=TOKEN).test_client()
    answer = client.get("/jobs", headers={**JSON, "Host": "mdc.example.com", "Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200


@pytest.mark.parametrize("path", ["/collect", "/jobs", "/nowhere"])
def test_every_answer_refuses_framing_sniffing_and_referrers(client, path):
    headers = client.get(path).headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "same-origin"


def test_with_a_token_answers_stay_out_of_caches_but_static_files_do_not(make_app):
    client = make_app(auth_token=TOKEN).test_client()
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/jobs", headers=bearer).headers["Cache-Control"] == "no-store"
    assert client.get("/jobs", headers={**bearer, **JSON}).headers["Cache-Control"] == "no-store"
    with client.get("/static/app.js") as static:
        assert "no-store" not in static.headers.get("Cache-Control", "")


def test_wrong_bearer_tokens_on_healthz_count_and_past_the_limit_prove_nothing(make_app):
    client = make_app(auth_token=TOKEN).test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for i in range(10):
        assert client.get("/healthz", headers={"Authorization": f"Bearer guess-{i}"}).status_code == 200
    assert client.get("/jobs", headers={**JSON, "Authorization": f"Bearer {TOKEN}"}).status_code == 429
    assert client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200  # still answers


def test_a_token_sent_as_basic_auth_never_reaches_the_access_log(gunicorn, tmp_path):
    access = tmp_path / "access.log"
    server = gunicorn("--access-logfile", str(access), MDC_AUTH_TOKEN=TOKEN)
    basic = base64.b64encode(f"{TOKEN}:".encode()).decode()
    request = urllib.request.Request(f"{server.url}/jobs/summary", headers={"Authorization": f"Basic {basic}"})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=30)
    answer.value.close()
    assert answer.value.code == 401
    server.proc.terminate()
    server.proc.wait(20)
    logged = access.read_text()
    assert "/jobs/summary" in logged and TOKEN not in logged
