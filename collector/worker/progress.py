"""Running totals of one job and the progress events that report them; retry backoff."""

from __future__ import annotations

import logging
import random
import time
from typing import Any, Callable

import redis

from collector.queue import Counts, Queue, record_bars
from collector.store import Job, JobStatus, UpsertCounts

log = logging.getLogger("mdc.collector")


class Progress:
    """Running totals of one job and the events that report them."""

    def __init__(self, queue: Queue, job: Job, collector: str):
        self.queue, self.job_id, self.source, self.collector = queue, job.id, job.source, collector
        self.done, self.total = job.progress_done, job.progress_total
        self.rows_new, self.rows_updated, self.rows_unchanged = job.rows_new, job.rows_updated, job.rows_unchanged
        self.suspect = job.suspect_bars or 0
        self._last_wait = 0.0

    def add(self, counts: UpsertCounts, suspect: int = 0) -> None:
        self.rows_new += counts.new
        self.rows_updated += counts.updated
        self.rows_unchanged += counts.unchanged
        self.suspect += suspect

    @property
    def counts(self) -> Counts:
        return Counts(self.done, self.total, self.rows_new, self.rows_updated)

    def event(self, message: str, state: str = JobStatus.RUNNING, *, bars_written: int = 0, pipe: Any = None,
              **extra: str) -> None:
        """Append a progress event; with `bars_written`, count them for the monitor in the same
        round trip. Given a pipeline, only queue the commands on it (the caller executes it)."""
        try:
            target = pipe if pipe is not None else self.queue.redis.pipeline(transaction=False)
            self.queue.add_event(self.job_id, state=state, message=message, counts=self.counts,
                                 collector=self.collector, pipe=target, **extra)
            record_bars(target, self.queue.prefix, self.source, bars_written)
            if pipe is None:
                target.execute()
        except redis.RedisError as exc:  # progress is best effort; the database has the truth
            log.warning("could not record progress of job %s: %s", self.job_id, exc)

    def waiting(self, message: str) -> None:
        """A source waits (pacing, rate limit): say so, at most every 2 s."""
        now = time.monotonic()
        if now - self._last_wait >= 2.0:
            self._last_wait = now
            self.event(message)


class JobWaits:
    """What a source is given while it fetches one chunk: calling it reports a wait (a progress
    event), and `sleep()` waits in a way that a cancel or a shutdown cuts short (see
    sources.base.sleeper)."""

    def __init__(self, progress: Progress, sleep: Callable[[float], None]):
        self._progress = progress
        self.sleep = sleep

    def __call__(self, message: str) -> None:
        self._progress.waiting(message)


def backoff(attempt: int, base: float, cap: float = 120.0) -> float:
    """Exponential backoff with full jitter on the upper half."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)
