"""gunicorn entry point: `gunicorn wsgi:app` (settings in gunicorn.conf.py)."""

import sys

from collector.settings import SettingsError
from webapp import create_app
from webapp.logs import to_server_log

to_server_log()  # mdc's log lines into gunicorn's error log
try:
    app = create_app()
except SettingsError as exc:
    # A plain message instead of a traceback per worker; exit code 4 is gunicorn's
    # "App failed to load", which stops the master instead of respawning workers forever.
    print(f"mdc: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(4) from None
