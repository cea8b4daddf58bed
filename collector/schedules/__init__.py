"""Watchlists and their schedules: which series to keep current, when to bring them up
to date (after each close of an exchange, every N minutes, or a cron expression), the
runs that do it, and the scheduler duty collectors run to start them exactly once."""

from .timing import KINDS, Schedule

__all__ = ["KINDS", "Schedule"]
