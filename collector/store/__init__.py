"""Storage: the database engine and sessions, the tables, Alembic migrations, the bar
upsert and the reads of stored series (with their gaps)."""

from .db import Database, is_outage, retry_db
from .models import ACTIVE_STATUSES, FINISHED_STATUSES, Bar, Job, JobStatus, RunStatus, Series, Watchlist, WatchlistRun
from .paging import Page
from .series import BAR_COLUMNS, SORTS, SeriesBusy, SeriesStore
from .upsert import UpsertCounts, upsert_bars

__all__ = ["ACTIVE_STATUSES", "BAR_COLUMNS", "Bar", "Database", "FINISHED_STATUSES", "Job", "JobStatus", "Page",
           "RunStatus", "SORTS", "Series", "SeriesBusy", "SeriesStore", "UpsertCounts", "is_outage", "retry_db",
           "upsert_bars", "Watchlist", "WatchlistRun"]
