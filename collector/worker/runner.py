"""Running one claimed job: fetch its chunks (retrying what is worth retrying), write each
with its checkpoint, and end it — in one place, `end()`.

A job's row is made final before its queue entry is acked, and its last chunk is written in
the same transaction that ends it.
"""

from __future__ import annotations

import logging
import time

import redis
from sqlalchemy.exc import DBAPIError

from collector import notes
from collector.i18n import N_, N_plural, message_of
from collector.jobs import JobManager, lifecycle
from collector.quality import Rules
from collector.queue import Entry
from collector.settings import Settings
from collector.sources import Interrupted, PermanentError, Source, TransientError, Unreachable
from collector.sources.base import Chunk, Fetched, Request
from collector.store import Job, JobStatus, is_outage, retry_db

from .keeper import SeriesKeeper
from .progress import JobWaits, Progress, backoff
from .state import WorkerState

log = logging.getLogger("mdc.collector")

OUTCOME = {JobStatus.COMPLETED: "completed", JobStatus.FAILED: "failed", JobStatus.CANCELLED: "cancelled"}


CANCEL_CHECK_S = 0.5  # while a job waits, how often its row is asked whether it was cancelled


class Stopping(Interrupted):
    """Shutdown was requested while waiting."""


class Cancelled(Interrupted):
    """The job was cancelled while it waited (a retry's backoff, a source's pacing)."""


def request_of(job: Job) -> Request:
    return Request(job.symbol, job.interval, job.start, job.end, dict(job.options or {}))


