"""outbox

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 12:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbox_message',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_message_waiting', ['due_at', 'id'], unique=False, postgresql_where=sa.text('handled_at IS NULL AND failed_at IS NULL'), sqlite_where=sa.text('handled_at IS NULL AND failed_at IS NULL'))


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_waiting', postgresql_where=sa.text('handled_at IS NULL AND failed_at IS NULL'), sqlite_where=sa.text('handled_at IS NULL AND failed_at IS NULL'))
    op.drop_table('outbox_message')
