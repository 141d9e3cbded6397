"""poll views: viewable impressions per poll and hour, flushed view batches

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('poll_hourly_views',
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('views', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('poll_id', 'hour')
    )
    op.create_table('view_batches',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('flushed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('view_batches', schema=None) as batch_op:
        batch_op.create_index('ix_view_batches_flushed_at', ['flushed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('view_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_view_batches_flushed_at')
    op.drop_table('view_batches')
    op.drop_table('poll_hourly_views')
