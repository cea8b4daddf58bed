"""watchlists, their runs, and the run and watchlist of a job

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

NOT_DELETED = "deleted_at IS NULL"


def upgrade() -> None:
    op.create_table('watchlists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('symbols', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('interval', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=True),
    sa.Column('start', sa.DateTime(), nullable=True),
    sa.Column('schedule', sa.JSON(), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('schedule_since', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('uq_watchlists_name', 'watchlists', ['name'], unique=True,
                    sqlite_where=sa.text(NOT_DELETED), postgresql_where=sa.text(NOT_DELETED))
    op.create_table('watchlist_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('watchlist_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('slot', sa.DateTime(), nullable=False),
    sa.Column('trigger', sa.String(length=12), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('claimed_by', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['watchlist_id'], ['watchlists.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('watchlist_id', 'slot', name='uq_watchlist_runs_slot')
    )
    op.create_index('ix_watchlist_runs_watchlist_number', 'watchlist_runs', ['watchlist_id', 'number'])
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('watchlist_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_jobs_run_id', ['run_id', 'symbol'], unique=False)
        batch_op.create_index('ix_jobs_watchlist_symbol', ['watchlist_id', 'symbol'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_watchlist_symbol')
        batch_op.drop_index('ix_jobs_run_id')
        batch_op.drop_column('watchlist_id')
        batch_op.drop_column('run_id')
    op.drop_index('ix_watchlist_runs_watchlist_number', table_name='watchlist_runs')
    op.drop_table('watchlist_runs')
    op.drop_index('uq_watchlists_name', table_name='watchlists')
    op.drop_table('watchlists')
