"""task series (周期任务): the template and recurrence, occurrences as tasks with series_id and their local day, and standing sign-ups for a series

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

_CATEGORIES = "'space', 'service', 'environment', 'safety', 'facility', 'culture', 'charity', 'governance'"
_TYPES = "'door_knock', 'elder_delivery', 'anti_fraud', 'patrol', 'cleanup', 'mediation', 'neighbour_help', 'culture', 'custom'"


def upgrade():
    op.create_table('task_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lng', sa.Float(), nullable=False),
    sa.Column('radius_m', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(length=16), nullable=False),
    sa.Column('checkin_mode', sa.String(length=16), nullable=False),
    sa.Column('work_unit', sa.String(length=20), nullable=False),
    sa.Column('frequency', sa.String(length=16), nullable=False),
    sa.Column('weekdays', sa.JSON(), nullable=False),
    sa.Column('interval_days', sa.Integer(), nullable=True),
    sa.Column('first_date', sa.Date(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('end_reason', sa.Text(), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint(f"category IN ({_CATEGORIES})", name=op.f('ck_task_series_category')),
    sa.CheckConstraint(f"type IN ({_TYPES})", name=op.f('ck_task_series_type')),
    sa.CheckConstraint("audience IN ('members', 'everyone')", name=op.f('ck_task_series_audience')),
    sa.CheckConstraint("checkin_mode IN ('geofence', 'code', 'both')", name=op.f('ck_task_series_checkin_mode')),
    sa.CheckConstraint("work_unit IN ('hours', 'households', 'residents_helped')", name=op.f('ck_task_series_work_unit')),
    sa.CheckConstraint("frequency IN ('weekly', 'every_n_days')", name=op.f('ck_task_series_frequency')),
    sa.CheckConstraint("status IN ('active', 'ended')", name=op.f('ck_task_series_status')),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_task_series_capacity_positive')),
    sa.CheckConstraint('radius_m > 0', name=op.f('ck_task_series_radius_positive')),
    sa.CheckConstraint('duration_minutes > 0', name=op.f('ck_task_series_duration_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_task_series_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_task_series_place_id_place')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_series'))
    )
    with op.batch_alter_table('task_series', schema=None) as batch_op:
        batch_op.create_index('ix_task_series_place_status', ['place_id', 'status'], unique=False)

    op.create_table('task_series_signup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('active', 'left')", name=op.f('ck_task_series_signup_status')),
    sa.ForeignKeyConstraint(['series_id'], ['task_series.id'], name=op.f('fk_task_series_signup_series_id_task_series')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_task_series_signup_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_series_signup')),
    sa.UniqueConstraint('series_id', 'user_id', name=op.f('uq_task_series_signup_series_id_user_id'))
    )
    with op.batch_alter_table('task_series_signup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_series_signup_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('series_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('occurrence_date', sa.Date(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_task_series_id_task_series'), 'task_series', ['series_id'], ['id'])
        batch_op.create_unique_constraint('uq_task_series_occurrence', ['series_id', 'occurrence_date'])
        batch_op.create_check_constraint('occurrence_of_series', '(series_id IS NULL) = (occurrence_date IS NULL)')


def downgrade():
    # Occurrences stay as the ordinary tasks they are; only their link to a series goes.
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_task_occurrence_of_series'), type_='check')
        batch_op.drop_constraint('uq_task_series_occurrence', type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_task_series_id_task_series'), type_='foreignkey')
        batch_op.drop_column('occurrence_date')
        batch_op.drop_column('series_id')
    with op.batch_alter_table('task_series_signup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_series_signup_user_id'))
    op.drop_table('task_series_signup')
    with op.batch_alter_table('task_series', schema=None) as batch_op:
        batch_op.drop_index('ix_task_series_place_status')
    op.drop_table('task_series')
