"""no-shows: a sign-up never checked in is marked no_show when its task ends, staff may excuse it, and places keep a no-show policy

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-06 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0024'
branch_labels = None
depends_on = None

_BEFORE = "'waitlisted', 'offered', 'signed_up', 'checked_in', 'checked_out', 'submitted', 'approved', 'rejected', 'cancelled', 'reversed'"
_AFTER = _BEFORE + ", 'no_show', 'excused'"


def upgrade():
    op.create_table('no_show_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('max_no_shows', sa.Integer(), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('max_no_shows > 0 AND window_days > 0', name=op.f('ck_no_show_policy_positive')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_no_show_policy_place_id_place')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['app_user.id'], name=op.f('fk_no_show_policy_updated_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_no_show_policy')),
    sa.UniqueConstraint('place_id', name=op.f('uq_no_show_policy_place_id'))
    )
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('no_show_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('excused_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('excused_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('excuse_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_participation_excused_by_id_app_user'), 'app_user', ['excused_by_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('ck_participation_status'), type_='check')
        batch_op.create_check_constraint('status', f"status IN ({_AFTER})")
        batch_op.create_index('ix_participation_signed_up_task', ['task_id'], unique=False, postgresql_where=sa.text("status = 'signed_up'"), sqlite_where=sa.text("status = 'signed_up'"))
        batch_op.create_index('ix_participation_no_show', ['user_id', 'no_show_at'], unique=False, postgresql_where=sa.text("status = 'no_show'"), sqlite_where=sa.text("status = 'no_show'"))


def downgrade():
    # The older life cycle has no no-shows: they end as cancelled, which, like a no-show,
    # holds no seat on the task's count.
    op.execute("UPDATE participation SET status = 'cancelled' WHERE status IN ('no_show', 'excused')")
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.drop_index('ix_participation_no_show', postgresql_where=sa.text("status = 'no_show'"), sqlite_where=sa.text("status = 'no_show'"))
        batch_op.drop_index('ix_participation_signed_up_task', postgresql_where=sa.text("status = 'signed_up'"), sqlite_where=sa.text("status = 'signed_up'"))
        batch_op.drop_constraint(batch_op.f('ck_participation_status'), type_='check')
        batch_op.create_check_constraint('status', f"status IN ({_BEFORE})")
        batch_op.drop_constraint(batch_op.f('fk_participation_excused_by_id_app_user'), type_='foreignkey')
        batch_op.drop_column('excuse_reason')
        batch_op.drop_column('excused_at')
        batch_op.drop_column('excused_by_id')
        batch_op.drop_column('no_show_at')
    op.drop_table('no_show_policy')
