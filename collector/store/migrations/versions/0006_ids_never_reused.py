"""job and run ids are never handed out twice on SQLite (AUTOINCREMENT)

Without AUTOINCREMENT SQLite reuses the highest rowid once the newest rows are deleted, so
after a cleanup the next job got an id that other tables (series' revision marks, the
ledger, retries) still named. PostgreSQL's sequences never go back; nothing to do there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = ("jobs", "watchlist_runs")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": False}):
            pass