class JobRunner:
    def __init__(self, jobs: JobManager, state: WorkerState, settings: Settings):
        self.jobs, self.state, self.settings = jobs, state, settings
        self.db, self.queue = jobs.db, jobs.queue
        self.unacked: list[str] = []  # entries of finished jobs whose XACK failed (Redis down)

    def plan(self, job: Job) -> list[Chunk] | Exception:
        """The job's chunks, made once per run; a planning error is kept to fail the job with,
        once it is claimed."""
        try:
            return self.jobs.sources.get(job.source).plan(request_of(job))
        except Exception as exc:  # noqa: BLE001 - reported by run(), with the job claimed
            return exc

    def run(self, entry: Entry, job: Job, plan: list[Chunk] | Exception, resumed_from: str | None) -> None:
        """Run a claimed job to its end, or hand it back when the collector stops."""
        progress = Progress(self.queue, job, self.state.name)
        try:
            if isinstance(plan, Exception):
                raise plan
            self._chunks(entry, job, plan, progress, resumed_from)
        except Stopping:
            self.hand_back(entry, job, progress)
        except Cancelled:
            self.end(entry, job, JobStatus.CANCELLED, lifecycle.CANCELLED_ON_REQUEST, progress)
        except PermanentError as exc:
            self.end(entry, job, JobStatus.FAILED, message_of(exc), progress)
        except lifecycle.LostJob:
            raise
        except DBAPIError as exc:
            if not is_outage(exc):
                self._fail_internal(entry, job, exc, progress)
                return
            # Not the job's fault: leave it RUNNING with its entry unacked; it is taken
            # over and resumed from its checkpoint once the database answers again.
            log.warning("database unavailable while running job %s; it resumes from its checkpoint after %.0f s",
                        job.id, self.settings.claim_idle_seconds)
            progress.event(N_("Database unavailable; the job resumes from its last checkpoint once it is back."))
            raise
        except Exception as exc:  # a bug, not the person's fault: fail the job, keep the collector
            self._fail_internal(entry, job, exc, progress)

    def _chunks(self, entry: Entry, job: Job, plan: list[Chunk], progress: Progress, resumed_from: str | None) -> None:
        source = self.jobs.sources.get(job.source)
        request = request_of(job)
        first = int((job.checkpoint or {}).get("next_chunk", 0))
        if job.progress_total != len(plan):
            retry_db(lambda: lifecycle.set_total(self.db, job.id, self.state.name, len(plan)))
        progress.total, progress.done = len(plan), first
        self._announce(job, progress, first, resumed_from)
        keeper = self._keeper(job, source, progress)
        writing = retry_db(keeper.start)
        for index in range(first, len(plan)):
            if self.state.stopping:
                raise Stopping()
            fetched = self._fetch(source, request, plan[index], progress, job.id)
            if index == 0:
                retry_db(lambda: keeper.check_overlap(fetched))
            if index + 1 == len(plan) and not keeper.writes_apart(fetched):
                self.end(entry, job, JobStatus.COMPLETED, None, progress, last_chunk=(fetched, index + 1), writing=writing)
                return
            saved = retry_db(lambda: lifecycle.save_chunk(self.db, job, self.state.name, fetched, index + 1, writing))
            progress.add(saved.counts, saved.suspect)
            progress.done = index + 1
            progress.event(_chunk_message(progress, saved.counts, saved.suspect), bars_written=saved.counts.written)
            retry_db(keeper.bring_in_line)
            if saved.cancel_requested:
                self.end(entry, job, JobStatus.CANCELLED, lifecycle.CANCELLED_ON_REQUEST, progress)
                return
        self.end(entry, job, JobStatus.COMPLETED, None, progress)  # no chunk left to write at the end

    def _keeper(self, job: Job, source: Source, progress: Progress) -> SeriesKeeper:
        """What keeps the series whole while this job writes it (splits, the overlap check)."""
        settings = self.settings

        def recollect(series) -> int:
            return self.jobs.recollect_series(series).job.id

        return SeriesKeeper(self.db, job, source, progress, self.state.name,
                            fetch=lambda request, chunk: self._fetch(source, request, chunk, progress, job.id),
                            retry=lambda call: self._retrying(call, progress, job.id),
                            recollect=recollect if settings.recollect_revised else None,
                            rules=Rules(settings.quality_spike_sigmas, settings.quality_run_bars))

    def _announce(self, job: Job, progress: Progress, first: int, resumed_from: str | None) -> None:
        name, total = self.state.name, progress.total
        if first or resumed_from:  # a take-over says so even when no chunk was saved yet
            if resumed_from and resumed_from != name:
                progress.event(N_("Resumed by {name} at chunk {chunk} of {total} (its previous collector {previous} "
                                  "stopped).", name=name, chunk=first + 1, total=total, previous=resumed_from))
            else:
                progress.event(N_("Resumed by {name} at chunk {chunk} of {total}.", name=name, chunk=first + 1,
                                  total=total))
        else:
            progress.event(N_plural("Started by {name}: {n} chunk to fetch.", "Started by {name}: {n} chunks to fetch.",
                                    total, name=name))
        log.info("job %s %s %s %s: %s at chunk %d of %d", job.id, job.symbol, job.source, job.interval,
                 "resuming" if first or resumed_from else "starting", first + 1, total)

    def _fetch(self, source: Source, request: Request, chunk: Chunk, progress: Progress, job_id: int) -> Fetched:
        return Fetched.of(self._retrying(lambda waits: source.fetch(request, chunk, waits), progress, job_id))

    def _retrying(self, call, progress: Progress, job_id: int):
        """call(waits), retrying transient source errors with backoff (and saying so)."""
        waits = JobWaits(progress, lambda seconds: self.sleep(seconds, job_id))
        attempt = 0
        while True:
            try:
                return call(waits)
            except TransientError as exc:
                attempt += 1
                limit = self.settings.max_retries if exc.retries is None else min(exc.retries, self.settings.max_retries)
                if attempt > limit:
                    raise PermanentError(_gave_up(exc, limit)) from exc
                delay = exc.retry_after if exc.retry_after is not None else backoff(
                    attempt, self.settings.retry_base_seconds)
                # retry and retry_at let the banner count down ("retrying 3/5 in 6 s").
                progress.event(N_("{error} Retrying {attempt!s}/{limit!s} in {delay:.0f} s.", error=message_of(exc),
                                  attempt=attempt, limit=limit, delay=delay),
                               retry=f"{attempt}/{limit}", retry_at=f"{time.time() + delay:.3f}")
                self.sleep(delay, job_id)

    def sleep(self, seconds: float, job_id: int | None = None) -> None:
        """Wait, but raise Stopping as soon as the collector is asked to stop and, given the
        job waiting, Cancelled as soon as someone cancels it (its row is read every 0.5 s)."""
        deadline = time.monotonic() + seconds
        next_check = 0.0
        while True:
            if self.state.stopping:
                raise Stopping()
            now = time.monotonic()
            if job_id is not None and now >= next_check:
                if self._cancel_requested(job_id):
                    raise Cancelled()
                next_check = now + CANCEL_CHECK_S
            if now >= deadline:
                return
            time.sleep(min(0.1, deadline - now))

    def _cancel_requested(self, job_id: int) -> bool:
        try:
            return self.jobs.cancel_requested(job_id)
        except DBAPIError as exc:  # the database is away: keep waiting; the chunk's write will tell
            if not is_outage(exc):
                raise
            return False

    def _fail_internal(self, entry: Entry, job: Job, exc: Exception, progress: Progress) -> None:
        log.exception("job %s failed unexpectedly", job.id)
        self.end(entry, job, JobStatus.FAILED, N_("Internal error ({error}).", error=f"{type(exc).__name__}: {exc}"),
                 progress)

    def end(self, entry: Entry, job: Job, status: JobStatus, error: str | None, progress: Progress, *,
            last_chunk: tuple | None = None, writing: lifecycle.Writing | None = None) -> None:
        """The one place a job ends: the final row (with the last chunk's bars, when given, in
        the same transaction), then its events and the ack in one round trip."""
        ended = retry_db(lambda: lifecycle.end(self.db, job, self.state.name, status, error, last_chunk=last_chunk,
                                               writing=writing or lifecycle.Writing()))
        self.state.count(OUTCOME[ended.status])
        self.state.entry_done()  # the row is final: stop refreshing the claim before it is acked
        pipe = self.queue.redis.pipeline(transaction=False)
        if last_chunk is not None:
            progress.add(ended.counts, ended.suspect)
            progress.done = last_chunk[1]
            progress.event(_chunk_message(progress, ended.counts, ended.suspect), bars_written=ended.counts.written,
                           pipe=pipe)
        if ended.status == JobStatus.COMPLETED:
            message = _completed_message(progress)
        else:
            message = error or lifecycle.CANCELLED_ON_REQUEST
        progress.event(message, state=ended.status, pipe=pipe)
        try:  # only now is the entry acked: the row has reached a terminal state
            self.queue.ack(entry.id, pipe=pipe)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("could not report the end of job %s (%s); acking it alone", job.id, exc)
            self.ack(entry)
        log.info("job %s %s %s %s: %s", job.id, job.symbol, job.source, job.interval,
                 message if ended.status == JobStatus.COMPLETED else f"{ended.status} — {message}")

    def hand_back(self, entry: Entry, job: Job, progress: Progress) -> None:
        """Warm shutdown: PENDING again with its checkpoint and a fresh entry that any other
        collector reads at once. Ack first: should we die in between, the job is PENDING
        and unpublished, which the outbox duty queues, never a stray entry of a job running
        elsewhere."""
        if retry_db(lambda: lifecycle.hand_back(self.db, job.id, self.state.name)):
            self.state.count("handed_back")
            progress.event(N_("Handed back by {name} (shutting down); resumes at chunk {chunk} of {total}.",
                              name=self.state.name, chunk=progress.done + 1, total=progress.total),
                           state=JobStatus.PENDING)
            self.ack(entry)
            try:
                self.jobs.publish(job.id)
            except DBAPIError as exc:  # queued, but not marked: the outbox may queue it twice, harmless
                log.warning("job %s queued but not marked as queued: %s", job.id, exc)
        else:
            self.ack(entry)

    def ack(self, entry: Entry) -> None:
        try:
            self.queue.ack(entry.id)
        except redis.RedisError as exc:
            # Acked as soon as Redis answers again (and, should this collector stop first, by
            # whoever takes the entry over and finds the job finished).
            self.unacked.append(entry.id)
            log.warning("could not ack entry %s of job %s (%s); acking it once Redis is back",
                        entry.id, entry.job_id, exc)

    def flush_unacked(self) -> None:
        while self.unacked:
            self.queue.ack(self.unacked[0])
            self.unacked.pop(0)


