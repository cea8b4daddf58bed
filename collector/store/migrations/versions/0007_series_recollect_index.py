"""an index on series.recollect_job_id

Every job that completes clears the "revised" mark of the series it re-collected, if any:
with the index that is a lookup, not a scan of every series.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_series_recollect_job_id', 'series', ['recollect_job_id'])


def downgrade() -> None:
    op.drop_index('ix_series_recollect_job_id', table_name='series')
