"""The Alembic migrations build exactly the schema the models describe, on SQLite and
PostgreSQL, in one line of revisions."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from collector.store.migrate import alembic_config
from collector.store.models import Base


@pytest.mark.both_databases
def test_migrations_match_the_models(db):
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_one_line_of_revisions():
    scripts = ScriptDirectory.from_config(alembic_config())
    assert len(scripts.get_heads()) == 1, "chain a new migration after the current head (down_revision)"
