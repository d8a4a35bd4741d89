"""内容安全: residents' text held for review and photos awaiting or failing WeChat's check

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('content_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('label', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('trace_id', sa.String(length=64), nullable=True),
    sa.Column('used_in', sa.String(length=16), nullable=True),
    sa.Column('used_in_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'passed', 'held', 'quarantined', 'released')", name=op.f('ck_content_review_status')),
    sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name=op.f('fk_content_review_author_id_app_user')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['app_user.id'], name=op.f('fk_content_review_decided_by_id_app_user')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_content_review_place_id_place')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_review')),
    sa.UniqueConstraint('trace_id', name=op.f('uq_content_review_trace_id'))
    )
    with op.batch_alter_table('content_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_content_review_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_content_review_place_status', ['place_id', 'status'], unique=False)
        batch_op.create_index('ix_content_review_subject', ['subject', 'subject_id'], unique=False)


def downgrade():
    with op.batch_alter_table('content_review', schema=None) as batch_op:
        batch_op.drop_index('ix_content_review_subject')
        batch_op.drop_index('ix_content_review_place_status')
        batch_op.drop_index(batch_op.f('ix_content_review_author_id'))

    op.drop_table('content_review')
