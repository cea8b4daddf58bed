"""What a browser needs from a web app that can submit, cancel and delete:

- Without MDC_AUTH_TOKEN, mdc answers only to loopback names (localhost, 127.0.0.1, [::1]).
  A page whose own name re-resolves to 127.0.0.1 (DNS rebinding) is same-origin to the
  browser, so the cross-origin check cannot stop it; the name it sends as Host can.
- Every answer may not be framed by another page (clickjacking), read as another type than
  it says, or leak its address in a Referer; with a token, answers stay out of caches.
"""

from __future__ import annotations

from flask import Flask, Response, abort, request

from collector import N_

from .auth import token

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
OPEN_TO_ANY_HOST = {"health.healthz"}  # probes may use any name: it changes nothing


def host_name(host: str) -> str:
    """The name part of a Host header: "[::1]:8000" -> "::1", "Example.com.:80" -> "example.com"."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0].rstrip(".") if ":" in host else host.rstrip(".")


def check_host():
    if token() or request.endpoint in OPEN_TO_ANY_HOST:
        return None
    name = host_name(request.host)
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return None
    abort(403, N_("Without MDC_AUTH_TOKEN, mdc answers only to localhost, 127.0.0.1 and [::1]: open it by one "
                  "of those names, or set MDC_AUTH_TOKEN to reach it by another."))


def add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if token() and request.endpoint != "static" and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"  # jobs, bars and exports of a signed-in reader
    return response


def init_app(app: Flask) -> None:
    app.before_request(check_host)
    app.after_request(add_headers)
