"""ledger append-only in the database: transfers and lot uses refuse UPDATE and DELETE

Transfers are immutable and never deleted (a correction is a reversing transfer), and
a lot use is never changed either (a voided hold gives back with a negative use). The
code has always kept to that; from here the database refuses anything else, whoever
sends it. Point lots are not guarded: their ``remaining`` changes by design.

There is no switch inside the triggers. Lifting them is DDL on the table, which needs
its owner: ``ALTER TABLE … DISABLE TRIGGER`` on PostgreSQL, dropping the trigger on
SQLite. The app never issues DDL outside migrations; the test suite's wipe between
tests does, inside its own transaction (tests/conftest.py, ``empty_tables``).

On SQLite, a later migration that rebuilds one of these tables in batch mode (copy,
drop, rename) drops its triggers with it and must create them again;
tests/integration/test_migrations.py checks they are there at head.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-10 09:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

TABLES = ('ledger_transfer', 'point_lot_use')
FUNCTION = 'lianxin_refuse_ledger_change'


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            f"""
            CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING HINT = 'correct a transfer with a reversing transfer';
            END
            $$
            """
        )
        for table in TABLES:
            # FOR EACH ROW: a statement that touches no row (DELETE of nothing) passes.
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
            )
    else:
        for table in TABLES:
            for operation in ('UPDATE', 'DELETE'):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} "
                    f"BEFORE {operation} ON {table} FOR EACH ROW BEGIN "
                    f"SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END"
                )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION {FUNCTION}()")
    else:
        for table in TABLES:
            for operation in ('update', 'delete'):
                op.execute(f"DROP TRIGGER {table}_no_{operation}")
