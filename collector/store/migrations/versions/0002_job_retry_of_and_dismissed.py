"""jobs: retry_of (the job a retry repeats) and dismissed_at (a failure someone has seen)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_of', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('dismissed_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_jobs_retry_of', ['retry_of'], unique=False)
        # the banner counts undismissed failures on every poll: an index answers it alone
        batch_op.create_index('ix_jobs_status_dismissed', ['status', 'dismissed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_status_dismissed')
        batch_op.drop_index('ix_jobs_retry_of')
        batch_op.drop_column('dismissed_at')
        batch_op.drop_column('retry_of')
