"""series: the gap summary (method, count, missing) kept with the series

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Computed from the bar times when first asked for and cleared when new bars arrive, so the
series list shows every series' gaps without reading its bars again.
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gap_method', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('gap_count', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('gap_missing', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_column('gap_missing')
        batch_op.drop_column('gap_count')
        batch_op.drop_column('gap_method')
