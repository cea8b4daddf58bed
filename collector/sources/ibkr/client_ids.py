"""IB client ids: each collector needs its own, claimed in Redis so collectors on any host
never collide (TWS refuses a second connection under an id in use)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid

import redis as redis_lib

from collector import luascripts
from collector.i18n import N_
from collector.sources.base import TransientError


class ClientIdClaim:
    """Claims `base + n` under `{prefix}:ib:clientid:{id}` (SET NX with a TTL).

    A daemon thread refreshes the claim while it is held, so an idle collector keeps its
    id and a killed one frees it when the TTL runs out.
    """

    def __init__(self, redis: redis_lib.Redis | None, key_prefix: str, base: int,
                 span: int = 32, ttl: float = 60.0):
        self._redis, self._prefix, self.base, self.span, self.ttl = redis, key_prefix, base, span, ttl
        if redis is not None:
            self._refresh = luascripts.register(redis, __file__, "client_id_refresh")
            self._release = luascripts.register(redis, __file__, "client_id_release")
        self._token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.current: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _key(self, client_id: int) -> str:
        return f"{self._prefix}:ib:clientid:{client_id}"

    def claim(self, skip: set[int]) -> int:
        """A client id no other collector holds, avoiding ids in `skip`."""
        self.release()
        for client_id in range(self.base, self.base + self.span):
            if client_id in skip:
                continue
            if self._redis is None:
                self.current = client_id
                return client_id
            try:
                taken = self._redis.set(self._key(client_id), self._token, nx=True,
                                        px=int(self.ttl * 1000))
            except redis_lib.RedisError as exc:
                raise TransientError(N_("Redis is unreachable, so no IB client id can be claimed: {error}",
                                        error=exc)) from exc
            if taken:
                self.current = client_id
                self._start_refresher()
                return client_id
        raise TransientError(N_("Every IB client id from {first!s} to {last!s} is in use by other collectors or "
                                "programs", first=self.base, last=self.base + self.span - 1), retry_after=self.ttl)

    def refresh(self) -> None:
        if self._redis is None or self.current is None:
            return
        with contextlib.suppress(redis_lib.RedisError):  # the next refresh tries again
            self._refresh(keys=[self._key(self.current)], args=[self._token, int(self.ttl * 1000)])

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)
        self._thread = None
        if self._redis is not None and self.current is not None:
            with contextlib.suppress(redis_lib.RedisError):  # the TTL frees it anyway
                self._release(keys=[self._key(self.current)], args=[self._token])
        self.current = None

    def _start_refresher(self) -> None:
        self._stop = threading.Event()
        stop = self._stop

        def beat() -> None:
            while not stop.wait(self.ttl / 3):
                self.refresh()

        self._thread = threading.Thread(target=beat, name=f"ib-clientid-{self.current}", daemon=True)
        self._thread.start()
