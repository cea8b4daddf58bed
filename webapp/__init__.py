"""mdc web app: Flask + htmx pages over the collector's public API."""

from __future__ import annotations

from typing import Any, Mapping

from flask import Flask
from htmx_flask import Htmx


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. No side effects: no network, no migrations (see `make run`)."""
    app = Flask(__name__, template_folder="../templates", static_folder="static")
    app.config.from_mapping(MAX_CONTENT_LENGTH=64 * 1024)
    app.json.sort_keys = False  # keep job fields in the documented order
    if test_config is not None:
        app.config.from_mapping(test_config)
    Htmx(app)

    from . import (
        auth,
        banner,
        collect,
        data,
        data_actions,
        errors,
        filters,
        health,
        i18n,
        job_actions,
        jobs,
        jobs_bulk,
        metrics,
        monitor,
        params,
        protection,
        services,
        watchlists,
    )

    app.url_map.converters["int"] = params.IdConverter  # before any route is added
    services.init_app(app)
    i18n.init_app(app)
    filters.init_app(app)
    errors.init_app(app)
    auth.init_app(app)
    protection.init_app(app)
    app.register_blueprint(jobs.bp)
    app.register_blueprint(job_actions.bp)
    app.register_blueprint(collect.bp)
    app.register_blueprint(banner.bp)
    app.register_blueprint(monitor.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(data.bp)
    app.register_blueprint(data_actions.bp)
    app.register_blueprint(jobs_bulk.bp)
    app.register_blueprint(watchlists.bp)
    app.add_url_rule("/", endpoint="index", view_func=collect.home)
    return app
