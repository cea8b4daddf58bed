"""Every error is an answer a person (or curl) can read: JSON or HTML, never a traceback.

Titles and texts are Messages, shown in the request's language (webapp/i18n.py); the JSON
`error` field keeps Werkzeug's English name, which scripts may test."""

from __future__ import annotations

import logging

import redis
from flask import Flask, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from collector import N_, Message

log = logging.getLogger("mdc.web")

TITLES: dict[int, Message] = {
    400: N_("Bad request"), 401: N_("Sign-in needed"), 403: N_("Refused"), 404: N_("Not found"),
    405: N_("Method not allowed"), 409: N_("Conflict"), 413: N_("Request too large"),
    422: N_("Invalid input"), 429: N_("Too many requests"), 500: N_("Server error"),
    503: N_("Service unavailable"),
}

# What Werkzeug would say in English when a view gives no reason of its own.
DEFAULT_TEXTS: dict[int, Message] = {
    400: N_("The request could not be understood. Check what was sent and try again."),
    401: N_("Sign in first, or send the access token."),
    403: N_("This request is not allowed."),
    404: N_("There is nothing at this address. Check it, or start again from the jobs."),
    405: N_("This address does not accept that kind of request."),
    413: N_("The request is too large."),
    429: N_("Too many requests: wait a moment and try again."),
}


def wants_json() -> bool:
    """True when the client prefers JSON to HTML (curl -H 'Accept: application/json')."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]:
        return True
    # Werkzeug drops entries it cannot weigh ("application/json;q=2" parses as nothing): a header
    # that names JSON and does not accept HTML (absent, or q=0) still asks for JSON.
    raw = request.headers.get("Accept", "").lower()
    return "application/json" in raw and not request.accept_mimetypes["text/html"]


def _text(exc: HTTPException) -> str:
    """The view's own reason, or a translatable one instead of Werkzeug's default text."""
    code = exc.code or 500
    if exc.description and exc.description != type(exc).description:
        return exc.description
    return DEFAULT_TEXTS.get(code, exc.description or "")


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        body, code = _render(exc.code or 500, exc.name, _text(exc))
        response = make_response(body, code)
        for name, value in exc.get_headers():  # Allow on 405, Retry-After on 429...
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
        if code == 413:  # the body was not read: the connection cannot carry another request
            response.headers["Connection"] = "close"
        return response

    @app.errorhandler(redis.RedisError)
    def redis_down(exc: redis.RedisError):
        log.warning("Redis unreachable on %s %s: %s", request.method, request.path, exc)
        return _render(503, "Redis unreachable", N_("The queue server (Redis) cannot be reached; "
                                                    "jobs and the database are safe. Try again in a moment."),
                       title=N_("Redis unreachable"))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _render(500, "Internal Server Error", N_("Something went wrong on our side; it has been logged."))


# Downloads: a script that saves what it gets (curl -OJ, pandas) must not save an error page.
DOWNLOAD_ENDPOINTS = {"data.export_csv", "data.export_parquet"}


def _render(code: int, name: str, message: str, *, title: Message | None = None):
    if wants_json() or (request.endpoint in DOWNLOAD_ENDPOINTS and "text/html" not in request.headers.get("Accept", "")):
        return {"error": name, "message": message}, code
    title = title or TITLES.get(code, name)
    return render_template("error.html", code=code, title=title, message=message, with_banner=False), code
