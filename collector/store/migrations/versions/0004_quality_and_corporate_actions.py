"""quality flags on bars, suspect counts on jobs, the corporate-action ledger, revision marks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Adding columns with constant defaults rewrites no table on SQLite or PostgreSQL 11+.
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bars', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flags', sa.SmallInteger(), server_default='0', nullable=False))
    op.create_index('ix_bars_flagged', 'bars', ['series_id', 'ts'], unique=False,
                    sqlite_where=sa.text('flags != 0'), postgresql_where=sa.text('flags != 0'))
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspect_bars', sa.BigInteger(), server_default='0', nullable=False))
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revised_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revised_job_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revised_bars', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revised_from_ts', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('recollect_job_id', sa.Integer(), nullable=True))
    op.create_table('corporate_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('ex_date', sa.Date(), nullable=False),
    sa.Column('starts_at', sa.BigInteger(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(), nullable=False),
    sa.Column('first_seen_job_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'symbol', 'kind', 'ex_date', name='uq_corporate_action')
    )
    op.create_table('series_actions',
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('method', sa.String(length=12), nullable=False),
    sa.Column('bars', sa.BigInteger(), nullable=False),
    sa.Column('kept', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['corporate_actions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('series_id', 'action_id')
    )


def downgrade() -> None:
    op.drop_table('series_actions')
    op.drop_table('corporate_actions')
    with op.batch_alter_table('series', schema=None) as batch_op:
        for column in ('recollect_job_id', 'revised_from_ts', 'revised_bars', 'revised_job_id', 'revised_at'):
            batch_op.drop_column(column)
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('suspect_bars')
    op.drop_index('ix_bars_flagged', table_name='bars', sqlite_where=sa.text('flags != 0'),
                  postgresql_where=sa.text('flags != 0'))
    with op.batch_alter_table('bars', schema=None) as batch_op:
        batch_op.drop_column('flags')