def _gave_up(exc: TransientError, retries: int) -> str:
    if isinstance(exc, Unreachable):
        return message_of(exc)  # already says what to check; "gave up after 1 retry" adds nothing
    return N_plural("Gave up after {n} retry: {error}", "Gave up after {n} retries: {error}", retries,
                    error=message_of(exc))


def _counts(new: int, updated: int, unchanged: int) -> dict[str, str]:
    """Each count its own plural message: French agrees each with its number (0 mise à jour)."""
    return dict(new=N_plural("{n} new", "{n} new", new), updated=N_plural("{n} updated", "{n} updated", updated),
                unchanged=N_plural("{n} unchanged", "{n} unchanged", unchanged))


def _chunk_message(progress: Progress, counts, suspect: int) -> str:
    numbers = dict(done=progress.done, total=progress.total, **_counts(counts.new, counts.updated, counts.unchanged))
    if suspect:
        return N_("Chunk {done} of {total}: {new}, {updated}, {unchanged}; {suspect}.",
                  suspect=notes.suspect_text(suspect), **numbers)
    return N_("Chunk {done} of {total}: {new}, {updated}, {unchanged}.", **numbers)


def _completed_message(progress: Progress) -> str:
    numbers = _counts(progress.rows_new, progress.rows_updated, progress.rows_unchanged)
    if progress.suspect:
        return N_("Completed: {new}, {updated}, {unchanged} bars; {suspect}.",
                  suspect=notes.suspect_text(progress.suspect), **numbers)
    return N_("Completed: {new}, {updated}, {unchanged} bars.", **numbers)
