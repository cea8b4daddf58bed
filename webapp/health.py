"""Health check for load balancers and compose: 200 when the database and Redis answer.

Anyone may ask, so the answer says only what is unreachable; the reason (which may name
hosts and ports) goes to the log, and to callers who sent the access token."""

from __future__ import annotations

import logging

import redis
from flask import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from . import services
from .auth import proved_token

bp = Blueprint("health", __name__)
log = logging.getLogger("mdc.web")


@bp.get("/healthz")
def healthz():
    """Database and Redis reachability, as JSON."""
    svc = services.get()
    checks: dict[str, str] = {}
    details: dict[str, str] = {}
    for name, ping, errors in (("database", svc.db.ping, SQLAlchemyError), ("redis", svc.redis.ping, redis.RedisError)):
        try:
            ping()
            checks[name] = "ok"
        except errors as exc:
            checks[name] = f"{name} unreachable"
            details[name] = f"{exc.__class__.__name__}: {exc}"
            log.warning("health check: %s unreachable: %s", name, details[name])
    healthy = not details
    body = {"status": "ok" if healthy else "unavailable", **checks}
    proved = proved_token()  # asked every time, so wrong tokens count even while all is well
    if details and proved:
        body["details"] = details
    return body, 200 if healthy else 503
