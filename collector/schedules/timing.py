"""When a watchlist runs: slot times of its schedule, in plain words too.

Three kinds of schedule, each answering two questions with an injected `now`:
`previous(at)` (the newest slot at or before `at`) and `following(after)` (the first slot
after `after`). The scheduler needs no more: the newest due slot, and whether an older one
was missed too (one catch-up run stands for all of them).

- **after_close**: each session's close on an exchange calendar (pandas-market-calendars;
  half days close early, holidays and weekends have no session) plus an offset.
- **every**: every N minutes, aligned to midnight UTC; or, when only while the exchange
  is open, from each session's open to its close (both included), N minutes apart.
- **cron**: a 5-field cron expression read by croniter in a time zone. Across a
  daylight-saving change a time that does not exist runs at the first moment after it, and
  a time that happens twice runs once (the first time), as cron itself does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from collector import calendar
from collector.calendar import DAY
from collector.i18n import N_, N_plural

UTC = timezone.utc
KINDS = ("none", "after_close", "every", "cron")
LOOK_SESSIONS_S = 21 * DAY  # sessions read per step when looking for the next or previous one
LOOK_LIMIT_S = 400 * DAY  # a calendar without a session for this long has none to offer
REPEATED_HOUR_SLOTS = 62  # cron slots to step over in an hour that happens twice (every minute: 60)


@dataclass(frozen=True)
class Schedule:
    kind: str = "none"
    calendar: str = calendar.DEFAULT_CALENDAR
    offset_minutes: int = 30
    every_minutes: int = 60
    market_hours_only: bool = False
    cron: str = ""
    timezone: str = "UTC"
    minute_s: float = 60.0  # length of a minute of `every`; shorter only for tests and demos

    def previous(self, at: datetime) -> datetime | None:
        """The newest slot at or before `at`; None when there is none (no schedule)."""
        if self.kind == "after_close":
            return _calendar_slot(self, at, backwards=True)
        if self.kind == "every":
            return _every_previous(self, at)
        if self.kind == "cron":
            return _cron_previous(self, at)
        return None

    def following(self, after: datetime) -> datetime | None:
        """The first slot strictly after `after`."""
        if self.kind == "after_close":
            return _calendar_slot(self, after, backwards=False)
        if self.kind == "every":
            return _every_following(self, after)
        if self.kind == "cron":
            return _cron_following(self, after)
        return None

    @property
    def zone(self) -> str:
        """The time zone a person reads this schedule in."""
        if self.kind == "cron":
            return self.timezone
        return calendar.calendar_zone(self.calendar) if self.kind == "after_close" or self.market_hours_only else "UTC"

    def describe(self) -> str:
        """The schedule in plain words."""
        if self.kind == "after_close":
            if self.offset_minutes:
                return N_("{minutes} min after each close of {calendar} (half days: after their early close; no run "
                          "on holidays or weekends)", minutes=self.offset_minutes, calendar=self.calendar)
            return N_("At each close of {calendar} (half days: at their early close; no run on holidays or "
                      "weekends)", calendar=self.calendar)
        if self.kind == "every":
            if self.market_hours_only:
                return N_plural("Every minute while {calendar} is open, from its open to its close",
                                "Every {n} minutes while {calendar} is open, from its open to its close",
                                self.every_minutes, calendar=self.calendar)
            return N_plural("Every minute, around the clock (counted from midnight UTC)",
                            "Every {n} minutes, around the clock (counted from midnight UTC)", self.every_minutes)
        if self.kind == "cron":
            return N_("Cron “{cron}” in {zone}", cron=self.cron, zone=self.timezone)
        return N_("No schedule: runs only when asked (Run now)")


# --- after the close, and every N minutes while open: sessions of a calendar --------------

def _sessions(schedule: Schedule, lo: float, hi: float):
    days, opens, closes = calendar.sessions(int(lo), int(hi), schedule.calendar)
    return opens.tolist(), closes.tolist()


def _calendar_slot(schedule: Schedule, when: datetime, *, backwards: bool) -> datetime | None:
    """The close + offset nearest `when` on one side (at or before, or strictly after)."""
    t = when.timestamp()
    offset = schedule.offset_minutes * 60
    for step in range(int(LOOK_LIMIT_S // LOOK_SESSIONS_S)):
        lo, hi = (t - (step + 1) * LOOK_SESSIONS_S, t - step * LOOK_SESSIONS_S + DAY) if backwards \
            else (t + step * LOOK_SESSIONS_S - DAY, t + (step + 1) * LOOK_SESSIONS_S)
        slots = [close + offset for close in _sessions(schedule, lo, hi)[1]]
        found = [s for s in slots if s <= t] if backwards else [s for s in slots if s > t]
        if found:
            return _utc(max(found) if backwards else min(found))
    return None


def _every_previous(schedule: Schedule, at: datetime) -> datetime | None:
    step, t = schedule.every_minutes * schedule.minute_s, at.timestamp()
    if not schedule.market_hours_only:
        return _utc((t // step) * step)
    for k in range(int(LOOK_LIMIT_S // LOOK_SESSIONS_S)):
        opens, closes = _sessions(schedule, t - (k + 1) * LOOK_SESSIONS_S, t - k * LOOK_SESSIONS_S + DAY)
        for open_, close in reversed(list(zip(opens, closes))):
            if open_ <= t:
                return _utc(open_ + ((min(t, close) - open_) // step) * step)
    return None


def _every_following(schedule: Schedule, after: datetime) -> datetime | None:
    step, t = schedule.every_minutes * schedule.minute_s, after.timestamp()
    if not schedule.market_hours_only:
        return _utc((t // step + 1) * step)
    for k in range(int(LOOK_LIMIT_S // LOOK_SESSIONS_S)):
        opens, closes = _sessions(schedule, t + k * LOOK_SESSIONS_S - DAY, t + (k + 1) * LOOK_SESSIONS_S)
        for open_, close in zip(opens, closes):
            slot = open_ if t < open_ else open_ + ((t - open_) // step + 1) * step
            if slot <= close:
                return _utc(slot)
    return None


# --- cron in a time zone -----------------------------------------------------------------

def _cron_previous(schedule: Schedule, at: datetime) -> datetime | None:
    from croniter import croniter

    local = at.astimezone(ZoneInfo(schedule.timezone)).replace(second=0, microsecond=0)
    if croniter.match(schedule.cron, local) and not _second_occurrence(local):
        return local.astimezone(UTC)
    it = croniter(schedule.cron, local)
    for _ in range(REPEATED_HOUR_SLOTS):
        slot = it.get_prev(datetime)
        if not _second_occurrence(slot):
            return slot.astimezone(UTC)
    return None


def _cron_following(schedule: Schedule, after: datetime) -> datetime | None:
    from croniter import croniter

    it = croniter(schedule.cron, after.astimezone(ZoneInfo(schedule.timezone)))
    for _ in range(REPEATED_HOUR_SLOTS):
        slot = it.get_next(datetime)
        if not _second_occurrence(slot):
            return slot.astimezone(UTC)
    return None


def _second_occurrence(local: datetime) -> bool:
    """True for the second of two equal wall times when clocks go back (02:30 twice)."""
    earlier = (local.astimezone(UTC) - timedelta(hours=1)).astimezone(local.tzinfo)
    return earlier.replace(tzinfo=None) == local.replace(tzinfo=None)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
