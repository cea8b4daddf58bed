"""Redis Streams: the work queue `{prefix}:jobs` (group "collectors") and per-job progress
events `{prefix}:job:{id}:events`. Entries carry only a job id; the database holds the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from collector import luascripts

from .events import Counts, event_fields, parse_event

GROUP = "collectors"


@dataclass(frozen=True)
class Entry:
    id: str
    job_id: int
    reclaimed: bool = False  # came back from a collector that stopped (own pending or XAUTOCLAIM)


class Queue:
    def __init__(self, client: redis.Redis, prefix: str = "mdc", *, events_maxlen: int = 1000):
        self.redis = client  # decode_responses=True
        self.prefix = prefix
        self.stream = f"{prefix}:jobs"
        self.events_maxlen = events_maxlen
        self._refresh = luascripts.register(client, __file__, "refresh_claim")
        self._snapshot = luascripts.register(client, __file__, "snapshot")

    def events_key(self, job_id: int) -> str:
        return f"{self.prefix}:job:{job_id}:events"

    # --- work queue -------------------------------------------------------------------
    def ensure_group(self) -> None:
        """Create the consumer group (and the stream); a no-op when it exists."""
        try:
            self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def publish(self, job_id: int) -> str:
        return self.redis.xadd(self.stream, {"job_id": str(job_id)})

    def publish_many(self, job_ids: list[int]) -> set[int]:
        """XADD every job in one pipelined round trip; returns the ids that were not added
        (all of them when Redis is unreachable)."""
        if not job_ids:
            return set()
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.xadd(self.stream, {"job_id": str(job_id)})
        try:
            replies = pipe.execute(raise_on_error=False)
        except redis.RedisError:
            return set(job_ids)
        return {job_id for job_id, reply in zip(job_ids, replies) if isinstance(reply, Exception)}

    def read_new(self, consumer: str, *, block_ms: int = 1000, count: int = 1) -> list[Entry]:
        return self._read(consumer, ">", block_ms, count)

    def read_own_pending(self, consumer: str, *, count: int = 1) -> list[Entry]:
        """Entries delivered to this consumer name earlier and never acked (a restart)."""
        return [Entry(e.id, e.job_id, reclaimed=True) for e in self._read(consumer, "0", None, count)]

    def _read(self, consumer: str, start: str, block_ms: int | None, count: int) -> list[Entry]:
        try:
            reply = self.redis.xreadgroup(GROUP, consumer, {self.stream: start}, count=count, block=block_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self.ensure_group()  # the stream was deleted (FLUSHALL, a new Redis): start over
            return []
        entries = []
        for _stream, messages in reply or []:
            for entry_id, fields in messages:
                if fields:
                    entries.append(Entry(entry_id, _job_id(fields)))
                else:  # trimmed or deleted meanwhile: nothing to run, stop it circulating
                    self.ack(entry_id)
        return entries

    def autoclaim(self, consumer: str, *, min_idle_ms: int, count: int = 1) -> list[Entry]:
        """Take over entries idle longer than `min_idle_ms`: their collector stopped.

        One at a time by default: an entry taken over but left waiting behind a long job
        would go idle again, be taken over again and count one more delivery."""
        reply = self.redis.xautoclaim(self.stream, GROUP, consumer, min_idle_ms, "0-0", count=count)
        messages = reply[1] if reply else []
        return [Entry(i, _job_id(f), reclaimed=True) for i, f in messages if f]

    def delivery(self, entry_id: str) -> tuple[str | None, int]:
        """(consumer holding the entry, times delivered); (None, 0) once acked."""
        rows = self.redis.xpending_range(self.stream, GROUP, min=entry_id, max=entry_id, count=1)
        if not rows:
            return None, 0
        return rows[0]["consumer"], int(rows[0]["times_delivered"])

    def refresh(self, consumer: str, entry_id: str) -> bool:
        """Reset the entry's idle time so nobody takes it over; False if we lost it.

        Atomic (a script), so a refresh can never snatch back an entry that another
        collector took over between a check and the claim."""
        return bool(self._refresh(keys=[self.stream], args=[GROUP, consumer, entry_id]))

    def give_back(self, owner: str, entry_id: str) -> None:
        """Hand an entry taken over by mistake back to `owner`, fresh (its owner is alive)."""
        self.redis.xclaim(self.stream, GROUP, owner, 0, [entry_id], justid=True)

    def queued_job_ids(self) -> tuple[set[int], set[int]]:
        """(job ids waiting in the stream, job ids of entries delivered and not acked),
        read in one atomic step, so an entry moving between the two is never missed."""
        backlog, pending = self._snapshot(keys=[self.stream], args=[GROUP])
        return ({_job_id(_pairs(fields)) for _id, fields in backlog},
                {_job_id(_pairs(fields)) for _id, fields in pending if fields})

    def ack(self, entry_id: str, *, pipe: Any = None) -> None:
        """Acknowledge an entry; given a pipeline, only queue the command on it."""
        (pipe if pipe is not None else self.redis).xack(self.stream, GROUP, entry_id)

    def trim_before(self, epoch_ms: int) -> int:
        """Drop work entries older than `epoch_ms` (stream ids are millisecond times)."""
        return self.redis.xtrim(self.stream, minid=f"{epoch_ms}-0", approximate=False)

    def stream_info(self) -> dict[str, Any]:
        """Length, pending entries and lag of the work stream, for the UI and metrics."""
        self.ensure_group()
        length = self.redis.xlen(self.stream)
        groups = {g["name"]: g for g in self.redis.xinfo_groups(self.stream)}
        group = groups.get(GROUP, {})
        return {"length": length, "pending": int(group.get("pending") or 0),
                "lag": group.get("lag")}

    # --- progress events -------------------------------------------------------------
    def add_event(self, job_id: int, *, state: str, message: str, counts: Counts = Counts(),
                  pipe: Any = None, **extra: Any) -> Any:
        """Append a progress event; given a pipeline, only queue the command on it."""
        target = pipe if pipe is not None else self.redis
        return target.xadd(self.events_key(job_id), event_fields(state, counts, message, **extra),
                           maxlen=self.events_maxlen, approximate=True)

    def add_job_event(self, job: Any, message: str, *, state: str | None = None, **extra: Any) -> None:
        """An event that reports a job row as it stands (its state unless `state` is given);
        best effort: the database already holds the truth."""
        try:
            self.add_event(job.id, state=state or job.status, message=message, counts=Counts.of(job), **extra)
        except redis.RedisError:
            pass

    def last_event(self, job_id: int) -> dict[str, Any] | None:
        rows = self.redis.xrevrange(self.events_key(job_id), count=1)
        return parse_event(*rows[0]) if rows else None

    def last_events(self, job_ids: list[int]) -> dict[int, dict[str, Any]]:
        """The newest event of each job, in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.xrevrange(self.events_key(job_id), count=1)
        return {job_id: parse_event(*rows[0]) for job_id, rows in zip(job_ids, pipe.execute()) if rows}

    def events(self, job_id: int, *, after: str | None = None, count: int = 1000) -> list[dict[str, Any]]:
        """Events oldest first; `after` is a cursor (an event id) to get only newer ones."""
        start = f"({after}" if after else "-"
        return [parse_event(i, f) for i, f in self.redis.xrange(self.events_key(job_id), min=start, count=count)]

    def delete_events(self, job_ids: list[int]) -> int:
        if not job_ids:
            return 0
        return self.redis.delete(*[self.events_key(j) for j in job_ids])


def _pairs(flat) -> dict[str, str]:
    if isinstance(flat, dict):
        return flat
    return dict(zip(flat[::2], flat[1::2]))


def _job_id(fields: dict[str, str]) -> int:
    try:
        return int(fields.get("job_id", ""))
    except ValueError:
        return 0  # a malformed entry; the worker acks it as unknown
