"""Access protection for deployments.

- With MDC_AUTH_TOKEN set, browsers sign in once on /login and scripts send
  `Authorization: Bearer <token>` (the scheme in any case). Everything but /healthz and
  /login needs one of them.
- A browser session (signed cookie: HttpOnly, SameSite=Lax, Secure with MDC_COOKIE_SECURE)
  holds a random id registered in Redis until sign-out, and a fingerprint of the token:
  signing out ends the session wherever the cookie was copied to, and a new token ends
  every session. While Redis is down a cookie of the current token still reads pages (and
  the log says revocation is not being checked).
- Wrong tokens (sign-in or Bearer) are limited per client address, shared by every worker
  through Redis: past the limit, 429 with Retry-After.
- Always: state-changing requests from another origin are refused (Sec-Fetch-Site / Origin),
  so forms need no CSRF token and curl, which sends neither header, keeps working.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import time
from urllib.parse import urlsplit

import redis
from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, session, url_for
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from collector import N_, SettingsError

from . import services
from .errors import wants_json
from .i18n import translate

bp = Blueprint("auth", __name__)
log = logging.getLogger("mdc.web")

OPEN_ENDPOINTS = {"health.healthz", "auth.login", "static"}
# Read by machines (Prometheus), never by a person: a login page would be scraped as metrics.
MACHINE_ENDPOINTS = {"metrics.metrics"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Control characters and whitespace: browsers drop them from a URL ("/\t/evil" is "//evil").
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f\s]")
_warned: dict[str, float] = {}


def token() -> str:
    return current_app.config["MDC_SETTINGS"].auth_token


def _token_ok(candidate: str | None) -> bool:
    return bool(candidate) and hmac.compare_digest(candidate.encode(), token().encode())


def _fingerprint() -> str:
    """Ties a session to the token it signed in with, without putting the token in the cookie."""
    key = str(current_app.secret_key).encode()
    return hmac.new(key, token().encode(), hashlib.sha256).hexdigest()[:32]


def _cross_origin() -> bool:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    try:
        return urlsplit(origin).netloc != request.host
    except ValueError:  # not even a URL
        return True


def check_request():
    if request.method in UNSAFE and _cross_origin():
        abort(403, N_("Cross-origin request refused: submit the form from mdc's own pages, or use curl."))
    if not token() or request.endpoint in OPEN_ENDPOINTS:
        return None
    header = request.headers.get("Authorization")
    if header is not None and _bearer_ok(header):
        return None
    if _session_ok():
        return None
    if request.headers.get("HX-Request") == "true":
        return _sign_in_again()
    if (wants_json() or header is not None or request.method in UNSAFE or request.endpoint in MACHINE_ENDPOINTS
            or not _browser()):
        response = current_app.make_response(({"error": "Unauthorized", "message":
                                                N_("Send Authorization: Bearer <MDC_AUTH_TOKEN>, or sign in at /login.")}, 401))
        response.headers["WWW-Authenticate"] = 'Bearer realm="mdc"'
        return response
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _browser() -> bool:
    """A browser says it reads HTML; curl (*/*), pandas and scripts do not, and get a 401 they
    can act on instead of a sign-in page saved as data.csv."""
    return "text/html" in request.headers.get("Accept", "")


def _sign_in_again():
    """An htmx request (the banner polling, a form posting in place) from a page whose session
    ended: a redirect would put the sign-in page inside the page, so htmx is told to load the
    sign-in page itself, coming back to the page the person was on."""
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    back = safe_next(current.path + (f"?{current.query}" if current.query else ""))
    response = current_app.make_response(("", 401))
    response.headers["HX-Redirect"] = url_for("auth.login", next=back)
    return response


def proved_token() -> bool:
    """The caller sent the token (Bearer) or has a session of it: may read error details.
    For open pages such as /healthz, which answer anyway: a wrong Bearer counts towards the
    guessing limit, and past it even the right one proves nothing (no oracle for guesses)."""
    if not token():
        return False
    header = request.headers.get("Authorization")
    if header is None:
        return _session_ok()
    try:
        return _bearer_ok(header) or _session_ok()
    except TooManyRequests:
        return False


def _bearer_ok(header: str) -> bool:
    """`Bearer <token>`, the scheme case-insensitive (RFC 9110); a wrong one counts as a failure."""
    refuse_while_limited()
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() == "bearer" and _token_ok(credentials.strip()):
        return True
    record_failure()
    return False


def _session_ok() -> bool:
    sid, fingerprint = session.get("sid"), session.get("token")
    if not sid or not isinstance(fingerprint, str) or not hmac.compare_digest(fingerprint, _fingerprint()):
        if sid or fingerprint:
            session.clear()  # signed in with another token, or by an older version
        return False
    try:
        alive = services.get().web_sessions.touch(sid, _lifetime())
    except redis.RedisError as exc:
        _warn_once("revocation", "Redis unreachable (%s): signed-in sessions are not checked for sign-out", exc)
        return True
    if not alive:
        session.clear()
    return alive


def _lifetime() -> int:
    return int(current_app.permanent_session_lifetime.total_seconds())


def refuse_while_limited() -> None:
    """429 with Retry-After while this client address has used up its wrong tokens."""
    try:
        wait = services.get().failed_attempts.wait_seconds(request.remote_addr or "unknown")
    except redis.RedisError as exc:
        _warn_once("attempts", "Redis unreachable (%s): wrong tokens are not being counted", exc)
        return
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(N_("Too many wrong tokens from your address: try again in {seconds!s} s.",
                                 seconds=seconds), retry_after=seconds)


def record_failure() -> None:
    address = request.remote_addr or "unknown"
    log.warning("wrong access token from %s on %s %s", address, request.method, request.path)
    try:
        services.get().failed_attempts.record(address)
    except redis.RedisError as exc:
        _warn_once("attempts", "Redis unreachable (%s): wrong tokens are not being counted", exc)


def _warn_once(topic: str, message: str, *args) -> None:
    """At most one such line a minute per worker, not one per request of an outage."""
    now = time.monotonic()
    if now - _warned.get(topic, -math.inf) >= 60:
        _warned[topic] = now
        log.warning(message, *args)


def safe_next(target: str | None, default: str | None = None) -> str:
    """Only a path on this site, so sign-in and cancel cannot be used to send people elsewhere:
    no control characters or whitespace, and no scheme or host even once they are dropped."""
    fallback = default or url_for("collect.index")
    if not target or _INVISIBLE.search(target) or "\\" in target:
        return fallback
    try:
        parts = urlsplit(target)
    except ValueError:
        return fallback
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with the access token."""
    if not token():
        return redirect(url_for("collect.index"))
    error = None
    if request.method == "POST":
        refuse_while_limited()
        if _token_ok(request.form.get("token", "").strip()):
            sid = services.get().web_sessions.open(_lifetime())  # Redis down: 503, say so
            session.clear()
            session.update(sid=sid, token=_fingerprint())
            session.permanent = True
            return redirect(safe_next(request.form.get("next")), code=303)
        record_failure()
        error = N_("That token is not right. It is the value of MDC_AUTH_TOKEN on the server.")
    return render_template("login.html", error=error, next=request.values.get("next", ""),
                           with_banner=False), 401 if error else 200


@bp.post("/logout")
def logout():
    """End this browser's session, here and wherever its cookie was copied to."""
    try:
        services.get().web_sessions.close(session.get("sid", ""))
    except redis.RedisError as exc:
        log.warning("Redis unreachable (%s): session signed out in this browser only, not revoked", exc)
    session.clear()
    flash(translate(N_("Signed out.")), "ok")  # the session keeps text, not a Message
    return redirect(url_for("auth.login") if token() else url_for("collect.index"), code=303)


def init_app(app: Flask) -> None:
    settings = app.config["MDC_SETTINGS"]
    exposed = settings.exposed_without_token()
    if exposed:  # refuse rather than warn: the default (127.0.0.1) never trips this
        raise SettingsError(
            f"refusing to start: MDC_WEB_BIND={exposed} publishes the web app beyond this machine and "
            "MDC_AUTH_TOKEN is empty, so anyone who can reach it could submit, cancel and delete. "
            "Set MDC_AUTH_TOKEN (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'), "
            "or set MDC_WEB_BIND=127.0.0.1.")
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=settings.cookie_secure, SESSION_COOKIE_NAME="mdc_session")
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    app.before_request(check_request)
    app.register_blueprint(bp)
