"""manual entries (补录): work entered by staff after the fact, with who entered it, why, and whether a second staff member approves it; certificates state entered hours apart

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('entry_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('needs_second_staff', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_participation_entered_by_id_app_user'), 'app_user', ['entered_by_id'], ['id'])
    # A certificate states the entered hours apart, and marks each entered service.
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entered_hours', sa.Numeric(precision=9, scale=2), server_default=sa.text('0'), nullable=False))
    with op.batch_alter_table('certificate_service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manual_entry', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    # The older schema can't tell entered work from verified work: entered work that
    # is not yet approved is withdrawn (cancelled) rather than passed off as verified.
    op.execute("UPDATE participation SET status = 'cancelled' WHERE entered_by_id IS NOT NULL AND status = 'submitted'")
    with op.batch_alter_table('certificate_service', schema=None) as batch_op:
        batch_op.drop_column('manual_entry')
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_column('entered_hours')
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_participation_entered_by_id_app_user'), type_='foreignkey')
        batch_op.drop_column('needs_second_staff')
        batch_op.drop_column('entry_reason')
        batch_op.drop_column('entered_by_id')
