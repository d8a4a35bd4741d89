"""offline check-in: when the server received a check-in or check-out taken without signal

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_received_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('checkout_received_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # The stated times stay in checked_in_at / checked_out_at; only when they arrived is lost.
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.drop_column('checkout_received_at')
        batch_op.drop_column('checkin_received_at')
