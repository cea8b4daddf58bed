"""jobs, series and bars

Revision ID: 0001
Revises: 
Create Date: 2026-11-24

Datetimes are naive UTC (collector.models.UTCDateTime adds the zone on read).
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('interval', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('start', sa.DateTime(), nullable=False),
    sa.Column('end', sa.DateTime(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=True),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=False),
    sa.Column('checkpoint', sa.JSON(), nullable=True),
    sa.Column('rows_new', sa.BigInteger(), nullable=False),
    sa.Column('rows_updated', sa.BigInteger(), nullable=False),
    sa.Column('rows_unchanged', sa.BigInteger(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('collector', sa.String(length=128), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('request_key', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_finished_at', ['finished_at'], unique=False)
        batch_op.create_index('ix_jobs_status_id', ['status', 'id'], unique=False)
        batch_op.create_index('uq_jobs_active_request', ['request_key'], unique=True, sqlite_where=sa.text("status IN ('PENDING', 'RUNNING')"), postgresql_where=sa.text("status IN ('PENDING', 'RUNNING')"))

    op.create_table('series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('interval', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('bar_count', sa.BigInteger(), nullable=False),
    sa.Column('first_ts', sa.BigInteger(), nullable=True),
    sa.Column('last_ts', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'symbol', 'interval', 'kind', name='uq_series_key')
    )
    op.create_table('bars',
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('ts', sa.BigInteger(), nullable=False),
    sa.Column('open', sa.Float(), nullable=False),
    sa.Column('high', sa.Float(), nullable=False),
    sa.Column('low', sa.Float(), nullable=False),
    sa.Column('close', sa.Float(), nullable=False),
    sa.Column('volume', sa.Float(), nullable=False),
    sa.Column('wap', sa.Float(), nullable=True),
    sa.Column('trades', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('series_id', 'ts'),
    sqlite_with_rowid=False
    )


def downgrade() -> None:
    op.drop_table('bars')
    op.drop_table('series')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('uq_jobs_active_request', sqlite_where=sa.text("status IN ('PENDING', 'RUNNING')"), postgresql_where=sa.text("status IN ('PENDING', 'RUNNING')"))
        batch_op.drop_index('ix_jobs_status_id')
        batch_op.drop_index('ix_jobs_finished_at')

    op.drop_table('jobs')
