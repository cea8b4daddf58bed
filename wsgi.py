"""gunicorn entry point: `gunicorn wsgi:app` (settings in gunicorn.conf.py)."""

from webapp import create_app
from webapp.logs import to_server_log

to_server_log()
app = create_app()
