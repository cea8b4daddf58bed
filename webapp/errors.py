"""Every error is an answer a person (or curl) can read: JSON or HTML, never a traceback."""

from __future__ import annotations

import logging

import redis
from flask import Flask, make_response, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("mdc.web")


def wants_json() -> bool:
    """True when the client prefers JSON to HTML (curl -H 'Accept: application/json')."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        body, code = _render(exc.code or 500, exc.name, exc.description or "")
        response = make_response(body, code)
        for name, value in exc.get_headers():  # Allow on 405, Retry-After on 429...
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
        return response

    @app.errorhandler(redis.RedisError)
    def redis_down(exc: redis.RedisError):
        log.warning("Redis unreachable on %s %s: %s", request.method, request.path, exc)
        return _render(503, "Redis unreachable", "The queue server (Redis) cannot be reached; "
                       "jobs and the database are safe. Try again in a moment.")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _render(500, "Internal Server Error", "Something went wrong on our side; it has been logged.")


def _render(code: int, title: str, message: str):
    if wants_json():
        return {"error": title, "message": message}, code
    return render_template("error.html", code=code, title=title, message=message), code
