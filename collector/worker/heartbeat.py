"""A collector's heartbeat thread and its view of Redis' health.

Every `every_s` seconds the thread writes the collector's heartbeat (a hash with a TTL) and
refreshes the claim on the queue entry of the job it runs, so nobody takes a long job over
while its collector is alive. It also notes since when Redis has answered: after an outage
every entry looks idle, so collectors wait one idle timeout before judging any other
collector dead (the live ones refresh their claims in the meantime).
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from collector.queue import Queue, Registry

from .state import WorkerState

log = logging.getLogger("mdc.collector")


class RedisHealth:
    """Since when Redis has answered this process without interruption."""

    def __init__(self) -> None:
        self._since: float | None = float("-inf")  # never seen down: nothing to wait for
        self._lock = threading.Lock()

    def ok(self) -> bool:
        """Record a success; True when it ends an outage."""
        with self._lock:
            if self._since is None:
                self._since = time.monotonic()
                return True
            return False

    def failed(self) -> None:
        with self._lock:
            self._since = None

    def up_for(self) -> float:
        """Seconds Redis has been reachable (0 while it is not)."""
        with self._lock:
            return 0.0 if self._since is None else time.monotonic() - self._since


class Heartbeat:
    def __init__(self, registry: Registry, queue: Queue, state: WorkerState, health: RedisHealth, every_s: float):
        self.registry, self.queue, self.state, self.health = registry, queue, state, health
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)
        self._lost: str | None = None  # entry we already warned about

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            try:
                self.beat()
                if self.health.ok():
                    log.info("Redis is reachable again")
            except redis.RedisError as exc:
                self.health.failed()
                log.debug("heartbeat failed: %s", exc)
            if self._stop.wait(self.every_s):
                return

    def beat(self) -> None:
        state = self.state
        now = state.now()
        self.registry.beat(state.name, current_job=now.job_id, entry=now.entry.id if now.entry else None,
                           started_at=f"{state.started:.0f}", jobs_done=state.counts["completed"],
                           jobs_failed=state.counts["failed"],
                           state="stopping" if now.stopping else ("running" if now.job_id else "idle"))
        entry = now.entry
        if (entry is not None and not self.queue.refresh(state.name, entry.id) and self._lost != entry.id
                and state.now().entry is entry):  # not just acked by the main loop meanwhile
            self._lost = entry.id
            # The database still decides who owns the job; this only means that, should this
            # collector stop now, the job is recovered by the reconcile duty, not by XAUTOCLAIM.
            log.warning("the queue entry of job %s is no longer ours", now.job_id)
