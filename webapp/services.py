"""The collector's services one app uses, built once per app on first use."""

from __future__ import annotations

import os
import secrets
import threading
import time

from flask import Flask, current_app

from collector import Services, Settings, SettingsError, connect

_building = threading.Lock()  # gthread workers serve several requests at once


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
        with _building:
            services = current_app.extensions.get("mdc")
            if services is None:
                services = connect(current_app.config["MDC_SETTINGS"], "web")
                current_app.extensions["mdc"] = services
    return services


def _key_file_secret(settings: Settings) -> str:
    """A random key kept in data_dir, so every gunicorn worker and restart shares it.

    The first worker writes it to a temporary file and links that into place, so another
    worker sees either no file or the whole key, never an empty one, and all keep the first."""
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
        temporary = path.with_name(f".secret_key.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)  # fails if another worker's key got there first: keep theirs
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: whole-file rename, last one wins
            os.replace(temporary, path)
        temporary.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path, tries: int = 50) -> str:
    """The key file's content; an empty file (left by an older version's race) is waited for
    briefly, then refused: a worker never runs with an empty key."""
    for _ in range(tries):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.02)
    raise SettingsError(f"{path} is empty: delete it (a new key is made at the next start) or set MDC_SECRET_KEY")
