"""first and last vote on the counter shards; participants per hour

Results and the timeseries read these instead of the ballots, so they cost the same with a
million ballots as with a thousand. Existing ballots are counted into them here.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('poll_counter_shards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_vote_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_vote_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('poll_hourly_counts',
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shard', sa.SmallInteger(), nullable=False),
    sa.Column('participants', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('poll_id', 'hour', 'shard')
    )

    # Backfill from the ballots: the first and last vote go on each poll's shard 0 (every poll
    # with ballots has one, as `counts rebuild` makes it), hours on shard 0.
    postgres = op.get_bind().dialect.name == 'postgresql'
    hour = ("date_trunc('hour', created_at, 'UTC')" if postgres
            else "strftime('%Y-%m-%d %H:00:00.000000', created_at)")
    op.execute(
        "INSERT INTO poll_hourly_counts (poll_id, hour, shard, participants) "
        f"SELECT poll_id, {hour}, 0, count(*) FROM ballots GROUP BY poll_id, {hour}"
    )
    op.execute(
        "INSERT INTO poll_counter_shards (poll_id, shard, participants, total_votes) "
        "SELECT DISTINCT poll_id, 0, 0, 0 FROM ballots b WHERE NOT EXISTS "
        "(SELECT 1 FROM poll_counter_shards s WHERE s.poll_id = b.poll_id AND s.shard = 0)"
    )
    op.execute(
        "UPDATE poll_counter_shards SET "
        "first_vote_at = (SELECT min(created_at) FROM ballots b WHERE b.poll_id = poll_counter_shards.poll_id), "
        "last_vote_at = (SELECT max(created_at) FROM ballots b WHERE b.poll_id = poll_counter_shards.poll_id) "
        "WHERE shard = 0"
    )


def downgrade():
    op.drop_table('poll_hourly_counts')
    with op.batch_alter_table('poll_counter_shards', schema=None) as batch_op:
        batch_op.drop_column('last_vote_at')
        batch_op.drop_column('first_vote_at')
