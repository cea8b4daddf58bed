"""Runs of a watchlist: claiming one (a unique row per watchlist and slot), submitting its
"update to now" jobs in the same transaction, and reading how its jobs fare.

A run whose previous run is still going does not pile up: it WAITS, and starts as soon as
that run is done; a slot that comes while one run already waits is SKIPPED (its row says
why). The row and the run's jobs commit together, so a collector killed at any point leaves
either no run or a run with every job; the queue entries follow in one pipelined batch
(jobs whose XADD did not happen are queued by the collectors' outbox and reconcile duties).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from collector.i18n import N_, Message, join_messages, message_data
from collector.jobs import JobManager, Submitted
from collector.jobs.batch import insert_new
from collector.jobs.incremental import OVERLAP_BARS, update_or_backfill
from collector.jobs.queries import IN_A_RUN
from collector.jobs.validation import JobSpec, ValidationError
from collector.store import ACTIVE_STATUSES, Job, JobStatus, RunStatus, Series, Watchlist, WatchlistRun
from collector.timespec import utcnow


@dataclass
class RunView:
    """A run with the state of its jobs: for each symbol, its newest job in the run (a
    retried job stands in for the failed one it retries)."""

    run: WatchlistRun
    counts: Counter = field(default_factory=Counter)
    finished_at: datetime | None = None

    @property
    def active(self) -> int:
        return self.counts[JobStatus.PENDING] + self.counts[JobStatus.RUNNING]

    @property
    def completed(self) -> int:
        return self.counts[JobStatus.COMPLETED]

    @property
    def failed(self) -> int:
        return self.counts[JobStatus.FAILED] + len(self.run.problems or {})

    @property
    def cancelled(self) -> int:
        return self.counts[JobStatus.CANCELLED]

    @property
    def status(self) -> str:
        """WAITING, SKIPPED, RUNNING, COMPLETED, FAILED (some failed) or CANCELLED."""
        if self.run.status != RunStatus.STARTED:
            return self.run.status
        if self.active:
            return JobStatus.RUNNING
        if self.failed:
            return JobStatus.FAILED
        return JobStatus.CANCELLED if self.cancelled else JobStatus.COMPLETED

    @property
    def is_going(self) -> bool:
        return self.run.status == RunStatus.WAITING or (self.run.status == RunStatus.STARTED and self.active > 0)


def views(session: Session, runs: list[WatchlistRun]) -> list[RunView]:
    """RunViews for `runs`, their job counts read in one query."""
    if not runs:
        return []
    ids = [r.id for r in runs]
    newest = (select(func.max(Job.id)).where(Job.run_id.in_(ids)).group_by(Job.run_id, Job.symbol))
    rows = session.execute(select(Job.run_id, Job.status, func.count(), func.max(Job.finished_at))
                           .where(Job.id.in_(newest)).group_by(Job.run_id, Job.status)).all()
    by_id = {r.id: RunView(r) for r in runs}
    for run_id, status, n, finished in rows:
        view = by_id[run_id]
        view.counts[status] += n
        if finished and (view.finished_at is None or finished > view.finished_at):
            view.finished_at = finished
    for view in by_id.values():
        if view.active:
            view.finished_at = None
    return [by_id[i] for i in ids]


# --- starting a run ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Started:
    run: WatchlistRun
    jobs: list[Submitted]


def specs_for(jobs: JobManager, watchlist: Watchlist) -> tuple[list[JobSpec], dict[str, str]]:
    """An "update to now" job per symbol (the first run backfills the watchlist's period or
    start), and why the source refuses any symbol. One query reads every stored series."""
    with jobs.db.read() as session:
        stored = {s.symbol: s for s in session.scalars(select(Series).where(
            Series.source == watchlist.source, Series.interval == watchlist.interval,
            Series.kind == watchlist.kind, Series.symbol.in_(watchlist.symbols)))}
    fields = {"source": watchlist.source, "interval": watchlist.interval, "period": watchlist.period or "",
              "start": watchlist.start.isoformat() if watchlist.start else "", "options": dict(watchlist.options or {})}
    tails = jobs.series.tail_starts([series.id for series in stored.values()], OVERLAP_BARS)
    specs, problems = [], {}
    for symbol in watchlist.symbols:
        series = stored.get(symbol)
        try:
            specs.append(update_or_backfill(series, fields, symbol, jobs.sources.get,
                                            tails.get(series.id) if series is not None else None))
        except ValidationError as exc:
            problems[symbol] = join_messages(exc.errors.values())
    return specs, problems


def start(jobs: JobManager, watchlist_id: int, slot: datetime, *, trigger: str, late: bool = False,
          note: str | None = None, by: str | None = None) -> Started | None:
    """Claim the run of `slot` and, unless its previous run is still going, submit its jobs,
    all in one transaction. None when the slot was claimed already (by anyone, ever), or a
    scheduled slot is older than one claimed already."""
    watchlist = _get(jobs, watchlist_id)
    specs_and_problems = specs_for(jobs, watchlist)
    try:
        with jobs.db.write() as session:
            locked = _lock(session, watchlist_id)
            if locked is None:
                return None
            # The scheduler chose this slot from a read made before the lock: a pause (or a
            # resume, which moves schedule_since) committed since then wins.
            if trigger == "schedule" and (locked.paused or slot < locked.schedule_since
                                          or _claimed_since(session, watchlist_id, slot)):
                return None
            run = WatchlistRun(watchlist_id=watchlist_id, number=_next_number(session, watchlist_id), slot=slot,
                               trigger=trigger, late=late, total=len(watchlist.symbols), problems={},
                               claimed_by=by, created_at=utcnow(), status=RunStatus.STARTED)
            set_note(run, note)
            blocking = _going(session, watchlist_id)
            if blocking is not None:
                run.status = RunStatus.SKIPPED if blocking.status == RunStatus.WAITING else RunStatus.WAITING
                set_note(run, N_("Skipped: run #{number!s} was already waiting.", number=blocking.number)
                         if run.status == RunStatus.SKIPPED else _waits_for(blocking.number))
            elif not _room(session, jobs, len(specs_and_problems[0])):
                run.status = RunStatus.SKIPPED
                set_note(run, N_("Skipped: its {jobs} jobs would pass the {most} pending or running jobs allowed "
                                 "at once (MDC_MAX_ACTIVE_JOBS).", jobs=len(specs_and_problems[0]),
                                 most=jobs.settings.max_active_jobs))
            session.add(run)
            session.flush()
            pairs = _submit(session, run, watchlist, *specs_and_problems) if run.status == RunStatus.STARTED else []
    except IntegrityError:
        return None  # the slot's row exists: another collector (or an earlier tick) has it
    return Started(run, jobs.publish_created(pairs))


def start_waiting(jobs: JobManager, run: WatchlistRun) -> Started | None:
    """Start a WAITING run once its watchlist's previous run is done (compare-and-set, so
    one collector starts it)."""
    with jobs.db.read() as session:
        if _going(session, run.watchlist_id, waiting_counts=False) is not None:
            return None  # still going: don't build its jobs on every tick
    watchlist = _get(jobs, run.watchlist_id)
    specs, problems = specs_for(jobs, watchlist)
    with jobs.db.write() as session:
        if (_lock(session, run.watchlist_id) is None or _going(session, run.watchlist_id, waiting_counts=False)
                or not _room(session, jobs, len(specs))):
            return None  # waits on
        waited = _waited(run)
        changed = session.execute(update(WatchlistRun).where(
            WatchlistRun.id == run.id, WatchlistRun.status == RunStatus.WAITING).values(
            status=RunStatus.STARTED, note=waited, note_i18n=message_data(waited))).rowcount
        if not changed:
            return None
        fresh = session.get(WatchlistRun, run.id)
        pairs = _submit(session, fresh, watchlist, specs, problems)
    return Started(fresh, jobs.publish_created(pairs))


def _submit(session: Session, run: WatchlistRun, watchlist: Watchlist, specs: list[JobSpec],
            problems: dict[str, str]) -> list:
    run.started_at = utcnow()
    run.total = len(watchlist.symbols)
    run.problems = {symbol: str(why) for symbol, why in problems.items()}
    run.problems_i18n = {symbol: data for symbol, why in problems.items() if (data := message_data(why))} or None
    return insert_new(session, specs, {"run_id": run.id, "watchlist_id": watchlist.id})


def set_note(run: WatchlistRun, note: str | None) -> None:
    """The run's note in English, and what it was made from (shown in the reader's language)."""
    run.note, run.note_i18n = (None if note is None else str(note)), message_data(note)


def _waits_for(number: int) -> Message:
    return N_("Waits for run #{number!s} to finish.", number=number)


def _waited(run: WatchlistRun) -> str:
    """The note of a waiting run once it starts: "Waited for run #11 to finish"."""
    note = run.note_message
    if isinstance(note, Message) and note.msgid == _waits_for(0).msgid:
        return N_("Waited for run #{number!s} to finish.", number=note.params.get("number", ""))
    return (run.note or "").replace("Waits for", "Waited for")


def _room(session: Session, jobs: JobManager, adding: int) -> bool:
    """Whether `adding` more jobs stay within MDC_MAX_ACTIVE_JOBS pending and running at once."""
    active = session.scalar(select(func.count()).select_from(Job).where(Job.status.in_(ACTIVE_STATUSES))) or 0
    return active + adding <= jobs.settings.max_active_jobs


def _get(jobs: JobManager, watchlist_id: int) -> Watchlist:
    with jobs.db.read() as session:
        watchlist = session.get(Watchlist, watchlist_id)
    if watchlist is None:
        raise LookupError(watchlist_id)
    return watchlist


def _lock(session: Session, watchlist_id: int) -> Watchlist | None:
    """The watchlist row, locked for this transaction on PostgreSQL (SQLite's write
    transaction already excludes every other writer); None once deleted."""
    return session.scalars(select(Watchlist).where(Watchlist.id == watchlist_id, Watchlist.deleted_at.is_(None))
                           .with_for_update()).first()


def _claimed_since(session: Session, watchlist_id: int, slot: datetime) -> bool:
    return session.scalar(select(func.count()).select_from(WatchlistRun).where(
        WatchlistRun.watchlist_id == watchlist_id, WatchlistRun.trigger == "schedule",
        WatchlistRun.slot >= slot)) > 0


def _next_number(session: Session, watchlist_id: int) -> int:
    return (session.scalar(select(func.max(WatchlistRun.number)).where(WatchlistRun.watchlist_id == watchlist_id))
            or 0) + 1


def _going(session: Session, watchlist_id: int, *, waiting_counts: bool = True) -> WatchlistRun | None:
    """A run of the watchlist that still waits (when `waiting_counts`) or has unfinished jobs."""
    if waiting_counts:
        waiting = session.scalars(select(WatchlistRun).where(WatchlistRun.watchlist_id == watchlist_id,
                                                             WatchlistRun.status == RunStatus.WAITING)).first()
        if waiting is not None:
            return waiting
    # On the status index: the watchlist's history of jobs may be long, its active ones few.
    run_id = session.scalar(select(Job.run_id).where((Job.watchlist_id + 0) == watchlist_id, IN_A_RUN,
                                                     Job.status.in_(ACTIVE_STATUSES)).limit(1))
    return session.get(WatchlistRun, run_id) if run_id is not None else None
