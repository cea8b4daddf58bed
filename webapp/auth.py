"""Access protection for deployments.

- With MDC_AUTH_TOKEN set, browsers sign in once on /login (a signed session cookie,
  HttpOnly, SameSite=Lax, Secure when MDC_COOKIE_SECURE=1) and scripts send
  `Authorization: Bearer <token>`. Everything but /healthz and /login needs one of them.
- Always: state-changing requests from another origin are refused (Sec-Fetch-Site / Origin),
  so forms need no CSRF token and curl, which sends neither header, keeps working.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, session, url_for

from collector import N_, SettingsError

from .errors import wants_json
from .i18n import translate

bp = Blueprint("auth", __name__)

OPEN_ENDPOINTS = {"health.healthz", "auth.login", "static"}
# Read by machines (Prometheus), never by a person: a login page would be scraped as metrics.
MACHINE_ENDPOINTS = {"metrics.metrics"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def token() -> str:
    return current_app.config["MDC_SETTINGS"].auth_token


def _token_ok(candidate: str | None) -> bool:
    return bool(candidate) and hmac.compare_digest(candidate.encode(), token().encode())


def _cross_origin() -> bool:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return urlsplit(origin).netloc != request.host


def check_request():
    if request.method in UNSAFE and _cross_origin():
        abort(403, N_("Cross-origin request refused: submit the form from mdc's own pages, or use curl."))
    if not token() or request.endpoint in OPEN_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and _token_ok(header[7:].strip()):
        return None
    if session.get("signed_in"):
        return None
    if wants_json() or header or request.method in UNSAFE or request.endpoint in MACHINE_ENDPOINTS:
        response = current_app.make_response(({"error": "Unauthorized", "message":
                                                N_("Send Authorization: Bearer <MDC_AUTH_TOKEN>, or sign in at /login.")}, 401))
        response.headers["WWW-Authenticate"] = 'Bearer realm="mdc"'
        return response
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def safe_next(target: str | None, default: str | None = None) -> str:
    """Only local paths, so the login page cannot be used to redirect elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default or url_for("collect.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with the access token."""
    if not token():
        return redirect(url_for("collect.index"))
    error = None
    if request.method == "POST":
        if _token_ok(request.form.get("token", "").strip()):
            session.clear()
            session["signed_in"] = True
            session.permanent = True
            return redirect(safe_next(request.form.get("next")), code=303)
        error = N_("That token is not right. It is the value of MDC_AUTH_TOKEN on the server.")
    return render_template("login.html", error=error, next=request.values.get("next", ""),
                           with_banner=False), 401 if error else 200


@bp.post("/logout")
def logout():
    """Forget this browser's sign-in."""
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
    app.before_request(check_request)
    app.register_blueprint(bp)
