"""acting for someone (代办): proxy links with the person's consent, what proxies did, and the proxy on a redemption

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('proxy_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('proxy_id', sa.Integer(), nullable=False),
    sa.Column('relation', sa.String(length=32), nullable=False),
    sa.Column('consent_method', sa.String(length=16), nullable=False),
    sa.Column('consent_note', sa.Text(), nullable=False),
    sa.Column('consent_upload_id', sa.Integer(), nullable=True),
    sa.Column('consent_given_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('end_reason', sa.Text(), nullable=False),
    sa.CheckConstraint("consent_method IN ('signed_form', 'in_person', 'guardian')", name=op.f('ck_proxy_link_consent_method')),
    sa.CheckConstraint("status IN ('active', 'ended')", name=op.f('ck_proxy_link_status')),
    sa.CheckConstraint('subject_id <> proxy_id', name=op.f('ck_proxy_link_not_self')),
    sa.ForeignKeyConstraint(['consent_upload_id'], ['upload.id'], name=op.f('fk_proxy_link_consent_upload_id_upload')),
    sa.ForeignKeyConstraint(['ended_by_id'], ['app_user.id'], name=op.f('fk_proxy_link_ended_by_id_app_user')),
    sa.ForeignKeyConstraint(['proxy_id'], ['app_user.id'], name=op.f('fk_proxy_link_proxy_id_app_user')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['app_user.id'], name=op.f('fk_proxy_link_recorded_by_id_app_user')),
    sa.ForeignKeyConstraint(['subject_id'], ['app_user.id'], name=op.f('fk_proxy_link_subject_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proxy_link'))
    )
    with op.batch_alter_table('proxy_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proxy_link_proxy_id'), ['proxy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proxy_link_subject_id'), ['subject_id'], unique=False)
        batch_op.create_index('uq_proxy_link_active_pair', ['subject_id', 'proxy_id'], unique=True, postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"))

    op.create_table('proxy_act',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('deed', sa.String(length=16), nullable=False),
    sa.Column('object_type', sa.String(length=16), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("deed IN ('demand', 'confirm', 'redeem', 'cancel')", name=op.f('ck_proxy_act_deed')),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_proxy_act_actor_id_app_user')),
    sa.ForeignKeyConstraint(['link_id'], ['proxy_link.id'], name=op.f('fk_proxy_act_link_id_proxy_link')),
    sa.ForeignKeyConstraint(['subject_id'], ['app_user.id'], name=op.f('fk_proxy_act_subject_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proxy_act'))
    )
    with op.batch_alter_table('proxy_act', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proxy_act_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proxy_act_subject_id'), ['subject_id'], unique=False)
        batch_op.create_index('ix_proxy_act_object', ['object_type', 'object_id'], unique=False)

    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acted_by_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_redemption_acted_by_id'), ['acted_by_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_redemption_acted_by_id_app_user'), 'app_user', ['acted_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_redemption_acted_by_id_app_user'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_redemption_acted_by_id'))
        batch_op.drop_column('acted_by_id')

    with op.batch_alter_table('proxy_act', schema=None) as batch_op:
        batch_op.drop_index('ix_proxy_act_object')
        batch_op.drop_index(batch_op.f('ix_proxy_act_subject_id'))
        batch_op.drop_index(batch_op.f('ix_proxy_act_actor_id'))
    op.drop_table('proxy_act')

    with op.batch_alter_table('proxy_link', schema=None) as batch_op:
        batch_op.drop_index('uq_proxy_link_active_pair', postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"))
        batch_op.drop_index(batch_op.f('ix_proxy_link_subject_id'))
        batch_op.drop_index(batch_op.f('ix_proxy_link_proxy_id'))
    op.drop_table('proxy_link')
