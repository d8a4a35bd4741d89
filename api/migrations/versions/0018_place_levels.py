"""place levels: 小区 (estate), 自然村 (natural_village) and 单元 (unit) beside the five

The tree had five levels, each child strictly below its parent, so it stopped at five.
Now a child may sit at its parent's tier or below (points/places.py), and three more
well-known levels exist; only the CHECK on the stored level changes here.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-10 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

OLD = ('district', 'street', 'community', 'grid', 'building')
NEW = ('district', 'street', 'community', 'estate', 'natural_village', 'grid', 'building', 'unit')


def _levels(levels):
    return f"level IN ({', '.join(repr(level) for level in levels)})"


def upgrade():
    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_place_level'), type_='check')
        batch_op.create_check_constraint('level', _levels(NEW))


def downgrade():
    newer = op.get_bind().execute(
        sa.text(f"SELECT count(*) FROM place WHERE NOT ({_levels(OLD)})")
    ).scalar()
    if newer:
        raise RuntimeError(
            f"{newer} place(s) are at a level 0017 does not know (estate, natural_village, "
            "unit); change their level or remove them before going back"
        )
    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_place_level'), type_='check')
        batch_op.create_check_constraint('level', _levels(OLD))
