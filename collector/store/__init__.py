"""Storage: the database engine and sessions, the tables, Alembic migrations, the bar
upsert and the reads of stored series (with their gaps)."""

from . import ledger
from .db import Database, is_outage, retry_db
from .models import ACTIVE_STATUSES, FINISHED_STATUSES, Bar, Job, JobStatus, Series
from .paging import Page
from .series import BAR_COLUMNS, SORTS, SeriesBusy, SeriesStore
from .upsert import UpsertCounts, upsert_bars
from .watchlist_models import RunStatus, Watchlist, WatchlistRun

__all__ = ["ledger", "ACTIVE_STATUSES", "BAR_COLUMNS", "Bar", "Database", "FINISHED_STATUSES", "Job", "JobStatus",
           "Page", "RunStatus", "SORTS", "Series", "SeriesBusy", "SeriesStore", "UpsertCounts", "is_outage", "retry_db",
           "upsert_bars", "Watchlist", "WatchlistRun"]
