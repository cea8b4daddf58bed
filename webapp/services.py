"""The collector's services one app uses, built once per app on first use."""

from __future__ import annotations

import os
import secrets

from flask import Flask, current_app

from collector import Services, Settings, SettingsError, connect


def init_app(app: Flask) -> None:
    settings = app.config.get("MDC_SETTINGS")
    if settings is None:
        settings = Settings.from_env(os.environ)
        app.config["MDC_SETTINGS"] = settings
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = settings.secret_key or _key_file_secret(settings)
    app.extensions["mdc"] = None  # built lazily, so create_app stays free of side effects


def get() -> Services:
    services = current_app.extensions.get("mdc")
    if services is None:
        services = connect(current_app.config["MDC_SETTINGS"], "web")
        current_app.extensions["mdc"] = services
    return services


def _key_file_secret(settings: Settings) -> str:
    """A random key kept in data_dir, so every gunicorn worker and restart shares it."""
    path = settings.data_dir / "secret_key"
    try:
        return _read_or_create_key(path)
    except PermissionError as exc:  # typically a bind-mounted /data owned by root
        raise SettingsError(
            f"cannot write the session key file {path} ({exc.strerror}): make {settings.data_dir} writable "
            f"by the user the web app runs as (uid {os.getuid()}; for a bind mount in compose: "
            f"chown -R {os.getuid()} <host directory>), or set MDC_SECRET_KEY to a long random string "
            "(python -c 'import secrets; print(secrets.token_hex(32))')") from None


def _read_or_create_key(path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker wrote it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text().strip()
