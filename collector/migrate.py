"""Alembic, driven from code: no alembic.ini to find, the engine comes from settings."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per plugin otherwise
    command.upgrade(alembic_config(engine), revision)
