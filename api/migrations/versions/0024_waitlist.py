"""waitlist: participations wait in line for a full task, and are offered a freed place until a deadline

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 19:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

_BEFORE = "'signed_up', 'checked_in', 'checked_out', 'submitted', 'approved', 'rejected', 'cancelled', 'reversed'"
_AFTER = "'waitlisted', 'offered', " + _BEFORE


def upgrade():
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offer_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_participation_status'), type_='check')
        batch_op.create_check_constraint('status', f"status IN ({_AFTER})")
        batch_op.create_index('ix_participation_offer_expires_at', ['offer_expires_at'], unique=False, postgresql_where=sa.text("status = 'offered'"), sqlite_where=sa.text("status = 'offered'"))


def downgrade():
    # Waiting and offered parts have no place in the older life cycle: they end.
    op.execute("UPDATE participation SET status = 'cancelled' WHERE status IN ('waitlisted', 'offered')")
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.drop_index('ix_participation_offer_expires_at', postgresql_where=sa.text("status = 'offered'"), sqlite_where=sa.text("status = 'offered'"))
        batch_op.drop_constraint(batch_op.f('ck_participation_status'), type_='check')
        batch_op.create_check_constraint('status', f"status IN ({_BEFORE})")
        batch_op.drop_column('offer_expires_at')
