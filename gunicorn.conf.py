"""gunicorn settings for every way mdc's web app is started (`make run`, the Docker image,
`gunicorn wsgi:app` by hand): gunicorn reads this file from the working directory.

Threaded workers (gthread): the worker's main thread keeps telling the arbiter it is alive
while a thread serves a long request, so an export of millions of bars to a slow client is
never killed by `timeout`, which then only catches a worker that is truly stuck.
"""

import os

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("MDC_WEB_THREADS", "4"))
timeout = 30
graceful_timeout = 5
accesslog = "-"
# No runtime control socket: mdc does not use it, and its default path is shared by every
# gunicorn of the user, so two installs on one host would trip over each other.
control_socket_disable = True


def on_starting(server):
    """Refuse to start, once and plainly, when a setting is unusable (a too-short
    MDC_AUTH_TOKEN, say), instead of every worker failing to boot with a traceback."""
    import sys

    from collector import Settings, SettingsError

    try:
        Settings.from_env()
    except SettingsError as exc:
        sys.exit(f"mdc: {exc}")
