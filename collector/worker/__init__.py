"""The collector process: its loop, the job runner, heartbeat, progress and recovery duties.
Helpers receive what they use (the queue, the registry, a small state object), never the
collector itself."""

from .loop import Collector, configure_logging

__all__ = ["Collector", "configure_logging"]
