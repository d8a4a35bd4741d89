"""志愿服务证明: certificates issued on service records, and the services each lists

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 19:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('issuer_place_id', sa.Integer(), nullable=True),
    sa.Column('issuer_name', sa.String(length=100), nullable=False),
    sa.Column('holder_name', sa.String(length=64), nullable=False),
    sa.Column('holder_contact', sa.String(length=32), nullable=False),
    sa.Column('service_count', sa.Integer(), nullable=False),
    sa.Column('total_hours', sa.Numeric(precision=9, scale=2), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('first_day <= last_day', name=op.f('ck_certificate_period_in_order')),
    sa.CheckConstraint('service_count > 0', name=op.f('ck_certificate_certifies_something')),
    sa.ForeignKeyConstraint(['issuer_place_id'], ['place.id'], name=op.f('fk_certificate_issuer_place_id_place')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_certificate_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate')),
    sa.UniqueConstraint('number', name=op.f('uq_certificate_number'))
    )
    op.create_index('uq_certificate_current_period', 'certificate', ['user_id', 'first_day', 'last_day'], unique=True, sqlite_where=sa.text('superseded_at IS NULL'), postgresql_where=sa.text('superseded_at IS NULL'))
    op.create_table('certificate_service',
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('participation_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('served_on', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('organisation', sa.String(length=100), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('hours', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'], name=op.f('fk_certificate_service_certificate_id_certificate')),
    sa.ForeignKeyConstraint(['participation_id'], ['participation.id'], name=op.f('fk_certificate_service_participation_id_participation')),
    sa.PrimaryKeyConstraint('certificate_id', 'participation_id', name=op.f('pk_certificate_service'))
    )
    op.create_index('ix_certificate_service_participation_id', 'certificate_service', ['participation_id'], unique=False)


def downgrade():
    op.drop_index('ix_certificate_service_participation_id', table_name='certificate_service')
    op.drop_table('certificate_service')
    op.drop_index('uq_certificate_current_period', table_name='certificate')
    op.drop_table('certificate')
