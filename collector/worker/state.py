"""What a collector's helpers may know about it: its name, whether it is stopping, the job
it runs and its counters. The heartbeat thread reads it while the main loop writes it,
hence the lock."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from collector.queue import Entry

OUTCOMES = ("completed", "failed", "cancelled", "handed_back")


@dataclass(frozen=True)
class Current:
    entry: Entry | None
    job_id: int | None
    stopping: bool


@dataclass
class WorkerState:
    name: str
    started: float = field(default_factory=time.time)
    stopping: bool = False
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    _entry: Entry | None = None
    _job_id: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def working_on(self, entry: Entry | None, job_id: int | None) -> None:
        with self._lock:
            self._entry, self._job_id = entry, job_id

    def entry_done(self) -> None:
        """The job's row is final: stop refreshing the claim on its entry (it is acked next)."""
        with self._lock:
            self._entry = None

    def now(self) -> Current:
        with self._lock:
            return Current(self._entry, self._job_id, self.stopping)

    def count(self, outcome: str) -> None:
        with self._lock:
            self.counts[outcome] += 1

    def summary(self) -> str:
        c = self.counts
        return (f"stopped after {time.time() - self.started:.0f} s: {c['completed']} completed, "
                f"{c['failed']} failed, {c['cancelled']} cancelled, {c['handed_back']} handed back")
