"""what stored messages were made from, so they can be shown in the reader's language

A job's error and a watchlist run's note and problems are kept as English text (what the
JSON API and the command line show) and, beside it, as the message id and its parameters
(collector.i18n.Message.as_dict) that the web app translates. Rows written before keep
their English text alone.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_i18n', sa.JSON(), nullable=True))
    with op.batch_alter_table('watchlist_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note_i18n', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('problems_i18n', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('watchlist_runs', schema=None) as batch_op:
        batch_op.drop_column('problems_i18n')
        batch_op.drop_column('note_i18n')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('error_i18n')
