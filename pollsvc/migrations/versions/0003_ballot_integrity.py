"""ballot integrity: network and token signals on ballots, voids, spent challenges, token mints

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('voids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('network_hash', sa.LargeBinary(length=16), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('burst', sa.String(length=64), nullable=True),
    sa.Column('ballots', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.Column('restored_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('restored_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('voids', schema=None) as batch_op:
        batch_op.create_index('ix_voids_poll_id', ['poll_id', 'id'], unique=False)

    op.create_table('spent_challenges',
    sa.Column('digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('digest')
    )
    with op.batch_alter_table('spent_challenges', schema=None) as batch_op:
        batch_op.create_index('ix_spent_challenges_expires_at', ['expires_at'], unique=False)

    op.create_table('token_mints',
    sa.Column('network_hash', sa.LargeBinary(length=16), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tokens', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('network_hash', 'hour')
    )

    # Plain ADD COLUMNs: on SQLite a batch "move and copy" of ballots would drop the table, and
    # with foreign keys on that deletes the ballot keys and selections that reference it.
    op.add_column('ballots', sa.Column('network_hash', sa.LargeBinary(length=16), nullable=True))
    op.add_column('ballots', sa.Column('token_network', sa.String(length=12), nullable=True))
    op.add_column('ballots', sa.Column('token_age', sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE ballots ADD COLUMN void_id INTEGER REFERENCES voids (id)')
    else:
        op.add_column('ballots', sa.Column('void_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_ballots_void_id', 'ballots', 'voids', ['void_id'], ['id'])
    op.create_index('ix_ballots_poll_id_network', 'ballots', ['poll_id', 'network_hash', 'created_at'], unique=False)

    with op.batch_alter_table('poll_counter_shards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voided', sa.BigInteger(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('poll_counter_shards', schema=None) as batch_op:
        batch_op.drop_column('voided')
    op.drop_index('ix_ballots_poll_id_network', table_name='ballots')
    # SQLite cannot drop a column with a foreign key, nor move and copy ballots safely (above):
    # there the nullable columns stay, unused by the older code.
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_ballots_void_id', 'ballots', type_='foreignkey')
        for column in ('void_id', 'token_age', 'token_network', 'network_hash'):
            op.drop_column('ballots', column)
    op.drop_table('token_mints')
    with op.batch_alter_table('spent_challenges', schema=None) as batch_op:
        batch_op.drop_index('ix_spent_challenges_expires_at')
    op.drop_table('spent_challenges')
    with op.batch_alter_table('voids', schema=None) as batch_op:
        batch_op.drop_index('ix_voids_poll_id')
    op.drop_table('voids')
