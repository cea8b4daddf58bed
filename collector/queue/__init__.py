"""Redis: the work stream and its consumer group, per-job progress events, collector
heartbeats, duty locks, the web's sign-in state and the figures the monitor shows. Lua
scripts live in lua/."""

from .access import FailedAttempts, WebSessions
from .events import Counts
from .locks import try_lock
from .registry import Registry
from .stats import QueueStats, record_bars
from .streams import GROUP, Entry, Queue

__all__ = ["Counts", "Entry", "FailedAttempts", "GROUP", "Queue", "QueueStats", "Registry", "WebSessions",
           "record_bars", "try_lock"]
