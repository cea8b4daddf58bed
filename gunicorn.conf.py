"""gunicorn settings for every way the web app starts (`make run`, the container, by hand):
gunicorn reads this file from the working directory. Workers: WEB_CONCURRENCY (gunicorn's own).

Threaded workers (gthread): a worker's main thread keeps telling the arbiter it is alive while
a thread serves a long request, so an export of millions of bars to a slow client is never
killed by `timeout`, which then only catches a worker that is truly stuck.
"""

import os

# Build the app once in the master before forking: a setting that refuses to start (no token
# while published, an unwritable data directory) stops gunicorn with one plain message and
# exit code 4, instead of racing every worker through the same failure. The app opens no
# connection while it is built, so nothing is shared across the fork.
preload_app = True
worker_class = "gthread"
threads = int(os.environ.get("MDC_WEB_THREADS", "4"))
timeout = 30
accesslog = "-"
# gunicorn's default format with "-" for the user: %(u)s is the Basic-auth user name, and a
# token sent that way by mistake would land in the log in clear text.
access_log_format = '%(h)s %(l)s - %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
graceful_timeout = 5
# No runtime control socket: mdc does not use it, and its default path is shared by every
# gunicorn of the user, so two installs on one host would trip over each other.
control_socket_disable = True
