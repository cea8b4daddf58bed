"""mdc collector: jobs, queue, storage, sources and the worker loop. Never imports Flask
or webapp.

This file is the public face: the web app and the command line use only the names below.
The packages behind it (store, queue, jobs, worker, sources) can move freely.

    services = connect(settings, "web")      # database, Redis, queue, registry, sources
    services.jobs.submit(fields)             # -> [Submitted]; ValidationError with messages
    services.jobs.list("failed", page=2)     # get, counts, tab_counts, active, cancel, retry, cleanup
    services.queue.events(job_id)            # progress events; last_events for many jobs
    services.series.list(symbol="AA")        # stored series: bars, gaps, exports' batches
    services.job_stats.summary()             # figures about jobs; queue_stats about Redis
    read_bars("AAPL", "1d", source="yahoo", adjust="splits", resample="1w")   # a pandas DataFrame
    services.watchlists.run_now(watchlist_id) # create, update, pause, resume, delete, runs, series

Names are imported on first use, so `python -m collector check` does not load pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API: dict[str, str] = {
    # settings and wiring
    "Settings": "collector.settings", "SettingsError": "collector.settings",
    "EMBEDDED_REDIS_PORT": "collector.settings",
    "connect": "collector.services", "Services": "collector.services",
    "EmbeddedRedis": "collector.embedded", "port_open": "collector.embedded",
    # jobs
    "JobStatus": "collector.store", "Job": "collector.store", "ACTIVE_STATUSES": "collector.store",
    "TABS": "collector.jobs", "ValidationError": "collector.jobs", "Submitted": "collector.jobs",
    "CleanupResult": "collector.jobs", "AlreadyCurrent": "collector.jobs", "JOB_SORTS": "collector.jobs",
    "MAX_CLEANUP_DAYS": "collector.jobs",
    "JobFilter": "collector.jobs",
    # watchlists and their schedules
    "SCHEDULE_KINDS": "collector.schedules", "symbols_from_csv": "collector.schedules",
    "calendar_names": "collector.calendar", "DEFAULT_CALENDAR": "collector.calendar",
    # stored series
    "Database": "collector.store", "Series": "collector.store", "SeriesStore": "collector.store", "Page": "collector.store",
    "SeriesBusy": "collector.store",
    "BAR_COLUMNS": "collector.store", "SORTS": "collector.store", "GapReport": "collector.store.gaps",
    # vocabulary: sources, intervals, periods, times, what people type
    "SOURCES": "collector.sources", "source_label": "collector.sources",
    "INTERVALS": "collector.timespec", "PERIODS": "collector.timespec", "parse_when": "collector.timespec",
    "TimeParseError": "collector.timespec", "interval_seconds": "collector.timespec",
    "is_intraday": "collector.timespec", "utcnow": "collector.timespec",
    "parse_bool": "collector.parse", "parse_whole": "collector.parse", "upper_ascii": "collector.parse",
    "YES_NO_HELP": "collector.parse",
    # reading the data: pandas frames, adjusted for splits and dividends, resampled by session
    "read_bars": "collector.reading", "series_frames": "collector.reading",
    "check_adjust": "collector.frames", "check_resample": "collector.frames", "resample_targets": "collector.frames",
    # trust: quality checks, splits and dividends
    "CHECK_LABELS": "collector.notes", "flag_names": "collector.quality", "ratio_text": "collector.corporate",
    # messages a person reads: English text that the web app can show in French
    "Message": "collector.i18n", "N_": "collector.i18n", "N_plural": "collector.i18n",
    "join_messages": "collector.i18n", "job_numbers": "collector.i18n", "message_of": "collector.i18n", "shown": "collector.timespec",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'collector' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
