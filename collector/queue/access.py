"""Sign-in state the web workers share through Redis: browser sessions that sign-out can
revoke, and failed sign-in attempts per client address (to slow down token guessing)."""

from __future__ import annotations

import secrets
import uuid

import redis

from collector import luascripts


class WebSessions:
    """Signed-in browser sessions. The cookie carries only a random id; the id is valid while
    its key exists here, so deleting the key (sign-out) ends the session wherever the cookie
    was copied to, and a flushed Redis signs everyone out rather than in."""

    def __init__(self, client: redis.Redis, prefix: str = "mdc"):
        self.redis = client
        self.prefix = prefix

    def key(self, sid: str) -> str:
        return f"{self.prefix}:web:session:{sid}"

    def open(self, ttl_seconds: int) -> str:
        """A new session id, valid for `ttl_seconds` unless used again (see `touch`)."""
        sid = secrets.token_urlsafe(24)
        self.redis.set(self.key(sid), "1", ex=max(1, int(ttl_seconds)))
        return sid

    def touch(self, sid: str, ttl_seconds: int) -> bool:
        """True when the session is open, and then it lives `ttl_seconds` from now."""
        return bool(sid) and bool(self.redis.expire(self.key(sid), max(1, int(ttl_seconds))))

    def close(self, sid: str) -> None:
        if sid:
            self.redis.delete(self.key(sid))


class FailedAttempts:
    """At most `limit` failed attempts per client address in any `window_seconds`."""

    def __init__(self, client: redis.Redis, prefix: str = "mdc", *, limit: int = 10,
                 window_seconds: float = 60.0):
        self.prefix = prefix
        self.limit = limit
        self.window_seconds = window_seconds
        self._script = luascripts.register(client, __file__, "failed_attempts")

    def wait_seconds(self, address: str) -> float:
        """Seconds before `address` may try again; 0 when it may now."""
        return self._run(address, record=False)

    def record(self, address: str) -> float:
        """Count one failure; the seconds `address` must now wait (0 when it still may try)."""
        return self._run(address, record=True)

    def _run(self, address: str, *, record: bool) -> float:
        key = f"{self.prefix}:web:failed:{address}"
        args = [self.window_seconds, self.limit, "1" if record else "0", uuid.uuid4().hex]
        return float(self._script(keys=[key], args=args))
