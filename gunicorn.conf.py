"""gunicorn settings for every way the web app starts (`make run`, the container, by hand):
gunicorn reads this file from the working directory. Workers: WEB_CONCURRENCY (gunicorn's own)."""

# Build the app once in the master before forking: a setting that refuses to start (no token
# while published, an unwritable data directory) stops gunicorn with one plain message and
# exit code 4, instead of racing every worker through the same failure. The app opens no
# connection while it is built, so nothing is shared across the fork.
preload_app = True
accesslog = "-"
graceful_timeout = 5
