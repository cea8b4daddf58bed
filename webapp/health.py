"""Health check for load balancers and compose: 200 when the database and Redis answer."""

from __future__ import annotations

import redis
from flask import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from . import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Database and Redis reachability, as JSON."""
    svc = services.get()
    checks: dict[str, str] = {}
    try:
        svc.db.ping()
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"unreachable: {exc.__class__.__name__}"
    try:
        svc.redis.ping()
        checks["redis"] = "ok"
    except redis.RedisError as exc:
        checks["redis"] = f"unreachable: {exc}"
    healthy = all(v == "ok" for v in checks.values())
    return {"status": "ok" if healthy else "unavailable", **checks}, 200 if healthy else 503
