"""Where the web app's log lines go. Under gunicorn: gunicorn's error log (its --error-logfile
and level), so a traceback of an unexpected error sits beside the server's own lines.
Anywhere else: standard error."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"


def to_server_log(logger_name: str = "mdc") -> logging.Logger:
    """Give the `mdc` loggers (mdc.web, mdc.jobs...) a handler once per process."""
    ours = logging.getLogger(logger_name)
    if ours.handlers:
        return ours
    server = logging.getLogger("gunicorn.error")
    if server.handlers:
        ours.handlers = list(server.handlers)
        ours.setLevel(server.level or logging.INFO)
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
    ours.propagate = False  # one copy of each line
    return ours
