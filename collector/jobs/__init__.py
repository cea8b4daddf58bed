"""Jobs: validation of what people ask, submission, every state transition (lifecycle),
incremental updates of stored series, retention cleanup, and the figures about jobs."""

from .cleanup import MAX_CLEANUP_DAYS, CleanupResult, cleanup
from .incremental import AlreadyCurrent
from .manager import JobManager, Submitted
from .queries import JOB_SORTS, TABS, Tab
from .stats import Histogram, JobStats, Summary
from .validation import JobSpec, ValidationError

__all__ = ["AlreadyCurrent", "JOB_SORTS", "MAX_CLEANUP_DAYS", "CleanupResult", "Histogram", "JobManager", "JobSpec",
           "JobStats", "Submitted", "Summary", "TABS", "Tab",
           "ValidationError", "cleanup"]
