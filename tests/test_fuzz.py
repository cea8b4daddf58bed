"""Property-based fuzzing of every route (issue 13): hostile path parts, query strings, form
fields and headers never get a 5xx; an error asked for as JSON is JSON; an HTML page never
carries the input unescaped. Seeded (derandomize) and bounded, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import JSON, sim_frame, store_bars

pytestmark = pytest.mark.both_databases

TOKEN = "fuzz-token-0123456789abcdef"
# Input that would run as markup if a page echoed it unescaped.
MARKUP = ["<script>alert(1)</script>", '"><svg onload=alert(1)>', "<img src=x onerror=alert(1)>",
          "'><iframe src=javascript:alert(1)>"]
NASTY = MARKUP + [
    "9999-12-31", "0001-01-01", "9999-12-31 America/New_York", "0001-01-01T00:00+01:00", "2024-13-45",
    "2024-01-01T25:61", "2024-01-01 ../../etc/passwd", "²", "١", "٣", "1_0", "-1", "0", "+7", str(2**31), str(2**63),
    "99999999999999999999", "1e309", "nan", "inf", "-inf", "0x10", " 7 ", "\r\n", "/jobs\r\nSet-Cookie: x=1",
    "/\t/evil.example", "//evil.example", "https://evil.example", "\\\\evil", "javascript:alert(1)", "ß", "ＡＡＰＬ",
    "\x00", "%00", "%", "\ud7ff", "\U0001f600", "a" * 3000, ",,,;;;", "AAPL," * 60, "transient:²", "permanent:-1",
    "yes", "no", "true", "maybe", "desc", "all", "running", "bogus", "1h", "1mo", "custom", "ytd", "max",
    "1,2", "1,²", f"1,{2**31}", "999999999999", ",".join(["1"] * 60),
]
VALUES = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))
QUERY_NAMES = ["page", "start", "end", "tab", "symbol", "source", "sort", "dir", "range", "kind", "after", "next",
               "period", "interval", "run", "ids"]
FORM_NAMES = ["symbol", "source", "interval", "period", "start", "end", "delay", "kind", "fail", "adjusted",
              "what_to_show", "rth", "currency", "primary_exchange", "only_missing", "days", "confirm", "tab",
              "next", "token"]
PATH_VALUES = {
    "int": st.one_of(st.sampled_from(["1", "2", "0", str(2**31), str(2**63), "١", "99999999999999999999"]),
                     st.integers(min_value=0, max_value=2**70).map(str)),
    "interval": st.sampled_from(["1h", "1d", "5m", "999mo", "000s", "1s"]),
    "path": st.one_of(st.sampled_from(["AAPL", "EUR/USD", "<B>", "ß", "..", "a/../../b"]), st.text(min_size=1, max_size=20)),
    "default": st.one_of(st.sampled_from(["sim", "yahoo", "ibkr", "nasdaq", "<b>"]), st.text(min_size=1, max_size=20)),
}
HEADERS = st.fixed_dictionaries({}, optional={
    "Accept": st.sampled_from(["application/json", "text/html", "*/*", "application/json;q=abc, text/html;q=x",
                               "application/json;q=2", "text/html;q=0, application/json;q=0.5", ";;;,,,", "é"]),
    "HX-Request": st.sampled_from(["true", "false", ""]),
    "HX-Target": st.sampled_from(["chart", "bars", "<x>", ""]),
    "Origin": st.sampled_from(["http://localhost", "http://evil.example", "http://[::1", "null", "%%%"]),
    "Sec-Fetch-Site": st.sampled_from(["same-origin", "cross-site", "none", "<x>"]),
    "Authorization": st.sampled_from([f"Bearer {TOKEN}", f"bearer {TOKEN}", "Bearer", "Basic x", "Bearer \x7f",
                                      "b" * 2000]),
})
BODIES = st.sampled_from(["form", "none", "empty-json", "garbage"])


@st.composite
def requests(draw, rules):
    rule = draw(st.sampled_from(rules))
    method = draw(st.sampled_from(sorted(rule.methods - {"HEAD", "OPTIONS"})))
    path = rule.rule
    for converter, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule.rule):
        kind = converter if converter in PATH_VALUES else "default"
        value = quote(draw(PATH_VALUES[kind]), safe="/" if kind == "path" else "")
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?" + name + ">", value.replace("\\", "\\\\"), path, count=1)
    query = draw(st.dictionaries(st.sampled_from(QUERY_NAMES), VALUES, max_size=4))
    form = draw(st.dictionaries(st.sampled_from(FORM_NAMES), VALUES, max_size=6))
    return method, path, query, form, draw(HEADERS), draw(BODIES)


def send(client, method, path, query, form, headers, body):
    headers = dict(headers)
    data = None
    if body == "form":
        data = form
    elif body == "empty-json":
        headers["Content-Type"] = "application/json"
        data = b""
    elif body == "garbage":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        data = b"\xff\xfe=%%&&symbol=%E0%A4"
    return client.open(path, method=method, query_string=query, data=data, headers=headers)


def check(response, method, path, query, form, headers):
    what = f"{method} {path} {query} {form} {headers}"
    assert response.status_code < 500, f"{response.status_code} for {what}: {response.get_data(as_text=True)[:500]}"
    asked_json = headers.get("Accept") in ("application/json", "application/json;q=2", "text/html;q=0, application/json;q=0.5")
    if response.status_code >= 400 and (asked_json or response.mimetype == "application/json"):
        assert response.mimetype == "application/json", what
        assert isinstance(json.loads(response.get_data()), dict), what
    if response.mimetype == "text/html":
        html = response.get_data(as_text=True)
        for marker in MARKUP:
            assert marker not in html, f"unescaped {marker!r} for {what}"


@pytest.fixture
def fuzz_app(make_app, db):
    """An app with something to find: a stored series, and a job. Built once for all examples."""
    store_bars(db, sim_frame())
    app = make_app()
    app.test_client().post("/jobs", data={"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "1mo"},
                           headers=JSON)
    return app


@pytest.fixture
def secured_fuzz_app(make_app, db):
    store_bars(db, sim_frame())
    return make_app(auth_token=TOKEN)


def rules_of(app):
    return [rule for rule in app.url_map.iter_rules()]


FUZZ = settings(max_examples=150, derandomize=True, deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(data=st.data())
def test_every_route_answers_hostile_input_without_a_5xx(fuzz_app, data):
    client = fuzz_app.test_client()
    method, path, query, form, headers, body = data.draw(requests(rules_of(fuzz_app)))
    response = send(client, method, path, query, form, headers, body)
    check(response, method, path, query, form, headers)


@FUZZ
@given(data=st.data())
def test_every_route_with_a_token_answers_hostile_input_without_a_5xx(secured_fuzz_app, data):
    app = secured_fuzz_app
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"198.51.100.{data.draw(st.integers(0, 255))}"  # spread the rate limit
    method, path, query, form, headers, body = data.draw(requests(rules_of(app)))
    response = send(client, method, path, query, form, headers, body)
    check(response, method, path, query, form, headers)


def test_the_fuzzer_covers_every_route(app):
    rules = rules_of(app)
    assert {r.endpoint for r in rules} >= {"job_actions.create", "jobs.detail", "job_actions.cancel", "job_actions.retry",
                                           "job_actions.cleanup", "jobs.summary", "collect.hint",
                                           "data.index", "data.series", "data.export_csv", "data.export_parquet",
                                           "data_actions.delete", "collect.fields", "auth.login", "health.healthz"}
