"""Watchlists and their schedules: which series to keep current, when to bring them up
to date (after each close of an exchange, every N minutes, or a cron expression), the
runs that do it, and the scheduler duty collectors run to start them exactly once."""

from .runs import RunView, Started
from .scheduler import Scheduler
from .status import SymbolState
from .timing import KINDS, Schedule

SCHEDULE_KINDS = KINDS
from .validation import WatchlistSpec, symbols_from_csv
from .watchlists import Deleted, WatchlistManager

__all__ = ["Deleted", "KINDS", "SCHEDULE_KINDS", "RunView", "Schedule", "Scheduler", "Started", "SymbolState",
           "WatchlistManager", "WatchlistSpec", "symbols_from_csv"]
